"""Settlement dates become partitions as they pass; each is fetched once FINRA should have published it.

Every evaluation adds the settlement dates up to today as partitions of raw/finra_short_interest (so
the UI shows what is missing), and asks for each date that is due (its publication day has come) but
not stored, and for the newest due date once a day (FINRA revises a file now and then: the partition
is replaced whole, never appended to). A date not published when expected fails its run, naming it,
and is asked for again the next day.
"""

import datetime as dt
from zoneinfo import ZoneInfo

import dagster as dg

from assets.finra_short_interest import ASSET_KEY, published_by, settlement_dates, settlements
from assets.partitions import TIMEZONE, configured_start
from resources import settings

BACKLOG = 24  # due dates asked for at one evaluation: a year; older history is a backfill from the UI


@dg.sensor(
    name="finra_short_interest_sensor",
    job=dg.define_asset_job("finra_short_interest_fetch", selection=[ASSET_KEY]),
    minimum_interval_seconds=3600,
    default_status=settings.fetching_sensor_status(),
    description="Adds settlement dates as partitions and fetches each once FINRA has published it.",
)
def finra_short_interest_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    today = dt.datetime.now(ZoneInfo(TIMEZONE)).date()
    return evaluate(context.instance, today)


def evaluate(instance: dg.DagsterInstance, today: dt.date) -> dg.SensorResult:
    dates = settlement_dates(configured_start(), today)
    known = set(instance.get_dynamic_partitions(settlements.name))
    stored = instance.get_materialized_partitions(ASSET_KEY) if known else set()
    due = [d for d in dates if published_by(d) <= today]
    wanted = [d for d in due if d.isoformat() not in stored][-BACKLOG:]
    if due and due[-1] not in wanted:
        wanted.append(due[-1])
    return dg.SensorResult(
        run_requests=[dg.RunRequest(run_key=f"{day}:{today}", partition_key=day.isoformat()) for day in wanted],
        dynamic_partitions_requests=[
            settlements.build_add_request([d.isoformat() for d in dates if d.isoformat() not in known])
        ],
    )


AUTOMATION = [finra_short_interest_sensor]
