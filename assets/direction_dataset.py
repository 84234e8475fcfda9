"""The direction model's dataset: a feature mart and its labels as windowed samples split by time.

One partition per instrument class and interval (crypto_1m, crypto_1h, crypto_1d, equity_1d), never per
symbol or day: a model learns from every instrument of its class at once. A run reads the whole mart
with the labels of the configured scheme (TICKERLAKE_LABEL_SCHEME) and stores, in the `ml` schema,
each sample's key, part and class (ml.direction_samples) and the training part's normalisation
(ml.direction_normalisation); the sequences themselves are rebuilt from the mart by assets/sequences.py
whenever they are needed, from exactly these keys and parameters. assets/sequences.py has the rules:
windows of TICKERLAKE_MODEL_WINDOW bars, time parts 70/15/15 with embargoes, normalisation from the
training part only.
"""

from collections.abc import Iterator
from dataclasses import dataclass

import dagster as dg
import polars as pl

from assets.checks import markdown
from assets.crypto_labels import ASSET_KEY as CRYPTO_LABELS_KEY
from assets.crypto_labels import DATASET as CRYPTO_LABELS
from assets.equity_labels import ASSET_KEY as EQUITY_LABELS_KEY
from assets.equity_labels import DATASET as EQUITY_LABELS
from assets.labels import LABELS, LabelConfig
from assets.sequences import Samples, normalisation, sequences, time_split
from resources import settings
from resources.lake import Dataset, LakeResource

ML_SCHEMA = "ml"
NOT_FEATURES = ("open_time", "bar_close_at", "trade_date", "label")


@dataclass(frozen=True)
class FeatureSource:
    """Where a partition's features and labels are: the mart, its labels' table, instrument and time."""

    mart: str
    labels: Dataset
    labels_key: dg.AssetKey
    instrument: str
    time: str
    interval: str | None = None

    @property
    def mart_key(self) -> dg.AssetKey:
        return dg.AssetKey(["marts", self.mart])


SOURCES = {
    **{
        f"crypto_{interval}": FeatureSource(
            f"fct_features_crypto_{interval}", CRYPTO_LABELS, CRYPTO_LABELS_KEY, "pair", "open_time", interval
        )
        for interval in ("1m", "1h", "1d")
    },
    "equity_1d": FeatureSource("fct_features_equity_daily", EQUITY_LABELS, EQUITY_LABELS_KEY, "symbol", "trade_date"),
}
partitions = dg.StaticPartitionsDefinition(list(SOURCES))
SAMPLES = Dataset(
    "direction_samples",
    {
        "dataset": pl.String(),
        "instrument": pl.String(),
        "bar_time": pl.Datetime("us", "UTC"),
        "split": pl.String(),
        "label": pl.String(),
    },
    order=("dataset", "instrument", "bar_time"),
    key=("dataset", "instrument", "bar_time"),
    schema_name=ML_SCHEMA,
)
NORMALISATION = Dataset(
    "direction_normalisation",
    {"dataset": pl.String(), "feature": pl.String(), "mean": pl.Float64(), "std": pl.Float64()},
    order=("dataset", "feature"),
    key=("dataset", "feature"),
    schema_name=ML_SCHEMA,
)
ASSET_KEY = dg.AssetKey(["ml", "direction_dataset"])


def feature_columns(frame: pl.DataFrame, source: FeatureSource) -> list[str]:
    """The mart's numeric columns but its keys and times: every value known at the bar's close."""
    return [
        name
        for name, dtype in frame.schema.items()
        if dtype.is_numeric() and name not in (source.instrument, *NOT_FEATURES)
    ]


@dataclass(frozen=True)
class Built:
    """A partition's samples and what they were made from: its mart rows, label scheme and window."""

    source: FeatureSource
    labels: LabelConfig
    window: int
    frame: pl.DataFrame
    samples: Samples
    features: list[str]
    scale: pl.DataFrame


def build(frame: pl.DataFrame, source: FeatureSource, labels: LabelConfig, window: int) -> Built:
    """The samples of one mart's rows (with their labels), split and normalised."""
    features = feature_columns(frame, source)
    split = time_split(sorted(frame[source.time].unique()), window, labels.lookahead)
    scale = normalisation(frame, source.time, features, split)
    samples = sequences(frame, source.instrument, source.time, features, window, labels.lookahead, scale, split)
    return Built(source, labels, window, frame, samples, features, scale)


