"""SEC fails-to-deliver: every security's aggregate fails-to-deliver balance per settlement date, from
the National Securities Clearing Corporation's CNS system, published by SEC twice a month.

SEC posts one zip per half-month at www.sec.gov/files/data/fails-deliver-data/cnsfails{YYYYMM}{a|b}.zip
since July 2009 (cnsfails200907a; earlier data is in another, quarterly layout). SEC's page says `a`
covers settlement dates 1st-15th and `b` 16th-month end, but its files put the 15th in `b`
(cnsfails202101b holds 2021-01-15, cnsfails202009a ends 2020-09-14): the 15th is accepted in either.
A file is posted roughly two weeks to a month after its half-month ends; until then SEC answers 404
(or 403, which is also its answer to a client without a declared User-Agent: SecSource always sends one).

Layout: each zip holds one text file, pipe-delimited, Latin-1, LF line ends, header
`SETTLEMENT DATE|CUSIP|SYMBOL|QUANTITY (FAILS)|DESCRIPTION|PRICE`, dates YYYYMMDD, PRICE `.` when SEC
has none (an empty PRICE is read the same), and two trailer lines, `Trailer record count N` and
`Trailer total quantity of shares N`.
Copies passed around (a real one is in tests/fixtures/real/ftd/) sometimes lack the trailers: such a
file is read, but it does not say it is complete, so it may not shrink a stored half-month. A trailer
that disagrees with the rows is a truncated or corrupted file and is refused.

QUANTITY is the balance of shares failed as of that settlement date (new fails plus those still open,
minus those settled), not the day's new fails; PRICE is the previous day's closing price SEC attaches.
CUSIP names the security; SYMBOL is reused over time and class shares lose their separator (LENB).
"""

import calendar
import datetime as dt
import email.utils
import io
import re
import zipfile
from dataclasses import dataclass
from typing import ClassVar

import polars as pl

from resources.http import SourceError, join_url, names_its_errors
from resources.sectors import SecSource
from resources.symbols import normalized_symbols, split_valid_symbols

PATH = "/files/data/fails-deliver-data/{stem}.zip"
HEADER = "SETTLEMENT DATE|CUSIP|SYMBOL|QUANTITY (FAILS)|DESCRIPTION|PRICE"
RAW_COLUMNS = ("settlement_date", "cusip", "symbol", "quantity", "description", "price")
MISSING_PRICE = "."
TRAILER_COUNT = re.compile(r"^Trailer record count (\d+)$")
TRAILER_QUANTITY = re.compile(r"^Trailer total quantity of shares (\d+)$")
LAST_OF_A = 15  # the 15th may be in either half (see above)

FAILS_SCHEMA: dict[str, pl.DataType] = {
    "half_month": pl.String(),
    "settlement_date": pl.Date(),
    "cusip": pl.String(),
    "symbol": pl.String(),
    "quantity": pl.Int64(),
    "description": pl.String(),
    "price": pl.Float64(),
    "published_at": pl.Datetime("us", "UTC"),
}
FAILS_MEANINGS = {
    "half_month": "The file's half-month and the partition key: 2024-03a (SEC's cnsfails202403a.zip), 2024-03b.",
    "settlement_date": "The settlement date the balance is as of.",
    "cusip": "The security's 9-character CUSIP (its stable identifier; symbols are reused).",
    "symbol": "Ticker as SEC prints it, in the lake's form; null where SEC left it blank. Class shares "
    "lose their separator in SEC's files (LENB for LEN.B).",
    "quantity": "Shares failed to deliver as of the settlement date: the open balance, not the day's new fails.",
    "description": "The security's name as SEC prints it (cut at 30 characters, Latin-1 decoded).",
    "price": "The closing price of the previous trading day as SEC attaches it; null where SEC wrote '.'.",
    "published_at": "When SEC published the file: its HTTP Last-Modified, or the time tickerlake first fetched "
    "these rows when the server sent none. Use a row only from this time on.",
}


class FailsFileError(SourceError):
    """A fails-to-deliver file that is not in SEC's layout or not of its half-month; names file and line."""


class TrailerMismatch(FailsFileError):
    """The file's trailer disagrees with its rows: truncated or corrupted, never stored."""


