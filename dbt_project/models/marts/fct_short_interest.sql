{#-
One row per symbol and settlement date: FINRA's short interest, its change since the last report,
and days to cover twice, as FINRA computes it (its average daily volume) and from the consolidated
volume the platform stores (fct_prices_daily: all venues, not only FINRA's facilities).

The consolidated window is the sessions after the previous settlement date up to and including this
one (about ten); null on the first settlement date the lake holds, and where the symbol has no price.

short_interest_pct_shares sets the position against the shares outstanding SEC had published by
available_from (int_shares_outstanding_known; a company's classes summed), so it too is usable from then.

available_from is the session by which FINRA has published the file: the eighth after settlement
(FINRA publishes about seven business days after it, in the evening), the same lag the raw asset's
sensor waits for. As-of joins use it, never settlement_date.
-#}
with short_interest as (
    select * from {{ ref('stg_finra__short_interest') }}
),

sessions as (
    select trade_date, session_number from {{ ref('int_trading_days') }}
),

settlements as (
    select
        settlement.settlement_date,
        lag(settlement.settlement_date) over (order by settlement.settlement_date) as previous_settlement_date,
        sessions.session_number
    from (select distinct settlement_date from short_interest) as settlement
    left join sessions on settlement.settlement_date = sessions.trade_date
),

published as (
    select
        settlements.settlement_date,
        settlements.previous_settlement_date,
        sessions.trade_date as available_from
    from settlements
    left join sessions on settlements.session_number + 8 = sessions.session_number
),

shares_known as (
    select symbol, valid_from, shares_outstanding from {{ ref('int_shares_outstanding_known') }}
),

published_rows as (
    select
        short_interest.*,
        published.available_from
    from short_interest
    inner join published on short_interest.settlement_date = published.settlement_date
),

consolidated as (
    select
        published.settlement_date,
        prices.symbol,
        avg(prices.volume) as consolidated_average_daily_volume,
        count(*) as consolidated_volume_days
    from published
    inner join {{ ref('fct_prices_daily') }} as prices
        on
            published.previous_settlement_date < prices.trade_date
            and published.settlement_date >= prices.trade_date
    group by published.settlement_date, prices.symbol
)

select
    published_rows.symbol,
    published_rows.settlement_date,
    published_rows.issue_name,
    published_rows.market_class,
    published_rows.current_short_position as short_interest,
    published_rows.previous_short_position as previous_short_interest,
    published_rows.short_position_change as short_interest_change,
    published_rows.short_position_change
    / nullif(published_rows.previous_short_position, 0) as short_interest_change_pct,
    shares_known.shares_outstanding,
    published_rows.current_short_position / nullif(shares_known.shares_outstanding, 0) as short_interest_pct_shares,
    published_rows.average_daily_volume as finra_average_daily_volume,
    published_rows.days_to_cover as finra_days_to_cover,
    consolidated.consolidated_average_daily_volume,
    consolidated.consolidated_volume_days,
    published_rows.current_short_position
    / nullif(consolidated.consolidated_average_daily_volume, 0) as consolidated_days_to_cover,
    published_rows.split_adjusted,
    published_rows.revised,
    published_rows.available_from,
    published_rows._loaded_at
from published_rows
left join consolidated
    on
        published_rows.settlement_date = consolidated.settlement_date
        and published_rows.symbol = consolidated.symbol
asof left join shares_known
    on published_rows.symbol = shares_known.symbol and published_rows.available_from >= shares_known.valid_from
