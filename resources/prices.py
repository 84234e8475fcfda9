"""Daily OHLCV behind one interface: Yahoo's chart JSON (keyless, a request per symbol), Tiingo (API
key, a request per symbol) and Polygon's (now Massive's) grouped daily aggregates (API key, the whole
US market for a day in one request).

Every provider returns raw, unadjusted prices plus the day's cash dividend and split ratio; the
adjusted close is computed downstream in dbt (fct_prices_daily), because providers' own adjusted
series are known to be wrong at times. A body that is not the provider's format (HTML with status
200, an error object) is rejected, never parsed into rows.

Requests go out `max_concurrent_requests` at a time, no faster than `requests_per_second` (a token
bucket shared by the run's threads, pyrate-limiter); a 429 is retried after its Retry-After. What the
providers allow (as published when this was written; check your plan):
- Yahoo: unofficial and keyless, limits unpublished (throttling with 429 beyond a few thousand
  requests an hour from one address is commonly reported); a symbol's whole history is one request,
  so the full market (11,000 symbols) is 11,000 requests, and so is every daily update.
- Tiingo: free plan 50 symbols an hour, 1,000 requests a day; paid plans far more. Per symbol, like
  Yahoo: 11,000 requests for the market's history or for one day.
- Polygon/Massive: free plan 5 requests a minute; paid plans unlimited. Grouped daily is one request
  per day for every symbol (plus one for the day's splits and one for its dividends): a daily update
  is 3 requests, the full history since 2009 about 13,500.
"""

import datetime as dt
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import ClassVar
from zoneinfo import ZoneInfo

import httpx
import polars as pl
from pydantic import Field, PrivateAttr
from pyrate_limiter import Duration, Limiter, Rate

from resources.http import HttpSource, SourceError, join_url, names_its_errors, parse_json
from resources.markets import base_symbol, market_of

YAHOO_BASE_URL = "https://query1.finance.yahoo.com"
TIINGO_BASE_URL = "https://api.tiingo.com"
POLYGON_BASE_URL = "https://api.polygon.io"
NEW_YORK = ZoneInfo("America/New_York")

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

PRICES_MEANINGS = {
    "trade_date": "The trading day of the bar (New York).",
    "symbol": "Ticker in the lake's form (class shares with a dot).",
    "open": "Raw (unadjusted) opening price in the listing currency.",
    "high": "Raw highest price of the day.",
    "low": "Raw lowest price of the day.",
    "close": "Raw closing price; adjusted prices are computed in dbt (fct_prices_daily).",
    "volume": "Shares traded that day (raw, not split-adjusted).",
    "dividend": "Cash dividend per share going ex on this day (0 on other days).",
    "split_ratio": "New shares per old share of a split taking effect this day (1 on other days).",
    "currency": "ISO code of the listing currency the prices are in.",
    "provider": "The price provider that answered (yahoo, tiingo or polygon).",
}


class PriceFormatError(SourceError):
    """A provider answered something that is not its documented format."""


@dataclass(frozen=True)
class PriceProvider:
    """A provider's host and key, reached through the resource's HTTP settings; subclasses say how to ask."""

    source: HttpSource
    base_url: str
    api_key: str | None = None

    name: ClassVar[str]
    bulk: ClassVar[bool] = False  # answers a whole market day in one request (market_day)

    def headers(self) -> dict[str, str]:
        """What the provider needs on every request (a key in a header never appears in a URL or a log)."""
        return {}

    def open_client(self) -> httpx.Client:
        return self.source.session(self.headers())

    def _get(self, client: httpx.Client, path: str, what: str) -> bytes:
        return self.source.fetch(client, join_url(self.base_url, path), what).content

    def daily(self, client: httpx.Client, symbol: str, start: dt.date, end: dt.date) -> pl.DataFrame:
        """Raw daily bars of `symbol` in [start, end], in PRICES_SCHEMA."""
        raise NotImplementedError

    def market_day(self, client: httpx.Client, day: dt.date) -> pl.DataFrame:
        """Every symbol's raw bar of `day`, in PRICES_SCHEMA (bulk providers only)."""
        raise NotImplementedError(f"{self.name} answers one symbol a request")


