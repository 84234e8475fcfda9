"""The Parquet lake: the source of truth for raw data, one file per dataset and partition.

Writes go to a hidden temporary file in the partition's directory and are renamed into place, so a
reader (or a killed run) only ever sees the previous file or the new one, never half of one, and a
re-materialized partition replaces its file instead of adding rows.
"""

import contextlib
import datetime as dt
import os
import uuid
from pathlib import Path

import dagster as dg
import filelock
import polars as pl
from pydantic import Field

PART_FILE = "part.parquet"
ROW_STAMP = "_written_at"


class LakeWriteError(RuntimeError):
    """A partition could not be written (disk full, read-only or missing lake root)."""


class LakeResource(dg.ConfigurableResource):
    """A local lake root; datasets live under it as hive paths dataset/date=YYYY-MM-DD/part.parquet."""

    root: str = Field(default="data/lake", description="Lake directory; relative paths resolve from the cwd.")

    @property
    def root_path(self) -> Path:
        return Path(self.root).resolve()

    def dataset_path(self, dataset: str) -> Path:
        return self.root_path / dataset

    def partition_path(self, dataset: str, partition: str | None = None) -> Path:
        """dataset/<partition>/part.parquet, e.g. partition "date=2024-07-01" or "symbol=AAPL"."""
        directory = self.dataset_path(dataset) / partition if partition else self.dataset_path(dataset)
        return directory / PART_FILE

    def day_path(self, dataset: str, day: dt.date) -> Path:
        return self.partition_path(dataset, day_partition(day))

    def dataset_glob(self, dataset: str) -> str:
        """The glob DuckDB reads: hidden temp files (leading dot) never match it."""
        return str(self.dataset_path(dataset) / "**" / PART_FILE)

    def has_data(self, dataset: str) -> bool:
        return any(self.dataset_path(dataset).rglob(PART_FILE))

    def partitions(self, dataset: str) -> list[str]:
        """The dataset's partition names (e.g. "date=2024-07-12"), sorted."""
        return sorted(p.parent.name for p in self.dataset_path(dataset).glob(f"*/{PART_FILE}"))

    def partition_paths(self, dataset: str) -> list[str]:
        """Every partition of the dataset at any depth (e.g. "pair=BTCUSDT/month=2024-12"), sorted."""
        root = self.dataset_path(dataset)
        return sorted(p.parent.relative_to(root).as_posix() for p in root.rglob(PART_FILE) if p.parent != root)

    def for_duckdb(self) -> "LakeResource":
        """A lake DuckDB can read as local files: this one (see S3LakeResource for the S3 case)."""
        return self

    def write(self, dataset: str, frame: pl.DataFrame, partition: str | None = None) -> Path:
        """Atomically replace one partition of a dataset (or the whole unpartitioned dataset).

        A full disk or an unwritable root fails with LakeWriteError naming the partition; the temp
        file is removed and the partition's previous file stays in place.
        """
        target = self.partition_path(dataset, partition)
        temp = target.parent / f".{PART_FILE}.{uuid.uuid4().hex}.tmp"
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            frame.write_parquet(temp, compression="zstd", statistics=True)
            with open(temp, "rb") as handle:
                os.fsync(handle.fileno())
            os.replace(temp, target)
        except OSError as exc:
            raise LakeWriteError(
                f"lake: cannot write {dataset} {partition or '(whole dataset)'} to {target}: "
                f"{exc.strerror or exc}; the previous file, if any, is unchanged"
            ) from exc
        finally:
            with contextlib.suppress(NotADirectoryError):
                temp.unlink(missing_ok=True)
        return target

    def write_day(self, dataset: str, day: dt.date, frame: pl.DataFrame) -> Path:
        return self.write(dataset, frame, day_partition(day))

    def upsert(
        self, dataset: str, partition: str, frame: pl.DataFrame, replaced: pl.Expr, sort_by: list[str],
        stamp: bool = False,
    ) -> Path:
        """Replace the rows matching `replaced` in one partition file with `frame`, under a file lock.

        Per-symbol files are written by the symbol's backfill and by every daily run; the lock keeps
        two writers from losing each other's rows, and the rename keeps readers consistent. With
        `stamp`, rows carry ROW_STAMP (see merge_rows).
        """
        target = self.partition_path(dataset, partition)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise LakeWriteError(f"lake: cannot create {target.parent}: {exc.strerror or exc}") from exc
        with filelock.FileLock(target.parent / ".lock"):
            stored = pl.read_parquet(target) if target.exists() else None
            return self.write(dataset, merge_rows(stored, frame, replaced, sort_by, stamp), partition)

    def read(self, dataset: str, partition: str | None = None) -> pl.DataFrame | None:
        path = self.partition_path(dataset, partition)
        return pl.read_parquet(path) if path.exists() else None

    def read_days(self, dataset: str, days: list[dt.date]) -> pl.DataFrame:
        """The stored rows of the given days (days with no file contribute nothing)."""
        paths = [p for p in (self.day_path(dataset, d) for d in days) if p.exists()]
        if not paths:
            return pl.DataFrame()
        return pl.read_parquet(paths)


def merge_rows(
    stored: pl.DataFrame | None, frame: pl.DataFrame, replaced: pl.Expr, sort_by: list[str], stamp: bool
) -> pl.DataFrame:
    """The stored rows outside `replaced`, plus `frame`, sorted.

    With `stamp`, every row carries ROW_STAMP, the time its values last changed: a row of `frame`
    equal to a stored row keeps the stored stamp, any other gets now. A daily run rewrites a whole
    per-symbol file to add one day, so the file's modification time says "everything changed"; the
    stamp lets dbt read only the rows that did (see fct_prices_daily). Rows of a file written before
    stamps existed are stamped now, once: dbt then recomputes those symbols once.
    """
    if stamp:
        frame = _stamped(frame, None if stored is None else stored.filter(replaced))
    if stored is None:
        return frame.sort(sort_by)
    if stamp and ROW_STAMP not in stored.columns:
        stored = stored.with_columns(pl.lit(frame[ROW_STAMP].max(), dtype=pl.Datetime("us", "UTC")).alias(ROW_STAMP))
    kept = stored.filter(~replaced)
    return pl.concat([kept, frame.select(kept.columns)], how="vertical_relaxed").sort(sort_by)


def _stamped(frame: pl.DataFrame, stored: pl.DataFrame | None) -> pl.DataFrame:
    """`frame` with ROW_STAMP: kept from an equal row of `stored` (the rows it replaces), else now."""
    now = pl.lit(dt.datetime.now(dt.UTC), dtype=pl.Datetime("us", "UTC"))
    values = [c for c in frame.columns if c != ROW_STAMP]
    frame = frame.select(values)
    if stored is None or ROW_STAMP not in stored.columns:
        return frame.with_columns(now.alias(ROW_STAMP))
    previous = stored.select([*values, ROW_STAMP]).unique(subset=values, keep="last")
    joined = frame.join(previous, on=values, how="left", nulls_equal=True, maintain_order="left")
    return joined.with_columns(pl.col(ROW_STAMP).fill_null(now))


def day_partition(day: dt.date) -> str:
    return f"date={day.isoformat()}"
