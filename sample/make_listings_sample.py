"""Writes the made listing files of the five markets beyond the US and their Yahoo charts (see
sample/README.md, "Markets beyond the US: made, not recorded").

Each file is in its exchange's real format and on its real URL layout (resources/listings.py names
them), with the quirks tickerlake must handle: London's header below a preamble and TIDMs with a
trailing dot, Xetra's two preamble lines and a link to the file on a Downloads page, Tokyo's legacy
.xls, Hong Kong's header on the third row and the stale sheet dimension HKEX ships, Toronto's JSON with
share classes and preferred shares. Names, codes, ISINs and sectors are the companies' public ones;
prices are a seeded random walk from each listing's approximate mid-2024 price: synthetic, not market
data. Run from the repository root: `.venv/bin/python sample/make_listings_sample.py` (needs the dev
extra: openpyxl, xlwt). Seeded and deterministic.
"""

import csv
import datetime as dt
import io
import json
import random
import re
import zipfile
from pathlib import Path
from zoneinfo import ZoneInfo

import exchange_calendars as xcals
import openpyxl
import xlwt

from resources.prices import yahoo_symbol

HERE = Path(__file__).resolve().parent
FIRST, LAST = dt.date(2024, 3, 1), dt.date(2024, 7, 12)
XETRA_BLOB = "/resource/blob/1528/4b1d3f0e9a2c7d61/data/t7-xetr-allTradableInstruments.csv"

