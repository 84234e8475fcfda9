{#-
One crypto feature mart: every closed bar of `interval` with its indicators and, as of the bar's
close, the macro and cross-asset features published by then (never later: an as-of join on the
time each value became public, whose *_available_from the mart keeps for its no-leakage test).

Incremental: a run rebuilds the bars the lake's new rows reach. A bar whose indicators changed (its
close, a bar that closed since) is rebuilt, and so is every bar that closes after a value newly
stored in a feature source became public (a release fetched late, a backfilled history): the
earliest such time is looked up first and goes into the query as a literal. Rows before it are
exactly what a full refresh would write.
-#}
{% macro crypto_features(interval, step) %}
{%- set since = none -%}
{%- if is_incremental() and execute -%}
{%- set built = run_query(
    "select coalesce(max(_built_at), '-infinity'::timestamptz)::varchar from " ~ this
).columns[0].values()[0] -%}
{%- set lookups = [
    "select min(open_time) as since from " ~ source('crypto', 'crypto_indicators')
    ~ " where interval = '" ~ interval ~ "' and _loaded_at > '" ~ built ~ "'::timestamptz"
] -%}
{%- for published in [ref('int_fred__series_known'), ref('int_cboe__volatility_daily')] -%}
{%- do lookups.append(
    "select min(available_from) - interval '" ~ step ~ "' as since from " ~ published
    ~ " where _loaded_at > '" ~ built ~ "'::timestamptz"
) -%}
{%- endfor -%}
{%- set since = run_query(
    "select coalesce(min(since), 'infinity'::timestamptz)::varchar from (" ~ lookups | join(" union all ") ~ ")"
).columns[0].values()[0] -%}
{%- endif %}

with bars as (
    select
        indicators.pair,
        indicators.open_time,
        indicators.open_time + interval '{{ step }}' as bar_close_at,
        indicators.open,
        indicators.high,
        indicators.low,
        indicators.close,
        indicators.volume,
        indicators.sma_20,
        indicators.ema_20,
        indicators.rsi_14,
        indicators.atr_14,
        indicators.bb_upper,
        indicators.bb_middle,
        indicators.bb_lower,
        indicators.stoch_k,
        indicators.stoch_d,
        indicators.td_buy_setup,
        indicators.td_sell_setup,
        indicators.td_buy_countdown,
        indicators.td_sell_countdown,
        indicators.pivot,
        indicators.r1,
        indicators.s1,
        indicators.r2,
        indicators.s2
    from {{ source('crypto', 'crypto_indicators') }} as indicators
    where
        indicators.interval = '{{ interval }}'
        and indicators.is_closed
        {%- if since is not none %}
        and indicators.open_time >= '{{ since }}'::timestamptz
        {%- endif %}
)

select
    bars.*,
    bars.close / nullif(bars.sma_20, 0) - 1 as close_over_sma_20,
    (bars.close - bars.bb_lower) / nullif(bars.bb_upper - bars.bb_lower, 0) as bb_percent_b,
    bars.atr_14 / nullif(bars.close, 0) as atr_pct,
    {%- for series_id in var('fred_feature_series') %}
    fred.{{ series_id | lower }},
    {%- endfor %}
    fred.available_from as fred_available_from,
    cboe.vix_close,
    cboe.vix9d_close,
    cboe.vix3m_close,
    cboe.vvix_close,
    cboe.vix_vix3m_ratio,
    cboe.available_from as cboe_available_from,
    now() as _built_at
from bars
asof left join {{ ref('int_fred__known_wide') }} as fred
    on bars.bar_close_at >= fred.available_from
asof left join {{ ref('int_cboe__volatility_daily') }} as cboe
    on bars.bar_close_at >= cboe.available_from
{% endmacro %}
