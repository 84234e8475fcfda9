"""Cboe index histories: both layouts, the flagged rows, each refusal, and the raw asset on Cboe's URL
layout (a loopback server answering /api/global/us_indices/daily_prices/<INDEX>_History.csv; never the
internet). The fixtures are a few made rows: Cboe restricts reuse of its data."""

import datetime as dt
from collections.abc import Iterator

import dagster as dg
import polars as pl
import pytest

from assets.cboe import CURRENT_CHECK, DATASET, FLAGS_CHECK, NEW_YORK, cboe_index_history, due_day
from resources.cboe import DEFAULT_INDEXES, DIRECTORY, CboeClient, CboeFileError, file_name, index_list, parse_history
from resources.http import SourceFileMissing
from resources.lake import SUPERSEDED_AT, LakeResource
from tests.helpers import Mirror, PlatformBuild, on_mirror, serve, serve_all_sources
from tests.platform_build import rows

# Made values; the OPEN of 2.58 outside LOW..HIGH is the real file's 11/08/2004 quirk, moved to the fixture's days.
VIX = (
    b"DATE,OPEN,HIGH,LOW,CLOSE\n"
    b"07/03/2024,12.200000,12.400000,12.000000,12.090000\n"
    b"07/05/2024,2.580000,12.600000,12.300000,12.480000\n"
    b"07/08/2024,12.500000,12.800000,12.300000,12.370000\n"
)
VVIX = b"DATE,VVIX\n07/03/2024,80.120000\n07/05/2024,82.450000\n07/08/2024,81.900000\n"


def test_the_ohlc_layout_flags_an_open_outside_low_high() -> None:
    frame = parse_history(VIX, "VIX")
    assert dict(frame.schema) == dict(DATASET.schema)
    assert frame.select("trade_date", "open", "close", "open_outside_range", "close_outside_range").rows() == [
        (dt.date(2024, 7, 3), 12.2, 12.09, False, False),
        (dt.date(2024, 7, 5), 2.58, 12.48, True, False),
        (dt.date(2024, 7, 8), 12.5, 12.37, False, False),
    ]


def test_the_close_only_layout_has_no_open_high_low_and_no_flags() -> None:
    frame = parse_history(b"\xef\xbb\xbf" + VVIX.replace(b"\n", b"\r\n"), "VVIX")
    assert frame.rows()[:2] == [
        ("VVIX", dt.date(2024, 7, 3), None, None, None, 80.12, False, False),
        ("VVIX", dt.date(2024, 7, 5), None, None, None, 82.45, False, False),
    ]


def test_cboes_real_quirk_row_is_kept_and_flagged() -> None:
    """11/08/2004 as the real VIX file has it: OPEN 2.58 in a day that traded in the 14s and 15s (HIGH, LOW
    and CLOSE made here)."""
    body = b"DATE,OPEN,HIGH,LOW,CLOSE\n11/08/2004,2.580000,15.120000,14.390000,14.830000\n"
    assert parse_history(body, "VIX").select("trade_date", "open", "open_outside_range").rows() == [
        (dt.date(2004, 11, 8), 2.58, True)
    ]


