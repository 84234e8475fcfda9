{#-
One row per symbol and trading day (each day the symbol has a price bar): the latest known value of
every short-selling measure as of that day's end, after FINRA's daily file (18:00 ET) and Nasdaq's
threshold list (created about 23:00 ET).

"Known" means published: short interest from its available_from session on, fails-to-deliver from
the New York day of their available_from on (the newest settlement date published by then); never
from settlement dates, which are weeks earlier. The daily short ratio and the days on Nasdaq's
threshold list are the day's own (published that evening); shares outstanding are those SEC had
published by the day (int_shares_outstanding_known). An ASOF join picks, per symbol and day, the
newest row published by then.

Incremental (a full rebuild is 50 M rows at full history, every day): a run recomputes, per symbol,
every day from the first one a value stored since the last build reaches: a price bar or short ratio
of that day, a short interest, fails-to-deliver or shares-outstanding row from the day it is known
(its available_from, available_on, valid_from) on; a threshold list newly stored reaches every symbol
from its day on (consecutive days count across lists). Those days are exactly what a full refresh
writes; a value that disappears from an input (a restatement dropping a day) reaches the panel only
with a full refresh.
-#}
-- depends_on: {{ ref('stg_nasdaq__regsho_threshold') }}
{{ config(materialized='incremental', unique_key=['symbol', 'trade_date'], incremental_strategy='delete+insert',
          on_schema_change='append_new_columns') }}
{%- set built = last_built() if is_incremental() %}
{%- set reached -%}
reached as (
    select symbol, min(trade_date) as since
    from {{ ref('fct_prices_daily') }}
    where _loaded_at > '{{ built }}'::timestamptz
    group by symbol
    union all
    select symbol, min(trade_date) as since
    from {{ ref('fct_short_volume_daily') }}
    where _loaded_at > '{{ built }}'::timestamptz
    group by symbol
    union all
    select symbol, min(available_from) as since
    from {{ ref('fct_short_interest') }}
    where _loaded_at > '{{ built }}'::timestamptz
    group by symbol
    union all
    select symbol, min((available_from at time zone 'America/New_York')::date) as since
    from {{ ref('fct_fails_to_deliver') }}
    where _loaded_at > '{{ built }}'::timestamptz
    group by symbol
    union all
    select symbol, min(valid_from) as since
    from {{ ref('int_shares_outstanding_known') }}
    where _loaded_at > '{{ built }}'::timestamptz
    group by symbol
),

reached_symbols as (
    select symbol, min(since) as since
    from reached
    group by symbol
),

reached_everyone as (
    select coalesce(min(trade_date), 'infinity'::date) as since from (
        select trade_date from {{ ref('stg_nasdaq__regsho_threshold_files') }}
        where _loaded_at > '{{ built }}'::timestamptz
        union all
        select trade_date from {{ ref('stg_nasdaq__regsho_threshold') }}
        where _loaded_at > '{{ built }}'::timestamptz
    )
)
{%- endset %}
{#- The first day any symbol is reached, as a literal: DuckDB reads the price rows from there on only. -#}
{%- set first_day = scalar(
    "with " ~ reached ~ " select least(coalesce(min(since), 'infinity'::date), "
    ~ "(select since from reached_everyone))::varchar from reached_symbols"
) if is_incremental() else '-infinity' %}

with
{% if is_incremental() %}
{{ reached }},
{% endif %}

days as (
    select prices.symbol, prices.trade_date, prices.close
    from {{ ref('fct_prices_daily') }} as prices
    {% if is_incremental() %}
    left join reached_symbols on prices.symbol = reached_symbols.symbol
    where
        prices.trade_date >= '{{ first_day }}'::date
        and prices.trade_date >= least(
            coalesce(reached_symbols.since, 'infinity'::date),
            (select reached_everyone.since from reached_everyone)
        )
    {% endif %}
),

shares_known as (
    select symbol, valid_from, shares_outstanding from {{ ref('int_shares_outstanding_known') }}
),

threshold_lists as (
    select trade_date from {{ ref('stg_nasdaq__regsho_threshold_files') }}
),

threshold_days as (
    select symbol, trade_date, consecutive_days from {{ ref('fct_regsho_threshold_days') }}
),

short_volume as (
    select symbol, trade_date, short_ratio from {{ ref('fct_short_volume_daily') }}
),

short_interest as (
    select
        symbol,
        settlement_date,
        short_interest,
        short_interest_pct_shares,
        finra_days_to_cover,
        consolidated_days_to_cover,
        available_from
    from {{ ref('fct_short_interest') }}
    where available_from is not null
),

fails as (
    select
        symbol,
        settlement_date,
        fails,
        fails_zscore,
        (available_from at time zone 'America/New_York')::date as available_on
    from {{ ref('fct_fails_to_deliver') }}
),

fails_newest as (
    select
        *,
        max(settlement_date) over (
            partition by symbol order by available_on range between unbounded preceding and current row
        ) as newest_known
    from fails
),

fails_known as (
    -- per symbol and publication day, the newest settlement date published by then (a re-posted older
    -- file publishes nothing newer: that day has no row, and the ASOF join keeps the earlier one)
    select symbol, available_on, settlement_date, fails, fails_zscore
    from fails_newest
    where settlement_date = newest_known
)

select
    days.symbol,
    days.trade_date,
    days.close,
    shares_known.shares_outstanding,
    days.close * shares_known.shares_outstanding as market_cap,
    short_volume.short_ratio,
    short_interest.settlement_date as short_interest_settlement_date,
    short_interest.short_interest,
    short_interest.short_interest_pct_shares,
    short_interest.finra_days_to_cover,
    short_interest.consolidated_days_to_cover,
    fails.settlement_date as fails_settlement_date,
    fails.fails,
    fails.fails_zscore,
    case when threshold_lists.trade_date is not null then coalesce(threshold_days.consecutive_days, 0) end
        as nasdaq_threshold_days,
    now() as _built_at
from days
left join short_volume on days.symbol = short_volume.symbol and days.trade_date = short_volume.trade_date
left join threshold_lists on days.trade_date = threshold_lists.trade_date
left join threshold_days on days.symbol = threshold_days.symbol and days.trade_date = threshold_days.trade_date
asof left join short_interest
    on days.symbol = short_interest.symbol and days.trade_date >= short_interest.available_from
asof left join fails_known as fails
    on days.symbol = fails.symbol and days.trade_date >= fails.available_on
asof left join shares_known
    on days.symbol = shares_known.symbol and days.trade_date >= shares_known.valid_from
-- written in date order, so a reader of recent days (the deciles' months, the feature marts) skips the rest
order by days.trade_date, days.symbol
