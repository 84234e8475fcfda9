"""The direction model's dataset asset on a small feature mart: every part present, the training part's
normalisation stored, the label scheme's labels joined, a re-run storing the same rows."""

import datetime as dt

import dagster as dg
import numpy as np
import polars as pl
import pytest

from assets.crypto_labels import DATASET as CRYPTO_LABELS
from assets.direction_dataset import NORMALISATION, SAMPLES, direction_dataset
from assets.labels import LABELS
from resources.lake import Dataset, LakeResource

BARS = 300
MART = Dataset(
    "fct_features_crypto_1h",
    {
        "pair": pl.String(),
        "open_time": pl.Datetime("us", "UTC"),
        "bar_close_at": pl.Datetime("us", "UTC"),
        "rsi_14": pl.Float64(),
        "volume": pl.Float64(),
        "fred_available_from": pl.Datetime("us", "UTC"),
    },
    schema_name="marts",
)


def store(lake: LakeResource) -> pl.DataFrame:
    """Two pairs' hourly features; BTCUSDT's labels are first-touch ones (the setting's), ETHUSDT's of the
    other scheme: only BTCUSDT has samples. Labels repeat every 7 bars. Returns the labels."""
    start = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    times = [start + dt.timedelta(hours=h) for h in range(BARS)]
    rng = np.random.default_rng(7)
    mart = pl.concat(
        pl.DataFrame(
            {
                "pair": pair,
                "open_time": times,
                "bar_close_at": [t + dt.timedelta(hours=1) for t in times],
                "rsi_14": rng.uniform(0, 100, BARS),
                "volume": rng.lognormal(5, 1, BARS),
                "fred_available_from": [start] * BARS,
            }
        )
        for pair in ("BTCUSDT", "ETHUSDT")
    )
    lake.replace(MART, mart.cast(MART.schema), where=None, allow_shrink=True)
    labels = mart.select(
        "pair",
        pl.lit("1h").alias("interval"),
        "open_time",
        pl.lit(1.0).alias("close"),
        pl.lit(1.0).alias("atr_14"),
        pl.Series("label", [LABELS[i % 7 % 5] for i in range(2 * BARS)]),
        pl.when(pl.col("pair") == "BTCUSDT").then(pl.lit("first_touch")).otherwise(pl.lit("horizon")).alias("scheme"),
        pl.lit(10, pl.Int64).alias("horizon"),
        pl.lit(1.0).alias("near_atr"),
        pl.lit(2.0).alias("far_atr"),
    )
    lake.replace(CRYPTO_LABELS, labels, where=None, allow_shrink=True)
    return labels


def test_the_dataset_stores_each_parts_samples_and_the_training_normalisation(
    lake: LakeResource, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TICKERLAKE_MODEL_WINDOW", "12")
    labels = store(lake)
    mart = lake.read(MART)
    with dg.instance_for_test() as instance:
        for _ in range(2):
            result = dg.materialize(
                [direction_dataset], resources={"lake": lake}, instance=instance, partition_key="crypto_1h"
            )
            assert result.success
    samples = lake.read(SAMPLES, where={"dataset": "crypto_1h"})
    assert samples.group_by("split").len().sort("split")["split"].to_list() == ["test", "train", "validation"]
    assert samples.select("instrument", "bar_time").is_unique().all(), "a re-run stores the same rows once"
    assert set(samples["instrument"]) == {"BTCUSDT"}, "labels of another scheme are no labels"
    assert samples.height < labels.filter(pair="BTCUSDT").height
    train_end = samples.filter(split="train")["bar_time"].max()
    validation_start = samples.filter(split="validation")["bar_time"].min()
    assert (validation_start - train_end) >= dt.timedelta(hours=10 + 12), "the window starts after the label ends"
    scale = lake.read(NORMALISATION, where={"dataset": "crypto_1h"})
    assert scale["feature"].to_list() == ["rsi_14", "volume"], "keys, times and publication stamps are no features"
    train_rows = mart.filter(pl.col("open_time") <= train_end)
    assert scale.filter(feature="volume")["mean"][0] == pytest.approx(train_rows["volume"].mean(), rel=1e-9)
    metadata = result.asset_materializations_for_node("ml__direction_dataset")[0].metadata
    assert metadata["label_scheme"].value == "first_touch" and metadata["embargo_bars"].value == 21
