select rate_date, currency, units_per_eur
from {{ source('raw', 'fx_rates_ecb') }}
