"""Technical indicators of one instrument's bars: pure functions, shared by crypto and equities.

No Dagster and no lake here: assets/indicators.py (crypto pairs) and assets/equity_indicators.py
(equities, on adjusted daily prices) both call `indicators()`, so both tables hold the same columns
computed by the same code.

SQL is unfit here: Wilder's smoothing (RSI, ATR) and EMA are recursive, and TD Sequential is a
state machine. Each function follows TA-Lib's definitions and seeding, so values match TA-Lib to
1e-9 (tests/test_indicators.py compares them): EMA starts from the SMA of its first n values, RSI
and ATR from the mean of their first n gains/losses/true ranges, Bollinger uses the population
standard deviation, Stochastic is TA-Lib's STOCH (fast %K over 14, slowed by SMA 3, %D = SMA 3).
A recursive indicator forgets its seed geometrically: the seed's weight after k bars is
(1 - 1/14)^k for Wilder's 14 (2.5e-8 at k = 236) and (19/21)^k for EMA 20 (1e-10 at k = 230).

TD Sequential follows DeMark's rules as J. Perl published them (DeMark Indicators, Bloomberg
Press, 2008, chapter 1); `td_sequential` says which rules are implemented and which are not.
"""

import numpy as np
import polars as pl

SMA_PERIOD = EMA_PERIOD = BB_PERIOD = 20
RSI_PERIOD = ATR_PERIOD = STOCH_PERIOD = 14
STOCH_SMOOTH = 3
TD_LOOKBACK, TD_SETUP = 4, 9
TD_COUNTDOWN_LOOKBACK, TD_COUNTDOWN, TD_QUALIFIER_BAR = 2, 13, 8
TD_RECYCLE_RATIO = 1.618

TD_COUNTS = ("td_buy_setup", "td_sell_setup", "td_buy_countdown", "td_sell_countdown")
TD_FLAGS = ("td_buy_perfected", "td_sell_perfected", "td_buy_countdown_deferred", "td_sell_countdown_deferred")
# Columns in price units: they scale with the prices (an adjustment factor multiplies them all).
PRICE_LEVELS = (
    f"sma_{SMA_PERIOD}",
    f"ema_{EMA_PERIOD}",
    f"atr_{ATR_PERIOD}",
    "bb_upper",
    "bb_middle",
    "bb_lower",
    "pivot",
    "r1",
    "s1",
    "r2",
    "s2",
)
INDICATOR_SCHEMA: dict[str, pl.DataType] = {
    **{
        c: pl.Float64()
        for c in (
            f"sma_{SMA_PERIOD}",
            f"ema_{EMA_PERIOD}",
            f"rsi_{RSI_PERIOD}",
            f"atr_{ATR_PERIOD}",
            "bb_upper",
            "bb_middle",
            "bb_lower",
            "stoch_k",
            "stoch_d",
        )
    },
    **{c: pl.Int64() for c in TD_COUNTS},
    **{c: pl.Boolean() for c in TD_FLAGS},
    **{c: pl.Float64() for c in ("pivot", "r1", "s1", "r2", "s2")},
    **{c: pl.Float64() for c in (f"volume_sma_{SMA_PERIOD}", "volume_delta", f"volume_delta_sma_{SMA_PERIOD}")},
}
# The taker (aggressor) buy volume of a bar, where the source has it (Binance klines): the volume delta
# is what aggressive buyers took minus what aggressive sellers did, 2 x taker buy - volume.
TAKER_BUY = "taker_buy_base_volume"


def _nan_prefix(values: np.ndarray, first: int) -> np.ndarray:
    out = np.full(len(values), np.nan)
    out[first:] = values[first:]
    return out


def sma(values: np.ndarray, n: int) -> np.ndarray:
    """Mean of the last n values; NaN until n values exist."""
    return pl.Series(values).rolling_mean(n).fill_null(np.nan).to_numpy()


def _seeded_smoothing(values: np.ndarray, start: int, n: int, alpha: float) -> np.ndarray:
    """The mean of values[start-n+1 .. start] at `start`, then y = (1 - alpha) y + alpha x."""
    out = np.full(len(values), np.nan)
    if len(values) <= start:
        return out
    seeded = np.concatenate(([values[start - n + 1 : start + 1].mean()], values[start + 1 :]))
    out[start:] = pl.Series(seeded).ewm_mean(alpha=alpha, adjust=False).to_numpy()
    return out


