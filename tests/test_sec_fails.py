"""SEC fails-to-deliver: half-months, the file's layout and trailers, the raw asset, its sensor, the mart."""

import datetime as dt
import io
import math
import zipfile

import dagster as dg
import polars as pl
import pytest
from werkzeug import Response

from assets.sec_fails import (
    DATASET,
    ROWS_CHECK,
    TRAILER_CHECK,
    half_month_partitions,
    late_after,
    on_schedule,
    sec_fails_to_deliver,
)
from resources.http import SourceFileMissing
from resources.lake import LakeResource
from resources.sec_fails import (
    PATH,
    FailsFileError,
    HalfMonth,
    SecFailsClient,
    half_months,
    parse_fails,
    unzip_text,
)
from resources.sectors import DEFAULT_WWW_URL
from sensors.sec_fails import evaluate
from tests.helpers import SAMPLE_ROOT, TEST_FIXTURES, Mirror, PlatformBuild, mirror_path, on_mirror, serve_all_sources
from tests.platform_build import RANGE_END, RANGE_START, rows

SAMPLE_HALVES = half_months(HalfMonth(2024, 3, "a"), HalfMonth(2024, 7, "a"))
MAY_B = HalfMonth(2024, 5, "b")
REAL = TEST_FIXTURES / "real" / "ftd"
SEPTEMBER_2020_A, JANUARY_2021_B = HalfMonth(2020, 9, "a"), HalfMonth(2021, 1, "b")
HEADER = b"SETTLEMENT DATE|CUSIP|SYMBOL|QUANTITY (FAILS)|DESCRIPTION|PRICE\n"


def sample(half: HalfMonth) -> bytes:
    return (SAMPLE_ROOT / "www.sec.gov" / PATH.format(stem=half.stem).lstrip("/")).read_bytes()


def sample_text(half: HalfMonth) -> bytes:
    return unzip_text(sample(half), half)


def zipped(half: HalfMonth, text: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{half.stem}.txt", text)
    return buffer.getvalue()


def path(half: HalfMonth) -> str:
    return mirror_path(DEFAULT_WWW_URL, PATH.format(stem=half.stem))


def client(mirror: Mirror) -> SecFailsClient:
    return on_mirror(SecFailsClient, mirror, user_agent="tickerlake tests tests@example.com", retry_attempts=2)


def cusip_is_valid(cusip: str) -> bool:
    """The CUSIP check digit, computed here on its own (the sample script has its own copy)."""
    digits = "".join(str(int(c, 36) * (2 if i % 2 else 1)) for i, c in enumerate(cusip[:8]))
    return (10 - sum(int(d) for d in digits) % 10) % 10 == int(cusip[8])


def test_half_months_are_keyed_and_named_like_sec_files() -> None:
    assert [h.key for h in SAMPLE_HALVES] == [f"2024-0{m}{h}" for m in range(3, 8) for h in "ab"][:-1]
    assert HalfMonth.from_key("2024-03b").file_name == "cnsfails202403b.zip"
    assert HalfMonth(2024, 12, "b").following() == HalfMonth(2025, 1, "a")
    assert (HalfMonth.containing(dt.date(2024, 2, 14)), HalfMonth.containing(dt.date(2024, 2, 15))) == (
        HalfMonth(2024, 2, "a"),
        HalfMonth(2024, 2, "b"),
    )
    assert HalfMonth(2024, 2, "b").last_day == dt.date(2024, 2, 29)
    assert sorted(p.name for p in (SAMPLE_ROOT / "www.sec.gov/files/data/fails-deliver-data").iterdir()) == [
        h.file_name for h in SAMPLE_HALVES
    ]
    with pytest.raises(ValueError, match="not a half-month key"):
        HalfMonth.from_key("2024-03c")


@pytest.mark.parametrize("half", SAMPLE_HALVES, ids=lambda h: h.key)
def test_every_sample_file_parses_and_reconciles(half: HalfMonth) -> None:
    parsed = parse_fails(sample_text(half), half)
    assert parsed.trailer is not None and parsed.trailer.record_count == parsed.frame.height > 0
    assert parsed.frame["quantity"].sum() == parsed.trailer.total_quantity
    assert parsed.frame["settlement_date"].is_between(half.first_day, half.last_day).all()
    assert all(map(cusip_is_valid, parsed.frame["cusip"].unique())), "real CUSIPs, and made ones check-digit valid"
    assert not parsed.rejected


def test_latin_1_descriptions_decode_and_a_dot_is_no_price() -> None:
    text = HEADER + b"20240304|F4306B102|SCGLY|1200|SOCI\xc9T\xc9 G\xc9N\xc9RALE ADR|.\n"
    row = parse_fails(text, HalfMonth(2024, 3, "a")).frame.row(0, named=True)
    assert (row["description"], row["price"], row["quantity"]) == ("SOCIÉTÉ GÉNÉRALE ADR", None, 1200)
    assert parse_fails(text.replace(b"|.\n", b"|\n"), HalfMonth(2024, 3, "a")).frame["price"].to_list() == [None]


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        (b"20240304|037833100|AAPL|12|APPLE INC\n", r"line 3: expected 6 fields"),
        (b"20240304|037833100|AAPL|1.5e3|APPLE INC|170.1\n", r"line 3: a QUANTITY \(FAILS\) that is not a whole"),
        (b"20240320|037833100|AAPL|12|APPLE INC|170.1\n", r"line 3: a settlement date outside 2024-03-01..2024-03-15"),
        (b"2024-03-04|037833100|AAPL|12|APPLE INC|170.1\n", r"line 3: a SETTLEMENT DATE that is not YYYYMMDD"),
        (b"20240304|037833100|AAPL|12|APPLE INC|n/a\n", r"line 3: a PRICE that is neither"),
    ],
)
def test_a_bad_line_is_named_with_its_file_and_number(line: bytes, problem: str) -> None:
    good = b"20240301|037833100|AAPL|10|APPLE INC|179.66\n"
    with pytest.raises(FailsFileError, match=rf"cnsfails202403a.zip {problem}"):
        parse_fails(HEADER + good + line, HalfMonth(2024, 3, "a"))