# TIDM, issuer, ISIN, MiFIR code, ICB industry, trading currency, mid-2024 price, daily volatility
LONDON = [
    ("AZN", "ASTRAZENECA PLC", "GB0009895292", "SHRS", "Health Care", "GBX", 12340.0, 0.011),
    ("BARC", "BARCLAYS PLC", "GB0031348658", "SHRS", "Financials", "GBX", 209.0, 0.016),
    ("BP.", "BP PLC", "GB0007980591", "SHRS", "Energy", "GBX", 457.0, 0.012),
    ("HSBA", "HSBC HOLDINGS PLC", "GB0005405286", "SHRS", "Financials", "GBX", 684.0, 0.010),
    ("RR.", "ROLLS-ROYCE HOLDINGS PLC", "GB00B63H8491", "SHRS", "Industrials", "GBX", 457.0, 0.031),
    ("VOD", "VODAFONE GROUP PLC", "GB00BH4HKS39", "SHRS", "Telecommunications", "GBX", 70.0, 0.013),
    ("ISF", "ISHARES CORE FTSE 100 UCITS ETF", "IE0005042456", "ETFS", "", "GBX", 817.0, 0.007),
]
# Mnemonic, instrument (T7 truncates names), ISIN, type, primary market, status, price EUR, volatility
XETRA = [
    ("ALV", "ALLIANZ SE NA O.N.", "DE0008404005", "CS", "XETR", "Active", 259.0, 0.010),
    ("BMW", "BAY.MOTOREN WERKE AG ST", "DE0005190003", "CS", "XETR", "Active", 88.0, 0.014),
    ("DTE", "DT.TELEKOM AG NA", "DE0005557508", "CS", "XETR", "Active", 23.4, 0.009),
    ("SAP", "SAP SE O.N.", "DE0007164600", "CS", "XETR", "Active", 189.0, 0.012),
    ("SIE", "SIEMENS AG NA O.N.", "DE0007236101", "CS", "XETR", "Active", 173.0, 0.013),
    ("EUNL", "ISHSIII-CORE MSCI WORLD U.ETF", "IE00B4L5Y983", "ETF", "XETR", "Active", 94.0, 0.007),
    ("APC", "APPLE INC.", "US0378331005", "CS", "XNAS", "Active", 196.0, 0.014),
    ("WDI", "WIRECARD AG", "DE0007472060", "CS", "XETR", "Inactive", 0.02, 0.050),
]
# Local code, English name, section, 33-sector code and name, 17-sector code and name, size, price JPY, vol
TOKYO = [
    (
        7203,
        "TOYOTA MOTOR CORPORATION",
        "Prime Market (Domestic)",
        3700,
        "Transportation Equipment",
        6,
        "AUTOMOBILES & TRANSPORTATION EQUIPMENT",
        1,
        "TOPIX Core30",
        3290.0,
        0.013,
    ),
    (
        6758,
        "SONY GROUP CORPORATION",
        "Prime Market (Domestic)",
        3650,
        "Electric Appliances",
        9,
        "ELECTRIC APPLIANCES & PRECISION INSTRUMENTS",
        1,
        "TOPIX Core30",
        13650.0,
        0.012,
    ),
    (
        8306,
        "Mitsubishi UFJ Financial Group,Inc.",
        "Prime Market (Domestic)",
        7050,
        "Banks",
        15,
        "BANKS",
        1,
        "TOPIX Core30",
        1730.0,
        0.015,
    ),
    (
        9984,
        "SoftBank Group Corp.",
        "Prime Market (Domestic)",
        5250,
        "Information & Communication",
        10,
        "IT & SERVICES, OTHERS",
        1,
        "TOPIX Core30",
        10400.0,
        0.034,
    ),
    (1306, "NEXT FUNDS TOPIX Exchange Traded Fund", "ETFs/ ETNs", "-", "-", "-", "-", "-", "-", 2800.0, 0.009),
]
# Stock code, name, category, sub-category, board lot, ISIN, trading currency, price HKD, volatility
HONG_KONG = [
    ("00005", "HSBC HOLDINGS", "Equity", "Equity Securities (Main Board)", "400", "GB0005405286", "HKD", 67.0, 0.011),
    ("00388", "HKEX", "Equity", "Equity Securities (Main Board)", "100", "HK0388045442", "HKD", 234.0, 0.013),
    ("00700", "TENCENT", "Equity", "Equity Securities (Main Board)", "100", "KYG875721634", "HKD", 372.0, 0.014),
    ("01299", "AIA", "Equity", "Equity Securities (Main Board)", "200", "HK0000069689", "HKD", 53.0, 0.012),
    (
        "02800",
        "TRACKER FUND",
        "Exchange Traded Products",
        "Exchange Traded Funds",
        "500",
        "HK2800008867",
        "HKD",
        17.6,
        0.011,
    ),
    ("09988", "BABA-W", "Equity", "Equity Securities (Main Board)", "100", "KYG017191142", "HKD", 70.0, 0.029),
    ("13412", "HS#HSI RC2412W", "Callable Bull/Bear Contracts", "", "10,000", "HK0000998765", "HKD", None, None),
    ("20187", "BABA CG#25 CE", "Derivative Warrants", "", "5,000", "HK0000912345", "HKD", None, None),
]
# Root symbol, name, instruments (symbol, name), price CAD of the first instrument, volatility
TORONTO = [
    (
        "BBD",
        "Bombardier Inc.",
        [("BBD.A", "Bombardier Inc. Cl A MV"), ("BBD.B", "Bombardier Inc. Cl B SV")],
        88.0,
        0.014,
    ),
    ("CNQ", "Canadian Natural Resources Limited", [("CNQ", "Canadian Natural Resources Limited")], 48.7, 0.016),
    ("ENB", "Enbridge Inc.", [("ENB", "Enbridge Inc."), ("ENB.PR.A", "Enbridge Inc. Pref Series A")], 48.6, 0.009),
    ("RY", "Royal Bank of Canada", [("RY", "Royal Bank of Canada")], 145.6, 0.010),
    ("SHOP", "Shopify Inc.", [("SHOP", "Shopify Inc. Class A Subordinate Voting Shares")], 90.3, 0.032),
    ("TD", "The Toronto-Dominion Bank", [("TD", "The Toronto-Dominion Bank")], 75.2, 0.011),
]
CHART_OPENS = {  # Yahoo stamps a daily bar at the session's open in the exchange's time zone
    "XLON": ("Europe/London", dt.time(8, 0), "LSE", "GBp"),
    "XETR": ("Europe/Berlin", dt.time(9, 0), "GER", "EUR"),
    "XTKS": ("Asia/Tokyo", dt.time(9, 0), "JPX", "JPY"),
    "XHKG": ("Asia/Hong_Kong", dt.time(9, 30), "HKG", "HKD"),
    "XTSE": ("America/Toronto", dt.time(9, 30), "TOR", "CAD"),
}


