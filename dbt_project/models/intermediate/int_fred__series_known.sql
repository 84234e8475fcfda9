/*
FRED's observations with the time each became public (available_from), for as-of joins.

FRED dates an observation by the period it is about, not by when it was released, and a monthly
series is published weeks after its month. fred_release_lags (a seed) holds each default series'
release rule; a series not in it gets its frequency's default, taken from the median gap between
its observations: daily series the next session at 16:30 New York, weekly ones a week after the
week, slower ones 30 days after their period ends. Observations without a value are left out, so
an as-of join finds the newest value there is.
*/
with observations as (
    select
        series_id,
        observation_date,
        value,
        _loaded_at,
        observation_date - lag(observation_date) over (partition by series_id order by observation_date) as gap_days
    from {{ ref('stg_fred__series') }}
),

frequencies as (
    select
        series_id,
        median(gap_days) as gap_days
    from observations
    group by series_id
),

rules as (
    select
        frequencies.series_id,
        frequencies.gap_days,
        coalesce(lags.anchor, case
            when frequencies.gap_days <= 3 then 'observation'
            when frequencies.gap_days <= 8 then 'week_end'
            else 'period_end'
        end) as anchor,
        coalesce(lags.lag_days, case
            when frequencies.gap_days <= 3 then 1
            when frequencies.gap_days <= 8 then 7
            else 30
        end) as lag_days,
        coalesce(lags.next_session, frequencies.gap_days <= 3) as next_session,
        coalesce(lags.release_time, time '16:30') as release_time,
        coalesce(lags.release, 'default for its frequency (not in fred_release_lags)') as release_rule
    from frequencies
    left join {{ ref('fred_release_lags') }} as lags on frequencies.series_id = lags.series_id
),

released as (
    select
        observations.series_id,
        observations.observation_date,
        observations.value,
        observations._loaded_at,
        rules.next_session,
        rules.release_time,
        rules.release_rule,
        case rules.anchor
            when 'observation' then observations.observation_date
            when 'week_end' then date_trunc('week', observations.observation_date)::date + 6
            when 'month_end' then last_day(observations.observation_date)
            else observations.observation_date + (rules.gap_days::integer - 1)
        end + rules.lag_days as release_day
    from observations
    inner join rules on observations.series_id = rules.series_id
    where observations.value is not null
)

select
    released.series_id,
    released.observation_date,
    released.value,
    timezone(
        'America/New_York',
        case when released.next_session then sessions.trade_date else released.release_day end
        + released.release_time
    ) as available_from,
    released.release_rule,
    released._loaded_at
from released
asof left join {{ ref('int_trading_days') }} as sessions
    on released.release_day <= sessions.trade_date
