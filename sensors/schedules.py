"""The daily update: at 18:30 New York time on trading days, after FINRA publishes (by 18:00 ET).

Two schedules tick together, one per partitioning, since a Dagster job spans one partitioning: the
trading-day assets (FINRA's files and every known symbol's prices) over the last five trading days,
as one run (FINRA reposts corrected files, providers correct bars, and partitions are replaced
whole, so re-fetching never adds rows; one run pays one process start for both sources), with the
unpartitioned market data that changes every trading day (Cboe's index histories, fetched whole:
a job may hold unpartitioned assets beside its partitioned ones); and the
reference data (symbol directory, SEC, ECB), which has no partitions.

The market run also builds the dbt models its data feeds, after its raw steps: one process and one dbt
invocation a day, instead of a second run that starts another process, loads these definitions again
and waits for the automation sensor's tick. The feature marts, which also read the indicators computed
in Python (the equity ones from these very models: one run cannot go dbt -> Python -> dbt), follow the
indicators by the eager automation, as the reference data's models do. A raw step that fails (or fails
a blocking check) skips the run's dbt step; the automation then builds what the other raw steps stored.
"""

import datetime as dt
from collections.abc import Callable

import dagster as dg

from assets.dbt import tickerlake_dbt_models
from assets.equity_indicators import ASSET_KEY as EQUITY_INDICATORS_KEY
from assets.indicators import ASSET_KEY as CRYPTO_INDICATORS_KEY
from assets.maintenance import ASSET_KEY as MAINTENANCE_KEY
from assets.partitions import TIMEZONE, calendar, is_trading_day
from assets.sources import DAILY_TAG
from resources import settings

REFETCH_DAYS = 5
# A source joins a daily run by tagging its assets (assets/sources.py, DAILY_TAG), not by a list here.
MARKET_ASSETS = dg.AssetSelection.tag(DAILY_TAG, "market")
# The indicators are computed in Python (the equity ones from the models); the feature marts built on them
# follow them by automation.
INDICATORS = dg.AssetSelection.assets(EQUITY_INDICATORS_KEY, CRYPTO_INDICATORS_KEY)
MARKET_MODELS = (MARKET_ASSETS.downstream() & dg.AssetSelection.assets(tickerlake_dbt_models)) - INDICATORS.downstream()
REFERENCE_ASSETS = dg.AssetSelection.tag(DAILY_TAG, "reference")
RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"


def refetch_window(today: dt.date, days: int = REFETCH_DAYS) -> tuple[dt.date, dt.date]:
    """First and last trading day of the `days` sessions ending on `today` (a trading day)."""
    sessions = calendar().sessions_window(today.isoformat(), -days)
    return sessions[0].date(), sessions[-1].date()


def market_request(today: dt.date, instance: dg.DagsterInstance) -> dg.RunRequest:
    """FINRA's files and every known symbol's bars of the last five trading days, as one ranged run."""
    first, last = refetch_window(today)
    return dg.RunRequest(run_key=f"daily:{today}:market", tags={RANGE_START: str(first), RANGE_END: str(last)})


def reference_request(today: dt.date, instance: dg.DagsterInstance) -> dg.RunRequest:
    return dg.RunRequest(run_key=f"daily:{today}:reference")


def _trading_day_schedule(
    name: str,
    selection: dg.AssetSelection,
    build: Callable[[dt.date, dg.DagsterInstance], dg.RunRequest | dg.SkipReason],
) -> dg.ScheduleDefinition:
    """A job over `selection` and its 18:30 schedule, which skips days the exchange is closed."""

    @dg.schedule(
        name=f"{name}_schedule",
        job=dg.define_asset_job(name, selection=selection),
        cron_schedule="30 18 * * 1-5",
        execution_timezone=TIMEZONE,
        default_status=settings.fetching_schedule_status(),
    )
    def _schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
        today = context.scheduled_execution_time.date()
        if not is_trading_day(today):
            return dg.SkipReason(f"{today} is not a trading day on {calendar().name}")
        return build(today, context.instance)

    return _schedule


daily_schedules = [
    _trading_day_schedule("market_daily", MARKET_ASSETS | MARKET_MODELS, market_request),
    _trading_day_schedule("reference_daily", REFERENCE_ASSETS, reference_request),
]

# Snapshot retention and compaction once a week, on Sunday morning when no daily run writes the lake.
lake_maintenance_schedule = dg.ScheduleDefinition(
    name="lake_maintenance_schedule",
    job=dg.define_asset_job("lake_maintenance", selection=[MAINTENANCE_KEY]),
    cron_schedule="0 4 * * 0",
    execution_timezone=TIMEZONE,
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
