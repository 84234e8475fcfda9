"""`make bench`: the Dagster path at full-market scale, beside the physical limit, in one table.

Settings (environment): BENCH_DAYS (default 250, about a year; the full history is 4500),
BENCH_SYMBOLS (NMS symbols a day, default 11000; OTC symbols are 5/11 of that), BENCH_REPEAT
(runs per figure, the median is reported; default 3), BENCH_READERS (default 4), BENCH_POSTGRES (1: also
the PostgreSQL catalog's world, the default; 0: SQLite only), BENCH_DIR (default build/bench).
Writes build/bench/results-<days>d.json and its section of docs/benchmarks.md.

Prices (bench.prices, bench.prices_mirror): the full market's price history through the Dagster path
(raw/prices_history, a partition per symbol) beside DuckDB reading the same JSON into Parquet, then
the daily update as the market schedule runs it (one run of market_daily: FINRA's day, every symbol's
bar, Cboe, their checks, then the incremental dbt models they feed), with a per-symbol provider
(Yahoo's layout) and with a bulk one (Polygon's grouped daily). Each run's Dagster events are counted,
and the UI's partition status is timed at full scale.

It also measures the lake's read path: while a daily market run builds its models, READERS processes query
the catalog in a loop (a mart and a raw table, as SQL users do), counting answers, latencies and
failures; and what the lake holds on disk, before and after the maintenance asset's compaction.
"""

import datetime as dt
import functools
import http.server
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import dagster as dg
import duckdb
import exchange_calendars as xcals
import numpy as np
from rich.console import Console
from rich.table import Table

from assets.maintenance import lake_footprint, maintain
from assets.partitions import CALENDAR, CRYPTO_DEFAULT_START
from bench import prices_mirror
from bench.doc import table as markdown_table
from bench.doc import write_section
from bench.generate import finra_day, finra_mirror, symbols
from bench.prices import add_symbols, partition_status_seconds, prices_env, report_materialized, run_events
from bench.prices import raw_limit as prices_raw_limit
from resources.lake import LakeResource, lake_at_root
from sensors.schedules import RANGE_END, RANGE_START
from tests.services import postgres_server

ROOT = Path(__file__).resolve().parent.parent
DAGSTER = str(Path(sys.executable).parent / "dagster")
LAST_DAY = dt.date(2024, 12, 31)
BENCH_START = "2006-01-03"  # the runs' TICKERLAKE_START_DATE: room for 4,500 sessions before LAST_DAY
MEASURE = (
    "import resource, subprocess, sys, time\n"
    "started = time.perf_counter()\n"
    "with open(sys.argv[1], 'w') as log:\n"
    "    code = subprocess.run(sys.argv[2:], stdout=log, stderr=subprocess.STDOUT).returncode\n"
    "print(time.perf_counter() - started, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, code)\n"
)
console = Console()


def measure(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of a command and everything it started; its output goes to a log
    beside the run's instance, whose end is shown if it fails."""
    log = Path(env["DAGSTER_HOME"]).parent / "last-command.log"
    out = subprocess.run(
        [sys.executable, "-c", MEASURE, str(log), *command],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    seconds, rss_kb, code = float(out[0]), int(out[1]), int(out[2])
    if code != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-40:])
        raise SystemExit(f"bench: {' '.join(command[:8])} ... failed with exit code {code}:\n{tail}")
    return seconds, rss_kb / 1024


def materialize(*args: str) -> list[str]:
    return [DAGSTER, "asset", "materialize", "-f", "platform/definitions.py", "-d", ".", *args]


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """Thousands of requests: keep the report readable."""


def serve(directory: Path) -> str:
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}"


def finra_mirror_holds(mirror: Path, days: list[dt.date]) -> bool:
    """A mirror left by an earlier bench whose days differ (another calendar, another last day) is
    generated again, instead of failing the backfill on a missing file."""
    daily = mirror / "equity" / "regsho" / "daily"
    ends = (daily / f"CNMSshvol{day:%Y%m%d}.txt" for day in (days[0], days[-1]))
    return (mirror / "done").exists() and all(path.exists() for path in ends)


