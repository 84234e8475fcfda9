{#-
Forward returns per symbol and trading day, beside that day's short ratio.

No look-ahead: FINRA publishes day t's short volume at 18:00 ET, after the close of t, so a trade
on it can start at the close of t+1 at the earliest. fwd_return_{h}d = adj_close(t+1+h) /
adj_close(t+1) - 1, counting trading days of the symbol's own series; null where t+1+h is past the
data. Returns come from tickerlake's adjusted close, so splits and dividends do not show as moves.

Incremental: new prices change the forward returns of the days up to 65 trading days before them,
so a run recomputes the last `returns_lookback_days` calendar days, every symbol new to the table,
every symbol whose older prices were re-adjusted since the last build (a new split or dividend moves
its adj_close), and every day from the earliest FINRA day rewritten since the last build.
-#}
{{ config(materialized='incremental', unique_key=['symbol', 'trade_date'], incremental_strategy='delete+insert',
          on_schema_change='append_new_columns') }}

{% set horizons = [1, 5, 22, 65] %}

with
{% if is_incremental() %}
since as (
    select least(
        (select max(trade_date) from {{ this }}) - interval {{ var('returns_lookback_days') }} day,
        coalesce(
            (
                select min(trade_date) from {{ ref('fct_short_volume_daily') }}
                where _loaded_at > (select coalesce(max(_short_loaded_at), '-infinity'::timestamptz) from {{ this }})
            ),
            'infinity'::date
        )
    ) as first_day
),

readjusted as (
    select distinct symbol
    from {{ ref('fct_prices_daily') }}
    where
        trade_date < (select first_day from since)
        and _loaded_at > (select coalesce(max(_prices_loaded_at), '-infinity'::timestamptz) from {{ this }})
),
{% endif %}

prices as (
    select symbol, trade_date, adj_close, _loaded_at
    from {{ ref('fct_prices_daily') }}
    {% if is_incremental() %}
    where
        trade_date >= (select first_day from since)
        or symbol not in (select distinct symbol from {{ this }})
        or symbol in (select symbol from readjusted)
    {% endif %}
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
