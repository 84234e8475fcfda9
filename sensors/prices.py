"""Each market beyond the US gets its daily bars after its own close, on its own trading days.

A schedule per market (TICKERLAKE_MARKETS) ticks half an hour after the market's day becomes a
partition (midnight of its window time zone, resources/markets.py: past the close) and asks for that
day of raw/prices_daily_<mic>; a day that is no trading day of the market (no partition) is skipped.
The US day is the market_daily schedule's (sensors/schedules.py).
"""

import datetime as dt
from zoneinfo import ZoneInfo

import dagster as dg

from assets.prices import MARKET_DAILY
from resources import settings


def day_due(partitions: dg.TimeWindowPartitionsDefinition, tick: dt.datetime) -> str | None:
    """The day whose window ended just before `tick` (its window time zone's previous date), if it is a
    trading day of the market (a partition)."""
    day = (tick.astimezone(ZoneInfo(partitions.timezone)).date() - dt.timedelta(days=1)).isoformat()
    return day if partitions.has_partition_key(day) else None


def market_schedule(asset: dg.AssetsDefinition) -> dg.ScheduleDefinition:
    name, partitions = asset.key.path[-1], asset.partitions_def

    @dg.schedule(
        name=f"{name}_schedule",
        job=dg.define_asset_job(name, selection=[asset.key]),
        cron_schedule="30 0 * * *",
        execution_timezone=partitions.timezone,
        default_status=settings.fetching_schedule_status(),
    )
    def _schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
        day = day_due(partitions, context.scheduled_execution_time)
        if day is None:
            return dg.SkipReason(
                f"the day before {context.scheduled_execution_time:%Y-%m-%d} is no trading day of {name}"
            )
        return dg.RunRequest(run_key=f"{name}:{day}", partition_key=day)

    return _schedule


AUTOMATION = [market_schedule(asset) for asset in MARKET_DAILY]
