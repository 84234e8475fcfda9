select trade_date, symbol, open, high, low, close, volume, dividend, split_ratio, currency, provider, _loaded_at
from {{ source('raw', 'prices_daily') }}
qualify row_number() over (partition by symbol, trade_date order by provider) = 1
