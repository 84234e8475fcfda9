"""`make demo`: materialize the whole graph over the bundled sample, offline, then show the result.

The sample is served by a local HTTP server on FINRA's own URL layout, so the demo runs the same
client, parser and Dagster path as production; only TICKERLAKE_FINRA_BASE_URL differs. The runs go
through the `dagster` CLI into the local instance (DAGSTER_HOME), so they show up in the UI.
"""

import functools
import http.server
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_HOST_DIR = ROOT / "sample" / "cdn.finra.org"
FIRST_DAY, LAST_DAY = "2024-07-01", "2024-07-12"
DBT_MODELS = "staging/stg_finra__short_volume,marts/fct_short_volume_daily"

console = Console()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """Requests are visible in the Dagster run logs; keep the demo output readable."""


def serve_sample() -> str:
    """Serve sample/cdn.finra.org on a free loopback port; returns the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(SAMPLE_HOST_DIR))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}"


def dagster(*args: str, env: dict[str, str]) -> float:
    started = time.perf_counter()
    command = [str(Path(sys.executable).parent / "dagster"), "asset", "materialize",
               "-f", "platform/definitions.py", "-d", ".", *args]
    console.print(f"[bold]$ {' '.join(command[0:1])} {' '.join(command[1:])}[/bold]")
    completed = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    if completed.returncode != 0:
        console.print(completed.stdout[-4000:], completed.stderr[-4000:])
        raise SystemExit(f"demo: dagster run failed (exit {completed.returncode})")
    return time.perf_counter() - started


def show_results(warehouse: str) -> None:
    with duckdb.connect(warehouse, read_only=True) as con:
        per_day = con.execute(
            "SELECT trade_date, facility, count(*) FROM raw.finra_short_volume GROUP BY ALL ORDER BY ALL"
        ).fetchall()
        top = con.execute(
            """
            SELECT symbol, nms_source, short_volume, total_volume, short_ratio
            FROM marts.fct_short_volume_daily
            WHERE trade_date = (SELECT max(trade_date) FROM marts.fct_short_volume_daily)
              AND short_ratio IS NOT NULL
            ORDER BY short_ratio DESC LIMIT 10
            """
        ).fetchall()
        last_day = con.execute("SELECT max(trade_date) FROM marts.fct_short_volume_daily").fetchone()[0]

    facilities = sorted({f for _, f, _ in per_day})
    rows: dict[str, dict[str, int]] = {}
    for day, facility, count in per_day:
        rows.setdefault(str(day), {})[facility] = count
    table = Table(title="raw.finra_short_volume: rows per trading day and facility file")
    for column in ["trade_date", *facilities, "total"]:
        table.add_column(column, justify="right")
    for day, counts in rows.items():
        table.add_row(day, *(str(counts.get(f, 0)) for f in facilities), str(sum(counts.values())))
    console.print(table)

    table = Table(title=f"marts.fct_short_volume_daily: top short ratios on {last_day}")
    for column in ("symbol", "source", "short_volume", "total_volume", "short_ratio"):
        table.add_column(column, justify="right")
    for symbol, source, short, total, ratio in top:
        table.add_row(symbol, source, f"{short:,.0f}", f"{total:,.0f}", f"{ratio:.3f}")
    console.print(table)


def main() -> None:
    env = dict(os.environ)
    env["TICKERLAKE_FINRA_BASE_URL"] = serve_sample()
    env.setdefault("TICKERLAKE_LAKE_ROOT", str(ROOT / "data" / "lake"))
    env.setdefault("TICKERLAKE_DUCKDB_PATH", str(ROOT / "data" / "tickerlake.duckdb"))
    env.setdefault("DAGSTER_HOME", str(ROOT / ".dagster"))
    console.print(f"Serving the bundled FINRA sample at {env['TICKERLAKE_FINRA_BASE_URL']}")

    raw_seconds = dagster("--select", "raw/finra_short_volume",
                          "--partition-range", f"{FIRST_DAY}...{LAST_DAY}", env=env)
    dbt_seconds = dagster("--select", DBT_MODELS, env=env)
    console.print(f"raw backfill {FIRST_DAY}..{LAST_DAY} in one run: {raw_seconds:.1f} s; dbt: {dbt_seconds:.1f} s")

    show_results(env["TICKERLAKE_DUCKDB_PATH"])
    console.print(
        "\n[bold]Next[/bold]\n"
        "  UI (asset graph, partitions, runs):  make ui   -> http://127.0.0.1:3000\n"
        f"  SQL (read-only, {env['TICKERLAKE_DUCKDB_PATH']}):\n"
        "    make sql Q=\"SELECT * FROM marts.fct_short_volume_daily WHERE symbol = 'TSLA' ORDER BY trade_date\""
    )


if __name__ == "__main__":
    main()
