"""Nasdaq's Reg SHO threshold list: the file's layout and trailer, the raw asset, its sensor, the model."""

import datetime as dt

import dagster as dg
import polars as pl
import pytest
from werkzeug import Response

from assets.regsho_threshold import DATASET, FILES, regsho_threshold_list
from resources.http import SourceFileMissing
from resources.lake import LakeResource
from resources.regsho_threshold import (
    DEFAULT_BASE_URL,
    NEW_YORK,
    PATH,
    RegshoThresholdClient,
    ThresholdFileError,
    parse_threshold_list,
)
from sensors.regsho_threshold import evaluate
from tests.helpers import SAMPLE_ROOT, Mirror, PlatformBuild, mirror_path, on_mirror, serve_all_sources
from tests.platform_build import RANGE_END, RANGE_START, rows

HEADER = b"Symbol|Security Name|Market Category|Reg SHO Threshold Flag|Rule 3210|Filler\r\n"
APRIL_15, APRIL_16, MARCH_1 = dt.date(2024, 4, 15), dt.date(2024, 4, 16), dt.date(2024, 3, 1)


def sample(day: dt.date) -> bytes:
    return (SAMPLE_ROOT / "www.nasdaqtrader.com" / PATH.format(day=day).lstrip("/")).read_bytes()


def sample_days() -> list[dt.date]:
    folder = SAMPLE_ROOT / "www.nasdaqtrader.com" / "dynamic" / "symdir" / "regsho"
    return sorted(dt.datetime.strptime(f.name, "nasdaqth%Y%m%d.txt").date() for f in folder.glob("nasdaqth*.txt"))


def path(day: dt.date) -> str:
    return mirror_path(DEFAULT_BASE_URL, PATH.format(day=day))


def listing(day: dt.date, *rows: bytes, created: bytes | None = None) -> bytes:
    trailer = created if created is not None else f"{day:%Y%m%d}230012".encode()
    return HEADER + b"".join(row + b"\r\n" for row in rows) + trailer + b"\r\n"


def test_the_sample_is_every_trading_day_of_the_world_and_parses() -> None:
    days = sample_days()
    assert (len(days), days[0], days[-1]) == (92, MARCH_1, dt.date(2024, 7, 12))
    parsed = [parse_threshold_list(sample(day), day) for day in days]
    sizes = [p.frame.height for p in parsed]
    assert sizes.count(0) > len(days) / 2 and max(sizes) <= 3, "most days list nobody or a few"
    nasdaq_listed = (SAMPLE_ROOT / "www.nasdaqtrader.com" / "dynamic" / "SymDir" / "nasdaqlisted.txt").read_text()
    listed = {line.split("|")[0] for line in nasdaq_listed.splitlines()[1:-1]}
    assert set(pl.concat([p.frame for p in parsed])["symbol"]) <= listed, "only Nasdaq's own listings"


def test_a_row_is_read_by_its_header_with_the_creation_time() -> None:
    body = listing(APRIL_15, b"SOFI|SOFI TECHNOLOGIES INC COM|Q|Y|N|", b"ABCDW|ABCD ACQUISITION CORP WT|S|Y|Y|")
    parsed = parse_threshold_list(body, APRIL_15)
    assert parsed.frame.rows(named=True) == [
        {
            "trade_date": APRIL_15,
            "symbol": "ABCDW",
            "security_name": "ABCD ACQUISITION CORP WT",
            "market_category": "S",
            "threshold_flag": True,
            "rule_3210": True,
        },
        {
            "trade_date": APRIL_15,
            "symbol": "SOFI",
            "security_name": "SOFI TECHNOLOGIES INC COM",
            "market_category": "Q",
            "threshold_flag": True,
            "rule_3210": False,
        },
    ]
    assert parsed.created_at == dt.datetime(2024, 4, 15, 23, 0, 12, tzinfo=NEW_YORK)
    assert parsed.created_at.tzinfo == dt.UTC and parsed.file_row["securities"].to_list() == [2]
    assert parse_threshold_list(body.replace(b"\r\n", b"\n"), APRIL_15).frame.equals(parsed.frame), "LF too"


