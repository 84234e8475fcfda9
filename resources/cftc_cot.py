"""CFTC's Commitments of Traders (COT): each futures market's open interest and the positions of its
trader groups as of a Tuesday, from the yearly history zips CFTC publishes.

Where (cftc.gov/MarketReports/CommitmentsofTraders/HistoricalCompressed, confirmed against public code
that fetches them; tests/fixtures/real/README.md names the real files):
- legacy futures-only report: `/files/dea/history/deacot{YYYY}.zip`, one zip per year from 1986, its
  one member `annual.txt` (the case of the name varies). CFTC also publishes `deacot1986_2016.zip`
  (member `FUT86_16.txt`), the same years in one file: not needed, every year has its own zip.
- Traders in Financial Futures (TFF), futures only: `/files/dea/history/fut_fin_txt_{YYYY}.zip` from
  2017, its one member named literally `FinFutYY.txt` (the shared copy of 2017's is `FinFut17.txt`).
  The years 2006-2016 are in one combined zip, `fin_fut_txt_2006_2016.zip` (note fin_fut, not fut_fin:
  `fut_fin_txt_2006_2016.zip` answers 404), member `F_TFF_2006_2016.txt`, from 2006-06-13. Yearly zips
  exist for 2010-2016 too, but 2010's starts in July: the combined file is the whole record of those
  years, so a year up to 2016 is read from it (rows of that year only).
The current year's zip is rewritten by CFTC every week with the new report added: re-fetching it is
the weekly update.

Layout: comma-separated, a quoted header, text fields quoted and numbers not, numbers padded with
spaces, LF (legacy) or CRLF (TFF) line ends, `.` where CFTC suppresses a figure (trader counts). CFTC
has renamed the headers over the years (`Open Interest (All)` and `Open_Interest_All`, a leading space
in legacy 2025's 14th header, `Report_Date_as_MM_DD_YYYY` with `M/D/YYYY 12:00:00 AM` values in the
combined TFF file), so columns are found by their normalised name (lower case, every run of other
characters than letters and digits one space): `Open Interest (All)` and `Open_Interest_All` are both
`open interest all`. The lake keeps the subset a positioning feature needs (REQUIRED below), every
value typed; a missing required column, two headers for one column, or a value that is not a whole
number (a date that is not a date) fails the file, naming it, the line and the column.

When a report is public: see `available_from`.
"""

import datetime as dt
import io
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import ClassVar
from zoneinfo import ZoneInfo

import polars as pl
from pandas.tseries.holiday import USFederalHolidayCalendar
from pydantic import Field

from resources.http import HttpSource, SourceError, join_url, names_its_errors

DEFAULT_BASE_URL = "https://www.cftc.gov"
HISTORY_PATH = "/files/dea/history"
NEW_YORK = ZoneInfo("America/New_York")
RELEASE_TIME = dt.time(15, 30)  # Eastern time, CFTC's release of the week's reports
TFF_COMBINED = "fin_fut_txt_2006_2016.zip"
TFF_COMBINED_YEARS = range(2006, 2017)
MISSING = "."  # CFTC's suppressed figure

