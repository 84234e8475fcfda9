"""CFTC Commitments of Traders: both reports' parsers on the real files and on older header spellings,
each refusal, the publication rule, and the raw assets on cftc.gov's URL layout (a loopback server
answering /files/dea/history/*.zip; never the internet)."""

import datetime as dt
import io
import zipfile
from collections.abc import Iterator

import dagster as dg
import polars as pl
import pytest

from assets.cftc_cot import LEGACY_DATASET, LEGACY_KEY, TFF_DATASET, cftc_cot_legacy, cftc_cot_tff
from resources.cftc_cot import (
    HISTORY_PATH,
    LEGACY,
    TFF,
    TFF_COMBINED,
    CftcCotClient,
    CotFileError,
    available_from,
    normalised,
    parse_report,
    release_day,
    unzip_report,
)
from resources.http import SourceFileMissing
from resources.lake import LakeResource
from sensors.cftc_cot import evaluate, newest_due
from tests.helpers import SAMPLE_ROOT, TEST_FIXTURES, Mirror, PlatformBuild, on_mirror, serve, serve_all_sources
from tests.platform_build import rows

REAL = TEST_FIXTURES / "real" / "cftc"
LEGACY_TEXT = (REAL / "deacot2025_annual_20250311.txt").read_bytes()
TFF_TEXT = (REAL / "FinFut17.txt").read_bytes()
SAMPLE = SAMPLE_ROOT / "www.cftc.gov" / "files" / "dea" / "history"
UTC = dt.UTC


def member(name: str) -> bytes:
    """The text inside one of the sample's zips."""
    return unzip_report((SAMPLE / name).read_bytes(), name)[1]


def zipped(text: bytes, name: str = "annual.txt") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, text)
    return buffer.getvalue()


def drop_reports(text: bytes, *dates: str) -> bytes:
    """A report file without the rows of `dates` (YYYY-MM-DD), its line ends kept."""
    lines = text.splitlines(keepends=True)
    return b"".join(line for line in lines if not any(f",{d},".encode() in line for d in dates))


# -- the parsers on the real files -------------------------------------------------------------------


def test_legacy_real_file_keeps_every_row_and_the_leading_space_header() -> None:
    frame = parse_report(LEGACY_TEXT, LEGACY, 2025, "annual.txt")
    assert frame.height == 3190 and dict(frame.schema) == dict(LEGACY_DATASET.schema)
    assert frame["report_date"].n_unique() == 10 and frame["report_date"].max() == dt.date(2025, 3, 11)
    es = frame.filter(pl.col("cftc_contract_market_code") == "13874A", pl.col("report_date") == dt.date(2025, 3, 11))
    assert es.select("open_interest", "noncommercial_long", "total_reportable_long", "nonreportable_long").row(0) == (
        2282648,
        378925,
        1985308,
        297340,
    )
    assert es["cftc_market_code"].item() == "CME" and es["contract_units"].item() == "($50 X S&P 500 INDEX)"
    assert frame.filter(pl.col("total_reportable_long").is_null()).height == 0, "the ' Total Reportable' header"


def test_tff_real_file_crlf_and_a_monday_report() -> None:
    frame = parse_report(TFF_TEXT, TFF, 2017, "FinFutYY.txt")
    assert frame.height == 2110 and dict(frame.schema) == dict(TFF_DATASET.schema)
    mondays = frame.filter(pl.col("report_date").dt.weekday() == 1)["report_date"].unique().to_list()
    assert mondays == [dt.date(2017, 7, 3)], "Independence Day 2017 was a Tuesday: CFTC used Monday's positions"
    assert frame["market_and_exchange_names"].str.ends_with("\r").sum() == 0
    es = frame.filter(pl.col("cftc_contract_market_code") == "13874A", pl.col("report_date") == dt.date(2017, 12, 26))
    assert es.select("dealer_long", "asset_manager_short", "leveraged_funds_spreading", "nonreportable_short").row(
        0
    ) == (221187, 746682, 71863, 278492)


def test_headers_are_matched_by_their_normalised_name() -> None:
    assert normalised(" Total Reportable Positions-Long (All)") == "total reportable positions long all"
    assert normalised("Tot_Rept_Positions_Long_All") == "tot rept positions long all"
    assert normalised("Open Interest (All)") == normalised("Open_Interest_All") == "open interest all"


