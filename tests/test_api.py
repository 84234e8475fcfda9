"""The read-only HTTP API on a small lake: every endpoint's answer, its paging and CSV, and every error
a 4xx naming the parameter; the token guard; no route that writes."""

import csv
import datetime as dt
import io
from collections.abc import Iterator

import numpy as np
import polars as pl
import pytest
from fastapi.testclient import TestClient

from assets.alerts import DATASET as CRYPTO_ALERTS
from assets.direction_model import REGISTRY
from assets.direction_predictions import ALERTS as DIRECTION_ALERTS
from assets.technicals import INDICATOR_SCHEMA
from resources.lake import Dataset, LakeResource
from resources.sql import reader
from web.api import create_app

LAST = dt.date(2024, 7, 12)
DAYS = [LAST - dt.timedelta(days=n) for n in range(59, -1, -1)]
UTC = dt.UTC


def mart(name: str, schema: dict[str, pl.DataType]) -> Dataset:
    return Dataset(name, schema, schema_name="marts")


def store(lake: LakeResource) -> None:
    """Three symbols: AAA swings hard all along, BBB is calm but for its last 10 days, CCC (London) calm."""
    rng = np.random.default_rng(1)
    scale = {"AAA": [0.05] * 60, "BBB": [0.002] * 50 + [0.1] * 10, "CCC": [0.004] * 60}
    prices = pl.concat(
        pl.DataFrame({"symbol": symbol, "trade_date": DAYS, "daily_return_usd": rng.normal(0, 1, 60) * np.array(s)})
        for symbol, s in scale.items()
    )
    lake.replace(mart("fct_prices_daily", dict(prices.schema)), prices)
    symbols = pl.DataFrame(
        {
            "symbol": ["AAA", "BBB", "CCC"],
            "market": ["XNYS", "XNYS", "XLON"],
            "ff12_industry": ["Money", "Other", "Money"],
        }
    )
    lake.replace(mart("dim_symbols", dict(symbols.schema)), symbols)
    panel = pl.DataFrame(
        {
            "symbol": "AAA",
            "trade_date": DAYS,
            "close": np.linspace(10, 20, 60),
            "short_ratio": 0.4,
            "short_interest": 1000.0,
            "short_interest_pct_shares": 0.05,
            "finra_days_to_cover": 2.0,
            "consolidated_days_to_cover": 1.5,
            "fails": 10.0,
            "nasdaq_threshold_days": 0,
        }
    )
    lake.replace(mart("fct_short_panel_daily", dict(panel.schema)), panel)
    hours = [dt.datetime(2024, 7, 11, tzinfo=UTC) + dt.timedelta(hours=h) for h in range(48)]
    prices = {c: np.linspace(1, 2, 48) for c in ("open", "high", "low", "close", "volume")}
    bars = (
        pl.DataFrame({"pair": "BTCUSDT", "open_time": hours, **prices})
        .with_columns(
            pl.lit(1.5 if dtype == pl.Float64() else 0).cast(dtype).alias(c) for c, dtype in INDICATOR_SCHEMA.items()
        )
        .with_columns(pl.lit(float("nan")).alias("rsi_14"))
    )
    lake.replace(mart("fct_features_crypto_1h", dict(bars.schema)), bars)
    predictions = pl.DataFrame(
        {
            "dataset": "crypto_1h",
            "instrument": ["BTCUSDT", "BTCUSDT", "ETHUSDT"],
            "bar_time": [hours[-2], hours[-1], hours[-1]],
            "bar_close_at": [hours[-1], hours[-1] + dt.timedelta(hours=1), hours[-1] + dt.timedelta(hours=1)],
            "predicted": ["flat", "up1", "down2"],
            **{f"p_{label}": 0.2 for label in ("up2", "up1", "flat", "down1", "down2")},
            "model_version": "crypto_1h-v1",
            "predicted_at": hours[-1] + dt.timedelta(hours=1, seconds=3),
        }
    )
    lake.replace(mart("fct_direction_predictions", dict(predictions.schema)), predictions)
    model = {name: None for name in REGISTRY.schema} | {
        "dataset": "crypto_1h",
        "version": "crypto_1h-v1",
        "trained_at": dt.datetime(2024, 7, 13, tzinfo=UTC),
        "accuracy": 0.31,
        "macro_f1": 0.22,
        "majority_macro_f1": 0.09,
        "promoted": True,
    }
    lake.replace(REGISTRY, pl.DataFrame([model], schema=REGISTRY.schema))
    alert = {
        "rule": "rsi-oversold",
        "pair": "BTCUSDT",
        "interval": "1h",
        "bar_open_time": hours[3],
        "value": 28.0,
        "threshold": 30.0,
        "close": 1.0,
        "message": "BTCUSDT 1h: rsi below 30",
    }
    sent = [
        {**alert, "alert_id": "a", "sent_at": dt.datetime(2024, 7, 11, 4, tzinfo=UTC)},
        {**alert, "alert_id": "b", "sent_at": dt.datetime(2024, 7, 11, 9, tzinfo=UTC)},
    ]
    lake.replace(CRYPTO_ALERTS, pl.DataFrame(sent, schema=CRYPTO_ALERTS.schema))
    direction = [
        {**alert, "alert_id": "d1", "rule": "direction_up2", "sent_at": dt.datetime(2024, 7, 11, 6, tzinfo=UTC)},
        {**alert, "alert_id": "d2", "rule": "direction_up2", "sent_at": None},  # not delivered yet
    ]
    lake.replace(DIRECTION_ALERTS, pl.DataFrame(direction, schema=DIRECTION_ALERTS.schema))


