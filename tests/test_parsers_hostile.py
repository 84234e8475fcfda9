"""Every parser against generated malformed and hostile input (Hypothesis): each answer either parses to
rows that hold the source's rules, or fails with the source's own named error. Never an unnamed
exception, never a crash.

Inputs are a real or sample body of the source, mutated: lines dropped, duplicated, truncated or
swapped, fields replaced by hostile values (NaN, infinities, negatives, huge numbers, empty strings,
control characters, formulas, other types in JSON), bytes flipped. Runs are derandomized (the same
inputs on every run) so CI is deterministic. How many inputs each parser met is written to
build/hypothesis-counts.json.
"""

import contextlib
import copy as copy_module
import datetime as dt
import gzip
import io
import json
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import fastexcel
import openpyxl
import polars as pl
import pytest
import xlwt
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assets.binance import KLINE_RULES, KLINES_DATASET
from assets.binance_depth import ORDER_BOOK_DATASET, ORDER_BOOK_RULES
from assets.cboe import DATASET as CBOE
from assets.cboe import RULES as CBOE_RULES
from assets.cftc_cot import LEGACY_DATASET, TFF_DATASET, rules
from assets.checks import Ledger
from assets.coingecko import COINS_DATASET as COINGECKO_COINS
from assets.coingecko import COINS_RULES as COINGECKO_COINS_RULES
from assets.coingecko import MARKETS_DATASET as COINGECKO_MARKETS
from assets.coingecko import MARKETS_RULES as COINGECKO_MARKETS_RULES
from assets.finra import DATASET as FINRA
from assets.finra import RULES as FINRA_RULES
from assets.finra import store_days
from assets.fred import DATASET as FRED
from assets.fred import RULES as FRED_RULES
from assets.fx import DATASET as FX
from assets.fx import RULES as FX_RULES
from assets.listings import DATASET as LISTINGS
from assets.listings import RULES as LISTINGS_RULES
from assets.prices import DATASET as PRICES
from assets.prices import RULES as PRICE_RULES
from resources.binance import (
    parse_klines_csv,
    parse_klines_json,
    parse_ticker_24hr,
    unzip_single_csv,
    verify_checksum,
)
from resources.binance_depth import parse_depth, snapshot_rows
from resources.cboe import parse_history
from resources.cftc_cot import LEGACY, TFF, parse_report
from resources.coingecko import parse_coin, parse_markets
from resources.completeness import losses
from resources.finra import FetchedDay, parse_short_volume
from resources.fred import parse_series
from resources.fx import parse_eurofxref_hist
from resources.http import SourceError
from resources.lake import LakeResource
from resources.listings import HKEX_PATH, JPX_PATH, LSE_SHEET, parse_hkex, parse_jpx, parse_lse, parse_tmx, parse_xetra
from resources.prices import (
    parse_polygon_bars,
    parse_polygon_dividends,
    parse_polygon_splits,
    parse_tiingo,
    parse_yahoo_chart,
)
from resources.sectors import parse_company_tickers_exchange, parse_submission
from resources.symbols import SYMBOL_PATTERN, parse_nasdaq_listed, parse_other_listed
from tests.helpers import ROOT, SAMPLE_ROOT, TEST_FIXTURES, lake_at

EXAMPLES = 150
TRIED: Counter[str] = Counter()
HOSTILE = [
    "nan",
    "NaN",
    "inf",
    "-inf",
    "-1",
    "0",
    "",
    " ",
    "1e308",
    "1e309",
    "-0",
    "=1+1",
    "@SUM(A1)",
    "\x00",
    "\u200b",
    "AAPL|MSFT",
    '"',
    "'",
    "9" * 40,
    "1.5.6",
    "null",
    "true",
    "[]",
    "{}",
    "é",
    "\r",
]
JSON_HOSTILE = [None, float("nan"), float("inf"), -1, 0, "", "x", [], {}, True, 10**30, -(10**30), 1e-300]
RECORDED = TEST_FIXTURES / "real"


