"""Price providers on their formats, the stored ranges, and the adjusted close."""

import datetime as dt
import json

import dagster as dg
import numpy as np
import polars as pl
import pytest
from werkzeug import Response

from assets.prices import DATASET, prices_daily
from resources.lake import LakeResource
from resources.prices import PriceFormatError, PricesResource, parse_tiingo, parse_yahoo_chart
from tests.conftest import SAMPLE_ROOT, TEST_FIXTURES, serve_all_sources, source_url
from tests.platform_build import rows

CHARTS = "query1.finance.yahoo.com/v8/finance/chart"
RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"


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
        resource = PricesResource(provider="tiingo", tiingo_base_url=source_url(mirror, "tiingo"),
                                  tiingo_api_key=secret)
        provider = resource.build_provider()
        with provider.open_client(5) as client:
            frame = provider.daily(client, "JPM", dt.date(2024, 7, 3), dt.date(2024, 7, 8))
    assert frame.height == 3
    assert mirror.headers[-1]["Authorization"] == f"Token {secret}"
    assert all(secret not in request for request in mirror.requests)


def test_ranged_runs_replace_their_days_and_keep_the_rest(lake: LakeResource) -> None:
    with serve_all_sources() as mirror, dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("symbols", ["JPM", "KO"])
        prices = PricesResource(yahoo_base_url=source_url(mirror, "yahoo"), retry_attempts=2, max_retry_wait_seconds=0)
        resources = {"lake": lake, "prices": prices}

        def run(first: str, last: str) -> dg.ExecuteInProcessResult:
            return dg.materialize([prices_daily], resources=resources, instance=instance,
                                  tags={RANGE_START: f"{first}|JPM", RANGE_END: f"{last}|KO"}, raise_on_error=False)

        assert run("2024-07-01", "2024-07-12").success
        full = lake.read(DATASET, where={"symbol": "JPM"}, stamps=True)
        assert run("2024-07-03", "2024-07-05").success
        again = lake.read(DATASET, where={"symbol": "JPM"}, stamps=True)
        assert again.equals(full), "re-running a sub-range gives the same rows, no duplicates, stamps kept"
        mirror.fail_path(f"/{CHARTS}/KO", *[Response("<html>busy</html>", status=503) for _ in range(10)])
        failed = run("2024-07-08", "2024-07-08")
        assert not failed.success
        assert lake.read(DATASET, where={"symbol": "KO"}).height == 9, "KO's rows untouched"
        assert len(instance.get_materialized_partitions(prices_daily.key)) == 18


def test_adjusted_close_matches_an_independent_computation(platform_build) -> None:
    nvda = rows(platform_build, "SELECT trade_date, close, dividend, split_ratio, adj_close "
                "FROM marts.fct_prices_daily "
                "WHERE symbol = 'NVDA' AND trade_date <= '2024-06-11' ORDER BY trade_date")
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
    latest = rows(platform_build, "SELECT symbol, close, adj_close FROM marts.fct_prices_daily "
                  "QUALIFY row_number() OVER (PARTITION BY symbol ORDER BY trade_date DESC) = 1")
    assert latest and all(close == pytest.approx(adj) for _, close, adj in latest)
