"""FINRA Reg SHO daily short sale volume: the client for cdn.finra.org and the parser of its files.

File layout (FINRA's "Daily Short Sale Volume File Layout"): a header row naming the columns, one
pipe-delimited row per symbol, and a trailer row holding the record count. Before 2011-02-28 the
header has no ShortExemptVolume column, so the parser goes by the header, never by position.

Two facts users get wrong: ShortVolume already includes ShortExemptVolume, and TotalVolume is only
the volume reported to FINRA's facilities (off-exchange), not the consolidated tape.
"""

import datetime as dt
import io
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import ClassVar

import httpx
import numpy as np
import polars as pl
from pydantic import Field

from resources.http import HttpSource, SourceError, join_url, names_its_errors
from resources.symbols import is_valid_symbol, normalized_symbols

DEFAULT_BASE_URL = "https://cdn.finra.org"


@dataclass(frozen=True)
class Facility:
    """One of FINRA's daily files: its code in the file name and the first day it was published."""

    code: str
    name: str
    first_day: dt.date


FACILITIES: tuple[Facility, ...] = (
    Facility("CNMS", "Consolidated NMS (all TRFs and the ADF)", dt.date(2018, 8, 1)),
    Facility("FNSQ", "FINRA/Nasdaq TRF Carteret", dt.date(2009, 8, 3)),
    Facility("FNQC", "FINRA/Nasdaq TRF Chicago", dt.date(2018, 9, 10)),
    Facility("FNYX", "FINRA/NYSE TRF", dt.date(2009, 8, 3)),
    Facility("FNRA", "Alternative Display Facility (ADF)", dt.date(2009, 8, 3)),
    Facility("FORF", "OTC Reporting Facility (ORF)", dt.date(2009, 8, 3)),
)

REQUIRED_COLUMNS = ("Date", "Symbol", "ShortVolume", "TotalVolume", "Market")
OPTIONAL_COLUMNS = ("ShortExemptVolume",)

SHORT_VOLUME_SCHEMA: dict[str, pl.DataType] = {
    "trade_date": pl.Date(),
    "symbol": pl.String(),
    "facility": pl.String(),
    "short_volume": pl.Float64(),
    "short_exempt_volume": pl.Float64(),
    "total_volume": pl.Float64(),
    "market": pl.String(),
}

SHORT_VOLUME_MEANINGS = {
    "trade_date": "The trading day the file reports (New York).",
    "symbol": "Ticker as FINRA prints it (class shares with a dot, e.g. BRK.B).",
    "facility": "The file it came from: CNMS (consolidated NMS), FNSQ/FNQC (Nasdaq TRFs), FNYX (NYSE TRF), "
    "FNRA (ADF), FORF (ORF, OTC).",
    "short_volume": "Shares sold short that day as reported to the facility, short-exempt included.",
    "short_exempt_volume": "Shares sold short under an exemption (null before 2011-02-28: no such column then).",
    "total_volume": "Shares traded as reported to the facility (off-exchange only, not the consolidated tape).",
    "market": "FINRA's market code(s) of the row (Q, B, N, D, O; CNMS lists the facilities it combines).",
}


class FinraFileError(SourceError):
    """A FINRA file is not in its published format; the message names facility, date and line."""


def facilities_on(day: dt.date) -> list[Facility]:
    """The facilities whose file exists for `day`: asking for CNMS before 2018-08-01 is a 404."""
    return [facility for facility in FACILITIES if facility.first_day <= day]


def file_name(facility: str, day: dt.date) -> str:
    return f"{facility}shvol{day:%Y%m%d}.txt"


def _split_trailer(rows: bytes) -> tuple[bytes, int | None]:
    """The data rows and the trailer's record count, when the last line is a bare number."""
    cut = rows.rfind(b"\n")
    last = rows[cut + 1 :]
    if b"|" not in last and last.strip().isdigit():
        return rows[: max(cut, 0)], int(last)
    return rows, None


def _fields_per_line(rows: bytes) -> np.ndarray:
    """How many fields each line has, counted on the bytes at once (no Python loop over rows)."""
    data = np.frombuffer(rows, dtype=np.uint8)
    newlines = np.flatnonzero(data == ord("\n"))
    starts = np.concatenate(([0], newlines + 1))
    ends = np.concatenate((newlines, [len(data)]))
    pipes = np.flatnonzero(data == ord("|"))
    return np.searchsorted(pipes, ends) - np.searchsorted(pipes, starts) + 1


