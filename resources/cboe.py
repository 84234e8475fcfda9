"""Cboe's daily index histories (VIX and its term structure, VVIX) from its keyless CSV downloads.

`https://cdn.cboe.com/api/global/us_indices/daily_prices/{INDEX}_History.csv` answers one index's whole
history, oldest first, one trading day a line, dates MM/DD/YYYY. Cboe serves two layouts on that path:
`DATE,OPEN,HIGH,LOW,CLOSE` (VIX from 1990, VIX9D, VIX3M) and, for the indexes it publishes as a close
only, `DATE,<INDEX>` (`DATE,VVIX`, `DATE,SKEW`). Both are read; a close-only row has no open, high or
low (null), never a made-up one.

Cboe's own rows are not always consistent: tens of real VIX rows have OPEN outside LOW..HIGH (11/08/2004
opens at 2.58 in a 20s day). Such a row is flagged (open_outside_range, close_outside_range), never
refused: the close is what features use, and refusing the row would refuse the index. What is refused
is what is not Cboe's layout at all (an unknown header, a bad date, a value that is not a number, a
date twice), naming index, file and line: storing part of a history that does not parse would leave
holes nobody sees.
"""

import re
from typing import ClassVar

import polars as pl
from pydantic import Field

from resources.http import HttpSource, SourceError, join_url, names_its_errors

DEFAULT_BASE_URL = "https://cdn.cboe.com"
DIRECTORY = "/api/global/us_indices/daily_prices"
DEFAULT_INDEXES = "VIX,VIX9D,VIX3M,VVIX"
OHLC_HEADER = ("DATE", "OPEN", "HIGH", "LOW", "CLOSE")
PRICES = ("open", "high", "low", "close")
SYMBOL = re.compile(r"[A-Z0-9]{1,20}")

CBOE_SCHEMA: dict[str, pl.DataType] = {
    "index_symbol": pl.String(),
    "trade_date": pl.Date(),
    "open": pl.Float64(),
    "high": pl.Float64(),
    "low": pl.Float64(),
    "close": pl.Float64(),
    "open_outside_range": pl.Boolean(),
    "close_outside_range": pl.Boolean(),
}
CBOE_MEANINGS = {
    "index_symbol": "Cboe's index symbol as in the file's name (VIX, VIX9D, VIX3M, VVIX).",
    "trade_date": "The trading day the values are of (Cboe's DATE). Its close is disseminated at 16:15 New "
    "York, the end of SPX options' regular trading hours: use a row from then on, not from the date.",
    "open": "The index's first value of the day, in index points (annualized volatility in percent for "
    "the VIX family); null for an index Cboe publishes as a close only (VVIX).",
    "high": "The day's highest value; null for a close-only index.",
    "low": "The day's lowest value; null for a close-only index.",
    "close": "The index's closing value, as Cboe's file lists it today (Cboe revises past rows; the "
    "values a revision replaced are in history.cboe_index_history).",
    "open_outside_range": "True where Cboe's OPEN lies outside its LOW..HIGH (tens of real VIX rows, "
    "e.g. 2004-11-08): kept, flagged, not to be trusted as an open. False for a close-only index.",
    "close_outside_range": "True where Cboe's CLOSE lies outside its LOW..HIGH; false for a close-only index.",
}


class CboeFileError(SourceError):
    """A Cboe download that is not the index's history in one of Cboe's layouts; names index, file and line."""


def index_list(configured: str) -> list[str]:
    """The index symbols of a comma-separated setting, upper-cased, each once, in the order given. A
    symbol is letters and digits only: it becomes part of a URL path."""
    found: list[str] = []
    for part in configured.split(","):
        index = part.strip().upper()
        if index and not SYMBOL.fullmatch(index):
            raise ValueError(f"Cboe index {index[:40]!r}: an index symbol is letters and digits (VIX, VIX9D)")
        if index and index not in found:
            found.append(index)
    return found


def file_name(index: str) -> str:
    return f"{index}_History.csv"


def _describe(body: bytes, index: str) -> str:
    return f"Cboe {index} ({file_name(index)})"


