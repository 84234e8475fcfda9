"""`make migrate`: a lake of Parquet folders and its DuckDB warehouse move into the catalog, losing nothing."""

import datetime as dt
import os
import sys
from pathlib import Path

import duckdb
import polars as pl
import pytest

from assets.finra import DATASET as FINRA
from assets.prices import DATASET as PRICES
from resources.lake import LakeResource
from tests.helpers import ROOT

sys.path.insert(0, str(ROOT / "platform"))
import migrate  # platform/ is not a package: its scripts are loaded by path

OLD_FILE_TIME = dt.datetime(2024, 7, 16, 22, 0, tzinfo=dt.UTC)


def old_layout(root: Path, warehouse: Path) -> None:
    """What tickerlake wrote before the catalog: hive folders of part.parquet, and dbt's DuckDB file."""
    for day in (dt.date(2024, 7, 1), dt.date(2024, 7, 2)):
        frame = pl.DataFrame(
            {
                "trade_date": day,
                "symbol": ["AAPL", "MSFT"],
                "facility": "CNMS",
                "short_volume": [10.5, 20.0],
                "short_exempt_volume": [0.0, 1.0],
                "total_volume": [100.0, 50.0],
                "market": "B,Q,N",
            }
        ).cast(dict(FINRA.schema))
        path = root / "finra_short_volume" / f"date={day}" / "part.parquet"
        path.parent.mkdir(parents=True)
        frame.write_parquet(path)
        os.utime(path, (OLD_FILE_TIME.timestamp(), OLD_FILE_TIME.timestamp()))
    prices = pl.DataFrame(
        {
            "trade_date": [dt.date(2024, 7, 1)],
            "symbol": "KO",
            "open": 60.0,
            "high": 61.0,
            "low": 59.0,
            "close": 60.5,
            "volume": 1e6,
            "dividend": 0.0,
            "split_ratio": 1.0,
            "currency": "USD",
            "provider": "yahoo",
        }
    ).cast(dict(PRICES.schema))
    stamp = dt.datetime(2024, 7, 2, 1, 0, tzinfo=dt.UTC)
    path = root / "prices_daily" / "symbol=KO" / "part.parquet"
    path.parent.mkdir(parents=True)
    prices.with_columns(pl.lit(stamp).alias("_written_at")).write_parquet(path)
    with duckdb.connect(str(warehouse)) as con:
        con.execute("CREATE SCHEMA marts; CREATE SCHEMA staging")
        con.execute(
            "CREATE TABLE marts.fct_short_volume_daily AS SELECT DATE '2024-07-01' AS trade_date, 'AAPL' "
            "AS symbol, 0.105::DOUBLE AS short_ratio, TIMESTAMPTZ '2024-07-16 22:00:00+00' AS _loaded_at"
        )
        con.execute("CREATE VIEW staging.stg AS SELECT 1 AS one")


def test_migration_copies_everything_compares_it_and_reruns_cleanly(
    lake: LakeResource, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    warehouse = tmp_path / "old.duckdb"
    old_layout(Path(lake.root), warehouse)
    assert migrate.main(["--warehouse", str(warehouse)]) == 0
    out = capsys.readouterr().out
    assert "raw.finra_short_volume" in out and "marts.fct_short_volume_daily" in out and "differs" not in out

    finra = lake.read(FINRA, stamps=True)
    assert finra.height == 4 and finra["short_volume"].sum() == 61.0
    assert finra["_loaded_at"].unique().to_list() == [OLD_FILE_TIME], "a file's time becomes its rows' stamp"
    prices = lake.read(PRICES, stamps=True)
    assert prices["_loaded_at"].to_list() == [dt.datetime(2024, 7, 2, 1, 0, tzinfo=dt.UTC)], "row stamps kept"
    with lake.connect() as con:
        assert con.execute("SELECT symbol, short_ratio FROM marts.fct_short_volume_daily").fetchall() == [
            ("AAPL", 0.105)
        ]
        assert not con.execute("SELECT * FROM duckdb_views() WHERE schema_name = 'staging'").fetchall()

    assert migrate.main(["--warehouse", str(warehouse), "--remove-old"]) == 0, "a second run replaces, not adds"
    assert lake.read(FINRA).height == 4
    assert not (Path(lake.root) / "finra_short_volume").exists() and not warehouse.exists()
    assert migrate.main(["--warehouse", str(warehouse)]) == 0
    assert "nothing to migrate" in capsys.readouterr().out
