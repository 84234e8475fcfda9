"""The current year's Commitments of Traders, re-fetched once each week's report is due.

CFTC releases a week's reports at 15:30 New York (Friday, or the next business day in a holiday
week: resources/cftc_cot.py, available_from), by rewriting the current year's zip. Each report has
its sensor, each launching its named job for the year of the newest due report, unless that year's
stored partition already holds it (the materialization's `last_report_date`). A report not posted yet
fails its run, naming it, and is asked for again the next day (the run key carries the date).
"""

import datetime as dt

import dagster as dg

from assets.cftc_cot import LEGACY_KEY, TFF_KEY
from resources import settings
from resources.cftc_cot import available_from

LOOKBACK_WEEKS = 12  # after a shutdown the newest public report can be weeks old (2019-02-01: 2018-12-18's)


def newest_due(now: dt.datetime) -> dt.date:
    """The newest Tuesday whose report is public by `now` (a holiday week's Monday report comes with it)."""
    tuesday = now.date() - dt.timedelta(days=(now.weekday() - 1) % 7)
    candidates = [tuesday - dt.timedelta(weeks=w) for w in range(LOOKBACK_WEEKS + 1)]
    return next((day for day in candidates if available_from(day) <= now), candidates[-1])


def stored_through(instance: dg.DagsterInstance, key: dg.AssetKey, year: str) -> dt.date | None:
    """The newest report date of the year's last materialization, None when the year is not stored."""
    found = instance.fetch_materializations(dg.AssetRecordsFilter(asset_key=key, asset_partitions=[year]), limit=1)
    if not found.records:
        return None
    last = found.records[0].asset_materialization.metadata.get("last_report_date")
    return dt.date.fromisoformat(last.value) if last is not None and last.value else None


def evaluate(instance: dg.DagsterInstance, key: dg.AssetKey, now: dt.datetime) -> dg.SensorResult:
    due = newest_due(now)
    year = str(due.year)
    stored = stored_through(instance, key, year)
    if stored is not None and stored >= due - dt.timedelta(days=1):
        return dg.SensorResult(skip_reason=f"{key.to_user_string()} {year} holds the report of {stored}")
    return dg.SensorResult(run_requests=[dg.RunRequest(run_key=f"{due}:{now.date()}", partition_key=year)])


def weekly_sensor(key: dg.AssetKey, report: str) -> dg.SensorDefinition:
    @dg.sensor(
        name=f"cftc_cot_{report}_sensor",
        job=dg.define_asset_job(f"cftc_cot_{report}_fetch", selection=[key]),
        minimum_interval_seconds=3600,
        default_status=settings.fetching_sensor_status(),
        description=f"Re-fetches the current year's CFTC COT {report} zip once the week's report is released.",
    )
    def sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        return evaluate(context.instance, key, dt.datetime.now(dt.UTC))

    return sensor


AUTOMATION = [weekly_sensor(LEGACY_KEY, "legacy"), weekly_sensor(TFF_KEY, "tff")]
