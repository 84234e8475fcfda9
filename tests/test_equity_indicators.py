"""Equity indicators: a daily run equals a backfill, each row is point in time, partitions replace their
days only, and the warm-up's distance from a whole-history computation, measured on real bars."""

import datetime as dt
from pathlib import Path

import dagster as dg
import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from assets import equity_indicators as eq
from assets.partitions import sessions
from assets.technicals import INDICATOR_SCHEMA, indicators
from resources.binance import parse_klines_csv, unzip_single_csv
from resources.lake import LakeResource, LocalLake
from tests.helpers import PlatformBuild, lake_at
from tests.test_indicators import MONTHLY

FLOATS = [c for c, dtype in INDICATOR_SCHEMA.items() if dtype == pl.Float64()]
INTEGERS = [c for c, dtype in INDICATOR_SCHEMA.items() if dtype != pl.Float64()]


def with_adj_factor(raw: pl.DataFrame) -> pl.DataFrame:
    """fct_prices_daily's adj_factor, written here independently: the product of the factors of all later
    events, 1 / split for a split and 1 - dividend / previous close for a dividend (CRSP's convention)."""
    factor = (1.0 / pl.col("split_ratio")) * (1.0 - pl.col("dividend") / pl.col("close").shift(1).fill_null(1.0))
    return (
        raw.sort("symbol", "trade_date")
        .with_columns(factor.over("symbol").alias("event"))
        .with_columns(
            (pl.col("event").log().reverse().cum_sum().reverse().over("symbol") - pl.col("event").log().over("symbol"))
            .exp()
            .alias("adj_factor")
        )
        .drop("event")
    )


def synthetic_prices(first: dt.date, last: dt.date) -> pl.DataFrame:
    """Two symbols' random-walk bars on the exchange's sessions, AAA with a 4:1 split, BBB with a dividend."""
    days = sessions(first, last)
    rng = np.random.default_rng(17)
    frames = []
    for symbol, event_day in (("AAA", dt.date(2024, 2, 5)), ("BBB", dt.date(2024, 1, 17))):
        close = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, len(days))))
        split = np.array([4.0 if d == event_day and symbol == "AAA" else 1.0 for d in days])
        close = close / np.cumprod(split)  # after the split the raw price is a quarter
        spread = np.abs(rng.normal(0, 0.01, len(days))) * close
        frames.append(
            pl.DataFrame(
                {
                    "symbol": symbol,
                    "trade_date": days,
                    "currency": "USD",
                    "open": close + rng.normal(0, 0.5, len(days)) * spread,
                    "high": close + spread,
                    "low": close - spread,
                    "close": close,
                    "volume": rng.integers(1_000, 10_000, len(days)).astype(float),
                    "split_ratio": split,
                    "dividend": [1.5 if d == event_day and symbol == "BBB" else 0.0 for d in days],
                }
            )
        )
    return with_adj_factor(pl.concat(frames))


def lake_with_prices(root: Path, fct: pl.DataFrame) -> LocalLake:
    """A lake whose marts.fct_prices_daily is `fct`, as dbt would have built it."""
    lake = lake_at(root)
    with lake.writing(), lake.connect(read_only=False) as con:
        con.register("fct", fct.to_arrow())
        con.execute("CREATE SCHEMA IF NOT EXISTS marts")
        con.execute("CREATE OR REPLACE TABLE marts.fct_prices_daily AS SELECT * FROM fct")
    return lake


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> tuple[LocalLake, pl.DataFrame]:
    fct = synthetic_prices(dt.date(2023, 6, 1), dt.date(2024, 3, 28))
    lake = lake_with_prices(tmp_path_factory.mktemp("synthetic"), fct)
    yield lake, fct
    lake.close()


def test_each_year_starts_its_warm_up_w_sessions_before_its_first_session() -> None:
    assert eq.block_start(dt.date(2024, 3, 5), 3) == dt.date(2023, 12, 27)  # 27, 28, 29 Dec; 2 Jan is the first
    assert eq.block_start(dt.date(2024, 12, 31), 3) == dt.date(2023, 12, 27)
    assert eq.block_start(dt.date(2025, 1, 2), 0) == dt.date(2025, 1, 2)


def test_a_day_by_day_run_equals_one_backfill(synthetic: tuple[LocalLake, pl.DataFrame]) -> None:
    """Across a year boundary (two warm-up starts), a split and a dividend, with a short warm-up."""
    lake, _ = synthetic
    days = sessions(dt.date(2023, 12, 1), dt.date(2024, 3, 28))
    with lake.connect(read_only=True) as con:
        backfill = eq.compute(con, days, warmup=30)
        daily = pl.concat([eq.compute(con, [day], warmup=30) for day in days])
    assert backfill.height == 2 * len(days)
    assert_frame_equal(daily.sort("symbol", "trade_date"), backfill.sort("symbol", "trade_date"))


