"""CoinGecko's daily snapshot and its coins' metadata, just before the Binance universe reads it.

A run of its own (not a step of the universe's run): CoinGecko down or rate-limited must not keep
Binance's universe from its daily snapshot, which then reads the newest CoinGecko snapshot stored.
"""

import dagster as dg

from assets.coingecko import COINS_KEY, MARKETS_KEY
from resources import settings


@dg.schedule(
    name="coingecko_daily_schedule",
    job=dg.define_asset_job("coingecko_daily", selection=[MARKETS_KEY, COINS_KEY]),
    cron_schedule="0 0 * * *",
    execution_timezone="UTC",
    default_status=settings.fetching_schedule_status(),
)
def coingecko_daily_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    """Midnight UTC: the top N of the day that just began, five minutes before the universe snapshot."""
    return dg.RunRequest(run_key=f"coingecko:{context.scheduled_execution_time:%Y-%m-%d}")


AUTOMATION = [coingecko_daily_schedule]
