{#-
Does heavy short selling predict returns, and in which sectors?

Per Fama-French 12 sector, forward-return horizon (1, 5, 22, 65 trading days) and period (each
calendar year, and 'all'): the Pearson correlation of the day's short ratio with the forward return.
Steps, in order:
1. pairs of (short_ratio, fwd_return) from fct_returns, both known;
2. keep the rows whose return lies between the 25% and 75% quantiles (quantile_cont) of that
   period's and horizon's returns, so a few extreme moves do not drive the correlation;
3. per sector, horizon and period keep at most `correlation_sample_per_sector` rows, the first ones
   in md5(seed|symbol|trade_date|horizon) order: a seeded sample, identical on every run;
4. correlate, and report the sizes before and after sampling.
-#}
{% set horizons = [1, 5, 22, 65] %}

with pairs as (
    {% for h in horizons %}
    select
        returns.symbol,
        returns.trade_date,
        {{ h }} as horizon_days,
        returns.short_ratio,
        returns.fwd_return_{{ h }}d as fwd_return
    from {{ ref('fct_returns') }} as returns
    where returns.short_ratio is not null and returns.fwd_return_{{ h }}d is not null
    {{ "union all" if not loop.last }}
    {% endfor %}
),

periods as (
    select *, 'all' as period from pairs
    union all
    select *, cast(year(trade_date) as varchar) as period from pairs
),

with_sector as (
    select periods.*, coalesce(symbols.ff12_industry, 'Other') as sector
    from periods
    left join {{ ref('dim_symbols') }} as symbols on periods.symbol = symbols.symbol
),

bounds as (
    select
        period,
        horizon_days,
        quantile_cont(fwd_return, 0.25) as q25,
        quantile_cont(fwd_return, 0.75) as q75
    from with_sector
    group by period, horizon_days
),

interquartile as (
    select with_sector.*
    from with_sector
    inner join bounds using (period, horizon_days)
    where with_sector.fwd_return between bounds.q25 and bounds.q75
),

sampled as (
    select
        *,
        md5(concat_ws('|', '{{ var("correlation_seed") }}', symbol, trade_date, horizon_days)) as sample_key
    from interquartile
    qualify row_number() over (partition by sector, horizon_days, period order by sample_key)
        <= {{ var('correlation_sample_per_sector') }}
),

cells as (
    select sector, horizon_days, period, count(*) as n_interquartile
    from interquartile
    group by sector, horizon_days, period
)

select
    sector,
    horizon_days,
    period,
    -- null, not NaN, where a cell is too small or constant to correlate
    case when isnan(corr(short_ratio, fwd_return)) then null else corr(short_ratio, fwd_return) end as correlation,
    count(*) as n_sample,
    any_value(cells.n_interquartile) as n_interquartile,
    count(distinct symbol) as n_symbols,
    min(trade_date) as first_trade_date,
    max(trade_date) as last_trade_date
from sampled
inner join cells using (sector, horizon_days, period)
group by sector, horizon_days, period
