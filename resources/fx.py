"""ECB euro foreign exchange reference rates: eurofxref-hist.zip, the whole history in one CSV.

The CSV has one row per TARGET business day (newest first), a column per currency holding units of
that currency per 1 EUR, "N/A" where a currency had no fix, and a trailing comma on every line.
"""

import io
import zipfile
from typing import ClassVar

import polars as pl
from pydantic import Field

from resources.http import HttpSource, SourceError, join_url, names_its_errors

DEFAULT_BASE_URL = "https://www.ecb.europa.eu"
HIST_PATH = "/stats/eurofxref/eurofxref-hist.zip"
CSV_NAME = "eurofxref-hist.csv"

FX_SCHEMA: dict[str, pl.DataType] = {"rate_date": pl.Date(), "currency": pl.String(), "units_per_eur": pl.Float64()}

FX_MEANINGS = {
    "rate_date": "The ECB fixing day (a TARGET business day, around 16:00 CET).",
    "currency": "ISO code of the quoted currency.",
    "units_per_eur": "Units of the currency that one euro buys that day.",
}


class FxFileError(SourceError):
    """The ECB archive is not the zip with eurofxref-hist.csv it should be."""


@names_its_errors(FxFileError, lambda archive: f"ECB {HIST_PATH}")
def parse_eurofxref_hist(archive: bytes) -> pl.DataFrame:
    """Long format: one row per day and currency with a fix; N/A is no row, not a zero."""
    try:
        with zipfile.ZipFile(io.BytesIO(archive)) as zipped:
            text = zipped.read(CSV_NAME)
    except (zipfile.BadZipFile, KeyError) as exc:
        raise FxFileError(f"ECB {HIST_PATH}: not a zip holding {CSV_NAME} ({exc})") from exc
    wide = pl.read_csv(io.BytesIO(text), infer_schema=False, null_values=["N/A", ""])
    wide = wide.select([c for c in wide.columns if c.strip() and not c.startswith("_")])
    if wide.columns[:1] != ["Date"] or "USD" not in wide.columns:
        raise FxFileError(f"ECB {CSV_NAME} line 1: unexpected header {wide.columns[:5]}")
    long = wide.unpivot(index="Date", variable_name="currency", value_name="units_per_eur").drop_nulls()
    typed = long.select(
        pl.col("Date").str.strptime(pl.Date(), "%Y-%m-%d", strict=False).alias("rate_date"),
        pl.col("currency").str.strip_chars(),
        pl.col("units_per_eur").str.strip_chars().cast(pl.Float64(), strict=False),
    )
    bad = typed.filter(pl.col("rate_date").is_null() | pl.col("units_per_eur").is_null())
    if bad.height:
        raise FxFileError(f"ECB {CSV_NAME}: unreadable date or rate near {long.row(0)}")
    return typed.sort("rate_date", "currency")


class EcbClient(HttpSource):
    """The ECB's reference rates: one zip holding every business day since 1999."""

    source_name: ClassVar[str] = "ECB"
    base_url: str = Field(default=DEFAULT_BASE_URL, description=f"Host serving {HIST_PATH}.")
    timeout_seconds: float = 60.0

    def fetch_history(self) -> pl.DataFrame:
        with self.session() as client:
            body = self.fetch(client, join_url(self.base_url, HIST_PATH), "ECB eurofxref-hist").content
        return parse_eurofxref_hist(body)
