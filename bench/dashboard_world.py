"""The crypto world the dashboard bench reads: a year of a full pair universe, written straight into the
marts the pages read.

The other benches' crypto worlds are one pair-year of 1m klines (bench/crypto.py) or a hundred pairs
over a few days (bench/serving.py); the coin explorer, the predictions page and the alerts page are
read at the size a year of the universe gives: BENCH_DASHBOARD_PAIRS pairs (default 500) with a year of
1h and 1d bars, a week of 1m bars, a coin each in CoinGecko's ranking, a day of served 1m predictions
per pair with a model's evaluation, alert rules and delivered alerts. The marts are written with the
columns the dashboard reads (a random walk and its indicators' shapes, not market data), through the
lake resource, so they are files and catalog rows like the ones dbt writes; the pipeline that builds
them is measured by the other benches, not here.
"""

import datetime as dt
import shutil
from pathlib import Path

import numpy as np
import polars as pl

from assets.alert_rules import AlertRule, add_rules
from assets.alerts import DATASET as CRYPTO_ALERTS
from assets.direction_model import REGISTRY
from assets.direction_predictions import PREDICTIONS
from resources.lake import Dataset, LakeResource, lake_at_root

END = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
LABELS = ("up2", "up1", "flat", "down1", "down2")
MODEL_VERSION = "crypto_1m-bench"


def pair_names(pairs: int) -> list[str]:
    return [f"C{n:04d}USDT" for n in range(pairs)]


def bars(names: list[str], step: dt.timedelta, count: int, rng: np.random.Generator) -> pl.DataFrame:
    """`count` bars of `step` per pair ending at END, oldest first and pair by pair within a time (as
    appends write them), with the columns a chart overlays."""
    times = np.array([END - step * (count - i) for i in range(count)], dtype="datetime64[us]")
    closes = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, (count, len(names))), axis=0))
    spread = np.abs(rng.normal(0, 0.005, closes.shape)) * closes
    frame = pl.DataFrame(
        {
            "pair": np.tile(np.array(names), count),
            "open_time": np.repeat(times, len(names)),
            "close": closes.ravel(),
            "spread": spread.ravel(),
            "rsi_14": rng.uniform(10, 90, closes.size),
            "count": rng.integers(0, 10, closes.size),
        }
    ).with_columns(pl.col("open_time").dt.replace_time_zone("UTC"))
    close, spread = pl.col("close"), pl.col("spread")
    return frame.select(
        "pair",
        "open_time",
        (close * 0.999).alias("open"),
        (close + spread).alias("high"),
        (close - spread).alias("low"),
        "close",
        (spread * 1000).alias("volume"),
        "rsi_14",
        (close * 1.02).alias("bb_upper"),
        close.alias("bb_middle"),
        (close * 0.98).alias("bb_lower"),
        pl.col("count").cast(pl.Int32).alias("td_buy_setup"),
        (9 - pl.col("count")).cast(pl.Int32).alias("td_sell_setup"),
        pl.lit(0, pl.Int32).alias("td_buy_countdown"),
        pl.lit(0, pl.Int32).alias("td_sell_countdown"),
        close.alias("pivot"),
        (close * 1.01).alias("r1"),
        (close * 0.99).alias("s1"),
        (close * 1.02).alias("r2"),
        (close * 0.98).alias("s2"),
    )


def mart(name: str, frame: pl.DataFrame) -> Dataset:
    return Dataset(name, dict(frame.schema), schema_name="marts")


