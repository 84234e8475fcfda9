"""Each market's own listing file: the universe of London, Xetra, Tokyo, Hong Kong and Toronto.

Every one is public and keyless, on its exchange's URL layout:

- London (XLON): the London Stock Exchange's monthly "Instrument list",
  docs.londonstockexchange.com/sites/default/files/reports/Instrument%20list_{N}.xlsx, sheet
  "1.0 All Equity", its header row (the one starting `TIDM`) below a preamble. N grows by an irregular
  step with each issue and no fixed URL names the newest, so the client asks (HEAD) for the numbers from
  the later of the stored one and TICKERLAKE_LSE_INSTRUMENT_LIST until PROBE_GAP in a row are missing,
  and reads the highest found. Prices are in pence (`GBX`). A TIDM with a trailing dot
  (`BP.`) is Yahoo's `BP.L`; a class (`BT.A`) keeps its dot in the lake (`BT.A.L`, Yahoo `BT-A.L`).
- Xetra (XETR): Deutsche Börse's T7 "allTradableInstruments" CSV, linked from the Xetra Downloads page
  under a path whose hash changes with each file (/resource/blob/1528/<hash>/data/t7-xetr-...csv): the
  page is read for it. `;`-separated after two preamble lines (`Market:;XETR`, `Date Last Update:;
  DD.MM.YYYY`). Kept: active common stock and ETFs whose primary market is Xetra (the file also lists
  foreign shares traded there, such as Apple as APC, whose home listing is elsewhere). Yahoo: `SAP.DE`.
- Tokyo (XTKS): JPX's list of TSE-listed issues, data_e.xls (legacy BIFF .xls, English headers), one
  row per issue with its Effective Date, 4-character local code (digits, or since 2024 digits and a
  letter: 285A) and TSE 33-sector. Yahoo: `7203.T`.
- Hong Kong (XHKG): HKEX's ListOfSecurities.xlsx, header on the third row below "List of Securities"
  and "Updated as at DD/MM/YYYY". Kept: equities, REITs and exchange-traded products (the file is mostly
  derivative warrants and CBBCs). Its sheet declares a stale size (A1:R8); the reader ignores it. HKEX's
  5-digit code 00700 is Yahoo's `0700.HK`.
- Toronto (XTSE): TMX's company directory JSON, /json/company-directory/search/tsx/%5E* (`^*`, every
  company), each company with its listed instruments. Preferred shares (`.PR.`) are left out: they trade
  like bonds and providers spell them inconsistently. Yahoo: `RY.TO`, `BBD.B` -> `BBD-B.TO`.

Where a file states its date (Xetra, Tokyo, Hong Kong) that is the snapshot's date; London's and
Toronto's are the day they were fetched, in the market's time zone. Currency is the file's where it
has one (London, Xetra, Hong Kong), else the market's.
"""

import datetime as dt
import io
import re
from collections.abc import Callable
from typing import ClassVar
from zoneinfo import ZoneInfo

import fastexcel
import httpx
import polars as pl
from pydantic import Field

from resources.http import HttpSource, SourceError, SourceFileMissing, exists, join_url, names_its_errors, parse_json
from resources.markets import BY_MIC, Market

LSE_URL = "https://docs.londonstockexchange.com"
LSE_LIST_PATH = "/sites/default/files/reports/Instrument list_{number}.xlsx"
LSE_SHEET = "1.0 All Equity"
PROBE_GAP = 10
PROBED = frozenset({403, 404})  # a missing key: 404, or 403 as storage-backed CDNs answer
XETRA_URL = "https://www.cashmarket.deutsche-boerse.com"
XETRA_DOWNLOADS_PATH = "/cash-en/trading/Tradable-Instruments-Xetra/Downloads"
XETRA_LINK = re.compile(r"/resource/blob/\d+/[0-9a-f]{8,64}/data/t7-xetr-allTradableInstruments\.csv")
JPX_URL = "https://www.jpx.co.jp"
JPX_PATH = "/english/markets/statistics-equities/misc/tvdivq0000001vg2-att/data_e.xls"
HKEX_URL = "https://www.hkex.com.hk"
HKEX_PATH = "/eng/services/trading/securities/securitieslists/ListOfSecurities.xlsx"
HKEX_KEPT = ("Equity", "Real Estate Investment Trusts", "Exchange Traded Products")
TMX_URL = "https://www.tsx.com"
TMX_PATH = "/json/company-directory/search/tsx/%5E*"
PREFERRED = re.compile(r"\.P[RF]\.")  # TSX preferred series: ENB.PR.A, BAM.PF.A

