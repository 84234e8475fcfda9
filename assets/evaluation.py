"""How a direction model is judged: its test-part scores beside three baselines on the same samples.

- majority: always the training part's most common class (what accuracy alone would flatter);
- persistence: the newest label known at the bar, the one `lookahead` bars back in its instrument's
  series (a label needs its look-ahead to pass before it is known);
- gradient-boosted trees (scikit-learn's HistGradientBoostingClassifier) on the flat features of the
  sequence's last bar: what the window adds over the bar itself.

A model is promoted only when its macro-F1 beats the majority baseline's (accuracy can: one class
predicted always is right as often as that class is common).
"""

import matplotlib.pyplot as plt
import numpy as np
import polars as pl
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

from assets.bigru import CLASSES
from assets.labels import LABELS
from assets.previews import png_markdown
from assets.sequences import CLASS_OF


def scores(truth: np.ndarray, predicted: np.ndarray) -> dict[str, object]:
    """Accuracy, macro-F1, each class's precision and recall, and the confusion matrix (rows: truth)."""
    classes = list(range(CLASSES))
    precision, recall, _, support = precision_recall_fscore_support(truth, predicted, labels=classes, zero_division=0)
    return {
        "accuracy": float(accuracy_score(truth, predicted)),
        "macro_f1": float(f1_score(truth, predicted, labels=classes, average="macro", zero_division=0)),
        "precision": {LABELS[c]: float(precision[c]) for c in classes},
        "recall": {LABELS[c]: float(recall[c]) for c in classes},
        "support": {LABELS[c]: int(support[c]) for c in classes},
        "confusion": confusion_matrix(truth, predicted, labels=classes).tolist(),
    }


def majority(train_classes: np.ndarray, size: int) -> np.ndarray:
    return np.full(size, np.bincount(train_classes, minlength=CLASSES).argmax())


def persistence(
    bars: pl.DataFrame, keys: pl.DataFrame, by: str, time: str, lookahead: int, fallback: int
) -> np.ndarray:
    """Each sample's class as the label of its instrument's bar `lookahead` bars back (in `bars`, every bar
    with its label): the newest label known at the sample's bar. `fallback` where there is none."""
    known = bars.sort(by, time).select(
        by, time, pl.col("label").shift(lookahead).over(by).replace_strict(CLASS_OF, default=None).alias("known")
    )
    joined = keys.select(by, time).join(known, on=[by, time], how="left", maintain_order="left")
    return joined["known"].fill_null(fallback).to_numpy().astype(np.int64)


def boosted_trees(
    train_inputs: np.ndarray, train_classes: np.ndarray, test_inputs: np.ndarray, seed: int
) -> np.ndarray:
    """Gradient-boosted trees on each sequence's last bar."""
    model = HistGradientBoostingClassifier(random_state=seed, max_iter=200, early_stopping=True)
    model.fit(train_inputs[:, -1, :], train_classes)
    return model.predict(test_inputs[:, -1, :])


def table(results: dict[str, dict[str, object]]) -> pl.DataFrame:
    """One row per model: accuracy, macro-F1 and each class's recall."""
    return pl.DataFrame(
        [
            {
                "model": name,
                "accuracy": round(result["accuracy"], 4),
                "macro_f1": round(result["macro_f1"], 4),
                **{f"recall_{label}": round(result["recall"][label], 3) for label in LABELS},
            }
            for name, result in results.items()
        ]
    )


def confusion_plot(confusion: list[list[int]], title: str) -> str:
    """The confusion matrix as a heat map (rows: truth, columns: prediction, each cell its count), inline PNG."""
    figure, axes = plt.subplots(figsize=(4.6, 4))
    image = axes.imshow(confusion, cmap="Blues")
    axes.set_xticks(range(len(LABELS)), LABELS)
    axes.set_yticks(range(len(LABELS)), LABELS)
    axes.set_xlabel("predicted")
    axes.set_ylabel("truth")
    for row, counts in enumerate(confusion):
        for column, count in enumerate(counts):
            axes.text(column, row, str(count), ha="center", va="center", fontsize=8)
    axes.set_title(title)
    figure.colorbar(image, ax=axes)
    return png_markdown(figure, title)
