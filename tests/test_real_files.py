"""Every real published file in tests/fixtures/real/ through the production parser of its source.

The files are FINRA's, Nasdaq Trader's, SEC's, the ECB's, FRED's, CFTC's, Binance's and Yahoo's own (recovered byte for
byte from public repositories: tests/fixtures/real/README.md names each one's provenance and quirks).
The assertions are facts about the real data, counted from the files independently of the parsers
where possible (trailer counts, line counts), so a parser that reads a real file wrongly fails here
even when it raises nothing. Nothing here touches the network.
"""

import calendar
import datetime as dt
import io
import json
import zipfile
from pathlib import Path

import polars as pl
import pytest

from assets.binance import KLINE_RULES
from resources.binance import parse_klines_csv, unzip_single_csv
from resources.cftc_cot import LEGACY, TFF, Report, parse_report
from resources.finra import parse_short_volume
from resources.fred import parse_series
from resources.fx import parse_eurofxref_hist
from resources.prices import PRICES_SCHEMA, parse_yahoo_chart
from resources.sec_fails import HalfMonth, Trailer, parse_fails, unzip_text
from resources.sec_shares import FACTS, parse_company_facts
from resources.sectors import parse_company_tickers_exchange, parse_submission
from resources.symbols import (
    DIRECTORY_SCHEMA,
    DirectoryFileError,
    normalize_symbol,
    parse_nasdaq_listed,
    parse_other_listed,
    split_valid_symbols,
)
from tests.helpers import TEST_FIXTURES

REAL = TEST_FIXTURES / "real"


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().replace(b"\r\n", b"\n").rstrip(b"\n").split(b"\n")


# FINRA daily short sale volume: all six facility files of 2019-01-02 and 2020-03-16.

FINRA = REAL / "finra"
FINRA_DAYS = (dt.date(2019, 1, 2), dt.date(2020, 3, 16))
FACILITIES = ("CNMS", "FNSQ", "FNQC", "FNYX", "FNRA", "FORF")
TRF_AND_ADF = ("FNSQ", "FNQC", "FNYX", "FNRA")
VOLUMES = ("short_volume", "short_exempt_volume", "total_volume")


def _finra_day(day: dt.date) -> dict:
    return {
        facility: parse_short_volume((FINRA / f"{facility}shvol{day:%Y%m%d}.txt").read_bytes(), facility, day)
        for facility in FACILITIES
    }


@pytest.mark.parametrize("day", FINRA_DAYS, ids=str)
def test_finra_every_facility_file_parses_whole(day: dt.date) -> None:
    parsed = _finra_day(day)
    for facility, result in parsed.items():
        lines = _lines(FINRA / f"{facility}shvol{day:%Y%m%d}.txt")
        assert lines[0] == b"Date|Symbol|ShortVolume|ShortExemptVolume|TotalVolume|Market"
        trailer = int(lines[-1])
        assert trailer == len(lines) - 2, "the file's own trailer counts its rows"
        assert result.complete and result.rejected == ()
        assert result.frame.height == trailer, f"{facility}: every row of the file, no more"
        assert result.frame["trade_date"].unique().to_list() in ([day], [])
        assert result.frame["symbol"].is_unique().all()
    assert parsed["CNMS"].frame.height == {FINRA_DAYS[0]: 7862, FINRA_DAYS[1]: 8205}[day]


@pytest.mark.parametrize("day", FINRA_DAYS, ids=str)
def test_finra_cnms_is_the_sum_of_the_trf_and_adf_files_symbol_by_symbol(day: dt.date) -> None:
    parsed = _finra_day(day)
    cnms = parsed["CNMS"].frame
    facilities = (
        pl.concat([parsed[f].frame for f in TRF_AND_ADF]).group_by("symbol").agg(pl.col(c).sum() for c in VOLUMES)
    )
    assert set(facilities["symbol"]) == set(cnms["symbol"])
    joined = cnms.join(facilities, on="symbol", suffix="_facilities")
    assert joined.height == cnms.height
    for column in VOLUMES:
        assert (joined[column] == joined[f"{column}_facilities"]).all(), f"{day} {column}"
    # ORF (OTC) trades are not NMS: FORF is never part of CNMS.
    assert set(parsed["FORF"].frame["market"]) == {"O"}