@dataclass(frozen=True)
class ParsedFile:
    """A facility file's rows; the symbols that fit no ticker form (their rows are left out); whether
    the file carried FINRA's record-count trailer (it then matched: the file is complete)."""

    frame: pl.DataFrame
    rejected: tuple[str, ...] = ()
    complete: bool = False


@names_its_errors(FinraFileError, lambda body, facility, day: f"FINRA {facility} {day} ({file_name(facility, day)})")
def parse_short_volume(body: bytes, facility: str, day: dt.date) -> ParsedFile:
    """Parse one facility file into SHORT_VOLUME_SCHEMA, refusing anything off-format.

    Errors name the facility, the day and the 1-based line of the file, so a user can open the file
    at that line; nothing is partially accepted. Symbols are FINRA's CQS forms (BRK/B, ABRpA),
    normalised to the lake's one form (BRK.B, ABR$A: resources.symbols.normalize_symbol) so they join
    the directory and the prices; a symbol that fits no ticker form is left out and reported.
    """
    where = f"FINRA {facility} {day.isoformat()} ({file_name(facility, day)})"
    text = body.rstrip(b"\r\n")  # FINRA ends lines with CRLF; polars and the checks below take the \r as is
    if not text.strip():
        raise FinraFileError(f"{where}: empty file, expected a header line")
    header_line, _, rest = text.partition(b"\n")
    header_line = header_line.rstrip(b"\r")
    header = header_line.decode("ascii", errors="replace").strip().split("|")
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    unknown = [c for c in header if c not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    if missing or unknown:
        raise FinraFileError(
            f"{where} line 1: unexpected header {header_line[:200]!r} (missing {missing}, unknown {unknown})"
        )
    rows, trailer_count = _split_trailer(rest)
    fields = _fields_per_line(rows) if rows else np.array([], dtype=np.int64)
    if trailer_count is not None and trailer_count != len(fields):
        raise FinraFileError(
            f"{where}: record count mismatch, trailer says {trailer_count} but the file has {len(fields)} rows "
            "(truncated or corrupted file)"
        )
    bad = np.flatnonzero(fields != len(header))
    if bad.size:
        line = rows.split(b"\n")[bad[0]].rstrip(b"\r")
        raise FinraFileError(
            f"{where} line {bad[0] + 2}: expected {len(header)} fields, got {fields[bad[0]]}: {line[:200]!r}"
        )
    schema = {name: pl.String() for name in header}
    raw = (
        pl.read_csv(
            io.BytesIO(rows), has_header=False, new_columns=header, separator="|", quote_char=None, schema=schema
        )
        if rows
        else pl.DataFrame(schema=schema)
    )
    return _with_valid_symbols(_typed(raw, facility, day, where), complete=trailer_count is not None)


def _with_valid_symbols(frame: pl.DataFrame, complete: bool) -> ParsedFile:
    checked = frame.with_columns(normalized_symbols(pl.col("symbol")).alias("normalized"))
    valid = checked.select(is_valid_symbol(pl.col("normalized")))["normalized"]
    kept = checked.filter(valid).with_columns(pl.col("normalized").alias("symbol")).drop("normalized")
    return ParsedFile(kept, tuple(checked.filter(~valid)["symbol"].to_list()), complete)


def _typed(raw: pl.DataFrame, facility: str, day: dt.date, where: str) -> pl.DataFrame:
    """Typed columns and the row checks in one polars query.

    Each check as its own Series operation was a query of its own (14 per file, 4x the time of the
    CSV read itself); here polars runs them together, and a file is only walked row by row to
    name the first bad line once a check has failed.
    """
    if "ShortExemptVolume" not in raw.columns:
        raw = raw.with_columns(pl.lit(None, pl.String()).alias("ShortExemptVolume"))
    trade_date = pl.col("trade_date")
    problems = {
        "a date that is not YYYYMMDD": trade_date.is_null(),
        f"a date other than {day:%Y%m%d}": trade_date != day,
        "an empty symbol": pl.col("symbol").fill_null("") == "",
        "a ShortVolume that is not a finite number >= 0": ~_finite_non_negative("short_volume"),
        "a TotalVolume that is not a finite number >= 0": ~_finite_non_negative("total_volume"),
        "a ShortExemptVolume that is not a finite number >= 0": pl.col("ShortExemptVolume").is_not_null()
        & ~_finite_non_negative("short_exempt_volume"),
        "a ShortVolume above the TotalVolume": (pl.col("short_volume") > pl.col("total_volume")).fill_null(False),
        "a ShortExemptVolume above the ShortVolume": (pl.col("short_exempt_volume") > pl.col("short_volume")).fill_null(
            False
        ),
    }
    checked = raw.select(
        pl.col("Date").str.strptime(pl.Date(), "%Y%m%d", strict=False).alias("trade_date"),
        pl.col("Symbol").str.strip_chars().alias("symbol"),
        pl.lit(facility).alias("facility"),
        pl.col("ShortVolume").cast(pl.Float64(), strict=False).alias("short_volume"),
        pl.col("ShortExemptVolume").cast(pl.Float64(), strict=False).alias("short_exempt_volume"),
        pl.col("TotalVolume").cast(pl.Float64(), strict=False).alias("total_volume"),
        pl.col("Market").str.strip_chars().alias("market"),
        pl.col("ShortExemptVolume"),
    )
    first_bad = checked.select(
        bad.fill_null(False).arg_true().first().alias(what) for what, bad in problems.items()
    ).row(0, named=True)
    for what, index in first_bad.items():
        if index is not None:
            values = "|".join(str(v) for v in raw.row(index))
            raise FinraFileError(f"{where} line {index + 2}: {what}: {values!r}")
    return checked.drop("ShortExemptVolume")


def _finite_non_negative(column: str) -> pl.Expr:
    """Not null, not NaN or infinity (a float parse takes 'nan' and 'inf'), not below zero."""
    return (pl.col(column).is_finite() & (pl.col(column) >= 0)).fill_null(False)


@dataclass(frozen=True)
class FetchedDay:
    """The outcome of one trading day: its rows, or the error that names what went wrong."""

    day: dt.date
    frame: pl.DataFrame | None
    error: SourceError | None
    rejected: tuple[str, ...] = ()
    complete: bool = False  # every facility file carried its record-count trailer


class FinraClient(HttpSource):
    """Fetches FINRA's daily short sale volume files from the CDN (or a mirror with its URL layout)."""

    source_name: ClassVar[str] = "FINRA"
    base_url: str = Field(default=DEFAULT_BASE_URL, description="Host serving /equity/regsho/daily/.")
    parallel_days: int = Field(default=4, description="Trading days fetched and parsed at once.")

    def url(self, facility: str, day: dt.date) -> str:
        return join_url(self.base_url, f"/equity/regsho/daily/{file_name(facility, day)}")

    def fetch_days(self, days: Iterable[dt.date]) -> Iterator[FetchedDay]:
        """Each day's facility files as one frame, or the error that day hit, in order.

        A day is all or nothing: one bad facility file fails the whole day, so no day is ever
        half-loaded. Errors do not stop the other days of a ranged run. `parallel_days` days are in
        flight at once (downloads and parsing overlap); at most that many wait in memory.
        """

        def fetch(client: httpx.Client, day: dt.date) -> FetchedDay:
            try:
                files = self._fetch_day(client, day)
            except SourceError as exc:
                return FetchedDay(day, None, exc)
            except Exception as exc:  # a library's own error (a parser's division, a codec): name the day
                return FetchedDay(day, None, SourceError(f"FINRA {day}: {type(exc).__name__}: {exc}"))
            frame = (
                pl.concat([f.frame for f in files], how="vertical")
                if files
                else pl.DataFrame(schema=SHORT_VOLUME_SCHEMA)
            )
            return FetchedDay(
                day, frame, None, tuple(s for f in files for s in f.rejected), all(f.complete for f in files)
            )

        with (
            self.session() as client,
            ThreadPoolExecutor(max_workers=self.parallel_days) as pool,
        ):
            pending: deque[Future[FetchedDay]] = deque()
            for day in days:
                pending.append(pool.submit(fetch, client, day))
                if len(pending) >= self.parallel_days:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()

    def _fetch_day(self, client: httpx.Client, day: dt.date) -> list[ParsedFile]:
        files = []
        for facility in facilities_on(day):
            body = self.fetch(client, self.url(facility.code, day), f"FINRA {facility.code} {day.isoformat()}").content
            files.append(parse_short_volume(body, facility.code, day))
        return files
