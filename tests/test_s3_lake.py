"""The lake on S3 with its catalog on PostgreSQL, against real servers started here (moto, PostgreSQL).

Data files are read and written in place on S3 (DuckDB's httpfs); nothing is mirrored to local disk.
"""

import datetime as dt
import subprocess
import sys
from collections.abc import Iterator

import boto3
import dagster as dg
import polars as pl
import pytest

from assets import bigru
from assets.binance import KLINE_RULES, KLINES_DATASET, store_month
from assets.checks import Ledger
from assets.dbt import dbt_project, tickerlake_dbt_models
from assets.finra import DATASET, finra_short_volume
from assets.indicators import pair_indicators, stored_pairs
from resources import artifacts
from resources.binance import Fetched, parse_klines_csv, unzip_single_csv
from resources.dbt_cli import DbtCli
from resources.lake import S3Lake
from resources.settings import dbt_executable
from tests.helpers import ROOT, S3_BUCKET, SAMPLE_ROOT, fast_client, lake_env, serve_finra_mirror
from tests.platform_build import RANGE_END, RANGE_START
from tests.services import Postgres
from tests.test_lake import BARS, WRITER

pytestmark = pytest.mark.integration


@pytest.fixture
def lake(
    s3_endpoint: str, postgres: Postgres, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[S3Lake]:
    lake = S3Lake(
        url=f"s3://{S3_BUCKET}/{request.node.name}",
        catalog=f"postgres:{postgres.new_database()}",
        endpoint_url=s3_endpoint,
    )
    for name, value in {**lake_env(lake), "TICKERLAKE_S3_ENDPOINT_URL": s3_endpoint}.items():
        monkeypatch.setenv(name, value)
    yield lake
    lake.close()


def objects(lake: S3Lake) -> list[str]:
    prefix = lake.location.removeprefix(f"s3://{S3_BUCKET}/") + "/"
    listing = boto3.client("s3", endpoint_url=lake.endpoint_url).list_objects_v2(Bucket=S3_BUCKET, Prefix=prefix)
    return [o["Key"] for o in listing.get("Contents", [])]


def materialize(lake: S3Lake, first: str, last: str, assets: list | None = None) -> dg.ExecuteInProcessResult:
    with serve_finra_mirror() as mirror, dg.instance_for_test() as instance:
        return dg.materialize(
            assets or [finra_short_volume],
            instance=instance,
            resources={
                "finra": fast_client(mirror),
                "lake": lake,
                "dbt": DbtCli(project_dir=dbt_project, dbt_executable=dbt_executable()),
            },
            tags={RANGE_START: first, RANGE_END: last},
        )


def test_raw_partitions_land_in_s3_and_rematerializing_replaces_them(lake: S3Lake) -> None:
    assert materialize(lake, "2024-07-01", "2024-07-05").success
    assert [d.isoformat() for d in lake.distinct(DATASET, "trade_date")] == [f"2024-07-0{d}" for d in (1, 2, 3, 5)]
    assert all(key.endswith(".parquet") for key in objects(lake)) and objects(lake)
    first = lake.read(DATASET, where={"trade_date": dt.date(2024, 7, 3)})
    assert materialize(lake, "2024-07-03", "2024-07-03").success
    again = lake.read(DATASET, where={"trade_date": dt.date(2024, 7, 3)})
    assert first.height > 0 and again.equals(first)
    assert lake.read(DATASET).height == sum(
        lake.read(DATASET, where={"trade_date": dt.date(2024, 7, d)}).height for d in (1, 2, 3, 5)
    ), "no day was doubled"


def test_dbt_builds_the_marts_on_s3_through_the_postgres_catalog(lake: S3Lake) -> None:
    """dbt attaches the same catalog and reads and writes the bucket in place: no local mirror."""
    assert materialize(lake, "2024-07-01", "2024-07-02", [finra_short_volume, tickerlake_dbt_models]).success
    with lake.connect() as con:
        built = con.execute("SELECT count(*) FROM marts.fct_short_volume_daily").fetchone()[0]
        files = con.execute(
            "SELECT count(*) FROM ducklake_list_files('tickerlake', 'fct_short_volume_daily', schema => 'marts')"
        ).fetchone()[0]
    assert built > 0
    assert files > 0 and any("/marts/fct_short_volume_daily/" in key for key in objects(lake))


def test_two_processes_write_different_partitions_at_once(lake: S3Lake) -> None:
    lake.ensure([BARS])
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, lake.location, lake.metadata, symbol],
            cwd=ROOT,
            stderr=subprocess.PIPE,
            text=True,
        )
        for symbol in ("KO", "PEP")
    ]
    errors = [w.communicate(timeout=300)[1] for w in writers]
    assert [w.returncode for w in writers] == [0, 0], "\n".join(errors)
    assert lake.read(BARS).group_by("symbol").len().sort("symbol").rows() == [("KO", 600), ("PEP", 600)]