COMMON_SCHEMA: dict[str, pl.DataType] = {
    "report_date": pl.Date(),
    "cftc_contract_market_code": pl.String(),
    "market_and_exchange_names": pl.String(),
    "cftc_market_code": pl.String(),
    "cftc_commodity_code": pl.String(),
    "contract_units": pl.String(),
    "open_interest": pl.Int64(),
}
COMMON_MEANINGS = {
    "report_date": "The date the positions are as of: a Tuesday, or the Monday before when the Tuesday is a "
    "federal holiday (CFTC's 'As of Date' / 'Report Date').",
    "cftc_contract_market_code": "CFTC's contract market code (6 characters, e.g. 13874A the E-mini S&P 500, "
    "133741 CME Bitcoin): the market's identity across renamings.",
    "market_and_exchange_names": "The market and its exchange as CFTC names them that week (names change).",
    "cftc_market_code": "CFTC's code of the exchange (CME, CBT, NYME, ...), spaces removed.",
    "cftc_commodity_code": "CFTC's commodity code (the first three characters of the contract code).",
    "contract_units": "The contract size as CFTC prints it ('(CONTRACTS OF $50 X S&P 500 INDEX)'); null where "
    "the file has no such column.",
    "open_interest": "Open interest (all contract months), in contracts.",
}
AVAILABLE_MEANING = (
    "When the report became public, UTC: 15:30 New York on the Friday of its week, the next federal business "
    "day when a federal holiday falls after the report date up to that Friday, and CFTC's catch-up dates "
    "after the 2013, 2018-19 and 2025 shutdowns (resources/cftc_cot.py, available_from)."
)


def positions(groups: Mapping[str, str], spreading: tuple[str, ...]) -> dict[str, str]:
    """Lake column -> its meaning, for each group's long, short and (where CFTC reports one) spreading."""
    columns = {}
    for group, who in groups.items():
        columns[f"{group}_long"] = f"Long positions of {who}, in contracts."
        columns[f"{group}_short"] = f"Short positions of {who}, in contracts."
        if group in spreading:
            columns[f"{group}_spreading"] = (
                f"Spreading positions of {who} (long and short in different months), in contracts; null where "
                "CFTC suppresses the figure."
            )
    return columns


@dataclass(frozen=True)
class Report:
    """One of CFTC's reports: its lake columns and the header spellings each may have (normalised)."""

    name: str
    title: str
    first_year: int
    headers: Mapping[str, tuple[str, ...]]  # lake column -> normalised header names it may have
    meanings: Mapping[str, str]
    nullable: tuple[str, ...]  # columns where `.` or an empty field is a null, not an error

    @property
    def schema(self) -> dict[str, pl.DataType]:
        return {
            **COMMON_SCHEMA,
            **{column: pl.Int64() for column in self.headers if column not in COMMON_SCHEMA},
            "available_from": pl.Datetime("us", "UTC"),
        }

    @property
    def all_meanings(self) -> dict[str, str]:
        return {**COMMON_MEANINGS, **self.meanings, "available_from": AVAILABLE_MEANING}

    def path(self, year: int) -> str:
        """The zip that holds `year`'s reports."""
        if self.name == "legacy":
            return f"{HISTORY_PATH}/deacot{year}.zip"
        if year in TFF_COMBINED_YEARS:
            return f"{HISTORY_PATH}/{TFF_COMBINED}"
        return f"{HISTORY_PATH}/fut_fin_txt_{year}.zip"

    def combined(self, year: int) -> bool:
        """Whether `year` is read from a file of several years (its other years' rows are left out)."""
        return self.name == "tff" and year in TFF_COMBINED_YEARS


COMMON_HEADERS = {
    "report_date": (
        "as of date in form yyyy mm dd",
        "report date as yyyy mm dd",
        "report date as mm dd yyyy",
        "as of date form mm dd yyyy",
        "as of date in form mm dd yyyy",
    ),
    "cftc_contract_market_code": ("cftc contract market code",),
    "market_and_exchange_names": ("market and exchange names",),
    "cftc_market_code": ("cftc market code in initials", "cftc market code"),
    "cftc_commodity_code": ("cftc commodity code",),
    "contract_units": ("contract units",),
    "open_interest": ("open interest all",),
}
YYMMDD_HEADERS = ("as of date in form yymmdd",)

