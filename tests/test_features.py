"""The feature marts: every value as published by the bar's time, and incremental runs equal a full refresh."""

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import numpy as np
import polars as pl
import pytest

from assets.cboe import DATASET as CBOE_DATASET
from assets.fred import DATASET as FRED_DATASET
from assets.indicators import DATASET as INDICATORS_DATASET
from assets.indicators import INDICATORS_SCHEMA, indicators
from resources.cboe import DEFAULT_INDEXES, file_name, index_list, parse_history
from resources.fred import DEFAULT_SERIES, parse_series, series_list
from resources.lake import LakeResource
from tests.helpers import SAMPLE_ROOT, lake_at, serve_all_sources
from tests.platform_build import build_marts, platform_on

FEATURES = ["fct_features_crypto_1h", "fct_features_crypto_1d", "fct_features_crypto_1m"]
FRED_FILES = SAMPLE_ROOT / "fred.stlouisfed.org" / "graph" / "fredgraph"
CBOE_FILES = SAMPLE_ROOT / "cdn.cboe.com" / "api" / "global" / "us_indices" / "daily_prices"
STEPS = {"1m": dt.timedelta(minutes=1), "1h": dt.timedelta(hours=1), "1d": dt.timedelta(days=1)}
FIRST = {"1m": dt.datetime(2025, 1, 6, tzinfo=dt.UTC), "1h": dt.datetime(2024, 12, 1, tzinfo=dt.UTC)}
FIRST["1d"] = dt.datetime(2024, 9, 1, tzinfo=dt.UTC)
LATE_ICSA = dt.date(2024, 12, 28)  # its release (2025-01-02 08:30 New York) is stored only by the second run


def bars(pair: str, interval: str, until: dt.datetime) -> pl.DataFrame:
    """A random walk of one pair's bars from FIRST[interval] to `until`, through the production
    indicators, the last bar still forming; the walk is the same whatever `until` is."""
    step = STEPS[interval]
    count = int((until - FIRST[interval]) / step)
    rng = np.random.default_rng(abs(hash((pair, interval))) % 2**32)
    moves = rng.normal(0, 0.004, size=100_000)[:count]
    closes = 60_000 * np.exp(np.cumsum(moves))
    opens = np.concatenate(([60_000.0], closes[:-1]))
    wick = np.abs(rng.normal(0, 0.002, size=100_000)[:count]) * closes
    volume = rng.lognormal(2, 0.5, size=100_000)[:count]
    taker = volume * rng.uniform(0, 1, size=100_000)[:count]
    frame = pl.DataFrame(
        {
            "pair": pair,
            "open_time": [FIRST[interval] + i * step for i in range(count)],
            "open": opens,
            "high": np.maximum(opens, closes) + wick,
            "low": np.minimum(opens, closes) - wick,
            "close": closes,
            "volume": volume,
            "taker_buy_base_volume": taker,
        }
    )
    closed = pl.int_range(pl.len()) < count - 1
    return indicators(frame).with_columns(pl.lit(interval).alias("interval"), closed.alias("is_closed"))


def store_bars(lake: LakeResource, until: dt.datetime) -> None:
    for pair in ("BTCUSDT", "ETHUSDT"):
        frame = pl.concat([bars(pair, interval, until) for interval in STEPS]).select(list(INDICATORS_SCHEMA))
        lake.replace(INDICATORS_DATASET, frame, where={"pair": pair}, keep_stamps=True)


def store_fred(lake: LakeResource, icsa_until: dt.date) -> None:
    for series_id in series_list(DEFAULT_SERIES):
        frame = parse_series((FRED_FILES / f"{series_id}.csv").read_bytes(), series_id)
        if series_id == "ICSA":
            frame = frame.filter(pl.col("observation_date") <= icsa_until)
        lake.replace(FRED_DATASET, frame, where={"series_id": series_id})