def test_finra_real_quirks_empty_files_and_line_ends() -> None:
    for name in ("FNQCshvol20190102.txt", "FNRAshvol20190102.txt", "FNRAshvol20200316.txt"):
        body = (FINRA / name).read_bytes()
        assert len(body) == 65 and body.endswith(b"\r\n0\r\n"), "header plus a trailer of 0"
    forf = (FINRA / "FORFshvol20190102.txt").read_bytes()
    assert b"\r\n" not in forf and forf.count(b"\n") == 2657, "LF line ends, unlike the day's other files"
    assert all(b"\r\n" in (FINRA / f"{f}shvol20190102.txt").read_bytes() for f in FACILITIES if f != "FORF")
    first, second = _finra_day(FINRA_DAYS[0]), _finra_day(FINRA_DAYS[1])
    assert first["FORF"].frame.height == 2655 and not first["FORF"].frame["symbol"].str.contains("\r").any()
    # Chicago's TRF (market B, the FNQC file) reported nothing on 2019-01-02, so no CNMS row names it;
    # on 2020-03-16 it did.
    assert first["FNQC"].frame.height == 0 and not first["CNMS"].frame["market"].str.contains("B").any()
    assert second["FNQC"].frame.height == 3135 and set(second["FNQC"].frame["market"]) == {"B"}
    assert set(first["FNSQ"].frame["market"]) == {"Q"} and set(first["FNYX"].frame["market"]) == {"N"}
    aapl = first["CNMS"].frame.filter(pl.col("symbol") == "AAPL").row(0, named=True)
    assert (aapl["short_volume"], aapl["short_exempt_volume"], aapl["total_volume"], aapl["market"]) == (
        6947120.0,
        12035.0,
        11831259.0,
        "Q,N",
    )


# Nasdaq Trader symbol directory: 2014 (the older nasdaqlisted layout) and 2025.

SYMDIR = REAL / "nasdaqtrader"


def _rows(path: Path) -> list[dict[str, str]]:
    """The file's data rows by header name, read without the parser (header and trailer dropped)."""
    lines = [line.decode() for line in _lines(path)]
    header = lines[0].split("|")
    return [dict(zip(header, line.split("|"), strict=True)) for line in lines[1:-1]]


def test_nasdaqlisted_2014_older_layout_without_an_etf_column() -> None:
    path = SYMDIR / "nasdaqlisted_20141010.txt"
    header = _lines(path)[0].decode().split("|")
    assert header == ["Symbol", "Security Name", "Market Category", "Test Issue", "Financial Status", "Round Lot Size"]
    rows = _rows(path)
    frame = parse_nasdaq_listed(path.read_bytes())
    assert frame.schema == pl.Schema(DIRECTORY_SCHEMA)
    assert len(rows) == 2926 and frame.height == 2921 == sum(r["Test Issue"] == "N" for r in rows)
    assert not {"ZJZZT", "ZVZZT", "ZWZZT", "ZXYZ.A", "ZXZZT"} & set(frame["symbol"]), "test issues dropped"
    assert frame["snapshot_date"].unique().to_list() == [dt.date(2014, 10, 10)]
    assert frame["is_etf"].null_count() == frame.height, "no ETF column: unknown, not False"
    by_symbol = {r["symbol"]: r for r in frame.iter_rows(named=True)}
    assert by_symbol["AAPL"]["exchange"] == "Nasdaq Global Select"
    assert by_symbol["QQQ"]["security_name"] == "PowerShares QQQ Trust, Series 1"
    assert by_symbol["QQQ"]["exchange"] == "Nasdaq Global Market" and by_symbol["QQQ"]["is_etf"] is None
    assert frame["exchange"].value_counts().sort("exchange").rows() == [
        ("Nasdaq Capital Market", 658),
        ("Nasdaq Global Market", 630),
        ("Nasdaq Global Select", 1633),
    ]


