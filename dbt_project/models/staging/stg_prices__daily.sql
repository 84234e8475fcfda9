select trade_date, symbol, open, high, low, close, volume, dividend, split_ratio, currency, provider, _loaded_at
from {{ source('raw', 'prices_daily') }}
{{ one_price_per_symbol_day() }}
