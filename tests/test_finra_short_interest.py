"""FINRA equity short interest: settlement dates, the file's layout, the raw asset, its sensor and staging."""

import datetime as dt

import dagster as dg
import polars as pl
import pytest
from werkzeug import Response

from assets.finra_short_interest import DATASET, finra_short_interest, published_by, settlement_dates, settlements
from resources.finra_short_interest import (
    DEFAULT_BASE_URL,
    PATH,
    FinraShortInterestClient,
    ShortInterestFileError,
    parse_short_interest,
)
from resources.http import SourceFileMissing
from resources.lake import LakeResource
from sensors.finra_short_interest import evaluate
from tests.helpers import SAMPLE_ROOT, Mirror, PlatformBuild, mirror_path, on_mirror, serve_all_sources
from tests.platform_build import RANGE_END, RANGE_START, rows

SAMPLE_DATES = [
    dt.date(2024, 3, 15),
    dt.date(2024, 3, 28),
    dt.date(2024, 4, 15),
    dt.date(2024, 4, 30),
    dt.date(2024, 5, 15),
    dt.date(2024, 5, 31),
    dt.date(2024, 6, 14),
    dt.date(2024, 6, 28),
]
JUNE_14 = dt.date(2024, 6, 14)


def sample(day: dt.date) -> bytes:
    return (SAMPLE_ROOT / "cdn.finra.org" / PATH.format(day=day).lstrip("/")).read_bytes()


def path(day: dt.date) -> str:
    return mirror_path(DEFAULT_BASE_URL, PATH.format(day=day))


def test_settlement_dates_are_the_15th_and_month_end_moved_back_to_a_trading_day() -> None:
    # 2024-03-29 was Good Friday, 2024-06-15 a Saturday; July's dates have not come by 07-12.
    assert settlement_dates(dt.date(2024, 3, 1), dt.date(2024, 7, 12)) == SAMPLE_DATES
    assert sorted(p.name for p in (SAMPLE_ROOT / "cdn.finra.org/equity/otcmarket/biweekly").iterdir()) == [
        f"shrt{d:%Y%m%d}.csv" for d in SAMPLE_DATES
    ]
    assert published_by(dt.date(2024, 6, 28)) == dt.date(2024, 7, 11), "eight sessions later, 07-04 closed"


@pytest.mark.parametrize("day", SAMPLE_DATES)
def test_every_sample_file_parses(day: dt.date) -> None:
    frame, refused = parse_short_interest(sample(day), day)
    assert frame.height == 36 and not refused
    assert frame["settlement_date"].unique().to_list() == [day]
    assert frame.filter(pl.col("symbol") == "HTHIY")["days_to_cover"].to_list() == [None], "empty stays null"


def test_the_split_and_the_revision_flags_come_through() -> None:
    frame, _ = parse_short_interest(sample(JUNE_14), JUNE_14)
    nvda = frame.filter(pl.col("symbol") == "NVDA").row(0, named=True)
    may, _ = parse_short_interest(sample(dt.date(2024, 5, 31)), dt.date(2024, 5, 31))
    before = may.filter(pl.col("symbol") == "NVDA")["current_short_position"][0]
    assert nvda["split_flag"] == "S" and nvda["previous_short_position"] == 10 * before, "restated for 10:1"
    assert may.filter(pl.col("revision_flag") == "R")["symbol"].to_list() == ["GME"]


def test_columns_are_found_by_name_not_position() -> None:
    lines = sample(JUNE_14).decode().splitlines()
    cells = [line.split("|") for line in lines]
    reordered = "\n".join("|".join(reversed(row)) for row in cells).encode()
    assert parse_short_interest(reordered, JUNE_14)[0].equals(parse_short_interest(sample(JUNE_14), JUNE_14)[0])


def test_a_file_of_another_date_or_layout_is_refused_naming_it() -> None:
    with pytest.raises(ShortInterestFileError, match=r"shrt20240628.csv: 36 rows are not of settlement date"):
        parse_short_interest(sample(JUNE_14), dt.date(2024, 6, 28))
    with pytest.raises(ShortInterestFileError, match=r"header lacks \['settlementDate'"):
        parse_short_interest(b"Date|Symbol|ShortVolume\n20240614|AAPL|1\n", JUNE_14)
    garbled = sample(JUNE_14).replace(b"|61742626|", b"|6.1e7|", 1)
    with pytest.raises(ShortInterestFileError, match=r"shrt20240614.csv: not the source's format"):
        parse_short_interest(garbled, JUNE_14)


def test_forbidden_is_how_the_cdn_says_not_published() -> None:
    with serve_all_sources() as mirror:
        mirror.fail_path(path(dt.date(2024, 7, 15)), Response(b"<Error>AccessDenied</Error>", status=403))
        client = on_mirror(FinraShortInterestClient, mirror)
        with pytest.raises(SourceFileMissing, match=r"shrt20240715.csv: file is missing \(HTTP 403"):
            client.fetch_settlement(dt.date(2024, 7, 15))
        assert mirror.count(path(dt.date(2024, 7, 15))) == 1, "a missing file is not retried"


def materialize(
    mirror: Mirror,
    lake: LakeResource,
    instance: dg.DagsterInstance,
    first: dt.date,
    last: dt.date,
    allow_shrink: bool = False,
) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [finra_short_interest],
        instance=instance,
        raise_on_error=False,
        resources={"lake": lake, "finra_short_interest": on_mirror(FinraShortInterestClient, mirror)},
        tags={RANGE_START: first.isoformat(), RANGE_END: last.isoformat()},
        run_config={"ops": {"raw__finra_short_interest": {"config": {"allow_shrink": allow_shrink}}}},
    )


