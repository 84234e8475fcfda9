"""The new-symbol sensor against a real (temporary) Dagster instance."""

import dagster as dg
import polars as pl
import pytest

from assets.symbols import DATASET
from resources.lake import LakeResource
from resources.symbols import DIRECTORY_SCHEMA
from sensors.symbols import BATCH_SIZE, new_symbols_sensor

SNAPSHOT = "2024-07-12"


def write_snapshot(lake: LakeResource, day: str, symbols: list[str]) -> None:
    frame = (
        pl.DataFrame(
            {
                "snapshot_date": [day] * len(symbols),
                "symbol": symbols,
                "security_name": symbols,
                "exchange": ["NYSE"] * len(symbols),
                "is_etf": [False] * len(symbols),
                "source_file": ["otherlisted.txt"] * len(symbols),
            }
        )
        .with_columns(pl.col("snapshot_date").str.to_date())
        .cast(DIRECTORY_SCHEMA)
    )
    lake.replace(DATASET, frame, where={"snapshot_date": frame["snapshot_date"][0]})


def tick(instance: dg.DagsterInstance, lake: LakeResource, cursor: str | None = None):
    with dg.build_sensor_context(instance=instance, resources={"lake": lake}, cursor=cursor) as context:
        result = new_symbols_sensor(context)
    if isinstance(result, dg.SensorResult):
        for request in result.dynamic_partitions_requests:
            instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
    return result


@pytest.fixture
def sensor_env(lake, monkeypatch):
    monkeypatch.setenv("TICKERLAKE_PRICES_START", "2024-01-02")
    with dg.instance_for_test() as instance:
        yield instance, lake


def test_new_symbols_become_partitions_with_one_backfill_for_the_batch(sensor_env) -> None:
    instance, lake = sensor_env
    write_snapshot(lake, SNAPSHOT, ["AAPL", "KO", "MSFT"])
    result = tick(instance, lake)
    assert instance.get_dynamic_partitions("symbols") == ["AAPL", "KO", "MSFT"]
    [request] = result.run_requests
    assert request.tags["dagster/asset_partition_range_start"] == "AAPL"
    assert request.tags["dagster/asset_partition_range_end"] == "MSFT"
    assert request.asset_selection == [dg.AssetKey(["raw", "prices_history"])]


def test_the_same_universe_launches_nothing_new(sensor_env) -> None:
    instance, lake = sensor_env
    write_snapshot(lake, SNAPSHOT, ["AAPL", "KO"])
    first = tick(instance, lake)
    second = tick(instance, lake, cursor=first.cursor)
    assert isinstance(second, dg.SkipReason)
    assert "all 2 symbols are partitions already" in second.skip_message


def test_only_the_symbols_that_joined_are_backfilled(sensor_env) -> None:
    instance, lake = sensor_env
    write_snapshot(lake, SNAPSHOT, ["AAPL", "KO"])
    tick(instance, lake)
    write_snapshot(lake, "2024-07-15", ["AAPL", "KO", "NVDA", "PLTR"])
    [request] = tick(instance, lake).run_requests
    assert instance.get_dynamic_partitions("symbols") == ["AAPL", "KO", "NVDA", "PLTR"]
    assert request.tags["dagster/asset_partition_range_start"] == "NVDA"
    assert request.tags["dagster/asset_partition_range_end"] == "PLTR"


def test_a_large_universe_is_backfilled_in_batches_not_per_symbol(sensor_env) -> None:
    instance, lake = sensor_env
    symbols = [f"S{i:04d}" for i in range(BATCH_SIZE * 2 + 7)]
    write_snapshot(lake, SNAPSHOT, symbols)
    result = tick(instance, lake)
    assert len(result.run_requests) == 3
    assert len({r.run_key for r in result.run_requests}) == 3
    ends = [r.tags["dagster/asset_partition_range_end"] for r in result.run_requests]
    assert ends == [symbols[BATCH_SIZE - 1], symbols[2 * BATCH_SIZE - 1], symbols[-1]]


def test_sample_backfill_covers_each_new_symbol_once(platform_build) -> None:
    [request] = platform_build.new_symbol_runs
    assert request.tags["tickerlake/new_symbols"] == "29"
    symbols = platform_build.instance.get_materialized_partitions(dg.AssetKey(["raw", "prices_history"]))
    assert "AMC" not in symbols, "delisted before the sensor saw it"
    assert len(symbols) == 30  # the 29 new symbols and the hand-added SAPX
