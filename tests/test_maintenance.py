"""Point in time and upkeep: earlier marts stay queryable, maintenance keeps the lake from growing."""

import datetime as dt
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest

from assets.maintenance import lake_maintenance
from resources.lake import Dataset, LakeResource
from tests.helpers import PlatformBuild
from tests.test_analytics import frame, rebuild_correlation

CORRELATION = "SELECT * FROM marts.mart_sector_short_return_correlation {at} ORDER BY ALL"


def test_last_months_correlation_table_is_one_query_after_newer_data(platform_build: PlatformBuild, tmp_path) -> None:
    """The README's time-travel query: the mart as it was at a time, after a rebuild on newer data."""
    before = frame(platform_build.lake, CORRELATION.format(at=""))
    with platform_build.lake.connect() as con:
        then = con.execute("SELECT max(snapshot_time) FROM tickerlake.snapshots()").fetchone()[0]
    newer = rebuild_correlation(platform_build, tmp_path, per_sector=40)
    assert not frame(newer, CORRELATION.format(at="")).equals(before), "the rebuild changed the table"
    at = f"AT (TIMESTAMP => TIMESTAMPTZ '{then.isoformat()}')"
    assert frame(newer, CORRELATION.format(at=at)).equals(before)


NUMBERS = Dataset("numbers", {"day": pl.Date(), "v": pl.Int64()}, order=("day", "v"))


def files_on_disk(lake: LakeResource) -> int:
    return sum(1 for _ in Path(lake.data_path).rglob("*.parquet"))


def maintain(lake: LakeResource, retention_days: int) -> dg.MaterializeResult:
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [lake_maintenance],
            instance=instance,
            resources={"lake": lake},
            run_config={"ops": {"maintenance__lake_maintenance": {"config": {"retention_days": retention_days}}}},
        )
    assert result.success
    return result.asset_materializations_for_node("maintenance__lake_maintenance")[0].metadata


def test_maintenance_keeps_the_retention_and_drops_what_is_older(lake: LakeResource) -> None:
    day = dt.date(2024, 7, 1)
    for version in range(5):  # five replacements of one day: five snapshots, five files
        lake.replace(
            NUMBERS, pl.DataFrame({"day": day, "v": [version * 1000 + i for i in range(2000)]}), where={"day": day}
        )
    with lake.connect() as con:
        first = con.execute(
            "SELECT min(snapshot_id) FROM tickerlake.snapshots() WHERE changes['inlined_insert'] "
            "IS NOT NULL OR changes['tables_inserted_into'] IS NOT NULL"
        ).fetchone()[0]
    current = lake.read(NUMBERS)
    on_disk = files_on_disk(lake)

    kept = maintain(lake, retention_days=30)
    assert kept["snapshots_after"].value == kept["snapshots_before"].value, "nothing is older than 30 days"
    with lake.connect() as con:
        assert con.execute(f"SELECT min(v) FROM raw.numbers AT (VERSION => {first})").fetchone()[0] == 0

    dropped = maintain(lake, retention_days=0)
    assert dropped["snapshots_after"].value < dropped["snapshots_before"].value
    assert files_on_disk(lake) < on_disk
    assert lake.read(NUMBERS).equals(current), "the current version is untouched"
    with lake.connect() as con, pytest.raises(duckdb.Error):
        con.execute(f"SELECT min(v) FROM raw.numbers AT (VERSION => {first})").fetchone()
