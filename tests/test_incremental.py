"""Incremental dbt runs give exactly what a full refresh gives."""

import datetime as dt
from collections.abc import Iterator

import dagster as dg
import numpy as np
import polars as pl
import pytest

from assets.finra import finra_short_volume
from assets.fx import fx_rates_ecb
from assets.prices import prices_daily
from assets.sectors import sec_company_sic, sec_company_tickers
from assets.symbols import symbol_directory
from resources.lake import LakeResource
from tests.helpers import PlatformBuild, branch_of, lake_at, serve_all_sources
from tests.platform_build import RANGE_END, RANGE_START, build_marts, platform_on, run

SYMBOLS = ["AAPL", "JPM", "KO", "MSFT", "XOM"]
INCREMENTAL = [
    "fct_prices_daily",
    "fct_short_volume_daily",
    "fct_returns",
    "fct_volatility_windows",
    "fct_short_panel_daily",
]
MARTS = [
    *INCREMENTAL,
    "dim_symbols",
    "mart_volatility_ranking",
    "mart_sector_short_return_correlation",
    "mart_days_to_cover_deciles",
]
PANEL = ["marts.fct_short_panel_daily", "intermediate.int_short_panel__month_end_signals"]
# What a daily run may learn late, held back from the first build and stored (written anew) before the
# second: a short interest date (published 06-27), a half-month of fails, SEC filings, a threshold list
# (consecutive days count across lists), FINRA's and the prices' newest days.
LATE = {
    "finra_short_interest": "settlement_date = DATE '2024-06-14'",
    "sec_fails_to_deliver": "half_month = '2024-06a'",
    "sec_shares_outstanding": "filed >= DATE '2024-05-01'",
    "regsho_threshold_list": "trade_date = DATE '2024-04-01'",
    "regsho_threshold_files": "trade_date = DATE '2024-04-01'",
    "finra_short_volume": "trade_date >= DATE '2024-07-11'",
    "prices_daily": "trade_date >= DATE '2024-07-11'",
}


def snapshot(lake: LakeResource, tables: list[str]) -> dict[str, pl.DataFrame]:
    with lake.connect(read_only=True) as con:
        return {t: con.sql(f"SELECT * FROM {t} ORDER BY ALL").pl() for t in tables}


def marts_snapshot(lake: LakeResource) -> dict[str, pl.DataFrame]:
    return {name.split(".")[1]: frame for name, frame in snapshot(lake, [f"marts.{t}" for t in MARTS]).items()}


def days(first: str, last: str) -> dict[str, str]:
    return {RANGE_START: first, RANGE_END: last}


@pytest.fixture(scope="module")
def increments(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict, dict, dict]]:
    """(after the first build, after a daily increment, after a full refresh) snapshots of the marts."""
    root = tmp_path_factory.mktemp("incremental")
    lake = lake_at(root)
    with serve_all_sources() as mirror, platform_on(mirror, lake) as resources, dg.instance_for_test() as instance:
        run([symbol_directory, sec_company_tickers, sec_company_sic, fx_rates_ecb], resources, instance)
        instance.add_dynamic_partitions("symbols", SYMBOLS)
        run([finra_short_volume], resources, instance, {RANGE_START: "2024-03-01", RANGE_END: "2024-07-09"})
        run([prices_daily], resources, instance, days("2024-03-01", "2024-07-03"))
        build_marts(MARTS, resources, instance, full_refresh=False)
        first = marts_snapshot(lake)
        # The daily path: new trading days (prices from 2024-07-05, JPM's ex-dividend day, so JPM's
        # history is re-adjusted while the other symbols only append), and FINRA reposting an older day.
        run([finra_short_volume], resources, instance, {RANGE_START: "2024-07-10", RANGE_END: "2024-07-12"})
        run([finra_short_volume], resources, instance, {RANGE_START: "2024-07-01", RANGE_END: "2024-07-01"})
        run([prices_daily], resources, instance, days("2024-07-05", "2024-07-12"))
        build_marts(MARTS, resources, instance, full_refresh=False)
        incremental = marts_snapshot(lake)
        build_marts(MARTS, resources, instance, full_refresh=True)
        yield first, incremental, marts_snapshot(lake)
    lake.close()


@pytest.mark.parametrize("table", MARTS)
def test_incremental_runs_equal_a_full_refresh(increments: tuple[dict, dict, dict], table: str) -> None:
    _, incremental, full = increments
    assert_same(incremental[table], full[table], table)


