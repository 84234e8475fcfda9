{#-
Symbols ranked by their mean window volatility over a look-back ending at the newest window.

Look-back: var `volatility_lookback_days` (calendar days, default 365); change it per run with
`dbt build --vars '{volatility_lookback_days: 90}'`, or run the parameterized query in the README
for any look-back without rebuilding. Windows with fewer than `volatility_min_returns` returns
(the ragged edges of the data) are left out.
-#}
with windows as (
    select * from {{ ref('fct_volatility_windows') }}
    where n_returns >= {{ var('volatility_min_returns') }}
),

bounds as (
    select max(window_end) as last_day, max(window_end) - {{ var('volatility_lookback_days') }} as first_day
    from windows
)

select
    rank() over (order by avg(return_volatility) desc) as volatility_rank,
    windows.symbol,
    avg(windows.return_volatility) as mean_return_volatility,
    avg(windows.price_volatility_usd) as mean_price_volatility_usd,
    avg(windows.mean_price_usd) as mean_price_usd,
    count(*) as n_windows,
    min(windows.window_start) as first_window_start,
    max(windows.window_end) as last_window_end,
    {{ var('volatility_lookback_days') }} as lookback_days
from windows
cross join bounds
where windows.window_start >= bounds.first_day
group by windows.symbol
