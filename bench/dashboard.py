"""`make bench`, dashboard part: each page's load in a real browser and the API's latency, at full scale.

Runs `make dashboard` (python -m web, one process) over two worlds: the equity world of bench/run.py
(BENCH_DIR/runs/full-<n>, the last one, whose dbt models were built: the full market over
BENCH_DAYS) for the ranking and short-selling pages, and a year of BENCH_DASHBOARD_PAIRS pairs
(bench/dashboard_world.py) for the coin explorer, the predictions and the alerts. A page's load is
timed in Debian's chromium (Playwright) from the navigation to the moment its plots and tables are
drawn, first once (each world's first page in a fresh browser on a just-started server: nothing
cached, the scripts, some 5 MB with plotly.js, fetched and compiled) and then BENCH_PAGE_LOADS times
(median and slowest reported); an API endpoint BENCH_API_CALLS times over HTTP (p50 and p95). A
page whose mart the world has not built says so on the page, and is reported as such, not timed.
Writes dashboard.json beside the other results and its section of docs/benchmarks.md.
"""

import contextlib
import json
import os
import platform
import shutil
import statistics
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
from playwright.sync_api import Browser, Page, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from rich.console import Console

from bench import dashboard_world
from bench.doc import table as markdown_table
from bench.doc import write_section
from resources.lake import lake_at_root
from tests.services import dashboard_server
from web import queries

ROOT = Path(__file__).resolve().parent.parent
PAGE_LOADS = int(os.environ.get("BENCH_PAGE_LOADS", "5"))
API_CALLS = int(os.environ.get("BENCH_API_CALLS", "20"))
console = Console()


@dataclass(frozen=True)
class PageCheck:
    path: str
    name: str
    ready: tuple[str, ...]  # what is drawn once the page has loaded: its plots and tables


EQUITY_PAGES = (
    PageCheck("/", "volatility ranking (look-back 365 days, top and bottom 10)", ("#most-volatile tr:nth-child(11)",)),
    PageCheck(
        "/short",
        "short selling (the busiest symbol's year, heat map, deciles)",
        ("#short-panel .scatterlayer .trace", "#correlations .hm", "#deciles .barlayer .trace"),
    ),
)
CRYPTO_PAGES = (
    PageCheck(
        "/coins",
        "coin explorer (1h candles of 30 days, the universe)",
        ("#coin-chart .boxlayer .trace", "#coin-universe"),
    ),
    PageCheck(
        "/predictions",
        "predictions (each pair's latest 1m prediction, the evaluation)",
        ("#latest-predictions td", "#evaluation .barlayer .trace"),
    ),
    PageCheck("/alerts", "alerts (the rules, the newest 200 delivered)", ("#rules-table", "#delivered-table td")),
)
PAIRS = int(os.environ.get("BENCH_DASHBOARD_PAIRS", "500"))
# A page not drawn by then is reported as such (a world too small to fill it, or a broken page).
DRAWN_WITHIN_SECONDS = 30


@contextlib.contextmanager
def dashboard(world: Path, log: Path) -> Iterator[str]:
    """`make dashboard` over a world's lake and catalog, with no token, until the block ends."""
    env = {
        **os.environ,
        "TICKERLAKE_LAKE_ROOT": str(world / "lake"),
        "TICKERLAKE_CATALOG": f"sqlite:{world / 'tickerlake.sqlite'}",
    }
    env.pop("TICKERLAKE_API_TOKEN", None)
    with dashboard_server(env, log) as url:
        yield url