def test_nasdaqlisted_2025_todays_layout_with_lf_line_ends() -> None:
    path = SYMDIR / "nasdaqlisted_20250721.txt"
    assert b"\r" not in path.read_bytes()
    rows = _rows(path)
    frame = parse_nasdaq_listed(path.read_bytes())
    assert len(rows) == 4973 and frame.height == 4965 == sum(r["Test Issue"] == "N" for r in rows)
    assert frame["snapshot_date"].unique().to_list() == [dt.date(2025, 7, 21)]
    assert frame["is_etf"].null_count() == 0
    assert frame["is_etf"].sum() == 914 == sum(r["Test Issue"] == "N" and r["ETF"] == "Y" for r in rows)
    by_symbol = {r["symbol"]: r for r in frame.iter_rows(named=True)}
    assert by_symbol["QQQ"]["is_etf"] is True and by_symbol["AAPL"]["is_etf"] is False


def test_the_older_layout_is_accepted_only_as_it_is() -> None:
    """Going by header names must not turn a damaged header into a file without an ETF column."""
    old = (SYMDIR / "nasdaqlisted_20141010.txt").read_bytes()
    with pytest.raises(DirectoryFileError, match=r"header lacks \['ETF'\] and is not the older layout"):
        parse_nasdaq_listed(old.replace(b"|Round Lot Size\r\n", b"|Round Lot\r\n", 1))
    with pytest.raises(DirectoryFileError, match=r"header lacks \['ETF'\]"):
        parse_nasdaq_listed(old.replace(b"|Round Lot Size\r\n", b"|Round Lot Size|Extra\r\n", 1))
    new = (SYMDIR / "nasdaqlisted_20250721.txt").read_bytes()
    with pytest.raises(DirectoryFileError, match=r"header lacks \['ETF'\]"):
        parse_nasdaq_listed(new.replace(b"|ETF|", b"|ETX|", 1))
    with pytest.raises(DirectoryFileError, match=r"header lacks \['Test Issue', 'ETF'\] and is not the older layout"):
        parse_nasdaq_listed(old.replace(b"|Test Issue|", b"|Test|", 1))
    # The columns are found by name, whatever their order.
    lines = old.split(b"\r\n")
    swapped = [b"|".join([f[1], f[0], *f[2:]]) for f in (line.split(b"|") for line in lines[:-2])]
    reordered = parse_nasdaq_listed(b"\r\n".join([*swapped, *lines[-2:]]))
    assert reordered.equals(parse_nasdaq_listed(old))


@pytest.mark.parametrize(
    ("name", "snapshot", "rows", "kept"),
    [
        ("otherlisted_20141010.txt", dt.date(2014, 10, 10), 5228, 5221),
        ("otherlisted_20250721.txt", dt.date(2025, 7, 21), 6606, 6581),
    ],
)
def test_otherlisted_and_its_cqs_symbols(name: str, snapshot: dt.date, rows: int, kept: int) -> None:
    path = SYMDIR / name
    raw = _rows(path)
    frame = parse_other_listed(path.read_bytes())
    assert len(raw) == rows and frame.height == kept == sum(r["Test Issue"] == "N" for r in raw)
    assert frame["snapshot_date"].unique().to_list() == [snapshot]
    assert frame["is_etf"].sum() == sum(r["Test Issue"] == "N" and r["ETF"] == "Y" for r in raw)
    # The lake's one symbol form: every CQS symbol (FINRA's spelling) normalises to the row's ACT symbol.
    assert [normalize_symbol(r["CQS Symbol"]) for r in raw] == [r["ACT Symbol"] for r in raw]


@pytest.mark.parametrize("stamp", ["20141010", "20250721"])
def test_both_files_of_a_day_make_one_directory(stamp: str) -> None:
    nasdaq = parse_nasdaq_listed((SYMDIR / f"nasdaqlisted_{stamp}.txt").read_bytes())
    other = parse_other_listed((SYMDIR / f"otherlisted_{stamp}.txt").read_bytes())
    directory = pl.concat([nasdaq, other])
    valid, rejected = split_valid_symbols(directory)
    assert rejected == [] and valid.height == directory.height
    assert directory["symbol"].is_unique().all(), "a symbol is listed on one market"
    assert directory["snapshot_date"].n_unique() == 1


# SEC EDGAR.

SEC = REAL / "sec"


