{#-
One row per symbol and trading day (each day the symbol has a price bar): the latest known value of
every short-selling measure as of that day's evening, after FINRA's daily file (18:00 ET).

"Known" means published: short interest from its available_from session on, fails-to-deliver from
the New York day of their available_from on (the newest settlement date published by then); never
from settlement dates, which are weeks earlier.
The daily short ratio is the day's own (FINRA publishes it that evening). An ASOF join picks, per
symbol and day, the newest row published by then.
-#}
with days as (
    select symbol, trade_date from {{ ref('fct_prices_daily') }}
),

short_volume as (
    select symbol, trade_date, short_ratio from {{ ref('fct_short_volume_daily') }}
),

short_interest as (
    select
        symbol,
        settlement_date,
        short_interest,
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
    short_volume.short_ratio,
    short_interest.settlement_date as short_interest_settlement_date,
    short_interest.short_interest,
    short_interest.finra_days_to_cover,
    short_interest.consolidated_days_to_cover,
    fails.settlement_date as fails_settlement_date,
    fails.fails,
    fails.fails_zscore
from days
left join short_volume on days.symbol = short_volume.symbol and days.trade_date = short_volume.trade_date
asof left join short_interest
    on days.symbol = short_interest.symbol and days.trade_date >= short_interest.available_from
asof left join fails_known as fails
    on days.symbol = fails.symbol and days.trade_date >= fails.available_on
