{#- One row per index and trading day, as Cboe's file lists it today. available_from is the day's close
    as Cboe disseminates it: 16:15 New York, the end of SPX options' regular trading hours (8:30 a.m. to
    3:15 p.m. Chicago, Cboe's SPX product page), when VIX's closing value is set. On an early-close day
    (13:00 for stocks) the close comes three hours sooner; 16:15 is then late, never early, so an as-of
    join on it can never see a close before it was public. -#}
select
    index_symbol,
    trade_date,
    open,
    high,
    low,
    close,
    open_outside_range,
    close_outside_range,
    (trade_date + interval '16 hours 15 minutes') at time zone 'America/New_York' as available_from,
    _loaded_at
from {{ source('raw', 'cboe_index_history') }}