def test_sec_company_tickers_exchange_keeps_null_exchanges() -> None:
    body = (SEC / "company_tickers_exchange_2025.json").read_bytes()
    frame = parse_company_tickers_exchange(body)
    assert frame.height == 10069 == len(json.loads(body)["data"])
    assert frame["sec_exchange"].null_count() == 166, "a company without an exchange is kept, exchange null"
    assert dict(frame["sec_exchange"].value_counts().rows()) == {
        "Nasdaq": 4093,
        "NYSE": 3267,
        "OTC": 2517,
        "CBOE": 26,
        None: 166,
    }
    assert frame.filter(pl.col("sec_exchange").is_null() & (pl.col("symbol") == "AYR"))["cik"].to_list() == [1362988]
    assert frame["cik"].null_count() == 0 and frame["symbol"].null_count() == 0
    assert frame["symbol"].is_unique().all() and frame["cik"].n_unique() == 7847, "a CIK may have several tickers"
    by_symbol = {r["symbol"]: r for r in frame.iter_rows(named=True)}
    assert (by_symbol["AAPL"]["cik"], by_symbol["AAPL"]["sec_exchange"]) == (320193, "Nasdaq")
    assert (by_symbol["MUR"]["cik"], by_symbol["MUR"]["company_name"]) == (717423, "MURPHY OIL CORP")
    assert "BRK-B" in by_symbol, "SEC writes share classes with a dash (the dbt staging model maps it)"


def test_sec_submission_of_murphy_oil() -> None:
    body = (SEC / "CIK0000717423.json").read_bytes()
    document = json.loads(body)
    assert (document["cik"], document["sic"], document["tickers"]) == ("717423", "1311", ["MUR"])
    assert parse_submission(body, 717423) == {
        "cik": 717423,
        "sic": 1311,
        "sic_description": "Crude Petroleum & Natural Gas",
    }


def test_sec_company_facts_of_murphy_oil_hold_its_53_cover_page_counts() -> None:
    body = (SEC / "companyfacts_CIK0000717423.json").read_bytes()
    listed = json.loads(body)["facts"]["dei"]["EntityCommonStockSharesOutstanding"]["units"]["shares"]
    parsed = parse_company_facts(body, 717423)
    assert (parsed.outcome, parsed.entity_name, parsed.frame.height) == (FACTS, "MURPHY OIL CORPORATION", 53)
    assert parsed.frame.height == len(listed) and parsed.frame["share_class"].unique().to_list() == [1]
    assert sorted(parsed.frame["accn"]) == sorted(fact["accn"] for fact in listed), "one fact a filing, none lost"
    first, last = parsed.frame.row(0, named=True), parsed.frame.row(-1, named=True)
    assert (first["end_date"], first["shares"], first["filed"], first["form"]) == (
        dt.date(2009, 6, 30),
        190816602,
        dt.date(2009, 8, 7),
        "10-Q",
    )
    assert (last["end_date"], last["shares"], last["filed"], last["frame"]) == (
        dt.date(2022, 7, 31),
        155452838,
        dt.date(2022, 8, 4),
        "CY2022Q2I",
    )
    annual = parsed.frame.filter(pl.col("accn") == "0001193125-10-042802").row(0, named=True)
    assert (annual["end_date"], annual["fy"], annual["fp"], annual["frame"]) == (
        dt.date(2010, 1, 31),
        2009,
        "FY",
        "CY2009Q4I",
    ), "the 10-K's count is as of its cover date, weeks after the fiscal year"
    assert (parsed.frame["filed"] >= parsed.frame["end_date"]).all() and parsed.frame["shares"].min() > 0


# SEC fails-to-deliver.

FTD = REAL / "ftd"


def test_sec_fails_verbatim_zip_reconciles_with_its_trailers() -> None:
    half = HalfMonth.from_key("2020-09a")
    text = unzip_text((FTD / "cnsfails202009a.zip").read_bytes(), half)
    lines = text.rstrip(b"\n").split(b"\n")
    assert lines[-2:] == [b"Trailer record count 43147", b"Trailer total quantity of shares 1056731899"]
    parsed = parse_fails(text, half)
    assert parsed.trailer == Trailer(43147, 1056731899) and parsed.rejected == ()
    assert parsed.frame.height == 43147 == len(lines) - 3
    assert parsed.frame["quantity"].sum() == 1056731899
    assert parsed.frame["price"].null_count() == 462 == sum(line.endswith(b"|.") for line in lines)
    days = parsed.frame["settlement_date"].unique().sort()
    assert (days[0], days[-1], len(days)) == (dt.date(2020, 9, 1), dt.date(2020, 9, 14), 9), "a ends on the 14th"
    assert parsed.frame.select("settlement_date", "cusip").is_unique().all()


