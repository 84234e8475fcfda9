{#-
Volatility per symbol over 2-week windows stepping 1 week.

A window starts on a Monday and covers that week and the next (10 trading days, fewer in holiday
weeks); consecutive windows overlap by one week. Windows are pinned to the calendar, not to a row
count, so loading older history never shifts them. Per window: the standard deviation of daily
returns and of the USD close, the mean USD close, and the number of observations; every price is
tickerlake's adjusted close (in USD), so a window that spans a split or a dividend compares prices on
one scale.

Incremental: a run recomputes the windows that start from three weeks before the newest window, and
all windows of symbols new to the table or whose older adjusted prices moved since the last build (a
split or dividend among the new days re-adjusts a symbol's whole history in fct_prices_daily).
-#}
{{ config(materialized='incremental', unique_key=['symbol', 'window_start'], incremental_strategy='delete+insert',
          on_schema_change='append_new_columns') }}

with
{% if is_incremental() %}
since as (
    select (select max(window_start) from {{ this }}) - interval 14 day as first_day
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
    select symbol, trade_date, daily_return, adj_close_usd, _loaded_at
    from {{ ref('fct_prices_daily') }}
    {% if is_incremental() %}
    where
        trade_date >= (select first_day from since)
        or symbol not in (select distinct symbol from {{ this }})
        or symbol in (select symbol from readjusted)
    {% endif %}
),

in_windows as (
    select
        prices.*,
        date_trunc('week', trade_date)::date - week_offsets.weeks_back * 7 as window_start
    from prices
    cross join (values (0), (1)) as week_offsets (weeks_back)
)

select
    symbol,
    window_start,
    window_start + 11 as window_end,
    min(trade_date) as first_trade_date,
    max(trade_date) as last_trade_date,
    count(*) as n_days,
    count(daily_return) as n_returns,
    stddev_samp(daily_return) as return_volatility,
    stddev_samp(adj_close_usd) as price_volatility_usd,
    avg(adj_close_usd) as mean_price_usd,
    max(_loaded_at) as _prices_loaded_at,
    now() as _built_at
from in_windows
{% if is_incremental() %}
where
    window_start >= (select first_day from since)
    or symbol not in (select distinct symbol from {{ this }})
    or symbol in (select symbol from readjusted)
{% endif %}
group by symbol, window_start
