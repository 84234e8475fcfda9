{#-
Volatility per symbol over 2-week windows stepping 1 week.

A window starts on a Monday and covers that week and the next (10 trading days, fewer in holiday
weeks); consecutive windows overlap by one week. Windows are pinned to the calendar, not to a row
count, so loading older history never shifts them. Per window: the standard deviation of daily
returns and of the USD close, the mean USD close, and the number of observations; every price is
tickerlake's adjusted close (in USD), so a window that spans a split or a dividend compares prices on
one scale.

Incremental: a run recomputes the windows that start from two weeks before the newest window, and
all windows of the symbols with a price row changed before that (new to the table with history, or
re-adjusted: a split or dividend among the new days re-adjusts a symbol's whole history in
fct_prices_daily). Those are looked up first and go into the query as literals, so only their rows
are read.
-#}
{{ config(materialized='incremental', unique_key=['symbol', 'window_start'], incremental_strategy='delete+insert',
          on_schema_change='append_new_columns') }}

{%- if is_incremental() and execute %}
{%- set stored = run_query(
    "select coalesce(max(window_start) - interval 14 day, 'infinity'::date)::date::varchar, "
    ~ "coalesce(max(_prices_loaded_at), '-infinity'::timestamptz)::varchar from " ~ this
) %}
{%- set first_day = stored.columns[0].values()[0] %}
{#- Symbols with a price row changed before first_day + 7 (re-adjusted, restated, new with history): a
    row reaches the window of its week and the one before, so theirs are recomputed whole. -#}
{%- set whole_history = literal_list(
    "select distinct symbol from " ~ ref('fct_prices_daily') ~ " where _loaded_at > '"
    ~ stored.columns[1].values()[0] ~ "'::timestamptz and trade_date < '" ~ first_day ~ "'::date + 7"
) %}
{%- else %}
{%- set first_day, whole_history = '-infinity', "''" %}
{%- endif %}

with prices as (
    select symbol, trade_date, daily_return, daily_return_usd, adj_close_usd, _loaded_at
    from {{ ref('fct_prices_daily') }}
    where trade_date >= '{{ first_day }}'::date
    union all
    select symbol, trade_date, daily_return, daily_return_usd, adj_close_usd, _loaded_at
    from {{ ref('fct_prices_daily') }}
    where trade_date < '{{ first_day }}'::date and symbol in ({{ whole_history }})
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
    stddev_samp(daily_return_usd) as return_volatility_usd,
    stddev_samp(adj_close_usd) as price_volatility_usd,
    avg(adj_close_usd) as mean_price_usd,
    max(_loaded_at) as _prices_loaded_at,
    now() as _built_at
from in_windows
where window_start >= '{{ first_day }}'::date or symbol in ({{ whole_history }})
group by symbol, window_start
-- in window order: the ranking's look-back reads the newest windows only
order by window_start, symbol
