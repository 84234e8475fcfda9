"""The local Dagster instance's storage (SQLite under DAGSTER_HOME), writing a ranged run's
per-partition events in batches.

A run over many partitions writes a planned and a materialization event per partition key: 22,000 for
the full market's price history (a key per symbol), 9,000 for FINRA's. Dagster hands these to the
event log in batches when DAGSTER_EVENT_BATCH_SIZE is set (dagster-postgres writes a batch of
materializations in one statement), but its SQLite event log stores them one at a time, each in its
own connection and transaction, in the run's database and again in the index: about 5 ms an event,
two minutes of that price history run. Here a batch of one asset's planned or materialization events
is written in one transaction per database, with exactly the rows the one-at-a-time path writes (the
asset's own row is updated once, from the batch's last event, as dagster-postgres does). Anything else
is stored one at a time, as before.

Configured in platform/dagster.yaml as the instance class (TickerlakeInstance: Dagster's own instance,
whose default storage is this one, under the instance's own directory, as Dagster's default SQLite
storage is; a `storage:` block in the file still wins); the batch size is the environment's
DAGSTER_EVENT_BATCH_SIZE, 1,000 unless set.
"""

import os
from collections.abc import Sequence

import yaml
from dagster import DagsterEventType, DagsterInstance
from dagster._core.events.log import EventLogEntry
from dagster._core.instance.ref import InstanceRef
from dagster._core.storage.event_log.schema import SqlEventLogStorageTable
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from dagster._core.storage.sqlite_storage import DagsterSqliteStorage, SqliteStorageConfig
from dagster._serdes import ConfigurableClassData

from resources import settings

BATCHED = {DagsterEventType.ASSET_MATERIALIZATION, DagsterEventType.ASSET_MATERIALIZATION_PLANNED}
BATCH_SIZE = "1000"


class BatchingSqliteEventLogStorage(SqliteEventLogStorage):
    """SQLite event log storage whose store_event_batch writes a batch in one transaction per database."""

    @classmethod
    def from_config_value(  # the signature Dagster's own SQLite event log has
        cls, inst_data: ConfigurableClassData | None, config_value: SqliteStorageConfig
    ) -> "BatchingSqliteEventLogStorage":
        return cls(inst_data=inst_data, **config_value)

    def store_event_batch(self, events: Sequence[EventLogEntry]) -> None:
        if not _one_asset_of_one_run(events):
            super().store_event_batch(events)
            return
        with self.run_connection(events[0].run_id) as conn:
            conn.execute(SqlEventLogStorageTable.insert(), [self._event_to_row(event) for event in events])
        with self.index_transaction() as conn:
            ids = [conn.execute(self.prepare_insert_event(event)).inserted_primary_key[0] for event in events]
            self._store_asset_event_tags(conn, events, ids)
            self._store_asset_event(conn, events[-1], ids[-1])


def _one_asset_of_one_run(events: Sequence[EventLogEntry]) -> bool:
    """A batch the fast path takes: planned or materialization events, all of one type, one asset, one run."""
    kinds = {event.dagster_event_type for event in events}
    return (
        len(kinds) == 1
        and kinds <= BATCHED
        and len({event.run_id for event in events}) == 1
        and len({event.get_dagster_event().asset_key for event in events}) == 1
    )


class BatchingSqliteStorage(DagsterSqliteStorage):
    """Dagster's SQLite storage (runs, events, schedules under base_dir) with the batching event log."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None) -> None:
        super().__init__(base_dir, inst_data)
        self._event_log_storage = BatchingSqliteEventLogStorage(_event_logs_directory(base_dir))
        settings.default_event_batch_size(BATCH_SIZE)

    @classmethod
    def from_config_value(  # the signature Dagster's own SQLite storage has
        cls, inst_data: ConfigurableClassData, config_value: SqliteStorageConfig
    ) -> "BatchingSqliteStorage":
        return cls.from_local(inst_data=inst_data, **config_value)

    @property
    def event_storage_data(self) -> ConfigurableClassData | None:
        return ConfigurableClassData(
            __name__,
            BatchingSqliteEventLogStorage.__name__,
            yaml.dump({"base_dir": _event_logs_directory(self.base_dir)}, default_flow_style=False),
        )


def _event_logs_directory(base_dir: str) -> str:
    """Where Dagster's SQLite storage keeps its event logs (dagster._core.storage.sqlite_storage)."""
    return os.path.join(base_dir, "history", "runs", "")


class TickerlakeInstance(DagsterInstance):
    """Dagster's instance, its default storage the batching one under the instance's directory."""

    @classmethod
    def config_schema(cls) -> dict:
        return {}

    @staticmethod
    def config_defaults(base_dir: str) -> dict[str, ConfigurableClassData | None]:
        return {
            **InstanceRef.config_defaults(base_dir),
            "storage": ConfigurableClassData(
                __name__, BatchingSqliteStorage.__name__, yaml.dump({"base_dir": base_dir}, default_flow_style=False)
            ),
        }
