"""Binance spot klines: the public archive (data.binance.vision) for history, the REST API for the tail.

Archive layout: data/spot/{monthly,daily}/klines/{PAIR}/{interval}/{PAIR}-{interval}-{YYYY-MM[-DD]}.zip,
each zip holding one header-less CSV of 12 columns, each beside a `.CHECKSUM` file
(`<sha256>  <file name>`). A zip is used only after its SHA-256 matches. Spot archives switched their
timestamps from milliseconds to microseconds on 2025-01-01; both are read, by magnitude, into UTC.

REST: GET /api/v3/klines (1,000 rows a request, weight 2) and GET /api/v3/ticker/24hr (all pairs,
weight 80), counted against the per-IP budget of 6,000 weight a minute that Binance reports in the
X-MBX-USED-WEIGHT-1M header. The client waits for the next minute before it would cross a share of
that budget, backs off on 429 honoring Retry-After, and stops at once on 418 (a ban).
"""

import datetime as dt
import hashlib
import io
import re
import time
import zipfile
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import ClassVar

import httpx
import polars as pl
from pydantic import Field

from resources.http import HttpSource, SourceError, SourceFileMissing, join_url, names_its_errors, parse_json

DEFAULT_DATA_URL = "https://data.binance.vision"
DEFAULT_API_URL = "https://api.binance.com"
INTERVAL = "1m"
MINUTE = dt.timedelta(minutes=1)
KLINES_PER_REQUEST = 1000
KLINES_WEIGHT, TICKER_24HR_WEIGHT = 2, 80
TAIL_DAYS = 2  # days whose daily archives are not published yet: the REST API serves them
DAY = dt.timedelta(days=1)

# Binance spot symbols: upper-case letters and digits (BTCUSDT, 1000SATSUSDT). Anything else never
# becomes a partition key, a lake path or a URL.
PAIR_PATTERN = re.compile(r"[A-Z0-9]{2,20}")

CSV_COLUMNS = (
    "open_time",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "close_time",
    "quote_volume",
    "trades",
    "taker_buy_base_volume",
    "taker_buy_quote_volume",
    "ignore",
)
UTC_MICROS = pl.Datetime("us", "UTC")
KLINES_SCHEMA: dict[str, pl.DataType] = {
    "pair": pl.String(),
    "open_time": UTC_MICROS,
    "open": pl.Float64(),
    "high": pl.Float64(),
    "low": pl.Float64(),
    "close": pl.Float64(),
    "volume": pl.Float64(),
    "close_time": UTC_MICROS,
    "quote_volume": pl.Float64(),
    "trades": pl.Int64(),
    "taker_buy_base_volume": pl.Float64(),
    "taker_buy_quote_volume": pl.Float64(),
}
UNIVERSE_SCHEMA: dict[str, pl.DataType] = {
    "snapshot_date": pl.Date(),
    "rank": pl.Int64(),
    "pair": pl.String(),
    "quote_asset": pl.String(),
    "quote_volume_24h": pl.Float64(),
    "trades_24h": pl.Int64(),
}
# Microsecond epochs have 16 digits, millisecond ones 13: anything at or above this is microseconds.
_MICROS_THRESHOLD = 10**15
# Leveraged tokens (BTCUPUSDT) and stablecoin pairs are not markets worth ranking.
_LEVERAGED = re.compile(r".+(UP|DOWN|BULL|BEAR)$")
STABLECOINS = frozenset({"USDC", "FDUSD", "TUSD", "BUSD", "DAI", "USDP", "USDT", "EUR", "PAX", "UST", "USDD"})

UNIVERSE_MEANINGS = {
    "snapshot_date": "UTC day of the 24h ticker the ranking comes from.",
    "rank": "Place by 24h quote volume (1 = most traded).",
    "pair": "Binance spot symbol.",
    "quote_asset": "The universe's quote asset (USDT by default).",
    "quote_volume_24h": "Quote asset traded over the 24 hours.",
    "trades_24h": "Trades over the 24 hours.",
}

