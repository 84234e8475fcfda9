"""Equity labels and the equity feature mart on the sample: point in time, and incremental = full refresh."""

import datetime as dt
from collections.abc import Iterator

import dagster as dg
import polars as pl
import pytest

from assets.equity_indicators import equity_indicators
from assets.equity_labels import DATASET as LABELS
from assets.equity_labels import equity_labels
from assets.labels import first_touch_labels
from assets.partitions import sessions
from assets.technicals import atr
from resources.cboe import DEFAULT_INDEXES, index_list
from tests.helpers import PlatformBuild, branch_of
from tests.platform_build import RANGE_END, RANGE_START, all_assets, build_marts, platform_on
from tests.test_features import as_of

MART = "fct_features_equity_daily"
HORIZON = 10


def build_mart(resources: dict, instance: dg.DagsterInstance, full_refresh: bool) -> pl.DataFrame:
    build_marts([MART], resources, instance, full_refresh)
    with resources["lake"].connect(read_only=True) as con:
        return con.sql(f"SELECT * EXCLUDE (_built_at) FROM marts.{MART} ORDER BY ALL").pl()


def equities(resources: dict, instance: dg.DagsterInstance, first: str, last: str) -> None:
    result = dg.materialize(
        all_assets(),
        selection=[equity_indicators, equity_labels],
        resources=resources,
        instance=instance,
        tags={RANGE_START: first, RANGE_END: last},
    )
    assert result.success


@pytest.fixture(scope="module")
def built(platform_build: PlatformBuild, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple]:
    """(lake, mart after a first build, after an increment, after a full refresh), on a branch of the
    platform build's lake, so the session's other tests see it as it was."""
    lake = branch_of(platform_build.lake, tmp_path_factory.mktemp("equity_features") / "catalog.sqlite")
    with (
        platform_on(platform_build.mirror, lake, TICKERLAKE_LABEL_HORIZON=str(HORIZON)) as resources,
        dg.instance_for_test() as instance,
    ):
        equities(resources, instance, "2024-03-01", "2024-06-28")
        first = build_mart(resources, instance, full_refresh=False)
        equities(resources, instance, "2024-07-01", "2024-07-12")
        incremental = build_mart(resources, instance, full_refresh=False)
        yield lake, first, incremental, build_mart(resources, instance, full_refresh=True)
    lake.close()


def test_an_incremental_run_equals_a_full_refresh(built: tuple) -> None:
    _, first, incremental, full = built
    assert incremental.equals(full)
    assert first["trade_date"].max() == dt.date(2024, 6, 28) < incremental["trade_date"].max()


def test_no_feature_of_a_day_was_published_after_its_close(built: tuple) -> None:
    lake, _, _, full = built
    for column in ("fred_available_from", "cboe_available_from", "cot_available_from"):
        assert (full[column].drop_nulls() <= full.filter(pl.col(column).is_not_null())["bar_close_at"]).all()
    assert full["cot_available_from"].is_not_null().any() and full["vix_close"].is_not_null().all()
    assert (
        full["short_panel_date"].drop_nulls() < full.filter(pl.col("short_panel_date").is_not_null())["trade_date"]
    ).all()
    assert full["short_ratio"].is_not_null().mean() > 0.9, "the previous day's panel is there for nearly every row"
    with lake.connect(read_only=True) as con:
        cboe = con.sql(
            "SELECT index_symbol, close AS value, available_from FROM staging.stg_cboe__index_history "
            "ORDER BY available_from"
        ).pl()
        cot = con.sql(
            "SELECT asset_manager_net_share AS value, available_from FROM marts.fct_cot_positioning "
            "WHERE instrument_class = 'equity' ORDER BY available_from"
        ).pl()
    vix_days = cboe.filter(pl.col("index_symbol") == "VIX")["available_from"].implode()
    for index in index_list(DEFAULT_INDEXES):
        releases = cboe.filter(pl.col("index_symbol") == index, pl.col("available_from").is_in(vix_days))
        assert as_of(full, releases, f"{index.lower()}_close").is_empty(), index
    assert as_of(full, cot, "cot_asset_manager_net_share").is_empty()
    # The close is 16:00 and VIX's close public at 16:15: a day's row carries the day before's VIX.
    day = full.filter(pl.col("trade_date") == dt.date(2024, 7, 12)).row(0, named=True)
    assert day["cboe_available_from"] == dt.datetime(2024, 7, 11, 20, 15, tzinfo=dt.UTC)


def test_labels_match_the_definition_over_each_symbols_whole_adjusted_history(built: tuple) -> None:
    """Partition D labels the bar H sessions before D; recomputed here from each symbol's whole history
    adjusted to today's basis (a split inside a horizon is no move), with ATR on that same series."""
    lake, *_ = built
    stored = lake.read(LABELS)
    days = sessions(dt.date(2024, 3, 1), dt.date(2024, 7, 12))
    assert stored["trade_date"].max() == days[-1 - HORIZON] and (stored["horizon"] == HORIZON).all()
    completed = dict(zip(days[:-HORIZON], days[HORIZON:], strict=True))
    assert all(completed[row["trade_date"]] == row["completed_on"] for row in stored.iter_rows(named=True))
    with lake.connect(read_only=True) as con:
        prices = con.execute(
            "SELECT symbol, trade_date, open * adj_factor AS open, high * adj_factor AS high, low * adj_factor AS low, "
            "close * adj_factor AS close FROM marts.fct_prices_daily WHERE trade_date <= DATE '2024-07-12' "
            "ORDER BY symbol, trade_date"
        ).pl()
    compared = 0
    for bars in prices.partition_by("symbol"):
        if bars["trade_date"].to_list() != days[-bars.height :]:
            continue  # a symbol with a gap: its horizon counts sessions, left to the partition test
        ohlc = [bars[c].to_numpy() for c in ("open", "high", "low", "close")]
        expected = first_touch_labels(*ohlc, atr(*ohlc[1:]), HORIZON)
        mine = stored.filter(pl.col("symbol") == bars["symbol"][0]).sort("trade_date")
        wanted = dict(zip(bars["trade_date"].to_list(), expected, strict=True))
        assert mine["label"].to_list() == [wanted[day] for day in mine["trade_date"]], bars["symbol"][0]
        compared += mine.height
    assert compared > 1000
    assert set(stored["label"].drop_nulls()) == {"up2", "up1", "flat", "down1", "down2"}
    closes = stored.drop_nulls("atr_14")
    assert (closes["close"] > 0).all() and (closes["atr_14"] > 0).all(), "the bar's own close and ATR"
