"""ATR-multiple labels (assets/labels.py), both schemes, on hand-checked bars and against an independent
implementation."""

import datetime as dt
import itertools
import random

import dagster as dg
import numpy as np
import polars as pl
import pytest

from assets.crypto_labels import DATASET as LABELS_DATASET
from assets.crypto_labels import crypto_labels
from assets.indicators import DATASET as INDICATORS_DATASET
from assets.indicators import INDICATORS_SCHEMA, indicators
from assets.labels import LABELS, LabelConfig, first_touch_labels, horizon_labels
from resources.lake import LakeResource

ATR = 1.0  # every case below: close 100 at bar 0, so the barriers are 98, 99, 101 and 102


def label_of_first(bars: list[tuple[float, float, float, float]], horizon: int) -> str | None:
    """The label of bar 0 (close 100, ATR 1) given the bars after it, as (open, high, low, close)."""
    rows = [(100.0, 100.0, 100.0, 100.0), *bars]
    open_, high, low, close = (np.array(column) for column in zip(*rows, strict=True))
    return first_touch_labels(open_, high, low, close, np.full(len(rows), ATR), horizon)[0]


@pytest.mark.parametrize(
    ("bars", "horizon", "expected"),
    [
        # 100 -> open 100.5 -> low 100.2 (nearer the open) -> high 102.5: +1 then +2 on the same leg.
        ([(100.5, 102.5, 100.2, 102.0)], 1, "up2"),
        # Up to 101.5 (+1, not +2), then the next bar falls to 98.5 through 99 (-1) before any +2: up1.
        ([(100.0, 101.5, 99.8, 100.2), (100.2, 100.3, 98.5, 98.7)], 3, "up1"),
        # +1 reached, +2 never, -1 never, all 2 bars there: up1.
        ([(100.0, 101.5, 99.8, 101.2), (101.2, 101.4, 100.8, 101.0)], 2, "up1"),
        # ... but with 3 bars asked for and 2 there, +2 may still come: not known yet.
        ([(100.0, 101.5, 99.8, 101.2), (101.2, 101.4, 100.8, 101.0)], 3, None),
        # A gap: the open at 102.5 jumps over +1 and +2 from the previous close 100.
        ([(102.5, 103.0, 102.0, 102.8)], 1, "up2"),
        # A gap down through -1 and -2: down2.
        ([(97.5, 98.2, 97.0, 97.2)], 1, "down2"),
        # Both sides in one bar, open equidistant from high and low (1.5 each), closing up: the low came
        # first (-1 at 99, not -2), then the high crossed +1: down first, the way back before -2: down1.
        ([(100.0, 101.5, 98.5, 101.0)], 1, "down1"),
        # The same bar closing down: the high came first: up1.
        ([(100.0, 101.5, 98.5, 99.5)], 1, "up1"),
        # Open nearer the high (0.2 vs 2.8): high first, +1 at 101 reached; then low 97.5 crosses -1: up1.
        ([(101.3, 101.5, 97.5, 98.0)], 1, "up1"),
        # Down to -1 on bar 1 (its high is nearer the open, so first), then bar 2 falls through -2: down2.
        ([(100.0, 100.2, 98.8, 99.0), (99.0, 99.1, 97.9, 98.5)], 2, "down2"),
        # Nothing within 2 bars: flat; the third bar's move to +2 is past the horizon.
        ([(100.0, 100.6, 99.5, 100.1), (100.1, 100.5, 99.6, 100.0), (100.0, 102.5, 100.0, 102.4)], 2, "flat"),
        # Nothing within the bars there are, fewer than H: not known yet.
        ([(100.0, 100.6, 99.5, 100.1)], 2, None),
        # Touching a barrier exactly counts: the high is 101.0.
        ([(100.0, 101.0, 99.9, 100.5)], 1, "up1"),
    ],
)
def test_hand_checked_bars(bars: list[tuple[float, float, float, float]], horizon: int, expected: str | None) -> None:
    assert label_of_first(bars, horizon) == expected


def test_a_series_shorter_than_the_horizon_labels_only_what_it_already_knows() -> None:
    assert label_of_first([(100.5, 102.5, 100.2, 102.0), (102.0, 102.1, 101.9, 102.0)], 10) == "up2"
    assert label_of_first([(100.0, 100.2, 99.9, 100.0)], 10) is None
    assert list(first_touch_labels(*(np.array([100.0]),) * 4, np.array([1.0]), 10)) == [None]


def test_a_bar_without_atr_has_no_label_and_the_multiples_are_configuration() -> None:
    open_, low = np.full(3, 100.0), np.full(3, 100.0)
    high = close = np.array([100.0, 100.0, 101.6])
    assert first_touch_labels(open_, high, low, close, np.array([np.nan, 1.0, 1.0]), 1)[0] is None
    atr = np.full(3, 1.0)
    assert first_touch_labels(open_, high, low, close, atr, 1)[1] == "up1"
    assert first_touch_labels(open_, high, low, close, atr, 1, near=0.5, far=1.5)[1] == "up2"
    with pytest.raises(ValueError, match="0 < near < far"):
        first_touch_labels(open_, high, low, close, atr, 1, near=2.0, far=1.0)


