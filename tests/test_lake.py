"""The lake's transactions: partitions replaced atomically, stamps, writers in several processes."""

import datetime as dt
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from resources.completeness import Completeness
from resources.lake import Between, Dataset, LakeResource, LakeWriteError, LocalLake, S3Lake, _predicate, lake_at_root
from tests.helpers import ROOT

BARS = Dataset(
    "bars", {"symbol": pl.String(), "trade_date": pl.Date(), "close": pl.Float64()}, order=("symbol", "trade_date")
)
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


def test_a_dataset_that_keeps_history_keeps_what_each_replacement_took_away(lake: LakeResource) -> None:
    """A revised value stays queryable as it was known: its old row, when it was written and when replaced."""
    revised = Dataset(
        "revised_bars",
        BARS.schema,
        order=BARS.order,
        completeness=Completeness(per="trade_date", keys=("symbol",)),
        keeps_history=True,
    )
    lake.replace(revised, pl.concat([bars("KO", DAYS, [1.0, 2.0, 3.0]), bars("PEP", DAYS, [4.0, 5.0, 6.0])]))
    first = lake.read(revised, stamps=True)
    lake.replace(revised, pl.concat([bars("KO", DAYS, [1.0, 2.0, 3.0]), bars("PEP", DAYS, [4.0, 5.0, 6.0])]))
    assert lake.read(revised, stamps=True).equals(first), "a re-fetch that changed nothing keeps every stamp"
    assert lake.read(revised.history).is_empty(), "and adds no history"

    time.sleep(0.001)
    day_two = {"trade_date": DAYS[1]}
    lake.replace(revised, bars("KO", DAYS[1:2], [2.5]), where=day_two, allow_shrink=True)
    history = lake.read(revised.history, stamps=True)
    assert history.select("symbol", "trade_date", "close").rows() == [("KO", DAYS[1], 2.0), ("PEP", DAYS[1], 5.0)]
    assert history["_loaded_at"].to_list() == first.filter(trade_date=DAYS[1])["_loaded_at"].to_list()
    assert (history["_superseded_at"] > history["_loaded_at"]).all()
    assert lake.read(revised, where=day_two)["close"].to_list() == [2.5]

    refused = lake.replace(revised, bars("KO", DAYS[2:], [9.0]), where={"trade_date": DAYS[2]})
    assert refused.refused and lake.read(revised.history).height == 2, "a refused shrink replaces nothing"


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
from resources.lake import lake_at_root
from tests.test_lake import BARS
lake = lake_at_root(sys.argv[1], sys.argv[2], os.environ.get("TICKERLAKE_S3_ENDPOINT_URL"))
symbol = sys.argv[3]
for i in range(12):
    day = dt.date(2024, 1, 1) + dt.timedelta(days=i)
    frame = pl.DataFrame({"symbol": [symbol] * 50, "trade_date": [day] * 50, "close": [float(i)] * 50})
    lake.replace(BARS, frame, where={"symbol": symbol, "trade_date": day})