@pytest.fixture(scope="module", autouse=True)
def _report_counts() -> Iterator[None]:
    yield
    out = ROOT / "build" / "hypothesis-counts.json"
    out.parent.mkdir(exist_ok=True)
    counts = json.loads(out.read_text()) if out.exists() else {}
    out.write_text(json.dumps({**counts, **TRIED}, indent=2, sort_keys=True))


def lines_mutated(body: bytes, separator: bytes = b"|") -> st.SearchStrategy[bytes]:
    """A text body with its lines dropped, repeated, truncated, or a field replaced by a hostile value."""
    lines = body.split(b"\n")

    @st.composite
    def mutate(draw: st.DrawFn) -> bytes:
        out = list(lines)
        for _ in range(draw(st.integers(1, 4))):
            index = draw(st.integers(0, max(len(out) - 1, 0)))
            action = draw(st.sampled_from(["drop", "repeat", "truncate", "field", "flip", "swap"]))
            if not out:
                break
            line = out[index]
            if action == "drop":
                out.pop(index)
            elif action == "repeat":
                out.insert(index, line)
            elif action == "truncate":
                out[index] = line[: draw(st.integers(0, max(len(line), 0)))]
            elif action == "field":
                fields = line.split(separator)
                fields[draw(st.integers(0, len(fields) - 1))] = draw(st.sampled_from(HOSTILE)).encode()
                out[index] = separator.join(fields)
            elif action == "flip" and line:
                at = draw(st.integers(0, len(line) - 1))
                out[index] = line[:at] + bytes([draw(st.integers(0, 255))]) + line[at + 1 :]
            elif action == "swap":
                other = draw(st.integers(0, len(out) - 1))
                out[index], out[other] = out[other], out[index]
        return b"\n".join(out)

    return mutate()


def json_mutated(document: object) -> st.SearchStrategy[bytes]:
    """A JSON document with a value somewhere replaced by a hostile one (or the body cut short)."""
    paths = list(_paths(document))

    @st.composite
    def mutate(draw: st.DrawFn) -> bytes:
        copy = json.loads(json.dumps(document))
        for _ in range(draw(st.integers(1, 3))):
            path = draw(st.sampled_from(paths))
            _set(copy, path, copy_module.deepcopy(draw(st.sampled_from(JSON_HOSTILE))))  # a fresh [] or {}
        body = json.dumps(copy, allow_nan=True).encode()
        return body[: draw(st.integers(0, len(body)))] if draw(st.booleans()) and draw(st.booleans()) else body

    return mutate()


def _paths(node: object, path: tuple = ()) -> Iterator[tuple]:
    yield path
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
    for key, child in list(children)[:40]:
        yield from _paths(child, (*path, key))


def _set(node: object, path: tuple, value: object) -> None:
    if not path:
        return
    for key in path[:-1]:
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            return
    with contextlib.suppress(KeyError, IndexError, TypeError):
        node[path[-1]] = value


def named_or_valid(name: str, parse: Callable[[], object], holds: Callable[[object], None]) -> None:
    """The property: parsed rows hold the source's rules, or the failure is the source's named error."""
    TRIED[name] += 1
    try:
        parsed = parse()
    except SourceError as error:
        assert str(error).strip(), "a named error says what failed"
        return
    holds(parsed)


def checkable(dataset: object, rules: object) -> Callable[[pl.DataFrame], None]:
    """Rows that reach the lake's blocking checks: the checks run (whatever they find) without failing."""

    def holds(frame: pl.DataFrame) -> None:
        assert isinstance(frame, pl.DataFrame)
        Ledger(dataset, rules).inspect("fuzz", frame.select(list(dataset.schema)))

    return holds


HOSTILE_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
FINRA_DAY = dt.date(2020, 3, 16)
CNMS = (RECORDED / "finra" / "CNMSshvol20200316.txt").read_bytes()[:4000] + b"\r\n"


def finra_rows_hold(parsed: object) -> None:
    frame = parsed.frame
    assert frame.schema == pl.Schema(FINRA.schema)
    assert frame.select(pl.col("short_volume", "total_volume").is_finite().all()).row(0) == (True, True)
    assert frame.filter(pl.col("short_volume") > pl.col("total_volume")).is_empty()
    assert frame.filter(pl.col("short_exempt_volume") > pl.col("short_volume")).is_empty()
    assert all(SYMBOL_PATTERN.fullmatch(s) for s in frame["symbol"])
    assert set(frame["trade_date"]) <= {FINRA_DAY}
    Ledger(FINRA, FINRA_RULES).inspect("fuzz", frame)


