"""`make bench`, serving part: from a 1m bar's close to its stored prediction, for 100 pairs, on the clock.

BENCH_SERVING_PAIRS pairs (default 100) of made 1m klines for yesterday, today and tomorrow (UTC) sit on a local
server in Binance's layout, the REST klines endpoint answering from them as Binance would: a minute
is there once it has closed by the real clock. The platform's own definitions run against it: one
top-up run fetches the two days for every pair and builds the indicators and the crypto feature
marts; a crypto_1m model (seeded, untrained weights: serving's cost does not depend on what it
learnt) is registered as promoted. Then, BENCH_SERVING_ROUNDS times (default 5), right after a
minute closes, the crypto_topup job runs as its every-minute schedule would launch it (fetch, store,
indicators, marts, predictions) and every pair's prediction of the minute that just closed is read
back: its latency is predicted_at - bar_close_at. The daemon's own delay in launching a scheduled run
(a few seconds) is not in these figures.
"""

import datetime as dt
import functools
import http.server
import os
import shutil
import sys
import threading
import time
from pathlib import Path

import dagster as dg
import numpy as np
import polars as pl
from rich.console import Console

from bench.crypto import random_walk_klines, zipped_csv
from bench.doc import table as markdown_table
from bench.doc import write_section
from resources.lake import LakeResource

ROOT = Path(__file__).resolve().parent.parent
console = Console()


def write_day(folder: Path, pair: str, day: dt.date, rng: np.random.Generator, price: float) -> float:
    """One day of a pair's 1m klines as Binance's daily archive; returns the last close."""
    frame = random_walk_klines(dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC), 1440, rng, price, decimals=4)
    name = f"{pair}-1m-{day:%Y-%m-%d}"
    path = folder / pair / "1m" / f"{name}.zip"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(zipped_csv(frame, name))
    return float(frame["close"][-1])


def shown(path: Path) -> str:
    """A path as the docs may print it: relative to the checkout, never this machine's own."""
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else "BENCH_DIR/serving"


def serve(root: Path) -> str:
    from sample.binance_api import KlinesHandler

    handler = type("Handler", (KlinesHandler,), {"root": root})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}"


def register_model(lake: LakeResource, mart: pl.DataFrame) -> None:
    """A promoted crypto_1m model over the mart's features, normalised on the mart itself."""
    import torch

    from assets import bigru
    from assets.direction_dataset import SOURCES, feature_columns
    from assets.direction_model import register

    features = feature_columns(mart, SOURCES["crypto_1m"])
    stats = mart.select(features).cast(pl.Float64).fill_nan(None)
    scale = [{"feature": f, "mean": stats[f].mean() or 0.0, "std": stats[f].std() or 1.0} for f in features]
    torch.manual_seed(1)
    config = bigru.TrainConfig()
    meta = {"dataset": "crypto_1m", "version": "bench", "features": features, "normalisation": scale, "window": 32}
    register(lake, bigru.BiGRU(len(features), config.hidden), config, meta, dt.datetime.now(dt.UTC), promoted=True)


def topup(defs: dg.Definitions, instance: dg.DagsterInstance) -> float:
    from sensors.binance import topup_request

    request = topup_request(instance, f"bench:{time.time()}")
    started = time.perf_counter()
    result = defs.resolve_job_def("crypto_topup").execute_in_process(
        instance=instance,
        tags=request.tags,
        run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
        raise_on_error=False,
    )
    if not result.success:
        raise SystemExit("the crypto_topup run failed")
    return time.perf_counter() - started


