"""The symbol directory: parser on the directory's format, symbol validation, and delistings."""

import datetime as dt

import pytest

from resources.symbols import (
    DirectoryFileError,
    InvalidSymbol,
    parse_nasdaq_listed,
    parse_other_listed,
    split_valid_symbols,
    validate_symbol,
)
from tests.helpers import SAMPLE_ROOT
from tests.platform_build import rows

SYMDIR = SAMPLE_ROOT / "www.nasdaqtrader.com" / "dynamic" / "SymDir"


def test_nasdaq_listed_drops_test_issues_and_keeps_etf_flag_and_tier() -> None:
    frame = parse_nasdaq_listed((SYMDIR / "nasdaqlisted.txt").read_bytes())
    assert "ZXZZT" not in frame["symbol"].to_list()
    assert set(frame["snapshot_date"].to_list()) == {dt.date(2024, 7, 12)}
    by_symbol = {r["symbol"]: r for r in frame.iter_rows(named=True)}
    assert by_symbol["QQQ"]["is_etf"] is True and by_symbol["QQQ"]["exchange"] == "Nasdaq Global Market"
    assert by_symbol["AAPL"]["is_etf"] is False and by_symbol["AAPL"]["exchange"] == "Nasdaq Global Select"


def test_other_listed_maps_exchange_codes_and_drops_test_issues() -> None:
    frame = parse_other_listed((SYMDIR / "otherlisted.txt").read_bytes())
    by_symbol = {r["symbol"]: r for r in frame.iter_rows(named=True)}
    assert "ZTEST" not in by_symbol
    assert by_symbol["BRK.B"]["exchange"] == "NYSE"
    assert by_symbol["SPY"]["exchange"] == "NYSE Arca" and by_symbol["SPY"]["is_etf"] is True


def test_a_file_without_its_trailer_is_rejected_as_truncated() -> None:
    body = (SYMDIR / "nasdaqlisted.txt").read_bytes().rsplit(b"File Creation Time", 1)[0]
    with pytest.raises(DirectoryFileError, match=r"nasdaqlisted\.txt: no 'File Creation Time' trailer"):
        parse_nasdaq_listed(body)


def test_a_malformed_row_names_its_line() -> None:
    lines = (SYMDIR / "otherlisted.txt").read_bytes().split(b"\r\n")
    lines[3] = b"XYZ|broken row"
    with pytest.raises(DirectoryFileError, match=r"otherlisted\.txt line 4: expected 8 fields"):
        parse_other_listed(b"\r\n".join(lines))


@pytest.mark.parametrize("symbol", ["AAPL", "BRK.B", "ABR$D", "F", "GOOGL", "X1"])
def test_real_symbol_shapes_are_valid(symbol: str) -> None:
    assert validate_symbol(symbol) == symbol


@pytest.mark.parametrize(
    "symbol", ["../../x", "A;DROP TABLE", "A\u0391PL", "", "A" * 200, "aapl", "A|B", "A/B", " AAPL", "AAPL\n"]
)
def test_hostile_symbols_are_rejected(symbol: str) -> None:
    with pytest.raises(InvalidSymbol, match="invalid symbol"):
        validate_symbol(symbol)


def test_invalid_directory_symbols_are_split_off_not_guessed() -> None:
    frame = parse_nasdaq_listed((SYMDIR / "nasdaqlisted.txt").read_bytes())
    hostile = frame.head(1).with_columns(symbol=frame["symbol"].head(1).str.replace("AAPL", "../x"))
    valid, rejected = split_valid_symbols(frame.vstack(hostile))
    assert rejected == ["../x"]
    assert valid.height == frame.height


def test_a_symbol_that_leaves_the_directory_gets_a_delisted_date_and_stays(platform_build) -> None:
    amc = rows(
        platform_build,
        "SELECT source, listed_from, listed_to, delisted_date, is_listed FROM marts.dim_symbols WHERE symbol = 'AMC'",
    )
    assert amc == [("directory", dt.date(2024, 7, 12), dt.date(2024, 7, 12), dt.date(2024, 7, 15), False)]
    aapl = rows(
        platform_build, "SELECT listed_to, delisted_date, is_listed FROM marts.dim_symbols WHERE symbol = 'AAPL'"
    )
    assert aapl == [(dt.date(2024, 7, 15), None, True)]


def test_symbols_only_in_finra_files_are_recorded(platform_build) -> None:
    finra_only = rows(platform_build, "SELECT symbol FROM marts.dim_symbols WHERE source = 'finra' ORDER BY symbol")
    assert [s for (s,) in finra_only] == ["BAYRY", "HTHIY", "NSRGY", "RHHBY", "SFTBY", "TCEHY", "XTRF"]