def yahoo_symbol(symbol: str) -> str:
    """Yahoo writes share classes with a dash and keeps the market's suffix: BRK.B is BRK-B, BP.A.L is
    BP-A.L, 7203.T stays 7203.T."""
    suffix = market_of(symbol).suffix
    return base_symbol(symbol).replace(".", "-") + suffix


@names_its_errors(PriceFormatError, lambda body, symbol: f"Yahoo chart {symbol}")
def parse_yahoo_chart(body: bytes, symbol: str) -> pl.DataFrame:
    """Yahoo's /v8/finance/chart JSON, un-adjusted for splits.

    Yahoo's `close` (and open/high/low, volume and dividend amounts) are adjusted for every split up to
    today, unlike the raw prints; multiplying back by the ratios of the splits after each day restores
    raw values, so every provider hands dbt the same kind of series. That needs every split up to
    today in `events.splits`, which Yahoo lists only within the requested period: YahooChart.daily
    therefore always asks through today.
    """
    what = f"Yahoo chart {symbol}"
    document = parse_json(body, what, PriceFormatError)
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
    events = result.get("events") or {}
    dividends = {_local_date(e["date"], zone): float(e["amount"]) for e in (events.get("dividends") or {}).values()}
    splits = {
        _local_date(e["date"], zone): float(e["numerator"]) / float(e["denominator"])
        for e in (events.get("splits") or {}).values()
    }
    # A whole history is thousands of bars: dates and factors are computed column-wise, never bar by bar.
    frame = (
        pl.DataFrame(
            {
                "timestamp": timestamps,
                **{c: quote.get(c, []) for c in ("open", "high", "low", "close", "volume")},
            },
            schema={"timestamp": pl.Int64(), **{c: pl.Float64() for c in ("open", "high", "low", "close", "volume")}},
        )
        .with_columns(pl.from_epoch("timestamp", "s").dt.replace_time_zone("UTC").dt.convert_time_zone(zone.key))
        .with_columns(pl.col("timestamp").dt.date().alias("trade_date"))
        .filter(pl.col("close").is_not_null())
        .unique("trade_date", keep="last", maintain_order=True)
    )
    later_splits = pl.lit(1.0)
    for day, ratio in splits.items():
        later_splits = later_splits * pl.when(pl.col("trade_date") < day).then(ratio).otherwise(1.0)
    return (
        frame.with_columns(later_splits.alias("later_splits"))
        .with_columns(
            *(pl.col(c) * pl.col("later_splits") for c in ("open", "high", "low", "close")),
            pl.col("volume") / pl.col("later_splits"),
            (
                pl.col("trade_date").replace_strict(dividends, default=0.0, return_dtype=pl.Float64())
                * pl.col("later_splits")
            ).alias("dividend"),
            pl.col("trade_date").replace_strict(splits, default=1.0, return_dtype=pl.Float64()).alias("split_ratio"),
            pl.lit(symbol).alias("symbol"),
            pl.lit(meta.get("currency") or "USD").alias("currency"),
            pl.lit("yahoo").alias("provider"),
        )
        .select(list(PRICES_SCHEMA))
        .cast(PRICES_SCHEMA)
    )


def _local_date(timestamp: object, zone: ZoneInfo) -> dt.date:
    """An event's day at the exchange (Yahoo dates events by the UTC second of the session's open)."""
    return dt.datetime.fromtimestamp(int(timestamp), zone).date()


