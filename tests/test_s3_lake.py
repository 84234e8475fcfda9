"""The lake on S3, against a real S3 endpoint started here (moto in server mode on 127.0.0.1)."""

import datetime as dt
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import dagster as dg
import numpy as np
import polars as pl
import pytest

from assets.binance import Fetched, store_month
from assets.dbt import LAKE_VIEWS
from assets.finra import finra_short_volume
from assets.indicators import pair_indicators, stored_pairs
from resources.binance import parse_klines_csv, unzip_single_csv
from resources.lake import LakeWriteError
from resources.s3_lake import S3LakeResource
from resources.warehouse import WarehouseResource
from tests.conftest import SAMPLE_ROOT, fast_client, serve_finra_mirror
from tests.platform_build import RANGE_END, RANGE_START

pytestmark = pytest.mark.integration
BUCKET = "tickerlake-test"


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("AWS_ACCESS_KEY_ID", "test")
        env.setenv("AWS_SECRET_ACCESS_KEY", "test")
        env.setenv("AWS_DEFAULT_REGION", "us-east-1")
        deadline = time.monotonic() + 30
        while True:
            try:
                boto3.client("s3", endpoint_url=url).create_bucket(Bucket=BUCKET)
                break
            except Exception:
                assert time.monotonic() < deadline, "moto server did not start"
                time.sleep(0.2)
        try:
            yield url
        finally:
            server.terminate()
            server.wait()


@pytest.fixture
def lake(s3_endpoint: str, tmp_path: Path, request: pytest.FixtureRequest) -> S3LakeResource:
    return S3LakeResource(
        root=f"s3://{BUCKET}/{request.node.name}",
        endpoint_url=s3_endpoint,
        local_mirror=str(tmp_path / "mirror"),
        multipart_threshold_mb=5,
    )


def materialize(lake: S3LakeResource, first: str, last: str) -> dg.ExecuteInProcessResult:
    with serve_finra_mirror() as mirror, dg.instance_for_test() as instance:
        return dg.materialize(
            [finra_short_volume],
            instance=instance,
            resources={"finra": fast_client(mirror), "lake": lake},
            tags={RANGE_START: first, RANGE_END: last},
        )


def test_raw_partitions_land_in_s3_and_rematerializing_replaces_them(lake: S3LakeResource) -> None:
    assert materialize(lake, "2024-07-01", "2024-07-05").success
    assert lake.partitions("finra_short_volume") == [f"date=2024-07-0{d}" for d in (1, 2, 3, 5)]
    first = lake.read_days("finra_short_volume", [dt.date(2024, 7, 3)])
    assert materialize(lake, "2024-07-03", "2024-07-03").success
    again = lake.read_days("finra_short_volume", [dt.date(2024, 7, 3)])
    assert first.height > 0 and again.equals(first)
    assert len(lake.partitions("finra_short_volume")) == 4


def test_large_partitions_upload_in_parts(lake: S3LakeResource) -> None:
    big = pl.DataFrame({"v": np.random.default_rng(7).random(1_500_000)})
    key = lake.key("big", "date=2024-07-01")
    lake.write("big", big, "date=2024-07-01")
    head = boto3.client("s3", endpoint_url=lake.endpoint_url).head_object(Bucket=BUCKET, Key=key)
    assert head["ContentLength"] > 5 * 1024 * 1024
    assert "-" in head["ETag"], "a multipart upload's ETag ends in -<number of parts>"
    assert lake.read("big", "date=2024-07-01").equals(big)


class _FailsMidUpload:
    """A client that starts a multipart upload, sends one part, then loses the connection."""

    def __init__(self, client) -> None:
        self._client = client

    def upload_fileobj(self, body, bucket: str, key: str, Config=None) -> None:
        upload = self._client.create_multipart_upload(Bucket=bucket, Key=key)
        self._client.upload_part(
            Bucket=bucket, Key=key, UploadId=upload["UploadId"], PartNumber=1, Body=body.read(5 * 1024 * 1024)
        )
        raise ConnectionResetError("connection reset by peer")


def test_a_failed_upload_leaves_the_previous_object(lake: S3LakeResource, monkeypatch: pytest.MonkeyPatch) -> None:
    old = pl.DataFrame({"v": [1.0, 2.0]})
    lake.write("d", old, "date=2024-07-01")
    real_client = lake._client()
    monkeypatch.setattr(S3LakeResource, "_client", lambda self: _FailsMidUpload(real_client))
    with pytest.raises(LakeWriteError, match=r"cannot write d date=2024-07-01 .*connection reset"):
        lake.write("d", pl.DataFrame({"v": np.random.default_rng(1).random(1_500_000)}), "date=2024-07-01")
    monkeypatch.undo()
    assert lake.read("d", "date=2024-07-01").equals(old)


def test_duckdb_reads_a_local_mirror_fetched_incrementally(
    lake: S3LakeResource, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert materialize(lake, "2024-07-01", "2024-07-05").success
    local = lake.for_duckdb()
    mirrored = sorted(local.root_path.rglob("part.parquet"))
    assert len(mirrored) == 4
    stamps = [p.stat().st_mtime_ns for p in mirrored]
    lake.for_duckdb()
    assert [p.stat().st_mtime_ns for p in mirrored] == stamps, "unchanged objects are not fetched again"
    warehouse = WarehouseResource(path=str(tmp_path / "w.duckdb"))
    warehouse.register_lake_views(local, {"finra_short_volume": LAKE_VIEWS["finra_short_volume"]})
    with warehouse.connect(read_only=True) as con:
        count = con.execute("SELECT count(*) FROM raw.finra_short_volume").fetchone()[0]
    expected = lake.read_days("finra_short_volume", [dt.date(2024, 7, d) for d in (1, 2, 3, 5)]).height
    assert count == expected > 0


def test_crypto_month_files_and_indicators_work_on_s3(lake: S3LakeResource) -> None:
    """Nested partitions (pair=/month=) are listed through the lake, never by globbing a local folder."""
    archive = SAMPLE_ROOT / "data.binance.vision/data/spot/daily/klines/SOLUSDT/1m/SOLUSDT-1m-2025-01-02.zip"
    minutes = parse_klines_csv(unzip_single_csv(archive.read_bytes(), "s"), "SOLUSDT", "s")
    store_month(lake, "SOLUSDT", [Fetched("test", dt.datetime(2025, 1, 2, tzinfo=dt.UTC),
                                          dt.datetime(2025, 1, 3, tzinfo=dt.UTC), minutes)])
    assert lake.partition_paths("crypto_klines_1m") == ["pair=SOLUSDT/month=2025-01"]
    assert stored_pairs(lake) == ["SOLUSDT"]
    frame = pair_indicators(lake, "SOLUSDT", minute_days=7)
    assert frame.filter(pl.col("interval") == "1h").height == 24
    assert frame.filter(pl.col("interval") == "1m").height == 1440
