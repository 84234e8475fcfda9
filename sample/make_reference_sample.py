"""Writes the made symbol-directory, SEC, Yahoo chart and ECB sample files (see sample/README.md).

Run from the repository root: `.venv/bin/python sample/make_reference_sample.py`. Seeded and
deterministic; the files are committed, this script documents how they were made.
"""

import datetime as dt
import io
import json
import random
import zipfile
from pathlib import Path
from zoneinfo import ZoneInfo

import exchange_calendars as xcals

HERE = Path(__file__).resolve().parent
FIRST, LAST = dt.date(2024, 3, 1), dt.date(2024, 7, 12)
NEW_YORK = ZoneInfo("America/New_York")

# symbol: (security name, listing, ETF, CIK or None, SIC or "" , close on 2024-06-28)
LISTINGS = {
    "AAPL": ("Apple Inc. - Common Stock", "Q", False, 320193, "3571", 210.62),
    "AMC": ("AMC Entertainment Holdings, Inc. Class A Common Stock", "N", False, 1411579, "7832", 4.96),
    "AMD": ("Advanced Micro Devices, Inc. - Common Stock", "Q", False, 2488, "3674", 162.21),
    "AMZN": ("Amazon.com, Inc. - Common Stock", "Q", False, 1018724, "5961", 193.25),
    "BAC": ("Bank of America Corporation Common Stock", "N", False, 70858, "6021", 39.77),
    "BRK.B": ("Berkshire Hathaway Inc. Class B", "N", False, 1067983, "6331", 406.80),
    "CVX": ("Chevron Corporation Common Stock", "N", False, 93410, "2911", 156.42),
    "F": ("Ford Motor Company Common Stock", "N", False, 37996, "3711", 12.54),
    "GE": ("GE Aerospace Common Stock", "N", False, 40545, "3724", 158.97),
    "GME": ("GameStop Corporation Common Stock", "N", False, 1326380, "5734", 24.69),
    "GOOGL": ("Alphabet Inc. - Class A Common Stock", "Q", False, 1652044, "7370", 182.15),
    "INTC": ("Intel Corporation - Common Stock", "Q", False, 50863, "3674", 30.97),
    "IWM": ("iShares Russell 2000 ETF", "P", True, None, "", 202.89),
    "JNJ": ("Johnson & Johnson Common Stock", "N", False, 200406, "2834", 146.16),
    "JPM": ("JP Morgan Chase & Co. Common Stock", "N", False, 19617, "6021", 202.26),
    "KO": ("Coca-Cola Company (The) Common Stock", "N", False, 21344, "2080", 63.65),
    "META": ("Meta Platforms, Inc. - Class A Common Stock", "Q", False, 1326801, "7370", 504.22),
    "MSFT": ("Microsoft Corporation - Common Stock", "Q", False, 789019, "7372", 446.95),
    "NIO": ("NIO Inc. American depositary shares", "N", False, 1736541, "3711", 4.16),
    "NVDA": ("NVIDIA Corporation - Common Stock", "Q", False, 1045810, "3674", 123.54),
    "PFE": ("Pfizer, Inc. Common Stock", "N", False, 78003, "2834", 27.98),
    "PG": ("Procter & Gamble Company (The) Common Stock", "N", False, 80424, "2840", 164.92),
    "PLTR": ("Palantir Technologies Inc. Class A Common Stock", "N", False, 1321655, "7372", 25.33),
    "QQQ": ("Invesco QQQ Trust, Series 1", "Q", True, None, "", 479.11),
    "SOFI": ("SoFi Technologies, Inc. - Common Stock", "Q", False, 1818874, "6199", 6.61),
    "SPY": ("SPDR S&P 500 ETF Trust", "P", True, 884394, "", 544.22),
    "T": ("AT&T Inc.", "N", False, 732717, "4813", 19.11),
    "TSLA": ("Tesla, Inc. - Common Stock", "Q", False, 1318605, "3711", 197.88),
    "WMT": ("Walmart Inc. Common Stock", "N", False, 104169, "5331", 67.71),
    "XOM": ("Exxon Mobil Corporation Common Stock", "N", False, 34088, "2911", 115.12),
}
SIC_DESCRIPTIONS = {
    "3571": "Electronic Computers",
    "7832": "Services-Motion Picture Theaters",
    "3674": "Semiconductors & Related Devices",
    "5961": "Retail-Catalog & Mail-Order Houses",
    "6021": "National Commercial Banks",
    "6331": "Fire, Marine & Casualty Insurance",
    "2911": "Petroleum Refining",
    "3711": "Motor Vehicles & Passenger Car Bodies",
    "3724": "Aircraft Engines & Engine Parts",
    "5734": "Retail-Computer & Computer Software Stores",
    "7370": "Services-Computer Programming, Data Processing, Etc.",
    "2834": "Pharmaceutical Preparations",
    "2080": "Beverages",
    "7372": "Services-Prepackaged Software",
    "2840": "Soap, Detergents, Cleang Preparations, Perfumes, Cosmetics",
    "6199": "Finance Services",
    "4813": "Telephone Communications (No Radiotelephone)",
    "5331": "Retail-Variety Stores",
}
DIVIDENDS = {  # (symbol, ex-date): cash per share, as declared
    ("JPM", dt.date(2024, 7, 5)): 1.15,
    ("KO", dt.date(2024, 6, 14)): 0.485,
    ("AAPL", dt.date(2024, 5, 10)): 0.25,
    ("PG", dt.date(2024, 4, 18)): 1.0065,
    ("XOM", dt.date(2024, 5, 14)): 0.95,
}
EUR_RATES = {  # units per EUR: USD, JPY, GBP, CHF, as published for July; earlier days are a seeded walk
    dt.date(2024, 7, 1): (1.0746, 173.35, 0.84750, 0.9708),
    dt.date(2024, 7, 2): (1.0729, 173.08, 0.84668, 0.9740),
    dt.date(2024, 7, 3): (1.0774, 174.32, 0.84660, 0.9766),
    dt.date(2024, 7, 4): (1.0801, 174.07, 0.84710, 0.9741),
    dt.date(2024, 7, 5): (1.0814, 174.31, 0.84585, 0.9700),
    dt.date(2024, 7, 8): (1.0833, 174.12, 0.84530, 0.9698),
    dt.date(2024, 7, 9): (1.0817, 174.41, 0.84525, 0.9710),
    dt.date(2024, 7, 10): (1.0822, 174.89, 0.84470, 0.9726),
    dt.date(2024, 7, 11): (1.0860, 172.73, 0.84320, 0.9734),
    dt.date(2024, 7, 12): (1.0890, 172.37, 0.83950, 0.9739),
}
TRAILER = "File Creation Time: 0712202418:02"


