"""Daily OHLCV per symbol behind one interface, with a keyless provider (Yahoo's chart JSON) and
Tiingo (API key from TICKERLAKE_TIINGO_API_KEY).

Every provider returns raw, unadjusted prices plus the day's cash dividend and split ratio; the
adjusted close is computed downstream in dbt (fct_prices_daily), because providers' own adjusted
series are known to be wrong at times. A body that is not the provider's format (HTML with status
200, an error object) is rejected, never parsed into rows.
"""

import datetime as dt
import json
from typing import Protocol
from zoneinfo import ZoneInfo

import dagster as dg
import httpx
import polars as pl
from pydantic import Field

from resources.http import RetryPolicy, SourceError, get_bytes

YAHOO_BASE_URL = "https://query1.finance.yahoo.com"
TIINGO_BASE_URL = "https://api.tiingo.com"

PRICES_SCHEMA: dict[str, pl.DataType] = {
    "trade_date": pl.Date(),
    "symbol": pl.String(),
    "open": pl.Float64(),
    "high": pl.Float64(),
    "low": pl.Float64(),
    "close": pl.Float64(),
    "volume": pl.Float64(),
    "dividend": pl.Float64(),
    "split_ratio": pl.Float64(),
    "currency": pl.String(),
    "provider": pl.String(),
}


class PriceFormatError(SourceError):
    """A provider answered something that is not its documented format."""


def _json(body: bytes, what: str) -> object:
    try:
        return json.loads(body)
    except ValueError as exc:
        raise PriceFormatError(f"{what}: not JSON (starts {body[:60]!r})") from exc


class PriceProvider(Protocol):
    name: str

    def open_client(self, timeout: float) -> httpx.Client:
        """An HTTP client carrying whatever the provider needs on every request."""
        ...

    def daily(self, client: httpx.Client, symbol: str, start: dt.date, end: dt.date) -> pl.DataFrame:
        """Raw daily bars of `symbol` in [start, end], in PRICES_SCHEMA."""
        ...


def yahoo_symbol(symbol: str) -> str:
    """Yahoo writes share classes with a dash: BRK.B is BRK-B."""
    return symbol.replace(".", "-")


def parse_yahoo_chart(body: bytes, symbol: str) -> pl.DataFrame:
    """Yahoo's /v8/finance/chart JSON, un-adjusted for splits.

    Yahoo's `close` (and open/high/low, volume and dividend amounts) are already split-adjusted,
    unlike the raw prints; multiplying back by the later splits' ratios restores raw values, so
    every provider hands dbt the same kind of series.
    """
    what = f"Yahoo chart {symbol}"
    document = _json(body, what)
    chart = document.get("chart") if isinstance(document, dict) else None
    if not isinstance(chart, dict) or "result" not in chart:
        raise PriceFormatError(f"{what}: not a chart response")
    if chart.get("error"):
        raise PriceFormatError(f"{what}: Yahoo error {chart['error']!r}")
    [result] = chart["result"]
    meta = result["meta"]
    zone = ZoneInfo(meta.get("exchangeTimezoneName") or "America/New_York")
    timestamps = result.get("timestamp") or []
    quote = result["indicators"]["quote"][0] if timestamps else {}
    days = [dt.datetime.fromtimestamp(ts, zone).date() for ts in timestamps]
    events = result.get("events") or {}
    dividends = {dt.datetime.fromtimestamp(int(e["date"]), zone).date(): float(e["amount"])
                 for e in (events.get("dividends") or {}).values()}
    splits = {dt.datetime.fromtimestamp(int(e["date"]), zone).date(): float(e["numerator"]) / float(e["denominator"])
              for e in (events.get("splits") or {}).values()}
    frame = pl.DataFrame(
        {
            "trade_date": days,
            "open": quote.get("open", []), "high": quote.get("high", []), "low": quote.get("low", []),
            "close": quote.get("close", []), "volume": quote.get("volume", []),
        },
        schema={"trade_date": pl.Date(), **{c: pl.Float64() for c in ("open", "high", "low", "close", "volume")}},
    ).filter(pl.col("close").is_not_null())
    later_splits = pl.Series([_product(r for d, r in splits.items() if d > day) for day in frame["trade_date"]],
                             dtype=pl.Float64())
    return frame.with_columns(
        *(pl.col(c) * later_splits for c in ("open", "high", "low", "close")),
        pl.col("volume") / later_splits,
        (pl.col("trade_date").replace_strict(dividends, default=0.0, return_dtype=pl.Float64()) * later_splits)
        .alias("dividend"),
        pl.col("trade_date").replace_strict(splits, default=1.0, return_dtype=pl.Float64()).alias("split_ratio"),
        pl.lit(symbol).alias("symbol"),
        pl.lit(meta.get("currency") or "USD").alias("currency"),
        pl.lit("yahoo").alias("provider"),
    ).select(list(PRICES_SCHEMA)).cast(PRICES_SCHEMA)


