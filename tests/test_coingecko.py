"""CoinGecko on its real URL layout: the recorded /coins/markets answer paged as CoinGecko pages it, the
coins' metadata, the key's host and header, the call spacing, and the top coins' Binance pairs joining
the pair universe (and its backfill) once."""

import datetime as dt
import json
import time
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import dagster as dg
import polars as pl
import pytest
from werkzeug import Request, Response

import assets.binance as binance_assets
import assets.coingecko as coingecko_assets
from assets.binance import UNIVERSE_DATASET, crypto_universe
from assets.coingecko import COINS_DATASET, MARKETS_DATASET, coingecko_coins, coingecko_markets
from resources.binance import BinanceClient
from resources.coingecko import CoinGeckoClient, CoinGeckoFormatError, parse_coin, parse_markets
from resources.lake import LakeResource
from sensors.binance import new_pairs_sensor
from tests.helpers import SAMPLE_ROOT, Mirror, on_mirror, serve_all_sources

COINS = SAMPLE_ROOT / "api.coingecko.com" / "api" / "v3" / "coins"
RECORDED = json.loads((COINS / "markets").read_bytes())  # CoinGecko's answer of 2025-03-04, as recorded
MARKETS = "/api.coingecko.com/api/v3/coins/markets"
DAY = dt.date(2025, 3, 4)


@pytest.fixture
def mirror() -> Iterator[Mirror]:
    with serve_all_sources() as served:
        yield served


def client(mirror: Mirror, **overrides: object) -> CoinGeckoClient:
    fast = {"retry_attempts": 2, "max_retry_wait_seconds": 0.1, "requests_per_minute": 60_000}
    return on_mirror(CoinGeckoClient, mirror, **{**fast, **overrides})


def market_requests(mirror: Mirror) -> list[dict[str, list[str]]]:
    return [parse_qs(urlsplit(path).query) for path in mirror.requests if urlsplit(path).path == MARKETS]


def test_the_recorded_answer_keeps_coingeckos_ranks_beside_its_order() -> None:
    frame = parse_markets([(COINS / "markets").read_bytes()], 100, DAY)
    assert frame.height == 30 and frame["position"].to_list() == list(range(1, 31))
    assert frame["coin_id"].to_list() == [coin["id"] for coin in RECORDED]
    assert frame["market_cap_rank"].to_list()[21:24] == [24, 23, 22]  # out of order in a list sorted by market cap
    bitcoin = frame.row(0, named=True)
    assert (bitcoin["symbol"], bitcoin["price_usd"], bitcoin["max_supply"]) == ("btc", 79847.0, 21_000_000.0)
    assert bitcoin["ath_date"] == dt.datetime(2025, 1, 20, 7, 16, 25, 271000, tzinfo=dt.UTC)
    assert frame.filter(pl.col("coin_id") == "tether")["max_supply"].to_list() == [None]


def test_the_top_n_is_paged_until_n_coins_and_stops_at_a_short_page(mirror: Mirror) -> None:
    top = client(mirror, top_n=25, per_page=10).top_coins(DAY)
    assert top["coin_id"].to_list() == [coin["id"] for coin in RECORDED[:25]]
    pages = market_requests(mirror)
    assert [(q["page"], q["per_page"], q["vs_currency"], q["order"]) for q in pages] == [
        (["1"], ["10"], ["usd"], ["market_cap_desc"]),
        (["2"], ["10"], ["usd"], ["market_cap_desc"]),
        (["3"], ["10"], ["usd"], ["market_cap_desc"]),
    ]
    mirror.requests.clear()
    assert client(mirror, top_n=100).top_coins(DAY).height == 30  # one page of 100 asked, 30 answered: the last
    assert [q["page"] for q in market_requests(mirror)] == [["1"]]


def test_a_coin_moving_across_a_page_boundary_between_requests_is_kept_once(mirror: Mirror) -> None:
    def shifted(request: Request) -> Response:
        page = int(request.args["page"])
        coins = RECORDED[:3] if page == 1 else RECORDED[2:5]  # ripple fell to page 2 between the two calls
        return Response(json.dumps(coins), content_type="application/json")

    mirror.routes[MARKETS] = shifted
    top = client(mirror, top_n=5, per_page=3).top_coins(DAY)
    assert top["coin_id"].to_list() == ["bitcoin", "ethereum", "ripple", "tether", "binancecoin"]
    assert top["position"].to_list() == [1, 2, 3, 4, 5]


