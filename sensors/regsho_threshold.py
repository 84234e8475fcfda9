"""Each trading day's threshold list is fetched once Nasdaq Trader should have posted it.

Nasdaq Trader creates a day's file at about 23:00 New York time, after the 18:30 market run, so the
list has its own sensor: every evaluation asks for each trading day whose file is due (23:30 New York
on the day) and that is not stored, the newest BACKLOG of them, one run a day. A day not posted yet
fails its run, naming it, and is asked for again the next calendar day (the run key carries the date).
"""

import datetime as dt

import dagster as dg

from assets.partitions import trading_days
from assets.regsho_threshold import ASSET_KEY, asked_from
from resources import settings
from resources.regsho_threshold import NEW_YORK

BACKLOG = 20  # due days asked for at one evaluation: a month; older history is a backfill from the UI


@dg.sensor(
    name="regsho_threshold_sensor",
    job=dg.define_asset_job("regsho_threshold_fetch", selection=[ASSET_KEY]),
    minimum_interval_seconds=3600,
    default_status=settings.fetching_sensor_status(),
    description="Fetches each trading day's Nasdaq Reg SHO threshold list once Nasdaq Trader has posted it.",
)
def regsho_threshold_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    return evaluate(context.instance, dt.datetime.now(NEW_YORK))


def evaluate(instance: dg.DagsterInstance, now: dt.datetime) -> dg.SensorResult:
    days = [dt.date.fromisoformat(key) for key in trading_days.get_partition_keys(current_time=now)]
    due = [day for day in days if asked_from(day) <= now]
    stored = instance.get_materialized_partitions(ASSET_KEY)
    wanted = [day for day in due if day.isoformat() not in stored][-BACKLOG:]
    return dg.SensorResult(
        run_requests=[dg.RunRequest(run_key=f"{day}:{now.date()}", partition_key=day.isoformat()) for day in wanted]
    )


AUTOMATION = [regsho_threshold_sensor]
