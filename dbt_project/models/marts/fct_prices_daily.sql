{#-
Daily prices per symbol with an adjusted close computed here, not taken from a provider.

An event on ex-date s scales every earlier price by its factor: 1 / split_ratio for a split, and
(1 - dividend / close of the day before s) for a cash dividend (CRSP's convention). adj_factor of day t
is the product of the factors of all later events, so the latest adj_close equals the latest close.
USD columns use the latest ECB fixing on or before the trading day (ASOF join); USD prices are 1:1.

Incremental: the lake stamps every row with when its values last changed (`_loaded_at`), so a
daily run that rewrites each symbol's file still shows only its new day here. A symbol whose new
days carry no split or dividend and follow its last stored day only gets those days (its earlier
adjustment factors cannot change: only later events move them); the last stored day is read back
from this table for the day-over-day columns and is not written again. Every other changed symbol
(new to the table, an event among its new days, a stored day restated) is recomputed over its whole
history, and all its rows get the symbol's newest `_loaded_at`, so fct_returns sees the re-adjusted
history as changed. A day that disappears from a symbol's raw file stays here until a full refresh.
-#}
{{ config(materialized='incremental', unique_key=['symbol', 'trade_date'], incremental_strategy='delete+insert',
          on_schema_change='append_new_columns') }}

{% set price_columns %}
trade_date, symbol, open, high, low, close, volume, dividend, split_ratio, currency, provider, _loaded_at
{% endset %}

with
{% if is_incremental() %}
changed as (
    {{ deduplicated_prices(
        "_loaded_at > (select coalesce(max(_loaded_at), '-infinity'::timestamptz) from " ~ this ~ ")"
    ) }}
),

last_stored as (
    select symbol, max(trade_date) as last_day
    from {{ this }}
    where symbol in (select symbol from changed)
    group by symbol
),

new_days as (
    select changed.*
    from changed
    left join last_stored using (symbol)
    where last_stored.last_day is null or changed.trade_date > last_stored.last_day
),

whole_history as (
    select symbol from new_days
    where (split_ratio > 0 and split_ratio <> 1) or dividend > 0
    union
    select symbol from changed
    where symbol not in (select symbol from last_stored)
    union
    select changed.symbol from changed inner join last_stored using (symbol)
    where changed.trade_date <= last_stored.last_day
),

recomputed as (
    -- filtered before the dedup window: through stg_prices__daily the window would run over all
    -- history first (40 s at 49 M rows), even when no symbol is recomputed
    {{ deduplicated_prices("symbol in (select symbol from whole_history)") }}
),

prices as (
    select {{ price_columns }}, false as is_context from recomputed
    union all
    select {{ price_columns }}, false as is_context from new_days
    where symbol not in (select symbol from whole_history)
    union all
    select {{ price_columns }}, true as is_context
    from {{ this }} as stored_day
    semi join last_stored
        on stored_day.symbol = last_stored.symbol and stored_day.trade_date = last_stored.last_day
    where
        stored_day.symbol not in (select symbol from whole_history)
        and stored_day.symbol in (select symbol from new_days)
),
{% else %}
prices as (
    select {{ price_columns }}, false as is_context from {{ ref('stg_prices__daily') }}
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
    max(_loaded_at) over (partition by symbol) as _loaded_at,
    now() as _built_at
from priced
qualify not is_context
