"""Is each source current, and does its newest day look like the days before it? Each source declares
its own checks with these builders (assets/sources.py collects them).

Freshness (Dagster's own checks, evaluated by `freshness_checks_sensor`): a trading-day source has its
partition of the day by a deadline after its publication (FINRA posts by 18:00 New York, the 18:30
run needs a few minutes); the reference sources have been updated within a few days; crypto within
hours.

Volume (`<source>_daily_volume_band`): a day can be valid row by row and still be incomplete (a
facility file that came back nearly empty, a provider that answered a third of the market). Each
trading-day source compares its newest day's row count and, where it has one, its volume, with the
median of the days before; outside the band (TICKERLAKE_VOLUME_BAND, 0.5: half to one and a half
times the median) the check warns, naming the day and the figures. Warnings, not blocking: a real
market day can be quiet or wild, and a person decides.
"""

import contextlib
import datetime as dt
import statistics
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import dagster as dg

from assets.partitions import TIMEZONE
from resources import settings
from resources.lake import Dataset, LakeResource

HISTORY_DAYS = 20


@contextlib.contextmanager
def _checks_by_choice() -> Iterator[None]:
    """Dagster marks freshness checks as superseded by FreshnessPolicy, but that policy judges an asset's
    last update, not its partitions (so a backfill of an old day would pass a missing newest day), and it
    is still a preview that must be switched on. The checks are kept on purpose, without the warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.SupersessionWarning)
        yield


def published_by_evening(keys: list[dg.AssetKey]) -> list[dg.AssetChecksDefinition]:
    """A trading-day source has its day's partition by 20:00 New York, after an 18:30 run."""
    return partition_by_deadline(keys, "0 20 * * 1-5")


def partition_by_deadline(keys: list[dg.AssetKey], deadline_cron: str) -> list[dg.AssetChecksDefinition]:
    """A time-partitioned source has its newest partition by each tick of `deadline_cron` (New York): the
    partition itself, so a backfill of an old day never passes for a missing newest one."""
    with _checks_by_choice():
        return list(
            dg.build_time_partition_freshness_checks(assets=keys, deadline_cron=deadline_cron, timezone=TIMEZONE)
        )


def updated_within(keys: list[dg.AssetKey], delta: dt.timedelta) -> list[dg.AssetChecksDefinition]:
    with _checks_by_choice():
        return list(dg.build_last_update_freshness_checks(assets=keys, lower_bound_delta=delta))


def band() -> float:
    return float(settings.value("TICKERLAKE_VOLUME_BAND"))


@dataclass(frozen=True)
class DailyVolume:
    """How a source's day is counted: rows per `day` column, and the sum of `measure` where it has one."""

    asset: dg.AssetKey
    dataset: Dataset
    day: str
    measure: str | None = None
    today_is_partial: bool = False  # crypto's current UTC day is still being topped up: judge yesterday


def daily_figures(lake: LakeResource, volume: DailyVolume, days: int = HISTORY_DAYS + 1) -> list[tuple]:
    """(day, rows, measure) of the newest `days` days, oldest first. Only the newest weeks are read: the
    first day is looked up first (the newest day comes from the catalog's statistics) and goes into the
    query as a date literal, which DuckLake prunes the data files with (a subquery, or even a bound
    parameter, leaves it scanning every file of the history: a second per check at full history)."""
    measure = f'sum("{volume.measure}")' if volume.measure else "NULL"
    column, table = f'"{volume.day}"', volume.dataset.table
    with lake.connect() as con:
        newest = con.execute(f"SELECT CAST(max({column}) AS DATE) FROM {table}").fetchone()[0]
        if newest is None:
            return []
        first = newest - dt.timedelta(days=days * 2 + 10)  # calendar days enough for `days` trading days
        rows = con.execute(
            f"SELECT CAST({column} AS DATE) AS d, count(*), {measure} FROM {table} "
            f"WHERE {column} >= DATE '{first.isoformat()}' GROUP BY d ORDER BY d DESC LIMIT ?",
            [days],
        ).fetchall()
    return sorted(rows)


def judge(figures: list[tuple], allowed: float) -> tuple[bool, dict[str, object]]:
    """Whether the newest day's rows (and measure) lie within `allowed` of the previous days' medians."""
    if len(figures) < 3:
        return True, {"note": f"{len(figures)} days stored: too few to compare"}
    *previous, (day, rows, measure) = figures
    findings, metadata = [], {"day": str(day), "rows": rows, "days_compared": len(previous)}
    for label, value, history in (
        ("rows", rows, [f[1] for f in previous]),
        ("volume", measure, [f[2] for f in previous if f[2] is not None]),
    ):
        if value is None or not history:
            continue
        median = statistics.median(history)
        metadata[f"{label}_median"] = median
        if median and not (1 - allowed) * median <= value <= (1 + allowed) * median:
            findings.append(f"{label} {value:,.0f} against a median of {median:,.0f} over {len(history)} days")
    if findings:
        metadata["outside_the_band"] = f"{day}: " + "; ".join(findings)
    return not findings, metadata


def volume_band_check(volume: DailyVolume) -> dg.AssetChecksDefinition:
    name = f"{volume.asset.path[-1]}_daily_volume_band"

    @dg.asset_check(
        asset=volume.asset,
        name=name,
        description=(
            "The newest day's rows (and volume) within TICKERLAKE_VOLUME_BAND of the median of the previous "
            f"{HISTORY_DAYS} days: a silently incomplete day shows here even when every row is valid."
        ),
    )
    def check(lake: LakeResource) -> dg.AssetCheckResult:
        figures = daily_figures(lake, volume, HISTORY_DAYS + 2)
        figures = figures[:-1] if volume.today_is_partial else figures[-(HISTORY_DAYS + 1) :]
        passed, metadata = judge(figures, band())
        return dg.AssetCheckResult(
            passed=passed, severity=dg.AssetCheckSeverity.WARN, metadata={**metadata, "band": band()}
        )

    return check


def freshness_sensor(checks: list[dg.AssetChecksDefinition]) -> dg.SensorDefinition:
    with _checks_by_choice():
        return dg.build_sensor_for_freshness_checks(
            freshness_checks=checks, default_status=dg.DefaultSensorStatus.RUNNING
        )