def test_sec_fails_copy_without_trailers_reads_whole() -> None:
    body = (FTD / "cnsfails202101b.txt").read_bytes()
    parsed = parse_fails(body, HalfMonth.from_key("2021-01b"), "cnsfails202101b.txt")
    assert parsed.trailer is None, "the uploader removed the trailer lines"
    assert parsed.frame.height == 55972 == body.count(b"\n") - 1
    assert parsed.frame["price"].null_count() == 735
    assert parsed.frame["settlement_date"].min() == dt.date(2021, 1, 15), "SEC's b file holds the 15th"
    gme = parsed.frame.filter(pl.col("symbol") == "GME")
    assert gme.height == 10 and gme["cusip"].unique().to_list() == ["36467W109"]
    dpw = parsed.frame.filter((pl.col("symbol") == "DPW") & (pl.col("settlement_date") == dt.date(2021, 1, 19)))
    assert sorted(dpw["cusip"]) == ["05150X104", "26140E600"], "one symbol, two CUSIPs on one day: CUSIP is the key"


# ECB euro reference rates.


def test_ecb_eurofxref_hist_whose_last_line_has_no_newline() -> None:
    archive = (REAL / "ecb" / "eurofxref-hist_20210111.zip").read_bytes()
    with zipfile.ZipFile(io.BytesIO(archive)) as zipped:
        text = zipped.read("eurofxref-hist.csv")
    assert not text.endswith(b"\n") and text.count(b"\n") == 5637, "header + 5,637 rows, the last unterminated"
    frame = parse_eurofxref_hist(archive)
    assert frame["rate_date"].n_unique() == 5637 and frame["currency"].n_unique() == 41
    assert (frame["rate_date"].min(), frame["rate_date"].max()) == (dt.date(1999, 1, 4), dt.date(2021, 1, 8))
    rate = {(r["rate_date"], r["currency"]): r["units_per_eur"] for r in frame.iter_rows(named=True)}
    assert rate[dt.date(1999, 1, 4), "USD"] == 1.1789, "the unterminated last line is read"
    assert rate[dt.date(1999, 1, 4), "ZAR"] == 6.9358
    assert rate[dt.date(2021, 1, 8), "USD"] == 1.225 and rate[dt.date(2021, 1, 8), "JPY"] == 127.26
    assert frame.filter(pl.col("currency") == "USD").height == 5637
    # N/A is no row: currencies that joined the euro stop on their last day of their own.
    last = dict(frame.group_by("currency").agg(pl.col("rate_date").max()).rows())
    assert last["CYP"] == dt.date(2007, 12, 31) and last["SIT"] == dt.date(2006, 12, 29)
    assert last["LVL"] == dt.date(2013, 12, 31) and last["LTL"] == dt.date(2014, 12, 31)


# Binance BTCUSDT daily (1d) klines, monthly archives in both timestamp eras.

BINANCE = REAL / "binance" / "BTCUSDT-1d"
MONTHS = sorted(BINANCE.glob("BTCUSDT-1d-*.zip"))


def _klines(path: Path) -> tuple[bytes, pl.DataFrame]:
    csv = unzip_single_csv(path.read_bytes(), path.name)
    return csv, parse_klines_csv(csv, "BTCUSDT", path.name)


def test_binance_archives_cover_both_eras() -> None:
    assert len(MONTHS) == 41
    assert MONTHS[0].name == "BTCUSDT-1d-2021-02.zip" and MONTHS[-1].name == "BTCUSDT-1d-2025-06.zip"