KLINES_MEANINGS = {
    "pair": "Binance spot symbol (e.g. BTCUSDT).",
    "open_time": "Start of the one-minute bar, UTC.",
    "open": "First trade price of the minute, in the quote asset.",
    "high": "Highest trade price of the minute.",
    "low": "Lowest trade price of the minute.",
    "close": "Last trade price of the minute.",
    "volume": "Base asset traded in the minute.",
    "close_time": "End of the minute, UTC (open_time + 59.999 s).",
    "quote_volume": "Quote asset traded in the minute.",
    "trades": "Number of trades in the minute.",
    "taker_buy_base_volume": "Base asset bought by takers (aggressive buyers).",
    "taker_buy_quote_volume": "Quote asset spent by takers on buys.",
}


class InvalidPair(ValueError):
    """A pair name that does not match PAIR_PATTERN."""


class KlinesFormatError(SourceError):
    """A kline file or response that is not in Binance's format; the message names file and line."""


class ChecksumMismatch(SourceError):
    """An archive whose SHA-256 differs from its .CHECKSUM file: it is never parsed."""


def validate_pair(pair: str) -> str:
    if not isinstance(pair, str) or not PAIR_PATTERN.fullmatch(pair):
        shown = pair[:40] if isinstance(pair, str) else pair
        raise InvalidPair(f"invalid pair {shown!r}: pairs must match {PAIR_PATTERN.pattern}")
    return pair


def archive_name(pair: str, period: str, interval: str = INTERVAL) -> str:
    """`period` is YYYY-MM (monthly archive) or YYYY-MM-DD (daily archive)."""
    return f"{validate_pair(pair)}-{interval}-{period}.zip"


def _to_utc(column: str) -> pl.Expr:
    """Epoch integers in ms or µs (by magnitude, per row) as UTC timestamps at millisecond precision.

    Milliseconds are what the API and every archive before 2025 carry; truncating the µs archives'
    close_time (…59.999999) to them makes a minute identical whichever source it came from.
    """
    raw = pl.col(column)
    micros = pl.when(raw >= _MICROS_THRESHOLD).then(raw).otherwise(raw * 1000)
    return micros.cast(pl.Datetime("us")).dt.truncate("1ms").dt.replace_time_zone("UTC").alias(column)


def _typed(raw: pl.DataFrame, pair: str, where: str) -> pl.DataFrame:
    """The 12 string columns as KLINES_SCHEMA; the first unparsable row is named by its line."""
    integer_columns = ("open_time", "close_time", "trades")
    typed = raw.select(
        pl.lit(pair).alias("pair"),
        *(pl.col(c).cast(pl.Int64(), strict=False) for c in integer_columns),
        *(pl.col(c).cast(pl.Float64(), strict=False) for c in KLINES_SCHEMA if c not in (*integer_columns, "pair")),
    )
    bad = pl.any_horizontal(pl.all().is_null())
    invalid = typed.select(
        bad | (pl.col("high") < pl.col("low")) | (pl.col("volume") < 0) | (pl.col("close_time") < pl.col("open_time"))
    ).to_series()
    if invalid.any():
        index = int(invalid.arg_true()[0])
        raise KlinesFormatError(f"{where} row {index + 1}: not a valid kline: {','.join(map(str, raw.row(index)))!r}")
    typed = typed.with_columns(_to_utc("open_time"), _to_utc("close_time")).select(list(KLINES_SCHEMA))
    duplicated = typed["open_time"].is_duplicated()
    if duplicated.any():
        index = int(duplicated.arg_true()[0])
        raise KlinesFormatError(f"{where} row {index + 1}: open_time {typed['open_time'][index]} appears twice")
    return typed.sort("open_time")


@names_its_errors(KlinesFormatError, lambda body, pair, name: f"Binance {name}")
def parse_klines_csv(body: bytes, pair: str, name: str) -> pl.DataFrame:
    """One archive CSV: 12 comma-separated columns, no header (a header row is tolerated)."""
    lines = body.replace(b"\r\n", b"\n").rstrip(b"\n")
    offset = 0
    if lines[:1].isalpha():
        lines = lines.partition(b"\n")[2]
        offset = 1
    if not lines:
        return pl.DataFrame(schema=KLINES_SCHEMA)
    counts = [line.count(b",") + 1 for line in lines.split(b"\n")]
    for number, count in enumerate(counts, start=1 + offset):
        if count != len(CSV_COLUMNS):
            raise KlinesFormatError(
                f"Binance {name} line {number}: expected {len(CSV_COLUMNS)} fields, got {count} (truncated or not "
                "a kline file)"
            )
    raw = pl.read_csv(
        io.BytesIO(lines),
        has_header=False,
        new_columns=list(CSV_COLUMNS),
        schema=dict.fromkeys(CSV_COLUMNS, pl.String()),
    )
    return _typed(raw, pair, f"Binance {name}")


