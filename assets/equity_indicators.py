"""Technical indicators on every symbol's adjusted daily prices, one partition per trading day.

The same indicators and code as the crypto table (assets/technicals.py), on marts.fct_prices_daily,
where dbt computes the split and dividend adjustment from the raw bars (never a provider's).

Point in time. A row of day D is what could be computed at D's close: its prices are adjusted for the
splits and dividends with an ex-date up to D only, i.e. in D's own price units. Its open, high, low,
close and volume are D's raw bar (an adjustment only rescales earlier bars), and its price-level
indicators (SMA, EMA, ATR, Bollinger bands, pivots) are in the same units, comparable with D's close;
RSI, Stochastic and TD Sequential do not depend on the units. A later split or dividend therefore
changes no stored row: a bar t <= D enters D's computation as raw(t) * adj_factor(t) / adj_factor(D),
and adj_factor(t) / adj_factor(D) is the product of the events in (t, D], whatever came after D. (To
compare rows of different days on today's basis, multiply the price levels by fct_prices_daily's
adj_factor of the row's day.) A re-run of a partition recomputes it from the prices stored now.

Warm-up. A day costs its symbols' recent bars, not their history: every day of a calendar year is
computed from the bars since TICKERLAKE_EQUITY_INDICATORS_WARMUP_BARS (W, default 250) sessions before
that year's first session. So each value has at least W bars of warm-up, all days of a year share
one starting bar, and a daily run (which reads at most W + 252 sessions of every symbol) gives
exactly the rows a backfill of the year gives (tests/test_equity_indicators.py). How close that is
to a computation over the whole history: rolling indicators (SMA, Bollinger, Stochastic, pivots) are
equal; the recursive ones forget their seed geometrically, by W = 250 to (13/14)^236 = 2.5e-8 of the
seed's error for Wilder's 14 (RSI, ATR) and 1e-10 for EMA 20. TD Sequential's state (an active
countdown, its setup's TDST and size) can outlive any window: a countdown active at the start of
the warm-up is unknown to the computation. It is equal from the first setup completed inside the
warm-up on, which in practice is long before W bars; the tests measure both on 44,640 real bars.
"""

import datetime as dt
import time

import dagster as dg
import duckdb
import pandas as pd
import polars as pl

from assets.partitions import calendar, partition_days, trading_days
from assets.technicals import INDICATOR_SCHEMA, PRICE_LEVELS, indicators
from resources import settings
from resources.lake import Between, Dataset, LakeResource

FCT_PRICES_KEY = dg.AssetKey(["marts", "fct_prices_daily"])
WARMUP_SETTING = "TICKERLAKE_EQUITY_INDICATORS_WARMUP_BARS"
PRICES = ("open", "high", "low", "close")
SCHEMA: dict[str, pl.DataType] = {
    "symbol": pl.String(),
    "trade_date": pl.Date(),
    "currency": pl.String(),
    **{c: pl.Float64() for c in (*PRICES, "volume")},
    **INDICATOR_SCHEMA,
}
DATASET = Dataset("equity_indicators", SCHEMA, order=("symbol", "trade_date"), key=("symbol", "trade_date"))
ASSET_KEY = dg.AssetKey(["equities", DATASET.name])


def warmup_bars() -> int:
    return int(settings.value(WARMUP_SETTING))


def block_start(day: dt.date, warmup: int) -> dt.date:
    """The first bar every day of `day`'s calendar year is computed from: W sessions before its first session."""
    sessions = calendar().sessions
    first_of_year = sessions.searchsorted(pd.Timestamp(dt.date(day.year, 1, 1)))
    return sessions[max(first_of_year - warmup, 0)].date()


def adjusted_bars(con: duckdb.DuckDBPyConnection, first: dt.date, last: dt.date) -> pl.DataFrame:
    """Every symbol's bars of first..last from fct_prices_daily: raw OHLCV and the adjustment factor."""
    return con.execute(
        "SELECT symbol, trade_date, currency, open, high, low, close, volume, adj_factor "
        "FROM marts.fct_prices_daily WHERE trade_date BETWEEN ? AND ? ORDER BY symbol, trade_date",
        [first, last],
    ).pl()


def day_rows(bars: pl.DataFrame, days: list[dt.date]) -> pl.DataFrame:
    """The indicator rows of `days` from the bars of one block (all symbols, sorted), in each day's units.

    Computed once on the latest adjusted prices (raw x adj_factor), then each row's price levels are
    divided by its own day's adj_factor: the same values as adjusting the bars to that day, since
    every indicator here scales with the prices or ignores their scale.
    """
    wanted = pl.Series(days, dtype=pl.Date()).implode()
    frames = []
    for symbol_bars in bars.partition_by("symbol", maintain_order=True):
        adjusted = symbol_bars.with_columns(pl.col(c) * pl.col("adj_factor") for c in PRICES)
        rows = indicators(adjusted).filter(pl.col("trade_date").is_in(wanted))
        if rows.is_empty():
            continue
        frames.append(
            rows.with_columns(
                *(pl.col(c) / pl.col("adj_factor") for c in PRICE_LEVELS),
                *(symbol_bars.filter(pl.col("trade_date").is_in(wanted))[c] for c in PRICES),
            )
        )
    empty = pl.DataFrame(schema=SCHEMA)
    return pl.concat([empty, *(f.select(list(SCHEMA)) for f in frames)], how="vertical_relaxed")


def compute(con: duckdb.DuckDBPyConnection, days: list[dt.date], warmup: int) -> pl.DataFrame:
    """The rows of `days` for every symbol, one read and one pass per calendar year they span.

    `con` is a read-only connection to the lake (LakeResource.connect): it reads the last committed
    snapshot, so a dbt build running meanwhile neither blocks it nor is blocked.
    """
    by_year: dict[int, list[dt.date]] = {}
    for day in sorted(days):
        by_year.setdefault(day.year, []).append(day)
    frames = [
        day_rows(adjusted_bars(con, block_start(year_days[0], warmup), year_days[-1]), year_days)
        for year_days in by_year.values()
    ]
    return pl.concat([pl.DataFrame(schema=SCHEMA), *frames], how="vertical_relaxed")


@dg.asset(
    key=ASSET_KEY,
    deps=[FCT_PRICES_KEY],
    partitions_def=trading_days,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name="equities",
    kinds={"ducklake", "polars"},
    automation_condition=dg.AutomationCondition.eager().without(~dg.AutomationCondition.any_deps_missing()),
    description=(
        "Per symbol and trading day, on split- and dividend-adjusted prices as known that day: RSI(14), "
        "SMA/EMA(20), Bollinger(20, 2), Stochastic(14, 3, 3), ATR(14), TD Sequential (DeMark, as Perl published "
        "it), pivots; the crypto table's columns and code. One partition per trading day."
    ),
)
def equity_indicators(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
    days = partition_days(context)
    warmup = warmup_bars()
    started = time.monotonic()
    with lake.connect(read_only=True) as con:
        frame = compute(con, days, warmup)
    seconds = time.monotonic() - started
    lake.replace(DATASET, frame, where={"trade_date": Between(days[0], days[-1] + dt.timedelta(days=1))})
    context.log.info(f"equity indicators: {frame.height:,} rows of {len(days)} days in {seconds:.1f} s")
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": frame.height,
            "symbols": frame["symbol"].n_unique(),
            "first_day": days[0].isoformat(),
            "last_day": days[-1].isoformat(),
            "warmup_bars": warmup,
            "compute_seconds": round(seconds, 2),
        }
    )