@names_its_errors(PriceFormatError, lambda body, symbol: f"Tiingo {symbol}")
def parse_tiingo(body: bytes, symbol: str) -> pl.DataFrame:
    """Tiingo's /tiingo/daily/<ticker>/prices JSON: raw OHLCV with divCash and splitFactor per day."""
    what = f"Tiingo {symbol}"
    document = parse_json(body, what, PriceFormatError)
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
        schema={
            "trade_date": pl.Date(),
            **{c: pl.Float64() for c in ("open", "high", "low", "close", "volume", "dividend", "split_ratio")},
        },
    )
    return (
        frame.with_columns(
            pl.lit(symbol).alias("symbol"), pl.lit("USD").alias("currency"), pl.lit("tiingo").alias("provider")
        )
        .select(list(PRICES_SCHEMA))
        .cast(PRICES_SCHEMA)
    )


def _polygon_results(body: bytes, what: str) -> list[dict]:
    document = parse_json(body, what, PriceFormatError)
    if not isinstance(document, dict) or document.get("status") not in ("OK", "DELAYED"):
        status = document.get("status") if isinstance(document, dict) else type(document).__name__
        error = document.get("error") or document.get("message") if isinstance(document, dict) else None
        raise PriceFormatError(f"{what}: status {status!r}{f' ({error})' if error else ''}")
    results = document.get("results") or []
    if not isinstance(results, list):
        raise PriceFormatError(f"{what}: results is not a list")
    return results


@names_its_errors(PriceFormatError, lambda body, what, *_: what)
def parse_polygon_bars(body: bytes, what: str, symbol: str | None = None) -> pl.DataFrame:
    """Aggregates answers (grouped daily, or one ticker's range): o/h/l/c/v per bar, t in ms (New York
    midnight of the day); the ticker from `T` (grouped) or `symbol` (a ticker's range)."""
    bars = _polygon_results(body, what)
    for index, bar in enumerate(bars):
        missing = {"o", "h", "l", "c", "v", "t"} - set(bar) - ({"T"} if symbol else set())
        if missing or (symbol is None and "T" not in bar):
            raise PriceFormatError(f"{what}: bar {index} lacks {sorted(missing | ({'T'} - set(bar)))}")
    return pl.DataFrame(
        {
            "trade_date": [dt.datetime.fromtimestamp(b["t"] / 1000, NEW_YORK).date() for b in bars],
            "symbol": [symbol or b["T"] for b in bars],
            **{
                name: [float(b[key]) for b in bars]
                for name, key in (("open", "o"), ("high", "h"), ("low", "l"), ("close", "c"), ("volume", "v"))
            },
        },
        schema={
            "trade_date": pl.Date(),
            "symbol": pl.String(),
            **{c: pl.Float64() for c in ("open", "high", "low", "close", "volume")},
        },
    )


@names_its_errors(PriceFormatError, lambda body, what: what)
def parse_polygon_splits(body: bytes, what: str) -> pl.DataFrame:
    """/v3/reference/splits: split_to / split_from on execution_date (2-for-1: from 1, to 2)."""
    rows = [
        (dt.date.fromisoformat(r["execution_date"]), r["ticker"], float(r["split_to"]) / float(r["split_from"]))
        for r in _polygon_results(body, what)
    ]
    return pl.DataFrame(
        rows, schema={"trade_date": pl.Date(), "symbol": pl.String(), "split_ratio": pl.Float64()}, orient="row"
    ).unique(["trade_date", "symbol"], keep="first")


@names_its_errors(PriceFormatError, lambda body, what: what)
def parse_polygon_dividends(body: bytes, what: str) -> pl.DataFrame:
    """/v3/reference/dividends: cash amounts on their ex-dividend dates, summed per day."""
    rows = [
        (dt.date.fromisoformat(r["ex_dividend_date"]), r["ticker"], float(r["cash_amount"]))
        for r in _polygon_results(body, what)
        if r.get("cash_amount") is not None
    ]
    frame = pl.DataFrame(
        rows, schema={"trade_date": pl.Date(), "symbol": pl.String(), "dividend": pl.Float64()}, orient="row"
    )
    return frame.group_by("trade_date", "symbol").agg(pl.col("dividend").sum())


