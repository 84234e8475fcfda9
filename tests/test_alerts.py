"""Alert rules: parsing, their table in the lake and its edits, evaluation on closed bars, delivery once
to a Telegram-format endpoint and a JSON webhook on a local server (each rule on its own channel),
retries of undelivered firings, and the sensor that follows top-ups."""

import dataclasses
import datetime as dt
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
from pytest_httpserver import HTTPServer

from assets.alert_rules import (
    RULES,
    AlertRule,
    AlertRulesError,
    add_rules,
    delete_rule,
    load_rules_file,
    set_paused,
    stored_rules,
)
from assets.alerts import DATASET, crypto_alerts, evaluate, pair_market_cap_ranks
from assets.binance import UNIVERSE_DATASET
from assets.coingecko import MARKETS_DATASET
from assets.indicators import DATASET as INDICATORS_DATASET
from assets.indicators import INDICATORS_SCHEMA, crypto_indicators
from assets.technicals import indicators
from resources.lake import LakeResource
from resources.notifier import Notifier
from sensors.alerts import crypto_alerts_sensor
from tests.helpers import ROOT
from tests.test_td_sequential import QUALIFIER

UTC = dt.UTC
TOKEN = "123456:SECRET-bot-token"


def bars(rsi: list[float], closed: int | None = None, pair: str = "BTCUSDT") -> pl.DataFrame:
    """Hourly indicator rows with the given RSI path; the last bar is open unless `closed` says otherwise."""
    start = dt.datetime(2025, 1, 8, tzinfo=UTC)
    n = len(rsi)
    closed = n - 1 if closed is None else closed
    frame = pl.DataFrame(
        {
            "pair": [pair] * n,
            "interval": ["1h"] * n,
            "open_time": [start + dt.timedelta(hours=h) for h in range(n)],
            "is_closed": [h < closed for h in range(n)],
            "close": [100.0 + h for h in range(n)],
            "rsi_14": rsi,
            "s1": [101.5] * n,
            "td_buy_setup": [min(h, 9) for h in range(n)],
        }
    )
    missing = [pl.lit(None, dtype).alias(c) for c, dtype in INDICATORS_SCHEMA.items() if c not in frame.columns]
    return frame.with_columns(missing).cast(INDICATORS_SCHEMA).select(list(INDICATORS_SCHEMA))


def rules_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "alerts.yaml"
    path.write_text(text)
    return path


RULES_YAML = """
rules:
  - {name: rsi-oversold, interval: 1h, series: rsi_14, crosses_below: 30}
  - {name: td-nine, interval: 1h, series: td_buy_setup, equals: 9}
  - {name: below-support, interval: 1h, series: close, crosses_above: s1, pairs: [ETHUSDT]}
"""


def test_crossings_fire_on_closed_bars_only(tmp_path: Path) -> None:
    rules = load_rules_file(rules_file(tmp_path, RULES_YAML))
    eth = bars([40, 25, 29], closed=3, pair="ETHUSDT")
    frame = pl.concat([bars([45, 35, 29, 25, 31, 28, 20]), eth], how="diagonal")
    fired = evaluate(rules, frame)
    oversold = fired.filter(pl.col("rule") == "rsi-oversold")
    # BTC crosses at hours 2 and 5; hour 6 is still open. ETH crosses at hour 1.
    assert oversold.sort("pair", "bar_open_time").select("pair", pl.col("bar_open_time").dt.hour()).rows() == [
        ("BTCUSDT", 2),
        ("BTCUSDT", 5),
        ("ETHUSDT", 1),
    ]
    assert oversold["threshold"].unique().to_list() == [30.0]
    assert fired.filter(pl.col("rule") == "td-nine").height == 0  # never reaches 9 on closed bars
    support = fired.filter(pl.col("rule") == "below-support")
    assert support["pair"].to_list() == ["ETHUSDT"] and support["bar_open_time"].dt.hour().to_list() == [2]
    assert fired["alert_id"].is_unique().all()
    assert oversold.sort("pair")["message"][0] == (
        "BTCUSDT 1h rsi-oversold: rsi_14 crosses below 30 (rsi_14 = 29.0) on the bar of 2025-01-08 02:00 UTC"
    )