def walked_label(bars: list[tuple[float, float, float, float]], atr: float, t: int, horizon: int) -> str | None:
    """An independent, event-driven reading of the definition: walk the path of each bar after t, leg
    by leg, reacting to barriers in the order a leg meets them, and stop as soon as the label is known."""
    if not atr > 0:
        return None
    close = bars[t][3]
    near_up, far_up, near_down, far_down = close + atr, close + 2 * atr, close - atr, close - 2 * atr
    direction = None
    for j in range(t + 1, min(t + horizon, len(bars) - 1) + 1):
        o, h, lo, c = bars[j]
        if h - o < o - lo or (h - o == o - lo and not c > o):
            path = [bars[j - 1][3], o, h, lo, c]
        else:
            path = [bars[j - 1][3], o, lo, h, c]
        for start, end in itertools.pairwise(path):
            met = [b for b in (near_up, far_up, near_down, far_down) if min(start, end) <= b <= max(start, end)]
            for barrier in sorted(met, key=lambda b: abs(b - start)):
                if direction is None and barrier in (near_up, near_down):
                    direction = "up" if barrier == near_up else "down"
                elif direction == "up" and barrier == far_up:
                    return "up2"
                elif direction == "up" and barrier == near_down:
                    return "up1"
                elif direction == "down" and barrier == far_down:
                    return "down2"
                elif direction == "down" and barrier == near_up:
                    return "down1"
    if t + horizon >= len(bars):
        return None
    return {"up": "up1", "down": "down1", None: "flat"}[direction]


@pytest.mark.parametrize("horizon", [1, 3, 10])
def test_the_labels_match_an_event_driven_walk_over_random_bars(horizon: int) -> None:
    rng = random.Random(horizon)
    bars, close = [], 100.0
    for _ in range(600):
        open_ = round(close + rng.gauss(0, 0.4), 2)
        close = round(open_ + rng.gauss(0, 1.0), 2)
        high = round(max(open_, close) + abs(rng.gauss(0, 0.6)), 2)
        low = round(min(open_, close) - abs(rng.gauss(0, 0.6)), 2)
        bars.append((open_, high, low, close))
    atr = [float("nan")] * 14 + [round(rng.uniform(0.5, 2.0), 2) for _ in range(len(bars) - 14)]
    columns = [np.array(column) for column in zip(*bars, strict=True)]
    labels = first_touch_labels(*columns, np.array(atr), horizon)
    expected = [walked_label(bars, atr[t], t, horizon) for t in range(len(bars))]
    assert list(labels) == expected
    assert {"up2", "up1", "down1", "down2"} <= set(expected), "every way a bar can go is exercised"


def indicator_rows(pair: str, count: int, closed: int) -> pl.DataFrame:
    """`count` 1h bars of a random walk through the production indicators, the first `closed` closed."""
    rng = random.Random(pair)
    start = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    closes = np.cumsum([rng.gauss(0, 1.0) for _ in range(count)]) + 100
    opens = np.concatenate(([100.0], closes[:-1]))
    spread = np.array([abs(rng.gauss(0, 0.7)) for _ in range(count)])
    bars = pl.DataFrame(
        {
            "pair": pair,
            "open_time": [start + dt.timedelta(hours=i) for i in range(count)],
            "open": opens,
            "high": np.maximum(opens, closes) + spread,
            "low": np.minimum(opens, closes) - spread,
            "close": closes,
            "volume": 1.0,
        }
    )
    frame = indicators(bars).with_columns(
        pl.lit("1h").alias("interval"), (pl.int_range(pl.len()) < closed).alias("is_closed")
    )
    return frame.select(list(INDICATORS_SCHEMA))


