"""The prices assets of another tree beside this one's, at a size the old design finishes (issue 12).

Before issue 12, `raw/prices_daily` was partitioned by trading day x symbol: a Dagster planned and a
materialization event per (day, symbol). Now a symbol's history is one partition of
`raw/prices_history` and a day of every symbol one partition of `raw/prices_daily`. This runs, for
each tree, 100 symbols x 251 days of history and one day of 2,000 symbols, each as one ranged run
through the `dagster` CLI of that tree's own virtualenv, against the same synthetic Yahoo mirror
(bench.prices_mirror, served from this process), and counts the events each run wrote:

    git worktree add /tmp/tickerlake-5d05f19 5d05f19 && make -C /tmp/tickerlake-5d05f19 install
    .venv/bin/python -m bench.prices_designs /tmp/tickerlake-5d05f19

Writes build/bench/prices-designs.json and the "Prices: day x symbol partitions beside symbol + day"
section of docs/benchmarks.md.
"""

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import exchange_calendars as xcals
from rich.console import Console

from bench import prices_mirror
from bench.doc import table, write_section

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "build" / "bench" / "designs"
HISTORY_SYMBOLS, DAILY_SYMBOLS, HISTORY_DAYS = 100, 2000, 251
SYMBOLS = [f"S{i:04d}" for i in range(DAILY_SYMBOLS)]
console = Console()

# Run with the tree's own Python: its Dagster reads its own instance.
ADD_SYMBOLS = """
import sys, dagster as dg
with dg.DagsterInstance.from_config(sys.argv[1]) as instance:
    instance.add_dynamic_partitions("symbols", sys.argv[2:])
"""
LAST_RUN_EVENTS = """
import sys, dagster as dg
kinds = {dg.DagsterEventType.ASSET_MATERIALIZATION, dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED}
with dg.DagsterInstance.from_config(sys.argv[1]) as instance:
    run = instance.get_runs(limit=1)[0]
    print(len(instance.all_logs(run.run_id, of_type=kinds)), run.status.value)
"""


def is_day_by_symbol(tree: Path) -> bool:
    """The old design has no per-symbol history asset."""
    return "prices_history" not in (tree / "assets" / "prices.py").read_text()


def tree_env(tree: Path, work: Path, yahoo_url: str, first_day: str) -> dict[str, str]:
    shutil.rmtree(work, ignore_errors=True)
    (work / "home").mkdir(parents=True)
    shutil.copyfile(tree / "platform" / "dagster.yaml", work / "home" / "dagster.yaml")
    return {
        **os.environ,
        "DAGSTER_HOME": str(work / "home"),
        "TICKERLAKE_LAKE_ROOT": str(work / "lake"),
        "TICKERLAKE_DUCKDB_PATH": str(work / "w.duckdb"),
        "TICKERLAKE_CATALOG": f"sqlite:{work / 'tickerlake.sqlite'}",
        "TICKERLAKE_START_DATE": first_day,
        "TICKERLAKE_PRICES_START": first_day,
        "TICKERLAKE_YAHOO_BASE_URL": f"{yahoo_url}/query1.finance.yahoo.com",
        "TICKERLAKE_PRICES_REQUESTS_PER_SECOND": "100000",
        "TICKERLAKE_PRICES_CONCURRENCY": "4",
        "DAGSTER_TELEMETRY_DISABLED": "1",
    }