@pytest.mark.parametrize("path", MONTHS, ids=lambda p: p.stem)
def test_binance_1d_klines_land_on_their_utc_days(path: Path) -> None:
    year, month = (int(x) for x in path.stem.split("-")[-2:])
    csv, frame = _klines(path)
    first = csv.split(b",", 1)[0]
    assert len(first) == (16 if year >= 2025 else 13), "microseconds from 2025, milliseconds before"
    days = calendar.monthrange(year, month)[1]
    assert frame.height == days == len(_lines_of(csv))
    expected = [dt.datetime(year, month, day, tzinfo=dt.UTC) for day in range(1, days + 1)]
    assert frame["open_time"].to_list() == expected
    assert frame["close_time"].to_list() == [t + dt.timedelta(days=1, milliseconds=-1) for t in expected]
    assert (frame["low"] <= frame[["open", "close"]].min_horizontal()).all()
    assert (frame["high"] >= frame[["open", "close"]].max_horizontal()).all()
    assert (frame["trades"] > 0).all()


def _lines_of(csv: bytes) -> list[bytes]:
    return csv.rstrip(b"\n").split(b"\n")


def test_binance_first_days_of_each_era_and_the_1m_rule() -> None:
    _, feb_2021 = _klines(BINANCE / "BTCUSDT-1d-2021-02.zip")
    _, jan_2025 = _klines(BINANCE / "BTCUSDT-1d-2025-01.zip")
    first = feb_2021.row(0, named=True)
    assert (first["open_time"], first["open"], first["close"], first["trades"]) == (
        dt.datetime(2021, 2, 1, tzinfo=dt.UTC),
        33092.97,
        33526.37,
        1810492,
    )
    first = jan_2025.row(0, named=True)
    assert (first["open_time"], first["open"], first["close"], first["trades"]) == (
        dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
        93576.0,
        94591.79,
        1516556,
    )
    # The parser reads any interval; the lake's klines table holds 1m bars only, and its grid rule
    # refuses these daily bars (1d bars are rolled up from the minutes, never stored as minutes).
    [grid] = [rule for rule in KLINE_RULES if rule.name == "on_the_minute_grid"]
    assert not jan_2025.select(grid.holds).to_series().any()


# Yahoo chart answers (recorded by a client library's tests).

YAHOO = REAL / "yahoo"


def _chart(name: str, symbol: str) -> pl.DataFrame:
    frame = parse_yahoo_chart((YAHOO / name).read_bytes(), symbol)
    assert frame.schema == pl.Schema(PRICES_SCHEMA)
    assert frame["trade_date"].is_unique().all() and frame["trade_date"].is_sorted()
    return frame


def test_yahoo_aapl_split_day_and_dividend() -> None:
    """AAPL's 4:1 split took effect on 2020-08-31, the first day of the answer: every day here is
    already post-split, so nothing is multiplied back (129.04 is AAPL's real close that day, not 516.16)."""
    frame = _chart("chart-AAPL-2020-08-31-to-2020-11-07.json", "AAPL")
    assert frame.height == 49
    assert (frame["trade_date"].min(), frame["trade_date"].max()) == (dt.date(2020, 8, 31), dt.date(2020, 11, 6))
    day = {r["trade_date"]: r for r in frame.iter_rows(named=True)}
    split_day = day[dt.date(2020, 8, 31)]
    assert split_day["split_ratio"] == 4.0
    assert round(split_day["close"], 2) == 129.04 and (split_day["open"], split_day["high"]) == (
        pytest.approx(127.58),
        131.0,
    )
    assert split_day["volume"] == 225702700.0
    assert frame.filter(pl.col("split_ratio") != 1.0)["trade_date"].to_list() == [dt.date(2020, 8, 31)]
    assert frame.filter(pl.col("dividend") != 0.0).select("trade_date", "dividend").rows() == [
        (dt.date(2020, 11, 6), 0.205)
    ]
    assert set(frame["currency"]) == {"USD"} and set(frame["symbol"]) == {"AAPL"}