def rename_header(text: bytes, renames: dict[str, str]) -> bytes:
    header, rest = text.split(b"\n", 1)
    for old, new in renames.items():
        assert f'"{old}"'.encode() in header
        header = header.replace(f'"{old}"'.encode(), f'"{new}"'.encode())
    return header + b"\n" + rest


def test_legacy_older_underscore_spelling_reads_the_same() -> None:
    older = rename_header(
        LEGACY_TEXT,
        {
            "Market and Exchange Names": "Market_and_Exchange_Names",
            "Noncommercial Positions-Long (All)": "NonComm_Positions_Long_All",
            "Noncommercial Positions-Spreading (All)": "NonComm_Positions_Spread_All",
            "Commercial Positions-Short (All)": "Comm_Positions_Short_All",
            " Total Reportable Positions-Long (All)": "Tot_Rept_Positions_Long_All",
            "Nonreportable Positions-Short (All)": "NonRept_Positions_Short_All",
            "Contract Units": "CONTRACT_UNITS",
        },
    )
    assert parse_report(older, LEGACY, 2025).equals(parse_report(LEGACY_TEXT, LEGACY, 2025))


def test_tff_combined_file_layout_us_dates_and_its_years_sliced() -> None:
    """The 2006-2016 file's header `Report_Date_as_MM_DD_YYYY` with `M/D/YYYY 12:00:00 AM` values."""
    lines = TFF_TEXT.split(b"\r\n")
    header = lines[0].replace(b'"Report_Date_as_YYYY-MM-DD"', b'"Report_Date_as_MM_DD_YYYY"')

    def us_date(line: bytes, year: int) -> bytes:
        fields = line.split(b",", 3)
        day = dt.date.fromisoformat(fields[2].decode()).replace(year=year)
        fields[1], fields[2] = f"{day:%y%m%d}".encode(), f"{day.month}/{day.day}/{day.year} 12:00:00 AM".encode()
        return b",".join(fields)

    body = b"\r\n".join(
        [header, *(us_date(line, 2015) for line in lines[1:100]), *(us_date(line, 2016) for line in lines[100:150])]
    )
    sixteen = parse_report(body, TFF, 2016)
    assert sixteen.height == 50 and sixteen["report_date"].dt.year().unique().to_list() == [2016]
    assert parse_report(body, TFF, 2015).height == 99
    with pytest.raises(CotFileError, match=r"CFTC COT tff 2014 \(fin_fut_txt_2006_2016.zip\).*no report of 2014"):
        parse_report(body, TFF, 2014)


# -- refusals ------------------------------------------------------------------------------------------


SMALL = b"\n".join(LEGACY_TEXT.split(b"\n")[:4]) + b"\n"


def replace_field(text: bytes, line: int, index: int, value: bytes) -> bytes:
    lines = text.split(b"\n")
    fields = lines[line - 1].split(b",")
    fields[index] = value
    lines[line - 1] = b",".join(fields)
    return b"\n".join(lines)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (SMALL.replace(b'"Open Interest (All)"', b'"Open Interest"'), r"line 1: no column open_interest"),
        (
            SMALL.replace(b'"Open Interest (Old)"', b'"Open_Interest_All"'),
            r"line 1: column open_interest has several headers",
        ),
        (replace_field(SMALL, 3, 8, b"  12x45"), r"line 3 column 'Noncommercial Positions-Long \(All\)': not a whole"),
        (replace_field(SMALL, 2, 7, b"       ."), r"line 2 column 'Open Interest \(All\)': not a whole number"),
        (replace_field(SMALL, 4, 2, b"2025-02-30"), r"line 4 column 'As of Date in Form YYYY-MM-DD': a date that"),
        (replace_field(SMALL, 2, 1, b"250304"), r"line 2 column 'As of Date in Form YYMMDD': an As of Date YYMMDD"),
        (replace_field(replace_field(SMALL, 3, 1, b"241231"), 3, 2, b"2024-12-31"), r"line 3: a report of 2024-12-31"),
        (SMALL.split(b"\n")[0] + b"\n", r"no rows under the header"),
        (b"<html><body>Not Found</body></html>\n", r"no column"),
    ],
)
def test_a_file_that_is_not_the_report_is_refused_naming_file_line_and_column(body: bytes, message: str) -> None:
    with pytest.raises(CotFileError, match=r"CFTC COT legacy 2025 \(deacot2025.zip\)") as refused:
        parse_report(body, LEGACY, 2025)
    assert refused.match(message)