@HOSTILE_SETTINGS
@given(lines_mutated(CNMS))
def test_finra_files(body: bytes) -> None:
    named_or_valid("finra", lambda: parse_short_volume(body, "CNMS", FINRA_DAY), finra_rows_hold)


# Forty real rows of the same day and FINRA's record-count trailer: a file that says it is complete.
COMPLETE_CNMS = b"\r\n".join(
    [*(RECORDED / "finra" / "CNMSshvol20200316.txt").read_bytes().split(b"\r\n")[:41], b"40", b""]
)


@pytest.fixture(scope="module")
def finra_lake(tmp_path_factory: pytest.TempPathFactory) -> LakeResource:
    lake = lake_at(tmp_path_factory.mktemp("hostile"))
    lake.replace(FINRA, parse_short_volume(COMPLETE_CNMS, "CNMS", FINRA_DAY).frame, where={"trade_date": FINRA_DAY})
    return lake


@settings(HOSTILE_SETTINGS, max_examples=100)
@given(body=lines_mutated(COMPLETE_CNMS) | lines_mutated(COMPLETE_CNMS.removesuffix(b"40\r\n")))
def test_a_hostile_finra_file_never_loses_stored_rows(finra_lake: LakeResource, body: bytes) -> None:
    """Whatever parses is stored only if it loses nothing of the stored day, unless its trailer says the
    file is complete; whatever is refused leaves the stored day as it was. Half the files come without
    the trailer (the eras before FINRA wrote one), so nothing vouches for them."""
    TRIED["finra_into_the_lake"] += 1
    where = {"trade_date": FINRA_DAY}
    before = finra_lake.read(FINRA, where=where)
    try:
        parsed = parse_short_volume(body, "CNMS", FINRA_DAY)
    except SourceError:
        TRIED["finra_into_the_lake: named error"] += 1
        return
    fetched = FetchedDay(FINRA_DAY, parsed.frame, None, parsed.rejected, parsed.complete)
    refused = store_days(finra_lake, [fetched], allow_shrink=False)
    after = finra_lake.read(FINRA, where=where)
    TRIED[f"finra_into_the_lake: {'refused' if refused else 'published'}"] += 1
    assert parsed.complete or not losses(before, after, FINRA.completeness)
    assert after.equals(before) if refused else after.equals(parsed.frame.sort(list(FINRA.order)))
    finra_lake.replace(FINRA, before, where=where, allow_shrink=True)


DIRECTORY = SAMPLE_ROOT / "www.nasdaqtrader.com" / "dynamic" / "SymDir"


def directory_holds(frame: pl.DataFrame) -> None:
    assert frame["snapshot_date"].null_count() == 0 and frame["source_file"].null_count() == 0


@HOSTILE_SETTINGS
@given(lines_mutated((DIRECTORY / "nasdaqlisted.txt").read_bytes()))
def test_nasdaq_listed(body: bytes) -> None:
    named_or_valid("nasdaqlisted", lambda: parse_nasdaq_listed(body), directory_holds)


@HOSTILE_SETTINGS
@given(lines_mutated((DIRECTORY / "otherlisted.txt").read_bytes()))
def test_other_listed(body: bytes) -> None:
    named_or_valid("otherlisted", lambda: parse_other_listed(body), directory_holds)


SEC = json.loads((SAMPLE_ROOT / "www.sec.gov" / "files" / "company_tickers_exchange.json").read_bytes())


@HOSTILE_SETTINGS
@given(json_mutated(SEC))
def test_sec_tickers(body: bytes) -> None:
    named_or_valid(
        "sec_tickers", lambda: parse_company_tickers_exchange(body), lambda frame: frame.select("cik", "symbol")
    )