def store_cboe(lake: LakeResource, until: dt.date) -> None:
    for index in index_list(DEFAULT_INDEXES):
        frame = parse_history((CBOE_FILES / file_name(index)).read_bytes(), index)
        lake.replace(CBOE_DATASET, frame.filter(pl.col("trade_date") <= until), where={"index_symbol": index})


def build(resources: dict, instance: dg.DagsterInstance, full_refresh: bool) -> None:
    build_marts(FEATURES, resources, instance, full_refresh)


def snapshot(lake: LakeResource) -> dict[str, pl.DataFrame]:
    with lake.connect(read_only=True) as con:
        return {name: con.sql(f"SELECT * EXCLUDE (_built_at) FROM marts.{name} ORDER BY ALL").pl() for name in FEATURES}


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LakeResource, dict, dict, dict]]:
    """(lake, after the first build, after an incremental one, after a full refresh)."""
    root: Path = tmp_path_factory.mktemp("features")
    lake = lake_at(root)
    with serve_all_sources() as mirror, platform_on(mirror, lake) as resources, dg.instance_for_test() as instance:
        store_fred(lake, icsa_until=LATE_ICSA - dt.timedelta(days=7))
        store_cboe(lake, until=dt.date(2025, 1, 3))
        store_bars(lake, dt.datetime(2025, 1, 7, tzinfo=dt.UTC))
        build(resources, instance, full_refresh=False)
        first = snapshot(lake)
        # The next run: a day of new bars (yesterday's last bar has closed since), a claims release
        # fetched late (public 2025-01-02, stored now) and VIX's closes of 01-06 and 01-07 fetched a
        # day late: every bar they reach is rebuilt.
        store_fred(lake, icsa_until=LATE_ICSA)
        store_cboe(lake, until=dt.date(2025, 1, 10))
        store_bars(lake, dt.datetime(2025, 1, 8, tzinfo=dt.UTC))
        build(resources, instance, full_refresh=False)
        incremental = snapshot(lake)
        build(resources, instance, full_refresh=True)
        yield lake, first, incremental, snapshot(lake)
    lake.close()


@pytest.mark.parametrize("name", FEATURES)
def test_an_incremental_run_equals_a_full_refresh(builds: tuple, name: str) -> None:
    _, first, incremental, full = builds
    assert incremental[name].equals(full[name]), f"marts.{name} differs from its full refresh"
    assert incremental[name].height > first[name].height, "the second run added bars"


def test_the_late_release_reached_the_bars_built_before_it_was_stored(builds: tuple) -> None:
    _, first, incremental, _ = builds
    after = pl.col("bar_close_at") >= dt.datetime(2025, 1, 2, 13, 30, tzinfo=dt.UTC)
    before = first["fct_features_crypto_1h"].filter(
        after, pl.col("bar_close_at") < dt.datetime(2025, 1, 7, tzinfo=dt.UTC)
    )
    now = incremental["fct_features_crypto_1h"].filter(
        after, pl.col("bar_close_at") < dt.datetime(2025, 1, 7, tzinfo=dt.UTC)
    )
    assert before.height == now.height > 0
    assert (now["icsa"] != before["icsa"]).all(), "the late release replaced the older claims figure"


def as_of(features: pl.DataFrame, releases: pl.DataFrame, column: str) -> pl.DataFrame:
    """The bars whose `column` differs from the newest release (available_from, value) at or before the
    bar's close; releases are sorted so that, of several released together, the newest comes last."""
    expected = features.sort("bar_close_at").join_asof(
        releases.select("available_from", pl.col("value").alias("expected")),
        left_on="bar_close_at",
        right_on="available_from",
        strategy="backward",
    )
    return expected.filter(pl.col(column).ne_missing(pl.col("expected")))


