"""Writes the made FINRA short interest files under sample/cdn.finra.org/equity/otcmarket/biweekly/.

Run from the repository root: `.venv/bin/python sample/make_short_interest_sample.py`. Seeded, so the
files come out byte for byte the same; they are committed, this script documents how (sample/README.md
says why they are made: no real file is available here).
"""

import datetime as dt
import json
import random
from pathlib import Path

from assets.finra_short_interest import settlement_dates

HERE = Path(__file__).resolve().parent
OUT = HERE / "cdn.finra.org" / "equity" / "otcmarket" / "biweekly"
FIRST, LAST = dt.date(2024, 3, 1), dt.date(2024, 7, 12)
HEADER = (
    "accountingYearMonthNumber|symbolCode|issueName|issuerServicesGroupExchangeCode|marketClassCode|"
    "currentShortPositionQuantity|previousShortPositionQuantity|stockSplitFlag|averageDailyVolumeQuantity|"
    "daysToCoverQuantity|revisionFlag|changePercent|changePreviousNumber|settlementDate"
)
# symbol: typical consolidated daily volume (shares), and its market class
LISTED = {
    "AAPL": (60e6, "NNM"),
    "AMC": (20e6, "NYSE"),
    "AMD": (50e6, "NNM"),
    "AMZN": (42e6, "NNM"),
    "BAC": (36e6, "NYSE"),
    "BRK.B": (3.6e6, "NYSE"),
    "CVX": (7e6, "NYSE"),
    "F": (53e6, "NYSE"),
    "GE": (5.8e6, "NYSE"),
    "GME": (24e6, "NYSE"),
    "GOOGL": (27e6, "NNM"),
    "INTC": (46e6, "NNM"),
    "IWM": (29e6, "ARCA"),
    "JNJ": (7.3e6, "NYSE"),
    "JPM": (9.2e6, "NYSE"),
    "KO": (13e6, "NYSE"),
    "META": (12e6, "NNM"),
    "MSFT": (18e6, "NNM"),
    "NIO": (42e6, "NYSE"),
    "NVDA": (260e6, "NNM"),
    "PFE": (37e6, "NYSE"),
    "PG": (6.4e6, "NYSE"),
    "PLTR": (59e6, "NYSE"),
    "QQQ": (31e6, "NNM"),
    "SOFI": (51e6, "NNM"),
    "SPY": (55e6, "ARCA"),
    "T": (33e6, "NYSE"),
    "TSLA": (90e6, "NNM"),
    "WMT": (16e6, "NYSE"),
    "XOM": (14e6, "NYSE"),
}
OTC = {"BAYRY": 0.9e6, "HTHIY": 0.2e6, "NSRGY": 0.4e6, "RHHBY": 0.6e6, "SFTBY": 0.3e6, "TCEHY": 1.7e6}
SPLIT = ("NVDA", dt.date(2024, 6, 14))  # NVDA split ten for one on 2024-06-10: the next file flags it
REVISED = ("GME", dt.date(2024, 5, 31))  # made: one row flagged as a revision


def names() -> dict[str, str]:
    document = json.loads((HERE / "www.sec.gov" / "files" / "company_tickers_exchange.json").read_bytes())
    return {row[2]: row[1] for row in document["data"]}


def main() -> None:
    rng = random.Random(20240315)
    issue_names = names()
    previous: dict[str, int] = {}
    OUT.mkdir(parents=True, exist_ok=True)
    for day in settlement_dates(FIRST, LAST):
        lines = [HEADER]
        universe = [(s, v, c, "A") for s, (v, c) in LISTED.items()] + [(s, v, "OTC", "U") for s, v in OTC.items()]
        for symbol, volume, market_class, group in sorted(universe):
            if symbol == SPLIT[0] and day < SPLIT[1]:
                volume /= 10  # before the split: a tenth of the shares
            adv = int(volume * rng.lognormvariate(0, 0.25))
            days = rng.uniform(0.4, 6.0)
            current = int(adv * days)
            if (symbol, day) == SPLIT:
                previous[symbol] = previous.get(symbol, current // 10) * 10
            prior = previous.get(symbol)
            cover = "" if symbol == "HTHIY" else f"{min(current / adv, 999.99):.2f}"
            change = "" if prior is None else f"{(current - prior) / prior * 100:.2f}"
            lines.append(
                "|".join(
                    [
                        f"{day:%Y%m%d}",
                        symbol,
                        issue_names.get(symbol, f"{symbol} ADR"),
                        group,
                        market_class,
                        str(current),
                        "" if prior is None else str(prior),
                        "S" if (symbol, day) == SPLIT else "",
                        str(adv),
                        cover,
                        "R" if (symbol, day) == REVISED else "",
                        change,
                        "" if prior is None else str(current - prior),
                        day.isoformat(),
                    ]
                )
            )
            previous[symbol] = current
        (OUT / f"shrt{day:%Y%m%d}.csv").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
