{#- Typed, one row per (trade_date, symbol, facility): the lake replaces partitions whole, but a
    hand-copied file must not double a day downstream. The order is total over every column, so which
    row of a duplicate survives never depends on how the files happen to be read: the first market in
    name order, then the newest load, then the largest volumes. -#}
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
qualify row_number() over (
    partition by trade_date, symbol, facility
    order by market asc, _loaded_at desc, total_volume desc, short_volume desc, short_exempt_volume desc
) = 1
