"""The analytics marts checked against independent polars/numpy computations on the sample."""

import datetime as dt
import hashlib
from pathlib import Path

import dagster as dg
import numpy as np
import polars as pl
import pytest

from resources.lake import LakeResource
from tests.helpers import PlatformBuild, branch_of, dbt_cli

HORIZONS = [1, 5, 22, 65]


def frame(lake: LakeResource, sql: str) -> pl.DataFrame:
    with lake.connect(read_only=True) as con:
        return con.sql(sql).pl()


@pytest.fixture(scope="module")
def prices(platform_build: PlatformBuild) -> pl.DataFrame:
    return frame(
        platform_build.lake,
        "SELECT symbol, trade_date, adj_close, daily_return, close_usd, adj_close_usd "
        "FROM marts.fct_prices_daily ORDER BY symbol, trade_date",
    )


def test_forward_returns_enter_at_the_next_close(platform_build: PlatformBuild, prices: pl.DataFrame) -> None:
    expected = prices.with_columns(
        *(
            (
                pl.col("adj_close").shift(-(h + 1)).over("symbol") / pl.col("adj_close").shift(-1).over("symbol") - 1
            ).alias(f"fwd_return_{h}d")
            for h in HORIZONS
        )
    ).select("symbol", "trade_date", *(f"fwd_return_{h}d" for h in HORIZONS))
    actual = frame(
        platform_build.lake,
        "SELECT symbol, trade_date, "
        + ", ".join(f"fwd_return_{h}d" for h in HORIZONS)
        + " FROM marts.fct_returns ORDER BY symbol, trade_date",
    )
    assert actual.height == expected.height
    for h in HORIZONS:
        column = f"fwd_return_{h}d"
        assert actual[column].is_null().to_list() == expected[column].is_null().to_list()
        np.testing.assert_allclose(
            actual[column].drop_nulls().to_numpy(), expected[column].drop_nulls().to_numpy(), rtol=1e-12
        )
    assert actual["fwd_return_65d"].drop_nulls().len() > 0, "the sample is long enough for every horizon"


def test_a_days_return_uses_t_plus_1_and_t_plus_2_closes(platform_build: PlatformBuild) -> None:
    rows = frame(
        platform_build.lake,
        "SELECT trade_date, adj_close, fwd_return_1d, short_ratio "
        "FROM marts.fct_returns WHERE symbol = 'AAPL' AND trade_date BETWEEN '2024-07-08' AND '2024-07-12' "
        "ORDER BY trade_date",
    ).rows()
    (_, _, return_8th, ratio_8th), (_, close_9th, _, _), (_, close_10th, _, _) = rows[:3]
    assert return_8th == pytest.approx(close_10th / close_9th - 1)
    assert ratio_8th is not None
    assert rows[-1][2] is None and rows[-2][2] is None, "no t+2 close for the last two days"


def test_volatility_windows_match_two_week_calendar_windows(
    platform_build: PlatformBuild, prices: pl.DataFrame
) -> None:
    weeks = prices.with_columns(
        week=pl.col("trade_date").dt.truncate("1w"),
        daily_return_usd=pl.col("adj_close_usd") / pl.col("adj_close_usd").shift(1).over("symbol") - 1,
    )
    members = pl.concat(
        [
            weeks.with_columns(window_start=pl.col("week")),
            weeks.with_columns(window_start=pl.col("week") - pl.duration(days=7)),
        ]
    )
    expected = (
        members.group_by("symbol", "window_start")
        .agg(
            pl.len().alias("n_days"),
            pl.col("daily_return").std().alias("return_volatility"),
            pl.col("daily_return_usd").std().alias("return_volatility_usd"),
            pl.col("adj_close_usd").std().alias("price_volatility_usd"),
            pl.col("adj_close_usd").mean().alias("mean_price_usd"),
        )
        .sort("symbol", "window_start")
    )
    actual = frame(
        platform_build.lake,
        "SELECT symbol, window_start, n_days, return_volatility, return_volatility_usd, "
        "price_volatility_usd, mean_price_usd FROM marts.fct_volatility_windows ORDER BY ALL",
    )
    assert (
        actual.select("symbol", "window_start", "n_days").rows()
        == expected.select("symbol", "window_start", "n_days").rows()
    )
    for column in ("return_volatility", "return_volatility_usd", "price_volatility_usd", "mean_price_usd"):
        np.testing.assert_allclose(
            actual[column].fill_null(np.nan).to_numpy(), expected[column].fill_null(np.nan).to_numpy(), rtol=1e-9
        )
    assert actual["n_days"].max() == 10


