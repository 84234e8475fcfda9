{#- Typed, one row per (trade_date, symbol): the lake replaces a day whole and its blocking check keeps
    the key unique, so this only names the columns. -#}
select
    trade_date,
    symbol,
    security_name,
    market_category,
    threshold_flag,
    rule_3210,
    _loaded_at
from {{ source('raw', 'regsho_threshold_list') }}
