"""The FINRA parser on every era's layout, and the client against a mirror of FINRA's URL layout."""

import datetime as dt
import time

import polars as pl
import pytest
from werkzeug import Response

from assets.partitions import sessions
from resources.finra import (
    SHORT_VOLUME_SCHEMA,
    FinraClient,
    FinraFileError,
    facilities_on,
    parse_short_volume,
)
from resources.http import SourceError, SourceFileMissing, parse_retry_after
from tests.helpers import FIXTURE_DIR, SAMPLE_DIR, FinraMirror

MODERN = dt.date(2024, 7, 15)
OLD = dt.date(2010, 6, 4)
HEADER = b"Date|Symbol|ShortVolume|ShortExemptVolume|TotalVolume|Market"


def _file(*lines: bytes) -> bytes:
    return b"\r\n".join(lines) + b"\r\n"


def test_parses_todays_layout_with_exempt_volume_and_trailer() -> None:
    frame = parse_short_volume((FIXTURE_DIR / "FNSQshvol20240715.txt").read_bytes(), "FNSQ", MODERN).frame
    assert frame.schema == pl.Schema(SHORT_VOLUME_SCHEMA)
    assert frame.rows() == [
        (MODERN, "AAPL", "FNSQ", 350.0, 5.0, 600.0, "Q"),
        (MODERN, "MSFT", "FNSQ", 50.25, 0.0, 60.0, "Q"),
        (MODERN, "XTRF", "FNSQ", 40.0, 1.0, 80.0, "Q"),
    ]


def test_parses_the_layout_before_2011_without_exempt_column() -> None:
    frame = parse_short_volume((FIXTURE_DIR / "FNYXshvol20100604.txt").read_bytes(), "FNYX", OLD).frame
    assert frame.schema == pl.Schema(SHORT_VOLUME_SCHEMA)
    assert frame.rows() == [
        (OLD, "AAPL", "FNYX", 500.0, None, 1000.0, "N"),
        (OLD, "MSFT", "FNYX", 300.0, None, 1200.0, "N"),
    ]


def test_columns_are_found_by_header_name_not_position() -> None:
    body = _file(b"Symbol|Date|Market|TotalVolume|ShortVolume", b"XYZ|20100604|Q|10|4", b"1")
    assert parse_short_volume(body, "FNSQ", OLD).frame.rows() == [(OLD, "XYZ", "FNSQ", 4.0, None, 10.0, "Q")]


def test_fractional_volumes_keep_their_decimals() -> None:
    body = _file(HEADER, b"20240715|TSLA|10530.431|0.5|20000.123456|Q", b"1")
    row = parse_short_volume(body, "FNSQ", MODERN).frame.row(0)
    assert row[3:6] == (10530.431, 0.5, 20000.123456)


def test_header_only_file_with_zero_trailer_is_an_empty_day() -> None:
    frame = parse_short_volume((FIXTURE_DIR / "FNRAshvol20240715.txt").read_bytes(), "FNRA", MODERN).frame
    assert frame.height == 0
    assert frame.schema == pl.Schema(SHORT_VOLUME_SCHEMA)


def test_file_without_trailer_and_with_lf_line_ends_is_accepted() -> None:
    body = HEADER + b"\n20240715|AAPL|1|0|2|Q\n"
    assert parse_short_volume(body, "FNSQ", MODERN).frame.height == 1


def test_crlf_and_lf_files_parse_to_the_same_rows() -> None:
    body = (SAMPLE_DIR / "CNMSshvol20240423.txt").read_bytes()
    assert b"\r\n" in body, "FINRA's own files end lines with CRLF"
    crlf = parse_short_volume(body, "CNMS", dt.date(2024, 4, 23)).frame
    assert crlf.equals(parse_short_volume(body.replace(b"\r\n", b"\n"), "CNMS", dt.date(2024, 4, 23)).frame)
    assert crlf["market"].str.contains("\r").sum() == 0 and crlf["symbol"].str.contains("\r").sum() == 0