def test_a_close_outside_the_range_is_flagged_and_rows_come_out_oldest_first() -> None:
    body = b"DATE,OPEN,HIGH,LOW,CLOSE\n1/3/1990,18,19,17,20\n01/02/1990,17.24,17.24,17.24,17.24\n"
    frame = parse_history(body, "VIX")
    assert frame["trade_date"].to_list() == [dt.date(1990, 1, 2), dt.date(1990, 1, 3)], "unpadded dates read too"
    assert frame["close_outside_range"].to_list() == [False, True]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<!DOCTYPE html><html>Access Denied</html>\n", r"Cboe VIX \(VIX_History.csv\) line 1: unexpected header"),
        (b"DATE,VIX9D\n07/03/2024,14.5\n", r"Cboe VIX \(VIX_History.csv\) line 1: unexpected header 'DATE,VIX9D'"),
        (b"Date,Open,High,Low,Close,Volume\n", r"line 1: unexpected header"),
        (b"DATE,OPEN,HIGH,LOW,CLOSE\n", r"Cboe VIX \(VIX_History.csv\): no rows after the header"),
        (VIX + b"2024-07-09,1,2,1,1\n", r"Cboe VIX \(VIX_History.csv\) line 5: a date that is not MM/DD/YYYY"),
        (VIX + b"02/30/2025,1,2,1,1\n", r"line 5: a date that is not MM/DD/YYYY"),
        (VIX.replace(b"12.600000", b"n/a"), r"Cboe VIX \(VIX_History.csv\) line 3: a value that is not a finite"),
        (VIX.replace(b"12.600000", b""), r"line 3: a value that is not a finite number"),
        (VIX.replace(b"12.600000", b"inf"), r"line 3: a value that is not a finite number"),
        (VIX.replace(b"12.090000", b"1e3"), r"line 2: a value that is not a finite number"),
        (VIX + b"07/09/2024,1,2,1\n", r"line 5: expected 5 fields \(DATE, OPEN, HIGH, LOW, CLOSE\)"),
        (VIX + b"\n07/09/2024,1,2,1,1\n", r"line 5: expected 5 fields"),
        (VIX + b"07/05/2024,1,2,1,1\n", r"Cboe VIX \(VIX_History.csv\) line 3: a date listed twice"),
        (b"\xff\xfe\x00D", r"Cboe VIX \(VIX_History.csv\): not the source's format \(UnicodeDecodeError"),
    ],
)
def test_a_file_that_is_not_the_index_is_refused_naming_index_file_and_line(body: bytes, message: str) -> None:
    with pytest.raises(CboeFileError, match=message):
        parse_history(body, "VIX")


def test_the_index_setting_is_read_once_each_upper_cased_and_safe_for_a_path() -> None:
    assert index_list(" vix, VVIX,,VIX ,vix9d") == ["VIX", "VVIX", "VIX9D"]
    with pytest.raises(ValueError, match="letters and digits"):
        index_list("VIX,../secret")


@pytest.mark.parametrize(
    ("now", "due"),
    [
        (dt.datetime(2024, 7, 8, 18, 30), dt.date(2024, 7, 5)),  # Monday's run: Monday's row may not be out yet
        (dt.datetime(2024, 7, 9, 7, 59), dt.date(2024, 7, 5)),
        (dt.datetime(2024, 7, 9, 8, 0), dt.date(2024, 7, 8)),  # by Tuesday morning, Monday's is due
        (dt.datetime(2024, 7, 6, 12, 0), dt.date(2024, 7, 5)),
        (dt.datetime(2024, 7, 5, 9, 0), dt.date(2024, 7, 3)),  # July 4th is no trading day
    ],
)
def test_a_trading_days_row_is_due_by_eight_the_next_morning(
    now: dt.datetime, due: dt.date, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TICKERLAKE_END_DATE", raising=False)
    assert due_day(now.replace(tzinfo=NEW_YORK)) == due


def test_a_pinned_end_date_stops_the_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TICKERLAKE_END_DATE", "2024-07-12")
    assert due_day(dt.datetime(2026, 1, 1, tzinfo=dt.UTC)) == dt.date(2024, 7, 12)


class CboeMirror(Mirror):
    """cdn.cboe.com's layout: one static file per index."""

    def put(self, index: str, body: bytes) -> None:
        self.put_path(f"{DIRECTORY}/{file_name(index)}", body)


@pytest.fixture
def cboe_mirror(monkeypatch: pytest.MonkeyPatch) -> Iterator[CboeMirror]:
    monkeypatch.setenv("TICKERLAKE_END_DATE", "2024-07-08")  # the fixtures' last day is the due one
    with serve(CboeMirror) as mirror:
        mirror.put("VIX", VIX)
        mirror.put("VVIX", VVIX)
        yield mirror


def client(mirror: Mirror, indexes: str = "VIX,VVIX") -> CboeClient:
    return CboeClient(base_url=mirror.base_url, indexes=indexes, retry_attempts=1)


def test_the_client_asks_for_the_index_file_on_cboes_path(cboe_mirror: CboeMirror) -> None:
    assert client(cboe_mirror).fetch_index("VVIX").height == 3
    assert cboe_mirror.requests == ["/api/global/us_indices/daily_prices/VVIX_History.csv"]
    with pytest.raises(SourceFileMissing, match="Cboe NOSUCH"):
        client(cboe_mirror).fetch_index("NOSUCH")


def materialize(
    lake: LakeResource, cboe: CboeClient, instance: dg.DagsterInstance, **config: bool
) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [cboe_index_history],
        resources={"lake": lake, "cboe": cboe},
        instance=instance,
        raise_on_error=False,
        run_config={"ops": {"raw__cboe_index_history": {"config": config}}},
    )


