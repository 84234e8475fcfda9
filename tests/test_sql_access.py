"""SQL while a build runs, and the dated CSV exports."""

import csv
import datetime as dt
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest

from assets.exports import ExportDirectory, short_volume_csv
from resources import sql
from tests.conftest import ROOT, PlatformBuild, lake_env
from tests.platform_build import RANGE_END, RANGE_START

# Another process in the middle of a write: it holds the catalog's write lock and an open transaction
# that has already replaced every FINRA row, and has not committed.
HOLD_WRITE_TRANSACTION = """
import sys
from resources.lake import LakeResource
lake = LakeResource(root=sys.argv[1], catalog=sys.argv[2])
def hold(tx):
    tx.con.execute("DELETE FROM raw.finra_short_volume")
    print("locked", flush=True)
    sys.stdin.read()
lake.transaction(hold, "a test")
"""


def test_readers_get_the_last_commit_while_a_writer_is_mid_transaction(platform_build: PlatformBuild) -> None:
    lake = platform_build.lake
    with lake.connect() as con:
        expected = con.execute("SELECT count(*) FROM raw.finra_short_volume").fetchone()[0]
    holder = subprocess.Popen([sys.executable, "-c", HOLD_WRITE_TRANSACTION, lake.root, lake.metadata], cwd=ROOT,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        started = time.monotonic()
        with lake.connect() as con:
            raw = con.execute("SELECT count(*) FROM raw.finra_short_volume").fetchone()[0]
            built = con.execute("SELECT count(*) FROM marts.fct_short_volume_daily").fetchone()[0]
        assert time.monotonic() - started < 5, "the reader did not wait for the writer"
    finally:
        holder.kill()
        holder.wait()
    assert raw == expected > 0 and built > 0
    with lake.connect() as con:
        assert con.execute("SELECT count(*) FROM raw.finra_short_volume").fetchone()[0] == expected, (
            "a writer killed before its commit changed nothing"
        )


def test_make_sql_answers_and_names_a_missing_lake(
    platform_build: PlatformBuild, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    for name, value in lake_env(platform_build.lake).items():
        monkeypatch.setenv(name, value)
    assert sql.run("SELECT count(*) AS n FROM marts.fct_short_volume_daily") == 0
    assert "n" in capsys.readouterr().out
    monkeypatch.setenv("TICKERLAKE_CATALOG", f"sqlite:{tmp_path / 'nothing-here.sqlite'}")
    assert sql.run("SELECT 1") == 1
    assert "no lake catalog at" in capsys.readouterr().err


def test_exports_write_one_dated_csv_per_trading_day(platform_build: PlatformBuild, tmp_path: Path) -> None:
    exports = ExportDirectory(root=str(tmp_path / "exports"))
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [short_volume_csv],
            resources={"lake": platform_build.lake, "exports": exports},
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
    with platform_build.lake.connect() as con:
        expected = con.execute(
            "SELECT symbol, short_volume, total_volume, short_ratio FROM marts.fct_short_volume_daily "
            "WHERE trade_date = '2024-07-12' AND short_volume IS NOT NULL ORDER BY symbol"
        ).fetchall()
    assert [(r[1], float(r[2]), float(r[3]), float(r[4])) for r in rows[1:]] == expected
    assert {r[0] for r in rows[1:]} == {"2024-07-12"}