def test_every_bundled_sample_file_parses() -> None:
    files = sorted(SAMPLE_DIR.glob("*.txt"))
    assert len(files) == 6 * len(sessions(dt.date(2024, 3, 1), dt.date(2024, 7, 12)))
    for path in files:
        day = dt.datetime.strptime(path.name[9:17], "%Y%m%d").date()
        frame = parse_short_volume(path.read_bytes(), path.name[:4], day).frame
        assert frame["trade_date"].unique().to_list() in ([day], [])


def test_record_count_mismatch_names_facility_date_and_counts() -> None:
    body = _file(HEADER, b"20240715|AAPL|1|0|2|Q", b"20240715|MSFT|1|0|2|Q", b"3")
    with pytest.raises(FinraFileError, match=r"FINRA FNSQ 2024-07-15 .*trailer says 3 but the file has 2 rows"):
        parse_short_volume(body, "FNSQ", MODERN)


@pytest.mark.parametrize(
    ("row", "problem", "line"),
    [
        (b"20240715|AAPL|1|0|2", "expected 6 fields, got 5", 3),
        (b"20240715|AAPL|ten|0|2|Q", "ShortVolume that is not a finite number", 3),
        (b"20240715|AAPL|-1|0|2|Q", "ShortVolume that is not a finite number >= 0", 3),
        (b"20240715|AAPL|nan|0|2|Q", "ShortVolume that is not a finite number", 3),
        (b"20240715|AAPL|1|0|inf|Q", "TotalVolume that is not a finite number", 3),
        (b"20240715|AAPL|1|0||Q", "TotalVolume that is not a finite number", 3),
        (b"20240715|AAPL|3|0|2|Q", "a ShortVolume above the TotalVolume", 3),
        (b"20240715|AAPL|1|1.5|2|Q", "a ShortExemptVolume above the ShortVolume", 3),
        (b"20240716|AAPL|1|0|2|Q", "a date other than 20240715", 3),
        (b"2024-07-15|AAPL|1|0|2|Q", "not YYYYMMDD", 3),
        (b"20240715||1|0|2|Q", "an empty symbol", 3),
    ],
)
def test_malformed_row_names_the_line(row: bytes, problem: str, line: int) -> None:
    body = _file(HEADER, b"20240715|MSFT|1|0|2|Q", row, b"2")
    with pytest.raises(FinraFileError, match=rf"FINRA FNSQ 2024-07-15 .* line {line}: .*{problem}"):
        parse_short_volume(body, "FNSQ", MODERN)


def test_unexpected_header_and_empty_body_are_rejected() -> None:
    with pytest.raises(FinraFileError, match="line 1: unexpected header"):
        parse_short_volume(_file(b"<!DOCTYPE html>", b"<html>"), "CNMS", MODERN)
    with pytest.raises(FinraFileError, match="empty file"):
        parse_short_volume(b"", "CNMS", MODERN)


def test_facilities_follow_their_first_publication_days() -> None:
    assert [f.code for f in facilities_on(OLD)] == ["FNSQ", "FNYX", "FNRA", "FORF"]
    assert [f.code for f in facilities_on(dt.date(2018, 8, 1))] == ["CNMS", "FNSQ", "FNYX", "FNRA", "FORF"]
    assert len(facilities_on(MODERN)) == 6


def test_client_fetches_all_six_files_of_a_day(finra: FinraClient, finra_mirror: FinraMirror) -> None:
    [fetched] = list(finra.fetch_days([MODERN]))
    assert fetched.error is None
    assert sorted(fetched.frame["facility"].unique()) == ["CNMS", "FNQC", "FNSQ", "FNYX", "FORF"]
    assert sorted(finra_mirror.requests) == sorted(
        f"/equity/regsho/daily/{f}shvol20240715.txt" for f in ("CNMS", "FNSQ", "FNQC", "FNYX", "FNRA", "FORF")
    )


def test_404_on_a_trading_day_is_a_clear_error_and_not_retried(finra: FinraClient, finra_mirror: FinraMirror) -> None:
    finra_mirror.remove("FNQC", MODERN)
    [fetched] = list(finra.fetch_days([MODERN]))
    assert isinstance(fetched.error, SourceFileMissing)
    assert "FINRA FNQC 2024-07-15: file is missing (HTTP 404" in str(fetched.error)
    assert finra_mirror.requests.count("/equity/regsho/daily/FNQCshvol20240715.txt") == 1


