"""Fixed-length sequences for the direction model, split by time with an embargo, normalised on the
training window only.

A sample is the window of W consecutive bars of one instrument ending at bar t (its features, in bar
order) with the label of bar t. The split is by time on the dataset's own clock (every instrument's
bar times together): the first part of the time line trains, the next validates, the last tests.

Between two parts lies an embargo of `lookahead + window - 1` bars of that clock. A training label at
bar t looks at bars t+1 .. t+lookahead; a later sample's window starts window - 1 bars before its own
bar. With the embargo, the first validation (or test) window starts after the last training label's
horizon has ended: no sequence of a later part overlaps an earlier part's label, and none of its
inputs were a training target (walk-forward, as the model would meet new data).

Normalisation parameters (mean, standard deviation per feature) come from the training rows only (bar
times up to the end of the training part): nothing after it shapes the scale the model learns on. A
feature null at a bar (a macro series not yet published) becomes 0 after normalisation, the training
mean.
"""

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from assets.labels import LABELS

SPLITS = ("train", "validation", "test")
CLASS_OF = {label: number for number, label in enumerate(LABELS)}


@dataclass(frozen=True)
class Split:
    """Each part's first and last bar time (inclusive); the bars between parts are the embargo."""

    train: tuple[dt.datetime, dt.datetime]
    validation: tuple[dt.datetime, dt.datetime]
    test: tuple[dt.datetime, dt.datetime]

    def bounds(self) -> dict[str, tuple[dt.datetime, dt.datetime]]:
        return {"train": self.train, "validation": self.validation, "test": self.test}


def embargo_bars(window: int, lookahead: int) -> int:
    return lookahead + window - 1


def time_split(
    times: Sequence[dt.datetime], window: int, lookahead: int, fractions: tuple[float, float] = (0.7, 0.15)
) -> Split:
    """Train, validation and test parts of the clock `times` (sorted, unique), the first `fractions` of
    it training and validating, the rest testing, with an embargo between consecutive parts."""
    gap = embargo_bars(window, lookahead)
    usable = len(times) - 2 * gap
    train_bars, validation_bars = (int(usable * share) for share in fractions)
    if min(train_bars, validation_bars, usable - train_bars - validation_bars) < 1:
        raise ValueError(
            f"{len(times)} bar times cannot hold train, validation and test parts with embargoes of {gap} bars "
            f"(window {window} + label look-ahead {lookahead} - 1)"
        )
    validation_first = train_bars + gap
    test_first = validation_first + validation_bars + gap
    return Split(
        train=(times[0], times[train_bars - 1]),
        validation=(times[validation_first], times[validation_first + validation_bars - 1]),
        test=(times[test_first], times[-1]),
    )


def split_column(time: pl.Expr, split: Split) -> pl.Expr:
    """Each bar's part, null in an embargo."""
    expr = pl.lit(None, pl.String())
    for name, (first, last) in reversed(split.bounds().items()):
        expr = pl.when(time.is_between(first, last)).then(pl.lit(name)).otherwise(expr)
    return expr


def normalisation(frame: pl.DataFrame, time: str, features: Sequence[str], split: Split) -> pl.DataFrame:
    """Mean and standard deviation of each feature over the training part's rows only (a constant
    feature gets 1, so it normalises to 0, not to a division by zero)."""
    train = frame.filter(pl.col(time) <= split.train[1]).with_columns(
        pl.col(f).cast(pl.Float64).fill_nan(None) for f in features
    )
    stats = train.select(
        *[pl.col(f).cast(pl.Float64).mean().alias(f"{f}\tmean") for f in features],
        *[pl.col(f).cast(pl.Float64).std().alias(f"{f}\tstd") for f in features],
    ).row(0, named=True)
    return pl.DataFrame(
        {
            "feature": list(features),
            "mean": [stats[f"{f}\tmean"] or 0.0 for f in features],
            "std": [stats[f"{f}\tstd"] if stats[f"{f}\tstd"] else 1.0 for f in features],
        }
    )


@dataclass(frozen=True)
class Samples:
    """Sequences [n, window, features], their classes (LABELS' order), and each one's instrument,
    bar time and part."""

    inputs: np.ndarray
    classes: np.ndarray
    keys: pl.DataFrame


def sequences(
    frame: pl.DataFrame,
    by: str,
    time: str,
    features: Sequence[str],
    window: int,
    lookahead: int,
    scale: pl.DataFrame,
    split: Split,
) -> Samples:
    """Every labelled bar with `window - 1` bars of its instrument before it, as normalised sequences; bars
    in an embargo are no samples (their windows still read the bars before them).

    The clock's embargo sizes the gap; the rule itself is checked on the instruments' own bars: a sample
    of a later part is left out when its window starts by the time an earlier part's label ends (the bar
    `lookahead` bars after the labelled one, in its instrument's series). An instrument that missed bars
    around an embargo reaches further in time than the clock, in its labels and in its windows.
    """
    marked = (
        frame.sort(by, time)
        .with_columns(
            split_column(pl.col(time), split).alias("split"),
            pl.col(time).shift(window - 1).over(by).alias("window_start"),
            pl.col(time).shift(-lookahead).over(by).fill_null(pl.col(time).last().over(by)).alias("label_end"),
        )
        .with_columns(
            (
                pl.col("split").is_not_null() & pl.col("label").is_not_null() & pl.col("window_start").is_not_null()
            ).alias("keep")
        )
    )
    for earlier, later in (("train", "validation"), ("validation", "test"), ("train", "test")):
        horizon_end = marked.filter(pl.col("keep") & (pl.col("split") == earlier))["label_end"].max()
        if horizon_end is not None:
            reads_it = (pl.col("split") == later) & (pl.col("window_start") <= horizon_end)
            marked = marked.with_columns((pl.col("keep") & ~reads_it).alias("keep"))
    inputs, classes, keys = [], [], []
    for bars in marked.partition_by(by, maintain_order=True):
        ends = np.flatnonzero(bars["keep"].to_numpy())
        if not len(ends):
            continue
        inputs.append(windows_ending(scaled(bars, features, scale), ends, window))
        kept = bars[ends]
        classes.append(kept["label"].replace_strict(CLASS_OF, return_dtype=pl.Int64).to_numpy())
        keys.append(kept.select(by, time, "split"))
    if not inputs:
        empty = pl.DataFrame(schema={by: pl.String(), time: frame.schema[time], "split": pl.String()})
        return Samples(np.zeros((0, window, len(features)), np.float32), np.zeros(0, np.int64), empty)
    return Samples(
        inputs=np.concatenate(inputs).astype(np.float32), classes=np.concatenate(classes), keys=pl.concat(keys)
    )


def scaled(bars: pl.DataFrame, features: Sequence[str], scale: pl.DataFrame) -> np.ndarray:
    """One instrument's bars as normalised values [bars, features] (`scale` in the features' order); a
    null or NaN becomes 0, the training mean."""
    mean = scale["mean"].to_numpy()[None, :]
    std = scale["std"].to_numpy()[None, :]
    return np.nan_to_num((bars.select(features).cast(pl.Float64).to_numpy() - mean) / std, nan=0.0)


def windows_ending(values: np.ndarray, ends: np.ndarray, window: int) -> np.ndarray:
    """The `window` rows of `values` ending at each row of `ends` (each at least window - 1), as
    [len(ends), window, features]: what training and serving both feed the model."""
    return np.lib.stride_tricks.sliding_window_view(values, window, axis=0).transpose(0, 2, 1)[ends - window + 1]
