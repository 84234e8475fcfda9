{#-
Daily prices per symbol with an adjusted close computed here, not taken from a provider.

An event on ex-date s scales every earlier price by its factor: 1 / split_ratio for a split, and
(1 - dividend / close of the day before s) for a cash dividend (CRSP's convention). adj_factor of day t
is the product of the factors of all later events, so the latest adj_close equals the latest close.
USD columns use the latest ECB fixing on or before the trading day (ASOF join); USD prices are 1:1.
fx_rate_date says which fixing: a trading day the ECB did not fix (a TARGET holiday, a weekend session
abroad, a day before the rates were fetched) carries the last earlier one, and shows it.

Incremental: the lake stamps every row with when its values last changed (`_loaded_at`), so a
daily run that rewrites each symbol's file still shows only its new day here. A symbol whose new
days carry no split or dividend and follow its last stored day only gets those days (its earlier
adjustment factors cannot change: only later events move them); the last stored day is read back
from this table for the day-over-day columns and is not written again. Every other changed symbol
(new to the table, an event among its new days, a stored day restated) is recomputed over its whole
history, and all its rows get the symbol's newest `_loaded_at`, so fct_returns sees the re-adjusted
history as changed. A day that disappears from a symbol's raw file stays here until a full refresh.
Which symbols are recomputed, the newest stored _loaded_at and the earliest day read back are looked
up first and go into the query as literals, so DuckDB reads only the new raw files and the symbols'
own (a subquery is known only after a scan of all 50 M rows, even when it turns out empty).
-#}
{{ config(materialized='incremental', unique_key=['symbol', 'trade_date'], incremental_strategy='delete+insert',
          on_schema_change='append_new_columns') }}

{% set price_columns %}
trade_date, symbol, open, high, low, close, volume, dividend, split_ratio, currency, provider, _loaded_at
{% endset %}

{%- if is_incremental() %}
{%- set loaded = scalar(
    "select coalesce(max(_loaded_at), '-infinity'::timestamptz)::varchar from " ~ this
) or '-infinity' %}
{%- set changed = deduplicated_prices("_loaded_at > '" ~ loaded ~ "'::timestamptz") %}
{#- The symbols recomputed over their whole history (an event among their new days, new to the table, a
    stored day restated), as a literal list, and the earliest last stored day of the others: the only
    stored rows read back. -#}
{%- set plan -%}
with changed as ({{ changed }}),

last_stored as (
    select symbol, max(trade_date) as last_day
    from {{ this }}
    where symbol in (select symbol from changed)
    group by symbol
),

whole_history as (
    select changed.symbol
    from changed left join last_stored using (symbol)
    where
        last_stored.last_day is null
        or changed.trade_date <= last_stored.last_day
        or (changed.split_ratio > 0 and changed.split_ratio <> 1)
        or changed.dividend > 0
)

select
    coalesce(
        (select string_agg(distinct '''' || replace(symbol, '''', '''''') || '''', ', ') from whole_history),
        ''''''
    ),
    coalesce(
        (select min(last_day) from last_stored where symbol not in (select symbol from whole_history)),
        'infinity'::date
    )::varchar
{%- endset %}
{%- set planned = run_query(plan) if execute else none %}
{%- set whole_history = planned.columns[0].values()[0] if planned else "''" %}
{%- set context_from = planned.columns[1].values()[0] if planned else 'infinity' %}
{%- endif %}

with
{% if is_incremental() %}
changed as (
    {{ changed }}
),

recomputed as (
    -- filtered before the dedup window by the literal list: DuckDB skips the raw files of other symbols
    {{ deduplicated_prices("symbol in (" ~ whole_history ~ ")") }}
),

prices as (
    select {{ price_columns }}, false as is_context from recomputed
    union all
    select {{ price_columns }}, false as is_context from changed
    where symbol not in ({{ whole_history }})
    union all
    -- each appended symbol's last stored day, read back for the day-over-day columns, not written again
    select {{ price_columns }}, true as is_context
    from {{ this }}
    where
        trade_date >= '{{ context_from }}'::date
        and symbol in (select changed.symbol from changed)
        and symbol not in ({{ whole_history }})
    qualify row_number() over (partition by symbol order by trade_date desc) = 1
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
        case when adjusted.currency = 'USD' then 1.0 else fx.usd_per_unit end as usd_per_unit,
        case when adjusted.currency <> 'USD' then fx.rate_date end as fx_rate_date
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
    fx_rate_date,
    close * usd_per_unit as close_usd,
    close * adj_factor * usd_per_unit as adj_close_usd,
    close * adj_factor / lag(close * adj_factor) over (partition by symbol order by trade_date) - 1
        as daily_return,
    close * adj_factor * usd_per_unit
    / lag(close * adj_factor * usd_per_unit) over (partition by symbol order by trade_date) - 1
        as daily_return_usd,
    provider,
    max(_loaded_at) over (partition by symbol) as _loaded_at,
    now() as _built_at
from priced
qualify not is_context
-- in date order: the models reading recent days (fct_returns, fct_volatility_windows, the panel) skip the rest
order by trade_date, symbol