def fresh_env(work: Path, name: str, base_url: str, catalog: str | None = None) -> dict[str, str]:
    """A new instance and lake for a world of the bench; its catalog a SQLite file beside it unless given."""
    run_dir = work / "runs" / name
    shutil.rmtree(run_dir, ignore_errors=True)
    (run_dir / "home").mkdir(parents=True)
    shutil.copyfile(ROOT / "platform" / "dagster.yaml", run_dir / "home" / "dagster.yaml")
    return {
        **os.environ,
        "DAGSTER_HOME": str(run_dir / "home"),
        "TICKERLAKE_FINRA_BASE_URL": base_url,
        "TICKERLAKE_LAKE_ROOT": str(run_dir / "lake"),
        "TICKERLAKE_CATALOG": catalog or f"sqlite:{run_dir / 'tickerlake.sqlite'}",
        "TICKERLAKE_START_DATE": BENCH_START,
        "DAGSTER_TELEMETRY_DISABLED": "1",
    }


def raw_limit(mirror: Path) -> float:
    """DuckDB's own read_csv of the same files from local disk into a table: the floor."""
    files = str(mirror / "equity" / "regsho" / "daily" / "*.txt")
    with duckdb.connect() as con:
        started = time.perf_counter()
        con.execute(
            "CREATE TABLE t AS SELECT * FROM read_csv(?, delim = '|', header = true, null_padding = true, "
            "auto_detect = false, "
            "columns = {'Date': 'VARCHAR', 'Symbol': 'VARCHAR', 'ShortVolume': 'DOUBLE', "
            "'ShortExemptVolume': 'DOUBLE', 'TotalVolume': 'DOUBLE', 'Market': 'VARCHAR'}) "
            "WHERE Market IS NOT NULL",
            [files],
        )
        return time.perf_counter() - started


def lake_of(env: dict[str, str]) -> LakeResource:
    return lake_at_root(env["TICKERLAKE_LAKE_ROOT"], env["TICKERLAKE_CATALOG"])


def time_query(lake: LakeResource, sql: str, repeat: int = 5) -> float:
    with lake.connect() as con:
        timings = []
        for _ in range(repeat):
            started = time.perf_counter()
            con.execute(sql).fetchall()
            timings.append(time.perf_counter() - started)
    return statistics.median(timings)


RANKING = (
    "SELECT symbol, avg(return_volatility_usd) AS v FROM marts.fct_volatility_windows WHERE n_returns >= 5 "
    "AND window_start >= (SELECT max(window_end) FROM marts.fct_volatility_windows) - 365 "
    "GROUP BY symbol ORDER BY v DESC"
)
CORRELATION = "SELECT * FROM marts.mart_sector_short_return_correlation"


def one_backfill(
    work: Path, name: str, base_url: str, days: list[dt.date], catalog: str | None = None
) -> dict[str, float]:
    """FINRA's history as one ranged run into a fresh instance and lake."""
    env = fresh_env(work, name, base_url, catalog)
    env["TICKERLAKE_PRICES_START"] = days[0].isoformat()
    raw_seconds, raw_rss = measure(
        materialize("--select", "raw/finra_short_volume", "--partition-range", f"{days[0]}...{days[-1]}"), env
    )
    phases = backfill_phases(env["DAGSTER_HOME"], raw_seconds)
    return {"raw_seconds": raw_seconds, "raw_peak_mb": raw_rss, "env": env, **phases}


def prices_backfill(env: dict[str, str], prices_url: str, names: list[str]) -> dict:
    """Every symbol's history through raw/prices_history, as the new-symbol sensor's runs would: the
    symbols added as partitions in one request, then one ranged run over them."""
    add_symbols(env, names)
    run_env = prices_env(env, prices_url, "yahoo")
    seconds, peak = measure(
        materialize("--select", "raw/prices_history", "--partition-range", f"{names[0]}...{names[-1]}"), run_env
    )
    return {
        "seconds": seconds,
        "peak_mb": peak,
        "events": run_events(env["DAGSTER_HOME"]),
        "phases": backfill_phases(env["DAGSTER_HOME"], seconds),
    }