LISTINGS_SCHEMA: dict[str, pl.DataType] = {
    "snapshot_date": pl.Date(),
    "market": pl.String(),
    "symbol": pl.String(),
    "listing_code": pl.String(),
    "name": pl.String(),
    "isin": pl.String(),
    "currency": pl.String(),
    "sector": pl.String(),
    "instrument_type": pl.String(),
    "source_url": pl.String(),
}
LISTINGS_MEANINGS = {
    "snapshot_date": "The day the file describes (its own date where it states one, else the day it was fetched).",
    "market": "The market's MIC (resources/markets.py).",
    "symbol": "The lake's symbol: the exchange's code and the market's suffix (VOD.L, 7203.T, 0700.HK).",
    "listing_code": "The code as the exchange's file writes it (TIDM, Mnemonic, Local Code, Stock Code, symbol).",
    "name": "The issuer's or instrument's name as listed.",
    "isin": "ISIN, where the file has one (London, Xetra, Hong Kong).",
    "currency": "Trading currency as the file states it (GBX is pence), else the market's currency.",
    "sector": "The exchange's own classification: ICB industry (London), TSE 33-sector (Tokyo); else null.",
    "instrument_type": "The file's kind of instrument (MiFIR code, T7 type, TSE section, HKEX category).",
    "source_url": "The file's path on its exchange's host (London's names the issue the next run probes from).",
}


class ListingFileError(SourceError):
    """A listing file that is not in its exchange's format."""


def _sheet(body: bytes, sheet: str | int, what: str) -> pl.DataFrame:
    """Every cell of one sheet as text (codes stay `00700`, not 700), no header assumed."""
    reader = fastexcel.read_excel(body)
    if isinstance(sheet, str) and sheet not in reader.sheet_names:
        raise ListingFileError(f"{what}: no sheet {sheet!r} (sheets: {reader.sheet_names})")
    return reader.load_sheet(sheet, header_row=None, dtypes="string").to_polars()


def _headed(grid: pl.DataFrame, first_cell: str, required: list[str], what: str) -> pl.DataFrame:
    """The rows under the first row whose first cell is `first_cell`, named by that row."""
    firsts = grid.get_column(grid.columns[0]).str.strip_chars().to_list() if grid.width else []
    if first_cell not in firsts:
        raise ListingFileError(f"{what}: no header row starting {first_cell!r}")
    at = firsts.index(first_cell)
    names = [(value or "").strip() for value in grid.row(at)]
    missing = [c for c in required if c not in names]
    if missing:
        raise ListingFileError(f"{what} row {at + 1}: header lacks {missing}")
    body = grid.slice(at + 1).select(
        pl.col(old).alias(new) for old, new in zip(grid.columns, names, strict=True) if new
    )
    return body.with_columns(pl.all().str.strip_chars()).filter(pl.col(first_cell).is_not_null())


def _frame(columns: dict[str, pl.Expr], market: Market, snapshot: dt.date, url: str) -> list[pl.Expr]:
    return [
        pl.lit(snapshot).alias("snapshot_date"),
        pl.lit(market.mic).alias("market"),
        *(expr.alias(name) for name, expr in columns.items()),
        pl.lit(url).alias("source_url"),
    ]