@dataclass(frozen=True, order=True)
class HalfMonth:
    """One of SEC's files: a month and its half, `a` (1st-15th) or `b` (15th-month end)."""

    year: int
    month: int
    half: str

    @classmethod
    def from_key(cls, key: str) -> "HalfMonth":
        match = re.fullmatch(r"(\d{4})-(\d{2})([ab])", key)
        if match is None:
            raise ValueError(f"not a half-month key (YYYY-MMa or YYYY-MMb): {key!r}")
        return cls(int(match[1]), int(match[2]), match[3])

    @classmethod
    def containing(cls, day: dt.date) -> "HalfMonth":
        return cls(day.year, day.month, "a" if day.day < LAST_OF_A else "b")

    @property
    def key(self) -> str:
        return f"{self.year:04d}-{self.month:02d}{self.half}"

    @property
    def stem(self) -> str:
        return f"cnsfails{self.year:04d}{self.month:02d}{self.half}"

    @property
    def file_name(self) -> str:
        return f"{self.stem}.zip"

    @property
    def first_day(self) -> dt.date:
        return dt.date(self.year, self.month, 1 if self.half == "a" else LAST_OF_A)

    @property
    def last_day(self) -> dt.date:
        end = LAST_OF_A if self.half == "a" else calendar.monthrange(self.year, self.month)[1]
        return dt.date(self.year, self.month, end)

    def following(self) -> "HalfMonth":
        if self.half == "a":
            return HalfMonth(self.year, self.month, "b")
        return HalfMonth(self.year + self.month // 12, self.month % 12 + 1, "a")


FIRST_HALF_MONTH = HalfMonth(2009, 7, "a")  # cnsfails200907a: the first file in this layout


def half_months(first: HalfMonth, last: HalfMonth) -> list[HalfMonth]:
    found, half = [], first
    while half <= last:
        found.append(half)
        half = half.following()
    return found


@dataclass(frozen=True)
class Trailer:
    record_count: int
    total_quantity: int


@dataclass(frozen=True)
class ParsedFails:
    """A file's rows in FAILS_SCHEMA (without half_month and published_at, which the fetch adds), the
    symbols refused for not having the lake's form (their rows are left out), and the trailer, when the
    file has it (it then reconciled with every row: the file is complete)."""

    frame: pl.DataFrame
    rejected: tuple[str, ...]
    trailer: Trailer | None


def unzip_text(body: bytes, half: HalfMonth) -> bytes:
    """The one text file of SEC's zip, whatever its member is called (SEC names it after the zip)."""
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        members = [info for info in archive.infolist() if not info.is_dir()]
        if len(members) != 1:
            raise FailsFileError(
                f"SEC fails-to-deliver {half.file_name}: expected one file, found {[m.filename for m in members]}"
            )
        return archive.read(members[0])


@names_its_errors(FailsFileError, lambda text, half, name=None: f"SEC fails-to-deliver {name or half.file_name}")
def parse_fails(text: bytes, half: HalfMonth, name: str | None = None) -> ParsedFails:
    """Parse one half-month's text file, refusing anything off-format; `name` is what errors call it.

    Every line is checked at once in polars (field count, date of this half-month, CUSIP, quantity,
    price); the first bad one is named with its 1-based line number, and nothing is partially accepted.
    """
    what = f"SEC fails-to-deliver {name or half.file_name}"
    lines = text.replace(b"\r\n", b"\n").decode("latin-1").rstrip("\n").split("\n")
    if lines[0].strip() != HEADER:
        raise FailsFileError(f"{what} line 1: unexpected header {lines[0][:200]!r}, expected {HEADER!r}")
    rows, trailer = _split_trailer(lines[1:], what)
    numbered = pl.DataFrame({"text": rows}, schema={"text": pl.String()}).with_row_index("line", offset=2)
    fields = pl.col("text").str.count_matches("|", literal=True) + 1
    _refuse_first(numbered.filter(fields != len(RAW_COLUMNS)), what, f"expected {len(RAW_COLUMNS)} fields")
    split = numbered.with_columns(
        pl.col("text").str.split_exact("|", len(RAW_COLUMNS) - 1).struct.rename_fields(list(RAW_COLUMNS)).alias("f")
    ).unnest("f")
    frame = _typed(split, half, what)
    if trailer is not None:
        _reconcile(frame, trailer, what)
    # A blank symbol stays null (the CUSIP names the row); one that fits no ticker form is left out, reported.
    named = frame.filter(pl.col("symbol").is_not_null())
    kept, refused = split_valid_symbols(named.with_columns(normalized_symbols(pl.col("symbol")).alias("symbol")))
    blank = frame.filter(pl.col("symbol").is_null())
    return ParsedFails(pl.concat([kept, blank]).sort("settlement_date", "cusip"), tuple(refused), trailer)


def _split_trailer(lines: list[str], what: str) -> tuple[list[str], Trailer | None]:
    """The data lines and SEC's two trailer lines (None when the file has neither: a copy without them).

    One trailer line without the other, or a `Trailer` line that is not one of SEC's two, is refused:
    half a trailer says the file was cut."""
    cut = len(lines)
    while cut and lines[cut - 1].startswith("Trailer"):
        cut -= 1
    rows, tail = lines[:cut], lines[cut:]
    if not tail:
        return rows, None
    count = [m for m in map(TRAILER_COUNT.match, tail) if m]
    quantity = [m for m in map(TRAILER_QUANTITY.match, tail) if m]
    if len(tail) != 2 or len(count) != 1 or len(quantity) != 1:
        raise FailsFileError(
            f"{what} line {cut + 2}: expected the two trailer lines 'Trailer record count N' and "
            f"'Trailer total quantity of shares N', found {tail[:3]!r}"
        )
    return rows, Trailer(int(count[0][1]), int(quantity[0][1]))


def _refuse_first(bad: pl.DataFrame, what: str, problem: str) -> None:
    if bad.height:
        line, text = bad.row(0)[:2]
        raise FailsFileError(f"{what} line {line}: {problem}: {text[:200]!r} ({bad.height} such lines)")


def _typed(split: pl.DataFrame, half: HalfMonth, what: str) -> pl.DataFrame:
    """Typed columns, and every row check in one polars query; the file is only looked at line by line
    to name the first bad one once a check has failed."""
    blank = pl.lit(None, pl.String())
    typed = split.with_columns(pl.col(c).str.strip_chars() for c in RAW_COLUMNS).select(
        "line",
        "text",
        pl.col("settlement_date").str.strptime(pl.Date(), "%Y%m%d", strict=False),
        pl.col("settlement_date").alias("settlement_text"),
        "cusip",
        pl.when(pl.col("symbol") == "").then(blank).otherwise(pl.col("symbol")).alias("symbol"),
        pl.col("quantity").cast(pl.Int64(), strict=False),
        pl.when(pl.col("description") == "").then(blank).otherwise(pl.col("description")).alias("description"),
        # SEC writes '.' for no price; an empty field is read as none too (other parsers report blank prices)
        pl.when(pl.col("price").is_in([MISSING_PRICE, ""])).then(blank).otherwise(pl.col("price")).alias("price_text"),
    )
    typed = typed.with_columns(pl.col("price_text").cast(pl.Float64(), strict=False).alias("price"))
    problems = {
        "a SETTLEMENT DATE that is not YYYYMMDD": pl.col("settlement_date").is_null()
        | ~pl.col("settlement_text").str.contains(r"^\d{8}$"),
        f"a settlement date outside {half.first_day}..{half.last_day}": ~pl.col("settlement_date").is_between(
            half.first_day, half.last_day
        ),
        "a CUSIP that is not 9 letters and digits": ~pl.col("cusip").str.contains(r"^[0-9A-Z]{9}$"),
        "a QUANTITY (FAILS) that is not a whole number above 0": pl.col("quantity").is_null()
        | (pl.col("quantity") <= 0),
        f"a PRICE that is neither '{MISSING_PRICE}' nor a finite number >= 0": pl.col("price_text").is_not_null()
        & ~(pl.col("price").is_finite() & (pl.col("price") >= 0)).fill_null(False),
    }
    flagged = typed.with_columns(**{f"_{i}": rule.fill_null(True) for i, rule in enumerate(problems.values())})
    for i, problem in enumerate(problems):
        _refuse_first(flagged.filter(pl.col(f"_{i}")), what, problem)
    return typed.select(RAW_COLUMNS)


def _reconcile(frame: pl.DataFrame, trailer: Trailer, what: str) -> None:
    rows, quantity = frame.height, int(frame["quantity"].sum())
    if (rows, quantity) != (trailer.record_count, trailer.total_quantity):
        raise TrailerMismatch(
            f"{what}: the trailer does not reconcile: it says {trailer.record_count:,} records and "
            f"{trailer.total_quantity:,} shares, the file has {rows:,} rows and {quantity:,} shares "
            "(truncated or corrupted file)"
        )


def published_at(last_modified: str | None, fetched_at: dt.datetime) -> tuple[dt.datetime, str]:
    """When SEC published a file, and from what: its Last-Modified (the server's own time for the file
    it serves), else the time of the fetch (the latest the file can have been published)."""
    if last_modified:
        try:
            stamped = email.utils.parsedate_to_datetime(last_modified)
        except (TypeError, ValueError):
            stamped = None
        if stamped is not None and stamped.tzinfo is not None:
            return stamped.astimezone(dt.UTC), "Last-Modified"
    return fetched_at, "fetch time"


@dataclass(frozen=True)
class FetchedFails:
    """A half-month's file as fetched: its parse, when SEC published it, and what says so."""

    half: HalfMonth
    parsed: ParsedFails
    published_at: dt.datetime
    published_from: str

    @property
    def frame(self) -> pl.DataFrame:
        """The rows as the lake stores them (FAILS_SCHEMA)."""
        return self.parsed.frame.with_columns(
            pl.lit(self.half.key).alias("half_month"),
            pl.lit(self.published_at, dtype=pl.Datetime("us", "UTC")).alias("published_at"),
        ).select(list(FAILS_SCHEMA))


class SecFailsClient(SecSource):
    """Fetches SEC's half-monthly fails-to-deliver zips from www.sec.gov (or a mirror with its URL layout)."""

    source_name: ClassVar[str] = "SEC fails-to-deliver"
    missing_statuses: ClassVar[frozenset[int]] = frozenset({403, 404})

    def url(self, half: HalfMonth) -> str:
        return join_url(self.www_url, PATH.format(stem=half.stem))

    def fetch_half_month(self, half: HalfMonth) -> FetchedFails:
        """One half-month's file, parsed; SourceFileMissing while SEC has not published it."""
        with self.session() as client:
            response = self.throttled_get(client, self.url(half), f"SEC fails-to-deliver {half.file_name}")
        fetched_at = dt.datetime.now(dt.UTC)
        when, source = published_at(response.headers.get("Last-Modified"), fetched_at)
        return FetchedFails(half, parse_fails(unzip_text(response.content, half), half), when, source)
