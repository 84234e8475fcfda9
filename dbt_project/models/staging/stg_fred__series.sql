select series_id, observation_date, value
from {{ source('raw', 'fred_series') }}
