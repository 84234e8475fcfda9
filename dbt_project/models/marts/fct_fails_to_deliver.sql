{#-
One row per symbol and settlement date: SEC's fails-to-deliver summed over the symbol's CUSIPs (a
renamed security can list its old and new CUSIP on one day), their value at SEC's price, and how
unusual the day is for the symbol.

fails_zscore = (fails - mean) / sample standard deviation over the symbol's previous 20 settlement
dates with fails, the current one excluded (so a spike does not dampen its own score); null with fewer
than 5 previous dates or no spread. SEC lists only securities with a balance, and has whole days
missing now and then, so a date without a row is not counted as zero.

available_from is when every value in the row was public: the latest publication time of the row's
file and of the files of its trailing window (a re-posted older file moves it later). As-of joins use
it, never settlement_date, which is weeks before SEC publishes.
-#}
with per_symbol as (
    select
        symbol,
        settlement_date,
        count(*) as cusips,
        sum(quantity)::bigint as fails,
        arg_max(price, quantity) as price,
        case when count(price) = count(*) then sum(fails_value) end as fails_value,
        max(published_at) as published_at,
        max(_loaded_at) as _loaded_at
    from {{ ref('stg_sec__fails_to_deliver') }}
    where symbol is not null
    group by symbol, settlement_date
),

windowed as (
    select
        *,
        count(fails) over previous_20 as trailing_dates,
        avg(fails) over previous_20 as trailing_mean,
        stddev_samp(fails) over previous_20 as trailing_stddev,
        max(published_at) over previous_20 as trailing_published_at,
        max(_loaded_at) over previous_20 as trailing_loaded_at
    from per_symbol
    window previous_20 as (partition by symbol order by settlement_date rows between 20 preceding and 1 preceding)
)

select
    symbol,
    settlement_date,
    cusips,
    fails,
    price,
    fails_value,
    trailing_dates,
    trailing_mean,
    trailing_stddev,
    case
        when trailing_dates >= 5 and trailing_stddev > 0 then (fails - trailing_mean) / trailing_stddev
    end as fails_zscore,
    published_at,
    greatest(published_at, coalesce(trailing_published_at, published_at)) as available_from,
    greatest(_loaded_at, coalesce(trailing_loaded_at, _loaded_at)) as _loaded_at
from windowed