def test_without_a_key_nothing_is_sent_and_a_key_goes_in_its_plans_header_never_the_url(mirror: Mirror) -> None:
    client(mirror, top_n=3).top_coins(DAY)
    assert not any(name.lower().startswith("x-cg-") for name in mirror.headers[-1])
    client(mirror, top_n=3, api_key="CG-demo-secret").top_coins(DAY)
    assert mirror.headers[-1]["X-Cg-Demo-Api-Key"] == "CG-demo-secret"
    pro = client(mirror, top_n=3, api_key="CG-pro-secret", plan="pro")
    assert pro.host.endswith("/pro-api.coingecko.com")
    mirror.routes["/pro-api.coingecko.com/api/v3/coins/markets"] = mirror.routes[MARKETS]
    pro.top_coins(DAY)
    assert mirror.headers[-1]["X-Cg-Pro-Api-Key"] == "CG-pro-secret"
    assert mirror.requests[-1].startswith("/pro-api.coingecko.com/")
    assert not any("secret" in path for path in mirror.requests)


def test_calls_are_spaced_to_the_configured_rate(mirror: Mirror) -> None:
    started = time.monotonic()
    list(client(mirror, requests_per_minute=300).coins(["bitcoin", "ethereum", "solana"], DAY))
    assert time.monotonic() - started >= 0.4  # three calls 0.2 s apart: never sooner


def test_a_coins_metadata_drops_coingeckos_padding() -> None:
    bitcoin = parse_coin((COINS / "bitcoin").read_bytes(), "bitcoin", DAY).row(0, named=True)
    assert bitcoin["categories"] == ["Layer 1 (L1)", "Proof of Work (PoW)"]
    assert (bitcoin["genesis_date"], bitcoin["hashing_algorithm"]) == (dt.date(2009, 1, 3), "SHA-256")
    assert bitcoin["homepage"] == "https://bitcoin.example"  # ["https://bitcoin.example", "", ""] on file
    assert bitcoin["github_repos"] == ["https://github.com/bitcoin/bitcoin"]
    assert bitcoin["github_stars"] > 0 and bitcoin["telegram_channel_user_count"] is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<html>rate limited</html>", "page 1: not JSON"),
        (
            json.dumps([{**RECORDED[0], "id": "../../etc"}]).encode(),
            r"page 1 coin 1: '../../etc' is not a CoinGecko coin id",
        ),
        (json.dumps([RECORDED[0], {**RECORDED[1], "market_cap": "lots"}]).encode(), r"coin 2 \(ethereum\) market_cap"),
        (json.dumps({"status": {"error_code": 429}}).encode(), "not an array of coin objects"),
    ],
)
def test_an_answer_that_is_not_coingeckos_format_is_refused_by_name(body: bytes, message: str) -> None:
    with pytest.raises(CoinGeckoFormatError, match=message):
        parse_markets([body], 10, DAY)


def test_a_coin_document_for_another_coin_is_refused() -> None:
    with pytest.raises(CoinGeckoFormatError, match="the answer is for 'bitcoin', not 'ethereum'"):
        parse_coin((COINS / "bitcoin").read_bytes(), "ethereum", DAY)


@pytest.fixture
def pinned(monkeypatch: pytest.MonkeyPatch) -> None:
    """The snapshot day is the recording's."""
    monkeypatch.setattr(coingecko_assets, "snapshot_day", lambda: DAY)
    monkeypatch.setattr(binance_assets, "utc_now", lambda: dt.datetime(2025, 3, 4, 0, 5, tzinfo=dt.UTC))
    monkeypatch.setattr(binance_assets, "last_crypto_day", lambda: DAY)


