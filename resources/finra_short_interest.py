"""FINRA equity short interest: every security's short position twice a month, from cdn.finra.org.

Firms report their short positions as of each settlement date (the 15th and the last business day of
the month, or the business day before when that is not one); FINRA publishes them about seven
business days later as equity/otcmarket/biweekly/shrt{YYYYMMDD}.csv, and answers 403, not 404, for a
date it has no file for (a date that is not a settlement date, or one not published yet). Since June
2021 the file covers exchange-listed securities too; before, OTC securities only.

Layout: pipe-delimited despite the .csv name, one header row, no trailer, one row per symbol:
accountingYearMonthNumber|symbolCode|issueName|issuerServicesGroupExchangeCode|marketClassCode|
currentShortPositionQuantity|previousShortPositionQuantity|stockSplitFlag|averageDailyVolumeQuantity|
daysToCoverQuantity|revisionFlag|changePercent|changePreviousNumber|settlementDate. The parser goes by
the header's names, never by position. Short interest is a position (shares held short at
settlement), unlike the daily short sale volume (trades marked short that day).
"""

import datetime as dt
import io
from typing import ClassVar

import polars as pl
from pydantic import Field

from resources.http import HttpSource, SourceError, join_url, names_its_errors
from resources.symbols import split_valid_symbols

DEFAULT_BASE_URL = "https://cdn.finra.org"
PATH = "/equity/otcmarket/biweekly/shrt{day:%Y%m%d}.csv"

# FINRA's header name -> the lake's column and type.
COLUMNS: dict[str, tuple[str, pl.DataType]] = {
    "settlementDate": ("settlement_date", pl.Date()),
    "symbolCode": ("symbol", pl.String()),
    "issueName": ("issue_name", pl.String()),
    "issuerServicesGroupExchangeCode": ("exchange_code", pl.String()),
    "marketClassCode": ("market_class", pl.String()),
    "currentShortPositionQuantity": ("current_short_position", pl.Int64()),
    "previousShortPositionQuantity": ("previous_short_position", pl.Int64()),
    "averageDailyVolumeQuantity": ("average_daily_volume", pl.Int64()),
    "daysToCoverQuantity": ("days_to_cover", pl.Float64()),
    "stockSplitFlag": ("split_flag", pl.String()),
    "revisionFlag": ("revision_flag", pl.String()),
    "changePercent": ("change_percent", pl.Float64()),
}
SHORT_INTEREST_SCHEMA: dict[str, pl.DataType] = dict(COLUMNS.values())
SHORT_INTEREST_MEANINGS = {
    "settlement_date": "The settlement date the positions are as of (usable only once FINRA publishes the file).",
    "symbol": "Ticker as FINRA prints it.",
    "issue_name": "The security's name as FINRA lists it.",
    "exchange_code": "FINRA's issuer services group exchange code.",
    "market_class": "FINRA's market class of the listing (NNM, NYSE, ARCA, OTC, ...).",
    "current_short_position": "Shares held short at the settlement date, all reporting firms summed.",
    "previous_short_position": "Shares held short at the previous settlement date, restated for a split in between.",
    "average_daily_volume": "FINRA's average daily share volume over the settlement period.",
    "days_to_cover": "current_short_position / average_daily_volume as FINRA computes it (null without volume).",
    "split_flag": "Set when a split since the previous settlement date restated the previous position.",
    "revision_flag": "Set when FINRA revised the row after first publishing it.",
    "change_percent": "Change of the short position since the previous settlement date, in percent.",
}


class ShortInterestFileError(SourceError):
    """A short interest file that is not FINRA's layout, or not of the settlement date asked for."""


def file_name(day: dt.date) -> str:
    return PATH.format(day=day).rsplit("/", 1)[-1]


@names_its_errors(ShortInterestFileError, lambda body, day: f"FINRA short interest {file_name(day)}")
def parse_short_interest(body: bytes, day: dt.date) -> tuple[pl.DataFrame, list[str]]:
    """The file's rows in SHORT_INTEREST_SCHEMA, and the symbols refused for not having the lake's form.

    Empty numbers (a new issue has no previous position, an illiquid one no days to cover) stay null.
    Every row must carry the settlement date asked for: a file of another date is not this partition's.
    """
    what = f"FINRA short interest {file_name(day)}"
    raw = pl.read_csv(io.BytesIO(body), separator="|", infer_schema=False, quote_char=None)
    absent = [name for name in COLUMNS if name not in raw.columns]
    if absent:
        raise ShortInterestFileError(f"{what}: header lacks {absent} (found {raw.columns[:16]})")
    typed = raw.select(_typed(name, column, dtype) for name, (column, dtype) in COLUMNS.items()).with_columns(
        pl.col("symbol").str.strip_chars()
    )
    wrong = typed.filter(pl.col("settlement_date").is_null() | (pl.col("settlement_date") != day))
    if wrong.height:
        raise ShortInterestFileError(
            f"{what}: {wrong.height} rows are not of settlement date {day} (first: {wrong.row(0)[:2]})"
        )
    return split_valid_symbols(typed)


def _typed(name: str, column: str, dtype: pl.DataType) -> pl.Expr:
    value = pl.col(name).str.strip_chars()
    if dtype == pl.Date():
        return value.str.strptime(pl.Date(), "%Y-%m-%d", strict=True).alias(column)
    if dtype == pl.String():
        return pl.when(value == "").then(None).otherwise(value).alias(column)
    # Integers are printed plainly, but a strict cast refuses "1.5e6" or "n/a" instead of guessing.
    return pl.when(value == "").then(None).otherwise(value).cast(dtype, strict=True).alias(column)


class FinraShortInterestClient(HttpSource):
    """Fetches FINRA's twice-monthly short interest files from the CDN (or a mirror with its URL layout)."""

    source_name: ClassVar[str] = "FINRA short interest"
    missing_statuses: ClassVar[frozenset[int]] = frozenset({403, 404})
    base_url: str = Field(default=DEFAULT_BASE_URL, description="Host serving /equity/otcmarket/biweekly/.")

    def url(self, day: dt.date) -> str:
        return join_url(self.base_url, PATH.format(day=day))

    def fetch_settlement(self, day: dt.date) -> tuple[pl.DataFrame, list[str]]:
        """One settlement date's file, parsed; SourceFileMissing while FINRA has not published it."""
        with self.session() as client:
            body = self.fetch(client, self.url(day), f"FINRA short interest {file_name(day)}").content
        return parse_short_interest(body, day)