def ema(values: np.ndarray, n: int) -> np.ndarray:
    """TA-Lib EMA: k = 2 / (n + 1), seeded with the SMA of the first n values."""
    return _seeded_smoothing(values, n - 1, n, 2.0 / (n + 1))


def rsi(close: np.ndarray, n: int = RSI_PERIOD) -> np.ndarray:
    """Wilder's RSI: averages of gains and losses seeded by their mean over the first n changes."""
    change = np.diff(close, prepend=np.nan)
    gains, losses = np.where(change > 0, change, 0.0), np.where(change < 0, -change, 0.0)
    avg_gain = _seeded_smoothing(gains, n, n, 1.0 / n)
    avg_loss = _seeded_smoothing(losses, n, n, 1.0 / n)
    total = avg_gain + avg_loss
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total == 0, 0.0, 100.0 * avg_gain / total)


def true_range(high: np.ndarray, low: np.ndarray, close: np.ndarray) -> np.ndarray:
    """max(high, previous close) - min(low, previous close); NaN on the first bar, as TA-Lib's TRANGE."""
    previous = np.roll(close, 1)
    ranges = np.maximum(high - low, np.maximum(np.abs(high - previous), np.abs(low - previous)))
    return _nan_prefix(ranges, 1)


def atr(high: np.ndarray, low: np.ndarray, close: np.ndarray, n: int = ATR_PERIOD) -> np.ndarray:
    """Wilder's ATR: true ranges from the second bar, seeded by the mean of the first n of them."""
    return _seeded_smoothing(true_range(high, low, close), n, n, 1.0 / n)


