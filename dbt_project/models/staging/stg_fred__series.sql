select series_id, observation_date, value, _loaded_at
from {{ source('raw', 'fred_series') }}
