"""Serving: the promoted direction model's class probabilities for every new closed bar, each stored once.

One asset per dataset of the model (ml/direction_predictions_crypto_1m, ...), downstream of its feature
mart: the crypto top-up carries a new bar from the fetch through the indicators and the marts to here
in one run (sensors/binance.py), and the equity marts' daily build is followed by its predictions
(eager automation). A run predicts, with the newest promoted model (assets/direction_model.py), each
instrument's bars that closed after its last prediction; an instrument with no prediction in the last
RESUME_AFTER gets its newest bar only (serving starts at the present, it does not replay history).

A bar's prediction reads the mart rows of the bar and the W - 1 before it, nothing later, and each of
those rows holds only values published by its own close (the marts' as-of rule): what the model sees
of a bar was public when the bar closed. Predictions are written insert-only, keyed by (dataset,
instrument, bar): a re-run or two racing runs store a bar's prediction once, and a newer model does
not rewrite what an older one said.

A bar whose probability of a move class (up2, up1, down1, down2) reaches TICKERLAKE_PREDICTION_ALERT_PROBABILITY
while the instrument's previous prediction was below it is an alert: stored in ml.direction_alerts
first, then sent through the notifier; one not delivered stays unsent there and is tried again by the
next run.
"""

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

import dagster as dg
import numpy as np
import polars as pl

from assets.alerts import ALERTS_SCHEMA, deliver
from assets.direction_dataset import ML_SCHEMA, SOURCES, FeatureSource
from assets.direction_model import ASSET_KEY as MODEL_KEY
from assets.direction_model import promoted_model
from assets.labels import LABELS
from assets.sequences import scaled, windows_ending
from resources import artifacts, settings
from resources.lake import Dataset, LakeResource
from resources.notifier import Notifier

if TYPE_CHECKING:
    from assets import bigru

MOVES = ("up2", "up1", "down1", "down2")
RESUME_AFTER = dt.timedelta(days=7)
PREDICTIONS = Dataset(
    "direction_predictions",
    {
        "dataset": pl.String(),
        "instrument": pl.String(),
        "bar_time": pl.Datetime("us", "UTC"),
        "bar_close_at": pl.Datetime("us", "UTC"),
        "model_version": pl.String(),
        **{f"p_{label}": pl.Float64() for label in LABELS},
        "predicted": pl.String(),
        "predicted_at": pl.Datetime("us", "UTC"),
    },
    order=("dataset", "instrument", "bar_time"),
    key=("dataset", "instrument", "bar_time"),
    schema_name=ML_SCHEMA,
)
ALERTS = Dataset(
    "direction_alerts", ALERTS_SCHEMA, order=("bar_open_time", "alert_id"), key=("alert_id",), schema_name=ML_SCHEMA
)


def asset_key(dataset: str) -> dg.AssetKey:
    return dg.AssetKey(["ml", f"direction_predictions_{dataset}"])


def alert_probability() -> float:
    return float(settings.value("TICKERLAKE_PREDICTION_ALERT_PROBABILITY"))


@dataclass(frozen=True)
class Pending:
    """A dataset's mart rows a run predicts from (`to_predict` marks the bars it predicts) and each
    instrument's previous prediction (its probabilities), for the alerts' crossings."""

    bars: pl.DataFrame
    previous: pl.DataFrame