def test_a_trailer_that_does_not_reconcile_or_is_cut_is_refused() -> None:
    text = sample_text(MAY_B)
    with pytest.raises(FailsFileError, match=r"cnsfails202405b.zip: the trailer does not reconcile: it says 280 "):
        parse_fails(text.replace(b"Trailer record count 279", b"Trailer record count 280"), MAY_B)
    cut = text[: text.rindex(b"Trailer total")]
    with pytest.raises(FailsFileError, match=r"expected the two trailer lines"):
        parse_fails(cut, MAY_B)


def test_not_found_and_forbidden_mean_not_published_yet() -> None:
    july_b = HalfMonth(2024, 7, "b")
    with serve_all_sources() as mirror:
        sec = client(mirror)
        with pytest.raises(SourceFileMissing, match=r"cnsfails202407b.zip: file is missing \(HTTP 404"):
            sec.fetch_half_month(july_b)
        mirror.fail_path(path(july_b), Response(b"<Error>AccessDenied</Error>", status=403))
        with pytest.raises(SourceFileMissing, match=r"HTTP 403"):
            sec.fetch_half_month(july_b)
        assert mirror.count(path(july_b)) == 2, "a missing file is not retried"
        assert mirror.headers[-1]["User-Agent"] == "tickerlake tests tests@example.com", "SEC's declared agent"


def test_publication_is_last_modified_else_the_fetch_time() -> None:
    with serve_all_sources() as mirror:
        mirror.routes[path(MAY_B)] = lambda request: Response(
            sample(MAY_B), headers={"Last-Modified": "Fri, 14 Jun 2024 19:30:05 GMT"}
        )
        fetched = client(mirror).fetch_half_month(MAY_B)
        assert (fetched.published_at, fetched.published_from) == (
            dt.datetime(2024, 6, 14, 19, 30, 5, tzinfo=dt.UTC),
            "Last-Modified",
        )
        assert fetched.frame["published_at"].unique().to_list() == [fetched.published_at]
        may_a = HalfMonth(2024, 5, "a")
        mirror.routes[path(may_a)] = lambda request: Response(sample(may_a))
        before = dt.datetime.now(dt.UTC)
        plain = client(mirror).fetch_half_month(may_a)
        assert plain.published_from == "fetch time" and before <= plain.published_at <= dt.datetime.now(dt.UTC)


