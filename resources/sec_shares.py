"""SEC EDGAR company facts: each company's shares outstanding as it reported them on its filings' cover
pages (`dei:EntityCommonStockSharesOutstanding`), so short interest can be set against them.

SEC serves one JSON document per company at data.sec.gov/api/xbrl/companyfacts/CIK{10-digit CIK}.json:
`{"cik": 717423, "entityName": ..., "facts": {"dei": {"EntityCommonStockSharesOutstanding": {"units":
{"shares": [{"end", "val", "accn", "fy", "fp", "form", "filed", "frame"?}, ...]}}}, "us-gaap": ...}}`.
Only the dei cover-page concept is read; the rest (megabytes of us-gaap) is parsed and dropped.

- Every fact carries the filing it came from (`accn`, `form`, `filed`): a count is known from its
  filing date, and an amendment is a second fact with its own filing date, never a change to the first.
- Several classes: the cover page reports one count per class of common stock, but company facts drop
  the class-of-stock member, so a multi-class company has several facts with the same `end` and
  `accn` and nothing saying which class is which. They are kept, numbered 1..n by size within their
  filing and date (`share_class`); their sum is the company's common shares outstanding.
- No facts: a CIK SEC has no company facts for answers 404 (funds, trusts, new filers); a document
  without a `dei` section, or without this concept (foreign filers on IFRS often lack it), has none
  either. Neither is an error: the company is recorded as asked, with no facts.
- Anything else off-format (not JSON, a fact without `val`, a date that is not YYYY-MM-DD, another
  company's CIK) is an error naming the CIK; nothing of that company is stored.
"""

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import ClassVar

import polars as pl
from pydantic import Field

from resources.http import SourceError, SourceFileMissing, join_url, names_its_errors
from resources.sectors import DEFAULT_DATA_URL, SecFormatError, SecSource, json_object

PATH = "/api/xbrl/companyfacts/CIK{cik:010d}.json"
TAXONOMY, CONCEPT, UNIT = "dei", "EntityCommonStockSharesOutstanding", "shares"
# SEC's field names of a fact, and the types they must have.
FACT_FIELDS: dict[str, pl.DataType] = {
    "end": pl.String(),
    "val": pl.Int64(),
    "accn": pl.String(),
    "fy": pl.Int64(),
    "fp": pl.String(),
    "form": pl.String(),
    "filed": pl.String(),
    "frame": pl.String(),
}
REQUIRED = ("end", "val", "accn", "form", "filed")

SHARES_SCHEMA: dict[str, pl.DataType] = {
    "cik": pl.Int64(),
    "accn": pl.String(),
    "end_date": pl.Date(),
    "share_class": pl.Int32(),
    "shares": pl.Int64(),
    "filed": pl.Date(),
    "form": pl.String(),
    "fy": pl.Int32(),
    "fp": pl.String(),
    "frame": pl.String(),
}
SHARES_MEANINGS = {
    "cik": "SEC's Central Index Key of the company (the partition of a replacement: a company at a time).",
    "accn": "Accession number of the filing that reported the count (0001193125-09-168802).",
    "end_date": "The date the count is as of (SEC's `end`: the cover page's date, usually weeks after the period).",
    "share_class": "1..n among the counts one filing reports for one date: several are several classes of "
    "common stock, numbered by size (SEC's company facts do not say which class is which).",
    "shares": "Shares outstanding of that class as of end_date, as the filing's cover page states it.",
    "filed": "The filing date: the count is known from this day on, never earlier.",
    "form": "The form of the filing (10-K, 10-Q, 10-K/A, 20-F, ...).",
    "fy": "The fiscal year of the filing, as SEC assigns it (null where SEC has none).",
    "fp": "The fiscal period of the filing: FY, Q1, Q2, Q3 (null where SEC has none).",
    "frame": "SEC's calendar frame for the count (CY2009Q2I) where SEC assigned one, else null.",
}

REQUESTS_SCHEMA: dict[str, pl.DataType] = {
    "cik": pl.Int64(),
    "asked_at": pl.Datetime("us", "UTC"),
    "outcome": pl.String(),
    "facts": pl.Int64(),
    "newest_filed": pl.Date(),
    "entity_name": pl.String(),
}
REQUESTS_MEANINGS = {
    "cik": "SEC's Central Index Key of the company asked for.",
    "asked_at": "When tickerlake last fetched the company's facts (what decides when it is asked again).",
    "outcome": "facts; no_facts (a document without dei shares outstanding); not_found (SEC answered 404).",
    "facts": "Shares-outstanding facts in the document (0 for no_facts and not_found).",
    "newest_filed": "The newest filing date among them: a company is asked again once its next report is due.",
    "entity_name": "The company's name as the document gives it (null when SEC answered 404).",
}
FACTS, NO_FACTS, NOT_FOUND = "facts", "no_facts", "not_found"