def timed_run(tree: Path, env: dict[str, str], *args: str) -> dict[str, object]:
    """One `dagster asset materialize` of the tree; its wall time and the events its run wrote."""
    python = tree / ".venv" / "bin" / "python"
    started = time.perf_counter()
    done = subprocess.run(
        [
            str(tree / ".venv" / "bin" / "dagster"),
            "asset",
            "materialize",
            "-f",
            "platform/definitions.py",
            "-d",
            ".",
            *args,
        ],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{tree}: {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    events, status = subprocess.run(
        [str(python), "-c", LAST_RUN_EVENTS, env["DAGSTER_HOME"]], env=env, check=True, capture_output=True, text=True
    ).stdout.split()
    return {"seconds": round(seconds, 1), "events": int(events), "status": status}


def commit_of(tree: Path) -> str:
    """The tree's commit, not its path: the figures name what was measured, not where it sat."""
    return subprocess.run(
        ["git", "-C", str(tree), "rev-parse", "--short", "HEAD"], check=True, capture_output=True, text=True
    ).stdout.strip()


def measure_tree(tree: Path, yahoo_url: str, days: list[str], next_day: str) -> dict[str, object]:
    old = is_day_by_symbol(tree)
    env = tree_env(tree, WORK / ("day-by-symbol" if old else "symbol-plus-day"), yahoo_url, days[0])
    subprocess.run(
        [str(tree / ".venv" / "bin" / "python"), "-c", ADD_SYMBOLS, env["DAGSTER_HOME"], *SYMBOLS], env=env, check=True
    )
    last = SYMBOLS[HISTORY_SYMBOLS - 1]
    if old:
        history = ("--select", "raw/prices_daily", "--partition-range", f"{days[0]}|{SYMBOLS[0]}...{days[-1]}|{last}")
        daily = (
            "--select",
            "raw/prices_daily",
            "--partition-range",
            f"{next_day}|{SYMBOLS[0]}...{next_day}|{SYMBOLS[-1]}",
        )
    else:
        history = ("--select", "raw/prices_history", "--partition-range", f"{SYMBOLS[0]}...{last}")
        daily = ("--select", "raw/prices_daily", "--partition", next_day)
    console.print(f"{tree}: {'day x symbol' if old else 'symbol + day'} ...")
    return {
        "design": "day x symbol" if old else "symbol + day",
        "commit": commit_of(tree),
        "history": timed_run(tree, env, *history),
        "daily": timed_run(tree, env, *daily),
    }


def main() -> None:
    other = Path(sys.argv[1]).resolve()
    xnys = xcals.get_calendar("XNYS", start="2009-01-02")
    sessions = [s.date() for s in xnys.sessions_window("2024-12-31", -(HISTORY_DAYS + 1))]
    history_days, next_day = sessions[:-1], sessions[-1]
    market = WORK / "market"
    if not (market / "done").exists():
        shutil.rmtree(market, ignore_errors=True)
        prices_mirror.write_market(market, SYMBOLS, history_days, [next_day])
        (market / "done").write_text("ok")
    url = prices_mirror.serve(market, [next_day])
    days = [d.isoformat() for d in history_days]
    load = os.getloadavg()[0]
    results = [measure_tree(tree, url, days, next_day.isoformat()) for tree in (other, ROOT)]
    (WORK / "prices-designs.json").write_text(json.dumps({"load_before": load, "runs": results}, indent=2))
    rows = []
    for r in results:
        rows.append(
            (
                f"{HISTORY_SYMBOLS} symbols x {HISTORY_DAYS} days of history, one run ({r['design']})",
                f"{r['history']['seconds']} s",
                f"{r['history']['events']:,} planned + materialization events",
            )
        )
        rows.append(
            (
                f"one day of {DAILY_SYMBOLS:,} symbols, one run ({r['design']})",
                f"{r['daily']['seconds']} s",
                f"{r['daily']['events']:,} events",
            )
        )
    write_section(
        "Prices: day x symbol partitions beside symbol + day",
        (
            f"`python -m bench.prices_designs <tree of the old design>` (bench/prices_designs.py): each tree's own "
            f"`dagster asset materialize`, the same synthetic Yahoo mirror; load average before: {load:.1f}. "
            f"Commits: {', '.join(r['commit'] for r in results)}.\n\n" + table(rows)
        ),
    )
    console.print(table(rows))


if __name__ == "__main__":
    main()
