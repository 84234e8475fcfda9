"""`make demo`: materialize the whole graph over the bundled sample, offline, then show the result.

The sample is served by a local HTTP server on FINRA's own URL layout, so the demo runs the same
client, parser and Dagster path as production; only TICKERLAKE_FINRA_BASE_URL differs. The runs go
through the `dagster` CLI into the local instance (DAGSTER_HOME), so they show up in the UI.
"""

import contextlib
import datetime as dt
import functools
import http.server
import json
import os
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import polars as pl
from binance_api import KlinesHandler, write_json
from coingecko_api import COINGECKO_HOST, MARKETS_PATH, markets_answer
from demo_crypto import SETTINGS as CRYPTO_SETTINGS
from demo_crypto import run_crypto, show_crypto
from demo_features import show_feature_row, show_label_balance
from fred_api import FRED_HOST, FREDGRAPH_PATH, fredgraph_answer
from posted import last_modified
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from resources.finra import FACILITIES
from resources.lake import lake_at_root
from resources.settings import MIRROR
from resources.sql import reader
from web import queries

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DIR = ROOT / "sample"
FIRST_DAY, LAST_DAY = "2024-03-01", "2024-07-12"
# The named jobs the demo runs in subprocesses (sensors/jobs.py, sensors/schedules.py): each run in the
# UI's Runs page says what it did.
FINRA_JOB, REFERENCE_JOB, DBT_JOB, EXPORTS_JOB, SHORT_INTEREST_JOB, FAILS_JOB, THRESHOLD_JOB = (
    "finra_short_volume_backfill",
    "reference_daily",
    "dbt_models_build",
    "short_volume_csv_export",
    "finra_short_interest_fetch",
    "sec_fails_fetch",
    "regsho_threshold_fetch",
)
CBOE_JOB, COT_LEGACY_JOB, COT_TFF_JOB, EQUITY_JOB, FEATURE_MARTS_JOB = (
    "cboe_index_history_fetch",
    "cftc_cot_legacy_fetch",
    "cftc_cot_tff_fetch",
    "equity_indicators_backfill",
    "feature_marts_build",
)
# The direction model the demo trains: on the sample's Binance 1m klines (made: seeded random walks, sample/README.md).
MODEL_JOB, MODEL_PARTITION, SERVE_JOB = "direction_model_train", "crypto_1m", "direction_predictions_serve"
# The columns of a prediction the demo prints, the model version last (its title).
PREDICTION_COLUMNS = [
    "instrument",
    "bar_time",
    "predicted",
    "p_up2",
    "p_up1",
    "p_flat",
    "p_down1",
    "p_down2",
    "model_version",
]
RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"
WEBHOOK_PATH = "/demo-alert-webhook"
# FINRA's own files of two real days (all six facilities), recorded for the tests; the demo runs the
# production asset on them too, in a world of its own (lake, catalog, Dagster instance) under REAL_DIR.
REAL_FINRA = ROOT / "tests" / "fixtures" / "real" / "finra"
REAL_DAYS = ("2019-01-02", "2020-03-16")
REAL_DIR = ROOT / "build" / "demo" / "real"
FINRA_PATH = Path("cdn.finra.org") / "equity" / "regsho" / "daily"
DAGSTER_LOG = ROOT / "build" / "demo" / "dagster.log"  # Dagster's own stream of each run, in full
# In-process runs log warnings and errors only; their events are in the instance (the UI's Runs page).
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
webhook_messages: list[dict] = []
CHART_PATH = "/query1.finance.yahoo.com/v8/finance/chart/"
POLL_SECONDS = 0.5

console = Console()