def materialize(
    mirror: Mirror, lake: LakeResource, instance: dg.DagsterInstance, first: str, last: str, allow_shrink: bool = False
) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [sec_fails_to_deliver],
        instance=instance,
        raise_on_error=False,
        resources={"lake": lake, "sec_fails": client(mirror)},
        tags={RANGE_START: first, RANGE_END: last},
        run_config={"ops": {"raw__sec_fails_to_deliver": {"config": {"allow_shrink": allow_shrink}}}},
    )


def failure(result: dg.ExecuteInProcessResult) -> str:
    return next(e for e in result.all_events if e.is_step_failure).step_failure_data.error.message


def check(result: dg.ExecuteInProcessResult, name: str) -> dg.AssetCheckEvaluation:
    return next(e for e in result.get_asset_check_evaluations() if e.check_name == name)


def test_half_months_are_replaced_whole_and_a_bad_trailer_leaves_them(lake: LakeResource) -> None:
    with serve_all_sources() as mirror, dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(half_month_partitions.name, [h.key for h in SAMPLE_HALVES])
        assert materialize(mirror, lake, instance, "2024-05a", "2024-05b").success
        stored = lake.read(DATASET)
        assert stored["half_month"].unique().sort().to_list() == ["2024-05a", "2024-05b"]
        again = materialize(mirror, lake, instance, "2024-05b", "2024-05b")
        assert again.success
        assert lake.read(DATASET).equals(stored), "a re-run gives the same rows, publication time included"

        text = sample_text(MAY_B)
        mirror.put_path(path(MAY_B), zipped(MAY_B, text.replace(b"count 279", b"count 278")))
        mismatched = materialize(mirror, lake, instance, "2024-05b", "2024-05b")
        assert not mismatched.success
        assert (
            "cnsfails202405b.zip: the trailer does not reconcile: it says 278 records and 23,738,866 shares, "
            "the file has 279 rows and 23,738,866 shares" in failure(mismatched)
        )
        assert not check(mismatched, TRAILER_CHECK).passed
        assert lake.read(DATASET).equals(stored), "nothing stored is lost"

        lines = text.split(b"\n")
        shorter = b"\n".join(lines[:100]) + b"\n"
        mirror.put_path(path(MAY_B), zipped(MAY_B, shorter))
        refused = materialize(mirror, lake, instance, "2024-05b", "2024-05b")
        assert not refused.success and "refused to replace sec_fails_to_deliver half_month=2024-05b" in failure(refused)
        assert lake.read(DATASET).equals(stored), "a file without its trailer does not shrink a half-month"
        complete = shorter + b"".join(
            f"Trailer record count 99\nTrailer total quantity of shares {q}\n".encode()
            for q in [sum(int(line.split(b"|")[3]) for line in lines[1:100])]
        )
        mirror.put_path(path(MAY_B), zipped(MAY_B, complete))
        assert materialize(mirror, lake, instance, "2024-05b", "2024-05b").success, "a complete file may shrink it"
        assert lake.read(DATASET, where={"half_month": "2024-05b"}).height == 99

        mirror.put_path(
            path(MAY_B), zipped(MAY_B, HEADER + b"Trailer record count 0\nTrailer total quantity of shares 0\n")
        )
        empty = materialize(mirror, lake, instance, "2024-05b", "2024-05b")
        assert not empty.success and not check(empty, ROWS_CHECK).passed
        assert lake.read(DATASET, where={"half_month": "2024-05b"}).height == 99