def test_the_look_back_keeps_history_from_firing(tmp_path: Path) -> None:
    rules = load_rules_file(rules_file(tmp_path, RULES_YAML))
    fired = evaluate(rules, bars([45, 29, 45, 45, 45, 29, 45, 50]), lookback_hours=2)
    assert fired["bar_open_time"].dt.hour().to_list() == [5]


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("{name: x, interval: 5m, series: rsi_14, crosses_below: 30}", "rule 1: needs interval: one of"),
        ("{name: x, interval: 1h, series: rsi_99, crosses_below: 30}", "rule 1: needs series"),
        ("{name: x, interval: 1h, series: rsi_14}", "rule 1: needs exactly one of"),
        ("{name: x, interval: 1h, series: rsi_14, crosses_below: '1; DROP TABLE'}", "rule 1: needs threshold"),
        ("{name: x, interval: 1h, series: rsi_14, crosses_below: true}", "rule 1: needs threshold"),
        ("{name: x, interval: 1h, series: rsi_14, below: 30, max_market_cap_rank: 0}", "max_market_cap_rank: a"),
        ("{name: x, interval: 1h, series: rsi_14, below: 30, max_market_cap_rank: top}", "max_market_cap_rank: a"),
        ("{name: x, interval: 1h, series: rsi_14, below: 30, channel: email}", "needs channel: one of"),
        ("{name: x, interval: 1h, series: rsi_14, below: 30, pairs: ['BTC/USDT']}", "needs pairs: \\* for all"),
        ("{name: x, interval: 1h, series: rsi_14, below: 30, pairs: []}", "needs pairs"),
        ("{name: ' ', interval: 1h, series: rsi_14, below: 30}", "needs name"),
        ("{name: 'a|b', interval: 1h, series: rsi_14, below: 30}", "needs name: 1 to 64 letters"),
        ("{name: x, interval: 1h, series: rsi_14, below: .nan}", "needs threshold"),
        ("{name: x, interval: 1h, series: rsi_14, below: .inf}", "needs threshold"),
        ("{name: x, interval: 1h, series: rsi_14, below: 30, max_market_cap_rank: 100000000000000000000}", "1..10000"),
        ("{name: x, interval: 1h, series: rsi_14, below: 30, paused: 'false'}", "needs paused: true or false"),
    ],
)
def test_bad_rules_are_refused_naming_the_rule_and_the_field(tmp_path: Path, rule: str, message: str) -> None:
    with pytest.raises(AlertRulesError, match=message):
        load_rules_file(rules_file(tmp_path, f"rules:\n  - {rule}\n"))


def test_a_rules_file_holds_rules_only_and_a_single_pair_may_be_named(tmp_path: Path) -> None:
    with pytest.raises(AlertRulesError, match="TICKERLAKE_ALERT_LOOKBACK_HOURS"):
        load_rules_file(rules_file(tmp_path, f"lookback_hours: 24\n{RULES_YAML}"))
    one = "rules:\n  - {name: one, interval: 1d, series: close, above: 1, pairs: ethusdt}\n"
    rules = load_rules_file(rules_file(tmp_path, one))
    assert rules[0].pairs == ("ETHUSDT",) and rules[0].threshold == 1.0


def test_rules_are_stored_paused_and_deleted_in_the_lake_keeping_history(tmp_path: Path, lake: LakeResource) -> None:
    rules = load_rules_file(rules_file(tmp_path, RULES_YAML))
    add_rules(lake, rules)
    assert stored_rules(lake) == sorted(rules, key=lambda rule: rule.name)  # every field comes back as stored
    with pytest.raises(AlertRulesError, match="name: a rule named 'td-nine' exists already"):
        add_rules(lake, [AlertRule("new-one", "1h", "rsi_14", "above", 70.0), rules[1]])
    assert "new-one" not in {rule.name for rule in stored_rules(lake)}, "a refused edit stores nothing"

    set_paused(lake, "td-nine", True)
    assert {rule.name: rule.paused for rule in stored_rules(lake)} == {
        "below-support": False,
        "rsi-oversold": False,
        "td-nine": True,
    }
    delete_rule(lake, "below-support")
    assert [rule.name for rule in stored_rules(lake)] == ["rsi-oversold", "td-nine"]
    for edit in (lambda: delete_rule(lake, "below-support"), lambda: set_paused(lake, "nope", False)):
        with pytest.raises(AlertRulesError, match="name: no rule named"):
            edit()
    history = lake.read(RULES.history)
    assert sorted(history.select("name", "paused").rows()) == [("below-support", False), ("td-nine", False)]


