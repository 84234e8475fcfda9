"""TD Sequential on hand-checked bars: every count below is worked out in the comments, bar by bar.

Bars are given by their closes; unless a test says otherwise high = close + 1 and low = close - 1, so
a bar's true high is max(close + 1, previous close) and its true low min(close - 1, previous close).
"Below"/"above" compare a close with the close 4 bars earlier; a buy countdown bar qualifies when
its close is at or below the low 2 bars earlier (the previous-but-one close minus 1).
"""

import numpy as np
import pytest

from assets.technicals import td_sequential

# Bars 0-4 rise; bar 4 closes above bar 0 (104 > 100). Bar 5 closes below bar 1 (99 < 101) right
# after that: a bearish price flip, so bar 5 is buy setup 1. Each bar then closes 1 lower, below the
# close 4 bars earlier: setup 2..9 on bars 6..13, and it goes on (10..16 on bars 14..20).
FLIP_AND_NINE = [100, 101, 102, 103, 104, 99, 98, 97, 96, 95, 94, 93, 92, 91]


def bars(closes: list[float], high: dict[int, float] | None = None, low: dict[int, float] | None = None) -> dict:
    close = np.array(closes, dtype=float)
    highs, lows = close + 1, close - 1
    for i, value in (high or {}).items():
        highs[i] = value
    for i, value in (low or {}).items():
        lows[i] = value
    return td_sequential(highs, lows, close)


def column(td: dict, name: str) -> list[int]:
    return [int(v) for v in td[name]]


def test_a_setup_needs_a_price_flip() -> None:
    # Every close from bar 4 on is below the close 4 bars earlier, but no close was ever above it
    # before: there is no bearish flip, so no buy setup at all (a plain "9 in a row" count would
    # print 1..9 on bars 4..12).
    td = bars([100 - i for i in range(20)])
    assert column(td, "td_buy_setup") == [0] * 20
    assert column(td, "td_buy_countdown") == [0] * 20


def test_an_equal_close_is_no_flip() -> None:
    # Bar 4 closes equal to bar 0 (100 = 100): neither above nor below. Bar 5 closes below bar 1
    # (99 < 101), but the bar before it was not above: no flip, no setup.
    td = bars([100, 101, 102, 103, 100, 99, 98, 97, 96, 95])
    assert column(td, "td_buy_setup") == [0] * 10


QUALIFIER = [*FLIP_AND_NINE, 90, 89, 88, 87, 86, 85, 84, 95, 94, 92, 90, 88, 86, 85.5, 84.5, 84]


def test_setup_extension_countdown_from_bar_nine_and_the_thirteen_qualifier() -> None:
    td = bars(QUALIFIER)
    # Setup: 1..9 on bars 5..13, extended 10..16 on bars 14..20 (84 < 88 on bar 20): one 9 only.
    # Bar 21 closes 95, above bar 17's 87: the setup ends. Bars 21-24 close above the close 4 bars
    # earlier after bar 20 closed below (84 < 88): a bullish flip, sell setup 1..4 (95 > 87, 94 > 86,
    # 92 > 85, 90 > 84). Bar 25 closes 88 < bar 21's 95 after bar 24 was above: a bearish flip, buy
    # setup 1 again, then 2, 3, 4, 5 (86 < 94, 85.5 < 92, 84.5 < 90, 84 < 88); it never reaches 9.
    assert column(td, "td_buy_setup") == [0] * 5 + list(range(1, 17)) + [0, 0, 0, 0, 1, 2, 3, 4, 5]
    assert column(td, "td_sell_setup") == [0] * 21 + [1, 2, 3, 4] + [0] * 5
    assert column(td, "td_buy_setup").count(9) == 1
    # Countdown: bar 13 completes the setup and is itself countdown 1 (91 <= low of bar 11, 92).
    # Bars 14..20 each close 1 below the close 2 bars earlier, at or below that bar's low: 2..8;
    # bar 20's close, 84, is the close of countdown bar 8. Bars 21, 22 (95 > 84, 94 > 83) do not
    # qualify: still 8. Bar 23: 92 <= 94 (low of bar 21): 9; bar 24: 90 <= 93: 10; bar 25: 88 <= 91:
    # 11; bar 26: 86 <= 89: 12. Bar 27: 85.5 <= 87 qualifies, but its low 84.5 is above bar 8's
    # close 84: 13 is deferred, the count stays 12. Bar 28: 84.5 <= 85 and its low 83.5 <= 84: 13,
    # which ends the countdown (bar 29: 0).
    countdown = [0] * 13 + list(range(1, 9)) + [8, 8, 9, 10, 11, 12, 12, 13, 0]
    assert column(td, "td_buy_countdown") == countdown
    assert column(td, "td_buy_countdown_deferred") == [0] * 27 + [1, 0, 0]
    assert column(td, "td_sell_countdown") == [0] * 30
    # Perfection: bar 8 of the setup (bar 12, low 91) is at or below the lows of bars 6 and 7 (bars
    # 10 and 11: 93 and 92): perfected, flagged on the setup's bar 9 (bar 13).
    assert column(td, "td_buy_perfected") == [0] * 13 + [1] + [0] * 16