def test_ranking_orders_symbols_by_mean_window_volatility(platform_build: PlatformBuild) -> None:
    windows = frame(platform_build.lake, "SELECT * FROM marts.fct_volatility_windows WHERE n_returns >= 5")
    first_day = windows["window_end"].max() - dt.timedelta(days=365)
    expected = (
        windows.filter(pl.col("window_start") >= first_day)
        .group_by("symbol")
        .agg(pl.col("return_volatility_usd").mean().alias("v"))
        .sort("v", descending=True)
    )
    ranking = frame(
        platform_build.lake,
        "SELECT symbol, mean_return_volatility_usd FROM marts.mart_volatility_ranking ORDER BY volatility_rank",
    )
    assert ranking["symbol"].to_list() == expected["symbol"].to_list()
    np.testing.assert_allclose(ranking["mean_return_volatility_usd"].to_numpy(), expected["v"].to_numpy(), rtol=1e-12)


def _correlation(sample: pl.DataFrame) -> float | None:
    return np.corrcoef(sample["short_ratio"], sample["fwd_return"])[0, 1] if sample.height > 1 else None


def expected_correlations(returns: pl.DataFrame, sectors: dict[str, str], per_sector: int, seed: str) -> pl.DataFrame:
    """The mart's recipe, step by step, in polars and numpy: each year on its own, then 'all' pooled."""
    pairs = pl.concat(
        [
            returns.select(
                "symbol", "trade_date", "short_ratio", pl.col(f"fwd_return_{h}d").alias("fwd_return")
            ).with_columns(horizon_days=pl.lit(h))
            for h in HORIZONS
        ]
    ).drop_nulls(["short_ratio", "fwd_return"])
    pairs = pairs.with_columns(
        period=pl.col("trade_date").dt.year().cast(pl.String),
        sector=pl.col("symbol").replace_strict(sectors, default="Other"),
    )
    cells, pooled = [], {}
    for (period, horizon), group in pairs.group_by("period", "horizon_days"):
        q25, q75 = np.quantile(group["fwd_return"].to_numpy(), [0.25, 0.75])
        band = group.filter(pl.col("fwd_return").is_between(q25, q75))
        for (sector,), cell in band.group_by("sector"):
            order = [
                hashlib.md5(f"{seed}|{s}|{d}|{horizon}".encode()).hexdigest()
                for s, d in zip(cell["symbol"], cell["trade_date"], strict=True)
            ]
            sample = cell.with_columns(order=pl.Series(order)).sort("order").head(per_sector)
            cells.append((sector, horizon, period, _correlation(sample), sample.height, cell.height))
            pooled.setdefault((sector, horizon), []).append((sample, cell.height))
    for (sector, horizon), parts in pooled.items():
        sample = pl.concat([part for part, _ in parts])
        cells.append((sector, horizon, "all", _correlation(sample), sample.height, sum(n for _, n in parts)))
    return pl.DataFrame(
        cells, schema=["sector", "horizon_days", "period", "correlation", "n_sample", "n_interquartile"], orient="row"
    ).sort("sector", "horizon_days", "period")


# A second year: the sample's returns 52 weeks earlier, three times as large, so the years' bands differ
# and 'all' (the years pooled) is not any one year.
EARLIER_YEAR = (
    "INSERT INTO marts.fct_returns SELECT * REPLACE (CAST(trade_date - INTERVAL 364 DAY AS DATE) AS trade_date, "
    + ", ".join(f"fwd_return_{h}d * 3 AS fwd_return_{h}d" for h in HORIZONS)
    + ") FROM marts.fct_returns"
)