def test_a_list_with_its_trailer_and_no_rows_is_a_valid_empty_list() -> None:
    parsed = parse_threshold_list(listing(APRIL_15), APRIL_15)
    assert parsed.frame.is_empty() and parsed.frame.columns == list(DATASET.schema)
    assert parsed.file_row.rows() == [(APRIL_15, parsed.created_at, 0)]


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (HEADER + b"SOFI|SOFI TECHNOLOGIES INC COM|Q|Y|N|\r\n", r"no creation time \(YYYYMMDDHHMMSS\) trailer"),
        (HEADER, r"no creation time \(YYYYMMDDHHMMSS\) trailer"),
        (HEADER + b"File Creation Time: 0415202423:00\r\n", r"no creation time \(YYYYMMDDHHMMSS\) trailer"),
        (b"<html><body>Access denied</body></html>\r\n", r"trailer"),
        (listing(APRIL_15, b"SOFI|SOFI TECHNOLOGIES INC COM|Q|Y|N"), r"line 2: expected 6 fields"),
        (
            listing(APRIL_15, b"AAPL|APPLE INC COM|Q|Y|N|", b"SOFI|SOFI|Q|maybe|N|"),
            r"line 3: 'SOFI' has threshold_flag",
        ),
        (listing(APRIL_15, created=b"20240412230012"), r"created 2024-04-12 23:00:12, before its day 2024-04-15"),
        (listing(APRIL_15).replace(b"Rule 3210", b"Rule 4320"), r"line 1: header lacks \['Rule 3210'\]"),
    ],
)
def test_a_file_off_the_layout_is_refused_naming_it(body: bytes, problem: str) -> None:
    with pytest.raises(ThresholdFileError, match=rf"^Nasdaq Trader nasdaqth20240415\.txt.*{problem}"):
        parse_threshold_list(body, APRIL_15)


def test_not_found_is_not_published_on_the_real_url_layout() -> None:
    with serve_all_sources() as mirror:
        client = on_mirror(RegshoThresholdClient, mirror, retry_attempts=2)
        assert client.fetch_day(APRIL_15).frame["symbol"].to_list() == ["SOFI"]
        assert mirror.requests[-1] == "/www.nasdaqtrader.com/dynamic/symdir/regsho/nasdaqth20240415.txt"
        with pytest.raises(SourceFileMissing, match=r"nasdaqth20240713\.txt: file is missing \(HTTP 404"):
            client.fetch_day(dt.date(2024, 7, 13))


def materialize(
    mirror: Mirror, lake: LakeResource, instance: dg.DagsterInstance, first: dt.date, last: dt.date
) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [regsho_threshold_list],
        instance=instance,
        raise_on_error=False,
        resources={"lake": lake, "regsho_threshold": on_mirror(RegshoThresholdClient, mirror, retry_attempts=2)},
        tags={RANGE_START: first.isoformat(), RANGE_END: last.isoformat()},
    )


def failure(result: dg.ExecuteInProcessResult) -> str:
    return next(e for e in result.all_events if e.is_step_failure).step_failure_data.error.message


