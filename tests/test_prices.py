"""Price providers on their formats, the stored ranges, and the adjusted close."""

import datetime as dt
import json
import threading
import time
from collections.abc import Callable
from zoneinfo import ZoneInfo

import dagster as dg
import numpy as np
import polars as pl
import pytest
from werkzeug import Request, Response

from assets.prices import DATASET, prices_daily
from resources.lake import LakeResource
from resources.prices import (
    PRICES_SCHEMA,
    PriceFormatError,
    PricesResource,
    parse_polygon_bars,
    parse_polygon_dividends,
    parse_polygon_splits,
    parse_tiingo,
    parse_yahoo_chart,
)
from tests.helpers import SAMPLE_ROOT, TEST_FIXTURES, on_mirror, serve_all_sources
from tests.platform_build import rows

CHARTS = "query1.finance.yahoo.com/v8/finance/chart"
RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"
NEW_YORK = ZoneInfo("America/New_York")


def test_yahoo_chart_is_restored_to_raw_prices_around_a_split() -> None:
    frame = parse_yahoo_chart((TEST_FIXTURES / CHARTS / "NVDA").read_bytes(), "NVDA")
    assert frame["trade_date"].to_list() == [dt.date(2024, 6, d) for d in (6, 7, 10, 11)]
    assert frame["close"].to_list() == pytest.approx([1209.98, 1208.88, 121.79, 120.91])
    assert frame["volume"].to_list() == pytest.approx([33.2e6, 28.0e6, 314e6, 222e6])
    assert frame["split_ratio"].to_list() == [1.0, 1.0, 10.0, 1.0]
    assert frame["dividend"].to_list() == [0.0, 0.0, 0.0, 0.01]


def test_yahoo_sample_parses_with_its_dividend_in_new_york_dates() -> None:
    frame = parse_yahoo_chart((SAMPLE_ROOT / CHARTS / "JPM").read_bytes(), "JPM")
    assert frame.height == 92
    assert frame.filter(pl.col("dividend") > 0).select("trade_date", "dividend").row(0) == (dt.date(2024, 7, 5), 1.15)


def test_tiingo_parses_raw_bars_with_dividends() -> None:
    frame = parse_tiingo((TEST_FIXTURES / "api.tiingo.com/tiingo/daily/jpm/prices").read_bytes(), "JPM")
    assert frame.select("trade_date", "close", "dividend", "split_ratio").rows() == [
        (dt.date(2024, 7, 3), 201.94, 0.0, 1.0),
        (dt.date(2024, 7, 5), 200.01, 1.15, 1.0),
        (dt.date(2024, 7, 8), 201.54, 0.0, 1.0),
    ]


@pytest.mark.parametrize(
    ("parse", "body"),
    [
        (parse_yahoo_chart, b"<!DOCTYPE html><html>Will be right back</html>"),
        (parse_yahoo_chart, json.dumps({"chart": {"result": None, "error": {"code": "Not Found"}}}).encode()),
        (parse_tiingo, b"<html>Stooq-style page with status 200</html>"),
        (parse_tiingo, json.dumps({"detail": "Error: Ticker 'XXXX' not found"}).encode()),
    ],
)
def test_a_body_that_is_not_the_providers_format_is_rejected(parse: object, body: bytes) -> None:
    with pytest.raises(PriceFormatError):
        parse(body, "XXXX")


def test_tiingo_sends_its_key_in_a_header_never_in_the_url() -> None:
    secret = "tiingo-secret-123"
    with serve_all_sources() as mirror:
        resource = on_mirror(PricesResource, mirror, provider="tiingo", tiingo_api_key=secret)
        provider = resource.build_provider()
        with provider.open_client() as client:
            frame = provider.daily(client, "JPM", dt.date(2024, 7, 3), dt.date(2024, 7, 8))
    assert frame.height == 3
    assert mirror.headers[-1]["Authorization"] == f"Token {secret}"
    assert all(secret not in request for request in mirror.requests)


