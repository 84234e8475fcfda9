"""Serving the direction model: one prediction per new bar and never two, from the promoted model only,
from data public at the bar's close, and an alert when a move's probability crosses the threshold."""

import datetime as dt
import json

import dagster as dg
import numpy as np
import polars as pl
import pytest
import torch
from pytest_httpserver import HTTPServer

from assets import bigru
from assets.direction_dataset import SOURCES
from assets.direction_model import REGISTRY, register
from assets.direction_predictions import ALERTS, PREDICTION_ASSETS, PREDICTIONS, Pending, pending, predict
from assets.labels import LABELS
from resources import artifacts
from resources.lake import LakeResource
from resources.notifier import Notifier
from tests.test_direction_dataset import MART

WINDOW = 6
FEATURES = ["rsi_14", "volume"]
START = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
[SERVE_1H] = [a for a in PREDICTION_ASSETS if a.key.path[-1] == "direction_predictions_crypto_1h"]


def store_mart(lake: LakeResource, bars: int) -> pl.DataFrame:
    """Hourly features of two pairs, the first `bars` hours of one fixed walk (the same rows whatever
    `bars` is): a later call only adds bars that closed since."""
    rng = np.random.default_rng(11)
    values = {pair: (rng.uniform(0, 100, 500), rng.lognormal(5, 1, 500)) for pair in ("BTCUSDT", "ETHUSDT")}
    times = [START + dt.timedelta(hours=h) for h in range(bars)]
    mart = pl.concat(
        pl.DataFrame(
            {
                "pair": pair,
                "open_time": times,
                "bar_close_at": [t + dt.timedelta(hours=1) for t in times],
                "rsi_14": rsi[:bars],
                "volume": volume[:bars],
                "fred_available_from": [START] * bars,
            }
        )
        for pair, (rsi, volume) in values.items()
    ).cast(MART.schema)
    lake.replace(MART, mart, where=None, allow_shrink=True)
    return mart


def registered(lake: LakeResource, version: str, promoted: bool, favour: str | None = None) -> None:
    """A model of the crypto_1h dataset in the registry: seeded random weights, or, with `favour`, a head
    that gives that class nearly all the probability whatever the input."""
    torch.manual_seed(5)
    model = bigru.BiGRU(len(FEATURES), 4)
    if favour:
        with torch.no_grad():
            model.head.weight.zero_()
            model.head.bias.copy_(torch.tensor([8.0 if label == favour else 0.0 for label in LABELS]))
    meta = {
        "dataset": "crypto_1h",
        "version": version,
        "features": FEATURES,
        "normalisation": [
            {"feature": "rsi_14", "mean": 50.0, "std": 25.0},
            {"feature": "volume", "mean": 150.0, "std": 100.0},
        ],
        "window": WINDOW,
    }
    register(lake, model, bigru.TrainConfig(hidden=4), meta, dt.datetime.now(dt.UTC), promoted)


def serve(
    lake: LakeResource, instance: dg.DagsterInstance, notifier: Notifier | None = None
) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [SERVE_1H],
        resources={"lake": lake, "notifier": notifier or Notifier()},
        instance=instance,
        raise_on_error=False,
    )


def test_each_new_bar_is_predicted_once_by_the_promoted_model(lake: LakeResource, instance: dg.DagsterInstance) -> None:
    store_mart(lake, 40)
    registered(lake, "v1", promoted=True)
    registered(lake, "v2-not-promoted", promoted=False)
    assert serve(lake, instance).success
    first = lake.read(PREDICTIONS)
    assert first.select("instrument", "bar_time").rows() == [
        ("BTCUSDT", START + dt.timedelta(hours=39)),
        ("ETHUSDT", START + dt.timedelta(hours=39)),
    ], "serving starts at each instrument's newest bar"
    assert set(first["model_version"]) == {"v1"}
    assert np.allclose(first.select(f"p_{label}" for label in LABELS).sum_horizontal().to_numpy(), 1.0)
    assert (first["predicted_at"] >= first["bar_close_at"]).all()

    store_mart(lake, 43)  # three bars closed since
    assert serve(lake, instance).success
    assert serve(lake, instance).success  # nothing new: nothing stored
    stored = lake.read(PREDICTIONS)
    assert stored.height == 2 * 4 and stored.select("instrument", "bar_time").is_unique().all()
    assert stored.filter(pl.col("instrument") == "BTCUSDT")["bar_time"].to_list() == [
        START + dt.timedelta(hours=h) for h in range(39, 43)
    ]
    assert first.equals(stored.filter(pl.col("bar_time") == START + dt.timedelta(hours=39))), "never rewritten"


def test_without_a_promoted_model_nothing_is_predicted(lake: LakeResource, instance: dg.DagsterInstance) -> None:
    store_mart(lake, 40)
    registered(lake, "v1", promoted=False)
    result = serve(lake, instance)
    assert result.success
    assert lake.read(PREDICTIONS).is_empty()
    [materialization] = result.asset_materializations_for_node("ml__direction_predictions_crypto_1h")
    assert materialization.metadata["model_version"].value == "none promoted"