def failure(result: dg.ExecuteInProcessResult) -> str:
    return next(e for e in result.all_events if e.is_step_failure).step_failure_data.error.message


def checks(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def test_a_rerun_stores_the_same_rows_and_flags_only_new_rows(lake: LakeResource, cboe_mirror: CboeMirror) -> None:
    with dg.instance_for_test() as instance:
        first = materialize(lake, client(cboe_mirror), instance)
        assert first.success
        stored = lake.read(DATASET, stamps=True)
        assert stored.height == 6 and stored["open"].null_count() == 3
        flags = checks(first)[FLAGS_CHECK]
        assert not flags.passed and flags.severity == dg.AssetCheckSeverity.WARN, "a new flagged row warns"
        assert "2024-07-05" in flags.metadata["new"].value and flags.metadata["flagged_rows"].value == {"VIX": 1}
        assert checks(first)[CURRENT_CHECK].passed

        again = materialize(lake, client(cboe_mirror), instance)
        assert again.success and checks(again)[FLAGS_CHECK].passed, "a flagged row already stored does not warn"
        assert lake.read(DATASET, stamps=True).equals(stored), "same rows, same write times"
        assert lake.read(DATASET.history).is_empty()


def test_a_revised_row_replaces_the_stored_one_and_the_old_value_stays_in_history(
    lake: LakeResource, cboe_mirror: CboeMirror
) -> None:
    with dg.instance_for_test() as instance:
        assert materialize(lake, client(cboe_mirror), instance).success
        cboe_mirror.put("VIX", VIX.replace(b"12.090000\n", b"12.110000\n"))
        assert materialize(lake, client(cboe_mirror), instance).success
        assert lake.read(DATASET, where={"index_symbol": "VIX"})["close"].to_list() == [12.11, 12.48, 12.37]
        history = lake.read(DATASET.history)
        assert history.select("index_symbol", "trade_date", "close").rows() == [("VIX", dt.date(2024, 7, 3), 12.09)]
        assert history[SUPERSEDED_AT].null_count() == 0


def test_a_shorter_file_is_refused_per_index_and_the_stored_rows_stay(
    lake: LakeResource, cboe_mirror: CboeMirror
) -> None:
    with dg.instance_for_test() as instance:
        assert materialize(lake, client(cboe_mirror), instance).success
        stored = lake.read(DATASET)
        cboe_mirror.put("VIX", b"\n".join(VIX.split(b"\n")[:3]) + b"\n")  # 07/08/2024 cut off
        cboe_mirror.put("VVIX", VVIX + b"07/09/2024,85.000000\n")
        shrunk = materialize(lake, client(cboe_mirror), instance)
        assert not shrunk.success
        assert "cboe_index_history index_symbol=VIX" in failure(shrunk) and "2024-07-08" in failure(shrunk)
        assert lake.read(DATASET, where={"index_symbol": "VIX"}).equals(stored.filter(pl.col("index_symbol") == "VIX"))
        assert lake.read(DATASET, where={"index_symbol": "VVIX"}).height == 4, "the other index lands"

        assert materialize(lake, client(cboe_mirror), instance, allow_shrink=True).success
        assert lake.read(DATASET, where={"index_symbol": "VIX"}).height == 2


def test_a_malformed_file_stores_nothing_of_its_index_and_names_the_line(
    lake: LakeResource, cboe_mirror: CboeMirror
) -> None:
    cboe_mirror.put("VIX", VIX + b"07/09/2024,15.1,15.4,14.9,x\n")
    with dg.instance_for_test() as instance:
        result = materialize(lake, client(cboe_mirror), instance)
        assert not result.success
        assert "Cboe VIX (VIX_History.csv) line 5: a value that is not a finite number" in failure(result)
        assert "nothing was stored for it" in failure(result)
        assert lake.read(DATASET)["index_symbol"].unique().to_list() == ["VVIX"]


def test_an_index_cboe_does_not_have_fails_the_run_and_the_others_land(
    lake: LakeResource, cboe_mirror: CboeMirror
) -> None:
    with dg.instance_for_test() as instance:
        result = materialize(lake, client(cboe_mirror, "VIX,NOSUCH,VVIX"), instance)
        assert not result.success and "Cboe NOSUCH" in failure(result)
        assert sorted(lake.read(DATASET)["index_symbol"].unique()) == ["VIX", "VVIX"]
        current = checks(result)[CURRENT_CHECK]
        assert not current.passed and current.metadata["behind"].value == {"NOSUCH": "no rows"}


def test_an_index_behind_the_due_day_warns(
    lake: LakeResource, cboe_mirror: CboeMirror, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TICKERLAKE_END_DATE", "2024-07-09")
    with dg.instance_for_test() as instance:
        result = materialize(lake, client(cboe_mirror), instance)
        current = checks(result)[CURRENT_CHECK]
        assert result.success and not current.passed, "a warning: what was fetched is stored"
        assert current.metadata["due_day"].value == "2024-07-09"
        assert current.metadata["behind"].value == {"VIX": "2024-07-08", "VVIX": "2024-07-08"}


def test_the_sample_answers_every_default_index_on_cboes_url() -> None:
    with serve_all_sources() as mirror:
        cboe = on_mirror(CboeClient, mirror, retry_attempts=1)
        assert cboe.base_url == f"{mirror.base_url}/cdn.cboe.com"
        for index in cboe.index_symbols:
            frame = cboe.fetch_index(index)
            assert frame["trade_date"].min() == dt.date(2023, 1, 3)
            assert frame["trade_date"].max() == dt.date(2025, 1, 10)
            assert (frame["open"].null_count() == frame.height) == (index == "VVIX")
            flagged = frame.filter(pl.col("open_outside_range"))["trade_date"].to_list()
            assert flagged == ([dt.date(2024, 5, 8)] if index == "VIX" else [])


def test_the_staging_view_and_the_daily_closes(platform_build: PlatformBuild) -> None:
    counted = rows(
        platform_build,
        "SELECT index_symbol, count(*), min(trade_date), max(trade_date) FROM staging.stg_cboe__index_history "
        "GROUP BY index_symbol ORDER BY index_symbol",
    )
    indexes = sorted(index_list(DEFAULT_INDEXES))
    assert counted == [(index, 508, dt.date(2023, 1, 3), dt.date(2025, 1, 10)) for index in indexes]
    published = rows(
        platform_build,
        "SELECT trade_date, available_from FROM staging.stg_cboe__index_history "
        "WHERE index_symbol = 'VIX' AND trade_date IN (?, ?) ORDER BY trade_date",
        dt.date(2024, 1, 5),
        dt.date(2024, 7, 5),
    )
    assert [(day, stamp.astimezone(dt.UTC).time()) for day, stamp in published] == [
        (dt.date(2024, 1, 5), dt.time(21, 15)),  # 16:15 EST
        (dt.date(2024, 7, 5), dt.time(20, 15)),  # 16:15 EDT
    ]
    day = rows(
        platform_build,
        "SELECT vix_close, vix3m_close, vix_vix3m_ratio, vvix_close FROM intermediate.int_cboe__volatility_daily "
        "WHERE trade_date = ?",
        dt.date(2024, 5, 8),
    )
    [(vix, vix3m, ratio, vvix)] = day
    assert ratio == pytest.approx(vix / vix3m) and vvix > 0
