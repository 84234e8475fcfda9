"""Half-months become partitions as they end; each is fetched once SEC may have posted its file.

Every evaluation adds the half-months that have ended as partitions of raw/sec_fails_to_deliver (so
the UI shows what is missing), and asks for each half-month that is due (two weeks after its end) but
not stored, and for the newest due half-month once a day (SEC re-posts a file now and then: the
partition is replaced whole, never appended to). A file not posted yet fails its run, naming the day
by which SEC should have it, and is asked for again the next day.
"""

import datetime as dt
from zoneinfo import ZoneInfo

import dagster as dg

from assets.partitions import TIMEZONE
from assets.sec_fails import ASSET_KEY, asked_from, ended, half_month_partitions
from resources import settings

BACKLOG = 24  # due half-months asked for at one evaluation: a year; older history is a backfill from the UI


@dg.sensor(
    name="sec_fails_sensor",
    job=dg.define_asset_job("sec_fails_fetch", selection=[ASSET_KEY]),
    minimum_interval_seconds=3600,
    default_status=settings.fetching_sensor_status(),
    description="Adds half-months as partitions and fetches each SEC fails-to-deliver file once it is due.",
)
def sec_fails_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    return evaluate(context.instance, dt.datetime.now(ZoneInfo(TIMEZONE)).date())


def evaluate(instance: dg.DagsterInstance, today: dt.date) -> dg.SensorResult:
    halves = ended(today)
    known = set(instance.get_dynamic_partitions(half_month_partitions.name))
    stored = instance.get_materialized_partitions(ASSET_KEY) if known else set()
    due = [half for half in halves if asked_from(half) <= today]
    wanted = [half for half in due if half.key not in stored][-BACKLOG:]
    if due and due[-1] not in wanted:
        wanted.append(due[-1])
    return dg.SensorResult(
        run_requests=[dg.RunRequest(run_key=f"{half.key}:{today}", partition_key=half.key) for half in wanted],
        dynamic_partitions_requests=[
            half_month_partitions.build_add_request([h.key for h in halves if h.key not in known])
        ],
    )


AUTOMATION = [sec_fails_sensor]
