"""The direction model on Binance's real daily klines: `make evaluate-real` (BINANCE_1D=folder of zips).

The published BTCUSDT-1d-YYYY-MM.zip archives (../shared/data/binance/BTCUSDT-1d by default: 2021-02..
2023-12 with millisecond times, 2025-01..06 with microsecond ones) are parsed by the production parser
(resources/binance.py, the one the live archives go through) and stored as the pair's daily bars, the
table the pipeline rolls 1m klines up into. From there everything is the platform's own, in a
temporary lake: the indicators and labels assets, the dbt build of the feature marts, the dataset and
the model of partition crypto_1d, each as the definitions' named jobs run them, under each label
scheme. The evaluation table (BiGRU against the three baselines on the test part) goes to
docs/benchmarks.md.

The lake holds only this pair's bars: the macro and cross-asset columns of the mart are empty (null,
normalised to 0), so the model sees the bar's technicals, candle and calendar features.
"""

import os
import sys
import tempfile
import time
from pathlib import Path

import dagster as dg
import polars as pl
from rich.console import Console

from assets.binance import ROLLUPS
from bench.doc import table as markdown_table
from bench.doc import write_section
from resources.binance import parse_klines_csv, unzip_single_csv
from resources.lake import LakeResource
from web import queries

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_FOLDER = ROOT.parent / "shared" / "data" / "binance" / "BTCUSDT-1d"
PAIR, DATASET = "BTCUSDT", "crypto_1d"
SCHEMES = ("first_touch", "horizon")
BASELINES = ("majority", "persistence", "boosted_trees")
# Daily bars are few (about 1,250 here): a shorter window than the 1m default leaves samples to learn from.
SETTINGS = {"TICKERLAKE_MODEL_WINDOW": "16", "TICKERLAKE_MODEL_MAX_EPOCHS": "60", "TICKERLAKE_MODEL_PATIENCE": "8"}
console = Console()


def daily_bars(folder: Path) -> pl.DataFrame:
    """The archives' klines through the production parser, as the pipeline's daily bars."""
    names = sorted(folder.glob(f"{PAIR}-1d-*.zip"))
    if not names:
        raise SystemExit(f"no {PAIR}-1d-*.zip in {folder}: set BINANCE_1D to the folder of Binance's daily archives")
    klines = pl.concat(parse_klines_csv(unzip_single_csv(p.read_bytes(), p.name), PAIR, p.name) for p in names)
    return klines.with_columns(pl.lit(1440, pl.UInt32).alias("minutes")).select(list(ROLLUPS["1d"].schema))


def run(defs: dg.Definitions, job: str, instance: dg.DagsterInstance, partition: str | None = None) -> float:
    started = time.perf_counter()
    result = defs.resolve_job_def(job).execute_in_process(
        instance=instance,
        partition_key=partition,
        run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
        raise_on_error=False,
    )
    if not result.success:
        raise SystemExit(f"the run of {job} failed")
    return time.perf_counter() - started


def main() -> None:
    folder = Path(os.environ.get("BINANCE_1D", DEFAULT_FOLDER))
    with tempfile.TemporaryDirectory(prefix="tickerlake-real-") as temp:
        os.environ.update({"TICKERLAKE_LAKE_ROOT": f"{temp}/lake", "DAGSTER_HOME": f"{temp}/dagster", **SETTINGS})
        Path(f"{temp}/dagster").mkdir()
        sys.path.insert(0, str(ROOT / "platform"))
        from definitions import defs

        lake = defs.resources["lake"]
        bars = daily_bars(folder)
        lake.replace(ROLLUPS["1d"], bars, where={"pair": PAIR})
        first, last = bars["open_time"].min(), bars["open_time"].max()
        console.print(f"{bars.height:,} daily bars of {PAIR}, {first:%Y-%m-%d}..{last:%Y-%m-%d}")
        models, seconds = [], {}
        with dg.DagsterInstance.get() as instance:
            for scheme in SCHEMES:
                os.environ["TICKERLAKE_LABEL_SCHEME"] = scheme
                seconds[f"indicators and labels ({scheme})"] = run(defs, "crypto_indicators_update", instance)
                if scheme == SCHEMES[0]:
                    seconds["dbt (all models)"] = run(defs, "dbt_models_build", instance)
                seconds[f"dataset and model ({scheme})"] = run(defs, "direction_model_train", instance, DATASET)
                models.append(newest_model(lake))
        lake.close()
    rows = [
        (model["label_scheme"], name, f"{model[f'{prefix}accuracy']:.3f}", f"{model[f'{prefix}macro_f1']:.3f}")
        for model in models
        for name, prefix in (("BiGRU", ""), *((n.replace("_", " "), f"{n}_") for n in BASELINES))
    ]
    body = (
        f"`make evaluate-real` on Binance's published {PAIR} daily archives ({bars.height:,} bars, "
        f"{first:%Y-%m-%d}..{last:%Y-%m-%d}; 2024 is missing from the recording, so one bar follows "
        f"2023-12-31 with 2025-01-01), partition {DATASET}, window {models[0]['window']}, "
        + "; ".join(
            f"{m['label_scheme']}: {m['train_samples']:,} training and {m['test_samples']:,} test sequences, "
            f"promoted: {m['promoted']}"
            for m in models
        )
        + ". Seconds: "
        + ", ".join(f"{step} {value:.1f}" for step, value in seconds.items())
        + ".\n\n"
        + markdown_table(rows, ("label scheme", "model", "accuracy", "macro-F1"))
    )
    console.print(body)
    write_section("Direction model on real Binance daily klines", body)


def newest_model(lake: LakeResource) -> dict[str, object]:
    with lake.connect(read_only=True) as con:
        return queries.model_evaluation(con, DATASET).row(0, named=True)


if __name__ == "__main__":
    main()