def assert_same(left: pl.DataFrame, right: pl.DataFrame, table: str) -> None:
    """Equal but for the bookkeeping columns ("_"-prefixed: when a row was loaded or built, not a result),
    floats to the last few bits (aggregates may sum in another order)."""
    left, right = (frame.select(pl.exclude("^_.*$")) for frame in (left, right))
    assert left.columns == right.columns and left.height == right.height, table
    floats = [c for c, t in left.schema.items() if t.is_float()]
    assert left.drop(floats).equals(right.drop(floats)), f"{table}: keys or counts differ"
    for column in floats:
        np.testing.assert_allclose(
            left[column].fill_null(np.nan).to_numpy(),
            right[column].fill_null(np.nan).to_numpy(),
            rtol=1e-12,
            err_msg=f"{table}.{column}",
        )


def test_the_increment_added_the_new_days(increments: tuple[dict, dict, dict]) -> None:
    first, incremental, _ = increments
    assert first["fct_short_volume_daily"]["trade_date"].max() == dt.date(2024, 7, 9)
    assert incremental["fct_short_volume_daily"]["trade_date"].max() == dt.date(2024, 7, 12)
    returns = incremental["fct_returns"].filter(pl.col("trade_date") == dt.date(2024, 7, 9))
    assert returns["fwd_return_1d"].is_not_null().all(), "day t's return needs t+2: it came with the increment"


def test_a_dividend_in_the_increment_readjusts_that_symbols_history(increments: tuple[dict, dict, dict]) -> None:
    first, incremental, _ = increments

    def factor(snapshot: dict, symbol: str) -> float:
        prices = snapshot["fct_prices_daily"]
        return prices.filter(pl.col("symbol") == symbol, pl.col("trade_date") == dt.date(2024, 6, 3))["adj_factor"][0]

    assert factor(first, "JPM") == 1.0 and factor(incremental, "JPM") < 1.0  # JPM's 2024-07-05 dividend
    assert factor(first, "AAPL") == factor(incremental, "AAPL")  # no event: AAPL only appended days


@pytest.fixture(scope="module")
def late_values(platform_build: PlatformBuild, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple]:
    """(the panel after an incremental build that found the LATE rows newly stored, after a full refresh,
    the rows that incremental build wrote), on a branch of the platform build's lake."""
    lake = branch_of(platform_build.lake, tmp_path_factory.mktemp("late") / "catalog.sqlite")
    with lake.connect(read_only=True) as con:
        held = {table: con.sql(f"SELECT * FROM raw.{table} WHERE {where}").pl() for table, where in LATE.items()}
    with lake.connect(read_only=False) as con:
        for table, where in LATE.items():
            con.execute(f"DELETE FROM raw.{table} WHERE {where}")
    marts = ["fct_short_panel_daily", "mart_days_to_cover_deciles"]
    with platform_on(platform_build.mirror, lake) as resources, dg.instance_for_test() as instance:
        build_marts(marts, resources, instance, full_refresh=True)
        with lake.connect(read_only=False) as con:
            for table, rows in held.items():
                con.register("late_rows", rows)
                con.execute(f"INSERT INTO raw.{table} SELECT * REPLACE (now() AS _loaded_at) FROM late_rows")
                con.unregister("late_rows")
        build_marts(marts, resources, instance, full_refresh=False)
        incremental = snapshot(lake, PANEL)
        with lake.connect(read_only=True) as con:
            rewritten = con.sql(
                "SELECT * FROM marts.fct_short_panel_daily "
                "WHERE _built_at = (SELECT max(_built_at) FROM marts.fct_short_panel_daily)"
            ).pl()
        build_marts(marts, resources, instance, full_refresh=True)
        yield incremental, snapshot(lake, PANEL), rewritten
    lake.close()


@pytest.mark.parametrize("table", PANEL)
def test_values_stored_late_reach_the_panel_as_a_full_refresh_would(late_values: tuple, table: str) -> None:
    incremental, full, _ = late_values
    assert_same(incremental[table], full[table], table)
    assert incremental[table].height > 100


def test_the_panels_increment_rewrites_only_the_days_late_values_reach(late_values: tuple) -> None:
    """Every symbol's days from the first one a late value reaches, nothing before: the threshold list of
    04-01 reaches every symbol from that day; nothing earlier is rewritten."""
    incremental, _, rewritten = late_values
    panel = incremental["marts.fct_short_panel_daily"]
    assert 0 < rewritten.height < panel.height
    assert rewritten["trade_date"].min() == dt.date(2024, 4, 1)
    assert rewritten.height == panel.filter(pl.col("trade_date") >= dt.date(2024, 4, 1)).height