def pending(lake: LakeResource, source: FeatureSource, dataset: str, window: int) -> Pending:
    """The bars of each instrument that closed after its last prediction, with the window - 1 bars before
    the first of them; an instrument not predicted within RESUME_AFTER of the mart's newest bar gets its
    newest bar only. The look-back bound keeps the scan of the predictions to their newest files."""
    lake.ensure([PREDICTIONS])
    i, t = source.instrument, source.time
    with lake.connect(read_only=True) as con:
        newest = con.execute(f"SELECT max(bar_close_at) FROM marts.{source.mart}").fetchone()[0]
        if newest is None:
            return Pending(pl.DataFrame(), pl.DataFrame())
        since = newest - RESUME_AFTER
        probabilities = ", ".join(f"arg_max(p_{label}, bar_close_at) AS p_{label}" for label in LABELS)
        previous = con.execute(
            f"SELECT instrument, max(bar_close_at) AS last_close, {probabilities} FROM {PREDICTIONS.table} "
            "WHERE dataset = ? AND bar_close_at >= ? GROUP BY instrument",
            [dataset, since],
        ).pl()
        con.register("previous", previous.select("instrument", "last_close").to_arrow())
        bars = con.execute(
            f"""
            WITH bars AS (
                SELECT
                    f.*,
                    p.last_close,
                    row_number() OVER (PARTITION BY f.{i} ORDER BY f.{t} DESC) AS back,
                    sum(CASE WHEN f.bar_close_at > p.last_close THEN 1 ELSE 0 END) OVER (PARTITION BY f.{i}) AS fresh
                FROM marts.{source.mart} AS f
                LEFT JOIN previous AS p ON p.instrument = f.{i}
            )
            SELECT
                * EXCLUDE (last_close, back, fresh),
                CASE WHEN last_close IS NULL THEN back = 1 ELSE bar_close_at > last_close END AS to_predict
            FROM bars
            WHERE back <= ? - 1 + CASE WHEN last_close IS NULL THEN 1 ELSE fresh END
            ORDER BY {i}, {t}
            """,
            [window],
        ).pl()
    return Pending(bars, previous)


def predict(bars: pl.DataFrame, source: FeatureSource, model: "bigru.BiGRU", meta: dict[str, object]) -> pl.DataFrame:
    """Class probabilities of the bars marked `to_predict` that have window - 1 bars before them, in the
    model's features, normalised with its training part's parameters."""
    features, window = list(meta["features"]), int(meta["window"])
    if bars.is_empty():
        return pl.DataFrame(schema=PREDICTIONS.schema)
    missing = [name for name in features if name not in bars.columns]
    if missing:
        raise dg.Failure(
            f"marts.{source.mart} lacks features model {meta['version']} was trained on: {missing}; "
            "rebuild the mart or train a new model"
        )
    scale = pl.DataFrame(meta["normalisation"])
    inputs, keys = [], []
    for rows in bars.partition_by(source.instrument, maintain_order=True):
        ends = np.flatnonzero(rows["to_predict"].to_numpy())
        ends = ends[ends >= window - 1]
        if len(ends):
            inputs.append(windows_ending(scaled(rows, features, scale), ends, window))
            keys.append(rows[ends].select(source.instrument, source.time, "bar_close_at"))
    if not inputs:
        return pl.DataFrame(schema=PREDICTIONS.schema)
    from assets import bigru  # torch: imported where a model predicts, not with the definitions

    probabilities = bigru.probabilities(model, np.concatenate(inputs).astype(np.float32))
    return (
        pl.concat(keys)
        .select(
            pl.lit(meta["dataset"]).alias("dataset"),
            pl.col(source.instrument).alias("instrument"),
            pl.col(source.time).cast(pl.Datetime("us", "UTC")).alias("bar_time"),
            pl.col("bar_close_at").cast(pl.Datetime("us", "UTC")),
            pl.lit(meta["version"]).alias("model_version"),
        )
        .with_columns(
            *[pl.Series(f"p_{label}", probabilities[:, n].astype(np.float64)) for n, label in enumerate(LABELS)],
            pl.Series("predicted", [LABELS[n] for n in probabilities.argmax(axis=1)], dtype=pl.String()),
            pl.lit(dt.datetime.now(dt.UTC)).alias("predicted_at"),
        )
        .select(list(PREDICTIONS.schema))
    )


