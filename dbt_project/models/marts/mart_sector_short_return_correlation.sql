{#-
Does heavy short selling predict returns, and in which sectors?

Per Fama-French 12 sector, forward-return horizon (1, 5, 22, 65 trading days) and period (each
calendar year, and 'all'): the Pearson correlation of the day's short ratio with the forward return,
on a seeded sample trimmed to the 25%-75% band of returns (int_short_return__yearly_moments has
the recipe). A year's band and sample are its own; 'all' pools the years' samples, so a volatile
year does not widen the band of a calm one, and 'all' holds at most `correlation_sample_per_sector`
rows per sector for each year. Pooling is exact: the years' counts, means and deviation sums
combine into the pooled correlation (Chan et al.'s parallel formulas), without re-reading rows.
-#}
with years as (
    select * from {{ ref('int_short_return__yearly_moments') }}
),

pooled_means as (
    select
        sector,
        horizon_days,
        sum(n_sample * mean_short_ratio) / sum(n_sample) as mean_short_ratio,
        sum(n_sample * mean_fwd_return) / sum(n_sample) as mean_fwd_return
    from years
    group by sector, horizon_days
),

pooled as (
    select
        years.sector,
        years.horizon_days,
        'all' as period,
        cast(sum(years.n_sample) as bigint) as n_sample,
        cast(sum(years.n_interquartile) as bigint) as n_interquartile,
        sum(
            years.m2_short_ratio
            + years.n_sample * power(years.mean_short_ratio - pooled_means.mean_short_ratio, 2)
        ) as m2_short_ratio,
        sum(
            years.m2_fwd_return
            + years.n_sample * power(years.mean_fwd_return - pooled_means.mean_fwd_return, 2)
        ) as m2_fwd_return,
        sum(
            years.c2_short_ratio_fwd_return
            + years.n_sample * (years.mean_short_ratio - pooled_means.mean_short_ratio)
            * (years.mean_fwd_return - pooled_means.mean_fwd_return)
        ) as c2_short_ratio_fwd_return,
        length(list_distinct(flatten(list(years.symbols)))) as n_symbols,
        min(years.first_trade_date) as first_trade_date,
        max(years.last_trade_date) as last_trade_date
    from years
    inner join pooled_means using (sector, horizon_days)
    group by years.sector, years.horizon_days
),

periods as (
    select
        sector,
        horizon_days,
        cast(year as varchar) as period,
        n_sample,
        n_interquartile,
        m2_short_ratio,
        m2_fwd_return,
        c2_short_ratio_fwd_return,
        length(symbols) as n_symbols,
        first_trade_date,
        last_trade_date
    from years
    union all
    select * from pooled
)

select
    sector,
    horizon_days,
    period,
    -- null where a cell is too small or constant to correlate
    case
        when m2_short_ratio > 0 and m2_fwd_return > 0
            then c2_short_ratio_fwd_return / sqrt(m2_short_ratio * m2_fwd_return)
    end as correlation,
    n_sample,
    n_interquartile,
    n_symbols,
    first_trade_date,
    last_trade_date
from periods
