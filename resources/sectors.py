"""SEC EDGAR: ticker -> CIK from company_tickers_exchange.json, CIK -> SIC from the submissions API.

SEC asks every client for a User-Agent naming who is calling and allows at most 10 requests a
second; the User-Agent comes from configuration (TICKERLAKE_SEC_USER_AGENT) and never from code.
"""

import threading
import time
from collections.abc import Iterable, Iterator
from typing import ClassVar

import httpx
import polars as pl
from pydantic import Field, PrivateAttr

from resources.http import HttpSource, SourceError, join_url, names_its_errors, parse_json

DEFAULT_WWW_URL = "https://www.sec.gov"
DEFAULT_DATA_URL = "https://data.sec.gov"

TICKERS_SCHEMA: dict[str, pl.DataType] = {
    "cik": pl.Int64(),
    "company_name": pl.String(),
    "symbol": pl.String(),
    "sec_exchange": pl.String(),
}
SIC_SCHEMA: dict[str, pl.DataType] = {"cik": pl.Int64(), "sic": pl.Int64(), "sic_description": pl.String()}

SIC_MEANINGS = {
    "cik": "SEC's Central Index Key of the filer.",
    "sic": "Standard Industrial Classification code from the filer's submissions (null for some funds).",
    "sic_description": "SEC's description of the SIC code.",
}

TICKERS_MEANINGS = {
    "cik": "SEC's Central Index Key of the filer.",
    "company_name": "The filer's name as SEC lists it.",
    "symbol": "Ticker as SEC lists it (class shares with a dash, e.g. BRK-B).",
    "sec_exchange": "Exchange as SEC lists it (null for some filers).",
}


class SecFormatError(SourceError):
    """An SEC answer that is not the JSON SEC documents (an HTML block page, say)."""


def json_object(body: bytes, what: str) -> dict:
    """SEC's answers are JSON objects; anything else (a list, an HTML block page) is SecFormatError."""
    document = parse_json(body, what, SecFormatError)
    if not isinstance(document, dict):
        raise SecFormatError(f"{what}: expected a JSON object")
    return document


@names_its_errors(SecFormatError, lambda body: "SEC company_tickers_exchange.json")
def parse_company_tickers_exchange(body: bytes) -> pl.DataFrame:
    """{"fields": ["cik","name","ticker","exchange"], "data": [[320193, "Apple Inc.", "AAPL", "Nasdaq"], ...]}"""
    what = "SEC company_tickers_exchange.json"
    document = json_object(body, what)
    fields = document.get("fields")
    if fields != ["cik", "name", "ticker", "exchange"] or not isinstance(document.get("data"), list):
        raise SecFormatError(f"{what}: unexpected fields {fields!r}")
    return pl.DataFrame(document["data"], schema=list(TICKERS_SCHEMA), orient="row").cast(TICKERS_SCHEMA)


@names_its_errors(SecFormatError, lambda body, cik: f"SEC submissions CIK{cik:010d}")
def parse_submission(body: bytes, cik: int) -> dict[str, object]:
    """The SIC of one filer; an empty "sic" (some funds and trusts have none) stays null."""
    what = f"SEC submissions CIK{cik:010d}"
    document = json_object(body, what)
    if "sic" not in document:
        raise SecFormatError(f"{what}: no 'sic' field")
    sic = str(document.get("sic") or "").strip()
    return {
        "cik": cik,
        "sic": int(sic) if sic.isdigit() else None,
        "sic_description": document.get("sicDescription") or None,
    }


class _Throttle:
    """At most `rate` calls a second across threads: SEC blocks clients that go faster."""

    def __init__(self, rate: float) -> None:
        self._interval = 1.0 / rate
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = time.monotonic()
            delay = self._next - now
            self._next = max(now, self._next) + self._interval
        if delay > 0:
            time.sleep(delay)


class SecSource(HttpSource):
    """What every client of SEC's hosts shares: the declared User-Agent SEC requires ("Company Name
    admin@example.com"), www.sec.gov, and the 10-a-second limit SEC enforces per client."""

    source_name: ClassVar[str] = "SEC"
    user_agent: str = Field(description="Sent as User-Agent; set TICKERLAKE_SEC_USER_AGENT.")
    www_url: str = Field(default=DEFAULT_WWW_URL, description="Host serving /files/ (tickers, fails-to-deliver).")
    max_requests_per_second: float = Field(default=10.0, description="SEC's limit: at most 10 a second.")
    _throttle: _Throttle | None = PrivateAttr(default=None)

    def throttled_get(self, client: httpx.Client, url: str, what: str) -> httpx.Response:
        """GET with the retry policy, never faster than max_requests_per_second across threads."""
        if self._throttle is None:
            self._throttle = _Throttle(self.max_requests_per_second)
        self._throttle.wait()
        return self.fetch(client, url, what)


class SecClient(SecSource):
    """EDGAR client: the ticker table from www.sec.gov, SIC codes from the submissions API."""

    data_url: str = Field(default=DEFAULT_DATA_URL, description="Host serving /submissions/ (the EDGAR API).")

    def company_tickers(self) -> pl.DataFrame:
        with self.session() as client:
            url = join_url(self.www_url, "/files/company_tickers_exchange.json")
            return parse_company_tickers_exchange(
                self.throttled_get(client, url, "SEC company_tickers_exchange.json").content
            )

    def sic_codes(self, ciks: Iterable[int]) -> Iterator[dict[str, object]]:
        """One submissions request per CIK, throttled; yields as it goes so progress can be logged."""
        with self.session() as client:
            for cik in ciks:
                url = join_url(self.data_url, f"/submissions/CIK{cik:010d}.json")
                yield parse_submission(self.throttled_get(client, url, f"SEC submissions CIK{cik:010d}").content, cik)
