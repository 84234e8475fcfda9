"""Technical indicators on 1m, 1h and 1d bars of every pair, as a polars asset.

The indicators themselves are assets/technicals.py, shared with the equities' table
(assets/equity_indicators.py): TA-Lib's definitions, and TD Sequential as DeMark published it.

Hours and days use the pair's whole history (the 1h/1d rollups written beside the klines); minutes
use the last TICKERLAKE_CRYPTO_1M_DAYS days (default 7, i.e. 10,080 bars), which is past the point
where a recursive indicator forgets its seed (Wilder's weight of the seed after 1,000 bars is 1e-32).
"""

import datetime as dt

import dagster as dg
import polars as pl

from assets.binance import HISTORY_KEY, KLINES_DATASET, KLINES_KEY, ROLLUPS
from assets.technicals import INDICATOR_SCHEMA, TAKER_BUY, atr, indicators, true_range
from resources import settings
from resources.binance import midnight
from resources.lake import Between, Dataset, LakeResource

INTERVALS = ("1m", "1h", "1d")
STEP = {"1m": dt.timedelta(minutes=1), "1h": dt.timedelta(hours=1), "1d": dt.timedelta(days=1)}
# atr and true_range stay importable from here (the labels' code imports them): one implementation.
__all__ = ["ASSET_KEY", "DATASET", "INDICATORS_SCHEMA", "atr", "crypto_indicators", "indicators", "true_range"]

INDICATORS_SCHEMA: dict[str, pl.DataType] = {
    "pair": pl.String(),
    "interval": pl.String(),
    "open_time": pl.Datetime("us", "UTC"),
    "is_closed": pl.Boolean(),
    **{c: pl.Float64() for c in ("open", "high", "low", "close", "volume")},
    **INDICATOR_SCHEMA,
}
DATASET = Dataset("crypto_indicators", INDICATORS_SCHEMA, order=("pair", "interval", "open_time"))
ASSET_KEY = dg.AssetKey(["crypto", DATASET.name])


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
    return bars.select("pair", "open_time", "open", "high", "low", "close", "volume", TAKER_BUY)


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
        "(DeMark, as Perl published it) and pivot support/resistance per pair on 1m, 1h and 1d bars; "
        "TA-Lib's definitions."
    ),
)
def crypto_indicators(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
    minute_days = int(settings.value("TICKERLAKE_CRYPTO_1M_DAYS"))
    latest = {}
    frames = {}
    for pair in stored_pairs(lake):
        frame = pair_indicators(lake, pair, minute_days)
        if frame.is_empty():
            continue
        frames[pair] = frame
        hourly = frame.filter(pl.col("interval") == "1h")
        if not hourly.is_empty():
            last = hourly.row(-1, named=True)
            latest[pair] = {"close": last["close"], "rsi_14": last["rsi_14"], "open_time": str(last["open_time"])}
    # Every pair in one transaction: one catalog commit a run, not one a pair (each commit is a snapshot
    # and files that every later read of the table walks until maintenance), and readers see one
    # consistent set of indicators.
    if frames:
        lake.replace(DATASET, pl.concat(frames.values()), where={"pair": list(frames)}, keep_stamps=True)
    rows = sum(frame.height for frame in frames.values())
    context.log.info(f"indicators for {len(latest)} pairs")
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": rows,
            "pairs": len(latest),
            "latest_1h": dg.MetadataValue.json(latest),
        }
    )
