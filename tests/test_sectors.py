"""SEC tickers and SIC codes: parsers, the User-Agent and rate limit, and the FF12 mapping."""

import json
import time

import pytest

from resources.sectors import SecClient, SecFormatError, parse_company_tickers_exchange, parse_submission
from tests.helpers import SAMPLE_ROOT, on_mirror, serve_all_sources
from tests.platform_build import SEC_USER_AGENT, rows


def test_company_tickers_exchange_parses_the_fields_table() -> None:
    body = (SAMPLE_ROOT / "www.sec.gov/files/company_tickers_exchange.json").read_bytes()
    frame = parse_company_tickers_exchange(body)
    assert frame.filter(frame["symbol"] == "AAPL").row(0) == (320193, "Apple Inc.", "AAPL", "Nasdaq")
    assert "BRK-B" in frame["symbol"].to_list()


def test_submission_without_sic_keeps_a_null() -> None:
    body = (SAMPLE_ROOT / "data.sec.gov/submissions/CIK0000884394.json").read_bytes()
    assert parse_submission(body, 884394) == {"cik": 884394, "sic": None, "sic_description": None}


@pytest.mark.parametrize(
    "body", [b"<html>Request Rate Threshold Exceeded</html>", json.dumps({"fields": ["x"]}).encode()]
)
def test_bodies_that_are_not_secs_format_are_rejected(body: bytes) -> None:
    with pytest.raises(SecFormatError):
        parse_company_tickers_exchange(body)


def test_requests_carry_the_configured_user_agent_and_stay_under_the_rate() -> None:
    with serve_all_sources() as mirror:
        client = on_mirror(SecClient, mirror, user_agent=SEC_USER_AGENT, max_requests_per_second=10)
        ciks = [320193, 789019, 1045810, 1018724, 1652044, 1326801, 1318605, 19617, 34088, 200406, 80424]
        started = time.monotonic()
        codes = list(client.sic_codes(ciks))
        elapsed = time.monotonic() - started
    assert [c["sic"] for c in codes[:3]] == [3571, 7372, 3674]
    assert elapsed >= (len(ciks) - 1) / 10, "11 requests at <= 10/s take at least one second"
    assert {h["User-Agent"] for h in mirror.headers} == {SEC_USER_AGENT}


def test_sic_codes_map_to_fama_french_12_and_unknown_is_other(platform_build) -> None:
    sql = "SELECT symbol, ff12_industry FROM marts.dim_symbols WHERE source = 'directory'"
    mapped = dict(rows(platform_build, sql))
    assert mapped["AAPL"] == "BusEq"  # 3571 electronic computers
    assert mapped["MSFT"] == "BusEq"  # 7372 prepackaged software
    assert mapped["XOM"] == "Enrgy"  # 2911 petroleum refining
    assert mapped["JNJ"] == "Hlth"  # 2834 pharmaceutical preparations
    assert mapped["KO"] == "NoDur"  # 2080 beverages
    assert mapped["PG"] == "Chems"  # 2840 soap and detergents
    assert mapped["TSLA"] == "Durbl"  # 3711 motor vehicles
    assert mapped["GE"] == "Manuf"  # 3724 aircraft engines
    assert mapped["T"] == "Telcm"  # 4813 telephone communications
    assert mapped["WMT"] == "Shops"  # 5331 variety stores
    assert mapped["JPM"] == "Money"  # 6021 national commercial banks
    assert mapped["AMC"] == "Other"  # 7832 motion picture theaters: in no FF12 range
    assert mapped["SPY"] == "Other"  # a trust with no SIC
    assert mapped["QQQ"] == "Other"  # not in SEC's ticker file at all
    assert len(mapped) == 30, "nothing is dropped for want of a sector"
