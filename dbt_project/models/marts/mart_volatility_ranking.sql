{#-
Symbols ranked by their mean window volatility of USD returns over a look-back ending at the newest
window: listings of every market on one scale, their currency's moves included.

Look-back: var `volatility_lookback_days` (calendar days, default 365); change it per run with
`dbt build --vars '{volatility_lookback_days: 90}'`, or run the parameterized query in the README
for any look-back without rebuilding. Windows with fewer than `volatility_min_returns` returns
(the ragged edges of the data) are left out.
-#}
{#- The look-back's first day, looked up first and put into the query as a literal: fct_volatility_windows
    is written in window order, so DuckDB reads the look-back's windows only. -#}
{%- set first_day = scalar(
    "select coalesce(max(window_end) - " ~ var('volatility_lookback_days') ~ ", '-infinity'::date)::varchar from "
    ~ ref('fct_volatility_windows') ~ " where n_returns >= " ~ var('volatility_min_returns')
) or '-infinity' %}

with windows as (
    select * from {{ ref('fct_volatility_windows') }}
    where n_returns >= {{ var('volatility_min_returns') }} and window_start >= '{{ first_day }}'::date
),

markets as (
    select mic, suffix from {{ ref('markets') }}
    where suffix <> ''
)

select
    rank() over (order by avg(windows.return_volatility_usd) desc) as volatility_rank,
    windows.symbol,
    coalesce(any_value(markets.mic), 'XNYS') as market,
    avg(return_volatility_usd) as mean_return_volatility_usd,
    avg(return_volatility) as mean_return_volatility,
    avg(price_volatility_usd) as mean_price_volatility_usd,
    avg(mean_price_usd) as mean_price_usd,
    count(*) as n_windows,
    min(window_start) as first_window_start,
    max(window_end) as last_window_end,
    {{ var('volatility_lookback_days') }} as lookback_days
from windows
left join markets on ends_with(windows.symbol, markets.suffix)
group by windows.symbol
