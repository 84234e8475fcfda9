"""Technical indicators on 1m, 1h and 1d bars of every pair, as a polars asset.

SQL is unfit here: Wilder's smoothing (RSI, ATR) and EMA are recursive, and TD Sequential is a
state machine. Each function follows TA-Lib's definitions and seeding, so values match TA-Lib to
1e-9 (tests/test_indicators.py compares them): EMA starts from the SMA of its first n values, RSI
and ATR from the mean of their first n gains/losses/true ranges, Bollinger uses the population
standard deviation, Stochastic is TA-Lib's STOCH (fast %K over 14, slowed by SMA 3, %D = SMA 3).

Hours and days use the pair's whole history (the 1h/1d rollups written beside the klines); minutes
use the last TICKERLAKE_CRYPTO_1M_DAYS days (default 7, i.e. 10,080 bars), which is past the point
where a recursive indicator forgets its seed (Wilder's weight of the seed after 1,000 bars is 1e-32).
"""

import datetime as dt

import dagster as dg
import numpy as np
import polars as pl

from assets.binance import HISTORY_KEY, KLINES_DATASET, KLINES_KEY, ROLLUPS
from resources import settings
from resources.binance import midnight
from resources.lake import Between, Dataset, LakeResource

INTERVALS = ("1m", "1h", "1d")
STEP = {"1m": dt.timedelta(minutes=1), "1h": dt.timedelta(hours=1), "1d": dt.timedelta(days=1)}
SMA_PERIOD = EMA_PERIOD = BB_PERIOD = 20
RSI_PERIOD = ATR_PERIOD = STOCH_PERIOD = 14
STOCH_SMOOTH = 3
TD_SETUP, TD_COUNTDOWN = 9, 13