PHASES = {
    "start_seconds": "process start and definitions",
    "planning_seconds": "run start and planned events",
    "body_seconds": "asset body (fetch, parse, write, checks)",
    "events_seconds": "materialization events",
    "end_seconds": "check results and run end",
}


def backfill_phases(home: str, wall: float) -> dict[str, float]:
    """Where the newest run's wall time went, read from its event log.

    The asset body is the part the raw limit compares with; the rest is what any Dagster run pays:
    starting a process, and the per-partition planned and materialization events that give the UI
    each partition's status (two events per day: the part of a backfill that grows with the range).
    """
    with dg.DagsterInstance.from_config(home) as instance:
        run = instance.get_runs(limit=1)[0]
        stamps: dict[str, list[float]] = {}
        for record in instance.all_logs(run.run_id):
            if record.dagster_event:
                stamps.setdefault(record.dagster_event.event_type_value, []).append(record.timestamp)
    first, last = min(min(v) for v in stamps.values()), max(max(v) for v in stamps.values())
    step_start, materialized = stamps["STEP_START"][0], sorted(stamps["ASSET_MATERIALIZATION"])
    return {
        "start_seconds": wall - (last - first),
        "planning_seconds": step_start - first,
        "body_seconds": materialized[0] - step_start,
        "events_seconds": materialized[-1] - materialized[0],
        "end_seconds": last - materialized[-1],
        "partition_events": len(materialized) + len(stamps.get("ASSET_MATERIALIZATION_PLANNED", [])),
    }


def daily_update(env: dict[str, str], prices_url: str, provider: str, day: dt.date, readers: bool = False) -> dict:
    """The daily update as the market schedule runs it: one run of the market_daily job for `day`
    (FINRA's files, every symbol's bar from `provider`, Cboe's histories, their checks), which then
    builds the dbt models they feed, in the same process. Its steps' seconds come from the run's event
    log; the rest is the process start, loading the definitions and the run's own events.

    With `readers`, READERS processes query the lake through the run (see readers_during).
    """
    command = [
        DAGSTER,
        *("job", "execute", "-j", "market_daily", "-f", "platform/definitions.py", "-d", "."),
        *("--tags", json.dumps({RANGE_START: day.isoformat(), RANGE_END: day.isoformat()})),
    ]
    run_env = prices_env(env, prices_url, provider)
    if readers:
        total, seen = readers_during(run_env, command)
        peak = None
    else:
        (total, peak), seen = measure(command, run_env), None
    steps = step_seconds(env["DAGSTER_HOME"])
    dbt = steps.pop(DBT_STEP)
    return {
        "total": total,
        "raw": sum(steps.values()),
        "dbt": dbt,
        "overhead": total - dbt - sum(steps.values()),
        "peak_mb": peak,
        "readers": seen,
        "raw_events": run_events(env["DAGSTER_HOME"]),
    }


DBT_STEP = "tickerlake_dbt_models"


def step_seconds(home: str) -> dict[str, float]:
    """Seconds from each step's start to its end in the newest run's event log."""
    with dg.DagsterInstance.from_config(home) as instance:
        run = instance.get_runs(limit=1)[0]
        started, seconds = {}, {}
        for record in instance.all_logs(run.run_id):
            event = record.dagster_event
            if event is None or event.step_key is None:
                continue
            if event.event_type == dg.DagsterEventType.STEP_START:
                started[event.step_key] = record.timestamp
            elif event.event_type in (dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE):
                seconds[event.step_key] = record.timestamp - started[event.step_key]
    return seconds


