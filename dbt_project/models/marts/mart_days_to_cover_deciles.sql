{#-
Decile portfolios by days to cover, as Hong, Li, Ni, Scheinkman and Yan ("Days to Cover and Stock
Returns", 2016) formed them, and the same by the daily short ratio.

At each month's last trading day, the symbols with a signal known that evening
(int_short_panel__month_end_signals, from fct_short_panel_daily: days to cover from the newest
published short interest and the consolidated volume; the short ratio averaged over the month's
days) are sorted into deciles (1 = lowest), and each is held for the next month: fwd_return_22d,
bought at the next close, so nothing known after the formation day is used. A portfolio's return is
its symbols' mean (equal-weighted), and weighted by market value at formation (close times the shares
outstanding SEC had published by then; only in months where every member has one: a partial weight
would be another portfolio); 'low-high' is decile 1 minus decile 10 (the paper's long-short: long the
easiest to cover, short the hardest). Per signal (sorted_by), calendar year of formation and all
years: the mean monthly return, its t-statistic and the months and symbols behind it. It reads one row
per symbol and month, so it is rebuilt whole on every run.
-#}
with signals as (
    select symbol, formation_date, days_to_cover, market_cap, short_ratio, next_month_return
    from {{ ref('int_short_panel__month_end_signals') }}
    where next_month_return is not null
),

by_signal as (
    select
        'days_to_cover' as sorted_by, symbol, formation_date, days_to_cover as sort_value, market_cap, next_month_return
    from signals
    where days_to_cover is not null
    union all
    select 'short_ratio' as sorted_by, symbol, formation_date, short_ratio as sort_value, market_cap, next_month_return
    from signals
    where short_ratio is not null
),

ranked as (
    select
        *,
        ntile(10) over (partition by sorted_by, formation_date order by sort_value, symbol) as decile
    from by_signal
),

portfolios as (
    select
        sorted_by,
        formation_date,
        decile::varchar as portfolio,
        avg(next_month_return) as monthly_return,
        case
            when count(market_cap) = count(*)
                then sum(next_month_return * market_cap) / nullif(sum(market_cap), 0)
        end as vw_monthly_return,
        count(*) as symbols
    from ranked
    group by sorted_by, formation_date, decile
),

spreads as (
    select
        sorted_by,
        formation_date,
        'low-high' as portfolio,
        max(monthly_return) filter (where portfolio = '1')
        - max(monthly_return) filter (where portfolio = '10') as monthly_return,
        max(vw_monthly_return) filter (where portfolio = '1')
        - max(vw_monthly_return) filter (where portfolio = '10') as vw_monthly_return,
        sum(symbols) filter (where portfolio in ('1', '10')) as symbols
    from portfolios
    group by sorted_by, formation_date
    having count(*) filter (where portfolio in ('1', '10')) = 2
),

months as (
    select * from portfolios
    union all
    select * from spreads
),

periods as (
    select
        sorted_by, year(formation_date)::varchar as period, portfolio, monthly_return, vw_monthly_return, symbols
    from months
    union all
    select sorted_by, 'all' as period, portfolio, monthly_return, vw_monthly_return, symbols from months
)

select
    sorted_by,
    period,
    portfolio,
    avg(monthly_return) as mean_monthly_return,
    avg(monthly_return) / (stddev_samp(monthly_return) / sqrt(count(*))) as t_stat,
    avg(vw_monthly_return) as vw_mean_monthly_return,
    count(vw_monthly_return) as vw_months,
    count(*) as months,
    avg(symbols) as mean_symbols
from periods
group by sorted_by, period, portfolio
