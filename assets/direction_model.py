"""The direction model per instrument class and interval: trained, judged against baselines, stored.

A run rebuilds its partition's samples (assets/direction_dataset.py, the same rules and data), trains
the BiGRU on the training part with early stopping on the validation part (assets/bigru.py), scores it
and the three baselines on the test part (assets/evaluation.py), and stores the model as a versioned
artifact under the lake's location (ml/models/<partition>/<version>.pt, local or S3) with everything
needed to predict: features, normalisation, label scheme, window, data range, code version. The
registry ml.direction_models keeps one row per version with its scores; a model whose macro-F1 does
not beat the majority baseline's is stored and marked (`promoted` false, the check
`beats_majority_macro_f1` failing with a warning), and serving keeps the last promoted one.
"""

import datetime as dt
import importlib.metadata
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg
import numpy as np
import polars as pl

from assets.checks import markdown
from assets.direction_dataset import ASSET_KEY as DATASET_KEY
from assets.direction_dataset import ML_SCHEMA, partitions, prepare
from assets.labels import LABELS
from resources import artifacts, settings
from resources.lake import Dataset, LakeResource

if TYPE_CHECKING:
    from assets import bigru

# torch and scikit-learn (assets/bigru.py, assets/evaluation.py) take about 2 s to import, and every run
# process and the code server load these definitions: they are imported where a model is trained.
ASSET_KEY = dg.AssetKey(["ml", "direction_model"])
CHECK = "beats_majority_macro_f1"
REGISTRY = Dataset(
    "direction_models",
    {
        "dataset": pl.String(),
        "version": pl.String(),
        "trained_at": pl.Datetime("us", "UTC"),
        "artifact": pl.String(),
        "label_scheme": pl.String(),
        "window": pl.Int64(),
        "first_bar": pl.String(),
        "last_bar": pl.String(),
        "train_samples": pl.Int64(),
        "test_samples": pl.Int64(),
        "accuracy": pl.Float64(),
        "macro_f1": pl.Float64(),
        "majority_accuracy": pl.Float64(),
        "majority_macro_f1": pl.Float64(),
        "persistence_accuracy": pl.Float64(),
        "persistence_macro_f1": pl.Float64(),
        "boosted_trees_accuracy": pl.Float64(),
        "boosted_trees_macro_f1": pl.Float64(),
        "promoted": pl.Boolean(),
        "code_version": pl.String(),
    },
    order=("dataset", "version"),
    key=("dataset", "version"),
    schema_name=ML_SCHEMA,
)


def code_version() -> str:
    """The package version and, in a git checkout, its commit."""
    version = importlib.metadata.version("tickerlake")
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return version
    return f"{version}+{commit}"


def train_config() -> "bigru.TrainConfig":
    from assets import bigru

    return bigru.TrainConfig(
        hidden=int(settings.value("TICKERLAKE_MODEL_HIDDEN")),
        max_epochs=int(settings.value("TICKERLAKE_MODEL_MAX_EPOCHS")),
        patience=int(settings.value("TICKERLAKE_MODEL_PATIENCE")),
    )


