{#- The raw prices' dedup rule, shared by stg_prices__daily and the incremental reads of
    fct_prices_daily (which filter the raw rows first, so the window runs on the few rows read). -#}
{% macro one_price_per_symbol_day() %}
qualify row_number() over (partition by symbol, trade_date order by provider) = 1
{% endmacro %}