LEGACY_GROUPS = {
    "noncommercial": "non-commercial traders (large speculators)",
    "commercial": "commercial traders (hedgers)",
    "total_reportable": "all reportable traders",
    "nonreportable": "traders below the reporting level (small traders)",
}
LEGACY = Report(
    name="legacy",
    title="legacy futures-only",
    first_year=1986,
    headers={
        **COMMON_HEADERS,
        "noncommercial_long": ("noncommercial positions long all", "noncomm positions long all"),
        "noncommercial_short": ("noncommercial positions short all", "noncomm positions short all"),
        "noncommercial_spreading": (
            "noncommercial positions spreading all",
            "noncomm positions spread all",
            "noncomm postions spread all",
        ),
        "commercial_long": ("commercial positions long all", "comm positions long all"),
        "commercial_short": ("commercial positions short all", "comm positions short all"),
        "total_reportable_long": ("total reportable positions long all", "tot rept positions long all"),
        "total_reportable_short": ("total reportable positions short all", "tot rept positions short all"),
        "nonreportable_long": ("nonreportable positions long all", "nonrept positions long all"),
        "nonreportable_short": ("nonreportable positions short all", "nonrept positions short all"),
    },
    meanings=positions(LEGACY_GROUPS, ("noncommercial",)),
    nullable=("contract_units", "noncommercial_spreading"),
)

TFF_GROUPS = {
    "dealer": "dealers/intermediaries (sell side)",
    "asset_manager": "asset managers/institutional investors",
    "leveraged_funds": "leveraged funds (hedge funds, CTAs)",
    "other_reportable": "other reportable traders",
    "total_reportable": "all reportable traders",
    "nonreportable": "traders below the reporting level",
}
TFF_PREFIXES = {
    "dealer": ("dealer",),
    "asset_manager": ("asset mgr",),
    "leveraged_funds": ("lev money",),
    "other_reportable": ("other rept",),
    "total_reportable": ("tot rept",),
    "nonreportable": ("nonrept",),
}
TFF_SPREADING = ("dealer", "asset_manager", "leveraged_funds", "other_reportable")
TFF = Report(
    name="tff",
    title="Traders in Financial Futures, futures-only",
    first_year=2006,
    headers={
        **COMMON_HEADERS,
        **{
            f"{group}_{side}": tuple(f"{prefix} positions {word} all" for prefix in prefixes)
            for group, prefixes in TFF_PREFIXES.items()
            for side, word in (("long", "long"), ("short", "short"), ("spreading", "spread"))
            if side != "spreading" or group in TFF_SPREADING
        },
    },
    meanings=positions(TFF_GROUPS, TFF_SPREADING),
    nullable=("contract_units", *(f"{group}_spreading" for group in TFF_SPREADING)),
)
REPORTS = {report.name: report for report in (LEGACY, TFF)}


class CotFileError(SourceError):
    """A COT file that is not in CFTC's layout, or not of the year asked for; names file, line, column."""


def normalised(header: str) -> str:
    """A header as CFTC's spellings agree on it: lower case, each run of other characters one space."""
    return re.sub(r"[^a-z0-9]+", " ", header.lower()).strip()


def file_name(report: Report, year: int) -> str:
    return report.path(year).rsplit("/", 1)[-1]


def describe(report: Report, year: int) -> str:
    return f"CFTC COT {report.name} {year} ({file_name(report, year)})"


def unzip_report(body: bytes, what: str) -> tuple[str, bytes]:
    """The zip's one text member (its name, its bytes): CFTC's zips hold exactly one."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(body))
    except zipfile.BadZipFile as exc:
        raise CotFileError(f"{what}: not a zip archive (starts {body[:40]!r})") from exc
    with archive:
        members = [info for info in archive.infolist() if info.filename.lower().endswith(".txt")]
        if len(members) != 1:
            names = [info.filename for info in archive.infolist()][:5]
            raise CotFileError(f"{what}: expected one .txt member, found {names}")
        return members[0].filename, archive.read(members[0])


def find_columns(report: Report, header: list[str], what: str) -> dict[str, str]:
    """Lake column -> the file's header for it; every column but the optional ones is required."""
    by_name: dict[str, list[str]] = {}
    for name in header:
        by_name.setdefault(normalised(name), []).append(name)
    found = {}
    for column, spellings in (*report.headers.items(), ("yymmdd", YYMMDD_HEADERS)):
        matches = [name for spelling in spellings for name in by_name.get(spelling, [])]
        if len(matches) > 1:
            raise CotFileError(f"{what} line 1: column {column} has several headers: {matches}")
        if matches:
            found[column] = matches[0]
        elif column not in ("contract_units", "yymmdd"):
            raise CotFileError(
                f"{what} line 1: no column {column} (a header normalising to one of {list(spellings)}); "
                f"the header starts {header[:8]}"
            )
    return found