def with_events(bars: pl.DataFrame, splits: pl.DataFrame, dividends: pl.DataFrame, provider: str) -> pl.DataFrame:
    """Bars joined with the days' splits and dividends, in PRICES_SCHEMA."""
    return (
        bars.join(splits, on=["trade_date", "symbol"], how="left")
        .join(dividends, on=["trade_date", "symbol"], how="left")
        .with_columns(
            pl.col("split_ratio").fill_null(1.0),
            pl.col("dividend").fill_null(0.0),
            pl.lit("USD").alias("currency"),
            pl.lit(provider).alias("provider"),
        )
        .select(list(PRICES_SCHEMA))
        .cast(PRICES_SCHEMA)
    )


class YahooChart(PriceProvider):
    name = "yahoo"

    def headers(self) -> dict[str, str]:
        return {"User-Agent": "Mozilla/5.0 (tickerlake)"}

    def daily(self, client: httpx.Client, symbol: str, start: dt.date, end: dt.date) -> pl.DataFrame:
        """Asks from `start` through today, whatever `end` is: Yahoo's prices are adjusted for every split
        up to today but list only the splits inside the period, so a period ending before a later split
        would hand over adjusted prices as raw (see parse_yahoo_chart). The answer is cut to [start, end]."""
        period1 = int(dt.datetime.combine(start, dt.time(), dt.UTC).timestamp())
        period2 = int(dt.datetime.combine(dt.date.today() + dt.timedelta(days=2), dt.time(), dt.UTC).timestamp())
        path = (
            f"/v8/finance/chart/{yahoo_symbol(symbol)}"
            f"?period1={period1}&period2={period2}&interval=1d&events=div%7Csplit"
        )
        frame = parse_yahoo_chart(self._get(client, path, f"Yahoo chart {symbol}"), symbol)
        return frame.filter(pl.col("trade_date").is_between(start, end))


class Tiingo(PriceProvider):
    name = "tiingo"

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Token {self.api_key}"}

    def daily(self, client: httpx.Client, symbol: str, start: dt.date, end: dt.date) -> pl.DataFrame:
        path = (
            f"/tiingo/daily/{yahoo_symbol(symbol).lower()}/prices"
            f"?startDate={start.isoformat()}&endDate={end.isoformat()}&format=json"
        )
        return parse_tiingo(self._get(client, path, f"Tiingo {symbol}"), symbol)


class Polygon(PriceProvider):
    """Polygon.io (now Massive): raw (adjusted=false) aggregates plus the reference splits and dividends."""

    name = "polygon"
    bulk = True

    def headers(self) -> dict[str, str]:
        """Polygon accepts the key as a bearer token."""
        return {"Authorization": f"Bearer {self.api_key}"}

    def market_day(self, client: httpx.Client, day: dt.date) -> pl.DataFrame:
        return self._with_events(
            client,
            f"/v2/aggs/grouped/locale/us/market/stocks/{day}?adjusted=false",
            f"Polygon grouped daily {day}",
            f"execution_date={day}",
            f"ex_dividend_date={day}",
            str(day),
        )

    def daily(self, client: httpx.Client, symbol: str, start: dt.date, end: dt.date) -> pl.DataFrame:
        path = f"/v2/aggs/ticker/{symbol}/range/1/day/{start}/{end}?adjusted=false&limit=50000"
        query = f"ticker={symbol}"
        return self._with_events(client, path, f"Polygon aggregates {symbol}", query, query, symbol, symbol)

    def _with_events(
        self,
        client: httpx.Client,
        bars_path: str,
        what: str,
        split_query: str,
        dividend_query: str,
        label: str,
        symbol: str | None = None,
    ) -> pl.DataFrame:
        """Bars plus the splits and dividends that explain them: three requests."""
        bars = parse_polygon_bars(self._get(client, bars_path, what), what, symbol)
        splits_what, dividends_what = f"Polygon splits {label}", f"Polygon dividends {label}"
        splits = parse_polygon_splits(
            self._get(client, f"/v3/reference/splits?{split_query}&limit=1000", splits_what), splits_what
        )
        dividends = parse_polygon_dividends(
            self._get(client, f"/v3/reference/dividends?{dividend_query}&limit=1000", dividends_what), dividends_what
        )
        return with_events(bars, splits, dividends, self.name)