def test_ranged_runs_replace_their_days_and_keep_the_rest(lake: LakeResource) -> None:
    with serve_all_sources() as mirror, dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("symbols", ["JPM", "KO"])
        prices = on_mirror(PricesResource, mirror, retry_attempts=2, max_retry_wait_seconds=0)
        resources = {"lake": lake, "prices": prices}

        def run(first: str, last: str) -> dg.ExecuteInProcessResult:
            return dg.materialize(
                [prices_daily],
                resources=resources,
                instance=instance,
                tags={RANGE_START: first, RANGE_END: last},
                raise_on_error=False,
            )

        assert run("2024-07-01", "2024-07-12").success
        full = lake.read(DATASET, where={"symbol": "JPM"}, stamps=True)
        assert run("2024-07-03", "2024-07-05").success
        again = lake.read(DATASET, where={"symbol": "JPM"}, stamps=True)
        assert again.equals(full), "re-running a sub-range gives the same rows, no duplicates, stamps kept"
        mirror.fail_path(f"/{CHARTS}/KO", *[Response("<html>busy</html>", status=503) for _ in range(10)])
        failed = run("2024-07-08", "2024-07-08")
        assert not failed.success
        assert lake.read(DATASET, where={"symbol": "KO"}).height == 9, "KO's rows untouched"
        assert len(instance.get_materialized_partitions(prices_daily.key)) == 9, "the failed day is not one"


def test_adjusted_close_matches_an_independent_computation(platform_build) -> None:
    nvda = rows(
        platform_build,
        "SELECT trade_date, close, dividend, split_ratio, adj_close "
        "FROM marts.fct_prices_daily "
        "WHERE symbol = 'NVDA' AND trade_date <= '2024-06-11' ORDER BY trade_date",
    )
    close = np.array([r[1] for r in nvda])
    dividend = np.array([r[2] for r in nvda])
    split = np.array([r[3] for r in nvda])
    factor = np.ones(len(close))
    for s in range(1, len(close)):
        event = (1 / split[s]) * (1 - dividend[s] / close[s - 1])
        factor[:s] *= event
    assert [r[4] for r in nvda] == pytest.approx(close * factor, rel=1e-12)
    assert nvda[0][4] == pytest.approx(1209.98 / 10 * (1 - 0.01 / 121.79))


def test_the_newest_adjusted_close_is_the_close(platform_build) -> None:
    latest = rows(
        platform_build,
        "SELECT symbol, close, adj_close FROM marts.fct_prices_daily "
        "QUALIFY row_number() OVER (PARTITION BY symbol ORDER BY trade_date DESC) = 1",
    )
    assert latest and all(close == pytest.approx(adj) for _, close, adj in latest)


POLYGON = TEST_FIXTURES / "api.polygon.io"


def test_polygon_answers_parse_to_raw_bars_with_their_events() -> None:
    grouped = parse_polygon_bars((POLYGON / "grouped_us_stocks_2005-04-04.json").read_bytes(), "grouped")
    assert grouped.rows() == [(dt.date(2020, 10, 14), "GIK", 9.99, 10.02, 9.9, 10.02, 895345.0)]
    aapl = parse_polygon_bars((POLYGON / "aggs_AAPL_2005-04-01_2005-04-04.json").read_bytes(), "AAPL", "AAPL")
    assert aapl["trade_date"].to_list() == [dt.date(2005, 4, 1), dt.date(2005, 4, 4)]
    splits = parse_polygon_splits((POLYGON / "reference_splits.json").read_bytes(), "splits")
    assert splits.filter(symbol="GOOGL").rows() == [(dt.date(2022, 7, 18), "GOOGL", 20.0)]
    assert splits.filter(symbol="SHOP").height == 2, "two splits on two days, both kept"
    dividends = parse_polygon_dividends((POLYGON / "reference_dividends.json").read_bytes(), "dividends")
    assert dividends.filter(symbol="CSSEN", trade_date=dt.date(2025, 6, 12))["dividend"].to_list() == [0.59375]


@pytest.mark.parametrize(
    "body",
    [
        b"<html>busy</html>",
        b'{"status": "ERROR", "error": "Unknown API Key"}',
        b'{"status": "OK", "results": [{"T": "X", "o": 1}]}',
    ],
)
def test_polygon_answers_that_are_not_its_format_are_refused(body: bytes) -> None:
    with pytest.raises(PriceFormatError, match="Polygon grouped daily 2024-07-12"):
        parse_polygon_bars(body, "Polygon grouped daily 2024-07-12")