def test_a_prediction_uses_only_bars_public_at_its_close(lake: LakeResource, instance: dg.DagsterInstance) -> None:
    """Each stored prediction is recomputed from the mart cut at its bar's close (nothing after it
    exists): a prediction that had read a later bar would differ."""
    store_mart(lake, 40)
    registered(lake, "v1", promoted=True)
    assert serve(lake, instance).success
    full = store_mart(lake, 50)
    assert serve(lake, instance).success
    model, meta = bigru.from_bytes(artifacts.read(lake.read(REGISTRY)["artifact"][0]))
    for row in lake.read(PREDICTIONS).iter_rows(named=True):
        cut = full.filter(pl.col("pair") == row["instrument"], pl.col("bar_close_at") <= row["bar_close_at"])
        bars = cut.with_columns((pl.col("open_time") == row["bar_time"]).alias("to_predict"))
        [again] = predict(bars, SOURCES["crypto_1h"], model, meta).iter_rows(named=True)
        assert [again[f"p_{label}"] for label in LABELS] == pytest.approx([row[f"p_{label}"] for label in LABELS])


def test_the_pending_bars_are_the_new_ones_and_their_windows(lake: LakeResource, instance: dg.DagsterInstance) -> None:
    store_mart(lake, 40)
    registered(lake, "v1", promoted=True)
    assert serve(lake, instance).success
    store_mart(lake, 42)
    found: Pending = pending(lake, SOURCES["crypto_1h"], "crypto_1h", WINDOW)
    btc = found.bars.filter(pl.col("pair") == "BTCUSDT")
    assert btc["open_time"].to_list() == [START + dt.timedelta(hours=h) for h in range(40 - WINDOW + 1, 42)]
    assert btc.filter("to_predict")["open_time"].to_list() == [START + dt.timedelta(hours=h) for h in (40, 41)]
    assert found.previous["last_close"].to_list() == [START + dt.timedelta(hours=40)] * 2


def test_a_missing_feature_names_the_model_and_the_columns(lake: LakeResource, instance: dg.DagsterInstance) -> None:
    store_mart(lake, 40)
    registered(lake, "v1", promoted=True)
    with lake.connect(read_only=False) as con:
        con.execute(f"ALTER TABLE {MART.table} DROP COLUMN volume")
    result = serve(lake, instance)
    failure = next(e for e in result.all_events if e.is_step_failure).step_failure_data.error.message
    assert "marts.fct_features_crypto_1h lacks features model v1 was trained on: ['volume']" in failure


def test_a_crossing_alerts_once_and_an_undelivered_alert_is_retried(
    lake: LakeResource, instance: dg.DagsterInstance, httpserver: HTTPServer
) -> None:
    webhook = Notifier(
        channel="webhook", webhook_url=httpserver.url_for("/hooks/alerts"), retry_attempts=1, max_retry_wait_seconds=0.1
    )
    store_mart(lake, 40)
    registered(lake, "v1", promoted=True, favour="up2")
    httpserver.expect_request("/hooks/alerts").respond_with_data("down", status=503)
    failed = serve(lake, instance, webhook)
    assert not failed.success, "an alert not delivered fails the run"
    assert lake.read(PREDICTIONS).height == 2, "the predictions are stored all the same"
    assert lake.read(ALERTS)["sent_at"].is_null().all() and lake.read(ALERTS).height == 2

    httpserver.clear()
    httpserver.expect_request("/hooks/alerts").respond_with_data("", status=200)
    store_mart(lake, 41)
    assert serve(lake, instance, webhook).success
    payloads = [json.loads(request.get_data()) for request, _ in httpserver.log]
    assert sorted(p["pair"] for p in payloads) == ["BTCUSDT", "ETHUSDT"], "the retried two; bar 41 did not cross"
    assert {p["rule"] for p in payloads} == {"direction_up2"} and payloads[0]["value"] > 0.8
    messages = " ".join(p["message"] for p in payloads)
    assert "BTCUSDT 1h: the direction model gives up2 a probability of" in messages
    assert lake.read(ALERTS)["sent_at"].is_not_null().all()

    registered(lake, "v3", promoted=True, favour="flat")  # up2 falls below ...
    store_mart(lake, 42)
    assert serve(lake, instance, webhook).success
    registered(lake, "v4", promoted=True, favour="up2")  # ... and crosses again
    store_mart(lake, 43)
    assert serve(lake, instance, webhook).success
    alerts = lake.read(ALERTS).sort("pair", "bar_open_time")
    assert alerts.height == 4 and len(httpserver.log) == 4
    assert alerts.filter(pl.col("pair") == "BTCUSDT")["bar_open_time"].to_list() == [
        START + dt.timedelta(hours=39),
        START + dt.timedelta(hours=42),
    ]