def test_the_asset_labels_closed_bars_reports_balance_and_reruns_the_same(
    lake: LakeResource, instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TICKERLAKE_LABEL_HORIZON", "5")
    for pair in ("BTCUSDT", "ETHUSDT"):
        lake.replace(INDICATORS_DATASET, indicator_rows(pair, 300, closed=299), where={"pair": pair})
    first = dg.materialize([crypto_labels], resources={"lake": lake}, instance=instance)
    assert first.success
    stored = lake.read(LABELS_DATASET).sort("pair", "interval", "open_time")
    assert stored.height == 2 * 299, "the bar still forming is not labelled"
    btc = indicator_rows("BTCUSDT", 300, closed=299).head(299)
    expected = first_touch_labels(
        *(btc[c].to_numpy() for c in ("open", "high", "low", "close")), btc["atr_14"].fill_null(np.nan).to_numpy(), 5
    )
    assert stored.filter(pl.col("pair") == "BTCUSDT")["label"].to_list() == list(expected)
    assert stored["horizon"].unique().to_list() == [5]
    balance = first.asset_materializations_for_node("crypto__crypto_labels")[0].metadata["class_balance_json"].value
    btc_row = balance[0]
    assert [row["pair"] for row in balance] == ["BTCUSDT", "ETHUSDT"]
    assert btc_row["labelled"] == sum(label is not None for label in expected) >= 299 - 14 - 5
    assert all(abs(sum(row[name] for name in LABELS) - 100) < 0.5 for row in balance)
    (coverage,) = first.get_asset_check_evaluations()
    assert coverage.check_name == "label_coverage" and coverage.passed
    assert dg.materialize([crypto_labels], resources={"lake": lake}, instance=instance).success
    assert lake.read(LABELS_DATASET).sort("pair", "interval", "open_time").equals(stored)


def horizon_label_of_first(closes: list[float], near_bars: int = 2, far_bars: int = 4) -> str | None:
    """Bar 0 (close 100, ATR 1: near +/-1 at 101/99, far +/-2 at 102/98) given the closes after it."""
    close = np.array([100.0, *closes])
    return horizon_labels(close, np.full(len(close), ATR), near_bars, far_bars)[0]


@pytest.mark.parametrize(
    ("closes", "expected"),
    [
        ([100.5, 101.0, 101.2, 101.9], "up1"),  # +1 ATR at N1 (>= counts), short of +2 at N2
        ([101.5, 103.0, 102.5, 102.0], "up2"),  # both up1 (N1) and up2 (N2): the far horizon's up2
        ([100.0, 101.5, 99.0, 97.5], "down2"),  # up1 at N1, down2 at N2: the move that lasted, down2
        ([99.5, 98.9, 99.0, 99.2], "down1"),  # -1.1 ATR at N1, back within 1 ATR at N2
        ([100.0, 100.5, 104.0, 100.4], "flat"),  # only closes count: +4 between the horizons is not seen
        ([99.0, 100.9, 101.0, 101.99], "flat"),  # neither threshold reached at its own horizon
        ([100.0, 101.0, 101.0], None),  # N1 is known but N2 has not come: not known yet
        ([100.0, float("nan"), 101.0, 103.0], None),  # no close at N1: not known
        ([99.0, 98.5, 100.0, 102.5], "up2"),  # down1 at N1, up2 at N2: up2
    ],
)
def test_the_horizon_scheme_on_hand_checked_closes(closes: list[float], expected: str | None) -> None:
    assert horizon_label_of_first(closes) == expected


def test_the_horizon_scheme_needs_an_atr_and_n1_before_n2() -> None:
    close = np.array([100.0, 101.0, 102.0, 103.0, 104.0])
    assert horizon_labels(close, np.array([np.nan, 1, 1, 1, 1]), 2, 4)[0] is None
    assert horizon_labels(close, np.ones(5), 2, 4)[0] == "up2"
    assert horizon_labels(close, np.ones(5), 2, 4, usable=np.array([3, 3, 2, 1, 0]))[0] is None, "capped before N2"
    with pytest.raises(ValueError, match="1 <= N1 < N2"):
        horizon_labels(close, np.ones(5), 4, 2)


def test_the_scheme_is_a_setting_and_the_horizon_scheme_looks_n2_bars_ahead(
    lake: LakeResource, instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TICKERLAKE_LABEL_SCHEME", "horizon")
    monkeypatch.setenv("TICKERLAKE_LABEL_NEAR_BARS", "3")
    monkeypatch.setenv("TICKERLAKE_LABEL_FAR_BARS", "6")
    config = LabelConfig.from_settings()
    assert (config.scheme, config.lookahead) == ("horizon", 6)
    lake.replace(INDICATORS_DATASET, indicator_rows("BTCUSDT", 100, closed=99), where={"pair": "BTCUSDT"})
    assert dg.materialize([crypto_labels], resources={"lake": lake}, instance=instance).success
    stored = lake.read(LABELS_DATASET).sort("open_time")
    bars = indicator_rows("BTCUSDT", 100, closed=99).head(99)
    expected = horizon_labels(bars["close"].to_numpy(), bars["atr_14"].fill_null(np.nan).to_numpy(), 3, 6)
    assert stored["label"].to_list() == list(expected)
    assert stored["label"].tail(6).is_null().all() and stored["label"].head(99 - 6).drop_nulls().len() > 70
    assert stored.select("scheme", "horizon").unique().rows() == [("horizon", 6)]
    monkeypatch.setenv("TICKERLAKE_LABEL_SCHEME", "barrier")
    with pytest.raises(ValueError, match="TICKERLAKE_LABEL_SCHEME: 'barrier' is not one of first_touch, horizon"):
        LabelConfig.from_settings()