def test_a_paused_rule_does_not_fire(tmp_path: Path) -> None:
    rules = [rule for rule in load_rules_file(rules_file(tmp_path, RULES_YAML)) if rule.name == "rsi-oversold"]
    frame = bars([45, 29, 45])
    assert evaluate(rules, frame).height == 1
    paused = [dataclasses.replace(rules[0], paused=True)]
    assert evaluate(paused, frame).is_empty()


def test_a_rank_filter_watches_only_the_pairs_of_top_coins(tmp_path: Path) -> None:
    rules = load_rules_file(
        rules_file(
            tmp_path, "rules:\n  - {name: top-1, interval: 1h, series: rsi_14, below: 30, max_market_cap_rank: 1}\n"
        )
    )
    frame = pl.concat([bars([25, 45]), bars([25, 45], pair="ETHUSDT"), bars([25, 45], pair="DOGEUSDT")])
    fired = evaluate(rules, frame, {"BTCUSDT": 1, "ETHUSDT": 2})
    assert fired["pair"].to_list() == ["BTCUSDT"]  # ETH ranks 2nd; DOGE has no coin in the snapshot
    assert evaluate(rules, frame, {}).is_empty()


def test_the_pairs_ranks_come_from_the_newest_snapshots_and_skip_a_shared_symbol(lake: LakeResource) -> None:
    day = dt.date(2025, 3, 4)
    coins = pl.DataFrame(
        {"snapshot_date": [day] * 4, "position": [1, 2, 3, 4], "market_cap_rank": [1, 2, 6, 7]},
        schema_overrides={"position": pl.Int32(), "market_cap_rank": pl.Int32()},
    ).with_columns(
        coin_id=pl.Series(["bitcoin", "ethereum", "solana", "sol-impostor"]),
        symbol=pl.Series(["btc", "eth", "sol", "sol"]),
        name=pl.Series(["Bitcoin", "Ethereum", "Solana", "Impostor"]),
    )
    lake.replace(
        MARKETS_DATASET,
        coins.select(
            pl.col(c) if c in coins.columns else pl.lit(None, t).alias(c) for c, t in MARKETS_DATASET.schema.items()
        ),
        where={"snapshot_date": day},
    )
    universe = pl.DataFrame(
        [
            (day, 1, "BTCUSDT", "USDT", 1.0, 1),
            (day, 2, "ETHBTC", "BTC", 1.0, 1),
            (day, 3, "SOLUSDT", "USDT", 1.0, 1),
            (day, 4, "DOGEUSDT", "USDT", 1.0, 1),
        ],
        schema=UNIVERSE_DATASET.schema,
        orient="row",
    )
    lake.replace(UNIVERSE_DATASET, universe, where={"snapshot_date": day})
    assert pair_market_cap_ranks(lake) == {"BTCUSDT": 1, "ETHBTC": 2}


@pytest.fixture
def alert_env(tmp_path: Path, lake: LakeResource) -> LakeResource:
    add_rules(lake, load_rules_file(rules_file(tmp_path, RULES_YAML)))
    lake.replace(INDICATORS_DATASET, bars([45, 35, 29, 25, 31, 28, 20]), where={"pair": "BTCUSDT"})
    return lake


def run_alerts(lake: LakeResource, notifier: Notifier, instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [crypto_alerts], resources={"lake": lake, "notifier": notifier}, instance=instance, raise_on_error=False
    )


def telegram(httpserver: HTTPServer) -> Notifier:
    return Notifier(
        channel="telegram",
        telegram_api_url=httpserver.url_for("/").rstrip("/"),
        telegram_bot_token=TOKEN,
        telegram_chat_id="-1001",
        retry_attempts=2,
        max_retry_wait_seconds=0.1,
    )


def test_each_firing_is_sent_once_in_telegram_format(
    alert_env: LakeResource, httpserver: HTTPServer, instance: dg.DagsterInstance
) -> None:
    httpserver.expect_request(f"/bot{TOKEN}/sendMessage", method="POST").respond_with_json(
        {"ok": True, "result": {"message_id": 1}}
    )
    assert run_alerts(alert_env, telegram(httpserver), instance).success
    sent = [json.loads(request.get_data()) for request, _ in httpserver.log]
    assert [m["chat_id"] for m in sent] == ["-1001", "-1001"]
    assert "rsi-oversold" in sent[0]["text"] and "2025-01-08 02:00" in sent[0]["text"]
    assert alert_env.read(DATASET).height == 2

    again = run_alerts(alert_env, telegram(httpserver), instance)
    assert again.success
    assert len(httpserver.log) == 2  # nothing new: nothing sent again
    assert alert_env.read(DATASET).height == 2
    metadata = again.asset_materializations_for_node("crypto__crypto_alerts")[0].metadata
    assert metadata["dagster/row_count"].value == 2 and metadata["sent_this_run"].value == 0, "rows stored"