def test_crypto_months_and_indicators_work_on_s3(lake: S3Lake) -> None:
    archive = SAMPLE_ROOT / "data.binance.vision/data/spot/daily/klines/SOLUSDT/1m/SOLUSDT-1m-2025-01-02.zip"
    minutes = parse_klines_csv(unzip_single_csv(archive.read_bytes(), "s"), "SOLUSDT", "s")
    day = Fetched("test", dt.datetime(2025, 1, 2, tzinfo=dt.UTC), dt.datetime(2025, 1, 3, tzinfo=dt.UTC), minutes)
    assert store_month(lake, "SOLUSDT", [day], Ledger(KLINES_DATASET, KLINE_RULES)) == []
    assert stored_pairs(lake) == ["SOLUSDT"]
    frame = pair_indicators(lake, "SOLUSDT", minute_days=7)
    assert frame.filter(pl.col("interval") == "1h").height == 24
    assert frame.filter(pl.col("interval") == "1m").height == 1440


def test_on_s3_a_failing_month_is_quarantined_and_a_shrinking_one_refused(lake: S3Lake) -> None:
    archive = SAMPLE_ROOT / "data.binance.vision/data/spot/daily/klines/SOLUSDT/1m/SOLUSDT-1m-2025-01-02.zip"
    minutes = parse_klines_csv(unzip_single_csv(archive.read_bytes(), "s"), "SOLUSDT", "s")
    start, end = dt.datetime(2025, 1, 2, tzinfo=dt.UTC), dt.datetime(2025, 1, 3, tzinfo=dt.UTC)
    ledger = Ledger(KLINES_DATASET, KLINE_RULES)
    assert store_month(lake, "SOLUSDT", [Fetched("test", start, end, minutes)], ledger) == []
    stored = lake.read(KLINES_DATASET, stamps=True)
    inverted = minutes.with_columns(
        low=pl.when(pl.int_range(pl.len()) == 7).then(pl.col("high") + 1).otherwise(pl.col("low"))
    )
    assert store_month(lake, "SOLUSDT", [Fetched("test", start, end, inverted)], ledger) == [
        "SOLUSDT 2025-01: quarantined, failed prices_positive; the stored month is unchanged"
    ]
    refused = store_month(lake, "SOLUSDT", [Fetched("test", start, end, minutes.head(1000))], ledger)
    assert len(refused) == 1 and "open_time gone: 440" in refused[0]
    assert lake.read(KLINES_DATASET, stamps=True).equals(stored)
    quarantined = lake.read(KLINES_DATASET.quarantine, where={"_partition": "SOLUSDT 2025-01"})
    assert quarantined.height == 1440 and any("/quarantine/" in key for key in objects(lake))


def test_a_model_artifact_is_stored_beside_the_lake_on_s3_and_reads_back(lake: S3Lake) -> None:
    """The direction model's artifact under the lake's own S3 prefix: its URL is what the registry keeps
    and what serving reads back, byte for byte."""
    model = bigru.BiGRU(3, 4)
    body = bigru.to_bytes(model, bigru.TrainConfig(hidden=4), {"features": ["a", "b", "c"]})
    url = artifacts.write(lake.location, "ml/models/crypto_1h/v1.pt", body)
    assert url == f"{lake.location}/ml/models/crypto_1h/v1.pt"
    assert any(key.endswith("/ml/models/crypto_1h/v1.pt") for key in objects(lake))
    assert artifacts.read(url) == body
    _, meta = bigru.from_bytes(artifacts.read(url))
    assert meta == {"features": ["a", "b", "c"]}