def _finish(frame: pl.DataFrame, what: str) -> pl.DataFrame:
    if frame.is_empty():
        raise ListingFileError(f"{what}: no listing kept (an empty or cut file)")
    return frame.cast(LISTINGS_SCHEMA).select(list(LISTINGS_SCHEMA)).unique("symbol", keep="first", maintain_order=True)


@names_its_errors(ListingFileError, lambda body, url, today: f"LSE instrument list {url}")
def parse_lse(body: bytes, url: str, today: dt.date) -> pl.DataFrame:
    what = f"LSE instrument list {url}"
    rows = _headed(_sheet(body, LSE_SHEET, what), "TIDM", ["TIDM", "Issuer Name", "Trading Currency"], what)
    optional = {c: pl.col(c) if c in rows.columns else pl.lit(None) for c in ("ISIN", "ICB Industry")}
    kind = pl.col("MiFIR Identifier Code") if "MiFIR Identifier Code" in rows.columns else pl.lit(None)
    tidm = pl.col("TIDM").str.strip_chars_end(".")
    columns = {
        "symbol": tidm + ".L",
        "listing_code": pl.col("TIDM"),
        "name": pl.col("Issuer Name"),
        "isin": optional["ISIN"],
        "currency": pl.col("Trading Currency"),
        "sector": optional["ICB Industry"],
        "instrument_type": kind,
    }
    return _finish(rows.select(_frame(columns, BY_MIC["XLON"], today, url)), what)


@names_its_errors(ListingFileError, lambda body, url: f"Xetra tradable instruments {url}")
def parse_xetra(body: bytes, url: str) -> pl.DataFrame:
    what = f"Xetra tradable instruments {url}"
    lines = body.decode("utf-8-sig", errors="replace").replace("\r\n", "\n").split("\n")
    stated = (
        re.fullmatch(r"Date Last Update:;(\d{2})\.(\d{2})\.(\d{4});*", lines[1].strip()) if len(lines) > 2 else None
    )
    if not lines[0].startswith("Market:;XETR") or stated is None:
        raise ListingFileError(f"{what} lines 1-2: not the 'Market:;XETR' / 'Date Last Update:;DD.MM.YYYY' preamble")
    day, month, year = (int(g) for g in stated.groups())
    rows = pl.read_csv(io.StringIO("\n".join(lines[2:])), separator=";", infer_schema=False, quote_char='"')
    required = ["Product Status", "Instrument Status", "Instrument", "ISIN", "Mnemonic", "Instrument Type", "Currency"]
    missing = [c for c in required if c not in rows.columns]
    if missing:
        raise ListingFileError(f"{what} line 3: header lacks {missing}")
    primary = "Primary Market MIC Code"
    home = pl.col(primary).fill_null("").is_in(["XETR", ""]) if primary in rows.columns else True
    kept = rows.filter(
        (pl.col("Product Status") == "Active")
        & (pl.col("Instrument Status") == "Active")
        & pl.col("Instrument Type").is_in(["CS", "ETF"])
        & pl.col("Mnemonic").is_not_null()
        & home
    )
    columns = {
        "symbol": pl.col("Mnemonic") + ".DE",
        "listing_code": pl.col("Mnemonic"),
        "name": pl.col("Instrument"),
        "isin": pl.col("ISIN"),
        "currency": pl.col("Currency"),
        "sector": pl.lit(None),
        "instrument_type": pl.col("Instrument Type"),
    }
    return _finish(kept.select(_frame(columns, BY_MIC["XETR"], dt.date(year, month, day), url)), what)