def test_no_feature_of_a_bar_was_published_after_it(builds: tuple) -> None:
    """Each FRED and VIX column of every bar is recomputed on its own from the sources' publication
    times: the newest value public at or before the bar's close; a later one would show as a difference."""
    lake, _, _, full = builds
    with lake.connect(read_only=True) as con:
        fred = con.sql(
            "SELECT series_id, value, available_from FROM intermediate.int_fred__series_known "
            "ORDER BY available_from, observation_date"
        ).pl()
        cboe = con.sql(
            "SELECT index_symbol, close AS value, available_from FROM staging.stg_cboe__index_history "
            "ORDER BY available_from"
        ).pl()
    vix_days = cboe.filter(pl.col("index_symbol") == "VIX")["available_from"]
    for name in FEATURES:
        features = full[name]
        assert (features["fred_available_from"] <= features["bar_close_at"]).all()
        assert (features["cboe_available_from"] <= features["bar_close_at"]).all()
        for series_id in series_list(DEFAULT_SERIES):
            releases = fred.filter(pl.col("series_id") == series_id)
            mismatched = as_of(features, releases, series_id.lower())
            assert mismatched.is_empty(), f"{name}.{series_id.lower()}: {mismatched.head(3)}"
        for index in index_list(DEFAULT_INDEXES):
            # The mart takes each index's close on VIX's newest day (a day without VIX is no row).
            releases = cboe.filter(pl.col("index_symbol") == index, pl.col("available_from").is_in(vix_days.implode()))
            mismatched = as_of(features, releases, f"{index.lower()}_close")
            assert mismatched.is_empty(), f"{name}.{index.lower()}_close: {mismatched.head(3)}"


@pytest.mark.parametrize("name", ["fct_features_crypto_1h", "fct_features_crypto_1d"])
def test_candle_and_calendar_features_of_each_bar(builds: tuple, name: str) -> None:
    """Recomputed from the bar's own open/high/low/close and its UTC open time."""
    _, _, _, full = builds
    bars = full[name].filter(pl.col("high") > pl.col("low"))
    assert bars.height > 0
    span = pl.col("high") - pl.col("low")
    expected = bars.select(
        ((pl.col("high") - pl.max_horizontal("open", "close")) / span).alias("upper_wick_pct"),
        ((pl.min_horizontal("open", "close") - pl.col("low")) / span).alias("lower_wick_pct"),
        ((pl.col("close") - pl.col("open")) / span).alias("body_pct"),
        pl.col("open_time").dt.convert_time_zone("UTC").dt.weekday().cast(pl.Int64).alias("day_of_week"),
        ((pl.col("open_time").dt.convert_time_zone("UTC").dt.day() - 1) // 7 + 1).cast(pl.Int64).alias("week_of_month"),
    )
    got = bars.select(expected.columns)
    for column in ("upper_wick_pct", "lower_wick_pct", "body_pct"):
        assert np.allclose(got[column].to_numpy(), expected[column].to_numpy(), rtol=1e-12, atol=1e-12), column
    assert got.select("day_of_week", "week_of_month").equals(expected.select("day_of_week", "week_of_month"))
    wicks = bars.select(pl.col("upper_wick_pct") + pl.col("lower_wick_pct") + pl.col("body_pct").abs())
    assert np.allclose(wicks.to_series().to_numpy(), 1.0), "wicks and body make up the range"


@pytest.mark.parametrize("name", FEATURES)
def test_volume_and_delta_features_of_each_bar(builds: tuple, name: str) -> None:
    """The mart's volume ratios recomputed from its own columns; the delta a share of the volume."""
    _, _, _, full = builds
    bars = full[name].filter(pl.col("volume_delta_sma_20").is_not_null())
    assert bars.height > 0
    expected = bars.select(
        (pl.col("volume") / pl.col("volume_sma_20") - 1).alias("volume_over_sma_20"),
        (pl.col("volume_delta") / pl.col("volume")).alias("delta_share"),
        (pl.col("volume_delta_sma_20") / pl.col("volume_sma_20")).alias("delta_share_sma_20"),
    )
    for column in expected.columns:
        assert np.allclose(bars[column].to_numpy(), expected[column].to_numpy(), rtol=1e-12), column
    assert bars["delta_share"].is_between(-1, 1).all() and bars["delta_share"].n_unique() > 10
