"""The code location as the UI and the CLI load it, and the daily schedule's ticks."""

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from sensors.schedules import finra_daily_schedule, refetch_window
from tests.conftest import ROOT

NEW_YORK = ZoneInfo("America/New_York")


def test_workspace_yaml_loads_the_definitions(tmp_path: Path) -> None:
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path)}
    dagster = Path(sys.executable).parent / "dagster"
    completed = subprocess.run(
        [str(dagster), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "Validation successful" in completed.stdout + completed.stderr


def test_definitions_hold_the_graph_and_dbt_lineage() -> None:
    sys.path.insert(0, str(ROOT / "platform"))
    try:
        from definitions import defs
    finally:
        sys.path.remove(str(ROOT / "platform"))
    graph = defs.resolve_asset_graph()
    raw = dg.AssetKey(["raw", "finra_short_volume"])
    staging = dg.AssetKey(["staging", "stg_finra__short_volume"])
    mart = dg.AssetKey(["marts", "fct_short_volume_daily"])
    assert graph.get(staging).parent_keys == {raw}
    assert graph.get(mart).parent_keys == {staging}
    assert defs.resolve_job_def("finra_daily").asset_layer.executable_asset_keys >= {raw, staging, mart}


def _tick(when: dt.datetime) -> dg.RunRequest | dg.SkipReason:
    with dg.instance_for_test() as instance:
        context = dg.build_schedule_context(instance=instance, scheduled_execution_time=when)
        return finra_daily_schedule(context)


def test_schedule_skips_a_holiday() -> None:
    result = _tick(dt.datetime(2024, 7, 4, 18, 30, tzinfo=NEW_YORK))
    assert isinstance(result, dg.SkipReason)
    assert "2024-07-04 is not a trading day" in result.skip_message


def test_schedule_refetches_the_last_five_trading_days_as_one_ranged_run() -> None:
    result = _tick(dt.datetime(2024, 7, 8, 18, 30, tzinfo=NEW_YORK))
    assert isinstance(result, dg.RunRequest)
    assert result.tags["dagster/asset_partition_range_start"] == "2024-07-01"
    assert result.tags["dagster/asset_partition_range_end"] == "2024-07-08"
    assert result.run_key == "finra_daily:2024-07-08"


@pytest.mark.parametrize(("today", "first"), [("2024-07-05", "2024-06-28"), ("2024-01-02", "2023-12-26")])
def test_refetch_window_counts_trading_days_across_holidays(today: str, first: str) -> None:
    assert refetch_window(dt.date.fromisoformat(today)) == (dt.date.fromisoformat(first), dt.date.fromisoformat(today))