def polygon_routes(mirror) -> None:
    """Polygon's three endpoints for one day, with the key required in the Authorization header."""

    def answer(name: str):
        def route(request: Request) -> Response:
            if request.headers.get("Authorization") != "Bearer polygon-key":
                return Response('{"status": "ERROR", "error": "Unknown API Key"}', status=401)
            return Response((POLYGON / name).read_bytes(), content_type="application/json")

        return route

    mirror.routes["/api.polygon.io/v2/aggs/grouped/locale/us/market/stocks/2020-10-14"] = answer(
        "grouped_us_stocks_2005-04-04.json"
    )
    mirror.routes["/api.polygon.io/v3/reference/splits"] = answer("reference_splits.json")
    mirror.routes["/api.polygon.io/v3/reference/dividends"] = answer("reference_dividends.json")


def test_the_bulk_provider_answers_a_market_day_in_three_requests_with_the_key_out_of_urls(lake) -> None:
    with serve_all_sources() as mirror:
        polygon_routes(mirror)
        prices = on_mirror(
            PricesResource, mirror, provider="polygon", polygon_api_key="polygon-key", requests_per_second=100
        )
        frame = prices.fetch_market_day(dt.date(2020, 10, 14))
    assert frame.rows() == [
        (dt.date(2020, 10, 14), "GIK", 9.99, 10.02, 9.9, 10.02, 895345.0, 0.0, 1.0, "USD", "polygon")
    ]
    assert len(mirror.requests) == 3 and all("polygon-key" not in r for r in mirror.requests)
    assert [r.split("?")[0] for r in mirror.requests] == [
        "/api.polygon.io/v2/aggs/grouped/locale/us/market/stocks/2020-10-14",
        "/api.polygon.io/v3/reference/splits",
        "/api.polygon.io/v3/reference/dividends",
    ]


SPLIT_DAY = dt.date(2024, 7, 10)
RAW_CLOSES = {dt.date(2024, 7, d): 100.0 + d for d in (1, 2, 3, 5, 8, 9, 10, 11, 12)}


def yahoo_as_yahoo_answers(request: Request) -> Response:
    """Yahoo's behaviour: prices adjusted for every split up to today (a 2:1 on SPLIT_DAY), but only
    the splits inside period1..period2 listed in events."""
    first = dt.datetime.fromtimestamp(int(request.args["period1"]), dt.UTC).date()
    last = dt.datetime.fromtimestamp(int(request.args["period2"]), dt.UTC).date()
    days = [d for d in RAW_CLOSES if first <= d < last]
    stamp = {d: int(dt.datetime.combine(d, dt.time(13, 30), dt.UTC).timestamp()) for d in RAW_CLOSES}
    adjusted = [RAW_CLOSES[d] / (2.0 if d < SPLIT_DAY else 1.0) for d in days]
    events = {"splits": {str(stamp[SPLIT_DAY]): {"date": stamp[SPLIT_DAY], "numerator": 2, "denominator": 1}}}
    body = {
        "chart": {
            "error": None,
            "result": [
                {
                    "meta": {"currency": "USD", "symbol": "SPLT", "exchangeTimezoneName": "America/New_York"},
                    "timestamp": [stamp[d] for d in days],
                    "events": events if first <= SPLIT_DAY < last else {},
                    "indicators": {
                        "quote": [
                            {
                                "open": adjusted,
                                "high": adjusted,
                                "low": adjusted,
                                "close": adjusted,
                                "volume": [1000.0] * len(days),
                            }
                        ]
                    },
                }
            ],
        }
    }
    return Response(json.dumps(body), content_type="application/json")


def test_a_past_range_before_a_later_split_is_stored_raw_not_split_adjusted() -> None:
    """Yahoo lists a split only inside the requested period; asked up to the split's eve, its prices
    would come adjusted and undeclared. The provider asks through today and cuts the answer."""
    with serve_all_sources() as mirror:
        mirror.routes["/query1.finance.yahoo.com/v8/finance/chart/SPLT"] = yahoo_as_yahoo_answers
        prices = on_mirror(PricesResource, mirror, requests_per_second=100)
        [fetched] = prices.fetch_symbols(["SPLT"], dt.date(2024, 7, 1), dt.date(2024, 7, 5))
    assert fetched.error is None
    assert fetched.frame["trade_date"].to_list() == [d for d in RAW_CLOSES if d <= dt.date(2024, 7, 5)]
    assert fetched.frame["close"].to_list() == [RAW_CLOSES[d] for d in RAW_CLOSES if d <= dt.date(2024, 7, 5)]


