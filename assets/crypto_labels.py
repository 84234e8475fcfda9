"""ATR-multiple labels of every pair's closed 1m, 1h and 1d bars (assets/labels.py has the definition).

Built from the crypto indicators table, which already holds each bar's OHLC and ATR(14), whole per
pair like it: a pair's labels depend on the bars after them, so a run replaces a pair's labels
together. Only closed bars count: the bar still forming is neither labelled nor looked at.
"""

import dagster as dg
import polars as pl

from assets.indicators import ASSET_KEY as INDICATORS_KEY
from assets.indicators import DATASET as INDICATORS_DATASET
from assets.indicators import INTERVALS
from assets.labels import (
    LabelConfig,
    class_balance,
    coverage_spec,
    labelled,
    labels_published,
    refuse_uncovered,
    uncovered,
)
from resources.lake import Dataset, LakeResource

SCHEMA: dict[str, pl.DataType] = {
    "pair": pl.String(),
    "interval": pl.String(),
    "open_time": pl.Datetime("us", "UTC"),
    "close": pl.Float64(),
    "atr_14": pl.Float64(),
    "label": pl.String(),
    "scheme": pl.String(),
    "horizon": pl.Int64(),
    "near_atr": pl.Float64(),
    "far_atr": pl.Float64(),
}
DATASET = Dataset(
    "crypto_labels", SCHEMA, order=("pair", "interval", "open_time"), key=("pair", "interval", "open_time")
)
ASSET_KEY = dg.AssetKey(["crypto", DATASET.name])
BY = ("pair", "interval")


def pair_labels(lake: LakeResource, pair: str, config: LabelConfig) -> pl.DataFrame:
    """Every interval's closed bars of one pair, labelled."""
    bars = lake.read(INDICATORS_DATASET, where={"pair": pair}).filter(pl.col("is_closed"))
    frames = [
        labelled(bars.filter(pl.col("interval") == interval).sort("open_time"), config)
        for interval in INTERVALS
        if not bars.filter(pl.col("interval") == interval).is_empty()
    ]
    return pl.concat(frames).select(list(SCHEMA)) if frames else pl.DataFrame(schema=SCHEMA)


@dg.asset(
    key=ASSET_KEY,
    deps=[INDICATORS_KEY],
    group_name="crypto",
    kinds={"ducklake", "polars"},
    automation_condition=dg.AutomationCondition.eager(),
    check_specs=[coverage_spec(ASSET_KEY, "Every closed bar with an ATR and H closed bars after it has a label.")],
    description=(
        "up2/up1/flat/down1/down2 per pair and closed 1m/1h/1d bar: which of close +/- 1 and 2 ATR(14) the "
        "price reaches first within the next H bars (TICKERLAKE_LABEL_HORIZON, _NEAR_ATR, _FAR_ATR)."
    ),
)
def crypto_labels(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
    config = LabelConfig.from_settings()
    frames = {pair: pair_labels(lake, pair, config) for pair in lake.distinct(INDICATORS_DATASET, "pair")}
    every = pl.concat(frames.values()) if frames else pl.DataFrame(schema=SCHEMA)
    yield from refuse_uncovered(uncovered(every, BY, config), "bars that should have a label have none")
    for pair, frame in frames.items():
        lake.replace(DATASET, frame, where={"pair": pair})
    context.log.info(f"{config.scheme} labels for {len(frames)} pairs, {config.lookahead} bars ahead")
    yield from labels_published(every, config, class_balance(every, BY), {})