@names_its_errors(KlinesFormatError, lambda body, pair, what: what)
def parse_klines_json(body: bytes, pair: str, what: str) -> pl.DataFrame:
    """The REST answer: a JSON array of 12-element arrays (times as integers, prices as strings)."""
    rows = parse_json(body, what, KlinesFormatError)
    if not isinstance(rows, list) or any(not isinstance(r, list) or len(r) != len(CSV_COLUMNS) for r in rows):
        raise KlinesFormatError(f"{what}: not an array of {len(CSV_COLUMNS)}-element klines (starts {body[:80]!r})")
    if not rows:
        return pl.DataFrame(schema=KLINES_SCHEMA)
    raw = pl.DataFrame([[str(v) for v in row] for row in rows], schema=list(CSV_COLUMNS), orient="row")
    return _typed(raw, pair, what)


@names_its_errors(KlinesFormatError, lambda body, name: f"Binance {name}")
def unzip_single_csv(body: bytes, name: str) -> bytes:
    try:
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            members = [m for m in archive.namelist() if m.endswith(".csv")]
            if len(members) != 1:
                raise KlinesFormatError(f"Binance {name}: expected one CSV in the zip, found {members}")
            return archive.read(members[0])
    except zipfile.BadZipFile as exc:
        raise KlinesFormatError(f"Binance {name}: not a zip file ({exc})") from exc


@names_its_errors(KlinesFormatError, lambda body, checksum_file, name: f"Binance {name}.CHECKSUM")
def verify_checksum(body: bytes, checksum_file: bytes, name: str) -> None:
    """`.CHECKSUM` holds `<sha256 hex>  <file name>`; the archive is refused unless both agree, and a
    checksum that names another file (a mirror's mix-up) is not this archive's."""
    fields = checksum_file.decode("ascii", errors="replace").split()
    if len(fields) != 2 or not re.fullmatch(r"[0-9a-f]{64}", fields[0]):
        raise KlinesFormatError(f"Binance {name}.CHECKSUM: not a '<sha256>  <file name>' line: {checksum_file[:100]!r}")
    if fields[1] != name:
        raise ChecksumMismatch(f"Binance {name}.CHECKSUM names {fields[1][:80]!r}, not this archive")
    actual = hashlib.sha256(body).hexdigest()
    if actual != fields[0]:
        raise ChecksumMismatch(f"Binance {name}: SHA-256 {actual} does not match .CHECKSUM {fields[0]}")


def parse_ticker_24hr(body: bytes, quote_asset: str, top_n: int, day: dt.date) -> pl.DataFrame:
    """The top `top_n` `quote_asset` pairs by 24h quote volume."""
    return ranked_pairs(body, quote_asset, day).head(top_n)


@names_its_errors(KlinesFormatError, lambda *_: "Binance /api/v3/ticker/24hr")
def ranked_pairs(body: bytes, quote_asset: str, day: dt.date) -> pl.DataFrame:
    """Every traded `quote_asset` pair ranked by 24h quote volume; leveraged tokens and stablecoin bases
    are left out."""
    tickers = parse_json(body, "Binance ticker/24hr")
    if not isinstance(tickers, list) or any(not isinstance(t, dict) or "symbol" not in t for t in tickers):
        raise SourceError("Binance ticker/24hr: not an array of ticker objects")
    rows = []
    for ticker in tickers:
        pair = str(ticker["symbol"])
        base = pair.removesuffix(quote_asset)
        if (
            not pair.endswith(quote_asset)
            or not PAIR_PATTERN.fullmatch(pair)
            or base in STABLECOINS
            or _LEVERAGED.fullmatch(base)
            or int(ticker.get("count", 0)) == 0
        ):
            continue
        rows.append((pair, float(ticker["quoteVolume"]), int(ticker["count"])))
    rows.sort(key=lambda row: (-row[1], row[0]))
    return pl.DataFrame(
        [(day, rank, pair, quote_asset, volume, trades) for rank, (pair, volume, trades) in enumerate(rows, 1)],
        schema=UNIVERSE_SCHEMA,
        orient="row",
    )


