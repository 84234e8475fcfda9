{#-
The sector correlation's work, one calendar year at a time: per FF12 sector, forward-return horizon
(1, 5, 22, 65 trading days) and year, the moments of the trimmed, sampled (short_ratio, fwd_return)
pairs. mart_sector_short_return_correlation reads the years from here and pools them into 'all'.
Steps, per year:
1. pairs of (short_ratio, fwd_return) from fct_returns, both known;
2. keep the rows whose return lies between the year's and horizon's 25% and 75% quantiles
   (quantile_cont), so a few extreme moves do not drive the correlation;
3. per sector and horizon keep at most `correlation_sample_per_sector` rows, the first ones in
   md5(seed|symbol|trade_date|horizon) order: a seeded sample, identical on every run;
4. count, average, and sum the squared and crossed deviations (what pooling needs), and correlate.

Incremental by year: a run recomputes the years holding a fct_returns row that changed since the
last build, plus `returns_lookback_days` before the first such row (new prices move the forward
returns of earlier days). All years are recomputed when the sector map or the sample settings
changed (`_settings`). A daily run therefore redoes this year (and last year early in January), not
all history; the first day to read is looked up first and goes into the query as a literal.
-#}
{{ config(materialized='incremental', unique_key='year', incremental_strategy='delete+insert') }}

{% set horizons = [1, 5, 22, 65] %}

{% set fingerprint -%}
    select
        md5(concat_ws(
            '|', '{{ var("correlation_seed") }}', '{{ var("correlation_sample_per_sector") }}',
            string_agg(symbol || '=' || coalesce(ff12_industry, 'Other'), ',' order by symbol)
        )) as fingerprint
    from {{ ref('dim_symbols') }}
{%- endset %}

{%- set first_day = '-infinity' %}
{%- if is_incremental() and execute %}
{%- set stored = run_query(
    "select coalesce(max(_loaded_at), '-infinity'::timestamptz)::varchar, "
    ~ "coalesce(any_value(_settings) = (" ~ fingerprint ~ "), false) from " ~ this
) %}
{%- if stored.columns[1].values()[0] %}
{%- set loaded = stored.columns[0].values()[0] %}
{#- The years holding a row changed since the last build, and returns_lookback_days before the first one;
    one filter per stamp, so each is a literal DuckDB prunes with. -#}
{%- set first_day = scalar(
    "select coalesce(make_date(year(min(trade_date) - interval " ~ var('returns_lookback_days') ~ " day), 1, 1), "
    ~ "'infinity'::date)::varchar from (select trade_date from " ~ ref('fct_returns') ~ " where short_ratio is not null and "
    ~ "_short_loaded_at > '" ~ loaded ~ "'::timestamptz union all select trade_date from " ~ ref('fct_returns')
    ~ " where short_ratio is not null and _prices_loaded_at > '" ~ loaded ~ "'::timestamptz)"
) %}
{%- endif %}
{%- endif %}

with sectors as (
    select symbol, coalesce(ff12_industry, 'Other') as sector from {{ ref('dim_symbols') }}
),

settings as (
    {{ fingerprint }}
),

-- The pairs are read twice (the bounds, then the trimmed sample) and are hundreds of millions of rows
-- in a full build: computed where they are read (not materialized), which holds half the memory.
returns as not materialized (
    select *, greatest(_short_loaded_at, _prices_loaded_at) as _loaded_at
    from {{ ref('fct_returns') }}
    where short_ratio is not null and trade_date >= '{{ first_day }}'::date
),

loaded as (
    select year(trade_date) as year, max(_loaded_at) as _loaded_at from returns
    group by year(trade_date)
),

pairs as not materialized (
    {% for h in horizons %}
    select
        returns.symbol,
        returns.trade_date,
        year(returns.trade_date) as year,
        {{ h }} as horizon_days,
        returns.short_ratio,
        returns.fwd_return_{{ h }}d as fwd_return
    from returns
    where returns.fwd_return_{{ h }}d is not null
    {{ "union all" if not loop.last }}
    {% endfor %}
),

bounds as (
    select
        year,
        horizon_days,
        quantile_cont(fwd_return, 0.25) as q25,
        quantile_cont(fwd_return, 0.75) as q75
    from pairs
    group by year, horizon_days
),

interquartile as not materialized (
    select pairs.*, coalesce(sectors.sector, 'Other') as sector
    from pairs
    inner join bounds using (year, horizon_days)
    left join sectors using (symbol)
    where pairs.fwd_return between bounds.q25 and bounds.q75
),

sampled as (
    select *
    from interquartile
    qualify row_number() over (
        partition by sector, horizon_days, year
        order by md5(concat_ws('|', '{{ var("correlation_seed") }}', symbol, trade_date, horizon_days))
    ) <= {{ var('correlation_sample_per_sector') }}
),

cells as (
    select sector, horizon_days, year, count(*) as n_interquartile
    from interquartile
    group by sector, horizon_days, year
)

select
    sector,
    horizon_days,
    year,
    count(*) as n_sample,
    any_value(cells.n_interquartile) as n_interquartile,
    avg(short_ratio) as mean_short_ratio,
    avg(fwd_return) as mean_fwd_return,
    var_pop(short_ratio) * count(*) as m2_short_ratio,
    var_pop(fwd_return) * count(*) as m2_fwd_return,
    covar_pop(short_ratio, fwd_return) * count(*) as c2_short_ratio_fwd_return,
    list(distinct symbol order by symbol) as symbols,
    min(trade_date) as first_trade_date,
    max(trade_date) as last_trade_date,
    any_value(loaded._loaded_at) as _loaded_at,
    (select fingerprint from settings) as _settings
from sampled
inner join cells using (sector, horizon_days, year)
inner join loaded using (year)
group by sector, horizon_days, year