@names_its_errors(ListingFileError, lambda body, url: f"JPX listed issues {url}")
def parse_jpx(body: bytes, url: str) -> pl.DataFrame:
    what = f"JPX listed issues {url}"
    required = ["Effective Date", "Local Code", "Name (English)", "Section/Products", "33 Sector(name)"]
    rows = _headed(_sheet(body, 0, what), "Effective Date", required, what)
    dates = rows["Effective Date"].unique().drop_nulls().to_list()
    if len(dates) != 1 or not re.fullmatch(r"\d{8}(\.0)?", dates[0]):
        raise ListingFileError(f"{what}: expected one Effective Date (YYYYMMDD), found {dates[:3]}")
    code = pl.col("Local Code").str.replace(r"\.0$", "")
    columns = {
        "symbol": code + ".T",
        "listing_code": code,
        "name": pl.col("Name (English)"),
        "isin": pl.lit(None),
        "currency": pl.lit("JPY"),
        "sector": pl.when(pl.col("33 Sector(name)") != "-").then(pl.col("33 Sector(name)")),
        "instrument_type": pl.col("Section/Products"),
    }
    snapshot = dt.datetime.strptime(dates[0][:8], "%Y%m%d").date()
    return _finish(rows.select(_frame(columns, BY_MIC["XTKS"], snapshot, url)), what)


@names_its_errors(ListingFileError, lambda body, url: f"HKEX list of securities {url}")
def parse_hkex(body: bytes, url: str) -> pl.DataFrame:
    what = f"HKEX list of securities {url}"
    grid = _sheet(body, 0, what)
    stated = (
        re.search(r"Updated as at (\d{2})/(\d{2})/(\d{4})", " ".join(str(v) for v in grid.row(1)))
        if grid.height > 1
        else None
    )
    if stated is None:
        raise ListingFileError(f"{what} row 2: no 'Updated as at DD/MM/YYYY'")
    day, month, year = (int(g) for g in stated.groups())
    required = ["Stock Code", "Name of Securities", "Category", "ISIN", "Trading Currency"]
    rows = _headed(grid, "Stock Code", required, what)
    code = pl.col("Stock Code").str.replace(r"\.0$", "")
    ordinary = code.str.contains(r"^\d{1,5}$") & (code.cast(pl.Int64, strict=False) < 10_000)
    kept = rows.filter(pl.col("Category").is_in(HKEX_KEPT) & ordinary)
    columns = {
        "symbol": code.cast(pl.Int64).cast(pl.String).str.zfill(4) + ".HK",
        "listing_code": code.str.zfill(5),
        "name": pl.col("Name of Securities"),
        "isin": pl.col("ISIN"),
        "currency": pl.col("Trading Currency"),
        "sector": pl.lit(None),
        "instrument_type": pl.col("Category"),
    }
    return _finish(kept.select(_frame(columns, BY_MIC["XHKG"], dt.date(year, month, day), url)), what)


@names_its_errors(ListingFileError, lambda body, url, today: f"TMX company directory {url}")
def parse_tmx(body: bytes, url: str, today: dt.date) -> pl.DataFrame:
    what = f"TMX company directory {url}"
    document = parse_json(body, what, ListingFileError)
    if not isinstance(document, dict) or not isinstance(document.get("results"), list):
        raise ListingFileError(f"{what}: no 'results' list")
    rows = []
    for company in document["results"]:
        for instrument in company.get("instruments") or []:
            symbol = str(instrument["symbol"]).strip()
            if symbol and not PREFERRED.search(symbol):
                rows.append((symbol, instrument.get("name") or company.get("name")))
    frame = pl.DataFrame(rows, schema={"code": pl.String(), "name": pl.String()}, orient="row")
    columns = {
        "symbol": pl.col("code") + ".TO",
        "listing_code": pl.col("code"),
        "name": pl.col("name"),
        "isin": pl.lit(None),
        "currency": pl.lit("CAD"),
        "sector": pl.lit(None),
        "instrument_type": pl.lit(None),
    }
    return _finish(frame.select(_frame(columns, BY_MIC["XTSE"], today, url)), what)


def lse_list_number(url: str | None) -> int | None:
    """The issue number N of an instrument-list URL (Instrument%20list_N.xlsx)."""
    found = re.search(r"Instrument(?: |%20)list_(\d+)\.xlsx$", url or "")
    return int(found.group(1)) if found else None


