"""The DuckDB warehouse file: `raw` views over the lake, and the schemas dbt builds.

DuckDB lets one process hold the file while it writes, so everything that opens it for writing runs
in the `duckdb` concurrency pool (limit 1, see platform/dagster.yaml) and under the warehouse's
write lock (see `writing`); raw assets never open it.
"""

import logging
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb
import filelock
import polars as pl
from pydantic import Field

from resources.lake import ROW_STAMP, LakeResource

DUCKDB_POOL = "duckdb"

_DUCKDB_TYPES = {
    pl.Date(): "DATE", pl.String(): "VARCHAR", pl.Float64(): "DOUBLE", pl.Int64(): "BIGINT", pl.Boolean(): "BOOLEAN",
    pl.UInt32(): "UINTEGER", pl.Datetime("us", "UTC"): "TIMESTAMPTZ",
}


class WarehouseResource(dg.ConfigurableResource):
    """Where the DuckDB file lives; dbt's profile reads the same TICKERLAKE_DUCKDB_PATH."""

    path: str = Field(default="data/tickerlake.duckdb", description="DuckDB file; relative to the cwd.")
    write_lock_timeout_seconds: float = Field(
        default=2 * 3600, description="How long a build waits for another build to release the warehouse."
    )

    @property
    def file(self) -> Path:
        return Path(self.path).resolve()

    @property
    def read_copy(self) -> Path:
        """The published read-only copy that SQL users and exports open (see publish_read_copy)."""
        return self.file.with_name(f"{self.file.stem}_read{self.file.suffix}")

    @property
    def write_lock(self) -> Path:
        return self.file.with_name(f"{self.file.name}.writer.lock")

    @contextmanager
    def writing(self, log: logging.Logger) -> Iterator[None]:
        """Hold the warehouse's write lock: a second build waits here instead of failing on DuckDB's lock.

        The `duckdb` pool alone does not guarantee one writer: on the default SQLite instance two
        runs that claim the pool's one slot at the same moment can both get it (SQLite ignores the
        row lock the claim relies on). An OS file lock beside the warehouse cannot be double-taken,
        and the kernel drops it when its process dies, so a killed build never leaves it stale.
        """
        lock = filelock.FileLock(self.write_lock, timeout=self.write_lock_timeout_seconds)
        try:
            lock.acquire(timeout=0)
        except filelock.Timeout:
            log.info(f"Another build holds {self.write_lock}; waiting for it to finish.")
            try:
                lock.acquire()
            except filelock.Timeout as error:
                raise RuntimeError(
                    f"The warehouse {self.file} stayed locked by another build for "
                    f"{self.write_lock_timeout_seconds:.0f} s (lock file {self.write_lock})."
                ) from error
        try:
            yield
        finally:
            lock.release()

    def connect(self, read_only: bool = False) -> duckdb.DuckDBPyConnection:
        if not read_only:
            self.file.parent.mkdir(parents=True, exist_ok=True)
        return duckdb.connect(str(self.file), read_only=read_only)

    def connect_reader(self) -> duckdb.DuckDBPyConnection:
        """A read-only connection that a running build never blocks: the published copy if any.

        DuckDB refuses even read-only opens of a file another process is writing ("Could not set
        lock on file"), and dbt holds the warehouse for its whole run. Readers therefore open the
        copy published after the last build; its raw views read the lake, so raw data is live.
        """
        path = self.read_copy if self.read_copy.exists() else self.file
        return duckdb.connect(str(path), read_only=True)

    def publish_read_copy(self) -> Path:
        """Copy the warehouse beside itself and rename it over the read copy, atomically.

        A reader that has the old copy open keeps reading it (the rename does not touch an open
        file); the next reader gets the new one. Runs inside the duckdb pool, after dbt exits.
        """
        with duckdb.connect(str(self.file)) as con:
            con.execute("CHECKPOINT")
        temp = self.read_copy.with_name(f".{self.read_copy.name}.{uuid.uuid4().hex}.tmp")
        try:
            shutil.copyfile(self.file, temp)
            os.replace(temp, self.read_copy)
        finally:
            temp.unlink(missing_ok=True)
        return self.read_copy

    def register_lake_views(self, lake: LakeResource, datasets: dict[str, dict[str, pl.DataType]]) -> None:
        """(Re)create raw.<dataset> as a view over the lake, typed and empty while it has no files.

        The view holds an absolute path, so the warehouse answers the same from any working directory,
        and it reads the lake at query time, so new partitions show without reloading anything.
        `_loaded_at` is the modification time of the row's Parquet file, or the row's own stamp where
        the dataset keeps one (prices): incremental models use it to pick up exactly what was rewritten
        since their last build (FINRA reposts, backfills, a price restated).
        raw.<dataset>__files lists the files themselves, for asking that question cheaply.
        """
        with self.connect() as con:
            con.execute("CREATE SCHEMA IF NOT EXISTS raw")
            for dataset, schema in datasets.items():
                con.execute(f'CREATE OR REPLACE VIEW raw."{dataset}" AS {_view_body(lake, dataset, schema)}')
                con.execute(f'CREATE OR REPLACE VIEW raw."{dataset}__files" AS {_files_body(lake, dataset)}')


def _files_body(lake: LakeResource, dataset: str) -> str:
    """One row per Parquet file of the dataset: its path (with the hive partition) and modification time.

    Incremental models ask it which partitions changed: a look at file metadata, where the same
    question on the data view joins every row with its file (44 s at 177 M rows, against 0.1 s here).
    """
    if not lake.has_data(dataset):
        return "SELECT CAST(NULL AS VARCHAR) AS filename, CAST(NULL AS TIMESTAMPTZ) AS _loaded_at WHERE false"
    return f"SELECT filename, last_modified AS _loaded_at FROM read_blob({_sql_literal(lake.dataset_glob(dataset))})"


def _view_body(lake: LakeResource, dataset: str, schema: dict[str, pl.DataType]) -> str:
    """Rows and `_loaded_at`: the row's own ROW_STAMP where the dataset has one, else its file's time.

    A stamped dataset needs no join with the file list, and a filter on `_loaded_at` reaches the
    Parquet scan, which skips every file whose newest stamp is older. Every file of a stamped dataset
    has the stamp (the lake adds it on write), so DuckDB binds the view from one file's schema:
    union_by_name would read all 11,000 footers on every bind (0.7 s against 0.3 s).
    """
    columns = ", ".join(f'CAST(NULL AS {_DUCKDB_TYPES[t]}) AS "{c}"' for c, t in schema.items() if c != ROW_STAMP)
    if not lake.has_data(dataset):
        return f"SELECT {columns}, CAST(NULL AS TIMESTAMPTZ) AS _loaded_at WHERE false"
    files = _sql_literal(lake.dataset_glob(dataset))
    if ROW_STAMP in schema:
        return (
            f"SELECT * EXCLUDE ({ROW_STAMP}), CAST({ROW_STAMP} AS TIMESTAMPTZ) AS _loaded_at "
            f"FROM read_parquet({files}, hive_partitioning = false)"
        )
    return (
        f"SELECT data.* EXCLUDE (filename), files.last_modified AS _loaded_at "
        f"FROM read_parquet({files}, filename = true, hive_partitioning = false) AS data "
        f"JOIN read_blob({files}) AS files ON data.filename = files.filename"
    )


def _sql_literal(text: str) -> str:
    """DDL cannot take bound parameters; the only text quoted here is our own lake path."""
    return "'" + text.replace("'", "''") + "'"