def _product(values: object) -> float:
    result = 1.0
    for value in values:
        result *= value
    return result


def parse_tiingo(body: bytes, symbol: str) -> pl.DataFrame:
    """Tiingo's /tiingo/daily/<ticker>/prices JSON: raw OHLCV with divCash and splitFactor per day."""
    what = f"Tiingo {symbol}"
    document = _json(body, what)
    if not isinstance(document, list):
        detail = document.get("detail") if isinstance(document, dict) else None
        raise PriceFormatError(f"{what}: expected a list of bars, got {detail or type(document).__name__!r}")
    required = {"date", "open", "high", "low", "close", "volume", "divCash", "splitFactor"}
    for index, bar in enumerate(document):
        if not isinstance(bar, dict) or not required <= bar.keys():
            raise PriceFormatError(f"{what}: bar {index} lacks {sorted(required - set(bar or {}))}")
    frame = pl.DataFrame(
        {
            "trade_date": [dt.date.fromisoformat(bar["date"][:10]) for bar in document],
            **{c: [bar[c] for bar in document] for c in ("open", "high", "low", "close", "volume")},
            "dividend": [bar["divCash"] for bar in document],
            "split_ratio": [bar["splitFactor"] for bar in document],
        },
        schema={"trade_date": pl.Date(), **{c: pl.Float64() for c in
                ("open", "high", "low", "close", "volume", "dividend", "split_ratio")}},
    )
    return frame.with_columns(
        pl.lit(symbol).alias("symbol"), pl.lit("USD").alias("currency"), pl.lit("tiingo").alias("provider")
    ).select(list(PRICES_SCHEMA)).cast(PRICES_SCHEMA)


class YahooChart:
    name = "yahoo"

    def __init__(self, base_url: str, policy: RetryPolicy) -> None:
        self._base_url = base_url.rstrip("/")
        self._policy = policy

    def open_client(self, timeout: float) -> httpx.Client:
        return httpx.Client(timeout=timeout, headers={"User-Agent": "Mozilla/5.0 (tickerlake)"})

    def daily(self, client: httpx.Client, symbol: str, start: dt.date, end: dt.date) -> pl.DataFrame:
        period1 = int(dt.datetime.combine(start, dt.time(), dt.UTC).timestamp())
        period2 = int(dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), dt.UTC).timestamp())
        url = (f"{self._base_url}/v8/finance/chart/{yahoo_symbol(symbol)}"
               f"?period1={period1}&period2={period2}&interval=1d&events=div%7Csplit")
        return parse_yahoo_chart(get_bytes(client, url, what=f"Yahoo chart {symbol}", policy=self._policy), symbol)


class Tiingo:
    name = "tiingo"

    def __init__(self, base_url: str, api_key: str, policy: RetryPolicy) -> None:
        self._base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._policy = policy

    def open_client(self, timeout: float) -> httpx.Client:
        """The key travels in the Authorization header, so it never appears in a URL or a log line."""
        return httpx.Client(timeout=timeout, headers={"Authorization": f"Token {self._api_key}"})

    def daily(self, client: httpx.Client, symbol: str, start: dt.date, end: dt.date) -> pl.DataFrame:
        url = (f"{self._base_url}/tiingo/daily/{yahoo_symbol(symbol).lower()}/prices"
               f"?startDate={start.isoformat()}&endDate={end.isoformat()}&format=json")
        return parse_tiingo(get_bytes(client, url, what=f"Tiingo {symbol}", policy=self._policy), symbol)


class PricesResource(dg.ConfigurableResource):
    """Which provider to use and how to reach it; tiingo_api_key comes from an EnvVar."""

    provider: str = Field(default="yahoo", description="yahoo (keyless) or tiingo (needs tiingo_api_key).")
    yahoo_base_url: str = YAHOO_BASE_URL
    tiingo_base_url: str = TIINGO_BASE_URL
    tiingo_api_key: str | None = Field(default=None, description="Set TICKERLAKE_TIINGO_API_KEY.")
    timeout_seconds: float = 30.0
    retry_attempts: int = 5
    max_retry_wait_seconds: float = 60.0

    def build_provider(self) -> PriceProvider:
        policy = RetryPolicy(attempts=self.retry_attempts, max_wait=self.max_retry_wait_seconds)
        if self.provider == "yahoo":
            return YahooChart(self.yahoo_base_url, policy)
        if self.provider == "tiingo":
            if not self.tiingo_api_key:
                raise ValueError("the tiingo provider needs an API key: set TICKERLAKE_TIINGO_API_KEY")
            return Tiingo(self.tiingo_base_url, self.tiingo_api_key, policy)
        raise ValueError(f"unknown price provider {self.provider!r}: use yahoo or tiingo")