def directory_files() -> None:
    out = HERE / "www.nasdaqtrader.com" / "dynamic" / "SymDir"
    out.mkdir(parents=True, exist_ok=True)
    tiers = {
        "AAPL": "Q",
        "AMD": "Q",
        "AMZN": "Q",
        "GOOGL": "Q",
        "INTC": "Q",
        "META": "Q",
        "MSFT": "Q",
        "NVDA": "Q",
        "QQQ": "G",
        "SOFI": "Q",
        "TSLA": "Q",
    }
    nasdaq = ["Symbol|Security Name|Market Category|Test Issue|Financial Status|Round Lot Size|ETF|NextShares"]
    other = ["ACT Symbol|Security Name|Exchange|CQS Symbol|ETF|Round Lot Size|Test Issue|NASDAQ Symbol"]
    for symbol, (name, listing, etf, *_rest) in sorted(LISTINGS.items()):
        flag = "Y" if etf else "N"
        if listing == "Q":
            nasdaq.append(f"{symbol}|{name}|{tiers[symbol]}|N|N|100|{flag}|N")
        else:
            other.append(f"{symbol}|{name}|{listing}|{symbol}|{flag}|100|N|{symbol.replace('.', '=')}")
    nasdaq.append("ZXZZT|NASDAQ TEST STOCK|G|Y|N|100|N|N")
    other.append("ZTEST|NYSE TEST ISSUE|N|ZTEST|N|100|Y|ZTEST")
    for path, lines in ((out / "nasdaqlisted.txt", nasdaq), (out / "otherlisted.txt", other)):
        lines.append(TRAILER + "|" * (lines[0].count("|")))
        path.write_bytes(("\r\n".join(lines) + "\r\n").encode("ascii"))


def sec_files() -> None:
    www = HERE / "www.sec.gov" / "files"
    data = HERE / "data.sec.gov" / "submissions"
    www.mkdir(parents=True, exist_ok=True)
    data.mkdir(parents=True, exist_ok=True)
    rows = []
    for symbol, (name, listing, _etf, cik, sic, _close) in sorted(LISTINGS.items()):
        if cik is None:
            continue
        exchange = "Nasdaq" if listing == "Q" else "NYSE"
        rows.append([cik, name.split(" - ")[0].split(" Common")[0], symbol.replace(".", "-"), exchange])
        submission = {
            "cik": str(cik),
            "entityType": "operating" if sic else "other",
            "sic": sic,
            "sicDescription": SIC_DESCRIPTIONS.get(sic, ""),
            "name": rows[-1][1],
            "tickers": [rows[-1][2]],
            "exchanges": [exchange],
            "filings": {"recent": {"accessionNumber": [], "form": [], "filingDate": []}, "files": []},
        }
        (data / f"CIK{cik:010d}.json").write_text(json.dumps(submission))
    (www / "company_tickers_exchange.json").write_text(
        json.dumps({"fields": ["cik", "name", "ticker", "exchange"], "data": rows})
    )


