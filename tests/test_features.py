"""The feature marts: every value as published by the bar's time, and incremental runs equal a full refresh."""

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import numpy as np
import polars as pl
import pytest

from assets.dbt import tickerlake_dbt_models
from assets.fred import DATASET as FRED_DATASET
from assets.indicators import DATASET as INDICATORS_DATASET
from assets.indicators import INDICATORS_SCHEMA, indicators
from resources.fred import DEFAULT_SERIES, parse_series, series_list
from resources.lake import LakeResource
from tests.helpers import SAMPLE_ROOT, lake_at, serve_all_sources
from tests.platform_build import all_assets, platform_on

FEATURES = ["fct_features_crypto_1h", "fct_features_crypto_1d", "fct_features_crypto_1m"]
FRED_FILES = SAMPLE_ROOT / "fred.stlouisfed.org" / "graph" / "fredgraph"
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
    frame = pl.DataFrame(
        {
            "pair": pair,
            "open_time": [FIRST[interval] + i * step for i in range(count)],
            "open": opens,
            "high": np.maximum(opens, closes) + wick,
            "low": np.minimum(opens, closes) - wick,
            "close": closes,
            "volume": 1.0,
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


def build(resources: dict, instance: dg.DagsterInstance, full_refresh: bool) -> None:
    keys = [dg.AssetKey(["marts", name]) for name in FEATURES]
    selection = dg.AssetSelection.assets(*keys).upstream() & dg.AssetSelection.assets(tickerlake_dbt_models)
    result = dg.materialize(
        all_assets(),
        selection=selection,
        resources=resources,
        instance=instance,
        run_config={"ops": {"tickerlake_dbt_models": {"config": {"full_refresh": full_refresh}}}},
    )
    assert result.success


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
        store_bars(lake, dt.datetime(2025, 1, 7, tzinfo=dt.UTC))
        build(resources, instance, full_refresh=False)
        first = snapshot(lake)
        # The next run: a day of new bars (yesterday's last bar has closed since), and a claims release
        # fetched late (public 2025-01-02, stored now): every bar it reaches is rebuilt.
        store_fred(lake, icsa_until=LATE_ICSA)
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


def test_no_feature_of_a_bar_was_published_after_it(builds: tuple) -> None:
    """Each FRED column of every bar is recomputed on its own: the newest observation whose release
    time is at or before the bar's close; a later release would show as a different value."""
    lake, _, _, full = builds
    with lake.connect(read_only=True) as con:
        known = con.sql(
            "SELECT series_id, observation_date, value, available_from FROM intermediate.int_fred__series_known"
        ).pl()
    for name in FEATURES:
        features = full[name]
        assert (features["fred_available_from"] <= features["bar_close_at"]).all()
        for series_id in series_list(DEFAULT_SERIES):
            # Observations released together (the dollar index's week): the newest is the last of them.
            releases = known.filter(pl.col("series_id") == series_id).sort("available_from", "observation_date")
            expected = features.sort("bar_close_at").join_asof(
                releases.select("available_from", pl.col("value").alias("expected")),
                left_on="bar_close_at",
                right_on="available_from",
                strategy="backward",
            )
            mismatched = expected.filter(pl.col(series_id.lower()).ne_missing(pl.col("expected")))
            assert mismatched.is_empty(), f"{name}.{series_id.lower()}: {mismatched.head(3)}"