DATE_FORMATS = (
    (r"^\d{4}-\d{2}-\d{2}$", "%Y-%m-%d"),
    (r"^\d{1,2}/\d{1,2}/\d{4}$", "%m/%d/%Y"),
    (r"^\d{1,2}/\d{1,2}/\d{4} 12:00:00 AM$", "%m/%d/%Y 12:00:00 AM"),
)


def parse_dates(text: pl.Expr) -> pl.Expr:
    """CFTC's report date in any of the layouts it has used; null when none fits."""
    parsed = pl.lit(None, pl.Date())
    for pattern, form in reversed(DATE_FORMATS):
        parsed = (
            pl.when(text.str.contains(pattern)).then(text.str.strptime(pl.Date(), form, strict=False)).otherwise(parsed)
        )
    return parsed


@names_its_errors(CotFileError, lambda body, report, year, member="": describe(report, year))
def parse_report(body: bytes, report: Report, year: int, member: str = "") -> pl.DataFrame:
    """One year's rows of a report file (the member's text) in the report's schema, sorted.

    Every line is typed at once; only when a check fails is the first offending line looked up and
    named. A yearly file with a row of another year is refused (a misplaced file); a combined file
    gives its rows of `year`, and a year it has no row of is refused.
    """
    what = describe(report, year) + (f" member {member}" if member else "")
    raw = pl.read_csv(
        io.BytesIO(body), infer_schema=False, quote_char='"', encoding="utf8-lossy", truncate_ragged_lines=False
    )
    columns = find_columns(report, raw.columns, what)
    if raw.height == 0:
        raise CotFileError(f"{what}: no rows under the header: not a published year")
    text = raw.select(
        *(pl.col(name).str.strip_chars().alias(column) for column, name in columns.items())
    ).with_row_index("line", offset=2)
    numbers = [c for c in report.schema if report.schema[c] == pl.Int64()]
    typed = text.with_columns(
        parse_dates(pl.col("report_date")).alias("date"),
        *(pl.col(c).str.replace_all(",", "").cast(pl.Int64(), strict=False).alias(f"n_{c}") for c in numbers),
    )
    checks: list[tuple[str, str, pl.Expr]] = [
        ("report_date", "a date that is not YYYY-MM-DD or M/D/YYYY", pl.col("date").is_null()),
        (
            "cftc_contract_market_code",
            "an empty contract market code",
            pl.col("cftc_contract_market_code").fill_null("") == "",
        ),
    ]
    if "yymmdd" in columns:
        checks.append(
            (
                "yymmdd",
                "an As of Date YYMMDD that is not the report date",
                pl.col("yymmdd").fill_null("") != pl.col("date").dt.strftime("%y%m%d"),
            )
        )
    for column in numbers:
        blank = pl.col(column).fill_null("").is_in(["", MISSING])
        bad = pl.col(f"n_{column}").is_null()
        checks.append(
            (
                column,
                "not a whole number" + (" (nor '.' or empty)" if column in report.nullable else ""),
                bad & ~blank if column in report.nullable else bad,
            )
        )
    for column, problem, rule in checks:
        failing = typed.filter(rule.fill_null(True))
        if failing.height:
            line, value = failing.select("line", column).row(0)
            header = columns[column]
            raise CotFileError(
                f"{what} line {line} column {header.strip()!r}: {problem}: {value!r} ({failing.height} such lines)"
            )
    if report.combined(year):
        typed = typed.filter(pl.col("date").dt.year() == year)
        if typed.height == 0:
            raise CotFileError(f"{what}: no report of {year} in the combined file")
    else:
        other = typed.filter(pl.col("date").dt.year() != year)
        if other.height:
            line, day = other.select("line", "date").row(0)
            raise CotFileError(f"{what} line {line}: a report of {day}, not of {year}: not this year's file")
    frame = typed.select(
        pl.col("date").alias("report_date"),
        "cftc_contract_market_code",
        "market_and_exchange_names",
        pl.col("cftc_market_code").str.replace_all(" ", ""),
        pl.col("cftc_commodity_code").str.replace_all(" ", ""),
        (pl.col("contract_units") if "contract_units" in columns else pl.lit(None, pl.String())).alias(
            "contract_units"
        ),
        *(pl.col(f"n_{column}").alias(column) for column in numbers),
    )
    return frame.with_columns(available_from_expr(frame["report_date"]).alias("available_from")).sort(
        "cftc_contract_market_code", "report_date"
    )