def write_marts(lake: LakeResource, names: list[str], rng: np.random.Generator) -> None:
    for name, step, count in (
        ("fct_features_crypto_1d", dt.timedelta(days=1), 365),
        ("fct_features_crypto_1h", dt.timedelta(hours=1), 365 * 24),
        ("fct_features_crypto_1m", dt.timedelta(minutes=1), 7 * 24 * 60),
    ):
        frame = bars(names, step, count, rng)
        lake.replace(mart(name, frame), frame)
    coins = pl.DataFrame(
        {
            "coin_id": [f"coin-{n}" for n in range(len(names))],
            "name": [f"Coin {n}" for n in range(len(names))],
            "in_top_n": True,
            "market_cap_rank": list(range(1, len(names) + 1)),
            "market_cap_usd": [1e12 / (n + 1) for n in range(len(names))],
            "binance_pairs": [[pair] for pair in names],
        }
    )
    lake.replace(mart("dim_coins", coins), coins)


def write_predictions(lake: LakeResource, names: list[str], rng: np.random.Generator) -> None:
    """A day of served 1m predictions per pair (as marts.fct_direction_predictions, the view the pages
    read) and the model's evaluation beside its baselines."""
    minutes = 24 * 60
    times = [END - dt.timedelta(minutes=minutes - i) for i in range(minutes)]
    probabilities = rng.dirichlet(np.ones(len(LABELS)), minutes * len(names))
    predictions = pl.DataFrame(
        {
            "dataset": "crypto_1m",
            "instrument": np.tile(np.array(names), minutes),
            "bar_time": np.repeat(np.array(times, dtype="datetime64[us]"), len(names)),
            **{f"p_{label}": probabilities[:, i] for i, label in enumerate(LABELS)},
            "predicted": np.array(LABELS)[probabilities.argmax(axis=1)],
            "model_version": MODEL_VERSION,
        }
    ).with_columns(pl.col("bar_time").dt.replace_time_zone("UTC"))
    predictions = predictions.with_columns(
        (pl.col("bar_time") + dt.timedelta(minutes=1)).alias("bar_close_at"),
        (pl.col("bar_time") + dt.timedelta(minutes=1, seconds=20)).alias("predicted_at"),
    ).select(list(PREDICTIONS.schema))
    lake.replace(Dataset("fct_direction_predictions", PREDICTIONS.schema, schema_name="marts"), predictions)
    scores = {name: 0.2 for name, kind in REGISTRY.schema.items() if kind == pl.Float64()}
    model = {name: None for name in REGISTRY.schema} | scores
    model |= {"dataset": "crypto_1m", "version": MODEL_VERSION, "trained_at": END, "test_samples": 100_000}
    lake.replace(REGISTRY, pl.DataFrame([{**model, "promoted": True}], schema=REGISTRY.schema))


def write_alerts(lake: LakeResource, names: list[str], count: int) -> None:
    rules = [AlertRule(f"rsi-below-{level}", "1h", "rsi_14", "crosses_below", float(level)) for level in (20, 25, 30)]
    add_rules(lake, rules)
    alerts = pl.DataFrame(
        {
            "alert_id": [f"bench|{n}" for n in range(count)],
            "rule": [rules[n % len(rules)].name for n in range(count)],
            "pair": [names[n % len(names)] for n in range(count)],
            "interval": "1h",
            "bar_open_time": [END - dt.timedelta(hours=n) for n in range(count)],
            "value": 19.0,
            "threshold": 20.0,
            "close": 100.0,
            "message": [f"bench alert {n}" for n in range(count)],
            "channel": "none",
            "sent_at": [END - dt.timedelta(hours=n, minutes=-1) for n in range(count)],
        },
        schema=CRYPTO_ALERTS.schema,
    )
    lake.replace(CRYPTO_ALERTS, alerts)


def crypto_world(folder: Path, pairs: int) -> Path:
    """The world in `folder` (made once per size: a marker file names it)."""
    marker = folder / f"made-{pairs}-pairs"
    if marker.exists():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    rng = np.random.default_rng(27)
    names = pair_names(pairs)
    lake = lake_at_root(str(folder / "lake"), f"sqlite:{folder / 'tickerlake.sqlite'}")
    write_marts(lake, names, rng)
    write_predictions(lake, names, rng)
    write_alerts(lake, names, count=5_000)
    lake.close()
    marker.write_text("made")
    return folder
