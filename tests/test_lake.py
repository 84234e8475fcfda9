"""The lake's transactions: partitions replaced atomically, stamps, writers in several processes."""

import datetime as dt
import subprocess
import sys
import time

import polars as pl
import pytest

from resources.lake import Between, Dataset, LakeResource, LakeWriteError
from tests.helpers import ROOT

BARS = Dataset("bars", {"symbol": pl.String(), "trade_date": pl.Date(), "close": pl.Float64()},
               order=("symbol", "trade_date"))
DAYS = [dt.date(2024, 7, d) for d in (1, 2, 3)]


def bars(symbol: str, days: list[dt.date], closes: list[float]) -> pl.DataFrame:
    return pl.DataFrame({"symbol": symbol, "trade_date": days, "close": closes})


def test_a_replacement_swaps_exactly_its_rows(lake: LakeResource) -> None:
    lake.replace(BARS, pl.concat([bars("KO", DAYS, [1.0, 2.0, 3.0]), bars("PEP", DAYS, [4.0, 5.0, 6.0])]))
    lake.replace(BARS, bars("KO", DAYS[1:], [20.0, 30.0]), where={"symbol": "KO", "trade_date": Between(DAYS[1], None)})
    stored = lake.read(BARS)
    assert stored.filter(symbol="KO")["close"].to_list() == [1.0, 20.0, 30.0]
    assert stored.filter(symbol="PEP")["close"].to_list() == [4.0, 5.0, 6.0]
    lake.replace(BARS, bars("KO", DAYS[1:], [20.0, 30.0]), where={"symbol": "KO", "trade_date": Between(DAYS[1], None)})
    assert lake.read(BARS).equals(stored), "a rerun gives the same rows, never duplicates"
    lake.replace(BARS, bars("XOM", DAYS[:1], [7.0]))
    assert lake.read(BARS)["symbol"].to_list() == ["XOM"], "no selection replaces the whole table"


def test_stamps_move_only_where_values_change(lake: LakeResource) -> None:
    """What lets incremental models read only the rows a re-fetch changed."""
    lake.replace(BARS, bars("KO", DAYS, [10.0, 11.0, 12.0]), where={"symbol": "KO"}, keep_stamps=True)
    first = lake.read(BARS, stamps=True)["_loaded_at"][0]
    time.sleep(0.001)
    fetched = bars("KO", [*DAYS[1:], dt.date(2024, 7, 5)], [11.0, 12.5, 13.0])
    lake.replace(BARS, fetched, where={"symbol": "KO", "trade_date": Between(DAYS[1], None)}, keep_stamps=True)
    stamps = lake.read(BARS, stamps=True)["_loaded_at"].to_list()
    assert stamps[:2] == [first, first], "untouched and re-fetched-equal rows keep their stamp"
    assert all(stamp > first for stamp in stamps[2:]), "the restated and the new day move"


def test_a_failed_transaction_leaves_the_previous_version(lake: LakeResource) -> None:
    lake.replace(BARS, bars("KO", DAYS, [1.0, 2.0, 3.0]))
    before = lake.read(BARS, stamps=True)

    def half_done(tx) -> None:
        tx.replace(BARS, bars("KO", DAYS, [9.0, 9.0, 9.0]), where={"symbol": "KO"})
        raise OSError(28, "No space left on device")

    with pytest.raises(LakeWriteError, match=r"bars symbol=KO.*No space left on device.*previous version is unchanged"):
        lake.transaction(half_done, "bars symbol=KO")
    assert lake.read(BARS, stamps=True).equals(before)


def test_an_earlier_snapshot_stays_readable_after_newer_data(lake: LakeResource) -> None:
    lake.replace(BARS, bars("KO", DAYS, [1.0, 2.0, 3.0]))
    with lake.connect() as con:
        snapshot = con.execute("SELECT max(snapshot_id) FROM tickerlake.snapshots()").fetchone()[0]
    lake.replace(BARS, bars("KO", DAYS, [7.0, 8.0, 9.0]), where={"symbol": "KO"})
    with lake.connect() as con:
        then = con.execute(f"SELECT close FROM raw.bars AT (VERSION => {snapshot}) ORDER BY trade_date").fetchall()
        now = con.execute("SELECT close FROM raw.bars ORDER BY trade_date").fetchall()
    assert [r[0] for r in then] == [1.0, 2.0, 3.0] and [r[0] for r in now] == [7.0, 8.0, 9.0]


WRITER = """
import datetime as dt, os, sys
import polars as pl
from resources.lake import Dataset, LakeResource
from tests.test_lake import BARS
lake = LakeResource(root=sys.argv[1], catalog=sys.argv[2], s3_endpoint_url=os.environ.get("TICKERLAKE_S3_ENDPOINT_URL"))
symbol = sys.argv[3]
for i in range(12):
    day = dt.date(2024, 1, 1) + dt.timedelta(days=i)
    frame = pl.DataFrame({"symbol": [symbol] * 50, "trade_date": [day] * 50, "close": [float(i)] * 50})
    lake.replace(BARS, frame, where={"symbol": symbol, "trade_date": day})
"""


def test_writers_in_several_processes_at_once_all_commit(lake: LakeResource) -> None:
    """Three processes replacing their own partitions of one table at the same time, on one catalog."""
    lake.ensure([BARS])
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, lake.root, lake.metadata, symbol], cwd=ROOT,
                                stderr=subprocess.PIPE, text=True) for symbol in ("KO", "PEP", "XOM")]
    errors = [w.communicate(timeout=300)[1] for w in writers]
    assert [w.returncode for w in writers] == [0, 0, 0], "\n".join(errors)
    counts = lake.read(BARS).group_by("symbol").len().sort("symbol").rows()
    assert counts == [("KO", 600), ("PEP", 600), ("XOM", 600)]