def crossings(predictions: pl.DataFrame, previous: pl.DataFrame, threshold: float, interval: str) -> pl.DataFrame:
    """The alerts (ALERTS_SCHEMA, unsent) of new predictions: a move class whose probability reaches
    `threshold` at a bar while the instrument's prediction before it was below (or there was none)."""
    columns = ["instrument", "bar_time", "bar_close_at", *[f"p_{label}" for label in MOVES]]
    earlier = previous.select(
        "instrument",
        pl.lit(None, PREDICTIONS.schema["bar_time"]).alias("bar_time"),
        pl.col("last_close").alias("bar_close_at"),
        *[f"p_{label}" for label in MOVES],
    ).with_columns(pl.lit(False).alias("new"))
    series = pl.concat(
        [earlier, predictions.select(columns).with_columns(pl.lit(True).alias("new"))], how="vertical_relaxed"
    ).sort("instrument", "bar_close_at")
    fired = []
    for label in MOVES:
        p = pl.col(f"p_{label}")
        crossed = (p >= threshold) & (p.shift(1).over("instrument").fill_null(0.0) < threshold) & pl.col("new")
        fired.append(
            series.filter(crossed).select(
                pl.concat_str(
                    pl.lit(f"direction_{label}"),
                    "instrument",
                    pl.lit(interval),
                    pl.col("bar_time").dt.to_string("%Y-%m-%dT%H:%MZ"),
                    separator="|",
                ).alias("alert_id"),
                pl.lit(f"direction_{label}").alias("rule"),
                pl.col("instrument").alias("pair"),
                pl.lit(interval).alias("interval"),
                pl.col("bar_time").alias("bar_open_time"),
                p.alias("value"),
                pl.lit(threshold).alias("threshold"),
                pl.lit(None, pl.Float64()).alias("close"),
                pl.format(
                    "{} {}: the direction model gives {} a probability of {} on the bar of {} UTC",
                    "instrument",
                    pl.lit(interval),
                    pl.lit(label),
                    p.round(3),
                    pl.col("bar_time").dt.to_string("%Y-%m-%d %H:%M"),
                ).alias("message"),
                pl.lit("default").alias("channel"),
                pl.lit(None, ALERTS_SCHEMA["sent_at"]).alias("sent_at"),
            )
        )
    return pl.concat([pl.DataFrame(schema=ALERTS_SCHEMA), *fired], how="vertical_relaxed")


def unsent(lake: LakeResource) -> pl.DataFrame:
    """Alerts stored but not delivered yet, oldest first."""
    return lake.read(ALERTS).filter(pl.col("sent_at").is_null())


def serve(
    context: dg.AssetExecutionContext, lake: LakeResource, notifier: Notifier, dataset: str
) -> dg.MaterializeResult:
    source = SOURCES[dataset]
    row = promoted_model(lake, dataset)
    if row is None:
        context.log.info(f"no promoted {dataset} model: train one (job direction_model_train) that beats the majority")
        return dg.MaterializeResult(metadata={"dagster/row_count": 0, "model_version": "none promoted"})
    from assets import bigru

    model, meta = bigru.from_bytes(artifacts.read(str(row["artifact"])))
    found = pending(lake, source, dataset, int(meta["window"]))
    predictions = predict(found.bars, source, model, meta)
    stored = lake.insert_new(PREDICTIONS, predictions)
    interval = source.interval or "1d"
    lake.insert_new(ALERTS, crossings(predictions, found.previous, alert_probability(), interval))
    sent = deliver(unsent(lake), notifier, lake, ALERTS, context.log)
    latency = (predictions["predicted_at"] - predictions["bar_close_at"]).dt.total_seconds()
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": stored,
            "model_version": str(meta["version"]),
            "instruments": predictions["instrument"].n_unique(),
            "newest_bar": str(predictions["bar_time"].max()),
            "seconds_after_close_max": float(latency.max()) if predictions.height else 0.0,
            "alerts_sent": len(sent),
        }
    )


def predictions_asset(dataset: str) -> dg.AssetsDefinition:
    source = SOURCES[dataset]

    @dg.asset(
        key=asset_key(dataset),
        deps=[
            source.mart_key,
            dg.AssetDep(MODEL_KEY, partition_mapping=dg.SpecificPartitionsPartitionMapping([dataset])),
        ],
        group_name="ml",
        kinds={"pytorch", "ducklake"},
        automation_condition=dg.AutomationCondition.eager().without(~dg.AutomationCondition.any_deps_missing()),
        description=(
            f"The promoted {dataset} direction model's class probabilities for each bar of marts.{source.mart} "
            "closed since the last run, stored once per bar in ml.direction_predictions; alerts when a move's "
            "probability crosses TICKERLAKE_PREDICTION_ALERT_PROBABILITY."
        ),
    )
    def direction_predictions(
        context: dg.AssetExecutionContext, lake: LakeResource, notifier: Notifier
    ) -> dg.MaterializeResult:
        return serve(context, lake, notifier, dataset)

    return direction_predictions


PREDICTION_ASSETS = [predictions_asset(dataset) for dataset in SOURCES]