def prepare(lake: LakeResource, partition: str) -> Built:
    """Partition `partition`'s samples from the lake, under the settings' label scheme and window: what the
    dataset stores and the model trains on, made one way."""
    source, labels = SOURCES[partition], LabelConfig.from_settings()
    frame = read(lake, source, labels)
    if frame.is_empty():
        raise dg.Failure(f"marts.{source.mart} has no rows: build the features (and {source.labels.table}) first")
    return build(frame, source, labels, int(settings.value("TICKERLAKE_MODEL_WINDOW")))


def read(lake: LakeResource, source: FeatureSource, labels: LabelConfig) -> pl.DataFrame:
    """The mart's rows with the label of the same bar under the configured scheme and look-ahead (null
    where there is none): labels stored under another look-ahead would see further than the embargo."""
    i, t = source.instrument, source.time
    match = f"l.{i} = f.{i} AND l.{t} = f.{t} AND l.scheme = ? AND l.horizon = ? AND l.near_atr = ? AND l.far_atr = ?"
    params = [labels.scheme, labels.lookahead, labels.near, labels.far]
    if source.interval:
        match, params = f"{match} AND l.interval = ?", [*params, source.interval]
    with lake.connect(read_only=True) as con:
        return con.execute(
            f"SELECT f.*, l.label FROM marts.{source.mart} AS f LEFT JOIN {source.labels.table} AS l ON {match} "
            f"ORDER BY f.{i}, f.{t}",
            params,
        ).pl()


def balance(keys: pl.DataFrame) -> pl.DataFrame:
    """Samples per part and each class's share in percent: a part the model never sees a class in shows."""
    return (
        keys.group_by("split")
        .agg(
            pl.len().alias("samples"),
            *[(pl.col("label") == name).mean().mul(100).round(1).alias(name) for name in LABELS],
        )
        .sort(pl.col("split").replace_strict({"train": 0, "validation": 1, "test": 2}))
    )


@dg.asset(
    key=ASSET_KEY,
    partitions_def=partitions,
    group_name="ml",
    kinds={"ducklake", "polars"},
    # every partition reads its whole mart and labels: all of equity_labels' trading days
    deps=[
        *(s.mart_key for s in SOURCES.values()),
        *(
            dg.AssetDep(key, partition_mapping=dg.AllPartitionMapping())
            for key in dict.fromkeys(s.labels_key for s in SOURCES.values())
        ),
    ],
    description=(
        "The direction model's samples per instrument class and interval: windows of TICKERLAKE_MODEL_WINDOW "
        "bars of a feature mart, the label of their last bar, time parts 70/15/15 with embargoes of the label "
        "look-ahead plus the window, and the training part's normalisation (assets/sequences.py)."
    ),
)
def direction_dataset(context: dg.AssetExecutionContext, lake: LakeResource) -> Iterator[dg.MaterializeResult]:
    built = prepare(lake, context.partition_key)
    source, config, window, frame = built.source, built.labels, built.window, built.frame
    keys = built.samples.keys.with_columns(
        pl.lit(context.partition_key).alias("dataset"),
        pl.Series("label", [LABELS[c] for c in built.samples.classes], dtype=pl.String()),
        pl.col(source.time).cast(pl.Datetime("us", "UTC")).alias("bar_time"),
    ).rename({source.instrument: "instrument"})
    lake.replace(
        SAMPLES, keys.select(list(SAMPLES.schema)), where={"dataset": context.partition_key}, allow_shrink=True
    )
    lake.replace(
        NORMALISATION,
        built.scale.with_columns(pl.lit(context.partition_key).alias("dataset")).select(list(NORMALISATION.schema)),
        where={"dataset": context.partition_key},
        allow_shrink=True,
    )
    parts = balance(keys)
    yield dg.MaterializeResult(
        metadata={
            "dagster/row_count": keys.height,
            "window": window,
            "label_scheme": config.scheme,
            "label_lookahead": config.lookahead,
            "embargo_bars": config.lookahead + window - 1,
            "features": dg.MetadataValue.json(built.features),
            "instruments": keys["instrument"].n_unique(),
            "first_bar": str(frame[source.time].min()),
            "last_bar": str(frame[source.time].max()),
            "parts": dg.MetadataValue.md(markdown(parts)),
        }
    )