def failure(result: dg.ExecuteInProcessResult) -> str:
    return next(e for e in result.all_events if e.is_step_failure).step_failure_data.error.message


def test_settlement_dates_are_replaced_whole_and_bad_files_leave_them(lake: LakeResource) -> None:
    with serve_all_sources() as mirror, dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(settlements.name, [d.isoformat() for d in SAMPLE_DATES])
        assert materialize(mirror, lake, instance, SAMPLE_DATES[-2], SAMPLE_DATES[-1]).success
        stored = lake.read(DATASET, stamps=True)
        assert stored.height == 72 and stored["settlement_date"].n_unique() == 2
        assert materialize(mirror, lake, instance, JUNE_14, JUNE_14).success
        assert (
            lake.read(DATASET)
            .sort("settlement_date", "symbol")
            .equals(stored.drop("_loaded_at").sort("settlement_date", "symbol"))
        ), "a re-run adds no rows"

        shorter = b"\n".join(sample(JUNE_14).split(b"\n")[:20]) + b"\n"
        mirror.put_path(path(JUNE_14), shorter)
        refused = materialize(mirror, lake, instance, JUNE_14, JUNE_14)
        assert not refused.success and "symbol gone" in failure(refused)
        assert lake.read(DATASET).height == 72, "a file with fewer symbols does not replace the stored date"
        assert materialize(mirror, lake, instance, JUNE_14, JUNE_14, allow_shrink=True).success
        assert lake.read(DATASET, where={"settlement_date": JUNE_14}).height == 19

        negative = sample(JUNE_14).replace(b"|2.12||", b"|-2.12||", 1)
        mirror.put_path(path(JUNE_14), negative)
        broken = materialize(mirror, lake, instance, JUNE_14, JUNE_14, allow_shrink=True)
        assert not broken.success and "quarantined, failed days_to_cover_not_negative" in failure(broken)
        assert lake.read(DATASET, where={"settlement_date": JUNE_14}).height == 19

        mirror.fail_path(path(JUNE_14), Response(b"denied", status=403))
        unpublished = materialize(mirror, lake, instance, JUNE_14, JUNE_14)
        assert (
            not unpublished.success
            and f"publishes a settlement date's file by about {published_by(JUNE_14)}" in failure(unpublished)
        )


def test_a_revision_replaces_the_date_and_keeps_the_first_version_queryable(lake: LakeResource) -> None:
    """FINRA first published GME's 2024-05-31 position without the flag; the revised file replaces it."""
    may_31 = dt.date(2024, 5, 31)
    revised = sample(may_31)
    first = revised.replace(
        b"|GME|GameStop Corporation|A|NYSE|160352725|", b"|GME|GameStop Corporation|A|NYSE|150000000|"
    )
    first = first.replace(b"|4.70|R|", b"|4.70||")
    with serve_all_sources() as mirror, dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(settlements.name, [may_31.isoformat()])
        mirror.put_path(path(may_31), first)
        assert materialize(mirror, lake, instance, may_31, may_31).success
        mirror.put_path(path(may_31), revised)
        assert materialize(mirror, lake, instance, may_31, may_31).success
        assert materialize(mirror, lake, instance, may_31, may_31).success, "the same revision again"

        gme = lake.read(DATASET, where={"symbol": "GME"})
        assert gme.select("current_short_position", "revision_flag").rows() == [(160352725, "R")]
        history = lake.read(DATASET.history, stamps=True)
        assert history.select("symbol", "current_short_position", "revision_flag").rows() == [
            ("GME", 150000000, None)
        ], "only the revised row, once"
        assert lake.read(DATASET).height == 36


def test_a_date_with_under_half_the_previous_records_is_flagged(lake: LakeResource) -> None:
    may_31 = dt.date(2024, 5, 31)
    with serve_all_sources() as mirror, dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(settlements.name, [may_31.isoformat(), JUNE_14.isoformat()])
        mirror.put_path(path(JUNE_14), b"\n".join(sample(JUNE_14).split(b"\n")[:18]) + b"\n")
        result = materialize(mirror, lake, instance, may_31, JUNE_14)
        check = next(e for e in result.get_asset_check_evaluations() if e.check_name == "record_count")
        assert result.success and not check.passed, "a warning: the new date is stored"
        assert check.metadata["below_half_of_previous_date"].value == {"2024-06-14": {"records": 17, "previous": 36}}
        mirror.put_path(path(JUNE_14), sample(JUNE_14))
        again = materialize(mirror, lake, instance, JUNE_14, JUNE_14)
        assert next(e for e in again.get_asset_check_evaluations() if e.check_name == "record_count").passed


def test_the_sensor_adds_dates_and_asks_for_the_due_ones(instance: dg.DagsterInstance) -> None:
    result = evaluate(instance, dt.date(2024, 7, 12))
    added = result.dynamic_partitions_requests[0].partition_keys
    assert dt.date.fromisoformat(added[-1]) == dt.date(2024, 6, 28) and len(added) > 300, "every date since 2009"
    asked = [request.partition_key for request in result.run_requests]
    assert len(asked) == 24 and asked[-1] == "2024-06-28", "the newest due date; 07-15 is not due"
    assert all(request.run_key.endswith(":2024-07-12") for request in result.run_requests), "asked again tomorrow"


def test_the_staging_model_reads_every_stored_settlement_date(platform_build: PlatformBuild) -> None:
    counted = rows(
        platform_build,
        "SELECT settlement_date, count(*), count(days_to_cover), sum(revised::int) "
        "FROM staging.stg_finra__short_interest GROUP BY ALL ORDER BY ALL",
    )
    assert [row[0] for row in counted] == SAMPLE_DATES
    assert all(row[1] == 36 and row[2] == 35 for row in counted)
    assert sum(row[3] for row in counted) == 1
