"""`make bench`, crypto part: the archive backfill of one pair-year of 1-minute klines, and its indicators.

Generates BENCH_CRYPTO_MONTHS (default 12) monthly 1m archives of one pair (525,600 rows a year) in
Binance's layout with their .CHECKSUM files, serves them on 127.0.0.1 with the klines endpoint the
run asks for the listing minute, and times the daily klines asset's ranged run over every day of them
(one run, one partition key per UTC day) and then the indicators asset. Writes crypto.json beside
the FINRA results and its section of docs/benchmarks.md.
"""

import datetime as dt
import functools
import hashlib
import http.server
import io
import json
import os
import resource
import shutil
import threading
import time
import zipfile
from pathlib import Path

import dagster as dg
import numpy as np
import polars as pl
from rich.console import Console

from assets.binance import KLINES_DATASET, crypto_klines_1m
from assets.indicators import crypto_indicators
from bench.doc import table as markdown_table
from bench.doc import write_section
from resources.binance import BinanceClient, next_month
from resources.lake import LocalLake
from sample.binance_api import KlinesHandler
from sensors.backfills import RANGE_END, RANGE_START

ROOT = Path(__file__).resolve().parent.parent
PAIR = "BENCHUSDT"
FIRST_MONTH = dt.date(2024, 1, 1)
console = Console()


def month_starts(months: int) -> list[dt.date]:
    starts, day = [], FIRST_MONTH
    for _ in range(months):
        starts.append(day)
        day = next_month(day)
    return starts


def random_walk_klines(
    first: dt.datetime, minutes: int, rng: np.random.Generator, price: float, decimals: int = 2
) -> pl.DataFrame:
    """`minutes` 1m klines from `first` in Binance's archive columns (ms times): a random walk from `price`."""
    first_ms = int(first.timestamp() * 1000)
    close = price * np.exp(np.cumsum(rng.normal(0, 0.0007, minutes)))
    open_ = np.concatenate(([price], close[:-1]))
    spread = np.abs(rng.normal(0, 0.0004, minutes))
    volume = rng.lognormal(2.5, 0.8, minutes)
    open_time = first_ms + np.arange(minutes, dtype=np.int64) * 60_000
    return pl.DataFrame(
        {
            "open_time": open_time,
            "open": open_.round(decimals),
            "high": (np.maximum(open_, close) * (1 + spread)).round(decimals),
            "low": (np.minimum(open_, close) * (1 - spread)).round(decimals),
            "close": close.round(decimals),
            "volume": volume.round(5),
            "close_time": open_time + 59_999,
            "quote_volume": (volume * close).round(8),
            "trades": (volume * 40).astype(np.int64),
            "taker_base": (volume / 2).round(5),
            "taker_quote": (volume * close / 2).round(8),
            "ignore": np.zeros(minutes, dtype=np.int64),
        }
    )


def zipped_csv(frame: pl.DataFrame, name: str) -> bytes:
    """An archive as Binance publishes it: one header-less CSV named `name`.csv in a zip."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{name}.csv", frame.write_csv(include_header=False))
    return buffer.getvalue()


def write_month(folder: Path, start: dt.date, rng: np.random.Generator, price: float) -> float:
    """One monthly archive of a random walk (ms timestamps), its .CHECKSUM beside it; returns the last close."""
    minutes = (next_month(start) - start).days * 1440
    frame = random_walk_klines(dt.datetime.combine(start, dt.time(), tzinfo=dt.UTC), minutes, rng, price)
    name = f"{PAIR}-1m-{start:%Y-%m}"
    body = zipped_csv(frame, name)
    (folder / f"{name}.zip").write_bytes(body)
    (folder / f"{name}.zip.CHECKSUM").write_text(f"{hashlib.sha256(body).hexdigest()}  {name}.zip\n")
    return float(frame["close"][-1])


def serve(root: Path) -> str:
    handler = type("Handler", (KlinesHandler,), {"root": root, "klines_prefix": "/api"})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}"


def main() -> None:
    months = int(os.environ.get("BENCH_CRYPTO_MONTHS", "12"))
    work = Path(os.environ.get("BENCH_DIR", ROOT / "build" / "bench")).resolve() / "crypto"
    folder = work / "mirror" / "data.binance.vision" / "data" / "spot" / "monthly" / "klines" / PAIR / "1m"
    starts = month_starts(months)
    if not (folder / f"{PAIR}-1m-{starts[-1]:%Y-%m}.zip").exists():
        folder.mkdir(parents=True, exist_ok=True)
        rng, price = np.random.default_rng(7), 40_000.0
        for start in starts:
            price = write_month(folder, start, rng, price)
    base_url = serve(work / "mirror")
    last_day = next_month(starts[-1]) - dt.timedelta(days=1)
    shutil.rmtree(work / "lake", ignore_errors=True)
    (work / "tickerlake.sqlite").unlink(missing_ok=True)
    lake = LocalLake(root=str(work / "lake"))
    resources = {
        "lake": lake,
        "binance": BinanceClient(data_url=f"{base_url}/data.binance.vision", api_url=f"{base_url}/api"),
    }
    tags = {RANGE_START: f"{FIRST_MONTH}", RANGE_END: f"{last_day}"}
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("crypto_pairs", [PAIR])
        started = time.perf_counter()
        assert dg.materialize([crypto_klines_1m], resources=resources, instance=instance, tags=tags).success
        backfill = time.perf_counter() - started
        started = time.perf_counter()
        assert dg.materialize([crypto_indicators], resources={"lake": lake}, instance=instance).success
        indicators = time.perf_counter() - started
    with lake.connect() as con:
        rows = con.execute(f"SELECT count(*) FROM {KLINES_DATASET.table}").fetchone()[0]
    results = {
        "pair_months": months,
        "rows": rows,
        "backfill_seconds": backfill,
        "rows_per_second": rows / backfill,
        "indicators_seconds": indicators,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    (work / "crypto.json").write_text(json.dumps(results, indent=2))
    console.print(
        f"crypto: {months} months of {PAIR} 1m ({rows:,} rows): backfill {backfill:.1f} s, "
        f"indicators {indicators:.1f} s"
    )
    write_section(
        "Binance 1m klines",
        markdown_table(
            [
                (
                    f"archive backfill, one pair x {months} months, one ranged run (client -> lake)",
                    f"{backfill:.1f} s",
                    f"{rows:,} rows, {rows / backfill:,.0f} rows/s",
                ),
                (
                    "indicators on that pair (1m last 7 days, 1h and 1d all history)",
                    f"{indicators:.1f} s",
                    f"peak RSS of the process {results['peak_mb']:.0f} MB (with the generator and the server)",
                ),
            ]
        ),
    )


if __name__ == "__main__":
    main()