def test_requests_stay_within_the_rate_and_the_concurrency() -> None:
    """A token bucket shared by the threads: no faster than the rate, and never more requests in flight
    than max_concurrent_requests."""
    times, in_flight, peak, guard = [], [0], [0], threading.Lock()

    def slow_chart(request: Request) -> Response:
        with guard:
            times.append(time.monotonic())
            in_flight[0] += 1
            peak[0] = max(peak[0], in_flight[0])
        time.sleep(0.05)
        with guard:
            in_flight[0] -= 1
        return Response((SAMPLE_ROOT / CHARTS / "KO").read_bytes(), content_type="application/json")

    with serve_all_sources() as mirror:
        for symbol in ("KO", *(f"K{i}" for i in range(23))):
            mirror.routes[f"/{CHARTS}/{symbol}"] = slow_chart
        prices = on_mirror(PricesResource, mirror, requests_per_second=8, max_concurrent_requests=3)
        fetched = list(
            prices.fetch_symbols(["KO", *(f"K{i}" for i in range(23))], dt.date(2024, 7, 1), dt.date(2024, 7, 12))
        )
    assert len(fetched) == 24 and all(f.error is None for f in fetched)
    assert peak[0] <= 3
    # 24 requests at 8 a second: the first 8 at once, the other 16 over at least two more seconds
    # (unthrottled, 3 workers at 50 ms a request take 0.4 s).
    assert max(times) - min(times) >= 1.9


def test_the_daily_asset_stores_a_bulk_day_for_known_symbols_and_keeps_the_others(lake: LakeResource) -> None:
    day = dt.date(2020, 10, 14)
    kept = pl.DataFrame(
        {
            "trade_date": [day],
            "symbol": "ZZZ",
            "open": 1.0,
            "high": 1.0,
            "low": 1.0,
            "close": 1.0,
            "volume": 5.0,
            "dividend": 0.0,
            "split_ratio": 1.0,
            "currency": "USD",
            "provider": "yahoo",
        }
    ).cast(PRICES_SCHEMA)
    lake.replace(DATASET, kept, where={"symbol": "ZZZ"})
    with serve_all_sources() as mirror, dg.instance_for_test() as instance:
        polygon_routes(mirror)
        instance.add_dynamic_partitions("symbols", ["GIK", "ZZZ"])
        prices = on_mirror(
            PricesResource, mirror, provider="polygon", polygon_api_key="polygon-key", requests_per_second=100
        )
        result = dg.materialize(
            [prices_daily], resources={"lake": lake, "prices": prices}, instance=instance, partition_key=day.isoformat()
        )
    assert result.success
    stored = lake.read(DATASET)
    assert stored.filter(symbol="GIK")["close"].to_list() == [10.02]
    assert stored.filter(symbol="ZZZ").equals(kept), "a symbol the market day lacks keeps its bar"
    assert len(mirror.requests) == 3, "one day of the whole market: three requests, not one per symbol"


def chart(symbol: str, edit: Callable[[dict, list[dt.date]], None]) -> bytes:
    """The sample's chart JSON of `symbol`, changed by `edit(result, new_york_dates)`."""
    body = json.loads((SAMPLE_ROOT / CHARTS / symbol).read_bytes())
    result = body["chart"]["result"][0]
    dates = [dt.datetime.fromtimestamp(t, NEW_YORK).date() for t in result["timestamp"]]
    edit(result, dates)
    return json.dumps(body).encode()


def drop_days(*days: dt.date) -> Callable[[dict, list[dt.date]], None]:
    def edit(result: dict, dates: list[dt.date]) -> None:
        keep = [i for i, day in enumerate(dates) if day not in days]
        result["timestamp"] = [result["timestamp"][i] for i in keep]
        for series in [*result["indicators"]["quote"], *result["indicators"]["adjclose"]]:
            for name, values in series.items():
                series[name] = [values[i] for i in keep]

    return edit


def inverted_bar(day: dt.date) -> Callable[[dict, list[dt.date]], None]:
    def edit(result: dict, dates: list[dt.date]) -> None:
        quote, i = result["indicators"]["quote"][0], dates.index(day)
        quote["high"][i], quote["low"][i] = quote["low"][i] - 1, quote["high"][i] + 1

    return edit


