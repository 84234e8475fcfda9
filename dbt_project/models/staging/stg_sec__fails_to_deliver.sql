{#- Typed, one row per (settlement_date, cusip): the lake replaces a half-month whole, but SEC's two
    halves meet on the 15th, so a date could come in two files; the newest publication wins, and the rest
    of the order only makes ties impossible. Symbols are in the lake's form already (the parser
    normalises them, resources/symbols.py). -#}
select
    settlement_date,
    cusip,
    symbol,
    quantity,
    description,
    price,
    quantity * price as fails_value,
    half_month,
    published_at,
    _loaded_at
from {{ source('raw', 'sec_fails_to_deliver') }}
qualify row_number() over (
    partition by settlement_date, cusip
    order by published_at desc, half_month desc, _loaded_at desc, quantity desc, symbol asc, description asc, price asc
) = 1