def test_429_and_5xx_are_retried_honoring_retry_after(finra_mirror: FinraMirror) -> None:
    client = FinraClient(base_url=finra_mirror.base_url, retry_attempts=5, max_retry_wait_seconds=5)
    finra_mirror.fail(
        "CNMS",
        MODERN,
        Response("slow down", status=429, headers={"Retry-After": "1"}),
        Response("oops", status=503),
        Response("bad gateway", status=502),
    )
    started = time.monotonic()
    [fetched] = list(client.fetch_days([MODERN]))
    assert fetched.error is None
    assert time.monotonic() - started >= 1.0, "Retry-After: 1 must be waited out"
    assert finra_mirror.requests.count("/equity/regsho/daily/CNMSshvol20240715.txt") == 4


def test_retries_end_in_a_failure_naming_source_day_and_cause(finra: FinraClient, finra_mirror: FinraMirror) -> None:
    finra_mirror.fail("FNYX", MODERN, *[Response("busy", status=503) for _ in range(10)])
    [fetched] = list(finra.fetch_days([MODERN]))
    assert isinstance(fetched.error, SourceError)
    assert "FINRA FNYX 2024-07-15: gave up after 4 attempts, last answer HTTP 503" in str(fetched.error)
    assert finra_mirror.requests.count("/equity/regsho/daily/FNYXshvol20240715.txt") == 4


def test_one_bad_day_does_not_stop_the_others(finra: FinraClient, finra_mirror: FinraMirror) -> None:
    finra_mirror.put("FORF", dt.date(2024, 7, 2), _file(HEADER, b"20240702|TCEHY|1|0|2|O", b"5"))
    days = [dt.date(2024, 7, 1), dt.date(2024, 7, 2), dt.date(2024, 7, 3)]
    results = list(finra.fetch_days(days))
    assert [r.error is None for r in results] == [True, False, True]
    assert "FINRA FORF 2024-07-02" in str(results[1].error)


def test_retry_after_accepts_seconds_and_http_dates() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert parse_retry_after("soon") is None


RECORDED = FIXTURE_DIR.parent.parent.parent.parent / "real" / "finra"


def test_every_real_facility_file_of_a_day_parses_with_its_symbols_normalised() -> None:
    """FINRA's own files of 2020-03-16 (recorded): CQS symbols become the directory's (BRK/B -> BRK.B)."""
    day = dt.date(2020, 3, 16)
    parsed = {
        path.name[:4]: parse_short_volume(path.read_bytes(), path.name[:4], day)
        for path in sorted(RECORDED.glob("*shvol20200316.txt"))
    }
    assert sorted(parsed) == ["CNMS", "FNQC", "FNRA", "FNSQ", "FNYX", "FORF"]
    assert all(p.rejected == () for p in parsed.values())
    cnms = parsed["CNMS"].frame
    assert cnms.height == 8205 and cnms["symbol"].is_unique().all()
    assert {"BRK.B", "ABR$A", "AIG.W"} <= set(cnms["symbol"]) and not cnms["symbol"].str.contains("/").any()
    trf = (
        pl.concat([parsed[f].frame for f in ("FNSQ", "FNQC", "FNYX", "FNRA")])
        .group_by("symbol")
        .agg(pl.col("total_volume").sum())
    )
    assert trf.join(cnms, on="symbol").filter(pl.col("total_volume") != pl.col("total_volume_right")).height == 0, (
        "CNMS is the sum of the TRF/ADF files, symbol by symbol, after normalisation too"
    )


def test_a_symbol_that_fits_no_ticker_form_is_left_out_and_reported() -> None:
    body = _file(HEADER, b"20240715|AAPL|1|0|2|Q", b"20240715|BAD SYMBOL|1|0|2|Q", b"20240715|BRK/B|1|0|2|Q", b"3")
    parsed = parse_short_volume(body, "FNSQ", MODERN)
    assert parsed.frame["symbol"].to_list() == ["AAPL", "BRK.B"]
    assert parsed.rejected == ("BAD SYMBOL",)