@pytest.fixture
def client(lake: LakeResource) -> Iterator[TestClient]:
    store(lake)
    with TestClient(create_app(reader)) as client:
        yield client


def rows(client: TestClient, path: str, **params: object) -> dict:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def error(client: TestClient, path: str, status: int, **params: object) -> str:
    response = client.get(path, params=params)
    assert response.status_code == status, response.text
    return str(response.json()["detail"])


def test_the_ranking_follows_the_look_back_and_the_filters(client: TestClient, lake: LakeResource) -> None:
    year = rows(client, "/api/v1/ranking", lookback_days=60)
    assert [r["symbol"] for r in year["rows"]] == ["AAA", "BBB", "CCC"] and year["total"] == 3
    recent = rows(client, "/api/v1/ranking", lookback_days=10)
    assert recent["rows"][0]["symbol"] == "BBB", "its last ten days are the wildest"
    assert rows(client, "/api/v1/ranking", lookback_days=60, order="lowest")["rows"][0]["symbol"] == "CCC"
    assert [r["symbol"] for r in rows(client, "/api/v1/ranking", market="XLON")["rows"]] == ["CCC"]
    assert [r["symbol"] for r in rows(client, "/api/v1/ranking", sector="Money")["rows"]] == ["AAA", "CCC"]
    page = rows(client, "/api/v1/ranking", lookback_days=60, limit=1, offset=1)
    assert page["total"] == 3 and page["offset"] == 1 and [r["symbol"] for r in page["rows"]] == ["BBB"]
    with lake.connect(read_only=True) as con:
        returns = con.sql("SELECT symbol, trade_date, daily_return_usd FROM marts.fct_prices_daily").pl()
    recent = returns.filter(pl.col("symbol") == "BBB", pl.col("trade_date") > LAST - dt.timedelta(days=10))
    expected = recent["daily_return_usd"].std() * 252**0.5
    bbb = rows(client, "/api/v1/ranking", lookback_days=10)["rows"][0]
    assert bbb["returns"] == 10 and bbb["volatility_usd"] == pytest.approx(expected, rel=1e-9)


def test_out_of_range_and_malformed_parameters_are_4xx_naming_them(client: TestClient) -> None:
    for lookback in (4, 4000, "a year"):
        response = client.get("/api/v1/ranking", params={"lookback_days": lookback})
        assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["query", "lookback_days"]
    response = client.get("/api/v1/ranking", params={"order": "sideways"})
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["query", "order"]
    response = client.get("/api/v1/symbols/AAA/short", params={"start": "2024-13-01"})
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["query", "start"]
    assert error(client, "/api/v1/symbols/AAA/short", 400, start="2024-07-10", end="2024-07-01") == (
        "start: 2024-07-10 is after end: 2024-07-01"
    )
    assert error(client, "/api/v1/symbols/ZZZZ/short", 404) == "symbol: no short-selling data for 'ZZZZ'"
    response = client.get("/api/v1/symbols/a%20b/short")
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["path", "symbol"]
    assert error(client, "/api/v1/pairs/DOGEUSDT/bars", 404) == "pair: no 1h bars for 'DOGEUSDT'"
    response = client.get("/api/v1/pairs/BTCUSDT/bars", params={"interval": "5m"})
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["query", "interval"]
    response = client.get("/api/v1/predictions", params={"dataset": "crypto_5m"})
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["query", "dataset"]
    for limit in (0, 1001):
        assert client.get("/api/v1/alerts", params={"limit": limit}).status_code == 422