def test_a_suppressed_spreading_figure_is_null_not_an_error() -> None:
    frame = parse_report(replace_field(SMALL, 2, 10, b"."), LEGACY, 2025)
    assert frame.filter(pl.col("noncommercial_spreading").is_null()).height == 1


def test_a_zip_must_hold_one_text_member() -> None:
    assert unzip_report(zipped(SMALL, "ANNUAL.TXT"), "x") == ("ANNUAL.TXT", SMALL)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("annual.txt", SMALL)
        archive.writestr("annual2.txt", SMALL)
    with pytest.raises(
        CotFileError, match=r"deacot2025: expected one .txt member, found \['annual.txt', 'annual2.txt'\]"
    ):
        unzip_report(buffer.getvalue(), "deacot2025")
    with pytest.raises(CotFileError, match=r"deacot2025: not a zip archive"):
        unzip_report(b"<html>", "deacot2025")


# -- when a report is public ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("report_date", "public"),
    [
        (dt.date(2024, 6, 11), dt.datetime(2024, 6, 14, 19, 30, tzinfo=UTC)),  # a normal week: Friday 15:30 EDT
        (dt.date(2024, 1, 9), dt.datetime(2024, 1, 12, 20, 30, tzinfo=UTC)),  # winter: 15:30 EST
        (dt.date(2024, 1, 16), dt.datetime(2024, 1, 19, 20, 30, tzinfo=UTC)),  # MLK Monday before: still Friday
        (dt.date(2024, 6, 18), dt.datetime(2024, 6, 24, 19, 30, tzinfo=UTC)),  # Juneteenth Wednesday: Monday
        (dt.date(2024, 7, 2), dt.datetime(2024, 7, 8, 19, 30, tzinfo=UTC)),  # Independence Day Thursday
        (dt.date(2024, 11, 26), dt.datetime(2024, 12, 2, 20, 30, tzinfo=UTC)),  # Thanksgiving
        (dt.date(2024, 12, 24), dt.datetime(2024, 12, 30, 20, 30, tzinfo=UTC)),  # Christmas
        (dt.date(2023, 7, 3), dt.datetime(2023, 7, 10, 19, 30, tzinfo=UTC)),  # Monday report, Tuesday holiday
        (dt.date(2025, 1, 7), dt.datetime(2025, 1, 13, 20, 30, tzinfo=UTC)),  # closed for President Carter
        (dt.date(2025, 10, 7), dt.datetime(2025, 11, 21, 20, 30, tzinfo=UTC)),  # 2025 shutdown: CFTC's catch-up
        (dt.date(2019, 1, 8), dt.datetime(2019, 3, 8, 20, 30, tzinfo=UTC)),  # 2018-19: once current again
        (dt.date(1995, 6, 13), dt.datetime(1995, 6, 28, 19, 30, tzinfo=UTC)),  # before weekly releases: +15 days
    ],
)
def test_available_from_is_the_release_never_the_report_date(report_date: dt.date, public: dt.datetime) -> None:
    assert available_from(report_date) == public


def test_every_real_report_date_is_public_after_it_on_a_weekday() -> None:
    for text, report, year in ((LEGACY_TEXT, LEGACY, 2025), (TFF_TEXT, TFF, 2017)):
        dates = parse_report(text, report, year)["report_date"].unique().to_list()
        for day in dates:
            release = release_day(day)
            assert release.weekday() < 5 and 3 <= (release - day).days <= 7, day


# -- the raw assets on cftc.gov's URL layout -------------------------------------------------------------


@pytest.fixture
def cftc_mirror() -> Iterator[Mirror]:
    """cftc.gov's history folder with the sample's zips of 2024 and 2025."""
    with serve() as mirror:
        for name in ("deacot2024.zip", "deacot2025.zip", "fut_fin_txt_2024.zip", "fut_fin_txt_2025.zip"):
            mirror.put_path(f"{HISTORY_PATH}/{name}", (SAMPLE / name).read_bytes())
        yield mirror


