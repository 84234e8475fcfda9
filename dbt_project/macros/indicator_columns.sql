{#- The indicator table's columns a feature mart carries (assets/technicals.py: INDICATOR_SCHEMA), and
    the scale-free features derived from them, for crypto and equity bars alike. -#}
{% macro indicator_columns(alias) %}
    {%- for column in [
        'open', 'high', 'low', 'close', 'volume', 'sma_20', 'ema_20', 'rsi_14', 'atr_14',
        'bb_upper', 'bb_middle', 'bb_lower', 'stoch_k', 'stoch_d',
        'td_buy_setup', 'td_sell_setup', 'td_buy_countdown', 'td_sell_countdown',
        'td_buy_perfected', 'td_sell_perfected', 'td_buy_countdown_deferred', 'td_sell_countdown_deferred',
        'pivot', 'r1', 's1', 'r2', 's2', 'volume_sma_20', 'volume_delta', 'volume_delta_sma_20'
    ] %}
        {{ alias }}.{{ column }}{{ "," if not loop.last }}
    {%- endfor %}
{%- endmacro %}

{% macro derived_features(alias) %}
    {{ alias }}.close / nullif({{ alias }}.sma_20, 0) - 1 as close_over_sma_20,
    ({{ alias }}.close - {{ alias }}.bb_lower) / nullif({{ alias }}.bb_upper - {{ alias }}.bb_lower, 0) as bb_percent_b,
    {{ alias }}.atr_14 / nullif({{ alias }}.close, 0) as atr_pct,
    ({{ alias }}.high - greatest({{ alias }}.open, {{ alias }}.close)) / nullif({{ alias }}.high - {{ alias }}.low, 0)
        as upper_wick_pct,
    (least({{ alias }}.open, {{ alias }}.close) - {{ alias }}.low) / nullif({{ alias }}.high - {{ alias }}.low, 0)
        as lower_wick_pct,
    ({{ alias }}.close - {{ alias }}.open) / nullif({{ alias }}.high - {{ alias }}.low, 0) as body_pct,
    {{ alias }}.volume / nullif({{ alias }}.volume_sma_20, 0) - 1 as volume_over_sma_20,
    {{ alias }}.volume_delta / nullif({{ alias }}.volume, 0) as delta_share,
    {{ alias }}.volume_delta_sma_20 / nullif({{ alias }}.volume_sma_20, 0) as delta_share_sma_20
{%- endmacro %}

{#- The bar's place in the calendar, of its day (`day`: a date, or a timestamp in the market's time). -#}
{% macro calendar_features(day) %}
    isodow({{ day }}) as day_of_week,
    (dayofmonth({{ day }}) - 1) // 7 + 1 as week_of_month
{%- endmacro %}