def london() -> list[tuple[str, float, float]]:
    book = openpyxl.Workbook()
    book.active.title = "Contents"
    book.active["A1"] = "Instrument list: see the following sheets"
    sheet = book.create_sheet("1.0 All Equity")
    preamble = [
        "London Stock Exchange",
        "Instrument list",
        "",
        "List of all equity instruments",
        "",
        "Data as at: 12 July 2024",
        "",
    ]
    for row, text in enumerate(preamble, start=1):
        sheet.cell(row=row, column=1, value=text or None)
    header = [
        "TIDM",
        "Issuer Name",
        "Instrument Name",
        "ISIN",
        "MiFIR Identifier Code",
        "MiFIR Identifier Description",
        "ICB Industry",
        "ICB Super-Sector Name",
        "Start Date",
        "Country of Incorporation",
        "Trading Currency",
        "Security Mkt Cap (in £m)",
        "LSE Market",
        "FCA Listing Category",
    ]
    sheet.append(header)
    for tidm, issuer, isin, mifir, industry, currency, *_ in LONDON:
        kind = "Shares" if mifir == "SHRS" else "Exchange Traded Funds"
        sheet.append(
            [
                tidm,
                issuer,
                "ORD SHS" if mifir == "SHRS" else issuer,
                isin,
                mifir,
                kind,
                industry or None,
                industry or None,
                dt.datetime(2001, 1, 2),
                "United Kingdom" if isin[:2] == "GB" else "Ireland",
                currency,
                None,
                "MAIN MARKET",
                "Equity shares (commercial companies)",
            ]
        )
    book.create_sheet("1.1 Shares").append(header)
    out = HERE / "docs.londonstockexchange.com" / "sites" / "default" / "files" / "reports"
    out.mkdir(parents=True, exist_ok=True)
    book.save(out / "Instrument list_82.xlsx")
    return [(f"{tidm.rstrip('.')}.L", price, vol) for tidm, *_, price, vol in LONDON]


def xetra() -> list[tuple[str, float, float]]:
    host = HERE / "www.cashmarket.deutsche-boerse.com"
    page = host / "cash-en" / "trading" / "Tradable-Instruments-Xetra" / "Downloads"
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(
        "<!DOCTYPE html><html><head><title>Downloads</title></head><body><h1>Tradable Instruments Xetra</h1>"
        '<ul><li><a href="/resource/blob/1528/0aa1bb2cc3dd4ee5/data/t7-xfra-BF-allTradableInstruments.csv">'
        "All tradable instruments (Frankfurt)</a></li>"
        f'<li><a href="{XETRA_BLOB}">All tradable instruments (Xetra), CSV</a></li></ul></body></html>\n'
    )
    header = [
        "Product Status",
        "Instrument Status",
        "Instrument",
        "ISIN",
        "Product ID",
        "Instrument ID",
        "WKN",
        "Mnemonic",
        "MIC Code",
        "CCP eligible Code",
        "Trading Model Type",
        "Product Assignment Group",
        "Product Assignment Group Description",
        "Instrument Type",
        "Currency",
        "Primary Market MIC Code",
    ]
    buffer = io.StringIO()
    buffer.write("Market:;XETR\nDate Last Update:;12.07.2024\n")
    writer = csv.writer(buffer, delimiter=";", lineterminator="\n")
    writer.writerow(header)
    for n, (mnemonic, name, isin, kind, primary, status, *_) in enumerate(XETRA):
        group = "DAX" if kind == "CS" and isin.startswith("DE") else ("ETF" if kind == "ETF" else "AUS")
        writer.writerow(
            [
                status,
                status,
                name,
                isin,
                5000 + n,
                2_500_000 + n,
                isin[5:11],
                mnemonic,
                "XETR",
                "Y",
                "Continuous Auction" if kind == "ETF" else "Continuous Trading",
                group,
                group,
                kind,
                "EUR",
                primary,
            ]
        )
    blob = host / XETRA_BLOB.lstrip("/")
    blob.parent.mkdir(parents=True, exist_ok=True)
    blob.write_text(buffer.getvalue())
    return [
        (f"{m}.DE", price, vol)
        for m, _, _, _, primary, status, price, vol in XETRA
        if (primary, status) == ("XETR", "Active")
    ]


def tokyo() -> list[tuple[str, float, float]]:
    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("Sheet1")
    header = [
        "Effective Date",
        "Local Code",
        "Name (English)",
        "Section/Products",
        "33 Sector(Code)",
        "33 Sector(name)",
        "17 Sector(Code)",
        "17 Sector(name)",
        "Size Code (New Index Series)",
        "Size (New Index Series)",
    ]
    for column, name in enumerate(header):
        sheet.write(0, column, name)
    for row, listing in enumerate(TOKYO, start=1):
        for column, value in enumerate((20240628, *listing[:9])):
            sheet.write(row, column, value)
    out = HERE / "www.jpx.co.jp" / "english" / "markets" / "statistics-equities" / "misc" / "tvdivq0000001vg2-att"
    out.mkdir(parents=True, exist_ok=True)
    book.save(str(out / "data_e.xls"))
    return [(f"{code}.T", price, vol) for code, *_, price, vol in TOKYO]


