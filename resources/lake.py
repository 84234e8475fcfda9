"""The Parquet lake: the source of truth for raw data, one file per dataset and partition.

Writes go to a hidden temporary file in the partition's directory and are renamed into place, so a
reader (or a killed run) only ever sees the previous file or the new one, never half of one, and a
re-materialized partition replaces its file instead of adding rows.
"""

import datetime as dt
import os
import uuid
from pathlib import Path

import dagster as dg
import polars as pl
from pydantic import Field

PART_FILE = "part.parquet"


class LakeResource(dg.ConfigurableResource):
    """A local lake root; datasets live under it as hive paths dataset/date=YYYY-MM-DD/part.parquet."""

    root: str = Field(default="data/lake", description="Lake directory; relative paths resolve from the cwd.")

    @property
    def root_path(self) -> Path:
        return Path(self.root).resolve()

    def dataset_path(self, dataset: str) -> Path:
        return self.root_path / dataset

    def partition_path(self, dataset: str, day: dt.date) -> Path:
        return self.dataset_path(dataset) / f"date={day.isoformat()}" / PART_FILE

    def dataset_glob(self, dataset: str) -> str:
        """The glob DuckDB reads: hidden temp files (leading dot) never match it."""
        return str(self.dataset_path(dataset) / "date=*" / PART_FILE)

    def has_data(self, dataset: str) -> bool:
        return any(self.dataset_path(dataset).glob(f"date=*/{PART_FILE}"))

    def write_day(self, dataset: str, day: dt.date, frame: pl.DataFrame) -> Path:
        """Atomically replace one day's partition of a dataset with `frame`."""
        target = self.partition_path(dataset, day)
        target.parent.mkdir(parents=True, exist_ok=True)
        temp = target.parent / f".{PART_FILE}.{uuid.uuid4().hex}.tmp"
        try:
            frame.write_parquet(temp, compression="zstd", statistics=True)
            with open(temp, "rb") as handle:
                os.fsync(handle.fileno())
            os.replace(temp, target)
        finally:
            temp.unlink(missing_ok=True)
        return target

    def read_days(self, dataset: str, days: list[dt.date]) -> pl.DataFrame:
        """The stored rows of the given days (days with no file contribute nothing)."""
        paths = [p for p in (self.partition_path(dataset, d) for d in days) if p.exists()]
        if not paths:
            return pl.DataFrame()
        return pl.read_parquet(paths)