def test_an_undelivered_firing_is_retried_next_time_and_the_token_never_shows(
    alert_env: LakeResource, httpserver: HTTPServer, instance: dg.DagsterInstance, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    httpserver.expect_request(f"/bot{TOKEN}/sendMessage").respond_with_data("down", status=503)
    result = run_alerts(alert_env, telegram(httpserver), instance)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure).step_failure_data.error
    assert "2 alerts not delivered" in failure.message and "Telegram sendMessage" in failure.message
    records = instance.all_logs(result.run_id)
    ours = [r.getMessage() for r in caplog.records if r.name != "werkzeug"]  # werkzeug is the server's side
    assert any("sendMessage" in message for message in ours)  # httpx did log the request, redacted
    everything = json.dumps([r.user_message for r in records]) + failure.to_string() + json.dumps(ours)
    assert TOKEN not in everything and "SECRET" not in everything
    assert alert_env.read(DATASET).is_empty()

    httpserver.clear()
    httpserver.expect_request(f"/bot{TOKEN}/sendMessage").respond_with_json({"ok": True})
    assert run_alerts(alert_env, telegram(httpserver), instance).success
    assert alert_env.read(DATASET).height == 2


def test_a_telegram_refusal_is_an_error(
    alert_env: LakeResource, httpserver: HTTPServer, instance: dg.DagsterInstance
) -> None:
    httpserver.expect_request(f"/bot{TOKEN}/sendMessage").respond_with_json(
        {"ok": False, "description": "Bad Request: chat not found"}
    )
    result = run_alerts(alert_env, telegram(httpserver), instance)
    failure = next(e for e in result.all_events if e.is_step_failure).step_failure_data.error.message
    assert "chat not found" in failure


def test_the_generic_webhook_gets_the_firing_as_json(
    alert_env: LakeResource, httpserver: HTTPServer, instance: dg.DagsterInstance
) -> None:
    httpserver.expect_request("/hooks/alerts", method="POST").respond_with_data("", status=200)
    notifier = Notifier(channel="webhook", webhook_url=httpserver.url_for("/hooks/alerts"))
    assert run_alerts(alert_env, notifier, instance).success
    payloads = [json.loads(request.get_data()) for request, _ in httpserver.log]
    assert {p["rule"] for p in payloads} == {"rsi-oversold"} and {p["pair"] for p in payloads} == {"BTCUSDT"}
    assert payloads[0]["value"] < 30 and payloads[0]["threshold"] == 30
    assert set(alert_env.read(DATASET)["channel"]) == {"webhook"}, "stored with where it went"


def test_a_rule_with_its_own_channel_goes_there_and_a_paused_one_is_not_evaluated(
    alert_env: LakeResource, httpserver: HTTPServer, instance: dg.DagsterInstance
) -> None:
    """The notifier's default channel is none; one rule sends to the webhook, another keeps the default."""
    httpserver.expect_request("/hooks/alerts", method="POST").respond_with_data("", status=200)
    set_paused(alert_env, "rsi-oversold", True)
    add_rules(
        alert_env,
        [
            AlertRule("loud", "1h", "rsi_14", "crosses_below", 30.0, channel="webhook"),
            AlertRule("quiet", "1h", "rsi_14", "crosses_below", 30.0),
        ],
    )
    notifier = Notifier(channel="none", webhook_url=httpserver.url_for("/hooks/alerts"))
    assert run_alerts(alert_env, notifier, instance).success
    payloads = [json.loads(request.get_data()) for request, _ in httpserver.log]
    assert {(p["rule"], p["channel"]) for p in payloads} == {("loud", "webhook")} and len(payloads) == 2
    stored = alert_env.read(DATASET)
    assert sorted(set(stored.select("rule", "channel").rows())) == [("loud", "webhook"), ("quiet", "none")]
    assert "rsi-oversold" not in set(stored["rule"]), "the paused rule fired nothing"