@HOSTILE_SETTINGS
@given(json_mutated({"cik": "320193", "sic": "3571", "sicDescription": "Electronic Computers", "name": "Apple"}))
def test_sec_submissions(body: bytes) -> None:
    named_or_valid(
        "sec_submissions",
        lambda: parse_submission(body, 320193),
        lambda row: None if row["sic"] is None else int(row["sic"]),
    )


CHARTS = SAMPLE_ROOT / "query1.finance.yahoo.com" / "v8" / "finance" / "chart"


def one_bar_a_day(frame: pl.DataFrame) -> None:
    assert frame["trade_date"].is_unique().all()
    checkable(PRICES, PRICE_RULES)(frame)


@HOSTILE_SETTINGS
@given(
    json_mutated(
        json.loads((TEST_FIXTURES / "query1.finance.yahoo.com" / "v8" / "finance" / "chart" / "NVDA").read_bytes())
    )
)
def test_yahoo_charts(body: bytes) -> None:
    named_or_valid("yahoo", lambda: parse_yahoo_chart(body, "NVDA"), one_bar_a_day)


@HOSTILE_SETTINGS
@given(
    json_mutated(json.loads((TEST_FIXTURES / "api.tiingo.com" / "tiingo" / "daily" / "jpm" / "prices").read_bytes()))
)
def test_tiingo(body: bytes) -> None:
    named_or_valid("tiingo", lambda: parse_tiingo(body, "JPM"), checkable(PRICES, PRICE_RULES))


POLYGON = TEST_FIXTURES / "api.polygon.io"


@HOSTILE_SETTINGS
@given(json_mutated(json.loads((POLYGON / "grouped_us_stocks_2005-04-04.json").read_bytes())))
def test_polygon_grouped(body: bytes) -> None:
    named_or_valid(
        "polygon_grouped",
        lambda: parse_polygon_bars(body, "Polygon grouped daily"),
        lambda frame: frame.select("symbol", "close"),
    )


@HOSTILE_SETTINGS
@given(json_mutated(json.loads((POLYGON / "reference_splits.json").read_bytes())))
def test_polygon_splits(body: bytes) -> None:
    named_or_valid(
        "polygon_splits",
        lambda: parse_polygon_splits(body, "Polygon splits"),
        lambda frame: frame.select("split_ratio"),
    )


@HOSTILE_SETTINGS
@given(json_mutated(json.loads((POLYGON / "reference_dividends.json").read_bytes())))
def test_polygon_dividends(body: bytes) -> None:
    named_or_valid(
        "polygon_dividends",
        lambda: parse_polygon_dividends(body, "Polygon dividends"),
        lambda frame: frame.select("dividend"),
    )


KLINES = SAMPLE_ROOT / "data.binance.vision" / "data" / "spot" / "daily" / "klines" / "SOLUSDT" / "1m"
KLINES_CSV = unzip_single_csv((KLINES / "SOLUSDT-1m-2025-01-02.zip").read_bytes(), "SOLUSDT-1m-2025-01-02.zip")


@HOSTILE_SETTINGS
@given(lines_mutated(KLINES_CSV[:6000], separator=b","))
def test_binance_archive_csv(body: bytes) -> None:
    named_or_valid(
        "binance_csv",
        lambda: parse_klines_csv(body, "SOLUSDT", "SOLUSDT-1m-2025-01-02.zip"),
        checkable(KLINES_DATASET, KLINE_RULES),
    )


@HOSTILE_SETTINGS
@given(
    json_mutated(
        json.loads(
            (
                Path(__file__).parent.parent / "sample" / "api.binance.com" / "api" / "v3" / "klines" / "SOLUSDT.json"
            ).read_bytes()
        )[:20]
    )
)
def test_binance_api_klines(body: bytes) -> None:
    named_or_valid(
        "binance_api",
        lambda: parse_klines_json(body, "SOLUSDT", "Binance klines SOLUSDT"),
        checkable(KLINES_DATASET, KLINE_RULES),
    )


@HOSTILE_SETTINGS
@given(json_mutated(json.loads((SAMPLE_ROOT / "api.binance.com" / "api" / "v3" / "ticker" / "24hr").read_bytes())))
def test_binance_ticker(body: bytes) -> None:
    named_or_valid(
        "binance_ticker",
        lambda: parse_ticker_24hr(body, "USDT", 3, dt.date(2025, 1, 8)),
        lambda frame: frame["rank"].to_list() == list(range(1, frame.height + 1)),
    )


