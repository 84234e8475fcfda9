"""The lake on S3 (or any S3 API), through boto3: same layout, same atomicity, other storage.

An S3 PUT, and a completed multipart upload, replaces an object atomically: readers get the old
object or the new one, never a mix, and an upload that fails midway leaves the old object in place
(an aborted multipart upload is discarded). DuckDB here cannot read S3 (httpfs is not installable
offline), so before dbt the lake is mirrored to a local folder (only changed objects are fetched)
and DuckDB reads that; Spark, Trino or Athena can read the bucket directly.
"""

import datetime as dt
import io
import os
import uuid
from pathlib import Path
from urllib.parse import urlparse

import boto3
import polars as pl
from boto3.s3.transfer import TransferConfig
from pydantic import Field

from resources.lake import PART_FILE, LakeResource, LakeWriteError, merge_rows


class S3LakeResource(LakeResource):
    """root is s3://bucket/prefix; credentials come from the usual AWS environment variables."""

    endpoint_url: str | None = Field(default=None, description="e.g. a MinIO or moto endpoint; None for AWS.")
    multipart_threshold_mb: int = Field(default=64, description="Partitions larger than this upload in parts.")
    local_mirror: str = Field(default="data/lake-mirror", description="Local copy that DuckDB reads.")

    @property
    def bucket(self) -> str:
        return urlparse(self.root).netloc

    @property
    def prefix(self) -> str:
        return urlparse(self.root).path.strip("/")

    def _client(self):
        return boto3.client("s3", endpoint_url=self.endpoint_url)

    def key(self, dataset: str, partition: str | None = None) -> str:
        parts = [self.prefix, dataset, partition, PART_FILE]
        return "/".join(p for p in parts if p)

    def write(self, dataset: str, frame: pl.DataFrame, partition: str | None = None) -> Path:
        key = self.key(dataset, partition)
        buffer = io.BytesIO()
        frame.write_parquet(buffer, compression="zstd", statistics=True)
        buffer.seek(0)
        threshold = self.multipart_threshold_mb * 1024 * 1024
        config = TransferConfig(multipart_threshold=threshold, multipart_chunksize=max(threshold, 5 * 1024 * 1024))
        try:
            self._client().upload_fileobj(buffer, self.bucket, key, Config=config)
        except Exception as exc:
            raise LakeWriteError(f"lake: cannot write {dataset} {partition or '(whole dataset)'} to "
                                 f"s3://{self.bucket}/{key}: {exc}; the previous object, if any, is unchanged") from exc
        return Path(key)

    def read(self, dataset: str, partition: str | None = None) -> pl.DataFrame | None:
        client = self._client()
        try:
            body = client.get_object(Bucket=self.bucket, Key=self.key(dataset, partition))["Body"].read()
        except client.exceptions.NoSuchKey:
            return None
        return pl.read_parquet(io.BytesIO(body))

    def read_days(self, dataset: str, days: list[dt.date]) -> pl.DataFrame:
        frames = [f for f in (self.read(dataset, f"date={d.isoformat()}") for d in days) if f is not None]
        return pl.concat(frames) if frames else pl.DataFrame()

    def upsert(
        self, dataset: str, partition: str, frame: pl.DataFrame, replaced: pl.Expr, sort_by: list[str],
        stamp: bool = False,
    ) -> Path:
        """Read, replace the rows, write back. S3 has no file lock: one writer per symbol is the rule."""
        stored = self.read(dataset, partition)
        return self.write(dataset, merge_rows(stored, frame, replaced, sort_by, stamp), partition)

    def _objects(self, dataset: str) -> list[dict]:
        paginator = self._client().get_paginator("list_objects_v2")
        prefix = "/".join(p for p in (self.prefix, dataset) if p) + "/"
        return [o for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix) for o in page.get("Contents", [])
                if o["Key"].endswith("/" + PART_FILE)]

    def has_data(self, dataset: str) -> bool:
        return bool(self._objects(dataset))

    def partitions(self, dataset: str) -> list[str]:
        return sorted({o["Key"].split("/")[-2] for o in self._objects(dataset)} - {dataset})

    def partition_paths(self, dataset: str) -> list[str]:
        start = len("/".join(p for p in (self.prefix, dataset) if p) + "/")
        return sorted({o["Key"][start:-len("/" + PART_FILE)] for o in self._objects(dataset)} - {""})

    def for_duckdb(self) -> LakeResource:
        """Mirror every dataset to local_mirror, fetching only objects whose ETag changed."""
        local = LakeResource(root=self.local_mirror)
        client = self._client()
        for dataset_dir in {o["Key"].split("/")[len(self.prefix.split("/")) if self.prefix else 0]
                            for o in self._all_objects()}:
            for item in self._objects(dataset_dir):
                relative = item["Key"][len(self.prefix) + 1:] if self.prefix else item["Key"]
                target = local.root_path / relative
                stamp = target.with_name(f".{target.name}.etag")
                if target.exists() and stamp.exists() and stamp.read_text() == item["ETag"]:
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                temp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
                client.download_file(self.bucket, item["Key"], str(temp))
                os.replace(temp, target)
                stamp.write_text(item["ETag"])
        return local

    def _all_objects(self) -> list[dict]:
        paginator = self._client().get_paginator("list_objects_v2")
        prefix = f"{self.prefix}/" if self.prefix else ""
        return [o for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix) for o in page.get("Contents", [])]