@dataclass(frozen=True)
class Fetched:
    """One symbol's answer: its bars, or the error that names what went wrong."""

    symbol: str
    frame: pl.DataFrame | None
    error: SourceError | None


class PricesResource(HttpSource):
    """Which provider to use, how to reach it and how hard; API keys come from EnvVars."""

    source_name: ClassVar[str] = "prices"
    provider: str = Field(default="yahoo", description="yahoo (keyless), tiingo or polygon (need an API key).")
    yahoo_base_url: str = YAHOO_BASE_URL
    tiingo_base_url: str = TIINGO_BASE_URL
    polygon_base_url: str = POLYGON_BASE_URL
    tiingo_api_key: str | None = Field(default=None, description="Set TICKERLAKE_TIINGO_API_KEY.")
    polygon_api_key: str | None = Field(default=None, description="Set TICKERLAKE_POLYGON_API_KEY.")
    max_concurrent_requests: int = Field(default=4, description="Requests in flight at once.")
    requests_per_second: float = Field(default=2.0, description="The provider's rate limit (a token bucket).")
    _limiter: Limiter | None = PrivateAttr(default=None)

    def build_provider(self) -> PriceProvider:
        if self.provider == "yahoo":
            return YahooChart(self, self.yahoo_base_url)
        if self.provider == "tiingo":
            if not self.tiingo_api_key:
                raise ValueError("the tiingo provider needs an API key: set TICKERLAKE_TIINGO_API_KEY")
            return Tiingo(self, self.tiingo_base_url, self.tiingo_api_key)
        if self.provider == "polygon":
            if not self.polygon_api_key:
                raise ValueError("the polygon provider needs an API key: set TICKERLAKE_POLYGON_API_KEY")
            return Polygon(self, self.polygon_base_url, self.polygon_api_key)
        raise ValueError(f"unknown price provider {self.provider!r}: use yahoo, tiingo or polygon")

    def _acquire(self, requests: int = 1) -> None:
        """Wait for the bucket's tokens: no provider sees more than requests_per_second."""
        if self._limiter is None:
            per_second = max(1, round(self.requests_per_second))
            interval_ms = int(Duration.SECOND * per_second / self.requests_per_second)
            self._limiter = Limiter(Rate(per_second, interval_ms))
        self._limiter.try_acquire("prices", weight=requests)

    def fetch_symbols(self, symbols: list[str], start: dt.date, end: dt.date) -> Iterator[Fetched]:
        """Each symbol's bars in [start, end], in the order they arrive, `max_concurrent_requests` at once.

        At most twice that many answers wait for the caller, so memory holds a few symbols' histories
        however many symbols a run has.
        """
        provider = self.build_provider()

        def one(client: httpx.Client, symbol: str) -> Fetched:
            self._acquire()
            try:
                return Fetched(symbol, provider.daily(client, symbol, start, end), None)
            except SourceError as error:
                return Fetched(symbol, None, error)
            except Exception as error:  # whatever a library raised: named, and the other symbols go on
                return Fetched(symbol, None, SourceError(f"{provider.name} {symbol}: {type(error).__name__}: {error}"))

        window = 2 * self.max_concurrent_requests
        with provider.open_client() as client, ThreadPoolExecutor(max_workers=self.max_concurrent_requests) as pool:
            pending: set[Future[Fetched]] = set()
            for symbol in symbols:
                if len(pending) >= window:
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    yield from (future.result() for future in done)
                pending.add(pool.submit(one, client, symbol))
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                yield from (future.result() for future in done)

    def fetch_market_day(self, day: dt.date) -> pl.DataFrame:
        """Every symbol's bar of `day` from a bulk provider (three requests: bars, splits, dividends)."""
        provider = self.build_provider()
        with provider.open_client() as client:
            self._acquire(requests=3)
            return provider.market_day(client, day)