@names_its_errors(CboeFileError, _describe)
def parse_history(body: bytes, index: str) -> pl.DataFrame:
    """One index's history in CBOE_SCHEMA, oldest first; the first line that is not Cboe's layout is named.

    Every line is typed at once in polars; only when a check fails is the first offending line looked up.
    """
    what = _describe(body, index)
    lines = body.decode("utf-8-sig").replace("\r\n", "\n").rstrip("\n").split("\n")
    header = tuple(cell.strip().upper() for cell in lines[0].split(","))
    if header == OHLC_HEADER:
        columns = list(PRICES)
    elif header == ("DATE", index):
        columns = ["close"]
    else:
        raise CboeFileError(
            f"{what} line 1: unexpected header {lines[0][:200]!r}, expected {','.join(OHLC_HEADER)!r} or 'DATE,{index}'"
        )
    if len(lines) < 2:
        raise CboeFileError(f"{what}: no rows after the header (Cboe's file holds the index's whole history)")
    fields = ["date_text", *(f"{c}_text" for c in columns)]
    numbered = pl.DataFrame({"text": lines[1:]}, schema={"text": pl.String()}).with_row_index("line", offset=2)
    split = numbered.with_columns(
        pl.col("text").str.count_matches(",", literal=True).alias("commas"),
        pl.col("text").str.split_exact(",", len(columns)).struct.rename_fields(fields).alias("f"),
    ).unnest("f")
    typed = split.with_columns(pl.col(f).str.strip_chars() for f in fields).with_columns(
        pl.col("date_text").str.strptime(pl.Date(), "%m/%d/%Y", strict=False).alias("trade_date"),
        *(pl.col(f"{c}_text").cast(pl.Float64(), strict=False).alias(c) for c in columns),
    )
    problems = {
        f"expected {len(fields)} fields ({', '.join(header)})": pl.col("commas") != len(columns),
        "a date that is not MM/DD/YYYY": pl.col("trade_date").is_null()
        | ~pl.col("date_text").str.contains(r"^\d{1,2}/\d{1,2}/\d{4}$"),
        "a value that is not a finite number": ~pl.all_horizontal(
            pl.col(c).is_finite() & pl.col(f"{c}_text").str.contains(r"^[+-]?(\d+\.?\d*|\.\d+)$") for c in columns
        ),
    }
    for problem, rule in problems.items():
        bad = typed.filter(rule.fill_null(True))
        if bad.height:
            line, text = bad.select("line", "text").row(0)
            raise CboeFileError(f"{what} line {line}: {problem}: {text[:200]!r} ({bad.height} such lines)")
    duplicated = typed.filter(pl.col("trade_date").is_duplicated())
    if duplicated.height:
        line, text = duplicated.select("line", "text").row(0)
        raise CboeFileError(f"{what} line {line}: a date listed twice: {text[:200]!r}")
    missing = [pl.lit(None, pl.Float64()).alias(c) for c in PRICES if c not in columns]
    return (
        typed.with_columns(*missing)
        .select(pl.lit(index).alias("index_symbol"), "trade_date", *PRICES)
        .with_columns(
            outside_range("open").alias("open_outside_range"),
            outside_range("close").alias("close_outside_range"),
        )
        .sort("trade_date")
    )


def outside_range(column: str) -> pl.Expr:
    """True where `column` lies outside the row's LOW..HIGH; false where there is no range (close only)."""
    return (~pl.col(column).is_between(pl.col("low"), pl.col("high"))).fill_null(False)


class CboeClient(HttpSource):
    """Cboe's daily index histories, one index per request (a host with cdn.cboe.com's URL layout)."""

    source_name: ClassVar[str] = "Cboe"
    base_url: str = Field(default=DEFAULT_BASE_URL, description=f"Host serving {DIRECTORY}/<INDEX>_History.csv.")
    indexes: str = Field(
        default=DEFAULT_INDEXES, description="Comma-separated Cboe index symbols the raw asset keeps (VIX,VVIX)."
    )

    @property
    def index_symbols(self) -> list[str]:
        return index_list(self.indexes)

    def url(self, index: str) -> str:
        return join_url(self.base_url, f"{DIRECTORY}/{file_name(index)}")

    def fetch_index(self, index: str) -> pl.DataFrame:
        """One index's whole history in CBOE_SCHEMA; SourceFileMissing when Cboe has no such file."""
        with self.session() as client:
            response = self.fetch(client, self.url(index), f"Cboe {index}")
        return parse_history(response.content, index)
