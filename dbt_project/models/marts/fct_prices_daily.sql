{#-
Daily prices per symbol with an adjusted close computed here, not taken from a provider.

An event on ex-date s scales every earlier price by its factor: 1 / split_ratio for a split, and
(1 - dividend / close of the day before s) for a cash dividend (CRSP's convention). adj_factor of day t
is the product of the factors of all later events, so the latest adj_close equals the latest close.
USD columns use the latest ECB fixing on or before the trading day (ASOF join); USD prices are 1:1.
-#}
with prices as (
    select * from {{ ref('stg_prices__daily') }}
),

with_previous as (
    select
        *,
        lag(close) over (partition by symbol order by trade_date) as previous_close
    from prices
),

events as (
    select
        *,
        (case when split_ratio > 0 and split_ratio <> 1 then 1.0 / split_ratio else 1.0 end)
        * (case when dividend > 0 and previous_close > 0 then 1.0 - dividend / previous_close else 1.0 end)
            as event_factor
    from with_previous
),

adjusted as (
    select
        *,
        coalesce(
            exp(sum(ln(event_factor)) over (
                partition by symbol order by trade_date rows between 1 following and unbounded following
            )),
            1.0
        ) as adj_factor
    from events
),

fx as (
    select * from {{ ref('int_fx__usd_per_unit') }}
),

priced as (
    select
        adjusted.*,
        case when adjusted.currency = 'USD' then 1.0 else fx.usd_per_unit end as usd_per_unit
    from adjusted
    asof left join fx
        on adjusted.currency = fx.currency and adjusted.trade_date >= fx.rate_date
)

select
    trade_date,
    symbol,
    currency,
    open,
    high,
    low,
    close,
    volume,
    dividend,
    split_ratio,
    adj_factor,
    close * adj_factor as adj_close,
    usd_per_unit,
    close * usd_per_unit as close_usd,
    close * adj_factor * usd_per_unit as adj_close_usd,
    close * adj_factor / lag(close * adj_factor) over (partition by symbol order by trade_date) - 1
        as daily_return,
    provider
from priced