def yahoo_files() -> None:
    out = HERE / "query1.finance.yahoo.com" / "v8" / "finance" / "chart"
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(20240628)
    days = [s.date() for s in xcals.get_calendar("XNYS").sessions_in_range(str(FIRST), str(LAST))]
    for symbol, (*_rest, close) in sorted(LISTINGS.items()):
        timestamps, quote = [], {"open": [], "high": [], "low": [], "close": [], "volume": []}
        dividends = {}
        for day in days:
            opened = close * (1 + rng.gauss(0, 0.004))
            close = opened * (1 + rng.gauss(0.0005, 0.015))
            high = max(opened, close) * (1 + abs(rng.gauss(0, 0.005)))
            low = min(opened, close) * (1 - abs(rng.gauss(0, 0.005)))
            stamp = int(dt.datetime.combine(day, dt.time(9, 30), NEW_YORK).timestamp())
            timestamps.append(stamp)
            for key, value in (("open", opened), ("high", high), ("low", low), ("close", close)):
                quote[key].append(round(value, 4))
            quote["volume"].append(int(rng.lognormvariate(16, 0.4)))
            if (symbol, day) in DIVIDENDS:
                dividends[str(stamp)] = {"amount": DIVIDENDS[(symbol, day)], "date": stamp}
        chart = {
            "chart": {
                "result": [
                    {
                        "meta": {
                            "currency": "USD",
                            "symbol": symbol.replace(".", "-"),
                            "exchangeName": "NMS",
                            "instrumentType": "ETF" if LISTINGS[symbol][2] else "EQUITY",
                            "gmtoffset": -14400,
                            "timezone": "EDT",
                            "exchangeTimezoneName": "America/New_York",
                            "dataGranularity": "1d",
                        },
                        "timestamp": timestamps,
                        "events": {"dividends": dividends} if dividends else {},
                        "indicators": {"quote": [quote], "adjclose": [{"adjclose": quote["close"]}]},
                    }
                ],
                "error": None,
            }
        }
        (out / symbol.replace(".", "-")).write_text(json.dumps(chart))


def _earlier_rates() -> dict[dt.date, tuple[float, ...]]:
    """TARGET days (weekdays but Good Friday, Easter Monday, 1 May) before July: a walk back from 1 July."""
    rng = random.Random(20240701)
    closed = {dt.date(2024, 3, 29), dt.date(2024, 4, 1), dt.date(2024, 5, 1)}
    rates, current, day = {}, EUR_RATES[dt.date(2024, 7, 1)], dt.date(2024, 6, 28)
    while day >= FIRST:
        if day.weekday() < 5 and day not in closed:
            current = tuple(r * (1 + rng.gauss(0, 0.003)) for r in current)
            rates[day] = current
        day -= dt.timedelta(days=1)
    return rates


def _canadian_dollars(days: list[dt.date]) -> dict[dt.date, float]:
    """CAD per EUR: a walk from about its July 2024 level, seeded apart so the other columns keep their values."""
    rng, rate, rates = random.Random(20240712), 1.4790, {}
    for day in sorted(days, reverse=True):
        rates[day] = rate
        rate *= 1 + rng.gauss(0, 0.003)
    return rates


def ecb_file() -> None:
    """The markets beyond the US quote in CAD and HKD too (make_listings_sample.py). HKD is pegged to USD
    (7.75-7.85 per USD): its rate per EUR is the day's USD rate times 7.81."""
    out = HERE / "www.ecb.europa.eu" / "stats" / "eurofxref"
    out.mkdir(parents=True, exist_ok=True)
    lines = ["Date,USD,JPY,CYP,GBP,CHF,CAD,HKD,"]
    rates = EUR_RATES | _earlier_rates()
    cad = _canadian_dollars(list(rates))
    for day, (usd, jpy, gbp, chf) in sorted(rates.items(), reverse=True):
        lines.append(f"{day.isoformat()},{usd:.4f},{jpy:.2f},N/A,{gbp:.5f},{chf:.4f},{cad[day]:.4f},{usd * 7.81:.4f},")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        info = zipfile.ZipInfo("eurofxref-hist.csv", date_time=(2024, 7, 12, 16, 0, 0))
        archive.writestr(info, "\n".join(lines) + "\n")
    (out / "eurofxref-hist.zip").write_bytes(buffer.getvalue())


if __name__ == "__main__":
    directory_files()
    sec_files()
    yahoo_files()
    ecb_file()
