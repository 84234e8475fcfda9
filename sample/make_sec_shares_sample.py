"""Writes the made SEC company facts documents under sample/data.sec.gov/api/xbrl/companyfacts/.

Run from the repository root: `.venv/bin/python sample/make_sec_shares_sample.py`. Seeded and written
with fixed key order and separators, so re-running reproduces the bytes; the files are committed, this
script documents how (sample/README.md says why they are made).

One document per CIK of the sample's tickers (make_reference_sample.LISTINGS), in the real document's
shape (tests/fixtures/real/sec/companyfacts_CIK0000717423.json, compact JSON) but holding only what
tickerlake reads: `cik`, `entityName` and `facts.dei.EntityCommonStockSharesOutstanding`. Each company
files a 10-K and three 10-Qs a year from 2022 to mid-2024 on its own fiscal calendar; counts start near
the company's approximate real count and drift by a seeded step per filing (synthetic, not SEC's values).
Multi-class companies report a count per class in each filing (nothing in the facts says which class).
SPY (a trust) has no document: SEC answers 404. GME amends a 10-K (10-K/A, a corrected count filed
later), so the point-in-time model has a restatement to keep apart from what was known before it.
"""

import datetime as dt
import json
import random
from pathlib import Path

from make_reference_sample import LISTINGS  # the sibling script: the sample's symbols and their CIKs

HERE = Path(__file__).resolve().parent
OUT = HERE / "data.sec.gov" / "api" / "xbrl" / "companyfacts"
FIRST_YEAR, LAST_FILED = 2022, dt.date(2024, 7, 31)
LABEL = "Entity Common Stock, Shares Outstanding"
DESCRIPTION = (  # SEC's own text of the concept, as in the real document
    "Indicate number of shares or other units outstanding of each of registrant's classes of capital or "
    "common stock or other ownership interests, if and as stated on cover of related periodic report. Where "
    "multiple classes or units exist define each class/interest by adding class of stock items such as Common "
    "Class A [Member], Common Class B [Member] or Partnership Interest [Member] onto the Instrument [Domain] of "
    "the Entity Listings, Instrument."
)
NO_DOCUMENT = {"SPY"}
# Approximate shares outstanding in millions, per class (several: a multi-class company), and the month its
# fiscal year ends; the names are upper-cased as SEC writes entityName.
COMPANIES = {
    "AAPL": ((15_300,), 9),
    "AMC": ((250,), 12),
    "AMD": ((1_615,), 12),
    "AMZN": ((10_400,), 12),
    "BAC": ((7_850,), 12),
    "BRK.B": ((0.59, 1_300), 12),
    "CVX": ((1_850,), 12),
    "F": ((3_950, 71), 12),
    "GE": ((1_090,), 12),
    "GME": ((305,), 1),
    "GOOGL": ((5_850, 870, 5_500), 12),
    "INTC": ((4_250,), 12),
    "JNJ": ((2_400,), 12),
    "JPM": ((2_870,), 12),
    "KO": ((4_310,), 12),
    "META": ((2_190, 345), 12),
    "MSFT": ((7_430,), 6),
    "NIO": ((1_900, 148), 12),
    "NVDA": ((24_500,), 1),
    "PFE": ((5_660,), 12),
    "PG": ((2_360,), 6),
    "PLTR": ((2_100, 100, 1), 12),
    "SOFI": ((1_050,), 12),
    "T": ((7_170,), 12),
    "TSLA": ((3_190,), 12),
    "WMT": ((8_050,), 1),
    "XOM": ((3_950,), 12),
}
AMENDED = ("GME", "FY", 2023)  # the fiscal period whose 10-K is amended


def month_end(year: int, month: int) -> dt.date:
    first_of_next = dt.date(year + month // 12, month % 12 + 1, 1)
    return first_of_next - dt.timedelta(days=1)


def calendar_frame(day: dt.date) -> str:
    """SEC's instant frame of the calendar quarter whose end lies nearest the date (CY2009Q4I for 2010-01-31)."""
    ends = [month_end(year, month) for year in (day.year - 1, day.year) for month in (3, 6, 9, 12)]
    nearest = min(ends, key=lambda end: abs((day - end).days))
    return f"CY{nearest.year}Q{nearest.month // 3}I"


def filings(symbol: str, rng: random.Random) -> list[dict[str, object]]:
    """The company's cover-page facts, oldest filing first, each field in SEC's order."""
    counts, fiscal_end = COMPANIES[symbol]
    cik = LISTINGS[symbol][3]
    shares = [round(c * 1e6 * rng.uniform(0.97, 1.03)) for c in counts]
    facts, sequence = [], 0
    for fiscal_year in range(FIRST_YEAR, 2026):
        for quarter in (1, 2, 3, 4):
            months = fiscal_year * 12 + fiscal_end - 1 - 3 * (4 - quarter)
            period_end = month_end(months // 12, months % 12 + 1)
            fp, form = ("FY", "10-K") if quarter == 4 else (f"Q{quarter}", "10-Q")
            filed = period_end + dt.timedelta(days=rng.randint(55, 70) if quarter == 4 else rng.randint(33, 44))
            if filed > LAST_FILED:
                return facts
            cover = filed - dt.timedelta(days=rng.randint(5, 20))
            shares = [max(1, round(s * rng.uniform(0.985, 1.012))) for s in shares]
            sequence += 1
            accn = f"{cik:010d}-{filed:%y}-{sequence:06d}"
            facts += [_fact(cover, n, accn, fiscal_year, fp, form, filed, i == 0) for i, n in enumerate(shares)]
            if (symbol, fp, fiscal_year) == AMENDED:
                sequence += 1
                amended = filed + dt.timedelta(days=41)
                accn = f"{cik:010d}-{amended:%y}-{sequence:06d}"
                facts.append(_fact(cover, shares[0] + 1_250_000, accn, fiscal_year, fp, "10-K/A", amended, False))
    return facts


def _fact(end: dt.date, val: int, accn: str, fy: int, fp: str, form: str, filed: dt.date, framed: bool) -> dict:
    fact = {"end": end.isoformat(), "val": val, "accn": accn, "fy": fy, "fp": fp, "form": form}
    fact["filed"] = filed.isoformat()
    if framed:  # SEC gives a calendar frame to one fact per company and quarter: the first class's here
        fact["frame"] = calendar_frame(end)
    return fact


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    rng = random.Random(20240712)
    for symbol, (name, *_listing) in sorted(LISTINGS.items()):
        cik = LISTINGS[symbol][3]
        if cik is None or symbol in NO_DOCUMENT:
            continue
        concept = {"label": LABEL, "description": DESCRIPTION, "units": {"shares": filings(symbol, rng)}}
        entity = name.split(" - ")[0].split(" Common")[0].split(" Class")[0].split(" American")[0].upper()
        document = {"cik": cik, "entityName": entity, "facts": {"dei": {"EntityCommonStockSharesOutstanding": concept}}}
        (OUT / f"CIK{cik:010d}.json").write_text(json.dumps(document, separators=(",", ":")), encoding="utf-8")


if __name__ == "__main__":
    main()
