{#-
Forward returns per symbol and trading day, beside that day's short ratio.

No look-ahead: FINRA publishes day t's short volume at 18:00 ET, after the close of t, so a trade
on it can start at the close of t+1 at the earliest. fwd_return_{h}d = adj_close(t+1+h) /
adj_close(t+1) - 1, counting trading days of the symbol's own series; null where t+1+h is past the
data. Returns come from tickerlake's adjusted close, so splits and dividends do not show as moves.

Incremental: new prices change the forward returns of the days up to 65 trading days before them,
so a run recomputes the last `returns_lookback_days` calendar days, every day from the earliest FINRA
day rewritten since the last build, and the whole history of every symbol with a price changed on a
day already stored (re-adjusted by a new split or dividend, restated, or new with its history). Those
days and symbols are looked up first and go into the query as literals, so only their rows are read.
-#}
{{ config(materialized='incremental', unique_key=['symbol', 'trade_date'], incremental_strategy='delete+insert',
          on_schema_change='append_new_columns') }}

{% set horizons = [1, 5, 22, 65] %}

{%- if is_incremental() and execute %}
{%- set stored = run_query(
    "select max(trade_date)::varchar, coalesce(max(_short_loaded_at), '-infinity'::timestamptz)::varchar, "
    ~ "coalesce(max(_prices_loaded_at), '-infinity'::timestamptz)::varchar from " ~ this
) %}
{%- set newest = stored.columns[0].values()[0] or 'infinity' %}
{%- set first_day = scalar(
    "select least('" ~ newest ~ "'::date - interval " ~ var('returns_lookback_days') ~ " day, coalesce((select min(trade_date) from "
    ~ ref('fct_short_volume_daily') ~ " where _loaded_at > '" ~ stored.columns[1].values()[0]
    ~ "'::timestamptz), 'infinity'::date))::date::varchar"
) %}
{#- Symbols with a price row changed on a day already stored (re-adjusted, restated, new with history):
    their forward returns reach further back than first_day, so they are recomputed whole. -#}
{%- set whole_history = literal_list(
    "select distinct symbol from " ~ ref('fct_prices_daily') ~ " where _loaded_at > '"
    ~ stored.columns[2].values()[0] ~ "'::timestamptz and trade_date <= '" ~ newest ~ "'::date"
) %}
{%- else %}
{%- set first_day, whole_history = '-infinity', "''" %}
{%- endif %}

with prices as (
    select symbol, trade_date, adj_close, _loaded_at
    from {{ ref('fct_prices_daily') }}
    where trade_date >= '{{ first_day }}'::date
    union all
    select symbol, trade_date, adj_close, _loaded_at
    from {{ ref('fct_prices_daily') }}
    where trade_date < '{{ first_day }}'::date and symbol in ({{ whole_history }})
),

ahead as (
    select
        symbol,
        trade_date,
        adj_close,
        _loaded_at,
        {% for h in horizons %}
        lead(adj_close, {{ h + 1 }}) over by_symbol as exit_adj_close_{{ h }}d,
        {% endfor %}
        lead(adj_close, 1) over by_symbol as entry_adj_close
    from prices
    window by_symbol as (partition by symbol order by trade_date)
)

select
    ahead.symbol,
    ahead.trade_date,
    short.short_ratio,
    short.short_volume,
    short.total_volume,
    ahead.adj_close,
    ahead.entry_adj_close,
    {% for h in horizons %}
    ahead.exit_adj_close_{{ h }}d / ahead.entry_adj_close - 1 as fwd_return_{{ h }}d,
    {% endfor %}
    short._loaded_at as _short_loaded_at,
    ahead._loaded_at as _prices_loaded_at,
    now() as _built_at
from ahead
left join {{ ref('fct_short_volume_daily') }} as short
    on ahead.symbol = short.symbol and ahead.trade_date = short.trade_date
-- in date order: the models reading recent days skip the rest
order by ahead.trade_date, ahead.symbol
