"""The short-selling marts on the sample: point in time, and the deciles against an independent polars computation."""

import polars as pl
import pytest

from tests.helpers import PlatformBuild
from tests.platform_build import rows


def frame(build: PlatformBuild, sql: str) -> pl.DataFrame:
    with build.lake.connect(read_only=True) as con:
        return con.execute(sql).pl()


def test_the_panel_shows_a_value_only_from_its_publication(platform_build: PlatformBuild) -> None:
    """No row of the panel carries short interest or fails published after its day."""
    early = rows(
        platform_build,
        """
        SELECT panel.symbol, panel.trade_date, panel.short_interest_settlement_date, si.available_from
        FROM marts.fct_short_panel_daily AS panel
        JOIN marts.fct_short_interest AS si
          ON si.symbol = panel.symbol AND si.settlement_date = panel.short_interest_settlement_date
        WHERE si.available_from > panel.trade_date
        UNION ALL
        SELECT panel.symbol, panel.trade_date, panel.fails_settlement_date, ftd.available_from::date
        FROM marts.fct_short_panel_daily AS panel
        JOIN marts.fct_fails_to_deliver AS ftd
          ON ftd.symbol = panel.symbol AND ftd.settlement_date = panel.fails_settlement_date
        WHERE (ftd.available_from AT TIME ZONE 'America/New_York')::date > panel.trade_date
        """,
    )
    assert early == []
    known = rows(
        platform_build,
        "SELECT count(short_interest), count(fails), count(*) FROM marts.fct_short_panel_daily",
    )[0]
    assert known[0] > 0 and known[1] > 0, "the sample publishes both within its months"
    assert known[0] < known[2], "and nothing before the first publication"


def _ntile(position: pl.Expr, count: pl.Expr, buckets: int = 10) -> pl.Expr:
    """DuckDB's ntile: the first count % buckets deciles hold one row more."""
    size, extra = count // buckets, count % buckets
    large = extra * (size + 1)
    return (
        pl.when(position < large)
        .then(position // (size + 1) + 1)
        .otherwise(extra + 1 + (position - large) // pl.when(size > 0).then(size).otherwise(1))
    )


def expected_deciles(build: PlatformBuild) -> pl.DataFrame:
    panel = frame(
        build,
        "SELECT symbol, trade_date, short_ratio, consolidated_days_to_cover, market_cap "
        "FROM marts.fct_short_panel_daily",
    )
    returns = frame(build, "SELECT symbol, trade_date, fwd_return_22d FROM marts.fct_returns")
    calendar = frame(build, "SELECT trade_date FROM intermediate.int_trading_days")
    month = pl.col("trade_date").dt.truncate("1mo")
    ends = (
        calendar.filter(pl.col("trade_date") <= panel["trade_date"].max())
        .group_by(month.alias("month"))
        .agg(pl.col("trade_date").max())
    )
    monthly_ratio = panel.group_by("symbol", month.alias("month")).agg(pl.col("short_ratio").mean())
    signals = (
        panel.drop("short_ratio")
        .join(ends.select("trade_date"), on="trade_date")
        .with_columns(month.alias("month"))
        .join(monthly_ratio, on=["symbol", "month"])
        .join(returns.drop_nulls("fwd_return_22d"), on=["symbol", "trade_date"])
        .rename({"consolidated_days_to_cover": "days_to_cover"})
        .unpivot(
            ["days_to_cover", "short_ratio"],
            index=["symbol", "trade_date", "fwd_return_22d", "market_cap"],
            variable_name="sorted_by",
        )
        .drop_nulls("value")
        .sort("sorted_by", "trade_date", "value", "symbol")
    )
    ranked = signals.with_columns(
        _ntile(pl.int_range(pl.len()).over("sorted_by", "trade_date"), pl.len().over("sorted_by", "trade_date")).alias(
            "decile"
        )
    )
    weighted = (pl.col("fwd_return_22d") * pl.col("market_cap")).sum() / pl.col("market_cap").sum()
    months = ranked.group_by("sorted_by", "trade_date", "decile").agg(
        pl.col("fwd_return_22d").mean().alias("r"),
        pl.when(pl.col("market_cap").null_count() == 0).then(weighted).alias("vw"),
    )
    wide = months.pivot(on="decile", index=["sorted_by", "trade_date"], values=["r", "vw"])
    spread = wide.drop_nulls(["r_1", "r_10"]).select(
        "sorted_by",
        "trade_date",
        pl.lit("low-high").alias("portfolio"),
        (pl.col("r_1") - pl.col("r_10")).alias("r"),
        (pl.col("vw_1") - pl.col("vw_10")).alias("vw"),
    )
    portfolio = pl.col("decile").cast(pl.String).alias("portfolio")
    every = pl.concat([months.select("sorted_by", "trade_date", portfolio, "r", "vw"), spread])
    periods = pl.concat(
        [
            every.with_columns(pl.col("trade_date").dt.year().cast(pl.String).alias("period")),
            every.with_columns(pl.lit("all").alias("period")),
        ]
    )
    return periods.group_by("sorted_by", "period", "portfolio").agg(
        pl.col("r").mean().alias("mean_monthly_return"),
        pl.len().cast(pl.Int64).alias("months"),
        pl.col("vw").mean().alias("vw_mean_monthly_return"),
        pl.col("vw").count().cast(pl.Int64).alias("vw_months"),
    )


def test_the_decile_mart_equals_an_independent_polars_computation(platform_build: PlatformBuild) -> None:
    mart = frame(
        platform_build,
        "SELECT sorted_by, period, portfolio, mean_monthly_return, months, vw_mean_monthly_return, vw_months "
        "FROM marts.mart_days_to_cover_deciles",
    )
    expected = expected_deciles(platform_build)
    assert mart.height == expected.height > 0
    joined = mart.join(expected, on=["sorted_by", "period", "portfolio"], suffix="_polars")
    assert joined.height == mart.height, "the same portfolios"
    assert joined["months"].to_list() == joined["months_polars"].to_list()
    assert joined["mean_monthly_return"].to_list() == pytest.approx(joined["mean_monthly_return_polars"].to_list())
    assert joined["vw_months"].to_list() == joined["vw_months_polars"].to_list()
    assert joined["vw_months"].sum() > 0, "the sample's companies have shares outstanding"
    both = joined.drop_nulls("vw_mean_monthly_return")
    assert both["vw_mean_monthly_return"].to_list() == pytest.approx(both["vw_mean_monthly_return_polars"].to_list())
    assert set(mart["portfolio"]) == {*(str(d) for d in range(1, 11)), "low-high"}