def test_a_symbols_short_panel_and_a_pairs_bars_page_by_page(client: TestClient) -> None:
    panel = rows(client, "/api/v1/symbols/AAA/short", start="2024-07-01", end="2024-07-12")
    assert panel["total"] == 12 and panel["rows"][0]["trade_date"] == "2024-07-01"
    assert panel["rows"][-1]["close"] == pytest.approx(20.0) and panel["rows"][0]["finra_days_to_cover"] == 2.0
    default = rows(client, "/api/v1/symbols/AAA/short")
    assert default["total"] == 60, "a year up to the newest trading day"
    first = rows(client, "/api/v1/pairs/BTCUSDT/bars", interval="1h", start="2024-07-11", end="2024-07-12", limit=30)
    second = rows(client, "/api/v1/pairs/BTCUSDT/bars", interval="1h", start="2024-07-11", end="2024-07-12", offset=30)
    assert first["total"] == 48 and len(first["rows"]) == 30 and len(second["rows"]) == 18
    assert first["rows"][0]["rsi_14"] is None, "NaN becomes null in JSON"
    assert rows(client, "/api/v1/pairs/BTCUSDT/bars")["total"] == 48, "by default the 30 days to its newest bar"
    assert {"bb_upper", "td_buy_setup", "pivot", "s2"} <= set(first["rows"][0])


def test_csv_has_the_pages_rows_and_the_total_in_a_header(client: TestClient) -> None:
    response = client.get("/api/v1/ranking", params={"format": "csv", "limit": 2})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert response.headers["x-total-count"] == "3"
    table = list(csv.DictReader(io.StringIO(response.text)))
    assert [row["symbol"] for row in table] == ["AAA", "BBB"] and "volatility_usd" in table[0]


def test_alerts_predictions_and_the_models_evaluation(client: TestClient) -> None:
    alerts = rows(client, "/api/v1/alerts")
    assert [a["rule"] for a in alerts["rows"]] == ["rsi-oversold", "direction_up2", "rsi-oversold"]
    assert alerts["rows"][0]["sent_at"].startswith("2024-07-11T09:00"), "newest first; unsent ones left out"
    latest = rows(client, "/api/v1/predictions", dataset="crypto_1h")["rows"]
    assert [(p["instrument"], p["predicted"]) for p in latest] == [("BTCUSDT", "up1"), ("ETHUSDT", "down2")]
    model = client.get("/api/v1/models/crypto_1h/evaluation").json()
    assert model["macro_f1"] == 0.22 and model["majority_macro_f1"] == 0.09 and model["promoted"] is True
    assert error(client, "/api/v1/models/equity_1d/evaluation", 404) == "dataset: no equity_1d model has been trained"


def test_with_a_token_the_api_needs_it_and_the_docs_stay_open(lake: LakeResource) -> None:
    store(lake)
    with TestClient(create_app(reader, "s3cret")) as client:
        assert client.get("/api/v1/alerts").status_code == 401
        assert client.get("/api/v1/alerts", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert client.get("/api/v1/alerts", headers={"Authorization": "Bearer s3cret"}).status_code == 200
        assert client.get("/docs").status_code == 200 and client.get("/openapi.json").status_code == 200


def test_every_route_only_reads(client: TestClient) -> None:
    methods = {method for route in client.app.routes for method in getattr(route, "methods", set())}
    assert methods <= {"GET", "HEAD"}
    paths = set(client.get("/openapi.json").json()["paths"])
    assert paths == {
        "/api/v1/ranking",
        "/api/v1/symbols/{symbol}/short",
        "/api/v1/pairs/{pair}/bars",
        "/api/v1/alerts",
        "/api/v1/predictions",
        "/api/v1/models/{dataset}/evaluation",
    }


def test_a_mart_not_built_yet_is_a_503(lake: LakeResource) -> None:
    lake.ensure([CRYPTO_ALERTS])  # a lake with a catalog, and no mart yet
    with TestClient(create_app(reader)) as client:
        response = client.get("/api/v1/ranking")
    assert response.status_code == 503
    assert response.json()["detail"] == "the lake cannot answer yet: CatalogException"