def materialize(assets: list, resources: dict, instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    result = dg.materialize(assets, resources=resources, instance=instance)
    assert result.success
    return result


def test_the_snapshot_and_metadata_land_and_a_rerun_stores_the_same_rows(
    mirror: Mirror, lake: LakeResource, instance: dg.DagsterInstance, pinned: None
) -> None:
    resources = {"coingecko": client(mirror, top_n=8), "lake": lake}
    materialize([coingecko_markets, coingecko_coins], resources, instance)
    first = lake.read(MARKETS_DATASET)
    assert first["coin_id"].to_list() == [coin["id"] for coin in RECORDED[:8]]
    assert sorted(lake.read(COINS_DATASET)["coin_id"].to_list()) == sorted(first["coin_id"].to_list())
    mirror.requests.clear()
    materialize([coingecko_markets, coingecko_coins], resources, instance)
    assert lake.read(MARKETS_DATASET).equals(first)
    assert not [path for path in mirror.requests if "/coins/" in path and MARKETS not in path], "metadata is fresh"


def test_a_coin_whose_metadata_fails_leaves_the_others_stored_and_names_it(
    mirror: Mirror, lake: LakeResource, instance: dg.DagsterInstance, pinned: None
) -> None:
    mirror.fail_path(
        "/api.coingecko.com/api/v3/coins/ripple", Response("<html>", status=500), Response("<html>", status=500)
    )
    resources = {"coingecko": client(mirror, top_n=4), "lake": lake}
    materialize([coingecko_markets], resources, instance)
    result = dg.materialize([coingecko_coins], resources=resources, instance=instance, raise_on_error=False)
    assert not result.success
    assert "CoinGecko ripple" in result.failure_data_for_node("raw__coingecko_coins").error.message
    assert sorted(lake.read(COINS_DATASET)["coin_id"].to_list()) == ["bitcoin", "ethereum", "tether"]


def binance(mirror: Mirror) -> BinanceClient:
    return on_mirror(BinanceClient, mirror, retry_attempts=2, max_retry_wait_seconds=0.1, top_n=2)


def test_a_coin_entering_the_top_n_adds_its_pair_and_its_backfill_starts_once(
    mirror: Mirror, lake: LakeResource, instance: dg.DagsterInstance, pinned: None
) -> None:
    resources = {"coingecko": client(mirror, top_n=3), "binance": binance(mirror), "lake": lake}
    materialize([coingecko_markets, crypto_universe], resources, instance)
    assert lake.read(UNIVERSE_DATASET)["pair"].to_list() == ["BTCUSDT", "ETHUSDT"]  # top 2 by volume; xrp: no pair
    with dg.build_sensor_context(instance=instance, resources={"lake": lake}) as context:
        first = new_pairs_sensor(context)
    instance.add_dynamic_partitions("crypto_pairs", ["BTCUSDT", "ETHUSDT"])

    resources["coingecko"] = client(mirror, top_n=9)  # solana (6th) and dogecoin (9th) enter
    materialize([coingecko_markets, crypto_universe], resources, instance)
    universe = lake.read(UNIVERSE_DATASET)
    assert universe["pair"].to_list() == ["BTCUSDT", "ETHUSDT", "SOLUSDT", "DOGEUSDT"]
    assert universe["rank"].to_list() == [1, 2, 3, 4]  # their rank by volume among every USDT pair
    with dg.build_sensor_context(instance=instance, resources={"lake": lake}) as context:
        entered = new_pairs_sensor(context)
        instance.add_dynamic_partitions("crypto_pairs", list(entered.dynamic_partitions_requests[0].partition_keys))
        again = new_pairs_sensor(context)
    assert list(first.dynamic_partitions_requests[0].partition_keys) == ["BTCUSDT", "ETHUSDT"]
    assert list(entered.dynamic_partitions_requests[0].partition_keys) == ["SOLUSDT", "DOGEUSDT"]
    assert len(entered.run_requests) == 1
    assert isinstance(again, dg.SkipReason) or not again.run_requests, "a pair's backfill starts once"


def test_a_symbol_several_top_coins_share_maps_to_no_pair(
    mirror: Mirror, lake: LakeResource, instance: dg.DagsterInstance, pinned: None
) -> None:
    impostor = {**RECORDED[5], "id": "wrapped-solana-impostor", "name": "Impostor SOL", "market_cap_rank": 7}
    mirror.routes[MARKETS] = lambda request: Response(
        json.dumps([*RECORDED[:6], impostor]), content_type="application/json"
    )
    resources = {"coingecko": client(mirror, top_n=7), "binance": binance(mirror), "lake": lake}
    result = materialize([coingecko_markets, crypto_universe], resources, instance)
    assert "SOLUSDT" not in lake.read(UNIVERSE_DATASET)["pair"].to_list()
    refused = result.asset_materializations_for_node("raw__crypto_universe")[0].metadata["refused_symbols"].value
    assert refused == {"SOL": ["solana", "wrapped-solana-impostor"]}