READERS = int(os.environ.get("BENCH_READERS", "4"))
READER = """
import json, sys, time
import duckdb
from resources.lake import lake_at_root
lake = lake_at_root(sys.argv[1], sys.argv[2])
stop = sys.argv[3]
queries = [sys.argv[4], "SELECT count(*), max(trade_date) FROM raw.finra_short_volume"]
latencies, failures, n = [], [], 0
con = lake.connect()
print("ready", flush=True)
while True:
    started = time.perf_counter()
    try:
        con.execute(queries[n % 2]).fetchall()
        latencies.append(time.perf_counter() - started)
    except duckdb.Error as error:
        failures.append(str(error)[:200])
    n += 1
    try:
        open(stop).close()
        break
    except FileNotFoundError:
        pass
print(json.dumps({"latencies": latencies, "failures": failures}))
"""


def readers_during(env: dict[str, str], command: list[str]) -> tuple[float, dict]:
    """Run `command` while READERS processes query the lake in a loop; its seconds and what they saw."""
    stop = Path(env["DAGSTER_HOME"]).parent / "stop-readers"
    stop.unlink(missing_ok=True)
    readers = [
        subprocess.Popen(
            [sys.executable, "-c", READER, env["TICKERLAKE_LAKE_ROOT"], env["TICKERLAKE_CATALOG"], str(stop), RANKING],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(READERS)
    ]
    for reader in readers:
        assert reader.stdout.readline().strip() == "ready"
    seconds, _ = measure(command, env)
    stop.write_text("stop")
    outputs = [json.loads(reader.communicate(timeout=600)[0]) for reader in readers]
    latencies = np.array([x for out in outputs for x in out["latencies"]]) * 1000
    failures = [f for out in outputs for f in out["failures"]]
    return seconds, {
        "answered": int(latencies.size),
        "failed": len(failures),
        "first_failure": failures[0] if failures else "",
        "p50_ms": float(np.percentile(latencies, 50)) if latencies.size else 0.0,
        "p99_ms": float(np.percentile(latencies, 99)) if latencies.size else 0.0,
    }


def disk_bytes(env: dict[str, str]) -> int:
    """Data files under the lake root plus the catalog (and its write-ahead log)."""
    root = Path(env["TICKERLAKE_LAKE_ROOT"])
    catalog = Path(env["TICKERLAKE_CATALOG"].removeprefix("sqlite:"))
    files = [*root.rglob("*"), *catalog.parent.glob(f"{catalog.name}*")]
    return sum(p.stat().st_size for p in files if p.is_file())


def compacted_bytes(env: dict[str, str]) -> tuple[int, dict[str, int]]:
    """The maintenance asset's work with no retention: only the current snapshot's files remain."""
    lake = lake_of(env)
    with lake.writing(), lake.connect(read_only=False) as con:
        maintain(con, retention_days=0)
        footprint = lake_footprint(con)
    return disk_bytes(env), footprint


def slowest_dbt_nodes(limit: int = 6) -> list[tuple[str, float]]:
    """The newest dbt run's slowest models and tests (run_results.json), to show where a step goes."""
    results = max((ROOT / "dbt_project" / "target").glob("*/run_results.json"), key=lambda p: p.stat().st_mtime)
    nodes = json.loads(results.read_text())["results"]
    ranked = sorted(nodes, key=lambda n: -n["execution_time"])[:limit]
    return [(n["unique_id"].split(".")[2], round(n["execution_time"], 1)) for n in ranked]


def main() -> None:
    n_days = int(os.environ.get("BENCH_DAYS", "250"))
    n_symbols = int(os.environ.get("BENCH_SYMBOLS", "11000"))
    repeat = int(os.environ.get("BENCH_REPEAT", "3"))
    work = Path(os.environ.get("BENCH_DIR", ROOT / "build" / "bench")).resolve()
    # History ends two sessions before LAST_DAY (the FINRA mirrors on disk are named by their length);
    # the daily updates take the sessions after it.
    # The bench's own calendar starts where its runs' partitions do: 4,500 sessions reach back before
    # FINRA's first day (the platform's default start), which the synthetic mirror does not care about.
    xnys = xcals.get_calendar(CALENDAR, start=BENCH_START)
    days = [s.date() for s in xnys.sessions_window(LAST_DAY.isoformat(), -(n_days + 2))][:-2]
    after = xnys.sessions_window(xnys.next_session(days[-1].isoformat()), len(DAILY_RUNS))
    next_days = [s.date() for s in after]
    nms = symbols(n_symbols, 1)
    mirror = work / f"mirror-{n_days}d-{n_symbols}s"
    if not finra_mirror_holds(mirror, days):
        console.print(f"generating {n_days} days x {n_symbols} NMS symbols of FINRA files in {mirror} ...")
        shutil.rmtree(mirror, ignore_errors=True)
        finra_mirror(mirror, days[0], days[-1], n_symbols, n_symbols * 5 // 11)
        (mirror / "done").write_text("ok")
    market = work / f"prices-{n_days}d-{n_symbols}s"
    if not (market / "done").exists():
        console.print(f"generating {n_days} days x {n_symbols} symbols of chart JSON in {market} ...")
        shutil.rmtree(market, ignore_errors=True)
        (market / "bytes").parent.mkdir(parents=True)
        (market / "bytes").write_text(str(prices_mirror.write_market(market, nms, days, next_days)))
        (market / "done").write_text("ok")
    files = sorted((mirror / "equity" / "regsho" / "daily").glob("*.txt"))
    rows = sum(max(0, p.read_bytes().count(b"\n") - 2) for p in files)
    base_url, prices_url = serve(mirror), prices_mirror.serve(market, next_days)

    runs = [one_backfill(work, f"full-{i}", base_url, days) for i in range(repeat)]
    quarter = days[-max(1, len(days) // 4) :]
    small = one_backfill(work, "quarter", base_url, quarter)
    limit = statistics.median(raw_limit(mirror) for _ in range(repeat))

    env = runs[-1]["env"]
    # The market run fetches Cboe's index histories too: the sample's files, on Cboe's URL layout.
    env["TICKERLAKE_CBOE_BASE_URL"] = f"{serve(ROOT / 'sample')}/cdn.cboe.com"
    history = prices_backfill(env, prices_url, nms)
    history_limit = prices_raw_limit(market, work / "prices-limit.parquet")
    dbt_full, dbt_full_peak = measure(materialize("--select", "kind:dbt"), env)

    out = mirror / "equity" / "regsho" / "daily"
    otc = symbols(n_symbols * 5 // 11 + n_symbols, 2)[-(n_symbols * 5 // 11) :]
    for seed, day in enumerate(next_days, start=99999):
        finra_day(out, day, nms, otc, seed=seed)
    # The daily update with each provider on its own, then again with readers querying through dbt.
    daily = {
        name: daily_update(env, prices_url, provider, day, readers=name == "readers")
        for (name, provider), day in zip(DAILY_RUNS.items(), next_days, strict=True)
    }
    on_postgres = (
        postgres_world(work, env["TICKERLAKE_CBOE_BASE_URL"], base_url, prices_url, days, nms, next_days)
        if os.environ.get("BENCH_POSTGRES", "1") == "1"
        else None
    )
    for path in (p for day in next_days for p in out.glob(f"*{day:%Y%m%d}.txt")):
        path.unlink()
    lake = lake_of(env)
    ranking_ms, correlation_ms = time_query(lake, RANKING) * 1000, time_query(lake, CORRELATION) * 1000
    ranking_literal_ms = time_query(lake, ranking_with_literal_bound(lake)) * 1000
    ui = ui_partition_status(env)
    stored_bytes = disk_bytes(env)
    compacted, footprint = compacted_bytes(env)

    raw_median = statistics.median(r["raw_seconds"] for r in runs)
    results = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, DuckDB {duckdb.__version__}",
        "days": len(days),
        "nms_symbols": n_symbols,
        "rows": rows,
        "repeat": repeat,
        "backfill_raw_seconds": raw_median,
        "backfill_dbt_seconds": dbt_full,
        "backfill_dbt_peak_mb": dbt_full_peak,
        "backfill_rows_per_second": rows / raw_median,
        "raw_limit_seconds": limit,
        "ratio_to_limit": raw_median / limit,
        "backfill_phases": {key: statistics.median(r[key] for r in runs) for key in [*PHASES, "partition_events"]},
        "prices_history": {
            **history,
            "raw_limit_seconds": history_limit,
            "json_mb": int((market / "bytes").read_text()) / 1e6,
        },
        "daily": daily,
        "daily_dbt_slowest_nodes": slowest_dbt_nodes(),
        "ui_partition_status_seconds": ui,
        "volatility_ranking_query_ms": ranking_ms,
        "volatility_ranking_literal_query_ms": ranking_literal_ms,
        "postgres": on_postgres,
        "sector_correlation_query_ms": correlation_ms,
        "stored_mb": stored_bytes / 1e6,
        "compacted_mb": compacted / 1e6,
        "compacted_footprint": footprint,
        "peak_mb_full_range": statistics.median(r["raw_peak_mb"] for r in runs),
        "peak_mb_quarter_range": small["raw_peak_mb"],
        "quarter_days": len(quarter),
    }
    (work / f"results-{len(days)}d.json").write_text(json.dumps(results, indent=2))
    report(results)


# The daily updates measured, in order, each on its own new day: name -> price provider.
DAILY_RUNS = {"per-symbol": "yahoo", "bulk": "polygon", "readers": "polygon"}
POSTGRES_DBT_THREADS = "2"


def postgres_world(
    work: Path,
    cboe_url: str,
    base_url: str,
    prices_url: str,
    days: list[dt.date],
    names: list[str],
    next_days: list[dt.date],
) -> dict:
    """The same history and daily updates on a PostgreSQL catalog, production's (a throw-away cluster on
    loopback, Debian's PostgreSQL): FINRA's backfill, every symbol's history, the full dbt build and
    the daily updates, dbt with POSTGRES_DBT_THREADS threads (PostgreSQL takes concurrent committers)."""
    with postgres_server() as server:
        backfill = one_backfill(work, "postgres", base_url, days, catalog=f"postgres:{server.new_database()}")
        env = {
            **backfill["env"],
            "TICKERLAKE_DBT_THREADS": POSTGRES_DBT_THREADS,
            "TICKERLAKE_CBOE_BASE_URL": cboe_url,
        }
        history = prices_backfill(env, prices_url, names)
        dbt_full, dbt_full_peak = measure(materialize("--select", "kind:dbt"), env)
        daily = {
            name: daily_update(env, prices_url, provider, day)
            for (name, provider), day in zip(list(DAILY_RUNS.items())[:2], next_days, strict=False)
        }
    return {
        "backfill_raw_seconds": backfill["raw_seconds"],
        "prices_history_seconds": history["seconds"],
        "dbt_full_seconds": dbt_full,
        "dbt_full_peak_mb": dbt_full_peak,
        "daily": daily,
    }


def ranking_with_literal_bound(lake: LakeResource) -> str:
    """The ranking query as a dashboard or the API would send it: the look-back's first day looked up
    first and written as a date, which DuckLake prunes the window files with (a subquery is not)."""
    with lake.connect() as con:
        newest = con.execute("SELECT max(window_end) FROM marts.fct_volatility_windows").fetchone()[0]
    return RANKING.replace("(SELECT max(window_end) FROM marts.fct_volatility_windows)", f"DATE '{newest}'")


PAIRS = 500


def ui_partition_status(env: dict[str, str]) -> dict[str, float]:
    """The asset pages' partition status at full scale: the symbols the bench loaded, every crypto day
    and PAIRS pairs recorded as materialized (the crypto runs themselves are measured in bench.crypto)."""
    home = env["DAGSTER_HOME"]
    first_crypto = dt.date.fromisoformat(CRYPTO_DEFAULT_START)
    crypto_days = [(first_crypto + dt.timedelta(days=i)).isoformat() for i in range((LAST_DAY - first_crypto).days)]
    report_materialized(
        home, dg.AssetKey(["raw", "crypto_klines_history"]), "crypto_pairs", [f"P{i:03d}USDT" for i in range(PAIRS)]
    )
    report_materialized(home, dg.AssetKey(["raw", "crypto_klines_1m"]), None, crypto_days)
    keys = [
        dg.AssetKey(["raw", name])
        for name in (
            "prices_history",
            "prices_daily",
            "finra_short_volume",
            "crypto_klines_history",
            "crypto_klines_1m",
        )
    ]
    return partition_status_seconds({**env, "TICKERLAKE_CRYPTO_END_DATE": LAST_DAY.isoformat()}, keys)


def postgres_lines(pg: dict | None) -> list[tuple[str, str, str]]:
    """The PostgreSQL catalog's figures, beside the SQLite ones above (none: BENCH_POSTGRES=0)."""
    if pg is None:
        return [("PostgreSQL catalog", "not measured", "BENCH_POSTGRES=0")]
    lines = [
        ("PostgreSQL catalog: FINRA backfill, one ranged run", f"{pg['backfill_raw_seconds']:.1f} s", ""),
        ("PostgreSQL catalog: prices history, one ranged run", f"{pg['prices_history_seconds']:.1f} s", ""),
        (
            f"PostgreSQL catalog: dbt build after both backfills (full), {POSTGRES_DBT_THREADS} dbt threads",
            f"{pg['dbt_full_seconds']:.1f} s",
            f"peak {pg['dbt_full_peak_mb']:,.0f} MB",
        ),
    ]
    for name, run in pg["daily"].items():
        lines.append(
            (
                f"PostgreSQL catalog: daily update, {name} provider (market_daily, {POSTGRES_DBT_THREADS} dbt threads)",
                f"{run['total']:.1f} s",
                f"raw steps {run['raw']:.1f} s + dbt step {run['dbt']:.1f} s + process, definitions and run "
                f"events {run['overhead']:.1f} s; peak {run['peak_mb']:,.0f} MB",
            )
        )
    return lines


def report(r: dict) -> None:
    history, daily = r["prices_history"], r["daily"]
    readers = daily["readers"]["readers"]
    events = history["events"]
    lines = [
        (
            "FINRA backfill, Dagster path (client -> lake), one ranged run",
            f"{r['backfill_raw_seconds']:.1f} s",
            f"{r['backfill_rows_per_second']:,.0f} rows/s",
        ),
        (
            "where the backfill's time went (its event log)",
            "",
            ", ".join(f"{label} {r['backfill_phases'][key]:.1f} s" for key, label in PHASES.items())
            + f"; {r['backfill_phases']['partition_events']:.0f} planned and materialization events",
        ),
        (
            "asset body against the raw limit",
            "",
            f"ratio {r['backfill_phases']['body_seconds'] / r['raw_limit_seconds']:.1f}x "
            "(HTTP from the bench's server, parse and validation, durable writes, read-back checks)",
        ),
        (
            "raw limit: DuckDB read_csv of the same files, local disk",
            f"{r['raw_limit_seconds']:.1f} s",
            f"ratio {r['ratio_to_limit']:.1f}x (goal <= 2x)",
        ),
        (
            f"prices history, {r['nms_symbols']:,} symbols x {r['days']:,} days, Dagster path "
            "(raw/prices_history, one ranged run)",
            f"{history['seconds']:.1f} s",
            f"{events['planned']} planned + {events['materialized']} materialization events, peak "
            f"{history['peak_mb']:,.0f} MB (goals: < 15 min, < 2 GB; the ratio below)",
        ),
        (
            "raw limit: DuckDB read_json of the same chart JSON into Parquet",
            f"{history['raw_limit_seconds']:.1f} s",
            f"{history['json_mb']:,.0f} MB of JSON; ratio {history['seconds'] / history['raw_limit_seconds']:.1f}x "
            "(goal <= 5x)",
        ),
        (
            "where the prices history's time went (its event log)",
            "",
            ", ".join(f"{label} {history['phases'][key]:.1f} s" for key, label in PHASES.items()),
        ),
        (
            "dbt build after both backfills (full)",
            f"{r['backfill_dbt_seconds']:.1f} s",
            f"peak {r['backfill_dbt_peak_mb']:,.0f} MB (DuckDB's limit: 40% of RAM; goal: under half)",
        ),
        *(
            (
                f"daily update, {name} provider: the market_daily run of one day (FINRA's files, every "
                "symbol's bar, Cboe, their checks, then the dbt models they feed)",
                f"{run['total']:.1f} s",
                f"raw steps {run['raw']:.1f} s ({run['raw_events']['planned']} planned + "
                f"{run['raw_events']['materialized']} materialization events) + dbt step {run['dbt']:.1f} s + "
                f"process, definitions and run events {run['overhead']:.1f} s; peak {run['peak_mb']:,.0f} MB "
                f"(goal < {60 if name == 'per-symbol' else 30} s)",
            )
            for name, run in daily.items()
            if name != "readers"
        ),
        (
            f"{READERS} reader processes querying in a loop through the next day's market run",
            f"{readers['answered']} answers",
            f"p50 {readers['p50_ms']:.1f} ms, p99 {readers['p99_ms']:.1f} ms, {readers['failed']} failed "
            f"{readers['first_failure']}; the run took {daily['readers']['total']:.1f} s beside them (2 cores)",
        ),
        (
            "slowest dbt nodes of the last daily run",
            "",
            ", ".join(f"{name} {seconds:.1f} s" for name, seconds in r["daily_dbt_slowest_nodes"]),
        ),
        (
            "the UI's partition status (GraphQL, as the asset page asks), per asset",
            f"{max(r['ui_partition_status_seconds'].values()):.2f} s at most",
            ", ".join(f"{key} {s:.2f} s" for key, s in r["ui_partition_status_seconds"].items())
            + f" ({r['nms_symbols']:,} symbols, {PAIRS} pairs; goal < 3 s)",
        ),
        (
            "stored on disk: data files and catalog, every snapshot kept",
            f"{r['stored_mb']:,.0f} MB",
            f"after compaction and expiry (maintenance, no retention) {r['compacted_mb']:,.0f} MB, "
            f"{r['compacted_footprint']['data_files']} files",
        ),
        (
            "volatility ranking query, full range (the look-back's start as a subquery, README query 2)",
            f"{r['volatility_ranking_query_ms']:.1f} ms",
            "goal < 100 ms",
        ),
        (
            "volatility ranking query, the look-back's start looked up first and written as a date",
            f"{r['volatility_ranking_literal_query_ms']:.1f} ms",
            "fct_volatility_windows is written in window order: DuckLake reads the look-back's files only",
        ),
        ("sector correlation query, full range", f"{r['sector_correlation_query_ms']:.1f} ms", "goal < 50 ms"),
        *postgres_lines(r["postgres"]),
        (f"peak memory of the FINRA backfill, {r['days']} days", f"{r['peak_mb_full_range']:.0f} MB", ""),
        (
            f"peak memory of the FINRA backfill, {r['quarter_days']} days",
            f"{r['peak_mb_quarter_range']:.0f} MB",
            f"{r['peak_mb_full_range'] / r['peak_mb_quarter_range']:.2f}x the memory for "
            f"{r['days'] / r['quarter_days']:.0f}x the days",
        ),
    ]
    table = Table(
        title=f"tickerlake bench: {r['days']} days x {r['nms_symbols']} NMS symbols, "
        f"{r['rows']:,} FINRA rows, FINRA backfill median of {r['repeat']}"
    )
    for column in ("measure", "value", "note"):
        table.add_column(column)
    for line in lines:
        table.add_row(*line)
    console.print(table)
    write_section(
        f"FINRA and prices, {r['days']:,} trading days",
        f"Machine: {r['machine']}. {r['days']:,} trading days x {r['nms_symbols']:,} NMS symbols "
        f"({r['rows']:,} FINRA rows); the FINRA backfill is the median of {r['repeat']} run(s), the rest one "
        f"run each.\n\n{markdown_table(lines)}",
    )


if __name__ == "__main__":
    main()