INDICATORS_SCHEMA: dict[str, pl.DataType] = {
    "pair": pl.String(),
    "interval": pl.String(),
    "open_time": pl.Datetime("us", "UTC"),
    "is_closed": pl.Boolean(),
    **{
        c: pl.Float64()
        for c in (
            "open",
            "high",
            "low",
            "close",
            "volume",
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
    **{c: pl.Int64() for c in ("td_buy_setup", "td_sell_setup", "td_buy_countdown", "td_sell_countdown")},
    **{c: pl.Float64() for c in ("pivot", "r1", "s1", "r2", "s2")},
}
DATASET = Dataset("crypto_indicators", INDICATORS_SCHEMA, order=("pair", "interval", "open_time"))
ASSET_KEY = dg.AssetKey(["crypto", DATASET.name])


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
    """TD Sequential setup (1..9) and countdown (1..13) counts, buy and sell.

    Setup: consecutive closes below (buy) or above (sell) the close 4 bars earlier; 9 completes it,
    and the count starts again. Countdown starts after a completed setup and counts, not
    necessarily consecutively, closes at or below the low (buy) or at or above the high (sell) 2
    bars earlier; 13 completes it. A completed opposite setup cancels a running countdown.
    """
    size = len(close)
    out = {
        name: np.zeros(size, dtype=np.int64)
        for name in ("td_buy_setup", "td_sell_setup", "td_buy_countdown", "td_sell_countdown")
    }
    buy = sell = 0
    buy_countdown = sell_countdown = -1  # -1: no countdown running
    for i in range(4, size):
        buy = buy % TD_SETUP + 1 if close[i] < close[i - 4] else 0
        sell = sell % TD_SETUP + 1 if close[i] > close[i - 4] else 0
        out["td_buy_setup"][i], out["td_sell_setup"][i] = buy, sell
        if buy_countdown >= 0 and close[i] <= low[i - 2]:
            buy_countdown += 1
            out["td_buy_countdown"][i] = buy_countdown
        if sell_countdown >= 0 and close[i] >= high[i - 2]:
            sell_countdown += 1
            out["td_sell_countdown"][i] = sell_countdown
        buy_countdown = -1 if buy_countdown == TD_COUNTDOWN else buy_countdown
        sell_countdown = -1 if sell_countdown == TD_COUNTDOWN else sell_countdown
        if buy == TD_SETUP:
            buy_countdown, sell_countdown = 0, -1
        if sell == TD_SETUP:
            sell_countdown, buy_countdown = 0, -1
    return out


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


def indicators(bars: pl.DataFrame) -> pl.DataFrame:
    """Every indicator of one pair's bars (sorted by open_time), beside the bars themselves."""
    high, low, close = (bars[c].to_numpy().astype(np.float64) for c in ("high", "low", "close"))
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
    }
    return bars.with_columns(
        pl.Series(name, values).fill_nan(None) if values.dtype.kind == "f" else pl.Series(name, values)
        for name, values in columns.items()
    )


def pair_bars(lake: LakeResource, pair: str, interval: str, minute_days: int) -> pl.DataFrame:
    """A pair's bars of one interval from the lake: all history for 1h/1d, the last days for 1m."""
    dataset = ROLLUPS.get(interval, KLINES_DATASET)
    where: dict[str, object] = {"pair": pair}
    if interval == "1m":
        newest = lake.read(ROLLUPS["1d"], where={"pair": pair})["open_time"].max()
        if newest is None:
            return pl.DataFrame()
        where["open_time"] = Between(midnight(newest.date() - dt.timedelta(days=minute_days - 1)), None)
    bars = lake.read(dataset, where=where)
    if bars.is_empty():
        return pl.DataFrame()
    return bars.select("pair", "open_time", "open", "high", "low", "close", "volume")


def pair_indicators(lake: LakeResource, pair: str, minute_days: int) -> pl.DataFrame:
    """All intervals of one pair; a bar is closed once the pair's data runs past its end."""
    last_minute = None
    frames = []
    for interval in INTERVALS:
        bars = pair_bars(lake, pair, interval, minute_days)
        if bars.is_empty():
            continue
        if interval == "1m":
            last_minute = bars["open_time"].max()
        closes_at = pl.col("open_time") + STEP[interval]
        frames.append(
            indicators(bars).with_columns(
                pl.lit(interval).alias("interval"),
                (closes_at <= pl.lit(last_minute + STEP["1m"]) if last_minute else pl.lit(True)).alias("is_closed"),
            )
        )
    return pl.concat(frames, how="vertical").select(list(INDICATORS_SCHEMA)) if frames else pl.DataFrame()


def stored_pairs(lake: LakeResource) -> list[str]:
    return lake.distinct(ROLLUPS["1d"], "pair")


@dg.asset(
    key=ASSET_KEY,
    deps=[KLINES_KEY, HISTORY_KEY],
    group_name="crypto",
    kinds={"ducklake", "polars"},
    automation_condition=dg.AutomationCondition.eager().without(~dg.AutomationCondition.any_deps_missing()),
    description=(
        "RSI(14, Wilder), SMA/EMA(20), Bollinger(20, 2), Stochastic(14, 3, 3), ATR(14, Wilder), TD Sequential "
        "and pivot support/resistance per pair on 1m, 1h and 1d bars; TA-Lib's definitions."
    ),
)
def crypto_indicators(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
    minute_days = int(settings.value("TICKERLAKE_CRYPTO_1M_DAYS"))
    latest = {}
    rows = 0
    for pair in stored_pairs(lake):
        frame = pair_indicators(lake, pair, minute_days)
        if frame.is_empty():
            continue
        lake.replace(DATASET, frame, where={"pair": pair}, keep_stamps=True)
        rows += frame.height
        hourly = frame.filter(pl.col("interval") == "1h")
        if not hourly.is_empty():
            last = hourly.row(-1, named=True)
            latest[pair] = {"close": last["close"], "rsi_14": last["rsi_14"], "open_time": str(last["open_time"])}
    context.log.info(f"indicators for {len(latest)} pairs")
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": rows,
            "pairs": len(latest),
            "latest_1h": dg.MetadataValue.json(latest),
        }
    )