def client(mirror: Mirror) -> CftcCotClient:
    return CftcCotClient(base_url=mirror.base_url, retry_attempts=1)


def materialize(
    asset: dg.AssetsDefinition,
    lake: LakeResource,
    mirror: Mirror,
    instance: dg.DagsterInstance,
    years: str,
    **config: bool,
) -> dg.ExecuteInProcessResult:
    first, last = years.split("..") if ".." in years else (years, years)
    return dg.materialize(
        [asset],
        resources={"lake": lake, "cftc_cot": client(mirror)},
        instance=instance,
        raise_on_error=False,
        tags={"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last},
        run_config={"ops": {asset.op.name: {"config": config}}},
    )


def failure(result: dg.ExecuteInProcessResult) -> str:
    return next(e for e in result.all_events if e.is_step_failure).step_failure_data.error.message


def test_a_rerun_stores_the_same_rows_the_weekly_update_adds_a_week_a_shrink_is_refused(
    lake: LakeResource, cftc_mirror: Mirror
) -> None:
    path = f"{HISTORY_PATH}/deacot2025.zip"
    full = member("deacot2025.zip")
    cftc_mirror.put_path(path, zipped(drop_reports(full, "2025-12-30")))
    with dg.instance_for_test() as instance:
        assert materialize(cftc_cot_legacy, lake, cftc_mirror, instance, "2024..2025").success
        stored = lake.read(LEGACY_DATASET)
        markets = stored["cftc_contract_market_code"].n_unique()
        assert stored["report_date"].max() == dt.date(2025, 12, 23) and markets == 5
        assert materialize(cftc_cot_legacy, lake, cftc_mirror, instance, "2025").success
        assert lake.read(LEGACY_DATASET).equals(stored), "a re-run over the same file stores the same rows"

        cftc_mirror.put_path(path, zipped(full))
        assert materialize(cftc_cot_legacy, lake, cftc_mirror, instance, "2025").success
        updated = lake.read(LEGACY_DATASET)
        assert updated.height == stored.height + markets and updated["report_date"].max() == dt.date(2025, 12, 30)
        week = updated.filter(pl.col("report_date") == dt.date(2025, 12, 30))
        shutdown_catch_up = dt.datetime(2026, 1, 13, 20, 30, tzinfo=UTC)  # not 2026-01-05 (New Year's Day)
        assert week["available_from"].unique().to_list() == [shutdown_catch_up]

        cftc_mirror.put_path(path, zipped(drop_reports(full, "2025-06-03")))
        shrunk = materialize(cftc_cot_legacy, lake, cftc_mirror, instance, "2025")
        assert not shrunk.success and "cftc_cot_legacy" in failure(shrunk) and "2025-06-03" in failure(shrunk)
        assert lake.read(LEGACY_DATASET).equals(updated), "the refused year keeps its stored rows"
        assert materialize(cftc_cot_legacy, lake, cftc_mirror, instance, "2025", allow_shrink=True).success
        assert lake.read(LEGACY_DATASET).height == updated.height - markets


def test_a_year_cftc_has_not_posted_fails_naming_it_and_keeps_the_others(
    lake: LakeResource, cftc_mirror: Mirror
) -> None:
    with dg.instance_for_test() as instance:
        result = materialize(cftc_cot_tff, lake, cftc_mirror, instance, "2024..2026")
        assert not result.success
        assert "CFTC COT tff 2026 (fut_fin_txt_2026.zip)" in failure(result) and "HTTP 404" in failure(result)
        assert sorted(lake.read(TFF_DATASET)["report_date"].dt.year().unique()) == [2024, 2025]


def test_the_combined_tff_file_is_fetched_once_for_its_years(lake: LakeResource, cftc_mirror: Mirror) -> None:
    text = member("fut_fin_txt_2024.zip")
    body = text.replace(b",24", b",15").replace(b",2024-", b",2015-") + b"".join(
        line + b"\r\n" for line in text.replace(b",24", b",16").replace(b",2024-", b",2016-").split(b"\r\n")[1:] if line
    )
    cftc_mirror.put_path(f"{HISTORY_PATH}/{TFF_COMBINED}", zipped(body, "F_TFF_2006_2016.txt"))
    with dg.instance_for_test() as instance:
        assert materialize(cftc_cot_tff, lake, cftc_mirror, instance, "2015..2016").success
    assert cftc_mirror.count(f"{HISTORY_PATH}/{TFF_COMBINED}") == 1
    years = lake.read(TFF_DATASET).group_by(pl.col("report_date").dt.year()).len().sort("report_date")
    assert years["report_date"].to_list() == [2015, 2016] and years["len"].n_unique() == 1


def test_the_sample_answers_on_cftcs_url_layout() -> None:
    with serve_all_sources() as mirror:
        cftc = on_mirror(CftcCotClient, mirror, retry_attempts=1)
        assert cftc.url(LEGACY, 2024) == f"{mirror.base_url}/www.cftc.gov/files/dea/history/deacot2024.zip"
        for year, tuesdays in ((2023, 52), (2024, 53), (2025, 52)):
            for report in (LEGACY, TFF):
                frame = cftc.fetch_year(report, year)
                codes = set(frame["cftc_contract_market_code"])
                assert {"13874A", "133741"} <= codes and frame["report_date"].n_unique() == tuesdays
        with pytest.raises(SourceFileMissing, match="CFTC COT legacy 2022"):
            cftc.fetch_year(LEGACY, 2022)


# -- the weekly update's sensor ----------------------------------------------------------------------------


def test_the_sensor_asks_for_the_year_of_the_newest_due_report_until_it_is_stored() -> None:
    friday_evening = dt.datetime(2025, 6, 13, 21, 0, tzinfo=UTC)  # 17:00 New York, after the release
    assert newest_due(friday_evening) == dt.date(2025, 6, 10)
    assert newest_due(dt.datetime(2025, 6, 13, 19, 0, tzinfo=UTC)) == dt.date(2025, 6, 3)
    assert newest_due(dt.datetime(2025, 1, 3, 21, 0, tzinfo=UTC)) == dt.date(2024, 12, 24)  # 12-31's is Monday's
    assert newest_due(dt.datetime(2025, 1, 6, 21, 0, tzinfo=UTC)) == dt.date(2024, 12, 31)
    assert newest_due(dt.datetime(2025, 11, 20, 21, 0, tzinfo=UTC)) == dt.date(2025, 9, 30)  # shutdown catch-up
    with dg.instance_for_test() as instance:
        asked = evaluate(instance, LEGACY_KEY, friday_evening)
        assert [(r.partition_key, r.run_key) for r in asked.run_requests] == [("2025", "2025-06-10:2025-06-13")]
        stale = dg.AssetMaterialization(LEGACY_KEY, partition="2025", metadata={"last_report_date": "2025-06-03"})
        instance.report_runless_asset_event(stale)
        assert len(evaluate(instance, LEGACY_KEY, friday_evening).run_requests) == 1
        current = dg.AssetMaterialization(LEGACY_KEY, partition="2025", metadata={"last_report_date": "2025-06-10"})
        instance.report_runless_asset_event(current)
        assert evaluate(instance, LEGACY_KEY, friday_evening).run_requests == []


# -- the models on the sample ----------------------------------------------------------------------------------


def test_the_positioning_mart_maps_equities_and_crypto_to_their_futures(platform_build: PlatformBuild) -> None:
    counted = rows(
        platform_build,
        "SELECT instrument_class, cftc_contract_market_code, count(*), min(report_date), max(report_date), "
        "count(*) FILTER (WHERE available_from <= report_date::TIMESTAMPTZ), count(dealer_net_share) "
        "FROM marts.fct_cot_positioning GROUP BY ALL ORDER BY 1",
    )
    first, last = dt.date(2023, 1, 3), dt.date(2025, 12, 30)
    assert counted == [("crypto", "133741", 157, first, last, 0, 157), ("equity", "13874A", 157, first, last, 0, 157)]
    es = rows(
        platform_build,
        "SELECT p.report_date, p.leveraged_funds_net, p.leveraged_funds_net_share, "
        "t.leveraged_funds_long - t.leveraged_funds_short, t.open_interest "
        "FROM marts.fct_cot_positioning p "
        "JOIN staging.stg_cftc__cot_tff t USING (cftc_contract_market_code, report_date) "
        "WHERE p.instrument_class = 'equity' ORDER BY p.report_date LIMIT 2",
    )
    for _, net, share, expected, open_interest in es:
        assert net == expected and share == pytest.approx(expected / open_interest)