DEPTH_ANSWER = json.loads(
    gzip.decompress(
        (SAMPLE_ROOT / "api.binance.com" / "api" / "v3" / "depth" / "ETHUSDT.jsonl.gz").read_bytes()
    ).splitlines()[0]
)
DEPTH_MINUTE = dt.datetime(2025, 1, 8, 10, tzinfo=dt.UTC)


@HOSTILE_SETTINGS
@given(json_mutated({**DEPTH_ANSWER, "bids": DEPTH_ANSWER["bids"][:15], "asks": DEPTH_ANSWER["asks"][:15]}))
def test_binance_depth(body: bytes) -> None:
    named_or_valid(
        "binance_depth",
        lambda: snapshot_rows([("ETHUSDT", DEPTH_MINUTE, DEPTH_MINUTE, parse_depth(body, "ETHUSDT", DEPTH_MINUTE))]),
        checkable(ORDER_BOOK_DATASET, ORDER_BOOK_RULES),
    )


@HOSTILE_SETTINGS
@given(st.binary(max_size=200), st.binary(max_size=120))
def test_binance_checksums(body: bytes, checksum: bytes) -> None:
    named_or_valid("binance_checksum", lambda: verify_checksum(body, checksum, "X-1m-2025-01-02.zip"), lambda _: None)


