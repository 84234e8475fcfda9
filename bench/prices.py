"""The prices part of make bench: full-market history and the daily prices run through the Dagster
path, the raw limit beside them, Dagster's events per run, and the UI's partition status at scale.

Each run is the `dagster` CLI against the bench's instance and lake, as the scheduler would start it;
the providers are bench.prices_mirror's synthetic market on their URL layouts, served on 127.0.0.1,
with no rate limit (TICKERLAKE_PRICES_REQUESTS_PER_SECOND) and BENCH_PRICES_CONCURRENCY requests in
flight.
"""

import datetime as dt
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import dagster as dg
import duckdb
import httpx

from bench.prices_mirror import CHART
from resources.duckdb_env import sql_string

ROOT = Path(__file__).resolve().parent.parent
PARTITION_STATUS_QUERY = """
query PartitionHealthQuery($assetKey: AssetKeyInput!) {
  assetNodeOrError(assetKey: $assetKey) {
    ... on AssetNode {
      id
      partitionKeysByDimension { name type partitionKeys }
      assetPartitionStatuses {
        ... on TimePartitionStatuses { ranges { status startKey endKey } }
        ... on DefaultPartitionStatuses { materializedPartitions materializingPartitions failedPartitions }
      }
    }
  }
}
"""


def prices_env(env: dict[str, str], mirror_url: str, provider: str) -> dict[str, str]:
    return {
        **env,
        "TICKERLAKE_PRICE_PROVIDER": provider,
        "TICKERLAKE_YAHOO_BASE_URL": f"{mirror_url}/query1.finance.yahoo.com",
        "TICKERLAKE_POLYGON_BASE_URL": f"{mirror_url}/api.polygon.io",
        "TICKERLAKE_POLYGON_API_KEY": "bench-key",
        "TICKERLAKE_PRICES_REQUESTS_PER_SECOND": "100000",
        "TICKERLAKE_PRICES_CONCURRENCY": os.environ.get("BENCH_PRICES_CONCURRENCY", "4"),
    }


def add_symbols(env: dict[str, str], names: list[str]) -> None:
    """The new-symbol sensor's one request: every symbol a dynamic partition."""
    with dg.DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
        instance.add_dynamic_partitions("symbols", names)


def run_events(home: str) -> dict[str, int]:
    """Planned and materialization events the newest run wrote (the per-key bookkeeping)."""
    with dg.DagsterInstance.from_config(home) as instance:
        run = instance.get_runs(limit=1)[0]
        records = instance.all_logs(
            run.run_id,
            of_type={dg.DagsterEventType.ASSET_MATERIALIZATION, dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED},
        )
        planned = sum(r.dagster_event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED for r in records)
        return {"planned": planned, "materialized": len(records) - planned, "status": run.status.value}


def raw_limit(mirror: Path, out: Path) -> float:
    """DuckDB's read_json of the same chart files, unnested into rows and written as Parquet: the floor."""
    files = str(mirror / CHART / "*")
    with duckdb.connect() as con:
        started = time.perf_counter()
        con.execute(
            "COPY (SELECT r.meta.symbol AS symbol, unnest(r.timestamp) AS ts, "
            "unnest(r.indicators.quote[1].open) AS open, unnest(r.indicators.quote[1].high) AS high, "
            "unnest(r.indicators.quote[1].low) AS low, unnest(r.indicators.quote[1].close) AS close, "
            "unnest(r.indicators.quote[1].volume) AS volume "
            "FROM (SELECT unnest(chart.result) AS r FROM read_json(?, maximum_object_size = 1000000000))) "
            f"TO {sql_string(str(out))} (FORMAT parquet, COMPRESSION zstd)",
            [files],
        )
        return time.perf_counter() - started


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def report_materialized(home: str, key: dg.AssetKey, partitions_name: str | None, keys: list[str]) -> None:
    """Materializations recorded without a run (as an import would), so the UI has statuses to show."""
    with dg.DagsterInstance.from_config(home) as instance:
        if partitions_name:
            instance.add_dynamic_partitions(partitions_name, keys)
        for partition in keys:
            instance.report_runless_asset_event(dg.AssetMaterialization(key, partition=partition))


def partition_status_seconds(env: dict[str, str], keys: list[dg.AssetKey], repeat: int = 3) -> dict[str, float]:
    """The UI's partition status query per asset against a real webserver, median seconds."""
    port = free_port()
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "dagster-webserver"),
            "-w",
            "workspace.yaml",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/graphql"
    try:
        _wait_until(lambda: _loaded(url), timeout=180)
        return {key.to_user_string(): statistics.median(_timed_query(url, key) for _ in range(repeat)) for key in keys}
    finally:
        server.terminate()
        server.wait()


def _loaded(url: str) -> bool:
    query = "{ assetNodes { id } }"
    try:
        answer = httpx.post(url, json={"query": query}, timeout=30).json()
    except (httpx.HTTPError, json.JSONDecodeError):
        return False
    return bool(answer.get("data", {}).get("assetNodes"))


def _timed_query(url: str, key: dg.AssetKey) -> float:
    started = time.perf_counter()
    answer = httpx.post(
        url, json={"query": PARTITION_STATUS_QUERY, "variables": {"assetKey": {"path": key.path}}}, timeout=600
    ).json()
    seconds = time.perf_counter() - started
    node = answer.get("data", {}).get("assetNodeOrError") or {}
    if "assetPartitionStatuses" not in node:
        raise SystemExit(f"bench: partition status of {key.to_user_string()} failed: {str(answer)[:500]}")
    return seconds


def _wait_until(ready: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise SystemExit("bench: the webserver did not answer in time")
        time.sleep(1)


def day_keys(first: dt.date, count: int) -> list[str]:
    return [(first + dt.timedelta(days=i)).isoformat() for i in range(count)]