@dg.asset(
    key=ASSET_KEY,
    partitions_def=partitions,
    deps=[DATASET_KEY],
    group_name="ml",
    kinds={"pytorch", "ducklake"},
    check_specs=[
        dg.AssetCheckSpec(
            CHECK,
            asset=ASSET_KEY,
            description="The model's test macro-F1 beats always predicting the training part's majority class.",
        )
    ],
    description=(
        "A BiGRU direction classifier (up2/up1/flat/down1/down2) per instrument class and interval, trained with "
        "early stopping, scored against majority, persistence and gradient-boosted-tree baselines on the test part, "
        "stored as a versioned artifact under the lake's location; promoted when it beats the majority on macro-F1."
    ),
)
def direction_model(
    context: dg.AssetExecutionContext, lake: LakeResource
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    from assets import bigru, evaluation

    built = prepare(lake, context.partition_key)
    source, labels, window, frame = built.source, built.labels, built.window, built.frame
    samples, parts = built.samples, built.samples.keys["split"].to_numpy()
    x = {part: samples.inputs[parts == part] for part in ("train", "validation", "test")}
    y = {part: samples.classes[parts == part] for part in ("train", "validation", "test")}
    config = train_config()
    context.log.info(
        f"training on {len(y['train']):,} sequences of {window} bars x {len(built.features)} features "
        f"({len(y['validation']):,} validation, {len(y['test']):,} test) on {bigru.device()}"
    )
    trained = bigru.train(x["train"], y["train"], x["validation"], y["validation"], config, context.log.info)
    predicted = bigru.probabilities(trained.model, x["test"]).argmax(axis=1)
    test_keys = samples.keys.filter(pl.col("split") == "test")
    fallback = int(evaluation.majority(y["train"], 1)[0])
    known = evaluation.persistence(frame, test_keys, source.instrument, source.time, labels.lookahead, fallback)
    results = {
        "bigru": evaluation.scores(y["test"], predicted),
        "majority": evaluation.scores(y["test"], evaluation.majority(y["train"], len(y["test"]))),
        "persistence": evaluation.scores(y["test"], known),
        "boosted_trees": evaluation.scores(
            y["test"], evaluation.boosted_trees(x["train"], y["train"], x["test"], config.seed)
        ),
    }
    promoted = results["bigru"]["macro_f1"] > results["majority"]["macro_f1"]
    trained_at = dt.datetime.now(dt.UTC)
    version = f"{context.partition_key}-{trained_at:%Y%m%dT%H%M%SZ}"
    meta = {
        "dataset": context.partition_key,
        "version": version,
        "classes": list(LABELS),
        "features": built.features,
        "normalisation": built.scale.to_dicts(),
        "label_scheme": labels.scheme,
        "label_lookahead": labels.lookahead,
        "window": window,
        "first_bar": str(frame[source.time].min()),
        "last_bar": str(frame[source.time].max()),
        "code_version": code_version(),
    }
    scores = {
        "train_samples": len(y["train"]),
        "test_samples": len(y["test"]),
        "accuracy": results["bigru"]["accuracy"],
        "macro_f1": results["bigru"]["macro_f1"],
        **{
            f"{name}_{score}": results[name][score]
            for name in ("majority", "persistence", "boosted_trees")
            for score in ("accuracy", "macro_f1")
        },
    }
    url = register(lake, trained.model, config, meta, trained_at, promoted, scores)
    confusion = pl.DataFrame(
        {
            "truth": list(LABELS),
            **{
                f"predicted {label}": column
                for label, column in zip(LABELS, np.array(results["bigru"]["confusion"]).T.tolist(), strict=True)
            },
        }
    )
    yield dg.MaterializeResult(
        metadata={
            "version": version,
            "artifact": url,
            "promoted": promoted,
            "evaluation": dg.MetadataValue.md(markdown(evaluation.table(results))),
            "confusion_matrix": dg.MetadataValue.md(markdown(confusion)),
            "confusion_matrix (PNG)": dg.MetadataValue.md(
                evaluation.confusion_plot(results["bigru"]["confusion"], f"{version}: test part")
            ),
            "scores": dg.MetadataValue.json(results),
            "epochs": trained.epochs,
            "best_epoch": trained.best_epoch,
            "seconds_per_epoch": round(float(np.mean([h["seconds"] for h in trained.history])), 3),
        }
    )
    yield dg.AssetCheckResult(
        check_name=CHECK,
        passed=promoted,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "macro_f1": results["bigru"]["macro_f1"],
            "majority_macro_f1": results["majority"]["macro_f1"],
            "promoted": promoted,
        },
    )


def register(
    lake: LakeResource,
    model: "bigru.BiGRU",
    config: "bigru.TrainConfig",
    meta: dict[str, object],
    trained_at: dt.datetime,
    promoted: bool,
    scores: Mapping[str, object] | None = None,
) -> str:
    """Store a version: its artifact under the lake's location (ml/models/<dataset>/<version>.pt) and its
    row in the registry, with whatever of the row `meta` and `scores` give (the rest null). The URL."""
    from assets import bigru

    dataset, version = str(meta["dataset"]), str(meta["version"])
    url = artifacts.write(lake.location, f"ml/models/{dataset}/{version}.pt", bigru.to_bytes(model, config, meta))
    row = {name: meta.get(name) for name in REGISTRY.schema} | {
        **(scores or {}),
        "trained_at": trained_at,
        "artifact": url,
        "promoted": promoted,
    }
    lake.replace(REGISTRY, pl.DataFrame([row], schema=REGISTRY.schema), where={"dataset": dataset, "version": version})
    return url


def promoted_model(lake: LakeResource, dataset: str) -> dict[str, object] | None:
    """The registry row of the newest promoted model of `dataset`, if any: what serving predicts with."""
    rows = lake.read(REGISTRY, where={"dataset": dataset}).filter(pl.col("promoted")).sort("trained_at")
    return rows.row(-1, named=True) if rows.height else None
