"""The crypto part of `make demo`: CoinGecko's top coins, universe, new-pair backfill, top-up, indicators
and alerts.

Runs in process against the local instance (DAGSTER_HOME), as the daemon would: the new-pair sensor
and the top-up schedule are evaluated, and the runs they ask for are executed. The sample's world
ends on 2025-01-08 12:00 UTC (TICKERLAKE_CRYPTO_END_DATE), when its REST tail was taken.
"""

import datetime
import sys
import time
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
from binance_api import DepthReplay
from rich.console import Console
from rich.table import Table

from assets.alert_rules import add_rules, load_rules_file, stored_rules
from resources.lake import LakeResource

ROOT = Path(__file__).resolve().parent.parent
ALERT_RULES = ROOT / "sample" / "alert_rules.yaml"
# The order books the demo snapshots: the recording's last minutes (sample/make_binance_depth_sample.py),
# inside the last closed hour of the sample's klines, so its features show them.
ORDER_BOOK_FROM = datetime.datetime(2025, 1, 8, 11, 45, tzinfo=datetime.UTC)
ORDER_BOOK_MINUTES = 15
FIRST_DAY, LAST_DAY = "2024-12-01", "2025-01-08"
SETTINGS = {
    "TICKERLAKE_CRYPTO_START_DATE": FIRST_DAY,
    "TICKERLAKE_CRYPTO_END_DATE": LAST_DAY,
    "TICKERLAKE_CRYPTO_TOP_N": "3",
    # The recorded top 30 by market cap holds dogecoin 9th, whose pair the klines sample lacks: the top 8
    # add no pair beyond the sample's. The sample server has no rate limit to honour.
    "TICKERLAKE_COINGECKO_TOP_N": "8",
    "TICKERLAKE_COINGECKO_REQUESTS_PER_MINUTE": "6000",
}
# The named jobs of the definitions the crypto steps run (the universe and top-up schedules', the new-pair
# sensor's, the indicators' and the alerts' jobs): the UI's Runs page lists each run under its job.
COINGECKO_JOB, UNIVERSE_JOB, HISTORY_JOB, TOPUP_JOB, INDICATORS_JOB, ALERTS_JOB = JOBS = (
    "coingecko_daily",
    "crypto_universe_daily",
    "crypto_klines_history_backfill",
    "crypto_topup",
    "crypto_indicators_update",
    "crypto_alerts_job",
)


def _definitions() -> dg.Definitions:
    sys.path.insert(0, str(ROOT / "platform"))
    from definitions import defs

    return defs


def _run(defs: dg.Definitions, job: str, instance: dg.DagsterInstance, tags: dict | None = None) -> None:
    """A run of the named job, as its schedule or sensor would launch it (the UI lists it under its name)."""
    result = defs.resolve_job_def(job).execute_in_process(
        instance=instance,
        tags=tags or {},
        run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
        raise_on_error=False,
    )
    if not result.success:
        raise SystemExit(f"demo: the run of {job} failed")


def order_books(defs: dg.Definitions, instance: dg.DagsterInstance, handler: type) -> None:
    """The every-minute schedule's runs for ORDER_BOOK_MINUTES ticks, in order, as the daemon would
    launch them, against the server's replay of the recorded books (binance_api.DepthReplay): each
    recorded book is stored under the minute it was recorded at."""
    from assets.binance_depth import SCHEDULED_TAGS
    from sensors.binance_depth import JOB_NAME, crypto_order_book_schedule

    handler.depth = DepthReplay(first_minute=ORDER_BOOK_FROM)
    for minute in range(ORDER_BOOK_MINUTES):
        tick = ORDER_BOOK_FROM + datetime.timedelta(minutes=minute)
        with dg.build_schedule_context(instance=instance, scheduled_execution_time=tick) as context:
            request = crypto_order_book_schedule(context)
        tags = {**request.tags, "dagster/partition": request.partition_key, SCHEDULED_TAGS[0]: tick.isoformat()}
        _run(defs, JOB_NAME, instance, tags)


