"""The daily update: at 18:30 New York time on trading days, after FINRA publishes (by 18:00 ET).

Three schedules tick together, one per partitioning, since a Dagster job spans one partitioning:
FINRA's last five trading days (FINRA reposts corrected files, and partitions are replaced whole,
so re-fetching never adds rows); the reference data (symbol directory, SEC, ECB), which has no
partitions; and today's prices for every known symbol. The dbt models follow on their own (eager
automation) once the raw runs have landed.
"""

import datetime as dt
from collections.abc import Callable

import dagster as dg

from assets.finra import ASSET_KEY as FINRA_KEY
from assets.fx import fx_rates_ecb
from assets.maintenance import ASSET_KEY as MAINTENANCE_KEY
from assets.partitions import TIMEZONE, calendar, is_trading_day
from assets.partitions import symbols as symbols_partitions
from assets.prices import DAILY_KEY as PRICES_KEY
from assets.sectors import sec_company_sic, sec_company_tickers
from assets.symbols import ASSET_KEY as DIRECTORY_KEY

REFETCH_DAYS = 5
REFERENCE_ASSETS = [DIRECTORY_KEY, sec_company_tickers.key, sec_company_sic.key, fx_rates_ecb.key]
RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"


def refetch_window(today: dt.date, days: int = REFETCH_DAYS) -> tuple[dt.date, dt.date]:
    """First and last trading day of the `days` sessions ending on `today` (a trading day)."""
    sessions = calendar().sessions_window(today.isoformat(), -days)
    return sessions[0].date(), sessions[-1].date()


def finra_request(today: dt.date, instance: dg.DagsterInstance) -> dg.RunRequest:
    first, last = refetch_window(today)
    return dg.RunRequest(run_key=f"daily:{today}:finra", tags={RANGE_START: str(first), RANGE_END: str(last)})


def reference_request(today: dt.date, instance: dg.DagsterInstance) -> dg.RunRequest:
    return dg.RunRequest(run_key=f"daily:{today}:reference")


def prices_request(today: dt.date, instance: dg.DagsterInstance) -> dg.RunRequest | dg.SkipReason:
    """Today's partition of the daily prices: every known symbol's bar of the day."""
    if not instance.get_dynamic_partitions(symbols_partitions.name):
        return dg.SkipReason("no symbol partitions yet: the new-symbol sensor adds them")
    return dg.RunRequest(run_key=f"daily:{today}:prices", partition_key=today.isoformat())


def _trading_day_schedule(
    name: str,
    selection: list[dg.AssetKey],
    build: Callable[[dt.date, dg.DagsterInstance], dg.RunRequest | dg.SkipReason],
) -> dg.ScheduleDefinition:
    """A job over `selection` and its 18:30 schedule, which skips days the exchange is closed."""

    @dg.schedule(
        name=f"{name}_schedule",
        job=dg.define_asset_job(name, selection=selection),
        cron_schedule="30 18 * * 1-5",
        execution_timezone=TIMEZONE,
        default_status=dg.DefaultScheduleStatus.RUNNING,
    )
    def _schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
        today = context.scheduled_execution_time.date()
        if not is_trading_day(today):
            return dg.SkipReason(f"{today} is not a trading day on {calendar().name}")
        return build(today, context.instance)

    return _schedule


daily_schedules = [
    _trading_day_schedule("finra_daily", [FINRA_KEY], finra_request),
    _trading_day_schedule("reference_daily", REFERENCE_ASSETS, reference_request),
    _trading_day_schedule("prices_daily", [PRICES_KEY], prices_request),
]

# Snapshot retention and compaction once a week, on Sunday morning when no daily run writes the lake.
lake_maintenance_schedule = dg.ScheduleDefinition(
    name="lake_maintenance_schedule",
    job=dg.define_asset_job("lake_maintenance", selection=[MAINTENANCE_KEY]),
    cron_schedule="0 4 * * 0",
    execution_timezone=TIMEZONE,
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
