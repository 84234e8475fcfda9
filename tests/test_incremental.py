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
from tests.helpers import lake_at, serve_all_sources
from tests.platform_build import RANGE_END, RANGE_START, build_marts, platform_on, run

SYMBOLS = ["AAPL", "JPM", "KO", "MSFT", "XOM"]
INCREMENTAL = ["fct_prices_daily", "fct_short_volume_daily", "fct_returns", "fct_volatility_windows"]
MARTS = [*INCREMENTAL, "mart_volatility_ranking", "mart_sector_short_return_correlation"]


def snapshot(lake: LakeResource) -> dict[str, pl.DataFrame]:
    with lake.connect(read_only=True) as con:
        return {t: con.sql(f"SELECT * FROM marts.{t} ORDER BY ALL").pl() for t in MARTS}


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
        first = snapshot(lake)
        # The daily path: new trading days (prices from 2024-07-05, JPM's ex-dividend day, so JPM's
        # history is re-adjusted while the other symbols only append), and FINRA reposting an older day.
        run([finra_short_volume], resources, instance, {RANGE_START: "2024-07-10", RANGE_END: "2024-07-12"})
        run([finra_short_volume], resources, instance, {RANGE_START: "2024-07-01", RANGE_END: "2024-07-01"})
        run([prices_daily], resources, instance, days("2024-07-05", "2024-07-12"))
        build_marts(MARTS, resources, instance, full_refresh=False)
        incremental = snapshot(lake)
        build_marts(MARTS, resources, instance, full_refresh=True)
        yield first, incremental, snapshot(lake)
    lake.close()


@pytest.mark.parametrize("table", MARTS)
def test_incremental_runs_equal_a_full_refresh(increments: tuple[dict, dict, dict], table: str) -> None:
    _, incremental, full = increments
    # Columns starting with "_" record when a row was loaded (an appended symbol keeps its older rows'
    # load time), not a result: everything else must be equal.
    left, right = (snapshot[table].select(pl.exclude("^_.*$")) for snapshot in (incremental, full))
    assert left.columns == right.columns and left.height == right.height
    floats = [c for c, t in left.schema.items() if t.is_float()]
    assert left.drop(floats).equals(right.drop(floats)), f"marts.{table}: keys or counts differ"
    for column in floats:
        # Aggregates may sum in another order: equal to the last few bits, not bit for bit.
        np.testing.assert_allclose(
            left[column].fill_null(np.nan).to_numpy(),
            right[column].fill_null(np.nan).to_numpy(),
            rtol=1e-12,
            err_msg=f"marts.{table}.{column}",
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
