"""The daily FINRA run: after publication, re-fetch the last few trading days as one ranged run.

FINRA publishes by 18:00 ET and sometimes reposts a corrected file on a later day, so each evening
re-reads the last `REFETCH_DAYS` trading days; partitions are replaced whole, so this never adds rows.
"""

import datetime as dt

import dagster as dg

from assets.finra import ASSET_KEY as FINRA_ASSET_KEY
from assets.partitions import TIMEZONE, calendar, is_trading_day

REFETCH_DAYS = 5

finra_daily_job = dg.define_asset_job(
    "finra_daily",
    selection=dg.AssetSelection.assets(FINRA_ASSET_KEY).downstream(),
    description="Re-fetch the last trading days of FINRA short sale volume as one ranged run, then dbt.",
)


def refetch_window(today: dt.date, days: int = REFETCH_DAYS) -> tuple[dt.date, dt.date]:
    """First and last trading day of the `days` sessions ending on `today` (a trading day)."""
    cal = calendar()
    sessions = cal.sessions_window(today.isoformat(), -days)
    return sessions[0].date(), sessions[-1].date()


@dg.schedule(
    job=finra_daily_job,
    cron_schedule="30 18 * * 1-5",
    execution_timezone=TIMEZONE,
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
def finra_daily_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
    today = context.scheduled_execution_time.date()
    if not is_trading_day(today):
        return dg.SkipReason(f"{today} is not a trading day on {calendar().name}")
    first, last = refetch_window(today)
    return dg.RunRequest(
        run_key=f"finra_daily:{today.isoformat()}",
        tags={
            "dagster/asset_partition_range_start": first.isoformat(),
            "dagster/asset_partition_range_end": last.isoformat(),
        },
    )
