"""FRED (Federal Reserve Bank of St. Louis) economic series from its keyless CSV download.

`https://fred.stlouisfed.org/graph/fredgraph.csv?id=SERIES` answers one series' whole history, oldest
first, one observation a line. FRED has served two layouts (real copies of both are in
tests/fixtures/real/fred/): the old header `DATE,<ID>` with `.` for a missing value, and the current
`observation_date,<ID>` with an EMPTY value for it (UNRATE's 2025-10-01, the shutdown month). Both are
read: a copy kept in the old layout must load as well as today's answer.

A missing value is a row with a null value, not a missing row: FRED lists the date (a holiday of a
daily series, a month it did not publish), and the row keeps that visible. The header's second column
must be the series asked for: an error page, or another series' file (a mirror's misplaced copy),
would otherwise be stored under the wrong series.
"""

from typing import ClassVar

import polars as pl
from pydantic import Field

from resources.http import HttpSource, SourceError, join_url, names_its_errors

DEFAULT_BASE_URL = "https://fred.stlouisfed.org"
PATH = "/graph/fredgraph.csv"
DATE_HEADERS = ("observation_date", "DATE")  # the current layout's, the old one's
MISSING_VALUES = ("", ".")  # the current layout's, the old one's
DEFAULT_SERIES = "DGS10,DGS2,T10Y2Y,DTWEXBGS,UNRATE,CPIAUCSL,ICSA"

FRED_SCHEMA: dict[str, pl.DataType] = {
    "series_id": pl.String(),
    "observation_date": pl.Date(),
    "value": pl.Float64(),
}
FRED_MEANINGS = {
    "series_id": "FRED's series id as asked for and as the file's header names it (DGS10, UNRATE).",
    "observation_date": "The date the observation is for, as FRED dates it: the day of a daily series, the "
    "first day of the month of a monthly one, the week-ending Saturday of a weekly one (ICSA). Not when it "
    "was published: FRED publishes later and revises in place.",
    "value": "The observation in the series' own units (percent, index, persons); null where FRED lists "
    "the date without a value ('.' in the old layout, empty in the current one).",
}


class FredFileError(SourceError):
    """A FRED download that is not the requested series in one of FRED's CSV layouts; names series and line."""


def series_list(configured: str) -> list[str]:
    """The series ids of a comma-separated setting, upper-cased, each once, in the order given."""
    found: list[str] = []
    for part in configured.split(","):
        series = part.strip().upper()
        if series and series not in found:
            found.append(series)
    return found


@names_its_errors(FredFileError, lambda body, series_id: f"FRED {series_id}")
def parse_series(body: bytes, series_id: str) -> pl.DataFrame:
    """One series' observations in FRED_SCHEMA; the first line that is not FRED's layout is named.

    Every line is typed at once in polars; only when a check fails is the first offending line looked up.
    """
    what = f"FRED {series_id}"
    lines = body.decode("utf-8-sig").replace("\r\n", "\n").rstrip("\n").split("\n")
    header = [cell.strip() for cell in lines[0].split(",")]
    if len(header) != 2 or header[0] not in DATE_HEADERS:
        raise FredFileError(
            f"{what} line 1: unexpected header {lines[0][:200]!r}, expected 'observation_date,{series_id}' "
            f"or 'DATE,{series_id}'"
        )
    if header[1] != series_id:
        raise FredFileError(f"{what} line 1: the header names series {header[1][:50]!r}, not {series_id!r}")
    numbered = pl.DataFrame({"text": lines[1:]}, schema={"text": pl.String()}).with_row_index("line", offset=2)
    split = numbered.with_columns(
        pl.col("text").str.count_matches(",", literal=True).alias("commas"),
        pl.col("text").str.split_exact(",", 1).struct.rename_fields(["date_text", "value_text"]).alias("f"),
    ).unnest("f")
    typed = split.with_columns(
        pl.col("date_text").str.strip_chars(),
        pl.col("value_text").str.strip_chars().fill_null(""),
    ).with_columns(
        pl.col("date_text").str.strptime(pl.Date(), "%Y-%m-%d", strict=False).alias("observation_date"),
        pl.when(pl.col("value_text").is_in(MISSING_VALUES))
        .then(pl.lit(None, pl.Float64()))
        .otherwise(pl.col("value_text").cast(pl.Float64(), strict=False))
        .alias("value"),
    )
    problems = {
        "expected two fields, date and value": pl.col("commas") != 1,
        "a date that is not YYYY-MM-DD": pl.col("observation_date").is_null()
        | ~pl.col("date_text").str.contains(r"^\d{4}-\d{2}-\d{2}$"),
        "a value that is neither a number nor missing ('.' or empty)": ~pl.col("value_text").is_in(MISSING_VALUES)
        & ~pl.col("value").is_finite().fill_null(False),
    }
    for problem, rule in problems.items():
        bad = typed.filter(rule.fill_null(True))
        if bad.height:
            line, text = bad.select("line", "text").row(0)
            raise FredFileError(f"{what} line {line}: {problem}: {text[:200]!r} ({bad.height} such lines)")
    duplicated = typed.filter(pl.col("observation_date").is_duplicated())
    if duplicated.height:
        line, text = duplicated.select("line", "text").row(0)
        raise FredFileError(f"{what} line {line}: a date listed twice: {text[:200]!r}")
    return typed.select(pl.lit(series_id).alias("series_id"), "observation_date", "value").sort("observation_date")


class FredClient(HttpSource):
    """FRED's CSV download, one series per request (a host with fred.stlouisfed.org's URL layout)."""

    source_name: ClassVar[str] = "FRED"
    base_url: str = Field(default=DEFAULT_BASE_URL, description=f"Host serving {PATH}?id=SERIES.")
    series: str = Field(
        default=DEFAULT_SERIES, description="Comma-separated FRED series ids the raw asset keeps (DGS10,UNRATE)."
    )

    @property
    def series_ids(self) -> list[str]:
        return series_list(self.series)

    def url(self) -> str:
        return join_url(self.base_url, PATH)

    def fetch_series(self, series_id: str) -> pl.DataFrame:
        """One series' whole history in FRED_SCHEMA; SourceFileMissing when FRED does not have it."""
        with self.session() as client:
            response = self.fetch(client, self.url(), f"FRED {series_id}", params={"id": series_id})
        return parse_series(response.content, series_id)