def ecb_zip(csv: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zipped:
        zipped.writestr("eurofxref-hist.csv", csv)
    return buffer.getvalue()


ECB_CSV = zipfile.ZipFile(SAMPLE_ROOT / "www.ecb.europa.eu" / "stats" / "eurofxref" / "eurofxref-hist.zip").read(
    "eurofxref-hist.csv"
)


@HOSTILE_SETTINGS
@given(lines_mutated(ECB_CSV[:3000], separator=b","))
def test_ecb_rates(body: bytes) -> None:
    named_or_valid("ecb", lambda: parse_eurofxref_hist(ecb_zip(body)), checkable(FX, FX_RULES))


FRED_CSV = (TEST_FIXTURES / "real" / "fred" / "T10Y2Y_observation_date-header_2026.csv").read_bytes()


def passes_fred_checks(frame: object) -> None:
    """The parser refuses what the blocking checks would: whatever it returns passes them all."""
    assert isinstance(frame, pl.DataFrame)
    assert Ledger(FRED, FRED_RULES).inspect("fuzz", frame) == []


@HOSTILE_SETTINGS
@given(lines_mutated(FRED_CSV[:3000], separator=b","))
def test_fred_series(body: bytes) -> None:
    named_or_valid("fred", lambda: parse_series(body, "T10Y2Y"), passes_fred_checks)


CBOE_DIRECTORY = SAMPLE_ROOT / "cdn.cboe.com" / "api" / "global" / "us_indices" / "daily_prices"
CBOE_OHLC = (CBOE_DIRECTORY / "VIX_History.csv").read_bytes()[:3000]
CBOE_CLOSE_ONLY = (CBOE_DIRECTORY / "VVIX_History.csv").read_bytes()[:3000]


def cboe_holds(frame: object) -> None:
    """What parses is one finite row per date, flagged exactly where OPEN or CLOSE leaves LOW..HIGH; the
    blocking checks then run on it (a close of 0 or below is theirs to refuse)."""
    assert isinstance(frame, pl.DataFrame)
    assert dict(frame.schema) == dict(CBOE.schema) and frame["trade_date"].is_unique().all()
    prices = frame.select("open", "high", "low", "close")
    assert prices.select(pl.all().is_finite().fill_null(True).all()).row(0) == (True,) * 4
    ohlc = frame.filter(pl.col("low").is_not_null())
    assert ohlc["open_outside_range"].to_list() == [
        not low <= o <= high for o, high, low in ohlc.select("open", "high", "low").rows()
    ]
    Ledger(CBOE, CBOE_RULES).inspect("fuzz", frame)


@HOSTILE_SETTINGS
@given(lines_mutated(CBOE_OHLC, separator=b","))
def test_cboe_ohlc(body: bytes) -> None:
    named_or_valid("cboe", lambda: parse_history(body, "VIX"), cboe_holds)


@HOSTILE_SETTINGS
@given(lines_mutated(CBOE_CLOSE_ONLY, separator=b","))
def test_cboe_close_only(body: bytes) -> None:
    named_or_valid("cboe_close_only", lambda: parse_history(body, "VVIX"), cboe_holds)


COT_LEGACY = (RECORDED / "cftc" / "deacot2025_annual_20250311.txt").read_bytes()[:6000]
COT_TFF = (RECORDED / "cftc" / "FinFut17.txt").read_bytes()[:5000]


def cot_rows_hold(dataset: object, report: object) -> Callable[[object], None]:
    """Typed in the report's schema, and the lake's blocking checks run on it (whatever they find)."""

    def holds(frame: object) -> None:
        assert isinstance(frame, pl.DataFrame) and dict(frame.schema) == dict(dataset.schema)
        Ledger(dataset, rules(report)).inspect("fuzz", frame)

    return holds


@HOSTILE_SETTINGS
@given(lines_mutated(COT_LEGACY, separator=b","))
def test_cftc_cot_legacy(body: bytes) -> None:
    named_or_valid("cftc_cot_legacy", lambda: parse_report(body, LEGACY, 2025), cot_rows_hold(LEGACY_DATASET, LEGACY))


@HOSTILE_SETTINGS
@given(lines_mutated(COT_TFF, separator=b","))
def test_cftc_cot_tff(body: bytes) -> None:
    named_or_valid("cftc_cot_tff", lambda: parse_report(body, TFF, 2017), cot_rows_hold(TFF_DATASET, TFF))


COINGECKO = SAMPLE_ROOT / "api.coingecko.com" / "api" / "v3" / "coins"
SNAPSHOT_DAY = dt.date(2025, 3, 4)


@HOSTILE_SETTINGS
@given(json_mutated(json.loads((COINGECKO / "markets").read_bytes())[:6]))
def test_coingecko_markets(body: bytes) -> None:
    named_or_valid(
        "coingecko_markets",
        lambda: parse_markets([body], 5, SNAPSHOT_DAY),
        checkable(COINGECKO_MARKETS, COINGECKO_MARKETS_RULES),
    )


@HOSTILE_SETTINGS
@given(json_mutated(json.loads((COINGECKO / "bitcoin").read_bytes())))
def test_coingecko_coin(body: bytes) -> None:
    named_or_valid(
        "coingecko_coin",
        lambda: parse_coin(body, "bitcoin", SNAPSHOT_DAY),
        checkable(COINGECKO_COINS, COINGECKO_COINS_RULES),
    )


def sheet_grid(body: bytes, sheet: str | int) -> list[list[str | None]]:
    """A sheet's cells as text, row by row."""
    frame = fastexcel.read_excel(body).load_sheet(sheet, header_row=None, dtypes="string").to_polars()
    return [list(row) for row in frame.iter_rows()]


def grid_mutated(grid: list[list[str | None]]) -> st.SearchStrategy[list[list[str | None]]]:
    """A sheet with rows dropped, repeated or swapped, or a cell replaced by a hostile value."""

    @st.composite
    def mutate(draw: st.DrawFn) -> list[list[str | None]]:
        rows = [list(row) for row in grid]
        for _ in range(draw(st.integers(1, 4))):
            if not rows:
                break
            index = draw(st.integers(0, len(rows) - 1))
            action = draw(st.sampled_from(["drop", "repeat", "cell", "swap"]))
            if action == "drop":
                rows.pop(index)
            elif action == "repeat":
                rows.insert(index, list(rows[index]))
            elif action == "cell" and rows[index]:
                rows[index][draw(st.integers(0, len(rows[index]) - 1))] = draw(st.sampled_from([None, *HOSTILE]))
            elif action == "swap":
                other = draw(st.integers(0, len(rows) - 1))
                rows[index], rows[other] = rows[other], rows[index]
        return rows

    return mutate()


def xlsx_of(rows: list[list[str | None]], sheet: str) -> bytes:
    book = openpyxl.Workbook()
    book.active.title = sheet
    for row in rows:
        # openpyxl refuses control characters in cells, as Excel does: such a file cannot exist
        book.active.append([value if value is None or value.isprintable() else value.encode().hex() for value in row])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def xls_of(rows: list[list[str | None]]) -> bytes:
    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("Sheet1")
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value is not None:
                sheet.write(r, c, value)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


LISTING_DAY = dt.date(2024, 7, 12)
LSE_BODY = next((SAMPLE_ROOT / "docs.londonstockexchange.com").rglob("*.xlsx")).read_bytes()
HKEX_BODY = (SAMPLE_ROOT / "www.hkex.com.hk" / HKEX_PATH.lstrip("/")).read_bytes()
JPX_BODY = (SAMPLE_ROOT / "www.jpx.co.jp" / JPX_PATH.lstrip("/")).read_bytes()
XETRA_CSV = next((SAMPLE_ROOT / "www.cashmarket.deutsche-boerse.com").rglob("*.csv")).read_bytes()
TMX_DIRECTORY = json.loads(
    (SAMPLE_ROOT / "www.tsx.com" / "json" / "company-directory" / "search" / "tsx" / "^*").read_text()
)
LISTINGS_HOLD = checkable(LISTINGS, LISTINGS_RULES)


@HOSTILE_SETTINGS
@given(grid_mutated(sheet_grid(LSE_BODY, LSE_SHEET)))
def test_lse_instrument_lists(rows: list[list[str | None]]) -> None:
    body = xlsx_of(rows, LSE_SHEET)
    named_or_valid("lse_instrument_list", lambda: parse_lse(body, "list_82.xlsx", LISTING_DAY), LISTINGS_HOLD)


@HOSTILE_SETTINGS
@given(grid_mutated(sheet_grid(HKEX_BODY, 0)))
def test_hkex_lists_of_securities(rows: list[list[str | None]]) -> None:
    body = xlsx_of(rows, "ListOfSecurities")
    named_or_valid("hkex_list_of_securities", lambda: parse_hkex(body, HKEX_PATH), LISTINGS_HOLD)


@HOSTILE_SETTINGS
@given(grid_mutated(sheet_grid(JPX_BODY, 0)))
def test_jpx_listed_issues(rows: list[list[str | None]]) -> None:
    body = xls_of(rows)
    named_or_valid("jpx_listed_issues", lambda: parse_jpx(body, JPX_PATH), LISTINGS_HOLD)


SPREADSHEETS = {
    "lse": (LSE_BODY, lambda body: parse_lse(body, "list_82.xlsx", LISTING_DAY)),
    "hkex": (HKEX_BODY, lambda body: parse_hkex(body, HKEX_PATH)),
    "jpx": (JPX_BODY, lambda body: parse_jpx(body, JPX_PATH)),
}


@HOSTILE_SETTINGS
@given(st.sampled_from(sorted(SPREADSHEETS)), st.integers(0, 10**6), st.integers(0, 255))
def test_spreadsheet_bytes_flipped(name: str, at: int, value: int) -> None:
    """A damaged download (a flipped byte of the zip or BIFF container) is refused by name."""
    body, parse = SPREADSHEETS[name]
    at %= len(body)
    flipped = body[:at] + bytes([value]) + body[at + 1 :]
    named_or_valid("listing_bytes", lambda: parse(flipped), LISTINGS_HOLD)


@HOSTILE_SETTINGS
@given(lines_mutated(XETRA_CSV, separator=b";"))
def test_xetra_tradable_instruments(body: bytes) -> None:
    named_or_valid("xetra_tradable_instruments", lambda: parse_xetra(body, "t7-xetr.csv"), LISTINGS_HOLD)


@HOSTILE_SETTINGS
@given(json_mutated(TMX_DIRECTORY))
def test_tmx_company_directory(body: bytes) -> None:
    named_or_valid("tmx_company_directory", lambda: parse_tmx(body, "tsx", LISTING_DAY), LISTINGS_HOLD)