"""


def test_writers_in_several_processes_at_once_all_commit(lake: LakeResource) -> None:
    """Three processes replacing their own partitions of one table at the same time, on one catalog."""
    lake.ensure([BARS])
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, lake.location, lake.metadata, symbol],
            cwd=ROOT,
            stderr=subprocess.PIPE,
            text=True,
        )
        for symbol in ("KO", "PEP", "XOM")
    ]
    errors = [w.communicate(timeout=300)[1] for w in writers]
    assert [w.returncode for w in writers] == [0, 0, 0], "\n".join(errors)
    counts = lake.read(BARS).group_by("symbol").len().sort("symbol").rows()
    assert counts == [("KO", 600), ("PEP", 600), ("XOM", 600)]


S3_URL, POSTGRES = "s3://bucket/prefix", "postgres:dbname=tickerlake host=db.example"
LAKE_SETTINGS = {"catalog", "write_lock_timeout_seconds", "commit_attempts"}


def test_a_local_lake_is_a_folder_with_its_catalog_beside_it(tmp_path: Path) -> None:
    lake = lake_at_root(str(tmp_path / "lake"), s3_endpoint_url="http://127.0.0.1:9000")
    assert type(lake) is LocalLake and set(LocalLake.model_fields) == {"root", *LAKE_SETTINGS}
    assert lake.location == str(tmp_path.resolve() / "lake") and lake.data_path == lake.location + "/"
    assert lake.metadata == f"sqlite:{tmp_path.resolve() / 'tickerlake.sqlite'}"
    assert lake.catalog_file == tmp_path.resolve() / "tickerlake.sqlite"
    lake.ensure([BARS])
    assert (tmp_path / "lake").is_dir(), "the folder is made for the first write"
    lake.close()


def test_an_s3_lake_has_no_local_path_members() -> None:
    lake = lake_at_root(S3_URL + "/", POSTGRES, "http://127.0.0.1:9000")
    assert type(lake) is S3Lake and set(S3Lake.model_fields) == {"url", "endpoint_url", *LAKE_SETTINGS}
    assert not any(hasattr(lake, name) for name in ("root", "folder", "s3_endpoint_url")), "nothing local inherited"
    assert lake.location == S3_URL and lake.data_path == S3_URL + "/"
    assert lake.endpoint_url == "http://127.0.0.1:9000"
    assert lake.metadata == POSTGRES and lake.catalog_file is None and lake.write_lock_path is None


def test_each_lake_is_told_from_the_other_and_s3_requires_a_catalog() -> None:
    with pytest.raises(ValueError, match="a lake on S3 needs a catalog"):
        lake_at_root(S3_URL)
    with pytest.raises(ValueError, match="catalog"):
        S3Lake(url=S3_URL)
    with pytest.raises(ValueError, match="is not an s3://bucket/prefix URL"):
        S3Lake(url="data/lake", catalog=POSTGRES)
    with pytest.raises(ValueError, match="is an S3 URL, not a folder"):
        LocalLake(root=S3_URL)
    with pytest.raises(TypeError, match="abstract"):
        LakeResource()  # the interface: only its implementations are lakes


@pytest.mark.parametrize(
    "lake", [LocalLake(root="data/lake"), S3Lake(url=S3_URL, catalog=POSTGRES)], ids=lambda lake: type(lake).__name__
)
def test_dagster_gives_either_implementation_to_a_lake_resource_parameter(lake: LakeResource) -> None:
    """Assets and sensors take `lake: LakeResource`: Dagster finds resources by parameter name and passes the
    instance as configured, the annotation only marks the parameter as a resource."""

    @dg.asset
    def lake_kind(lake: LakeResource) -> str:
        return type(lake).__name__

    @dg.sensor(asset_selection=[lake_kind])
    def lake_kind_sensor(lake: LakeResource) -> dg.SkipReason:
        return dg.SkipReason(type(lake).__name__)

    with dg.instance_for_test() as instance:
        result = dg.materialize([lake_kind], resources={"lake": lake}, instance=instance)
        with dg.build_sensor_context(instance=instance, resources={"lake": lake}) as context:
            skipped = lake_kind_sensor(context)
    assert result.output_for_node("lake_kind") == type(lake).__name__ == skipped.skip_message


def test_dates_and_numbers_are_literals_and_text_is_always_a_parameter() -> None:
    """DuckLake skips data files only on constants, so a day's replacement names its day in the SQL; text
    (a symbol, whatever it holds) never enters the statement."""
    hostile = "X') OR true --"
    condition, params = _predicate(
        {"trade_date": Between(dt.date(2024, 7, 1), dt.date(2024, 7, 2)), "symbol": [hostile, "AAPL"], "n": 3}
    )
    assert condition == (
        '"trade_date" >= DATE \'2024-07-01\' AND "trade_date" < DATE \'2024-07-02\' AND "symbol" IN (?, ?) AND "n" = 3'
    )
    assert params == [hostile, "AAPL"]
    stamp = dt.datetime(2024, 7, 1, 20, 0, tzinfo=dt.UTC)
    after, _ = _predicate({"_loaded_at": Between(stamp, None)})
    assert after == "\"_loaded_at\" >= TIMESTAMPTZ '2024-07-01 20:00:00+00:00'"