class _QuietHandler(KlinesHandler):
    """The sample's files, Binance's klines endpoint (it pages by query), FRED's download (it names the
    series in the query: sample/fred_api.py), CoinGecko's markets list (paged by query:
    sample/coingecko_api.py), and a webhook that keeps alerts.

    It counts the price charts it served: the new-symbol backfill's progress (a symbol is one chart)."""

    charts_served = 0
    _counting = threading.Lock()

    def do_GET(self) -> None:
        if self.path.startswith(CHART_PATH):
            with _QuietHandler._counting:
                _QuietHandler.charts_served += 1
        path, _, query = self.path.partition("?")
        if path == f"{FRED_HOST}{FREDGRAPH_PATH}":
            status, body = fredgraph_answer(dict(urllib.parse.parse_qsl(query)), Path(self.directory))
            self.send_response(status)
            self.send_header("Content-Type", "text/csv")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if path == f"{COINGECKO_HOST}{MARKETS_PATH}":
            write_json(self, *markets_answer(dict(urllib.parse.parse_qsl(query)), Path(self.directory)))
            return
        super().do_GET()

    def send_header(self, keyword: str, value: str) -> None:
        """A zip's Last-Modified is when its source posted it (sample/posted.py), not the checkout's time."""
        if keyword == "Last-Modified" and self.path.endswith(".zip"):
            value = last_modified(Path(self.translate_path(self.path)).read_bytes()) or value
        super().send_header(keyword, value)

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path != WEBHOOK_PATH:
            write_json(self, 404, b"{}")
            return
        webhook_messages.append(json.loads(body))
        write_json(self, 200, b"{}")


def serve_sample(directory: Path = SAMPLE_DIR) -> str:
    """Serve a tree of hosts (sample/ by default) on a free loopback port; returns the server's root URL."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}"


@contextlib.contextmanager
def watching(label: str, total: int, unit: str, poll: Callable[[], tuple[int, int | None]]) -> Iterator[None]:
    """A progress bar over a long step (done of total, rows, rate, time left), fed by `poll` (what is done
    so far and the rows, or None) from a thread while the step runs in a subprocess or in this process;
    the terminal keeps its last state, one line with the time taken. Off a terminal rich draws only
    that last line."""
    columns = [
        TextColumn("{task.description}"),
        BarColumn(bar_width=20),
        MofNCompleteColumn(),
        TextColumn(unit),
        TextColumn("{task.fields[rows]}"),
        TextColumn("{task.fields[rate]}"),
        TimeRemainingColumn(elapsed_when_finished=True),
    ]
    stop = threading.Event()
    started = time.perf_counter()
    with Progress(*columns, console=console) as progress:
        task = progress.add_task(label, total=total, rows="", rate="")

        def update() -> None:
            done, rows = poll()
            rate = done / max(time.perf_counter() - started, 1e-9)
            shown = "" if rows is None else f"{rows:,} rows"
            progress.update(task, completed=min(done, total), rows=shown, rate=f"{rate:,.1f} {unit}/s")

        def keep_updating() -> None:
            while not stop.wait(POLL_SECONDS):
                update()

        poller = threading.Thread(target=keep_updating, daemon=True)
        poller.start()
        try:
            yield
        finally:
            stop.set()
            poller.join()
            update()


def lake_progress(env: dict[str, str], since: dt.datetime) -> Callable[[], tuple[int, int | None]]:
    """Trading days and FINRA rows written since `since`, read from the lake's last commit (a read-only
    connection never waits for the run): the FINRA asset commits every few seconds and stamps every
    row it writes, so this counts what the run has stored so far, on a first run or a repeated one."""
    lake = lake_at_root(env["TICKERLAKE_LAKE_ROOT"], env["TICKERLAKE_CATALOG"])
    connection: list[duckdb.DuckDBPyConnection] = []

    def poll() -> tuple[int, int | None]:
        try:
            if not connection:
                connection.append(lake.connect())
            days, rows = (
                connection[0]
                .execute(
                    "SELECT count(DISTINCT trade_date), count(*) FROM raw.finra_short_volume WHERE _loaded_at >= ?",
                    [since],
                )
                .fetchone()
            )
        except duckdb.Error:  # no catalog or no table before the run's first commit
            return 0, 0
        return days, rows

    return poll


def job_command(job: str, days: tuple[str, str] | None = None, partition: str | None = None) -> list[str]:
    """`dagster job execute` of a named job of the definitions (a range of days as the run's range tags,
    as the daily schedules ask for one, or one partition): the UI's Runs page shows each run under its
    job's name."""
    command = [str(Path(sys.executable).parent / "dagster"), "job", "execute", "-f", "platform/definitions.py"]
    command += ["-d", ".", "-j", job]
    if days is not None:
        command += ["--tags", json.dumps({RANGE_START: days[0], RANGE_END: days[1]})]
    if partition is not None:
        command += ["--tags", json.dumps({"dagster/partition": partition})]
    return command