def test_yahoo_aapl_before_its_split_is_restored_to_raw_prices() -> None:
    """The same real answer read as if its split were a day later: each day before it goes back to raw."""
    document = json.loads((YAHOO / "chart-AAPL-2020-08-31-to-2020-11-07.json").read_bytes())
    result = document["chart"]["result"][0]
    split_at = result["timestamp"][1]  # 2020-09-01
    result["events"]["splits"] = {str(split_at): {**result["events"]["splits"].popitem()[1], "date": split_at}}
    frame = parse_yahoo_chart(json.dumps(document).encode(), "AAPL")
    first = frame.row(0, named=True)
    assert first["trade_date"] == dt.date(2020, 8, 31)
    assert round(first["close"], 2) == round(129.0399932861328 * 4, 2) and first["volume"] == 225702700 / 4
    assert frame.row(1, named=True)["split_ratio"] == 4.0 and round(frame.row(1, named=True)["close"], 2) == 134.18


def test_yahoo_msft_four_dividends() -> None:
    frame = _chart("historical-via-chart-MSFT-dividends-2021-02-01-to-2022-01-31.json", "MSFT")
    assert frame.height == 252
    assert (frame["trade_date"].min(), frame["trade_date"].max()) == (dt.date(2021, 2, 1), dt.date(2022, 1, 28))
    assert frame.filter(pl.col("dividend") != 0.0).select("trade_date", "dividend").rows() == [
        (dt.date(2021, 2, 17), 0.56),
        (dt.date(2021, 5, 19), 0.56),
        (dt.date(2021, 8, 18), 0.56),
        (dt.date(2021, 11, 17), 0.62),
    ]
    assert (frame["split_ratio"] == 1.0).all()


def test_yahoo_tsla_full_history_without_an_events_key() -> None:
    document = json.loads((YAHOO / "historical-via-chart-dividends-TSLA-no-dividends.json").read_bytes())
    assert "events" not in document["chart"]["result"][0]
    frame = _chart("historical-via-chart-dividends-TSLA-no-dividends.json", "TSLA")
    assert frame.height == 3303
    assert (frame["trade_date"].min(), frame["trade_date"].max()) == (dt.date(2010, 6, 29), dt.date(2023, 8, 11))
    assert (frame["dividend"] == 0.0).all() and (frame["split_ratio"] == 1.0).all()
    # The recorded request asked for events=div only, so Yahoo listed neither of TSLA's splits (5:1 on
    # 2020-08-31, 3:1 on 2022-08-25) and the prices stay split-adjusted: the IPO-day close 23.89 shows as
    # 23.89 / 15. Production asks events=div|split (YahooChart.daily), which lists them.
    assert round(frame["close"][0] * 15, 2) == 23.89


def test_yahoo_empty_weekend_answer() -> None:
    frame = _chart("chart-AAPL-2025-02-01-to-2025-02-02-includePrePost-false-interval-1m.json", "AAPL")
    assert frame.height == 0


FRED = REAL / "fred"


@pytest.mark.parametrize(
    ("name", "series_id", "observations", "without_value", "first", "last"),
    [
        ("DGS10_DATE-header_20210104.csv", "DGS10", 15_395, 659, dt.date(1962, 1, 2), dt.date(2021, 1, 4)),
        ("ICSA_DATE-header_20240413.csv", "ICSA", 2_989, 0, dt.date(1967, 1, 7), dt.date(2024, 4, 13)),
        ("T10Y2Y_observation_date-header_2026.csv", "T10Y2Y", 1_305, 55, dt.date(2021, 4, 30), dt.date(2026, 4, 30)),
        ("UNRATE_observation_date-header_202512.csv", "UNRATE", 936, 1, dt.date(1948, 1, 1), dt.date(2025, 12, 1)),
    ],
)
def test_fred_both_layouts_keep_every_dated_line(
    name: str, series_id: str, observations: int, without_value: int, first: dt.date, last: dt.date
) -> None:
    """Counts from the files themselves: data lines, and lines ending in ',.' (old layout) or ',' (new)."""
    text = (FRED / name).read_text()
    lines = text.splitlines()[1:]
    missing = sum(1 for line in lines if line.endswith((",.", ",")))
    assert (len(lines), missing) == (observations, without_value)
    frame = parse_series((FRED / name).read_bytes(), series_id)
    assert frame.height == observations and frame["value"].null_count() == without_value
    assert frame["series_id"].unique().to_list() == [series_id]
    assert (frame["observation_date"].min(), frame["observation_date"].max()) == (first, last)
    assert frame["observation_date"].is_unique().all()