def test_a_row_uses_only_the_adjustments_known_on_its_day(synthetic: tuple[LocalLake, pl.DataFrame]) -> None:
    """The rows of a day before AAA's split are what the prices known that day give: the bars up to the
    day, adjusted with the events up to the day (none after), in that day's raw units."""
    lake, fct = synthetic
    day = dt.date(2024, 1, 31)  # AAA splits on 2024-02-05; BBB's dividend (2024-01-17) is known
    with lake.connect(read_only=True) as con:
        stored = eq.compute(con, [day], warmup=30).sort("symbol")
    known = with_adj_factor(fct.filter(pl.col("trade_date") <= day).drop("adj_factor"))
    start = eq.block_start(day, 30)
    for symbol in ("AAA", "BBB"):
        bars = known.filter(pl.col("symbol") == symbol, pl.col("trade_date") >= start)
        adjusted = bars.with_columns(pl.col(c) * pl.col("adj_factor") for c in eq.PRICES)
        expected = indicators(adjusted).row(-1, named=True)
        row = stored.filter(pl.col("symbol") == symbol).row(0, named=True)
        raw = bars.row(-1, named=True)
        assert [row[c] for c in eq.PRICES] == [raw[c] for c in eq.PRICES]
        for column in FLOATS:
            wanted = None if expected[column] is None else pytest.approx(expected[column], rel=1e-12)
            assert row[column] == wanted, (symbol, column)  # volume_delta: None, no taker split
        assert [row[c] for c in INTEGERS] == [expected[c] for c in INTEGERS]
    aaa = stored.filter(pl.col("symbol") == "AAA").row(0, named=True)
    assert 0.7 < aaa["sma_20"] / aaa["close"] < 1.4, "in the day's own units, not a quarter of them"


def test_the_split_day_changes_the_units_not_the_oscillators(synthetic: tuple[LocalLake, pl.DataFrame]) -> None:
    lake, _ = synthetic
    before, split = dt.date(2024, 2, 2), dt.date(2024, 2, 5)
    with lake.connect(read_only=True) as con:
        rows = eq.compute(con, [before, split], warmup=30).filter(pl.col("symbol") == "AAA").sort("trade_date")
    (old, new) = rows.rows(named=True)
    assert new["close"] == pytest.approx(old["close"] / 4, rel=0.1)
    assert new["sma_20"] == pytest.approx(old["sma_20"] / 4, rel=0.05)  # one new bar in 20, on the new basis
    assert abs(new["rsi_14"] - old["rsi_14"]) < 25, "a 4:1 split is no 75% fall once adjusted"


@pytest.fixture(scope="module")
def minutes() -> pl.DataFrame:
    return parse_klines_csv(unzip_single_csv(MONTHLY.read_bytes(), "sample"), "BTCUSDT", "sample")


@pytest.mark.parametrize("warmup", [250, 500])
def test_how_close_the_warm_up_is_to_the_whole_history(minutes: pl.DataFrame, warmup: int) -> None:
    """44,640 real one-minute bars: every bar computed from `warmup` bars before it against one pass over
    all of them (every 97th bar, to stay fast). Recursive indicators: within their seed's decay; the
    rest and TD Sequential's counts: equal."""
    whole = indicators(minutes)
    worst = dict.fromkeys(FLOATS, 0.0)
    differing = 0
    for end in range(warmup + 60, minutes.height, 97):
        windowed = indicators(minutes.slice(end - warmup, warmup + 1)).row(-1, named=True)
        reference = whole.row(end, named=True)
        for column in FLOATS:
            error = abs(windowed[column] - reference[column]) / max(abs(reference[column]), 1.0)
            worst[column] = max(worst[column], error)
        differing += any(windowed[c] != reference[c] for c in INTEGERS)
    bound = 1e-6 if warmup == 250 else 1e-12
    assert max(worst.values()) < bound, worst
    assert worst["sma_20"] < 1e-12 and worst["bb_upper"] < 1e-12 and worst["stoch_k"] < 1e-9
    assert differing == 0


@pytest.fixture(scope="module")
def sample_lake(platform_build: PlatformBuild, tmp_path_factory: pytest.TempPathFactory) -> LakeResource:
    """The sample's fct_prices_daily (dbt's, from the platform build) in a lake of its own."""
    with platform_build.lake.connect(read_only=True) as con:
        fct = con.execute("SELECT * FROM marts.fct_prices_daily").pl()
    lake = lake_with_prices(tmp_path_factory.mktemp("sample"), fct)
    yield lake
    lake.close()


def materialize(lake: LakeResource, first: str, last: str) -> None:
    """A ranged run on an instance of its own (an ephemeral one failed to resolve in the whole suite)."""
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [eq.equity_indicators],
            resources={"lake": lake},
            instance=instance,
            tags={"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last},
        )
        assert result.success


def test_partitions_write_their_days_only_and_a_rerun_changes_nothing(sample_lake: LakeResource) -> None:
    with sample_lake.connect(read_only=True) as con:
        expected = con.execute(
            "SELECT trade_date, count(*) FROM marts.fct_prices_daily "
            "WHERE trade_date BETWEEN '2024-06-03' AND '2024-06-14' GROUP BY 1 ORDER BY 1"
        ).fetchall()
    materialize(sample_lake, "2024-06-03", "2024-06-14")
    stored = sample_lake.read(eq.DATASET)
    assert stored.group_by("trade_date").len().sort("trade_date").rows() == expected
    materialize(sample_lake, "2024-06-10", "2024-06-10")
    assert_frame_equal(sample_lake.read(eq.DATASET), stored)
    nvda = stored.filter(pl.col("symbol") == "NVDA").sort("trade_date")
    before, after = (
        nvda.filter(pl.col("trade_date") == d).row(0, named=True) for d in (dt.date(2024, 6, 7), dt.date(2024, 6, 10))
    )
    # NVDA split 10:1 on 2024-06-10. The pivot of the split day comes from the day before's bar, adjusted
    # to the split day's units: both days' pivots sit beside their own day's close.
    assert 0.9 < before["pivot"] / before["close"] < 1.1 and 0.9 < after["pivot"] / after["close"] < 1.1
    assert after["close"] < before["close"] / 5
    assert stored.filter(pl.col("rsi_14").is_not_null()).height > 0