def dagster(
    job: str,
    days: tuple[str, str] | None = None,
    *,
    env: dict[str, str],
    progress: bool = False,
    partition: str | None = None,
) -> float:
    """One run of `job`, its output appended to DAGSTER_LOG (named in the summary); the terminal shows
    the command and a spinner, or with `progress` a bar of the days the run has stored so far."""
    started = time.perf_counter()
    command = job_command(job, days, partition)
    span = "" if days is None else f" (day {days[0]})" if days[0] == days[1] else f" (days {days[0]}..{days[1]})"
    span += f" (partition {partition})" if partition else ""
    console.print(f"[bold]$ dagster job execute -j {job}{span}[/bold]")
    DAGSTER_LOG.parent.mkdir(parents=True, exist_ok=True)
    if progress and days is not None:
        from assets.partitions import sessions  # here: the partitions read the demo's dates when imported

        total = len(sessions(dt.date.fromisoformat(days[0]), dt.date.fromisoformat(days[1])))
        shown = watching("FINRA", total, "days", lake_progress(env, dt.datetime.now(dt.UTC)))
    else:
        shown = console.status(f"running {job} ...")
    with DAGSTER_LOG.open("a") as log, shown:
        log.write(f"\n$ {' '.join(command)}\n")
        log.flush()
        completed = subprocess.run(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
    if completed.returncode != 0:
        console.print(DAGSTER_LOG.read_text()[-4000:])
        raise SystemExit(f"demo: dagster run failed (exit {completed.returncode}); the whole log: {DAGSTER_LOG}")
    return time.perf_counter() - started


def show_analytics(con: duckdb.DuckDBPyConnection) -> None:
    ranking = con.execute(
        "SELECT volatility_rank, symbol, market, mean_return_volatility_usd, mean_price_usd, n_windows, lookback_days "
        "FROM marts.mart_volatility_ranking ORDER BY volatility_rank LIMIT 10"
    ).fetchall()
    ranked = con.execute(
        "SELECT market, count(*) FROM marts.mart_volatility_ranking GROUP BY market "
        "ORDER BY market = 'XNYS' DESC, market"
    ).fetchall()
    table = Table(
        title=f"marts.mart_volatility_ranking: most volatile in USD, {ranking[0][6]}-day look-back",
        caption="ranked across markets: " + ", ".join(f"{market} {count}" for market, count in ranked),
    )
    for column in ("rank", "symbol", "market", "mean 2-week volatility (USD)", "mean price (USD)", "windows"):
        table.add_column(column, justify="right")
    for rank, symbol, market, volatility, price, windows, _ in ranking:
        table.add_row(str(rank), symbol, market, f"{volatility:.4f}", f"{price:,.2f}", str(windows))
    console.print(table)

    cells = con.execute(
        "SELECT sector, horizon_days, correlation, n_sample FROM marts.mart_sector_short_return_correlation "
        "WHERE period = 'all'"
    ).fetchall()
    horizons = [1, 5, 22, 65]
    by_sector: dict[str, dict[int, str]] = {}
    for sector, horizon, correlation, n in cells:
        by_sector.setdefault(sector, {})[horizon] = "-" if correlation is None else f"{correlation:+.3f} ({n})"
    table = Table(title="marts.mart_sector_short_return_correlation: corr(short ratio, forward return) (sample size)")
    for column in ["FF12 sector", *(f"{h}d" for h in horizons)]:
        table.add_column(column, justify="right")
    for sector in sorted(by_sector):
        table.add_row(sector, *(by_sector[sector].get(h, "") for h in horizons))
    console.print(table)


def show_results(con: duckdb.DuckDBPyConnection) -> None:
    per_day = con.execute(
        "SELECT trade_date, facility, count(*) FROM raw.finra_short_volume "
        "WHERE trade_date >= (SELECT max(trade_date) - 7 FROM raw.finra_short_volume) GROUP BY ALL ORDER BY ALL"
    ).fetchall()
    top = con.execute(
        """
        SELECT s.symbol, d.ff12_industry, s.short_ratio, p.close, p.adj_close, p.daily_return
        FROM marts.fct_short_volume_daily AS s
        LEFT JOIN marts.fct_prices_daily AS p USING (symbol, trade_date)
        LEFT JOIN marts.dim_symbols AS d USING (symbol)
        WHERE s.trade_date = (SELECT max(trade_date) FROM marts.fct_short_volume_daily)
          AND s.short_ratio IS NOT NULL
        ORDER BY s.short_ratio DESC LIMIT 10
        """
    ).fetchall()
    last_day = con.execute("SELECT max(trade_date) FROM marts.fct_short_volume_daily").fetchone()[0]

    facilities = sorted({f for _, f, _ in per_day})
    rows: dict[str, dict[str, int]] = {}
    for day, facility, count in per_day:
        rows.setdefault(str(day), {})[facility] = count
    table = Table(title="raw.finra_short_volume: rows per trading day and facility file (last days)")
    for column in ["trade_date", *facilities, "total"]:
        table.add_column(column, justify="right")
    for day, counts in rows.items():
        table.add_row(day, *(str(counts.get(f, 0)) for f in facilities), str(sum(counts.values())))
    console.print(table)

    table = Table(title=f"top short ratios on {last_day}, joined with prices and sectors")
    for column in ("symbol", "FF12 sector", "short_ratio", "close", "adj_close", "return"):
        table.add_column(column, justify="right")
    for symbol, sector, ratio, close, adj_close, daily_return in top:
        table.add_row(
            symbol, sector, f"{ratio:.3f}", _num(close, ".2f"), _num(adj_close, ".2f"), _num(daily_return, "+.2%")
        )
    console.print(table)
    show_analytics(con)


def _num(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def new_symbol_backfills() -> tuple[int, int, float]:
    """Evaluate the new-symbol sensor and run what it asks for, as the Dagster daemon would.

    Returns (new symbols, runs launched, seconds). In-process, so the demo needs no daemon.
    """
    import dagster as dg

    sys.path.insert(0, str(ROOT / "platform"))
    from definitions import defs

    from sensors.symbols import PRICES_BACKFILL

    started = time.perf_counter()
    instance = dg.DagsterInstance.get()
    sensor = defs.resolve_sensor_def("new_symbols_sensor")
    with dg.build_sensor_context(instance=instance, resources={"lake": defs.resources["lake"]}) as context:
        result = sensor(context)
    if isinstance(result, dg.SkipReason):
        console.print(f"new-symbol sensor: {result.skip_message}")
        return 0, 0, time.perf_counter() - started
    added = 0
    for request in result.dynamic_partitions_requests:
        instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
        added += len(request.partition_keys)
    job = defs.resolve_job_def(PRICES_BACKFILL.job_name)
    served = _QuietHandler.charts_served
    with watching("prices", added, "symbols", lambda: (_QuietHandler.charts_served - served, None)):
        for request in result.run_requests:
            run = job.execute_in_process(instance=instance, tags=request.tags, run_config=QUIET, raise_on_error=False)
            if not run.success:
                raise SystemExit("demo: a new-symbol backfill run failed")
    return added, len(result.run_requests), time.perf_counter() - started


def real_finra(env: dict[str, str]) -> float:
    """The FINRA asset on the recorded days, served from their own mirror on FINRA's URL layout, one
    run a day (the days between them are partitions FINRA has files for, which are not recorded)."""
    mirror = REAL_DIR / "mirror"
    (mirror / FINRA_PATH).mkdir(parents=True, exist_ok=True)
    for file in REAL_FINRA.glob("*shvol*.txt"):
        (mirror / FINRA_PATH / file.name).write_bytes(file.read_bytes())
    (REAL_DIR / "dagster").mkdir(parents=True, exist_ok=True)
    real = {
        **env,
        MIRROR: serve_sample(mirror),
        "TICKERLAKE_LAKE_ROOT": str(REAL_DIR / "lake"),
        "TICKERLAKE_CATALOG": f"sqlite:{REAL_DIR / 'tickerlake.sqlite'}",
        "DAGSTER_HOME": str(REAL_DIR / "dagster"),
        "TICKERLAKE_START_DATE": REAL_DAYS[0],
        "TICKERLAKE_END_DATE": REAL_DAYS[-1],
    }
    return sum(dagster(FINRA_JOB, (day, day), env=real) for day in REAL_DAYS)


def show_real_finra() -> None:
    """Rows per recorded day and facility, and whether CNMS is the sum of the TRF/ADF files per symbol."""
    lake = lake_at_root(str(REAL_DIR / "lake"), f"sqlite:{REAL_DIR / 'tickerlake.sqlite'}")
    with lake.connect() as con:
        counts = con.execute(
            "SELECT trade_date, facility, count(*) FROM raw.finra_short_volume GROUP BY ALL ORDER BY ALL"
        ).fetchall()
        sums = con.execute(
            """
            WITH per_symbol AS (
                SELECT trade_date, symbol,
                       any_value(total_volume) FILTER (WHERE facility = 'CNMS') AS cnms,
                       sum(total_volume) FILTER (WHERE facility IN ('FNSQ', 'FNQC', 'FNYX', 'FNRA')) AS parts
                FROM raw.finra_short_volume GROUP BY ALL
            )
            SELECT trade_date, count(cnms), count(*) FILTER (WHERE abs(cnms - coalesce(parts, 0)) < 0.5)
            FROM per_symbol GROUP BY ALL ORDER BY ALL
            """
        ).fetchall()
    facilities = [facility.code for facility in FACILITIES]
    per_day: dict[str, dict[str, int]] = {}
    for day, facility, rows in counts:
        per_day.setdefault(str(day), {})[facility] = rows
    equal = {str(day): (symbols, matching) for day, symbols, matching in sums}
    table = Table(title="FINRA's real files (tests/fixtures/real/finra): rows per facility")
    for column in ["trade_date", *facilities, "CNMS = TRFs+ADF"]:
        table.add_column(column, justify="right")
    for day, rows in per_day.items():
        symbols, matching = equal[day]
        table.add_row(day, *(f"{rows.get(f, 0):,}" for f in facilities), f"{matching:,} of {symbols:,}")
    console.print(table)


def demo_environment(root_url: str) -> dict[str, str]:
    """The settings of the demo's world (its lake, its dates, every source on the sample's server), set in
    this process's environment and returned for its subprocesses; sample/ui.py opens the UI on the same."""
    # Each source's files sit under a folder named for its host, on the host's own URL layout: the
    # mirror setting sends every client there (resources/settings.py).
    os.environ[MIRROR] = root_url
    os.environ.setdefault("TICKERLAKE_LAKE_ROOT", str(ROOT / "data" / "lake"))
    os.environ.setdefault("TICKERLAKE_CATALOG", f"sqlite:{ROOT / 'data' / 'tickerlake.sqlite'}")
    os.environ.setdefault("DAGSTER_HOME", str(ROOT / ".dagster"))
    os.environ.setdefault("TICKERLAKE_SEC_USER_AGENT", "tickerlake demo demo@example.com")
    # Partitions span the sample, so the new-symbol backfill covers its history and the UI shows its days.
    os.environ.setdefault("TICKERLAKE_START_DATE", FIRST_DAY)
    os.environ.setdefault("TICKERLAKE_END_DATE", LAST_DAY)
    for variable, value in CRYPTO_SETTINGS.items():
        os.environ.setdefault(variable, value)
    os.environ.setdefault("TICKERLAKE_ALERT_CHANNEL", "webhook")
    # The sample's server is on this machine: no provider's rate limit applies.
    os.environ.setdefault("TICKERLAKE_PRICES_REQUESTS_PER_SECOND", "200")
    os.environ.setdefault("TICKERLAKE_PRICES_CONCURRENCY", "8")
    os.environ.setdefault("TICKERLAKE_ALERT_WEBHOOK_URL", f"{root_url}{WEBHOOK_PATH}")
    # A small model: the demo shows the training and its judgement, not a tuned model.
    os.environ.setdefault("TICKERLAKE_MODEL_MAX_EPOCHS", "12")
    os.environ.setdefault("TICKERLAKE_MODEL_PATIENCE", "3")
    return dict(os.environ)


def short_selling(env: dict[str, str]) -> float:
    """FINRA's short interest, SEC's fails-to-deliver and Nasdaq's threshold lists over the sample's
    months: the dynamic partitions (a settlement date, a half-month file) are added as their sensors add
    them, then one named run each."""
    import dagster as dg

    from assets.finra_short_interest import settlement_dates, settlements
    from assets.sec_fails import half_month_partitions
    from resources.sec_fails import HalfMonth, half_months

    first, last = dt.date.fromisoformat(FIRST_DAY), dt.date.fromisoformat(LAST_DAY)
    dates = [d.isoformat() for d in settlement_dates(first, last)]
    halves = [h.key for h in half_months(HalfMonth.containing(first), HalfMonth.containing(last))]
    instance = dg.DagsterInstance.get()
    instance.add_dynamic_partitions(settlements.name, dates)
    instance.add_dynamic_partitions(half_month_partitions.name, halves)
    return (
        dagster(SHORT_INTEREST_JOB, (dates[0], dates[-1]), env=env)
        + dagster(FAILS_JOB, (halves[0], halves[-1]), env=env)
        + dagster(THRESHOLD_JOB, (FIRST_DAY, LAST_DAY), env=env)
    )


def feature_inputs(env: dict[str, str]) -> float:
    """Cboe's index histories and CFTC's Commitments of Traders of the sample's years: the features'
    macro side (FRED comes with the reference run)."""
    years = (FIRST_DAY[:4], "2025")
    return dagster(CBOE_JOB, env=env) + dagster(COT_LEGACY_JOB, years, env=env) + dagster(COT_TFF_JOB, years, env=env)


def features(env: dict[str, str]) -> dict[str, float]:
    """The equity indicators and labels of the sample's days (after dbt: they read fct_prices_daily),
    then the feature marts again: the equity mart fills, the crypto ones have nothing new."""
    return {
        "equity indicators and labels": dagster(EQUITY_JOB, (FIRST_DAY, LAST_DAY), env=env),
        "feature marts": dagster(FEATURE_MARTS_JOB, env=env),
    }


def show_model(con: duckdb.DuckDBPyConnection, dataset: str) -> None:
    """The newest direction model's test-part scores beside the baselines' (ml.direction_models)."""
    model = queries.model_evaluation(con, dataset).row(0, named=True)
    table = Table(
        title=f"ml.direction_models: {model['version']} on {model['test_samples']:,} test sequences "
        f"({model['train_samples']:,} trained on; promoted: {model['promoted']})"
    )
    for column in ("model", "accuracy", "macro-F1"):
        table.add_column(column, justify="right")
    table.add_row("BiGRU", f"{model['accuracy']:.3f}", f"{model['macro_f1']:.3f}")
    for name in ("majority", "persistence", "boosted_trees"):
        table.add_row(name.replace("_", " "), f"{model[f'{name}_accuracy']:.3f}", f"{model[f'{name}_macro_f1']:.3f}")
    console.print(table)


def show_predictions(con: duckdb.DuckDBPyConnection, dataset: str) -> None:
    """Each pair's latest served prediction (marts.fct_direction_predictions). Without a promoted model
    nothing is served; the newest model's predictions of the newest bars are shown instead, made by the
    serving code (assets/direction_predictions.py) but not stored."""
    rows = queries.latest_predictions(con, dataset, 1000, 0).rows
    title = f"marts.fct_direction_predictions: the latest {dataset} bar of each pair"
    if rows.is_empty():
        rows = candidate_predictions(con, dataset)
        title = f"not served (no promoted {dataset} model): what the newest model predicts for the newest bars"
    rows = rows.select(PREDICTION_COLUMNS).rows()
    table = Table(title=f"{title} ({rows[0][-1]})" if rows else title)
    for column in ("pair", "bar (UTC)", "predicted", "up2", "up1", "flat", "down1", "down2"):
        table.add_column(column, justify="right")
    for instrument, bar_time, predicted, *probabilities, _ in rows:
        table.add_row(instrument, f"{bar_time:%Y-%m-%d %H:%M}", predicted, *(f"{p:.2f}" for p in probabilities))
    console.print(table)


def candidate_predictions(con: duckdb.DuckDBPyConnection, dataset: str) -> pl.DataFrame:
    """The newest registered model's predictions of each instrument's newest bar, made by the serving code
    but not stored."""
    from assets import bigru
    from assets.direction_dataset import SOURCES
    from assets.direction_predictions import PREDICTIONS, pending, predict
    from resources import artifacts
    from resources.sql import lake

    newest = queries.model_evaluation(con, dataset)
    if newest.is_empty():
        return pl.DataFrame(schema=PREDICTIONS.schema)
    model, meta = bigru.from_bytes(artifacts.read(newest["artifact"][0]))
    source = lake()
    try:
        found = pending(source, SOURCES[dataset], dataset, int(meta["window"]))
        return predict(found.bars, SOURCES[dataset], model, meta)
    finally:
        source.close()


def show_short_interest(con: duckdb.DuckDBPyConnection, symbol: str = "GME") -> None:
    rows = con.execute(
        "SELECT settlement_date, short_interest, short_interest_change_pct, finra_days_to_cover, "
        "consolidated_days_to_cover, revised, available_from FROM marts.fct_short_interest WHERE symbol = ? "
        "ORDER BY settlement_date",
        [symbol],
    ).fetchall()
    table = Table(title=f"marts.fct_short_interest: {symbol}, usable from available_from (FINRA's publication)")
    for column in ("settled", "short (M)", "change", "DTC FINRA", "DTC cons.", "rev.", "usable from"):
        table.add_column(column, justify="right", min_width=10 if column in ("settled", "usable from") else None)
    for day, short, change, finra, consolidated, revised, usable in rows:
        table.add_row(
            str(day),
            f"{short / 1e6:,.1f}",
            _num(change, "+.1%"),
            _num(finra, ".2f"),
            _num(consolidated, ".2f"),
            "R" if revised else "",
            str(usable),
        )
    console.print(table)


def show_short_panel(con: duckdb.DuckDBPyConnection, symbol: str) -> None:
    """A symbol's short-selling picture as known each evening, over 20 sessions from a few days before
    its longest run on Nasdaq's threshold list: a value shows only from its publication."""
    rows = con.execute(
        """
        SELECT trade_date, short_ratio, short_interest_settlement_date, short_interest_pct_shares,
               consolidated_days_to_cover, fails_settlement_date, fails, nasdaq_threshold_days
        FROM marts.fct_short_panel_daily
        WHERE symbol = $1 AND trade_date >= coalesce(
            (SELECT arg_max(run_start, consecutive_days) - 5 FROM marts.fct_regsho_threshold_days WHERE symbol = $1),
            (SELECT max(trade_date) - 28 FROM marts.fct_short_panel_daily))
        ORDER BY trade_date LIMIT 20
        """,
        [symbol],
    ).fetchall()
    table = Table(title=f"marts.fct_short_panel_daily: {symbol}, each day as known that evening")
    for column in ("day", "short ratio", "SI settled", "SI/shares", "DTC", "fails settled", "fails", "on list"):
        table.add_column(column, justify="right")
    for day, ratio, si_day, short, dtc, ftd_day, fails, listed in rows:
        table.add_row(
            str(day)[5:],
            _num(ratio, ".3f"),
            "-" if si_day is None else str(si_day)[5:],
            _num(short, ".1%"),
            _num(dtc, ".2f"),
            "-" if ftd_day is None else str(ftd_day)[5:],
            "-" if fails is None else f"{fails:,}",
            "-" if listed is None else str(listed),
        )
    console.print(table)


def show_deciles(con: duckdb.DuckDBPyConnection) -> None:
    cells = con.execute(
        "SELECT sorted_by, portfolio, mean_monthly_return, vw_mean_monthly_return, months "
        "FROM marts.mart_days_to_cover_deciles WHERE period = 'all'"
    ).fetchall()
    months = {sorted_by: n for sorted_by, _, _, _, n in cells}
    returns = {(sorted_by, portfolio): (ew, vw) for sorted_by, portfolio, ew, vw, _ in cells}
    table = Table(
        title="marts.mart_days_to_cover_deciles: mean next-month return by decile (1 = lowest), equal- and "
        f"value-weighted ({months.get('days_to_cover', 0)} and {months.get('short_ratio', 0)} formation months)"
    )
    table.add_column("decile", justify="right")
    signals = ("days_to_cover", "short_ratio")
    for sorted_by in signals:
        table.add_column(f"{sorted_by} EW", justify="right")
        table.add_column(f"{sorted_by} VW", justify="right")
    for portfolio in [*(str(d) for d in range(1, 11)), "low-high"]:
        cells = [returns.get((s, portfolio), (None, None)) for s in signals]
        table.add_row(
            "1 - 10" if portfolio == "low-high" else portfolio,
            *(_num(value, "+.2%") for pair in cells for value in pair),
        )
    console.print(table)


def main() -> None:
    root_url = serve_sample()
    env = demo_environment(root_url)
    console.print(f"Serving the bundled sample (FINRA, Nasdaq Trader, SEC, Yahoo, ECB, Binance) at {root_url}")

    finra_seconds = dagster(FINRA_JOB, (FIRST_DAY, LAST_DAY), env=env, progress=True)
    reference_seconds = dagster(REFERENCE_JOB, env=env)
    symbols, runs, backfill_seconds = new_symbol_backfills()
    short_seconds = short_selling(env)
    inputs_seconds = feature_inputs(env)
    crypto_seconds = run_crypto(console, _QuietHandler)
    dbt_seconds = dagster(DBT_JOB, env=env)
    feature_seconds = features(env)
    model_seconds = dagster(MODEL_JOB, env=env, partition=MODEL_PARTITION)
    serve_seconds = dagster(SERVE_JOB, env=env)
    export_seconds = dagster(EXPORTS_JOB, (FIRST_DAY, LAST_DAY), env=env)
    real_seconds = real_finra(env)
    console.print(
        f"FINRA {FIRST_DAY}..{LAST_DAY} in one run: {finra_seconds:.1f} s; reference data: {reference_seconds:.1f} s; "
        f"new-symbol backfill: {symbols} symbols in {runs} run(s), {backfill_seconds:.1f} s; "
        f"short interest and fails-to-deliver: {short_seconds:.1f} s; Cboe and CFTC: {inputs_seconds:.1f} s; "
        f"dbt: {dbt_seconds:.1f} s; "
        + "".join(f"{step}: {value:.1f} s; " for step, value in feature_seconds.items())
        + f"direction model ({MODEL_PARTITION}): {model_seconds:.1f} s; predictions: {serve_seconds:.1f} s; "
        + f"CSV exports: {export_seconds:.1f} s; FINRA's real files: {real_seconds:.1f} s; crypto: "
        + ", ".join(f"{step} {value:.1f} s" for step, value in crypto_seconds.items())
    )

    with reader() as con:
        show_results(con)
        show_short_interest(con)
        show_short_panel(con, "SOFI")  # on Nasdaq's threshold list for 15 sessions of the sample
        show_deciles(con)
        show_crypto(console, con, webhook_messages)
        show_feature_row(console, con, "fct_features_crypto_1h", "pair", "BTCUSDT")
        show_label_balance(console, con, "crypto_labels", "pair", "BTCUSDT", by="interval")
        show_feature_row(console, con, "fct_features_equity_daily", "symbol", "AAPL")
        show_label_balance(console, con, "equity_labels", "symbol", "AAPL")
        show_model(con, MODEL_PARTITION)
        show_predictions(con, MODEL_PARTITION)
    show_real_finra()
    console.print(
        "\n[bold]Next[/bold]\n"
        f"  Dagster's own log of these runs:     {DAGSTER_LOG.relative_to(ROOT)}\n"
        "  UI (asset graph, partitions, runs):  make demo-ui -> http://127.0.0.1:3000\n"
        f"  SQL (read-only, catalog {env['TICKERLAKE_CATALOG']}):\n"
        '    make sql Q="SELECT trade_date, short_volume, total_volume, short_ratio FROM '
        "marts.fct_short_volume_daily WHERE symbol = 'TSLA' ORDER BY trade_date\""
    )


if __name__ == "__main__":
    main()
