"""Trading-day partitions on the NYSE calendar.

Weekends, holidays and unscheduled closures (Hurricane Sandy, national days of mourning) are not
partitions at all, so a missing file on a partition day is a real error and never a silent gap.
"""

import datetime as dt
import functools
import os

import dagster as dg
import exchange_calendars as xcals
import pandas as pd

CALENDAR = "XNYS"
TIMEZONE = "America/New_York"
# FINRA's first daily short sale volume files are for 2009-08-03.
DEFAULT_START = "2009-08-03"


@functools.cache
def calendar() -> xcals.ExchangeCalendar:
    return xcals.get_calendar(CALENDAR)


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


def _closed_weekdays(start: dt.date, end: dt.date) -> list[dt.datetime]:
    open_days = set(sessions(start, end))
    weekdays = pd.bdate_range(start, end)
    return [dt.datetime.combine(d.date(), dt.time()) for d in weekdays if d.date() not in open_days]


def trading_days_partitions(start: str | None = None) -> dg.DailyPartitionsDefinition:
    """Daily partitions minus weekends and the exchange's closed weekdays.

    end_offset=1 makes today a partition from midnight, so the 18:30 run can target it once FINRA
    has published (by 18:00 ET).
    """
    start = start or os.environ.get("TICKERLAKE_START_DATE", DEFAULT_START)
    first = dt.date.fromisoformat(start)
    last = calendar().last_session.date()
    return dg.DailyPartitionsDefinition(
        start_date=first.isoformat(),
        timezone=TIMEZONE,
        end_offset=1,
        exclusions=["0 0 * * 6", "0 0 * * 0", *_closed_weekdays(first, last)],
    )


def partition_days(context: dg.AssetExecutionContext) -> list[dt.date]:
    """The trading days a (possibly ranged) run covers, in order."""
    return sorted(dt.date.fromisoformat(key) for key in context.partition_keys)


trading_days = trading_days_partitions()

# Symbols become partitions only through the new-symbol sensor, after validation (resources.symbols).
symbols = dg.DynamicPartitionsDefinition(name="symbols")
trading_days_by_symbol = dg.MultiPartitionsDefinition({"date": trading_days, "symbol": symbols})

# Crypto trades every day of the year: calendar days in UTC, the time zone of Binance's archives.
CRYPTO_DEFAULT_START = "2017-08-17"  # Binance's first spot klines


def crypto_days_partitions() -> dg.DailyPartitionsDefinition:
    """UTC days from TICKERLAKE_CRYPTO_START_DATE; today is a partition from midnight (the top-up fills it).

    TICKERLAKE_CRYPTO_END_DATE (inclusive) pins the last day, for a sample recorded at a fixed time.
    """
    start = os.environ.get("TICKERLAKE_CRYPTO_START_DATE", CRYPTO_DEFAULT_START)
    end = os.environ.get("TICKERLAKE_CRYPTO_END_DATE")
    if end:
        return dg.DailyPartitionsDefinition(
            start_date=start, end_date=(dt.date.fromisoformat(end) + dt.timedelta(days=1)).isoformat(), timezone="UTC"
        )
    return dg.DailyPartitionsDefinition(start_date=start, end_offset=1, timezone="UTC")


crypto_days = crypto_days_partitions()
# Pairs become partitions only through the new-pair sensor, after validation (resources.binance).
pairs = dg.DynamicPartitionsDefinition(name="crypto_pairs")
crypto_days_by_pair = dg.MultiPartitionsDefinition({"date": crypto_days, "pair": pairs})


def partition_box(context: dg.AssetExecutionContext) -> tuple[list[dt.date], list[str]]:
    """The days and the symbols (or pairs) a date x dynamic-partition run covers.

    A ranged run over a MultiPartitionsDefinition is a box: a range on each dimension. Reading the
    two ranges, instead of context.partition_keys, avoids materializing days x symbols keys.
    """
    multi = context.assets_def.partitions_def
    assert isinstance(multi, dg.MultiPartitionsDefinition)
    dates = next(d for d in multi.partitions_defs if d.name == "date").partitions_def
    dynamic = next(d for d in multi.partitions_defs if d.name != "date")
    key_range = context.partition_key_range
    first, last = (_dimensions(multi, key) for key in (key_range.start, key_range.end))
    day_keys = dates.get_partition_keys_in_range(dg.PartitionKeyRange(first["date"], last["date"]))
    days = [dt.date.fromisoformat(key) for key in day_keys]
    known = context.instance.get_dynamic_partitions(dynamic.partitions_def.name)
    chosen = known[known.index(first[dynamic.name]): known.index(last[dynamic.name]) + 1]
    return days, chosen


def _dimensions(multi: dg.MultiPartitionsDefinition, key: str) -> dict[str, str]:
    if isinstance(key, dg.MultiPartitionKey):
        return dict(key.keys_by_dimension)
    return dict(multi.get_partition_key_from_str(key).keys_by_dimension)