def test_the_sell_side_mirrors_the_buy_side() -> None:
    close = np.array(QUALIFIER, dtype=float)
    buy = td_sequential(close + 1, close - 1, close)
    sell = td_sequential(-(close - 1), -(close + 1), -close)
    for name in ("setup", "countdown", "perfected", "countdown_deferred"):
        assert column(sell, f"td_sell_{name}") == column(buy, f"td_buy_{name}")
        assert column(sell, f"td_buy_{name}") == column(buy, f"td_sell_{name}")


def test_perfection_can_come_after_bar_nine() -> None:
    # The same setup, but the lows of bars 12 and 13 (setup bars 8, 9) stay above the lows of bars 10
    # and 11 (93, 92): not perfected on bar 13. Bar 14's low (89) is the first at or below 92.
    td = bars([*FLIP_AND_NINE, 90, 89], low={12: 92.5, 13: 92.5})
    assert column(td, "td_buy_perfected") == [0] * 14 + [1, 0]


def test_an_opposite_setup_cancels_the_countdown() -> None:
    # Buy setup 9 on bar 13, countdown 1 on it. Bar 14 closes 95 > bar 10's 94 right after bar 13
    # closed below: a bullish flip, sell setup 1; then 96..103 on bars 15..22 each close above the
    # close 4 bars earlier (96 > 93, 97 > 92, 98 > 91, 99 > 95, ..., 103 > 99): sell setup 9 on bar 22.
    # No bar from 14 to 21 closes at or below the low 2 bars earlier: the buy countdown stays 1, and
    # bar 22 cancels it (0 from there). Bar 22 is sell countdown 1 (103 >= high of bar 20, 102);
    # bar 23 (104 >= 103): 2.
    td = bars([*FLIP_AND_NINE, 95, 96, 97, 98, 99, 100, 101, 102, 103, 104])
    assert column(td, "td_sell_setup") == [0] * 14 + list(range(1, 11))
    assert column(td, "td_buy_countdown") == [0] * 13 + [1] * 9 + [0, 0]
    assert column(td, "td_sell_countdown") == [0] * 22 + [1, 2]


def test_a_true_low_above_tdst_resistance_cancels_the_countdown() -> None:
    # TDST resistance of the buy setup on bars 5-13: its highest true high, bar 5's (the previous
    # close, 104). Bar 14 gaps up (low 105) but its true low is the previous close, 91: nothing.
    # Bar 15's true low is min(106, 106) = 106 > 104: the countdown is cancelled. Bars 16-18 then
    # close at or below the low 2 bars earlier (103 <= 105, 100 <= 106, 97 <= 102) but no countdown
    # is active any more: 0.
    td = bars([*FLIP_AND_NINE, 106, 107, 103, 100, 97])
    assert column(td, "td_buy_countdown") == [0] * 13 + [1, 1] + [0] * 4
    assert column(td, "td_sell_setup")[-5:] == [1, 2, 3, 4, 0]  # 106 > 94, 107 > 93, 103 > 92, 100 > 91; 97 < 106


# After buy setup A (bars 5-13) bar 14 closes above bar 10 (94); bars 15-23 close 90, 89, ..., 82,
# each below the close 4 bars earlier, and bar 14 was above: a bearish flip, so bars 15-23 are buy
# setup B 1..9 while A's countdown runs: bar 13: 1 (91 <= 92); bar 14 no (spike); bar 15: 2 (90 <=
# low of bar 13, 90); bars 16-22: 3..9 (89 <= low of bar 14 whatever it is, then each close 1 below
# the previous-but-one close). Setup A's size: true high 104 (bar 5) - true low 90 (bar 13) = 14.
# Setup B's true low is bar 23's low, 81; its true high is bar 15's, the spike's close (bar 15's own
# high is 91), so B's size is spike - 81.
def recycle_case(spike: float) -> list[int]:
    return column(bars([*FLIP_AND_NINE, spike, 90, 89, 88, 87, 86, 85, 84, 83, 82, 81]), "td_buy_countdown")


def test_a_new_setup_up_to_1_618_times_the_size_recycles_the_countdown() -> None:
    # spike 96: B's size is 96 - 81 = 15, between 14 and 1.618 x 14 = 22.65: the countdown recycles.
    # Bar 23 (B's bar 9) restarts it and is countdown 1 (82 <= low of bar 21, 83); bar 24: 2.
    assert recycle_case(96) == [0] * 13 + [1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 2]


def test_a_smaller_new_setup_leaves_the_countdown_running() -> None:
    # spike 94.5 (still above bar 10's 94): B's size 13.5 < 14, A stays the active setup and its
    # countdown goes on: 10 on bar 23, 11 on bar 24.
    assert recycle_case(94.5) == [0] * 13 + [1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]


def test_a_much_larger_new_setup_is_no_recycle() -> None:
    # spike 120: B's size 39 >= 22.65. Perl's qualifier covers sizes below 1.618 x; no other rule is
    # implemented (tech docstring), so the countdown goes on as in the smaller case.
    assert recycle_case(120) == [0] * 13 + [1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]


@pytest.mark.parametrize("size", [0, 1, 4, 5])
def test_a_flip_needs_six_bars(size: int) -> None:
    # The earliest flip compares bar 4 with bar 0 and bar 5 with bar 1: up to 5 bars, never a count.
    td = bars([100.0, 104.0, 99.0, 103.0, 105.0][:size])
    assert all(len(values) == size and not values.any() for values in td.values())