def test_days_are_replaced_whole_and_a_shorter_or_empty_list_replaces_a_stored_one(lake: LakeResource) -> None:
    with serve_all_sources() as mirror, dg.instance_for_test() as instance:
        assert materialize(mirror, lake, instance, dt.date(2024, 4, 12), APRIL_16).success
        stored, files = lake.read(DATASET), lake.read(FILES)
        assert files["trade_date"].to_list() == [dt.date(2024, 4, 12), APRIL_15, APRIL_16]
        assert files["securities"].to_list() == [0, 1, 2] and stored["symbol"].to_list() == ["SOFI", "NVDA", "SOFI"]
        assert materialize(mirror, lake, instance, dt.date(2024, 4, 12), APRIL_16).success
        assert lake.read(DATASET).equals(stored) and lake.read(FILES).height == 3, "a re-run adds no rows"

        mirror.put_path(path(APRIL_15), listing(APRIL_15, b"AAPL|APPLE INC COM|Q|Y|N|", b"SOFI|SOFI|Q|Y|N|"))
        assert materialize(mirror, lake, instance, APRIL_15, APRIL_15).success
        mirror.put_path(path(APRIL_15), listing(APRIL_15))
        assert materialize(mirror, lake, instance, APRIL_15, APRIL_15).success, "the trailer says it is complete"
        assert lake.read(DATASET, where={"trade_date": APRIL_15}).is_empty()
        assert lake.read(FILES, where={"trade_date": APRIL_15})["securities"].to_list() == [0]

        mirror.put_path(path(APRIL_16), listing(APRIL_16, b"NYSE|NOT NASDAQ|N|Y|N|"))
        quarantined = materialize(mirror, lake, instance, APRIL_16, APRIL_16)
        assert not quarantined.success and "quarantined, failed market_category_nasdaq" in failure(quarantined)
        assert lake.read(DATASET, where={"trade_date": APRIL_16})["symbol"].to_list() == ["NVDA", "SOFI"], "kept"

        mirror.put_path(path(APRIL_16), sample(APRIL_16).replace(b"20240416230", b"2024041623"))
        cut = materialize(mirror, lake, instance, APRIL_16, APRIL_16)
        assert not cut.success and "nasdaqth20240416.txt: no creation time" in failure(cut)
        assert "the stored partition is intact: 2 rows" in failure(cut)

        mirror.fail_path(path(APRIL_16), Response(b"<html>Not Found</html>", status=404))
        unpublished = materialize(mirror, lake, instance, APRIL_16, APRIL_16)
        assert not unpublished.success and "not published (Nasdaq Trader posts" in failure(unpublished)
        assert lake.read(FILES, where={"trade_date": APRIL_16})["securities"].to_list() == [2]


def test_the_sensor_asks_for_each_due_day_not_stored(instance: dg.DagsterInstance) -> None:
    evening = dt.datetime(2024, 7, 12, 22, 0, tzinfo=NEW_YORK)
    asked = [request.partition_key for request in evaluate(instance, evening).run_requests]
    assert asked[-1] == "2024-07-11" and len(asked) == 20, "07-12's file is not created before about 23:00"
    night = evaluate(instance, evening.replace(hour=23, minute=45)).run_requests
    assert night[-1].partition_key == "2024-07-12" and night[-1].run_key == "2024-07-12:2024-07-12"
    weekend = evaluate(instance, dt.datetime(2024, 7, 13, 12, 0, tzinfo=NEW_YORK)).run_requests
    assert weekend[-1].partition_key == "2024-07-12" and weekend[-1].run_key.endswith(":2024-07-13"), "asked again"


def test_consecutive_days_match_an_independent_computation(platform_build: PlatformBuild) -> None:
    """Walk the stored lists in date order, carrying each security's count from the previous list."""
    files = sorted(day for (day,) in rows(platform_build, "SELECT trade_date FROM raw.regsho_threshold_files"))
    listed = pl.DataFrame(
        rows(platform_build, "SELECT trade_date, symbol FROM raw.regsho_threshold_list WHERE threshold_flag"),
        schema=["trade_date", "symbol"],
        orient="row",
    )
    expected, previous = [], {}
    for day in files:
        today = {symbol: previous.get(symbol, 0) + 1 for symbol in listed.filter(pl.col("trade_date") == day)["symbol"]}
        expected += [(symbol, day, count) for symbol, count in today.items()]
        previous = today
    built = rows(platform_build, "SELECT symbol, trade_date, consecutive_days FROM marts.fct_regsho_threshold_days")
    assert sorted(built) == sorted(expected) and len(files) == 92
    assert max(count for symbol, _, count in built if symbol == "SOFI") == 15, "the sample's run past 13 days"
    qqq = sorted((day, count) for symbol, day, count in built if symbol == "QQQ" and count == 1)
    assert len(qqq) >= 2, "QQQ leaves the list and comes back: a new run starts at 1"
