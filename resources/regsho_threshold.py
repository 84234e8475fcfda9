"""Nasdaq's Reg SHO threshold list: the Nasdaq-listed securities with persistent fails to deliver.

A threshold security (Regulation SHO, Rule 203(c)(6)) had, for five consecutive settlement days,
aggregate fails to deliver of 10,000 shares or more and at least 0.5% of its shares outstanding; each
listing market publishes the list of its own listings every trading day, and a position in a security
on the list for 13 consecutive settlement days must be closed out (Rule 203(b)(3)). Nasdaq Trader posts
Nasdaq's list at www.nasdaqtrader.com/dynamic/symdir/regsho/nasdaqth{YYYYMMDD}.txt after the day's
close (its page shows files created at about 23:00 New York time); a day not posted answers 404.

Layout, as public copies of the real files show it: pipe-delimited, header
`Symbol|Security Name|Market Category|Reg SHO Threshold Flag|Rule 3210|Filler`, each row ending in the
empty Filler field (`AAPD|DIREXION SHS ETF TR DAILY AAPL|G|Y|N|`), and a last line with the file's
creation time as 14 digits, YYYYMMDDHHMMSS in New York time (`20240301230005`), nothing else on it:
unlike the symbol directory's `File Creation Time: MMDDYYYYHH:MM`. That line is what says the list is
whole, so a list with the line and no rows is a valid empty list (a day can have no threshold
security), and a file without it is refused. Columns are read by their header names; Market Category
is Nasdaq's tier (Q Global Select, G Global Market, S Capital Market), and Rule 3210 is the flag Nasdaq
publishes beside the Reg SHO one (NASD Rule 3210, the close-out rule for non-reporting securities).
"""

import datetime as dt
import re
from dataclasses import dataclass
from typing import ClassVar
from zoneinfo import ZoneInfo

import polars as pl
from pydantic import Field

from resources.http import HttpSource, SourceError, join_url, names_its_errors
from resources.symbols import DEFAULT_BASE_URL, read_fields, split_trailed, split_valid_symbols

PATH = "/dynamic/symdir/regsho/nasdaqth{day:%Y%m%d}.txt"
NEW_YORK = ZoneInfo("America/New_York")
CREATION_TRAILER = re.compile(rb"^(\d{14})\s*$")
FLAGS = {"Y": True, "N": False}
# Nasdaq Trader's header name -> the lake's column.
COLUMNS = {
    "Symbol": "symbol",
    "Security Name": "security_name",
    "Market Category": "market_category",
    "Reg SHO Threshold Flag": "threshold_flag",
    "Rule 3210": "rule_3210",
}

THRESHOLD_SCHEMA: dict[str, pl.DataType] = {
    "trade_date": pl.Date(),
    "symbol": pl.String(),
    "security_name": pl.String(),
    "market_category": pl.String(),
    "threshold_flag": pl.Boolean(),
    "rule_3210": pl.Boolean(),
}
THRESHOLD_MEANINGS = {
    "trade_date": "The trading day of the list (the file's name), the partition key.",
    "symbol": "Ticker in the lake's form (Nasdaq's own symbol; warrants and units keep their W, U suffix).",
    "security_name": "The security's name as Nasdaq's list prints it (cut at 30 characters).",
    "market_category": "Nasdaq's tier: Q Global Select Market, G Global Market, S Capital Market.",
    "threshold_flag": "True when the security is a Reg SHO threshold security that day (the file's Y).",
    "rule_3210": "Nasdaq's Rule 3210 flag as published (NASD Rule 3210, close-out of non-reporting securities).",
}
FILES_SCHEMA: dict[str, pl.DataType] = {
    "trade_date": pl.Date(),
    "file_created_at": pl.Datetime("us", "UTC"),
    "securities": pl.Int64(),
}
FILES_MEANINGS = {
    "trade_date": "A trading day whose list is stored (empty lists included), the partition key.",
    "file_created_at": "When Nasdaq Trader created the file (its trailer, New York time), in UTC.",
    "securities": "Rows of the day's list (0: a published list without threshold securities).",
}