def hong_kong() -> list[tuple[str, float, float]]:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "ListOfSecurities"
    sheet.append(["List of Securities"])
    sheet.append(["Updated as at 12/07/2024"])
    sheet.append(
        [
            "Stock Code",
            "Name of Securities",
            "Category",
            "Sub-Category",
            "Board Lot",
            "ISIN",
            "Expiry Date",
            "Subject to Stamp Duty",
            "Shortsell Eligible",
            "CAS Eligible",
            "VCM Eligible",
            "Admitted to CCASS",
            "Debt Securities Board Lot (Nominal)",
            "Debt Securities Investor Type",
            "POS Eligible",
            "Spread Table",
            "Trading Currency",
            "RMB Counter",
        ]
    )
    for code, name, category, sub, lot, isin, currency, *_ in HONG_KONG:
        derivative = category not in ("Equity", "Exchange Traded Products")
        sheet.append(
            [
                code,
                name,
                category,
                sub or None,
                lot,
                isin,
                "30/12/2024" if derivative else None,
                None if derivative else "Y",
                "Y",
                "Y" if not derivative else None,
                "Y" if code in ("00700", "00005") else None,
                "Y",
                None,
                None,
                "Y" if not derivative else None,
                "1" if not derivative else "3",
                currency,
                None,
            ]
        )
    out = HERE / "www.hkex.com.hk" / "eng" / "services" / "trading" / "securities" / "securitieslists"
    out.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    book.save(buffer)
    (out / "ListOfSecurities.xlsx").write_bytes(stale_dimension(buffer.getvalue()))
    return [(f"{int(code):04d}.HK", price, vol) for code, *_, price, vol in HONG_KONG if price is not None]


def stale_dimension(workbook: bytes) -> bytes:
    """The sheet's <dimension> says A1:R8 whatever its size, as HKEX's file does: a reader that trusts it
    sees five securities."""
    source, target = zipfile.ZipFile(io.BytesIO(workbook)), io.BytesIO()
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = re.sub(rb'<dimension ref="[^"]*"/>', b'<dimension ref="A1:R8"/>', data)
            out.writestr(info, data)
    return target.getvalue()


def toronto() -> list[tuple[str, float, float]]:
    results = [
        {"symbol": root, "name": name, "instruments": [{"symbol": s, "name": n} for s, n in instruments]}
        for root, name, instruments, _, _ in TORONTO
    ]
    out = HERE / "www.tsx.com" / "json" / "company-directory" / "search" / "tsx"
    out.mkdir(parents=True, exist_ok=True)
    (out / "^*").write_text(json.dumps({"last_updated": 1720814400, "length": len(results), "results": results}))
    charts = []
    for _, _, instruments, price, vol in TORONTO:
        charts += [
            (f"{s}.TO", price * (0.99 if s.endswith(".A") else 1), vol) for s, _ in instruments if ".PR." not in s
        ]
    return charts


def yahoo_chart(symbol: str, mic: str, price: float, vol: float, rng: random.Random) -> dict:
    zone, opens, exchange, currency = CHART_OPENS[mic]
    days = [s.date() for s in xcals.get_calendar(mic).sessions_in_range(str(FIRST), str(LAST))]
    timestamps, quote = [], {"open": [], "high": [], "low": [], "close": [], "volume": []}
    close = price
    for day in days:
        opened = close * (1 + rng.gauss(0, vol / 4))
        close = opened * (1 + rng.gauss(0.0003, vol))
        high = max(opened, close) * (1 + abs(rng.gauss(0, vol / 3)))
        low = min(opened, close) * (1 - abs(rng.gauss(0, vol / 3)))
        timestamps.append(int(dt.datetime.combine(day, opens, ZoneInfo(zone)).timestamp()))
        for key, value in (("open", opened), ("high", high), ("low", low), ("close", close)):
            quote[key].append(round(value, 4))
        quote["volume"].append(int(rng.lognormvariate(15, 0.5)))
    return {
        "chart": {
            "result": [
                {
                    "meta": {
                        "currency": currency,
                        "symbol": symbol,
                        "exchangeName": exchange,
                        "instrumentType": "EQUITY",
                        "exchangeTimezoneName": zone,
                        "dataGranularity": "1d",
                    },
                    "timestamp": timestamps,
                    "events": {},
                    "indicators": {"quote": [quote], "adjclose": [{"adjclose": quote["close"]}]},
                }
            ],
            "error": None,
        }
    }


def yahoo_files(listed: dict[str, list[tuple[str, float, float]]]) -> None:
    out = HERE / "query1.finance.yahoo.com" / "v8" / "finance" / "chart"
    rng = random.Random(20240712)
    for mic, charts in listed.items():
        for symbol, price, vol in charts:
            (out / yahoo_symbol(symbol)).write_text(json.dumps(yahoo_chart(yahoo_symbol(symbol), mic, price, vol, rng)))


if __name__ == "__main__":
    yahoo_files({"XLON": london(), "XETR": xetra(), "XTKS": tokyo(), "XHKG": hong_kong(), "XTSE": toronto()})
