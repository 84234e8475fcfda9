{#- Typed, one row per (trade_date, symbol, facility): the lake replaces partitions whole, but a
    hand-copied file must not double a day downstream. -#}
select
    trade_date,
    symbol,
    facility,
    short_volume,
    short_exempt_volume,
    total_volume,
    market,
    _loaded_at
from {{ source('raw', 'finra_short_volume') }}
qualify row_number() over (partition by trade_date, symbol, facility order by market) = 1