def main() -> None:
    pairs = [f"B{n:03d}USDT" for n in range(int(os.environ.get("BENCH_SERVING_PAIRS", "100")))]
    rounds = int(os.environ.get("BENCH_SERVING_ROUNDS", "5"))
    work = Path(os.environ.get("BENCH_DIR", ROOT / "build" / "bench")).resolve() / "serving"
    today = dt.datetime.now(dt.UTC).date()
    # tomorrow too: a run that crosses midnight UTC finds the new day's minutes
    days = [today - dt.timedelta(days=1), today, today + dt.timedelta(days=1)]
    mirror = work / "mirror"
    folder = mirror / "data.binance.vision" / "data" / "spot" / "daily" / "klines"
    shutil.rmtree(work, ignore_errors=True)
    rng = np.random.default_rng(3)
    for pair in pairs:
        price = 100.0
        for day in days:
            price = write_day(folder, pair, day, rng, price)
    os.environ.update(
        {
            "TICKERLAKE_SOURCE_MIRROR": serve(mirror),
            "TICKERLAKE_LAKE_ROOT": str(work / "lake"),
            "TICKERLAKE_CATALOG": f"sqlite:{work / 'tickerlake.sqlite'}",
            "DAGSTER_HOME": str(work / "dagster"),
            "TICKERLAKE_CRYPTO_START_DATE": days[0].isoformat(),
            "TICKERLAKE_CRYPTO_1M_DAYS": "2",
        }
    )
    (work / "dagster").mkdir(parents=True)
    sys.path.insert(0, str(ROOT / "platform"))
    from definitions import defs

    lake = defs.resources["lake"]
    with dg.DagsterInstance.get() as instance:
        instance.add_dynamic_partitions("crypto_pairs", pairs)
        first = topup(defs, instance)
        with lake.connect(read_only=True) as con:
            mart = con.sql("SELECT * FROM marts.fct_features_crypto_1m").pl()
        register_model(lake, mart)
        console.print(
            f"serving bench: {len(pairs)} pairs, first top-up (2 days of 1m) {first:.1f} s; {mart.height:,} mart rows"
        )
        latencies, runs = [], []
        for _ in range(rounds):
            now = dt.datetime.now(dt.UTC)
            tick = now.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
            time.sleep((tick - now).total_seconds() + 1)
            runs.append(topup(defs, instance))
            with lake.connect(read_only=True) as con:
                closed = con.execute(
                    "SELECT epoch(predicted_at) - epoch(bar_close_at) FROM ml.direction_predictions "
                    "WHERE dataset = 'crypto_1m' AND bar_close_at = ?",
                    [tick],
                ).fetchall()
            if len(closed) != len(pairs):
                raise SystemExit(f"the bar closed at {tick:%H:%M} has {len(closed)} predictions, not {len(pairs)}")
            latencies.extend(seconds for (seconds,) in closed)
            console.print(
                f"bar closed {tick:%H:%M:%S}: run {runs[-1]:.1f} s, latency max {max(s for (s,) in closed):.1f} s"
            )
    lake.close()
    p50, p99 = np.percentile(latencies, [50, 99])
    load = os.getloadavg()[0]
    write_section(
        "Serving latency (direction model, 1m bars)",
        f"`python -m bench.serving`: {len(pairs)} pairs, {rounds} bars each, from the bar's close to its stored "
        f"prediction through one crypto_topup run (fetch from a local server, store, indicators, the crypto "
        f"feature marts, predictions), DAGSTER_HOME and the lake under {shown(work)} on local disk, "
        f"1-minute load average {load:.2f} at the end (2 cores).\n\n"
        + markdown_table(
            [
                ("latency p50", f"{p50:.1f} s", f"{len(latencies)} predictions"),
                ("latency p99", f"{p99:.1f} s", "goal: under 60 s"),
                (
                    "top-up run, median",
                    f"{np.median(runs):.1f} s",
                    "in order: " + ", ".join(f"{r:.1f}" for r in runs) + " s (the daemon's launch delay not included)",
                ),
                ("first top-up, 2 days x all pairs", f"{first:.1f} s", f"{mart.height:,} rows in the 1m mart"),
            ]
        ),
    )
    console.print(f"serving latency p50 {p50:.1f} s, p99 {p99:.1f} s over {len(latencies)} predictions")


if __name__ == "__main__":
    main()
