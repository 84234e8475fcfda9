"""The local instance's batching event log (resources/event_log.py) stores what Dagster's own SQLite one does."""

from pathlib import Path

import dagster as dg
import pytest
import yaml

from resources.event_log import BatchingSqliteEventLogStorage
from tests.helpers import ROOT

PARTITIONS = dg.StaticPartitionsDefinition([f"P{i:03d}" for i in range(300)])


@dg.asset(partitions_def=PARTITIONS, backfill_policy=dg.BackfillPolicy.single_run())
def many_partitions() -> None:
    """One ranged run over every key: a planned and a materialization event per key."""


def ranged_run(home: Path, instance_class: dict | None) -> dict:
    """What an instance knows after one ranged run over every key: events by type, the partitions'
    statuses, the asset's record."""
    config = {"telemetry": {"enabled": False}, **({"instance_class": instance_class} if instance_class else {})}
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    with dg.DagsterInstance.from_config(str(home)) as instance:
        keys = PARTITIONS.get_partition_keys()
        result = dg.materialize(
            [many_partitions],
            instance=instance,
            tags={"dagster/asset_partition_range_start": keys[0], "dagster/asset_partition_range_end": keys[-1]},
        )
        kinds: dict[str, int] = {}
        for record in instance.all_logs(result.run_id):
            if record.dagster_event:
                kinds[record.dagster_event.event_type_value] = kinds.get(record.dagster_event.event_type_value, 0) + 1
        key = dg.AssetKey("many_partitions")
        return {
            "events": kinds,
            "materialized": instance.get_materialized_partitions(key),
            "statuses": instance.get_status_by_partition(key, keys, PARTITIONS),
            "latest": instance.get_latest_materialization_event(key).dagster_event.partition,
            "record": instance.get_asset_records([key])[0].asset_entry.last_materialization_record is not None,
        }


def test_a_ranged_run_is_stored_as_dagsters_own_sqlite_storage_stores_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAGSTER_EVENT_BATCH_SIZE", "100")
    batches: list[int] = []
    store = BatchingSqliteEventLogStorage.store_event_batch
    monkeypatch.setattr(
        BatchingSqliteEventLogStorage,
        "store_event_batch",
        lambda self, events: batches.append(len(events)) or store(self, events),
    )
    platform = yaml.safe_load((ROOT / "platform" / "dagster.yaml").read_text())["instance_class"]
    (tmp_path / "batching").mkdir()
    (tmp_path / "default").mkdir()
    stored = ranged_run(tmp_path / "batching", platform)
    assert stored == ranged_run(tmp_path / "default", None)
    assert stored["events"]["ASSET_MATERIALIZATION"] == stored["events"]["ASSET_MATERIALIZATION_PLANNED"] == 300
    assert len(stored["materialized"]) == 300 and stored["record"]
    assert sum(batches) == 600 and max(batches) == 100, "the keys' events went through the batch path"