def test_a_symbol_that_would_lose_bars_or_breaks_a_rule_keeps_its_bars_and_the_rest_is_stored(
    lake: LakeResource,
) -> None:
    july = dt.date(2024, 7, 1), dt.date(2024, 7, 12)
    with serve_all_sources() as mirror, dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("symbols", ["AAPL", "JPM", "KO"])
        prices = on_mirror(PricesResource, mirror, retry_attempts=2, max_retry_wait_seconds=0)

        def run(first: dt.date, last: dt.date, **config: bool) -> dg.ExecuteInProcessResult:
            return dg.materialize(
                [prices_daily],
                resources={"lake": lake, "prices": prices},
                instance=instance,
                tags={RANGE_START: f"{first}", RANGE_END: f"{last}"},
                raise_on_error=False,
                run_config={"ops": {"raw__prices_daily": {"config": config}}},
            )

        assert run(*july).success
        stored = {s: lake.read(DATASET, where={"symbol": s}, stamps=True) for s in ("JPM", "KO")}
        lake.replace(
            DATASET, stored_aapl := lake.read(DATASET, where={"symbol": "AAPL"}).head(3), where={"symbol": "AAPL"}
        )
        mirror.put_path(f"/{CHARTS}/KO", chart("KO", drop_days(dt.date(2024, 7, 9), dt.date(2024, 7, 10))))
        mirror.put_path(f"/{CHARTS}/JPM", chart("JPM", inverted_bar(dt.date(2024, 7, 8))))
        failed = run(*july)
        assert not failed.success
        message = next(e for e in failed.all_events if e.is_step_failure).step_failure_data.error.message
        assert "2 of 3 symbols failed" in message
        assert "trade_date gone: 2 (2024-07-09, 2024-07-10)" in message
        assert "JPM 2024-07-01..2024-07-12: quarantined, failed prices_positive" in message
        for symbol, before in stored.items():
            assert lake.read(DATASET, where={"symbol": symbol}, stamps=True).equals(before), symbol
        assert lake.read(DATASET, where={"symbol": "AAPL"}).height == 9 > stored_aapl.height, "the rest published"
        quarantined = lake.read(DATASET.quarantine, where={"_partition": "JPM 2024-07-01..2024-07-12"})
        assert quarantined.filter(pl.col("high") < pl.col("low"))["trade_date"].to_list() == [dt.date(2024, 7, 8)]
        checks = {e.check_name: e for e in failed.get_asset_check_evaluations()}
        assert not checks["prices_positive"].passed and checks["volume_non_negative"].passed

        mirror.put_path(f"/{CHARTS}/JPM", (SAMPLE_ROOT / CHARTS / "JPM").read_bytes())
        assert run(*july, allow_shrink=True).success, "a restatement goes through when the run says so"
        assert lake.read(DATASET, where={"symbol": "KO"}).height == 7


def test_a_split_with_a_zero_denominator_is_an_error_naming_the_symbol() -> None:
    """The parser divides by the denominator; Python's ZeroDivisionError comes out named, not bare."""
    body = json.loads((TEST_FIXTURES / CHARTS / "NVDA").read_bytes())
    body["chart"]["result"][0]["events"]["splits"]["1718026200"]["denominator"] = 0
    with pytest.raises(PriceFormatError, match=r"^Yahoo chart NVDA: not the source's format \(ZeroDivisionError"):
        parse_yahoo_chart(json.dumps(body).encode(), "NVDA")


def test_a_market_day_answered_with_another_days_bars_stores_none_of_them(lake: LakeResource) -> None:
    """Stored under this day's partition, another day's bars would restate that day unasked."""
    with serve_all_sources() as mirror, dg.instance_for_test() as instance:
        polygon_routes(mirror)
        mirror.routes["/api.polygon.io/v2/aggs/grouped/locale/us/market/stocks/2020-10-15"] = mirror.routes[
            "/api.polygon.io/v2/aggs/grouped/locale/us/market/stocks/2020-10-14"
        ]
        instance.add_dynamic_partitions("symbols", ["GIK"])
        prices = on_mirror(
            PricesResource, mirror, provider="polygon", polygon_api_key="polygon-key", requests_per_second=100
        )
        result = dg.materialize(
            [prices_daily],
            resources={"lake": lake, "prices": prices},
            instance=instance,
            partition_key="2020-10-15",
            raise_on_error=False,
        )
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure).step_failure_data.error.message
    assert "polygon market day 2020-10-15: 1 bars dated 2020-10-14, not stored" in failure
    assert lake.read(DATASET).is_empty()
