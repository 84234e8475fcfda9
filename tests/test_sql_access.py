"""SQL while a build runs, and the dated CSV exports."""

import csv
import datetime as dt
import time
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from assets.exports import ExportDirectory, short_volume_csv
from resources import sql
from resources.warehouse import WarehouseResource
from tests.conftest import PlatformBuild, process_holding
from tests.platform_build import RANGE_END, RANGE_START

# Another process with the file open for writing, as dbt has it during a build.
HOLD_WRITE_LOCK = (
    "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('locked', flush=True); time.sleep(60)"
)


def test_readers_get_answers_while_a_writer_holds_the_warehouse(platform_build: PlatformBuild) -> None:
    warehouse = platform_build.warehouse
    assert warehouse.read_copy.exists(), "every dbt build publishes a read copy"
    with process_holding(HOLD_WRITE_LOCK, str(warehouse.file)):
        with pytest.raises(duckdb.IOException, match="lock"):
            duckdb.connect(str(warehouse.file), read_only=True)
        started = time.monotonic()
        with warehouse.connect_reader() as con:
            count = con.execute("SELECT count(*) FROM marts.fct_short_volume_daily").fetchone()[0]
            raw = con.execute("SELECT count(*) FROM raw.finra_short_volume").fetchone()[0]
        assert time.monotonic() - started < 5
    assert count > 0 and raw > 0


def test_make_sql_says_busy_when_no_copy_exists_yet(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    path = tmp_path / "fresh.duckdb"
    duckdb.connect(str(path)).close()
    monkeypatch.setenv("TICKERLAKE_DUCKDB_PATH", str(path))
    with process_holding(HOLD_WRITE_LOCK, str(path)):
        assert sql.run("SELECT 1") == 75
    assert "warehouse busy" in capsys.readouterr().err
    assert sql.run("SELECT 42 AS answer") == 0
    assert "42" in capsys.readouterr().out


def test_a_published_copy_is_replaced_atomically(tmp_path: Path) -> None:
    warehouse = WarehouseResource(path=str(tmp_path / "w.duckdb"))
    with warehouse.connect() as con:
        con.execute("CREATE TABLE t AS SELECT 1 AS v")
    warehouse.publish_read_copy()
    reader = warehouse.connect_reader()
    with warehouse.connect() as con:
        con.execute("UPDATE t SET v = 2")
    warehouse.publish_read_copy()
    assert reader.execute("SELECT v FROM t").fetchone()[0] == 1, "an open reader keeps its snapshot"
    reader.close()
    with warehouse.connect_reader() as con:
        assert con.execute("SELECT v FROM t").fetchone()[0] == 2
    assert not list(tmp_path.glob(".*tmp"))


def test_exports_write_one_dated_csv_per_trading_day(platform_build: PlatformBuild, tmp_path: Path) -> None:
    exports = ExportDirectory(root=str(tmp_path / "exports"))
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [short_volume_csv],
            resources={"warehouse": platform_build.warehouse, "exports": exports},
            instance=instance,
            tags={RANGE_START: "2024-07-11", RANGE_END: "2024-07-12"},
        )
    assert result.success
    assert sorted(p.name for p in (tmp_path / "exports" / "short_volume").iterdir()) == [
        "2024-07-11.csv",
        "2024-07-12.csv",
    ]
    with open(exports.path(dt.date(2024, 7, 12))) as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["date", "symbol", "short_volume", "total_volume", "short_ratio"]
    with platform_build.warehouse.connect_reader() as con:
        expected = con.execute(
            "SELECT symbol, short_volume, total_volume, short_ratio FROM marts.fct_short_volume_daily "
            "WHERE trade_date = '2024-07-12' AND short_volume IS NOT NULL ORDER BY symbol"
        ).fetchall()
    assert [(r[1], float(r[2]), float(r[3]), float(r[4])) for r in rows[1:]] == expected
    assert {r[0] for r in rows[1:]} == {"2024-07-12"}
