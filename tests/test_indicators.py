"""Indicators against TA-Lib on the sample's bars (to 1e-9); TD Sequential by hand in tests/test_td_sequential.py."""

import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import talib

from assets import indicators as ind
from assets import technicals as tech
from assets.binance import KLINE_RULES, KLINES_DATASET, rollup, store_month
from assets.checks import Ledger
from resources.binance import Fetched, parse_klines_csv, unzip_single_csv
from resources.lake import LocalLake
from tests.helpers import SAMPLE_ROOT

MONTHLY = SAMPLE_ROOT / "data.binance.vision/data/spot/monthly/klines/BTCUSDT/1m/BTCUSDT-1m-2024-12.zip"


@pytest.fixture(scope="module")
def minutes() -> pl.DataFrame:
    return parse_klines_csv(unzip_single_csv(MONTHLY.read_bytes(), "sample"), "BTCUSDT", "sample")


def same_as_talib(ours: np.ndarray, theirs: np.ndarray) -> None:
    """Same warm-up (NaN where TA-Lib has none yet) and the same values to 1e-9."""
    assert np.array_equal(np.isnan(ours), np.isnan(theirs)), (np.isnan(ours).sum(), np.isnan(theirs).sum())
    defined = ~np.isnan(theirs)
    assert defined.sum() > 0
    np.testing.assert_allclose(ours[defined], theirs[defined], rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("interval", ["1m", "1h", "1d"])
def test_indicators_match_talib(minutes: pl.DataFrame, interval: str) -> None:
    bars = minutes if interval == "1m" else rollup(minutes, interval)
    high, low, close = (bars[c].to_numpy() for c in ("high", "low", "close"))
    same_as_talib(tech.sma(close, 20), talib.SMA(close, 20))
    same_as_talib(tech.ema(close, 20), talib.EMA(close, 20))
    same_as_talib(tech.rsi(close, 14), talib.RSI(close, 14))
    same_as_talib(tech.true_range(high, low, close), talib.TRANGE(high, low, close))
    same_as_talib(tech.atr(high, low, close, 14), talib.ATR(high, low, close, 14))
    for ours, theirs in zip(tech.bollinger(close, 20, 2.0), talib.BBANDS(close, 20, 2.0, 2.0, 0), strict=True):
        same_as_talib(ours, theirs)
    for ours, theirs in zip(
        tech.stochastic(high, low, close), talib.STOCH(high, low, close, 14, 3, 0, 3, 0), strict=True
    ):
        same_as_talib(ours, theirs)


def test_the_indicator_frame_carries_the_talib_values(minutes: pl.DataFrame) -> None:
    bars = rollup(minutes, "1h")
    frame = ind.indicators(bars)
    close = bars["close"].to_numpy()
    same_as_talib(frame["rsi_14"].fill_null(np.nan).to_numpy(), talib.RSI(close, 14))
    same_as_talib(frame["ema_20"].fill_null(np.nan).to_numpy(), talib.EMA(close, 20))


def test_rsi_of_a_flat_series_is_zero_like_talib() -> None:
    flat = np.full(30, 5.0)
    same_as_talib(tech.rsi(flat), talib.RSI(flat, 14))


def test_rollup_matches_a_plain_group_by(minutes: pl.DataFrame) -> None:
    hourly = rollup(minutes, "1h")
    expected = (
        minutes.with_columns(pl.col("open_time").dt.truncate("1h").alias("hour"))
        .group_by("hour")
        .agg(
            pl.col("open").first(),
            pl.col("high").max(),
            pl.col("low").min(),
            pl.col("close").last(),
            pl.col("volume").sum(),
            pl.col("taker_buy_base_volume").sum(),
            pl.len().alias("n"),
        )
        .sort("hour")
    )
    assert hourly.height == expected.height == 31 * 24
    assert hourly["open"].to_list() == expected["open"].to_list()
    assert hourly["close"].to_list() == expected["close"].to_list()
    for column in ("volume", "taker_buy_base_volume"):
        np.testing.assert_allclose(hourly[column].to_numpy(), expected[column].to_numpy(), rtol=1e-12)
    assert hourly["high"].to_list() == expected["high"].to_list() and set(hourly["minutes"]) == {60}


def test_volume_delta_and_the_volume_averages(minutes: pl.DataFrame) -> None:
    """The delta is what takers bought minus what they sold, by hand on three bars; the averages are the
    20-bar means of volume and delta (TA-Lib's SMA); bars without a taker split (equities) have none."""
    three = pl.DataFrame(
        {"high": [2.0] * 3, "low": [1.0] * 3, "close": [1.5] * 3, "volume": [10.0, 4.0, 8.0]}
    ).with_columns(pl.Series("taker_buy_base_volume", [7.0, 1.0, 4.0]))
    assert tech.indicators(three)["volume_delta"].to_list() == [4.0, -2.0, 0.0]
    frame = tech.indicators(rollup(minutes, "1h"))
    volume = frame["volume"].to_numpy()
    delta = 2 * frame["taker_buy_base_volume"].to_numpy() - volume
    same_as_talib(frame["volume_sma_20"].fill_null(np.nan).to_numpy(), talib.SMA(volume, 20))
    same_as_talib(frame["volume_delta_sma_20"].fill_null(np.nan).to_numpy(), talib.SMA(delta, 20))
    equity = tech.indicators(three.drop("taker_buy_base_volume"))
    assert equity["volume_delta"].null_count() == 3 and equity["volume_sma_20"].null_count() == 3


def test_pivots_come_from_the_previous_bar() -> None:
    high, low, close = np.array([10.0, 12.0]), np.array([8.0, 9.0]), np.array([9.0, 11.0])
    levels = tech.pivots(high, low, close)
    assert np.isnan(levels["pivot"][0])
    assert levels["pivot"][1] == pytest.approx(9.0)
    assert levels["r1"][1] == pytest.approx(10.0) and levels["s1"][1] == pytest.approx(8.0)
    assert levels["r2"][1] == pytest.approx(11.0) and levels["s2"][1] == pytest.approx(7.0)


def test_bars_past_the_last_minute_are_not_closed(tmp_path: Path) -> None:
    lake = LocalLake(root=str(tmp_path))
    minutes = parse_klines_csv(unzip_single_csv(MONTHLY.read_bytes(), "s"), "BTCUSDT", "s")
    cut = minutes.filter(pl.col("open_time") < dt.datetime(2024, 12, 31, 10, 30, tzinfo=dt.UTC))
    store_month(
        lake,
        "BTCUSDT",
        [Fetched("test", dt.datetime(2024, 12, 1, tzinfo=dt.UTC), dt.datetime(2025, 1, 1, tzinfo=dt.UTC), cut)],
        Ledger(KLINES_DATASET, KLINE_RULES),
    )
    frame = ind.pair_indicators(lake, "BTCUSDT", minute_days=2)
    hours = frame.filter(pl.col("interval") == "1h")
    assert hours["is_closed"].to_list()[-2:] == [True, False]  # 10:00 has only 30 minutes
    assert frame.filter(pl.col("interval") == "1d")["is_closed"].to_list()[-1] is False
    assert frame.filter(pl.col("interval") == "1m").height == 1440 + 630  # the last two days of minutes
