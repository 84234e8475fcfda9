"""The daily update: at 18:30 New York time on trading days, after FINRA publishes (by 18:00 ET).

One tick asks for three runs, one per partitioning: FINRA's last five trading days (FINRA reposts
corrected files, and partitions are replaced whole, so re-fetching never adds rows); the reference
data (symbol directory, SEC, ECB), which has no partitions; and today's prices for every known
symbol. The dbt models follow on their own (eager automation) once the raw runs have landed.
"""

import datetime as dt

import dagster as dg

from assets.finra import ASSET_KEY as FINRA_KEY
from assets.fx import fx_rates_ecb
from assets.partitions import TIMEZONE, calendar, is_trading_day
from assets.partitions import symbols as symbols_partitions
from assets.prices import ASSET_KEY as PRICES_KEY
from assets.sectors import sec_company_sic, sec_company_tickers
from assets.symbols import ASSET_KEY as DIRECTORY_KEY

REFETCH_DAYS = 5
REFERENCE_ASSETS = [DIRECTORY_KEY, sec_company_tickers.key, sec_company_sic.key, fx_rates_ecb.key]
RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"


def refetch_window(today: dt.date, days: int = REFETCH_DAYS) -> tuple[dt.date, dt.date]:
    """First and last trading day of the `days` sessions ending on `today` (a trading day)."""
    sessions = calendar().sessions_window(today.isoformat(), -days)
    return sessions[0].date(), sessions[-1].date()


def daily_run_requests(today: dt.date, known_symbols: list[str]) -> list[dg.RunRequest]:
    first, last = refetch_window(today)
    day = today.isoformat()
    requests = [
        dg.RunRequest(run_key=f"daily:{day}:finra", asset_selection=[FINRA_KEY],
                      tags={RANGE_START: first.isoformat(), RANGE_END: last.isoformat()}),
        dg.RunRequest(run_key=f"daily:{day}:reference", asset_selection=REFERENCE_ASSETS),
    ]
    if known_symbols:
        requests.append(dg.RunRequest(
            run_key=f"daily:{day}:prices", asset_selection=[PRICES_KEY],
            tags={RANGE_START: f"{day}|{known_symbols[0]}", RANGE_END: f"{day}|{known_symbols[-1]}"},
        ))
    return requests


@dg.schedule(
    name="daily_update",
    target=dg.AssetSelection.assets(FINRA_KEY, PRICES_KEY, *REFERENCE_ASSETS),
    cron_schedule="30 18 * * 1-5",
    execution_timezone=TIMEZONE,
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
def daily_update_schedule(context: dg.ScheduleEvaluationContext) -> list[dg.RunRequest] | dg.SkipReason:
    today = context.scheduled_execution_time.date()
    if not is_trading_day(today):
        return dg.SkipReason(f"{today} is not a trading day on {calendar().name}")
    return daily_run_requests(today, context.instance.get_dynamic_partitions(symbols_partitions.name))