class ThresholdFileError(SourceError):
    """A threshold list that is not in Nasdaq Trader's layout, or not of the day asked for."""


def file_name(day: dt.date) -> str:
    return PATH.format(day=day).rsplit("/", 1)[-1]


@dataclass(frozen=True)
class ThresholdList:
    """A day's list as the lake stores it (THRESHOLD_SCHEMA), its row in FILES_SCHEMA, and the symbols
    refused for not having the lake's form (their rows are left out, and reported)."""

    day: dt.date
    frame: pl.DataFrame
    created_at: dt.datetime
    rejected: tuple[str, ...]

    @property
    def file_row(self) -> pl.DataFrame:
        return pl.DataFrame(
            {"trade_date": [self.day], "file_created_at": [self.created_at], "securities": [self.frame.height]},
            schema=FILES_SCHEMA,
        )


@names_its_errors(ThresholdFileError, lambda body, day: f"Nasdaq Trader {file_name(day)}")
def parse_threshold_list(body: bytes, day: dt.date) -> ThresholdList:
    """One day's file: every row with the header's fields and a Y/N in both flags, the trailer a time on
    or after the day (a list created before its trading day is another day's). Nothing is partially
    accepted: the first bad line is named with the file and its number."""
    what = f"Nasdaq Trader {file_name(day)}"
    header, rows, trailer = split_trailed(
        body, what, CREATION_TRAILER, "creation time (YYYYMMDDHHMMSS)", ThresholdFileError
    )
    created = dt.datetime.strptime(trailer[1].decode(), "%Y%m%d%H%M%S").replace(tzinfo=NEW_YORK)
    if created.date() < day:
        raise ThresholdFileError(
            f"{what}: created {created:%Y-%m-%d %H:%M:%S}, before its day {day}: not this day's list"
        )
    raw = read_fields([name.strip() for name in header], rows, what, list(COLUMNS), error=ThresholdFileError)
    frame = raw.select(pl.col(name).str.strip_chars().alias(column) for name, column in COLUMNS.items())
    for flag in ("threshold_flag", "rule_3210"):
        bad = frame.with_row_index("line", offset=2).filter(~pl.col(flag).is_in(list(FLAGS)).fill_null(True))
        if bad.height:
            line, symbol, value = bad.select("line", "symbol", flag).row(0)
            raise ThresholdFileError(f"{what} line {line}: {symbol!r} has {flag} {value!r}, expected Y or N")
    typed = frame.select(
        pl.lit(day).alias("trade_date"),
        "symbol",
        pl.when(pl.col("security_name") == "").then(None).otherwise(pl.col("security_name")).alias("security_name"),
        "market_category",
        *(pl.col(flag).replace_strict(FLAGS, return_dtype=pl.Boolean()) for flag in ("threshold_flag", "rule_3210")),
    ).cast(THRESHOLD_SCHEMA)
    kept, refused = split_valid_symbols(typed)
    return ThresholdList(day, kept.sort("symbol"), created.astimezone(dt.UTC), tuple(refused))


class RegshoThresholdClient(HttpSource):
    """Fetches Nasdaq's daily threshold lists from nasdaqtrader.com (or a mirror with its URL layout)."""

    source_name: ClassVar[str] = "Nasdaq Trader Reg SHO threshold list"
    missing_statuses: ClassVar[frozenset[int]] = frozenset({404})  # a day Nasdaq has not posted (yet)
    base_url: str = Field(default=DEFAULT_BASE_URL, description="Host serving /dynamic/symdir/regsho/.")

    def url(self, day: dt.date) -> str:
        return join_url(self.base_url, PATH.format(day=day))

    def fetch_day(self, day: dt.date) -> ThresholdList:
        """One trading day's list, parsed; SourceFileMissing (404) while Nasdaq has not posted it."""
        with self.session() as client:
            body = self.fetch(client, self.url(day), f"Nasdaq Trader {file_name(day)}").content
        return parse_threshold_list(body, day)