class ListingsClient(HttpSource):
    """The five exchanges' listing files; one method per market, each answering the parsed snapshot."""

    source_name: ClassVar[str] = "exchange listings"
    lse_url: str = Field(default=LSE_URL, description="Host of the LSE instrument lists.")
    lse_first_list: int = Field(default=82, description="Instrument list number to probe from on the first run.")
    xetra_url: str = Field(default=XETRA_URL, description="Host of Deutsche Börse's Xetra downloads.")
    jpx_url: str = Field(default=JPX_URL, description="Host of JPX's list of TSE-listed issues.")
    hkex_url: str = Field(default=HKEX_URL, description="Host of HKEX's list of securities.")
    tmx_url: str = Field(default=TMX_URL, description="Host of TMX's company directory.")

    def listings(self, mic: str, last_source_url: str | None = None) -> pl.DataFrame:
        """Market `mic`'s newest listing snapshot; `last_source_url` the file its stored one came from."""
        fetchers: dict[str, Callable[[httpx.Client], pl.DataFrame]] = {
            "XLON": lambda client: self._lse(client, max(lse_list_number(last_source_url) or 0, self.lse_first_list)),
            "XETR": self._xetra,
            "XTKS": lambda client: parse_jpx(self._get(client, self.jpx_url, JPX_PATH, "JPX data_e.xls"), JPX_PATH),
            "XHKG": lambda client: parse_hkex(self._get(client, self.hkex_url, HKEX_PATH, "HKEX list"), HKEX_PATH),
            "XTSE": lambda client: parse_tmx(
                self._get(client, self.tmx_url, TMX_PATH, "TMX directory"), TMX_PATH, _today("XTSE")
            ),
        }
        if mic not in fetchers:
            raise ListingFileError(f"no listing source for market {mic!r}; known: {', '.join(fetchers)}")
        with self.session() as client:
            return fetchers[mic](client)

    def _get(self, client: httpx.Client, base: str, path: str, what: str) -> bytes:
        return self.fetch(client, join_url(base, path), what).content

    def _lse(self, client: httpx.Client, start: int) -> pl.DataFrame:
        """The highest-numbered instrument list from `start` on: numbers are probed (HEAD) until PROBE_GAP in
        a row are missing, as the series skips numbers."""
        found, number, misses = None, start, 0
        while misses < PROBE_GAP:
            url = join_url(self.lse_url, LSE_LIST_PATH.format(number=number))
            try:
                present = exists(
                    client, url, what=f"LSE instrument list {number}", policy=self.retry_policy, missing=PROBED
                )
            except SourceError:
                if found is None:
                    raise
                break  # a probe past a found issue that fails: the found one is read, the next run probes again
            found, misses = (number, 0) if present else (found, misses + 1)
            number += 1
        if found is None:
            raise SourceFileMissing(
                f"LSE instrument list: none of numbers {start}..{number - 1} exists; set "
                "TICKERLAKE_LSE_INSTRUMENT_LIST to the number of a recent one (its URL ends list_N.xlsx)"
            )
        path = LSE_LIST_PATH.format(number=found)
        return parse_lse(self._get(client, self.lse_url, path, f"LSE instrument list {found}"), path, _today("XLON"))

    def _xetra(self, client: httpx.Client) -> pl.DataFrame:
        page = self._get(client, self.xetra_url, XETRA_DOWNLOADS_PATH, "Xetra Downloads page")
        link = XETRA_LINK.search(page.decode("utf-8", errors="replace"))
        if link is None:
            raise ListingFileError(
                f"Xetra Downloads page {XETRA_DOWNLOADS_PATH}: no link to t7-xetr-allTradableInstruments.csv"
            )
        return parse_xetra(
            self._get(client, self.xetra_url, link.group(0), "Xetra tradable instruments"), link.group(0)
        )


def _today(mic: str) -> dt.date:
    return dt.datetime.now(ZoneInfo(BY_MIC[mic].timezone)).date()
