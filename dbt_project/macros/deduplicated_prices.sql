{#- The raw prices, one row per symbol and day, restricted by `where` before the dedup window:
    stg_prices__daily reads them all; fct_prices_daily's incremental reads pass their filter here,
    so the window runs on the rows read, not over all history. -#}
{% macro deduplicated_prices(where='true') %}
select trade_date, symbol, open, high, low, close, volume, dividend, split_ratio, currency, provider, _loaded_at
from {{ source('raw', 'prices_daily') }}
where {{ where }}
qualify row_number() over (
    partition by symbol, trade_date
    order by provider, _loaded_at desc, close, open, high, low, volume, dividend, split_ratio, currency
) = 1
{% endmacro %}