def test_both_real_files_load_and_the_missing_trailer_is_noted(lake: LakeResource) -> None:
    with serve_all_sources() as mirror, dg.instance_for_test() as instance:
        mirror.put_path(path(SEPTEMBER_2020_A), (REAL / "cnsfails202009a.zip").read_bytes())
        mirror.put_path(path(JANUARY_2021_B), zipped(JANUARY_2021_B, (REAL / "cnsfails202101b.txt").read_bytes()))
        instance.add_dynamic_partitions(
            half_month_partitions.name, [h.key for h in half_months(SEPTEMBER_2020_A, JANUARY_2021_B)]
        )
        result = materialize(mirror, lake, instance, "2020-09a", "2020-09a")
        assert result.success and check(result, TRAILER_CHECK).passed
        result = materialize(mirror, lake, instance, "2021-01b", "2021-01b")
        assert result.success and check(result, TRAILER_CHECK).passed, "a missing trailer is no error"
        metadata = result.get_asset_materialization_events()[0].materialization.metadata
        assert metadata["without_trailer"].value == ["2021-01b"]
        assert "| 2021-01b | 55,972 | none in the file |" in metadata["files"].value
        counted = (
            lake.read(DATASET).group_by("half_month").agg(pl.len(), pl.col("price").null_count()).sort("half_month")
        )
        assert counted.rows() == [("2020-09a", 43147, 462), ("2021-01b", 55972, 735)]


def test_the_sensor_adds_half_months_and_asks_for_the_due_ones(instance: dg.DagsterInstance) -> None:
    result = evaluate(instance, dt.date(2024, 7, 12))
    added = result.dynamic_partitions_requests[0].partition_keys
    assert (added[0], added[-1], len(added)) == ("2009-07a", "2024-06b", 360), "every ended half-month since 2009"
    asked = [request.partition_key for request in result.run_requests]
    assert len(asked) == 24 and asked[-1] == "2024-06a", "06b ended 06-30: it is asked for from 07-14"
    assert all(request.run_key.endswith(":2024-07-12") for request in result.run_requests), "asked again tomorrow"


def test_the_newest_half_month_is_late_a_month_and_five_days_after_it_ends() -> None:
    assert late_after(HalfMonth(2024, 5, "b")) == dt.date(2024, 7, 5)
    assert on_schedule("2024-05b", dt.date(2024, 7, 6))[0]
    assert not on_schedule("2024-05a", dt.date(2024, 7, 6))[0]
    assert not on_schedule(None, dt.date(2024, 7, 6))[0]


def test_the_mart_z_score_matches_an_independent_computation(platform_build: PlatformBuild) -> None:
    stored = pl.DataFrame(
        rows(platform_build, "SELECT symbol, settlement_date, quantity FROM raw.sec_fails_to_deliver"),
        schema=["symbol", "settlement_date", "quantity"],
        orient="row",
    )
    expected = (
        stored.group_by("symbol", "settlement_date")
        .agg(pl.col("quantity").sum().alias("fails"))
        .sort("symbol", "settlement_date")
    )
    history: dict[str, list[int]] = {}
    zscores = []
    for symbol, fails in expected.select("symbol", "fails").iter_rows():
        window = history.setdefault(symbol, [])[-20:]
        if len(window) >= 5:
            mean = sum(window) / len(window)
            sd = math.sqrt(sum((x - mean) ** 2 for x in window) / (len(window) - 1))
            zscores.append((fails - mean) / sd if sd else None)
        else:
            zscores.append(None)
        history[symbol].append(fails)
    expected = expected.with_columns(pl.Series("z", zscores, dtype=pl.Float64())).select(
        "symbol", "settlement_date", "fails", "z"
    )
    built = pl.DataFrame(
        rows(platform_build, "SELECT symbol, settlement_date, fails, fails_zscore FROM marts.fct_fails_to_deliver"),
        schema=["symbol", "settlement_date", "fails", "z"],
        orient="row",
    ).sort("symbol", "settlement_date")
    assert built.height == expected.height > 1000
    joined = built.join(expected, on=["symbol", "settlement_date"], suffix="_expected")
    assert (joined["fails"] == joined["fails_expected"]).all()
    assert (joined["z"].is_null() == joined["z_expected"].is_null()).all()
    assert ((joined["z"] - joined["z_expected"]).abs().fill_null(0) < 1e-9).all()
    assert joined["z"].max() > 3, "the made GME spike stands out"
