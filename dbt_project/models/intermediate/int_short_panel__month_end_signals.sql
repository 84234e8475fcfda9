{#-
What the decile portfolios sort and hold, per symbol and month it has a panel row in: at the month's
last trading day (the formation day; the newest panel day while the month is still running), the
consolidated days to cover and the market value known that evening (fct_short_panel_daily; null
without a bar that day), the month's mean daily short ratio, and the return of holding the symbol for
the next month (fct_returns.fwd_return_22d, bought at the next close; null without a bar on the
formation day and until 23 sessions after it are known).

Incremental: a symbol's months from the first one holding a panel or return row written since the
last build are recomputed (a daily run: the running month, and the months whose next-month return
the new prices complete); every other month is what a full refresh writes. The earliest such month
goes into the query as a literal, so only the panel's and the returns' rows from then on are read
(both are written in date order).
-#}
{{ config(materialized='incremental', unique_key=['symbol', 'formation_month'], incremental_strategy='delete+insert',
          on_schema_change='append_new_columns') }}
{%- set built = last_built() if is_incremental() %}
{%- set changed -%}
    select symbol, date_trunc('month', min(trade_date))::date as since
    from {{ ref('fct_short_panel_daily') }}
    where _built_at > '{{ built }}'::timestamptz
    group by symbol
    union all
    select symbol, date_trunc('month', min(trade_date))::date as since
    from {{ ref('fct_returns') }}
    where _built_at > '{{ built }}'::timestamptz
    group by symbol
{%- endset %}
{%- set first_month = run_query(
    "select coalesce(min(since), 'infinity'::date)::varchar from (" ~ changed ~ ")"
).columns[0].values()[0] if is_incremental() and execute else '-infinity' %}

with
{% if is_incremental() %}
reached as (
    select symbol, min(since) as since
    from ({{ changed }})
    group by symbol
),
{% endif %}

panel as (
    select panel.symbol, panel.trade_date, panel.consolidated_days_to_cover, panel.market_cap, panel.short_ratio
    from {{ ref('fct_short_panel_daily') }} as panel
    {% if is_incremental() %}
    inner join reached on panel.symbol = reached.symbol and panel.trade_date >= reached.since
    where panel.trade_date >= '{{ first_month }}'::date
    {% endif %}
),

month_ends as (
    select max(trade_date) as formation_date
    from {{ ref('int_trading_days') }}
    where
        trade_date <= (select max(panel_days.trade_date) from {{ ref('fct_short_panel_daily') }} as panel_days)
        and trade_date >= '{{ first_month }}'::date
    group by date_trunc('month', trade_date)
),

monthly_short_ratio as (
    select
        symbol,
        date_trunc('month', trade_date)::date as formation_month,
        avg(short_ratio) as short_ratio
    from panel
    group by symbol, date_trunc('month', trade_date)
),

next_month as (
    select symbol, trade_date, fwd_return_22d
    from {{ ref('fct_returns') }}
    where
        trade_date in (select month_ends.formation_date from month_ends)
        and trade_date >= '{{ first_month }}'::date
)

select
    monthly_short_ratio.symbol,
    monthly_short_ratio.formation_month,
    month_ends.formation_date,
    at_formation.consolidated_days_to_cover as days_to_cover,
    at_formation.market_cap,
    monthly_short_ratio.short_ratio,
    next_month.fwd_return_22d as next_month_return,
    now() as _built_at
from monthly_short_ratio
inner join month_ends on monthly_short_ratio.formation_month = date_trunc('month', month_ends.formation_date)
left join panel as at_formation
    on
        monthly_short_ratio.symbol = at_formation.symbol
        and month_ends.formation_date = at_formation.trade_date
left join next_month
    on monthly_short_ratio.symbol = next_month.symbol and month_ends.formation_date = next_month.trade_date
order by monthly_short_ratio.formation_month, monthly_short_ratio.symbol