def load_seconds(page: Page, check: PageCheck) -> tuple[float, float] | str:
    """Navigation to the page's plots and tables drawn, and the part of it until the page's scripts had
    loaded (its `load` event; the rest is the callbacks' queries and drawing); what the page said
    instead if it has no data."""
    started = time.perf_counter()
    page.goto(check.path)
    shell = time.perf_counter() - started
    try:
        page.wait_for_function(
            "(selectors) => selectors.every((s) => document.querySelector(s) !== null)"
            " || Boolean(document.querySelector('#page-error')?.textContent)",
            arg=list(check.ready),
            timeout=DRAWN_WITHIN_SECONDS * 1000,
        )
    except PlaywrightTimeout:
        missing = [s for s in check.ready if page.locator(s).count() == 0]
        return f"not drawn within {DRAWN_WITHIN_SECONDS} s (missing: {', '.join(missing)})"
    seconds = time.perf_counter() - started
    return page.locator("#page-error").inner_text() or (seconds, shell)


def time_pages(browser: Browser, url: str, checks: tuple[PageCheck, ...], shots: Path) -> dict[str, dict]:
    results = {}
    context = browser.new_context(base_url=url, viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    for check in checks:
        shot = str(shots / f"{check.path.strip('/') or 'ranking'}.png")
        cold = load_seconds(page, check)
        if isinstance(cold, str):
            results[check.name] = {"not_built": cold}
            page.screenshot(path=shot, full_page=True)
            continue
        warm = [load_seconds(page, check) for _ in range(PAGE_LOADS)]
        page.screenshot(path=shot, full_page=True)
        results[check.name] = {
            "cold": cold[0],
            "median": statistics.median(total for total, _ in warm),
            "slowest": max(total for total, _ in warm),
            "shell_median": statistics.median(shell for _, shell in warm),
        }
    context.close()
    return results


def api_latency(url: str, paths: dict[str, str]) -> dict[str, dict]:
    results = {}
    with httpx.Client(base_url=url, timeout=120) as client:
        for name, path in paths.items():
            first = client.get(path)
            if first.status_code != 200:
                results[name] = {"status": first.status_code, "detail": first.text[:200]}
                continue
            seconds = []
            for _ in range(API_CALLS):
                started = time.perf_counter()
                client.get(path).raise_for_status()
                seconds.append(time.perf_counter() - started)
            seconds.sort()
            p95 = seconds[min(len(seconds) - 1, int(0.95 * len(seconds)))]
            results[name] = {"p50": statistics.median(seconds), "p95": p95, "total": first.json().get("total")}
    return results


@dataclass(frozen=True)
class Survey:
    """What a world holds (the rows of the marts the pages read) and the names its endpoints are asked for."""

    facts: dict[str, str]
    symbol: str | None  # the short panel's busiest
    pair: str | None  # the hourly mart's first


def survey(world: Path) -> Survey:
    lake = lake_at_root(str(world / "lake"), f"sqlite:{world / 'tickerlake.sqlite'}")
    facts, symbol, pair = {}, None, None
    with lake.connect() as con:
        if queries.exists(con, "marts.fct_prices_daily"):
            rows, symbols, first, last = con.execute(
                "SELECT count(*), count(DISTINCT symbol), min(trade_date), max(trade_date) FROM marts.fct_prices_daily"
            ).fetchone()
            facts["prices"] = f"{rows:,} daily prices of {symbols:,} symbols, {first} to {last}"
        if queries.exists(con, "marts.fct_features_crypto_1m"):
            pairs, bars = con.execute(
                "SELECT count(DISTINCT pair), count(*) FROM marts.fct_features_crypto_1m"
            ).fetchone()
            if pairs:
                facts["crypto"] = f"{pairs:,} pairs, {bars:,} 1m feature rows"
        if queries.exists(con, "marts.fct_short_panel_daily"):
            symbol = queries.busiest_symbol(con)
        if queries.exists(con, "marts.fct_features_crypto_1h"):
            pair = con.execute("SELECT min(pair) FROM marts.fct_features_crypto_1h").fetchone()[0]
    return Survey(facts, symbol, pair)


def equity_world(work: Path) -> Path | None:
    """The last full-market world of bench/run.py: the one its daily update and dbt build ran in."""
    worlds = sorted(work.glob("runs/full-*"), key=lambda p: int(p.name.split("-")[1]))
    return worlds[-1] if worlds else None


def main() -> None:
    work = Path(os.environ.get("BENCH_DIR", ROOT / "build" / "bench")).resolve()
    out = work / "dashboard"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    chromium = shutil.which("chromium")
    if chromium is None:
        raise SystemExit("Debian's chromium is needed (apt-get install chromium): make bench installs it")
    console.print(f"writing a year of {PAIRS} pairs into the dashboard's crypto world ...")
    crypto = dashboard_world.crypto_world(work / "dashboard-crypto", PAIRS)
    worlds = {"equity": (equity_world(work), EQUITY_PAGES), "crypto": (crypto, CRYPTO_PAGES)}
    results: dict[str, dict] = {"load_before": os.getloadavg()}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        for name, (world, checks) in worlds.items():
            if world is None or not (world / "tickerlake.sqlite").exists():
                results[name] = {"missing": f"no {name} world under {work.name}: run the benches before this one"}
                continue
            with dashboard(world, out / f"{name}.log") as url:
                pages = time_pages(browser, url, checks, out)
                found = survey(world)
                symbol, pair = found.symbol, found.pair
                paths = {}
                if symbol:
                    paths["ranking, look-back 365"] = "/api/v1/ranking?lookback_days=365&limit=100"
                    paths["ranking, look-back 3650"] = "/api/v1/ranking?lookback_days=3650&limit=100"
                    paths[f"short panel ({symbol}, a year)"] = f"/api/v1/symbols/{symbol}/short"
                if pair:
                    paths[f"bars ({pair}, 1h, 30 days)"] = f"/api/v1/pairs/{pair}/bars?interval=1h&limit=1000"
                    paths[f"bars ({pair}, 1m, a day)"] = f"/api/v1/pairs/{pair}/bars?interval=1m&limit=1000"
                    paths["predictions (crypto_1m, a page of 100)"] = "/api/v1/predictions?dataset=crypto_1m"
                    paths["alerts (a page of 100)"] = "/api/v1/alerts"
                results[name] = {"facts": found.facts, "pages": pages, "api": api_latency(url, paths)}
        browser.close()
    results["load_after"] = os.getloadavg()
    (work / "dashboard.json").write_text(json.dumps(results, indent=2, default=str))
    report(results)


def _figure(entry: dict) -> tuple[str, str]:
    if "not_built" in entry:
        return "not timed", entry["not_built"]
    if "status" in entry:
        return f"HTTP {entry['status']}", entry["detail"]
    if "p50" in entry:
        return f"p50 {entry['p50'] * 1000:.0f} ms", f"p95 {entry['p95'] * 1000:.0f} ms over {API_CALLS} calls"
    return (
        f"{entry['median']:.2f} s",
        f"median of {PAGE_LOADS} loads (of which {entry['shell_median']:.2f} s the page and its scripts), "
        f"slowest {entry['slowest']:.2f} s; first load {entry['cold']:.2f} s (goal < 1 s)",
    )


def report(results: dict) -> None:
    lines = []
    for name in ("equity", "crypto"):
        world = results.get(name, {})
        if "missing" in world:
            lines.append((f"{name} world", "-", world["missing"]))
            continue
        lines.append((f"{name} world", "", "; ".join(str(v) for v in world["facts"].values())))
        lines += [(f"page: {page}", *_figure(entry)) for page, entry in world["pages"].items()]
        lines += [(f"API: {call}", *_figure(entry)) for call, entry in world["api"].items()]
    before, after = results["load_before"][0], results["load_after"][0]
    body = (
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}. "
        "`make dashboard` (one process) over the benches' worlds (their lakes and SQLite catalogs under BENCH_DIR, "
        f"local disk), driven by Debian's chromium on the same machine; load average {before:.1f} before, "
        f"{after:.1f} after.\n\n" + markdown_table(lines)
    )
    write_section("Dashboard pages and API", body)
    console.print(body)


if __name__ == "__main__":
    main()