# -- when a report became public --------------------------------------------------------------------

# Federal offices closed by executive order, beside the federal holidays: CFTC does not release then.
CLOSURES = (
    dt.date(2018, 12, 5),  # national day of mourning, President G. H. W. Bush
    dt.date(2018, 12, 24),
    dt.date(2019, 12, 24),
    dt.date(2020, 12, 24),
    dt.date(2024, 12, 24),
    dt.date(2025, 1, 9),  # national day of mourning, President Carter
    dt.date(2025, 12, 24),
    dt.date(2025, 12, 26),
)
# CFTC's catch-up after the 2025 shutdown (press release of 2025-11-18): report date -> release date.
SHUTDOWN_2025 = {
    dt.date(2025, 9, 30): dt.date(2025, 11, 19),
    dt.date(2025, 10, 7): dt.date(2025, 11, 21),
    dt.date(2025, 10, 14): dt.date(2025, 11, 25),
    dt.date(2025, 10, 21): dt.date(2025, 12, 2),
    dt.date(2025, 10, 28): dt.date(2025, 12, 5),
    dt.date(2025, 11, 4): dt.date(2025, 12, 9),
    dt.date(2025, 11, 10): dt.date(2025, 12, 12),
    dt.date(2025, 11, 18): dt.date(2025, 12, 16),
    dt.date(2025, 11, 25): dt.date(2025, 12, 19),
    dt.date(2025, 12, 2): dt.date(2025, 12, 23),
    dt.date(2025, 12, 9): dt.date(2025, 12, 30),
    dt.date(2025, 12, 16): dt.date(2026, 1, 6),
    dt.date(2025, 12, 23): dt.date(2026, 1, 9),
    dt.date(2025, 12, 30): dt.date(2026, 1, 13),
    dt.date(2026, 1, 6): dt.date(2026, 1, 16),
    dt.date(2026, 1, 13): dt.date(2026, 1, 20),
}
# Earlier shutdowns, whose catch-up dates are not known here report by report: every report of the
# window is taken as public only once CFTC was current again (later than some really were: safe).
SHUTDOWN_BOUNDS = (
    # 2013-10-01..16: reports of October to mid-November were published late; current by December.
    (dt.date(2013, 10, 1), dt.date(2013, 12, 17), dt.date(2013, 12, 27)),
    # 2018-12-22..2019-01-25: from 2019-02-01 one report each Tuesday and Friday until current (2019-03-08).
    (dt.date(2018, 12, 22), dt.date(2019, 3, 5), dt.date(2019, 3, 8)),
)

# Before weekly Friday releases (October 2000) CFTC published every two weeks or monthly, up to about two
# weeks after the report date: those reports are taken as public 15 days after it (safe, not exact).
WEEKLY_RELEASES_FROM = dt.date(2000, 10, 1)
EARLY_LAG = dt.timedelta(days=15)