@dataclass(frozen=True)
class CompanyFacts:
    """One company's answer: its facts in SHARES_SCHEMA (empty for no facts), and what came back."""

    cik: int
    frame: pl.DataFrame
    outcome: str
    entity_name: str | None

    def request(self, asked_at: dt.datetime) -> dict[str, object]:
        """The company's row of REQUESTS_SCHEMA."""
        return {
            "cik": self.cik,
            "asked_at": asked_at,
            "outcome": self.outcome,
            "facts": self.frame.height,
            "newest_filed": self.frame["filed"].max() if self.frame.height else None,
            "entity_name": self.entity_name,
        }


def what(cik: int) -> str:
    return f"SEC company facts CIK{cik:010d}"


@names_its_errors(SecFormatError, lambda body, cik: what(cik))
def parse_company_facts(body: bytes, cik: int) -> CompanyFacts:
    """One company's shares-outstanding facts in SHARES_SCHEMA, or none (see the module docstring)."""
    document = json_object(body, what(cik))
    if "facts" not in document or "cik" not in document:
        raise SecFormatError(f"{what(cik)}: no 'facts' or 'cik' field")
    if int(document["cik"]) != cik:
        raise SecFormatError(f"{what(cik)}: the document is of CIK {document['cik']}")
    name = document.get("entityName") or None
    concept = (document["facts"].get(TAXONOMY) or {}).get(CONCEPT)
    if concept is None:
        return CompanyFacts(cik, pl.DataFrame(schema=SHARES_SCHEMA), NO_FACTS, name)
    listed = concept["units"][UNIT]
    if not isinstance(listed, list) or not all(isinstance(fact, dict) for fact in listed):
        raise SecFormatError(f"{what(cik)}: {CONCEPT} units.{UNIT} is not a list of facts")
    # Sorted before numbering the classes, so equal counts of one filing number the same whatever SEC's order.
    raw = pl.DataFrame(listed, schema=FACT_FIELDS, strict=True).sort("accn", "end", "val", "frame", descending=True)
    missing = [column for column in REQUIRED if raw[column].null_count()]
    if missing:
        raise SecFormatError(f"{what(cik)}: facts without {', '.join(missing)}")
    dates = {column: pl.col(column).str.strptime(pl.Date(), "%Y-%m-%d", strict=True) for column in ("end", "filed")}
    frame = (
        raw.with_columns(**dates)
        .select(
            pl.lit(cik, pl.Int64()).alias("cik"),
            "accn",
            pl.col("end").alias("end_date"),
            pl.int_range(1, pl.len() + 1, dtype=pl.Int32()).over("accn", "end").alias("share_class"),
            pl.col("val").alias("shares"),
            "filed",
            "form",
            pl.col("fy").cast(pl.Int32()),
            "fp",
            "frame",
        )
        .sort("filed", "end_date", "accn", "share_class")
    )
    return CompanyFacts(cik, frame, FACTS if frame.height else NO_FACTS, name)


class SecSharesClient(SecSource):
    """Fetches company facts from data.sec.gov (or a mirror with its URL layout), throttled with every
    other SEC request of the run."""

    source_name: ClassVar[str] = "SEC company facts"
    data_url: str = Field(default=DEFAULT_DATA_URL, description="Host serving /api/xbrl/companyfacts/.")
    companies_per_run: int = Field(
        default=2000, description="Companies asked for at most per run (SEC's 10 a second: 2,000 in ~3.5 min)."
    )

    def url(self, cik: int) -> str:
        return join_url(self.data_url, PATH.format(cik=cik))

    def company_facts(self, ciks: Iterable[int]) -> Iterator[tuple[int, CompanyFacts | SourceError]]:
        """Each CIK with its company's facts, or with the error that kept them (it names the CIK); a 404 is
        a company without facts. Yields as it goes, so a run stores and reports in batches."""
        with self.session() as client:
            for cik in ciks:
                try:
                    body = self.throttled_get(client, self.url(cik), what(cik)).content
                    yield cik, parse_company_facts(body, cik)
                except SourceFileMissing:
                    yield cik, CompanyFacts(cik, pl.DataFrame(schema=SHARES_SCHEMA), NOT_FOUND, None)
                except SourceError as error:
                    yield cik, error