def test_fred_unrate_shutdown_month_is_a_row_without_value() -> None:
    frame = parse_series((FRED / "UNRATE_observation_date-header_202512.csv").read_bytes(), "UNRATE")
    autumn = frame.filter(pl.col("observation_date") >= dt.date(2025, 9, 1))
    assert autumn.select("observation_date", "value").rows() == [
        (dt.date(2025, 9, 1), 4.4),
        (dt.date(2025, 10, 1), None),
        (dt.date(2025, 11, 1), 4.5),
        (dt.date(2025, 12, 1), 4.4),
    ]


def test_fred_old_layout_dot_is_missing_and_claims_are_whole_persons() -> None:
    dgs10 = parse_series((FRED / "DGS10_DATE-header_20210104.csv").read_bytes(), "DGS10")
    assert dgs10.filter(pl.col("observation_date") == dt.date(2021, 1, 1))["value"].to_list() == [None]
    assert dgs10.filter(pl.col("observation_date") == dt.date(2021, 1, 4))["value"].to_list() == [0.93]
    icsa = parse_series((FRED / "ICSA_DATE-header_20240413.csv").read_bytes(), "ICSA")
    assert icsa["value"].to_list()[:2] == [208_000.0, 207_000.0]


CFTC = REAL / "cftc"
CONSOLIDATED = pl.col("market_and_exchange_names").str.contains(" Consolidated ")


@pytest.mark.parametrize(
    ("name", "report", "year", "lines", "dates", "crlf", "off_by_rounding"),
    [
        ("deacot2025_annual_20250311.txt", LEGACY, 2025, 3190, 10, False, 11),
        ("FinFut17.txt", TFF, 2017, 2110, 52, True, 57),
    ],
)
def test_cftc_cot_open_interest_is_reportable_plus_nonreportable(
    name: str, report: Report, year: int, lines: int, dates: int, crlf: bool, off_by_rounding: int
) -> None:
    """Counts from the file itself (data lines, line ends), then CFTC's identity open interest = reportable
    + non-reportable positions on both sides: exact in every row but the three 'Consolidated' index
    markets', where CFTC's rounding leaves at most 1 contract."""
    body = (CFTC / name).read_bytes()
    assert body.count(b"\n") == lines + 1 and (body.count(b"\r\n") == lines + 1) == crlf
    frame = parse_report(body, report, year)
    assert frame.height == lines and frame["report_date"].n_unique() == dates
    assert frame.select("cftc_contract_market_code", "report_date").is_unique().all()
    gap = [
        pl.col("open_interest") - pl.col(f"total_reportable_{side}") - pl.col(f"nonreportable_{side}")
        for side in ("long", "short")
    ]
    off = frame.filter(pl.any_horizontal(g != 0 for g in gap))
    assert off.height == off_by_rounding and off.filter(~CONSOLIDATED).height == 0
    assert off.select(pl.max_horizontal(g.abs() for g in gap).max()).item() == 1


def test_cftc_cot_reportable_long_is_every_groups_long_and_spreading() -> None:
    """TFF's other identity: reportable long = the four groups' longs plus their spreading (exact outside
    the Consolidated markets); and legacy's: non-commercial long + spreading + commercial long."""
    tff = parse_report((CFTC / "FinFut17.txt").read_bytes(), TFF, 2017).filter(~CONSOLIDATED)
    groups = ("dealer", "asset_manager", "leveraged_funds", "other_reportable")
    longs = pl.sum_horizontal(pl.col(f"{g}_{side}") for g in groups for side in ("long", "spreading"))
    assert tff.filter(longs != pl.col("total_reportable_long")).height == 0
    legacy = parse_report((CFTC / "deacot2025_annual_20250311.txt").read_bytes(), LEGACY, 2025).filter(~CONSOLIDATED)
    legacy_long = pl.col("noncommercial_long") + pl.col("noncommercial_spreading") + pl.col("commercial_long")
    assert legacy.filter(legacy_long != pl.col("total_reportable_long")).height == 0
    assert set(legacy["cftc_contract_market_code"]) >= {"13874A", "133741"}, "the E-mini S&P 500 and CME Bitcoin"