def run_crypto(console: Console, handler: type) -> dict[str, float]:
    """Every crypto step, timed; returns seconds per step. `handler` is the sample server's request
    handler class, whose order-book replay the order-book step sets."""
    from sensors.binance import crypto_topup_schedule, new_pairs_sensor

    defs = _definitions()
    instance = dg.DagsterInstance.get()
    seconds: dict[str, float] = {}

    started = time.perf_counter()
    _run(defs, COINGECKO_JOB, instance)
    seconds["CoinGecko top coins and metadata"] = time.perf_counter() - started

    started = time.perf_counter()
    _run(defs, UNIVERSE_JOB, instance)
    with dg.build_sensor_context(instance=instance, resources={"lake": defs.resources["lake"]}) as context:
        result = new_pairs_sensor(context)
    if isinstance(result, dg.SensorResult):
        for request in result.dynamic_partitions_requests:
            instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
        for request in result.run_requests:
            _run(defs, HISTORY_JOB, instance, request.tags)
        seconds["new-pair archive backfill"] = time.perf_counter() - started
        console.print(
            f"new-pair sensor: {len(result.dynamic_partitions_requests[0].partition_keys)} pairs, "
            f"{len(result.run_requests)} backfill run(s)"
        )
    else:
        console.print(f"new-pair sensor: {result.skip_message}")

    started = time.perf_counter()
    now = datetime.datetime.now(datetime.UTC)
    with dg.build_schedule_context(instance=instance, scheduled_execution_time=now) as context:
        topup = crypto_topup_schedule(context)
    _run(defs, TOPUP_JOB, instance, topup.tags)
    seconds["top-up (REST)"] = time.perf_counter() - started

    started = time.perf_counter()
    order_books(defs, instance, handler)
    seconds[f"order books ({ORDER_BOOK_MINUTES} minutes)"] = time.perf_counter() - started

    started = time.perf_counter()
    _run(defs, INDICATORS_JOB, instance)
    seconds["indicators"] = time.perf_counter() - started

    started = time.perf_counter()
    import_alert_rules(defs.resources["lake"])
    _run(defs, ALERTS_JOB, instance)
    seconds["alerts"] = time.perf_counter() - started
    return seconds


def import_alert_rules(lake: LakeResource) -> None:
    """The demo's rules into the lake's rule table, as `make alert-rules-import` stores a file; the
    ones stored by an earlier demo on this lake are kept as they are."""
    stored = {rule.name for rule in stored_rules(lake)}
    add_rules(lake, [rule for rule in load_rules_file(ALERT_RULES) if rule.name not in stored])


def show_coins(console: Console, con: duckdb.DuckDBPyConnection) -> None:
    coins = con.sql(
        "SELECT market_cap_rank, coin_id, symbol, market_cap_usd, binance_pairs, categories, github_stars "
        "FROM marts.dim_coins WHERE in_top_n ORDER BY market_cap_rank"
    ).pl()
    table = Table(title="dim_coins: CoinGecko's top coins by market cap (the recorded answer of 2025-03-04)")
    for column in ("rank", "coin", "symbol", "market cap (USD bn)", "Binance pairs", "categories"):
        table.add_column(column, justify="right" if column in ("rank", "market cap (USD bn)") else "left")
    for row in coins.iter_rows(named=True):
        table.add_row(
            str(row["market_cap_rank"]),
            row["coin_id"],
            row["symbol"],
            f"{row['market_cap_usd'] / 1e9:,.1f}",
            ", ".join(row["binance_pairs"] or []),
            ", ".join(row["categories"] or []),
        )
    console.print(table)


def show_crypto(console: Console, con: duckdb.DuckDBPyConnection, webhook_messages: list[dict]) -> None:
    show_coins(console, con)
    indicators = con.sql("SELECT * FROM raw.crypto_indicators").pl()
    latest = (
        indicators.filter(pl.col("interval") == "1h", pl.col("is_closed"))
        .sort("open_time")
        .group_by("pair", maintain_order=True)
        .last()
        .sort("pair")
    )
    day = latest["open_time"].max()
    table = Table(title=f"crypto_indicators: each pair's latest closed 1h bar, {day:%Y-%m-%d} UTC")
    for column in ("pair", "bar", "close", "RSI14", "%K/%D", "ATR14", "TD b/s", "S1"):
        table.add_column(column, justify="right", no_wrap=True)
    for row in latest.iter_rows(named=True):
        table.add_row(
            row["pair"],
            f"{row['open_time']:%H:%M}",
            f"{row['close']:.2f}",
            f"{row['rsi_14']:.1f}",
            f"{row['stoch_k']:.0f}/{row['stoch_d']:.0f}",
            f"{row['atr_14']:.2f}",
            f"{row['td_buy_setup']}/{row['td_sell_setup']}",
            f"{row['s1']:.2f}",
        )
    console.print(table)
    alerts = con.sql("SELECT * FROM raw.crypto_alerts").pl()
    console.print(
        f"[bold]alerts fired on the sample[/bold] (sample/alert_rules.yaml): {alerts.height}, "
        f"{len(webhook_messages)} delivered to the demo's JSON webhook"
    )
    for message in alerts.sort("bar_open_time")["message"].to_list() if alerts.height else []:
        console.print(f"  {message}")
