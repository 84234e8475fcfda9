{#-
Daily prices per symbol with an adjusted close computed here, not taken from a provider.

An event on ex-date s scales every earlier price by its factor: 1 / split_ratio for a split, and
(1 - dividend / close of the day before s) for a cash dividend (CRSP's convention). adj_factor of day t
is the product of the factors of all later events, so the latest adj_close equals the latest close.
USD columns use the latest ECB fixing on or before the trading day (ASOF join); USD prices are 1:1.

Incremental: a symbol's lake file is rewritten whenever it gets a day, so "changed since the last
build" is per symbol, and the rows are compared with what is stored. A symbol whose new days carry
no split or dividend, and whose stored days are unchanged, only gets its new days (its earlier
adjustment factors cannot change: only later events move them); the last stored day rides along
for the day-over-day columns and is not written again. Every other changed symbol (new to the
table, an event among its new days, a restated day) is recomputed over its whole history.
A day that disappears from a symbol's raw file stays here until a full refresh.
-#}
{{ config(materialized='incremental', unique_key=['symbol', 'trade_date'], incremental_strategy='delete+insert',
          on_schema_change='append_new_columns') }}

with
{% if is_incremental() %}
changed as (
    select * from {{ ref('stg_prices__daily') }}
    where _loaded_at > (select coalesce(max(_loaded_at), '-infinity'::timestamptz) from {{ this }})
),

stored as (
    select symbol, trade_date, close, dividend, split_ratio, currency
    from {{ this }}
    where symbol in (select symbol from changed)
),

last_stored as (
    select symbol, max(trade_date) as last_day from stored group by symbol
),

new_days as (
    select changed.*
    from changed
    left join last_stored using (symbol)
    where last_stored.last_day is null or changed.trade_date > last_stored.last_day
),

whole_history as (
    select symbol from new_days where (split_ratio > 0 and split_ratio <> 1) or dividend > 0
    union
    select symbol from changed where symbol not in (select symbol from last_stored)
    union
    select changed.symbol
    from changed
    inner join stored using (symbol, trade_date)
    where changed.close is distinct from stored.close
       or changed.dividend is distinct from stored.dividend
       or changed.split_ratio is distinct from stored.split_ratio
       or changed.currency is distinct from stored.currency
),

prices as (
    select *, false as is_context from {{ ref('stg_prices__daily') }}
    where symbol in (select symbol from whole_history)
    union all
    select *, false as is_context from new_days
    where symbol not in (select symbol from whole_history)
    union all
    select changed.*, true as is_context
    from changed
    inner join last_stored using (symbol)
    where changed.trade_date = last_stored.last_day
      and changed.symbol not in (select symbol from whole_history)
      and changed.symbol in (select symbol from new_days)
),
{% else %}
prices as (
    select *, false as is_context from {{ ref('stg_prices__daily') }}
),
{% endif %}

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
    provider,
    _loaded_at
from priced
qualify not is_context