def test_the_sensor_asks_for_one_evaluation_per_indicators_update(
    lake: LakeResource, instance: dg.DagsterInstance
) -> None:
    def indicators_update() -> None:
        assert dg.materialize([crypto_indicators], resources={"lake": lake}, instance=instance).success

    def tick(cursor: str | None) -> tuple[list[dg.RunRequest], str | None]:
        definitions = dg.Definitions(
            assets=[crypto_indicators, crypto_alerts],
            sensors=[crypto_alerts_sensor],
            resources={"lake": lake, "notifier": Notifier()},
        )
        with dg.build_sensor_context(instance=instance, cursor=cursor, definitions=definitions) as context:
            answers = list(crypto_alerts_sensor(context) or [])
            return [a for a in answers if isinstance(a, dg.RunRequest)], context.cursor

    indicators_update()
    first, cursor = tick(None)
    assert len(first) == 1
    again, cursor = tick(cursor)
    assert again == []
    indicators_update()
    second, _ = tick(cursor)
    assert len(second) == 1 and second[0].run_key != first[0].run_key


def test_td_rules_fire_once_per_setup_and_countdown(tmp_path: Path) -> None:
    """On the hand-checked bars of tests/test_td_sequential.py the setup runs 1..16 (no second 9), the
    13 is deferred once and then completes, and the setup is perfected on its 9: one firing each."""
    start = dt.datetime(2025, 1, 8, tzinfo=UTC)
    n = len(QUALIFIER)
    prices = pl.DataFrame({"close": [float(c) for c in QUALIFIER]}).with_columns(
        (pl.col("close") + 1).alias("high"), (pl.col("close") - 1).alias("low"), pl.lit(1.0).alias("volume")
    )
    frame = indicators(prices).with_columns(
        pl.lit("BTCUSDT").alias("pair"),
        pl.lit("1h").alias("interval"),
        pl.Series("open_time", [start + dt.timedelta(hours=h) for h in range(n)]),
        pl.lit(True).alias("is_closed"),
    )
    frame = frame.with_columns(
        pl.lit(None, dtype).alias(c) for c, dtype in INDICATORS_SCHEMA.items() if c not in frame.columns
    ).select(list(INDICATORS_SCHEMA))
    rules = load_rules_file(
        rules_file(
            tmp_path,
            """
rules:
  - {name: nine, interval: 1h, series: td_buy_setup, equals: 9}
  - {name: thirteen, interval: 1h, series: td_buy_countdown, equals: 13}
  - {name: perfected, interval: 1h, series: td_buy_perfected, equals: 1}
  - {name: deferred, interval: 1h, series: td_buy_countdown_deferred, equals: 1}
""",
        )
    )
    fired = evaluate(rules, frame.cast(INDICATORS_SCHEMA), lookback_hours=100)
    names = [rule.name for rule in rules]
    bar = (pl.col("bar_open_time") - start).dt.total_hours()
    hours = {name: fired.filter(pl.col("rule") == name).select(bar).to_series().to_list() for name in names}
    assert hours == {"nine": [13], "thirteen": [28], "perfected": [13], "deferred": [27]}


def test_a_rules_file_is_imported_once_and_a_bad_one_stores_nothing(tmp_path: Path, lake: LakeResource) -> None:
    """`make alert-rules-import`: the demo's file goes in whole; again, it is refused naming the rule; a
    file with one bad rule stores none of its rules."""
    command = [sys.executable, str(ROOT / "platform" / "import_alert_rules.py")]
    sample = ROOT / "sample" / "alert_rules.yaml"
    first = subprocess.run([*command, str(sample)], capture_output=True, text=True, env=os.environ)
    assert first.returncode == 0, first.stderr
    names = sorted(rule.name for rule in load_rules_file(sample))
    assert f"{len(names)} alert rules stored" in first.stdout
    assert sorted(rule.name for rule in stored_rules(lake)) == names
    again = subprocess.run([*command, str(sample)], capture_output=True, text=True, env=os.environ)
    assert again.returncode == 1 and "exists already" in again.stderr
    bad = rules_file(tmp_path, "rules:\n  - {name: ok, interval: 1h, series: rsi_14, above: 70}\n  - {name: x}\n")
    refused = subprocess.run([*command, str(bad)], capture_output=True, text=True, env=os.environ)
    assert refused.returncode == 1 and "rule 2: needs exactly one of" in refused.stderr
    assert "ok" not in {rule.name for rule in stored_rules(lake)}
