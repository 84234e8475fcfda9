"""Trading-day partitions on the NYSE calendar (and on each other market's own, market_days_partitions).

Weekends, holidays and unscheduled closures (Hurricane Sandy, national days of mourning) are not
partitions at all, so a missing file on a partition day is a real error and never a silent gap.
"""

import datetime as dt
import functools

import dagster as dg
import exchange_calendars as xcals
import pandas as pd

from resources import markets, settings
from resources.markets import Market

CALENDAR = "XNYS"
TIMEZONE = "America/New_York"
# A trading day's partition window ends at 21:00 UTC, the close (16:00 EST) or an hour after it (16:00 EDT
# is 20:00 UTC): the day is offered once it has traded, never before. ("Etc/GMT-3" is POSIX for UTC+3.)
SESSION_WINDOW_TIMEZONE = "Etc/GMT-3"
# FINRA's first daily short sale volume files are for 2009-08-03.
DEFAULT_START = settings.default("TICKERLAKE_START_DATE")


def configured_start() -> dt.date:
    return dt.date.fromisoformat(settings.value("TICKERLAKE_START_DATE"))


@functools.cache
def calendar() -> xcals.ExchangeCalendar:
    """XNYS from the configured start: exchange_calendars builds only the last 20 years unless told,
    which would cut an earlier TICKERLAKE_START_DATE silently and, from 2029-08-04, FINRA's first day."""
    return xcals.get_calendar(CALENDAR, start=min(configured_start(), dt.date.fromisoformat(DEFAULT_START)))


def sessions(start: dt.date, end: dt.date) -> list[dt.date]:
    """Trading days in [start, end]."""
    cal = calendar()
    start = max(start, cal.first_session.date())
    end = min(end, cal.last_session.date())
    if start > end:
        return []
    return [ts.date() for ts in cal.sessions_in_range(pd.Timestamp(start), pd.Timestamp(end))]


def is_trading_day(day: dt.date) -> bool:
    return calendar().is_session(pd.Timestamp(day))


def last_closed_session(now: pd.Timestamp | None = None) -> dt.date:
    """The latest trading day whose close has passed: today's bar is final only after the close."""
    now = now if now is not None else pd.Timestamp.now(tz="UTC")
    return calendar().previous_close(now).tz_convert(TIMEZONE).date()


def _session_partitions(
    first: dt.date, last: dt.date, open_days: list[dt.date], timezone: str
) -> dg.DailyPartitionsDefinition:
    """Daily partitions of a calendar's sessions only: weekends and its closed weekdays up to `last` are
    exclusions. TICKERLAKE_END_DATE (inclusive) pins the last day, for a sample recorded once (the demo's
    world shows its own days, not years of missing ones)."""
    opened = set(open_days)
    closed = [dt.datetime.combine(d.date(), dt.time()) for d in pd.bdate_range(first, last) if d.date() not in opened]
    pinned = settings.value("TICKERLAKE_END_DATE")
    end = {"end_date": (dt.date.fromisoformat(pinned) + dt.timedelta(days=1)).isoformat()} if pinned else {}
    return dg.DailyPartitionsDefinition(
        start_date=first.isoformat(), timezone=timezone, exclusions=["0 0 * * 6", "0 0 * * 0", *closed], **end
    )


def trading_days_partitions(start: str | None = None) -> dg.DailyPartitionsDefinition:
    """XNYS's trading days, each day's window in SESSION_WINDOW_TIMEZONE, so a day becomes a partition at
    its close and the 18:30 run can target it once FINRA has published (by 18:00 ET). Windows in New York
    time would need end_offset=1 to offer today before midnight, and that offset also offers the next
    trading day on a weekend or holiday, a day that has not happened."""
    first = dt.date.fromisoformat(start) if start else configured_start()
    last = calendar().last_session.date()
    return _session_partitions(first, last, sessions(first, last), SESSION_WINDOW_TIMEZONE)


def market_days_partitions(market: Market) -> dg.DailyPartitionsDefinition:
    """A market's trading days on its own calendar, cut in its window time zone so a day is offered once
    it has traded. Keys grow with that market's days only: a Tokyo holiday is no partition of Tokyo's."""
    first = configured_start()
    last = markets.calendar(market.mic).last_session.date()
    return _session_partitions(first, last, markets.sessions(market.mic, first, last), market.window_timezone)


def partition_days(context: dg.AssetExecutionContext) -> list[dt.date]:
    """The trading days a (possibly ranged) run covers, in order."""
    return sorted(dt.date.fromisoformat(key) for key in context.partition_keys)


trading_days = trading_days_partitions()

# Symbols become partitions only through the new-symbol sensor, after validation (resources.symbols).
symbols = dg.DynamicPartitionsDefinition(name="symbols")

# Crypto trades every day of the year: calendar days in UTC, the time zone of Binance's archives.
CRYPTO_DEFAULT_START = settings.default("TICKERLAKE_CRYPTO_START_DATE")  # Binance's first spot klines


def crypto_days_partitions() -> dg.DailyPartitionsDefinition:
    """UTC days from TICKERLAKE_CRYPTO_START_DATE; today is a partition from midnight (the top-up fills it).

    TICKERLAKE_CRYPTO_END_DATE (inclusive) pins the last day, for a sample recorded at a fixed time.
    """
    start = settings.value("TICKERLAKE_CRYPTO_START_DATE")
    end = settings.value("TICKERLAKE_CRYPTO_END_DATE")
    if end:
        return dg.DailyPartitionsDefinition(
            start_date=start, end_date=(dt.date.fromisoformat(end) + dt.timedelta(days=1)).isoformat(), timezone="UTC"
        )
    return dg.DailyPartitionsDefinition(start_date=start, end_offset=1, timezone="UTC")


crypto_days = crypto_days_partitions()
# Pairs become partitions only through the new-pair sensor, after validation (resources.binance).
pairs = dg.DynamicPartitionsDefinition(name="crypto_pairs")
