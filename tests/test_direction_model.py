"""The direction model: it learns a planted pattern and not shuffled labels, trains reproducibly, its
artifact reloads to the same predictions, and the asset stores, scores and registers a version."""

import dagster as dg
import numpy as np
import polars as pl
import pytest

from assets import bigru
from assets.direction_dataset import SAMPLES, direction_dataset
from assets.direction_model import REGISTRY, direction_model, promoted_model
from resources import artifacts
from resources.lake import LakeResource
from tests.test_direction_dataset import store

TINY = bigru.TrainConfig(hidden=16, max_epochs=40, patience=6, batch_size=128)


def planted(samples: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Windows of 8 bars x 3 features; the class is the quintile of feature 0's mean over the window's last
    four bars: learnable from the sequence, invisible in any one bar."""
    rng = np.random.default_rng(seed)
    inputs = rng.normal(size=(samples, 8, 3)).astype(np.float32)
    signal = inputs[:, -4:, 0].mean(axis=1)
    classes = np.digitize(signal, np.quantile(signal, [0.2, 0.4, 0.6, 0.8])).astype(np.int64)
    return inputs, classes


def accuracy(config: bigru.TrainConfig, shuffle: bool) -> float:
    x, y = planted(3000, seed=1)
    if shuffle:
        y = np.random.default_rng(2).permutation(y)
    trained = bigru.train(x[:2000], y[:2000], x[2000:2500], y[2000:2500], config, lambda line: None)
    predicted = bigru.probabilities(trained.model, x[2500:]).argmax(axis=1)
    return float((predicted == y[2500:]).mean())


def test_a_planted_pattern_is_learnt_and_shuffled_labels_are_not() -> None:
    assert accuracy(TINY, shuffle=False) > 0.6, "five balanced classes: chance is 0.2"
    assert accuracy(TINY, shuffle=True) < 0.3


def test_rarer_classes_weigh_more_in_the_loss() -> None:
    weights = bigru.class_weights(np.array([0, 0, 0, 1, 2, 2]))
    assert weights.tolist() == pytest.approx([6 / 15, 6 / 5, 6 / 10, 1.0, 1.0]), "absent classes weigh 1"


def test_training_is_reproducible_and_the_artifact_predicts_the_same() -> None:
    x, y = planted(600, seed=3)
    config = bigru.TrainConfig(hidden=8, max_epochs=3, patience=3)
    lines: list[str] = []
    first = bigru.train(x[:400], y[:400], x[400:500], y[400:500], config, lines.append)
    second = bigru.train(x[:400], y[:400], x[400:500], y[400:500], config, lambda line: None)
    for name, weights in first.model.state_dict().items():
        assert np.array_equal(weights.numpy(), second.model.state_dict()[name].numpy()), name
    assert len(lines) == 3 and lines[0].startswith("epoch 1/3: loss ") and "s left" in lines[0]
    model, meta = bigru.from_bytes(bigru.to_bytes(first.model, config, {"features": ["a", "b", "c"]}))
    assert meta == {"features": ["a", "b", "c"]}
    assert np.array_equal(bigru.probabilities(model, x[500:]), bigru.probabilities(first.model, x[500:]))


def test_the_asset_stores_scores_and_registers_a_version(lake: LakeResource, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "TICKERLAKE_MODEL_WINDOW": "12",
        "TICKERLAKE_MODEL_HIDDEN": "8",
        "TICKERLAKE_MODEL_MAX_EPOCHS": "3",
    }.items():
        monkeypatch.setenv(name, value)
    labels = store(lake).filter(pair="BTCUSDT").sort("open_time")
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [direction_dataset, direction_model], resources={"lake": lake}, instance=instance, partition_key="crypto_1h"
        )
    assert result.success
    [row] = lake.read(REGISTRY, where={"dataset": "crypto_1h"}).to_dicts()
    assert row["promoted"] == (row["macro_f1"] > row["majority_macro_f1"])
    _, meta = bigru.from_bytes(artifacts.read(row["artifact"]))
    assert meta["features"] == ["rsi_14", "volume"] and meta["window"] == 12 and meta["label_scheme"] == "first_touch"
    assert [n["feature"] for n in meta["normalisation"]] == ["rsi_14", "volume"]
    test = lake.read(SAMPLES, where={"dataset": "crypto_1h", "split": "test"})["bar_time"]
    known = labels.with_columns(pl.col("label").shift(10).alias("known")).filter(pl.col("open_time").is_in(test))
    assert row["persistence_accuracy"] == pytest.approx((known["known"] == known["label"]).mean())
    [check] = result.get_asset_check_evaluations()
    assert check.check_name == "beats_majority_macro_f1" and check.passed == row["promoted"]
    assert (promoted_model(lake, "crypto_1h") or {}).get("version") == (row["version"] if row["promoted"] else None)
    metadata = result.asset_materializations_for_node("ml__direction_model")[0].metadata
    assert "| bigru |" in metadata["evaluation"].value and "| majority |" in metadata["evaluation"].value
    assert metadata["confusion_matrix (PNG)"].value.startswith("![crypto_1h-")
    assert "data:image/png;base64," in metadata["confusion_matrix (PNG)"].value
    assert pl.DataFrame(metadata["scores"].value["bigru"]["confusion"]).sum().sum_horizontal()[0] == row["test_samples"]