def bollinger(close: np.ndarray, n: int = BB_PERIOD, k: float = 2.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Upper, middle (SMA n) and lower bands at k population standard deviations."""
    middle = sma(close, n)
    deviation = pl.Series(close).rolling_std(n, ddof=0).fill_null(np.nan).to_numpy()
    return middle + k * deviation, middle, middle - k * deviation


def stochastic(
    high: np.ndarray, low: np.ndarray, close: np.ndarray, n: int = STOCH_PERIOD, smooth: int = STOCH_SMOOTH
) -> tuple[np.ndarray, np.ndarray]:
    """Slow %K (SMA of fast %K) and %D (SMA of slow %K); fast %K is 0 where the range is flat.

    Both start on the first bar that has a %D, as TA-Lib's STOCH does.
    """
    highest = pl.Series(high).rolling_max(n).fill_null(np.nan).to_numpy()
    lowest = pl.Series(low).rolling_min(n).fill_null(np.nan).to_numpy()
    span = highest - lowest
    with np.errstate(invalid="ignore", divide="ignore"):
        fast_k = np.where(span > 0, 100.0 * (close - lowest) / span, 0.0)
    fast_k = _nan_prefix(fast_k, n - 1)
    slow_k = _shifted_sma(fast_k, smooth, n - 1)
    slow_d = _shifted_sma(slow_k, smooth, n - 1 + smooth - 1)
    return _nan_prefix(slow_k, n - 1 + 2 * (smooth - 1)), slow_d


def _shifted_sma(values: np.ndarray, n: int, first: int) -> np.ndarray:
    """SMA over values that are NaN before `first`."""
    out = np.full(len(values), np.nan)
    out[first:] = sma(values[first:], n)
    return out


def td_sequential(high: np.ndarray, low: np.ndarray, close: np.ndarray) -> dict[str, np.ndarray]:
    """TD Sequential per DeMark as published by J. Perl (DeMark Indicators, 2008, ch. 1); sell mirrors buy.

    Setup (`td_buy_setup`): a buy setup starts only after a bearish TD Price Flip, i.e. on a bar whose
    close is below the close 4 bars earlier while the previous bar's close was above the close 4 bars
    before it (strictly: an equal close is no flip). It counts consecutive closes below the close 4
    bars earlier; 9 completes it, and a setup that keeps going extends (10, 11, ...): it neither
    restarts at 1 nor prints a second 9. A close at or above the close 4 bars earlier ends it (0),
    and the next buy setup again needs a flip. The count is the bar's own number, 0 outside a setup.

    Perfection (`td_buy_perfected`, true on one bar): the low of setup bar 8 or 9 is at or below the
    lows of bars 6 and 7 (flagged on bar 9); otherwise the first later bar whose low is at or below
    both, until the next setup (either direction) completes.

    Countdown (`td_buy_countdown`): starts on the bar that completes a buy setup, and that bar is
    itself countdown bar 1 if it qualifies. A bar qualifies when its close is at or below the low 2
    bars earlier; qualifying bars need not be consecutive. The column is the running count of the
    active countdown on every bar (it repeats between qualifying bars; 0: no active countdown).
    13th-bar qualifier: a bar that would be 13 counts only if its low is at or below the close of
    countdown bar 8; otherwise the count stays at 12, `td_buy_countdown_deferred` is true on that bar,
    and the next qualifying bar that meets the qualifier is 13. A countdown ends at 13.

    Cancellation, as published (Perl's "TD Buy Countdown Cancellation" filters), both implemented:
    - a TD Sell Setup completes (its bar 9) before the buy countdown reaches 13;
    - a bar's true low (min of its low and the previous close) is above TDST resistance, the highest
      true high (max of high and previous close) of the active buy setup's bars 1-9.
    Recycling, Perl's "Cancellation Qualifiers" I and II, when a new buy setup completes while a buy
    countdown is active; a setup's size is its true range over bars 1-9 (highest true high minus
    lowest true low), judged on its bar 9:
    - new size >= active size and < 1.618 x active size (qualifier I): the countdown recycles: the
      new setup becomes the active one (its TDST, its size) and the countdown restarts from its bar 9;
    - new size < active size (qualifier I's "the larger one stays active", which covers qualifier
      II's setup within the prior setup's true range): the active setup and its countdown go on.
    Not implemented: a new setup of 1.618 x or more the active one (no published rule we could
    confirm; the countdown goes on unchanged), DeMark's earlier "setup extended to 18 bars recycles
    the countdown" (S&C / Currency Trader articles, not in Perl's rules), the elective 8-vs-5
    countdown qualifier, TD Aggressive Sequential, risk levels and TDST setup-trading filters.
    """
    buy_setup, sell_setup = _setup_counts(close), _setup_counts(-close)
    buy_done, sell_done = buy_setup == TD_SETUP, sell_setup == TD_SETUP
    buy_countdown, buy_deferred = _countdown(high, low, close, buy_setup, sell_done)
    sell_countdown, sell_deferred = _countdown(-low, -high, -close, sell_setup, buy_done)
    return {
        "td_buy_setup": buy_setup,
        "td_sell_setup": sell_setup,
        "td_buy_countdown": buy_countdown,
        "td_sell_countdown": sell_countdown,
        "td_buy_perfected": _perfection(low, buy_setup, sell_done),
        "td_sell_perfected": _perfection(-high, sell_setup, buy_done),
        "td_buy_countdown_deferred": buy_deferred,
        "td_sell_countdown_deferred": sell_deferred,
    }


def _setup_counts(close: np.ndarray) -> np.ndarray:
    """Buy setup counts (a sell setup is the buy setup of -close): a flip starts one, it extends past 9."""
    size = len(close)
    below = np.zeros(size, dtype=bool)
    above = np.zeros(size, dtype=bool)
    below[TD_LOOKBACK:] = close[TD_LOOKBACK:] < close[:-TD_LOOKBACK]
    above[TD_LOOKBACK:] = close[TD_LOOKBACK:] > close[:-TD_LOOKBACK]
    counts = np.zeros(size, dtype=np.int64)
    count = 0
    was_above = np.concatenate(([False], above[:-1])) if size else above
    for i, (is_below, flipped) in enumerate(zip(below.tolist(), was_above.tolist(), strict=True)):
        count = count + 1 if is_below and (count > 0 or flipped) else 0
        counts[i] = count
    return counts


def _countdown(
    high: np.ndarray, low: np.ndarray, close: np.ndarray, setup: np.ndarray, opposite_done: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Buy countdown counts and deferred-13 flags (a sell countdown is the buy countdown of -low, -high, -close)."""
    size = len(close)
    previous = np.concatenate(([np.nan], close[:-1]))
    true_high, true_low = np.fmax(high, previous).tolist(), np.fmin(low, previous).tolist()
    lows, closes = low.tolist(), close.tolist()
    qualifies = np.zeros(size, dtype=bool)
    qualifies[TD_COUNTDOWN_LOOKBACK:] = close[TD_COUNTDOWN_LOOKBACK:] <= low[:-TD_COUNTDOWN_LOOKBACK]
    counts, deferred = np.zeros(size, dtype=np.int64), np.zeros(size, dtype=bool)
    active, count, bar8_close, tdst, active_size = False, 0, np.nan, np.nan, np.nan
    for i, (completes, cancels, counts_here) in enumerate(
        zip((setup == TD_SETUP).tolist(), opposite_done.tolist(), qualifies.tolist(), strict=True)
    ):
        if active and (cancels or true_low[i] > tdst):
            active = False
        if completes:
            setup_high, setup_low = max(true_high[i - TD_SETUP + 1 : i + 1]), min(true_low[i - TD_SETUP + 1 : i + 1])
            new_size = setup_high - setup_low
            if not active or active_size <= new_size < TD_RECYCLE_RATIO * active_size:
                active, count, bar8_close, tdst, active_size = True, 0, np.nan, setup_high, new_size
        if active and counts_here:
            if count < TD_COUNTDOWN - 1:
                count += 1
                bar8_close = closes[i] if count == TD_QUALIFIER_BAR else bar8_close
            elif lows[i] <= bar8_close:
                count = TD_COUNTDOWN
            else:
                deferred[i] = True
        counts[i] = count if active else 0
        if count == TD_COUNTDOWN:
            active, count = False, 0
    return counts, deferred


def _perfection(low: np.ndarray, setup: np.ndarray, opposite_done: np.ndarray) -> np.ndarray:
    """True on the bar a buy setup is perfected: bar 8 or 9 (or a later bar) at or below the lows of bars 6 and 7."""
    perfected = np.zeros(len(low), dtype=bool)
    lows = low.tolist()
    watching = np.nan  # the level a deferred perfection waits for
    for i, (count, cancels) in enumerate(zip(setup.tolist(), opposite_done.tolist(), strict=True)):
        if count == TD_SETUP:
            level = min(lows[i - 3], lows[i - 2])
            perfected[i] = lows[i - 1] <= level or lows[i] <= level
            watching = np.nan if perfected[i] else level
        elif cancels:
            watching = np.nan
        elif lows[i] <= watching:
            perfected[i], watching = True, np.nan
    return perfected


def pivots(high: np.ndarray, low: np.ndarray, close: np.ndarray) -> dict[str, np.ndarray]:
    """Floor-trader pivot, support and resistance levels from the previous bar's high, low and close."""
    previous_high, previous_low, previous_close = (_nan_prefix(np.roll(a, 1), 1) for a in (high, low, close))
    pivot = (previous_high + previous_low + previous_close) / 3
    return {
        "pivot": pivot,
        "r1": 2 * pivot - previous_low,
        "s1": 2 * pivot - previous_high,
        "r2": pivot + (previous_high - previous_low),
        "s2": pivot - (previous_high - previous_low),
    }


def volume_delta(bars: pl.DataFrame) -> np.ndarray:
    """2 x taker buy volume - volume per bar; NaN where the bars carry no taker volume (equities)."""
    if TAKER_BUY not in bars.columns:
        return np.full(bars.height, np.nan)
    taker = bars[TAKER_BUY].cast(pl.Float64).fill_null(np.nan).to_numpy()
    return 2 * taker - bars["volume"].cast(pl.Float64).to_numpy()


def indicators(bars: pl.DataFrame) -> pl.DataFrame:
    """Every indicator of one instrument's bars (sorted by time), beside the bars themselves."""
    high, low, close = (bars[c].to_numpy().astype(np.float64) for c in ("high", "low", "close"))
    volume, delta = bars["volume"].cast(pl.Float64).fill_null(np.nan).to_numpy(), volume_delta(bars)
    upper, middle, lower = bollinger(close)
    slow_k, slow_d = stochastic(high, low, close)
    columns = {
        f"sma_{SMA_PERIOD}": sma(close, SMA_PERIOD),
        f"ema_{EMA_PERIOD}": ema(close, EMA_PERIOD),
        f"rsi_{RSI_PERIOD}": rsi(close),
        f"atr_{ATR_PERIOD}": atr(high, low, close),
        "bb_upper": upper,
        "bb_middle": middle,
        "bb_lower": lower,
        "stoch_k": slow_k,
        "stoch_d": slow_d,
        **td_sequential(high, low, close),
        **pivots(high, low, close),
        f"volume_sma_{SMA_PERIOD}": sma(volume, SMA_PERIOD),
        "volume_delta": delta,
        f"volume_delta_sma_{SMA_PERIOD}": sma(delta, SMA_PERIOD),
    }
    return bars.with_columns(
        pl.Series(name, values).fill_nan(None) if values.dtype.kind == "f" else pl.Series(name, values)
        for name, values in columns.items()
    )