def rebuild_correlation(build: PlatformBuild, tmp_path: Path, per_sector: int) -> LakeResource:
    """A full rebuild of the correlation models alone, with its sample size set, on a branch of the
    built lake given a second year of returns."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    copy = branch_of(build.lake, tmp_path / f"copy_{per_sector}.sqlite")
    with copy.connect(read_only=False) as con:
        con.execute(EARLIER_YEAR)
    completed = dbt_cli(
        copy,
        tmp_path / "target",
        "build",
        "--full-refresh",
        "--select",
        "int_short_return__yearly_moments",
        "mart_sector_short_return_correlation",
        "--vars",
        f"{{correlation_sample_per_sector: {per_sector}}}",
    )
    assert completed.returncode == 0, completed.stdout[-3000:]
    return copy


def test_sector_correlations_match_numpy_on_a_seeded_sample(platform_build: PlatformBuild, tmp_path: Path) -> None:
    sectors = dict(frame(platform_build.lake, "SELECT symbol, ff12_industry FROM marts.dim_symbols").rows())
    first = rebuild_correlation(platform_build, tmp_path, per_sector=40)
    returns = frame(first, "SELECT * FROM marts.fct_returns")
    actual = frame(
        first,
        "SELECT sector, horizon_days, period, correlation, n_sample, n_interquartile "
        "FROM marts.mart_sector_short_return_correlation ORDER BY sector, horizon_days, period",
    )
    expected = expected_correlations(returns, sectors, per_sector=40, seed="tickerlake")
    assert set(actual["period"]) == {"2023", "2024", "all"}
    assert (
        actual.select("sector", "horizon_days", "period", "n_sample", "n_interquartile").rows()
        == expected.select("sector", "horizon_days", "period", "n_sample", "n_interquartile").rows()
    )
    np.testing.assert_allclose(
        actual["correlation"].fill_null(np.nan).to_numpy(),
        expected["correlation"].fill_null(np.nan).to_numpy(),
        rtol=1e-9,
    )
    years = actual.filter(pl.col("period") != "all")
    assert years["n_sample"].max() == 40 < years["n_interquartile"].max(), "the sample cap was exercised"
    again = frame(
        rebuild_correlation(platform_build, tmp_path / "again", per_sector=40),
        "SELECT * FROM marts.mart_sector_short_return_correlation ORDER BY sector, horizon_days, period",
    )
    assert again.equals(
        frame(first, "SELECT * FROM marts.mart_sector_short_return_correlation ORDER BY sector, horizon_days, period")
    ), "the seeded sample is reproducible"


def test_periods_split_the_analysis_by_year(platform_build: PlatformBuild) -> None:
    periods = frame(platform_build.lake, "SELECT DISTINCT period FROM marts.mart_sector_short_return_correlation")
    assert set(periods["period"]) == {"all", "2024"}


@pytest.mark.parametrize(
    "model",
    ["marts/fct_short_volume_daily", "marts/fct_prices_daily", "marts/mart_volatility_ranking"],
)
def test_every_table_materialization_carries_its_row_count(platform_build: PlatformBuild, model: str) -> None:
    counted = _materialization_metadata(platform_build, model)["dagster/row_count"].value
    schema, table = model.split("/")
    assert counted == frame(platform_build.lake, f"SELECT count(*) AS n FROM {schema}.{table}")["n"][0] > 0


def test_a_view_materialization_is_not_counted(platform_build: PlatformBuild) -> None:
    """Counting a view runs its whole query (every FINRA row deduplicated, for this one) on every build."""
    assert "dagster/row_count" not in _materialization_metadata(platform_build, "staging/stg_finra__short_volume")


def _materialization_metadata(build: PlatformBuild, model: str) -> dict:
    event = build.instance.get_latest_materialization_event(dg.AssetKey(model.split("/")))
    assert event is not None and event.asset_materialization is not None
    return dict(event.asset_materialization.metadata)