def to_millis(moment: dt.datetime) -> int:
    return int(moment.timestamp() * 1000)


@dataclass(frozen=True)
class Fetched:
    """Klines of one pair that replace what the lake holds for [start, end)."""

    source: str
    start: dt.datetime
    end: dt.datetime
    frame: pl.DataFrame


def midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def next_month(day: dt.date) -> dt.date:
    """The first day of the month after `day`'s."""
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def whole_months(days: list[dt.date]) -> tuple[list[str], list[dt.date]]:
    """Months the days cover completely (a monthly zip each) and the remaining days (daily zips)."""
    by_month: dict[str, list[dt.date]] = defaultdict(list)
    for day in days:
        by_month[f"{day:%Y-%m}"].append(day)
    months, rest = [], []
    for month, in_month in by_month.items():
        if len(in_month) == (next_month(in_month[0]) - in_month[0].replace(day=1)).days:
            months.append(month)
        else:
            rest.extend(in_month)
    return months, rest


class _WeightBudget:
    """Binance's per-minute request weight, as the server last reported it."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    def before(self, weight: int) -> None:
        """Wait for the next minute when this request would cross the budget."""
        if self.used + weight > self.limit:
            time.sleep(60.5 - time.time() % 60)
            self.used = 0

    def after(self, response: httpx.Response) -> None:
        reported = response.headers.get("X-MBX-USED-WEIGHT-1M")
        if reported and reported.isdigit():
            self.used = int(reported)


class BinanceClient(HttpSource):
    """Binance spot market data: the archive host for history, the REST API for the tail and the universe."""

    source_name: ClassVar[str] = "Binance"
    data_url: str = Field(default=DEFAULT_DATA_URL, description="Host serving /data/spot/... archives.")
    api_url: str = Field(default=DEFAULT_API_URL, description="Host serving /api/v3/... (REST).")
    top_n: int = Field(default=100, description="Pairs in the universe: the top N by 24h quote volume.")
    quote_asset: str = Field(default="USDT", description="The universe's quote asset.")
    weight_budget: int = Field(default=4800, description="Request weight per minute to stay under (Binance: 6,000).")

    def open(self) -> "BinanceSession":
        return BinanceSession(self)

    def archive_url(self, pair: str, period: str) -> str:
        cadence = "monthly" if len(period) == 7 else "daily"
        return join_url(self.data_url, f"/data/spot/{cadence}/klines/{pair}/{INTERVAL}/{archive_name(pair, period)}")


class BinanceSession:
    """One HTTP client and one weight budget, shared by every request of a run."""

    def __init__(self, config: BinanceClient) -> None:
        self._config = config
        self._budget = _WeightBudget(config.weight_budget)
        self._client = config.session()

    def __enter__(self) -> "BinanceSession":
        return self

    def __exit__(self, *exc: object) -> None:
        self._client.close()

    def archive(self, pair: str, period: str) -> pl.DataFrame | None:
        """The archive of `period` (YYYY-MM or YYYY-MM-DD), checksum-verified; None when not published."""
        url = self._config.archive_url(pair, period)
        name = archive_name(pair, period)
        try:
            body = self._config.fetch(self._client, url, f"Binance {name}").content
        except SourceFileMissing:
            return None
        checksum = self._config.fetch(self._client, f"{url}.CHECKSUM", f"Binance {name}.CHECKSUM").content
        verify_checksum(body, checksum, name)
        return parse_klines_csv(unzip_single_csv(body, name), pair, name)

    def _api(self, path: str, weight: int, what: str, params: dict[str, str | int] | None = None) -> bytes:
        self._budget.before(weight)
        response = self._config.fetch(self._client, join_url(self._config.api_url, path), what, params)
        self._budget.after(response)
        return response.content

    def klines(self, pair: str, start: dt.datetime, end: dt.datetime) -> pl.DataFrame:
        """1m klines opening in [start, end), paged 1,000 at a time from the REST API."""
        return pl.concat([pl.DataFrame(schema=KLINES_SCHEMA), *self._pages(validate_pair(pair), start, end)])

    def _pages(self, pair: str, start: dt.datetime, end: dt.datetime) -> Iterator[pl.DataFrame]:
        while start < end:
            what = f"Binance klines {pair} from {start:%Y-%m-%d %H:%M}"
            params = {
                "symbol": pair,
                "interval": INTERVAL,
                "startTime": to_millis(start),
                "endTime": to_millis(end) - 1,
                "limit": KLINES_PER_REQUEST,
            }
            page = parse_klines_json(self._api("/api/v3/klines", KLINES_WEIGHT, what, params), pair, what)
            page = page.filter(pl.col("open_time").is_between(start, end, closed="left"))
            if page.is_empty():
                return
            yield page
            if page.height < KLINES_PER_REQUEST:
                return
            start = page["open_time"][-1] + MINUTE

    def first_open_time(self, pair: str) -> dt.datetime | None:
        """The pair's first minute on Binance (klines from startTime=0, limit 1): where history starts."""
        what = f"Binance first kline {pair}"
        params = {"symbol": validate_pair(pair), "interval": INTERVAL, "startTime": 0, "limit": 1}
        first = parse_klines_json(self._api("/api/v3/klines", KLINES_WEIGHT, what, params), pair, what)
        return None if first.is_empty() else first["open_time"][0]

    def ranked_pairs(self, quote_assets: list[str], day: dt.date) -> dict[str, pl.DataFrame]:
        """Each quote asset's traded pairs ranked by 24h quote volume, from one ticker/24hr call."""
        body = self._api("/api/v3/ticker/24hr", TICKER_24HR_WEIGHT, "Binance ticker/24hr")
        return {quote: ranked_pairs(body, quote, day) for quote in quote_assets}

    def fetch_pair(
        self, pair: str, days: list[dt.date], now: dt.datetime, last_stored: Callable[[dt.date], dt.datetime | None]
    ) -> Iterator[Fetched]:
        """Everything a run fetches for one pair, oldest first: monthly archives for whole months, daily
        archives for other days, the REST API for the last TAIL_DAYS days (from the minute after
        `last_stored(day)`) and for any day whose archive is not published; days before the pair's listing
        are skipped."""
        if len(days) > TAIL_DAYS:
            listed = self.first_open_time(pair)
            if listed is None:
                return
            days = [d for d in days if d >= listed.date()]
        tail_start = now.date() - dt.timedelta(days=TAIL_DAYS - 1)
        yield from self._from_archives(pair, [d for d in days if d < tail_start])
        for day in (d for d in days if d >= tail_start):
            yield self._tail(pair, day, now, last_stored(day))

    def _from_archives(self, pair: str, days: list[dt.date]) -> Iterator[Fetched]:
        """Monthly zips for whole months, daily zips for the rest; an unpublished zip falls back a level."""
        months, single_days = whole_months(days)
        for month in months:
            frame = self.archive(pair, month)
            first = dt.date.fromisoformat(f"{month}-01")
            month_days = [d for d in days if f"{d:%Y-%m}" == month]
            if frame is None:
                single_days.extend(month_days)
            else:
                yield Fetched("monthly archive", midnight(first), midnight(month_days[-1] + DAY), frame)
        for day in sorted(single_days):
            frame = self.archive(pair, f"{day:%Y-%m-%d}")
            if frame is None:
                start, end = midnight(day), midnight(day + DAY)
                yield Fetched("api", start, end, self.klines(pair, start, end))
            else:
                yield Fetched("daily archive", midnight(day), midnight(day + DAY), frame)

    def _tail(self, pair: str, day: dt.date, now: dt.datetime, last: dt.datetime | None) -> Fetched:
        """The day's minutes after the last stored one, up to now; the open (unfinished) minute is left out."""
        start = last + dt.timedelta(minutes=1) if last else midnight(day)
        end = min(midnight(day + DAY), now)
        frame = self.klines(pair, start, end) if start < end else pl.DataFrame(schema=KLINES_SCHEMA)
        return Fetched("api", start, end, frame.filter(pl.col("close_time") < now))
