{#-
Features per symbol and trading day, every value as known at the day's close (16:00 New York): the
day's indicators (equities/equity_indicators, in the day's own price units), the scale-free features
derived from them, the short-selling panel of the previous trading day (FINRA's short volume of a
day is published that evening, the threshold list near midnight: the previous day's row is all
public by the close), and the macro, volatility and COT features as of the close (as_of_features).

Incremental as the crypto marts (macros/crypto_features.sql): a run rebuilds the days whose
indicators were stored since the last build, and every day closing after a newly stored value of a
feature source became public. The panel is joined by day; a panel day rebuilt later (a late FINRA
repost) reaches the feature rows only with a full refresh.
-#}
-- depends_on: {{ ref('int_fred__series_known') }}
{{ config(materialized='incremental', unique_key=['symbol', 'trade_date'], incremental_strategy='delete+insert',
          on_schema_change='append_new_columns') }}

{%- set since = rebuild_since([
    "select min(timezone('America/New_York', trade_date + time '16:00')) as since from "
    ~ source('equities', 'equity_indicators') ~ " where true"
], '0 days') -%}

with bars as (
    select
        indicators.symbol,
        indicators.trade_date,
        timezone('America/New_York', indicators.trade_date + time '16:00') as bar_close_at,
        indicators.currency,
        {{- indicator_columns('indicators') }}
    from {{ source('equities', 'equity_indicators') }} as indicators
    {%- if since is not none %}
    where timezone('America/New_York', indicators.trade_date + time '16:00') >= '{{ since }}'::timestamptz
    {%- endif %}
),

previous_sessions as (
    select
        sessions.trade_date,
        earlier.trade_date as previous_trade_date
    from {{ ref('int_trading_days') }} as sessions
    inner join {{ ref('int_trading_days') }} as earlier
        on sessions.session_number = earlier.session_number + 1
)

select
    bars.*,
    {{- derived_features('bars') }},
    {{- calendar_features('bars.trade_date') }},
    panel.trade_date as short_panel_date,
    panel.short_ratio,
    panel.short_interest_pct_shares,
    panel.consolidated_days_to_cover,
    panel.fails_zscore,
    panel.nasdaq_threshold_days,
    {{- as_of_columns() }},
    now() as _built_at
from bars
left join previous_sessions on bars.trade_date = previous_sessions.trade_date
left join {{ ref('fct_short_panel_daily') }} as panel
    on bars.symbol = panel.symbol and previous_sessions.previous_trade_date = panel.trade_date
{{ as_of_joins('bars', 'bar_close_at', 'equity') }}
