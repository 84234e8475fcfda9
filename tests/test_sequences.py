"""The direction model's dataset (assets/sequences.py): no sequence of a later part overlaps an earlier
part's label, normalisation from the training part only, windows within one instrument."""

import datetime as dt

import numpy as np
import polars as pl
import pytest

from assets.labels import LABELS
from assets.sequences import SPLITS, embargo_bars, normalisation, sequences, time_split

START = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
WINDOW, LOOKAHEAD = 8, 5


def clock(bars: int) -> list[dt.datetime]:
    return [START + dt.timedelta(hours=h) for h in range(bars)]


def bars_of(pair: str, times: list[dt.datetime], base: float) -> pl.DataFrame:
    n = len(times)
    return pl.DataFrame(
        {
            "pair": [pair] * n,
            "open_time": times,
            "x": [float(base) + i for i in range(n)],
            "y": [float(i % 7) for i in range(n)],
            "label": [LABELS[i % len(LABELS)] for i in range(n)],
        }
    )


def dataset(missing: range) -> pl.DataFrame:
    """Two pairs on one hourly clock of 400 bars; ETHUSDT misses the bars `missing`."""
    times = clock(400)
    return pl.concat(
        [bars_of("BTCUSDT", times, 0.0), bars_of("ETHUSDT", [t for i, t in enumerate(times) if i not in missing], 1e4)]
    )


def samples_of(frame: pl.DataFrame):
    times = sorted(frame["open_time"].unique())
    split = time_split(times, WINDOW, LOOKAHEAD)
    scale = normalisation(frame, "open_time", ["x", "y"], split)
    return split, sequences(frame, "pair", "open_time", ["x", "y"], WINDOW, LOOKAHEAD, scale, split)


@pytest.mark.parametrize("missing", [range(0), range(270, 300), range(330, 350)])
def test_no_sequence_of_a_later_part_overlaps_an_earlier_parts_label(missing: range) -> None:
    """Each pair's series by position: a sample at position p labels bars p+1..p+LOOKAHEAD and reads bars
    p-WINDOW+1..p. ETHUSDT missing bars around an embargo reaches further back than the clock does."""
    frame = dataset(missing)
    _, samples = samples_of(frame)
    keys = samples.keys
    assert set(keys["split"]) == set(SPLITS)
    positions = {
        pair: {t: i for i, t in enumerate(series.sort("open_time")["open_time"])}
        for (pair,), series in frame.partition_by("pair", as_dict=True).items()
    }
    series = {pair: sorted(p) for pair, p in positions.items()}

    def label_end(pair: str, time: dt.datetime) -> dt.datetime:
        at = positions[pair][time] + LOOKAHEAD
        return series[pair][min(at, len(series[pair]) - 1)]

    def window_start(pair: str, time: dt.datetime) -> dt.datetime:
        return series[pair][positions[pair][time] - WINDOW + 1]

    for earlier, later in (("train", "validation"), ("validation", "test"), ("train", "test")):
        ends = [label_end(p, t) for p, t in keys.filter(split=earlier).select("pair", "open_time").iter_rows()]
        starts = [window_start(p, t) for p, t in keys.filter(split=later).select("pair", "open_time").iter_rows()]
        assert min(starts) > max(ends), f"a {later} sequence reads bars a {earlier} label looked at"


def test_the_embargo_is_the_look_ahead_and_the_window() -> None:
    split = time_split(clock(400), WINDOW, LOOKAHEAD)
    gap = (split.validation[0] - split.train[1]) // dt.timedelta(hours=1) - 1
    assert gap == embargo_bars(WINDOW, LOOKAHEAD) == LOOKAHEAD + WINDOW - 1
    with pytest.raises(ValueError, match=r"30 bar times cannot hold .* embargoes of 12 bars"):
        time_split(clock(30), WINDOW, LOOKAHEAD)


def test_normalisation_comes_from_the_training_part_only() -> None:
    frame = dataset(range(0))
    split, _ = samples_of(frame)
    scale = normalisation(frame, "open_time", ["x", "y"], split)
    train = frame.filter(pl.col("open_time") <= split.train[1])
    assert scale.filter(feature="x")["mean"][0] == pytest.approx(train["x"].mean())
    assert scale.filter(feature="x")["std"][0] == pytest.approx(train["x"].std())
    later = frame.with_columns(
        pl.when(pl.col("open_time") > split.train[1]).then(1e9).otherwise(pl.col("x")).alias("x")
    )
    assert normalisation(later, "open_time", ["x", "y"], split).equals(scale)


def test_a_sequence_is_its_pairs_last_window_bars_normalised_with_the_label_of_its_last_bar() -> None:
    frame = dataset(range(0))
    split, samples = samples_of(frame)
    scale = normalisation(frame, "open_time", ["x", "y"], split)
    mean_x, std_x = scale.filter(feature="x").select("mean", "std").row(0)
    assert samples.inputs.shape[1:] == (WINDOW, 2)
    first_eth = samples.keys.with_row_index().filter(pair="ETHUSDT").row(0, named=True)
    position = first_eth["open_time"].hour + (first_eth["open_time"].day - 1) * 24
    expected = (np.arange(position - WINDOW + 1, position + 1) + 1e4 - mean_x) / std_x
    assert samples.inputs[first_eth["index"], :, 0] == pytest.approx(expected, rel=1e-5)
    assert samples.classes[first_eth["index"]] == position % len(LABELS)
    assert position == WINDOW - 1, "the first sample of a pair has exactly WINDOW bars of its own"


def test_a_bar_without_a_label_and_a_pair_shorter_than_the_window_give_no_sample() -> None:
    frame = pl.concat(
        [
            dataset(range(0)).with_columns(pl.lit(None, pl.String()).alias("label")),
            bars_of("SOLUSDT", clock(400)[:5], 0),
        ]
    )
    _, samples = samples_of(frame)
    assert samples.keys.filter(pl.col("pair") != "SOLUSDT").is_empty() and samples.inputs.shape[0] == 0