@cache
def federal_days_off(first_year: int, last_year: int) -> frozenset[dt.date]:
    holidays = USFederalHolidayCalendar().holidays(f"{first_year}-01-01", f"{last_year}-12-31")
    return frozenset(
        {day.date() for day in holidays} | {day for day in CLOSURES if first_year <= day.year <= last_year}
    )


def is_business_day(day: dt.date) -> bool:
    return day.weekday() < 5 and day not in federal_days_off(day.year - 1, day.year + 1)


def release_day(report_date: dt.date) -> dt.date:
    """The day CFTC released (or, by its schedule, releases) the report of `report_date`.

    The Friday of the report's week; when a federal holiday or closure falls after the report date and
    on or before that Friday, the next business day after the Friday (CFTC's schedule: Juneteenth and
    Independence Day 2024, Thanksgiving, Christmas all moved the release to the Monday; a Monday holiday
    before the Tuesday does not). After a shutdown, CFTC's catch-up dates, or a bound on them; before
    weekly releases (2000-10), 15 days after the report date at the earliest. Not modelled: an
    unannounced delay (an outage, a holiday proclaimed at short notice like Juneteenth 2021).
    """
    catch_up = SHUTDOWN_2025.get(report_date) or SHUTDOWN_2025.get(report_date - dt.timedelta(days=1))
    if catch_up is not None:  # the Tuesday of a week whose report is Monday's is released with it
        return catch_up
    friday = report_date + dt.timedelta(days=(4 - report_date.weekday()) % 7)
    between = [report_date + dt.timedelta(days=d) for d in range(1, (friday - report_date).days + 1)]
    day = friday
    if any(not is_business_day(d) for d in between if d.weekday() < 5):
        day = friday + dt.timedelta(days=1)
        while not is_business_day(day):
            day += dt.timedelta(days=1)
    for first, last, current in SHUTDOWN_BOUNDS:
        if first <= report_date <= last:
            day = max(day, current)
    if report_date < WEEKLY_RELEASES_FROM:
        day = max(day, report_date + EARLY_LAG)
        while not is_business_day(day):
            day += dt.timedelta(days=1)
    return day


def available_from(report_date: dt.date) -> dt.datetime:
    """When the report of `report_date` was public, UTC: 15:30 New York on its release day."""
    return dt.datetime.combine(release_day(report_date), RELEASE_TIME, tzinfo=NEW_YORK).astimezone(dt.UTC)


def available_from_expr(dates: pl.Series) -> pl.Series:
    """`available_from` of each date, computed once per distinct date (a year has 52)."""
    known = {day: available_from(day) for day in dates.unique().to_list()}
    return dates.replace_strict(known, return_dtype=pl.Datetime("us", "UTC"))


class CftcCotClient(HttpSource):
    """CFTC's COT history zips from cftc.gov (or a mirror with its URL layout)."""

    source_name: ClassVar[str] = "CFTC Commitments of Traders"
    base_url: str = Field(default=DEFAULT_BASE_URL, description=f"Host serving {HISTORY_PATH}/*.zip.")

    def url(self, report: Report, year: int) -> str:
        return join_url(self.base_url, report.path(year))

    def fetch_zip(self, report: Report, year: int) -> bytes:
        with self.session() as client:
            return self.fetch(client, self.url(report, year), describe(report, year)).content

    def fetch_year(self, report: Report, year: int, body: bytes | None = None) -> pl.DataFrame:
        """`year`'s rows of `report`, parsed; `body`: the zip when the caller has it (a combined file
        fetched once for several years). SourceFileMissing (404) when CFTC has no such file."""
        body = body if body is not None else self.fetch_zip(report, year)
        member, text = unzip_report(body, describe(report, year))
        return parse_report(text, report, year, member)
