"""FRED series: both CSV layouts, missing values, each refusal, and the raw asset on FRED's URL layout
(a loopback server answering /graph/fredgraph.csv?id=; never the internet)."""

import datetime as dt
from collections.abc import Iterator

import dagster as dg
import pytest
from werkzeug import Request, Response

from assets.fred import DATASET, fred_series
from resources.fred import DEFAULT_SERIES, PATH, FredClient, FredFileError, parse_series, series_list
from resources.http import SourceFileMissing
from resources.lake import LakeResource
from tests.helpers import FRED_GRAPH_PATH, Mirror, PlatformBuild, on_mirror, serve, serve_all_sources
from tests.platform_build import rows

OLD = b"DATE,DGS10\n2024-07-03,4.36\n2024-07-04,.\n2024-07-05,4.28\n"
NEW = b"observation_date,UNRATE\n2025-09-01,4.4\n2025-10-01,\n2025-11-01,4.5\n"


def test_the_old_layout_reads_dot_as_missing() -> None:
    frame = parse_series(OLD, "DGS10")
    assert frame.rows() == [
        ("DGS10", dt.date(2024, 7, 3), 4.36),
        ("DGS10", dt.date(2024, 7, 4), None),
        ("DGS10", dt.date(2024, 7, 5), 4.28),
    ]
    assert dict(frame.schema) == dict(DATASET.schema)


def test_the_new_layout_reads_empty_as_missing_and_crlf_alike() -> None:
    frame = parse_series(NEW.replace(b"\n", b"\r\n"), "UNRATE")
    assert frame["value"].to_list() == [4.4, None, 4.5]
    assert frame["observation_date"].to_list() == [dt.date(2025, 9, 1), dt.date(2025, 10, 1), dt.date(2025, 11, 1)]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"observation_date,DGS2\n2024-07-03,4.7\n", r"FRED DGS10 line 1: the header names series 'DGS2', not 'DGS10'"),
        (b"<!DOCTYPE html><html>Error</html>\n", r"FRED DGS10 line 1: unexpected header"),
        (b"DATE,DGS10\n2024-07-03,4.36\n07/05/2024,4.28\n", r"FRED DGS10 line 3: a date that is not YYYY-MM-DD"),
        (b"DATE,DGS10\n2024-02-30,4.36\n", r"FRED DGS10 line 2: a date that is not YYYY-MM-DD"),
        (b"DATE,DGS10\n2024-07-03,4.36\n2024-07-05,n/a\n", r"FRED DGS10 line 3: a value that is neither"),
        (b"DATE,DGS10\n2024-07-03,inf\n", r"FRED DGS10 line 2: a value that is neither"),
        (b"DATE,DGS10\n2024-07-03,4.36,x\n", r"FRED DGS10 line 2: expected two fields"),
        (b"DATE,DGS10\n2024-07-03,4.36\n2024-07-03,4.37\n", r"FRED DGS10 line 2: a date listed twice"),
    ],
)
def test_a_file_that_is_not_the_series_is_refused_naming_series_and_line(body: bytes, message: str) -> None:
    with pytest.raises(FredFileError, match=message):
        parse_series(body, "DGS10")


def test_the_series_setting_is_read_once_each_upper_cased() -> None:
    assert series_list(" dgs10, UNRATE,,DGS10 ") == ["DGS10", "UNRATE"]


class FredMirror(Mirror):
    """FRED's download on its URL: one path, the series in the query; `series` holds each id's body."""

    series: dict[str, bytes]

    def answer(self, request: Request) -> Response:
        body = self.series.get(request.args.get("id", ""))
        if body is None:
            return Response("<html>Not Found</html>", status=404, content_type="text/html")
        return Response(body, status=200, content_type="text/csv")


@pytest.fixture
def fred_mirror() -> Iterator[FredMirror]:
    with serve(FredMirror) as mirror:
        mirror.series = {"DGS10": OLD, "UNRATE": NEW}
        mirror.routes[PATH] = mirror.answer
        yield mirror


def client(mirror: Mirror, series: str = "DGS10,UNRATE") -> FredClient:
    return FredClient(base_url=mirror.base_url, series=series, retry_attempts=1)


def test_the_client_asks_fredgraph_with_the_series_in_the_query(fred_mirror: FredMirror) -> None:
    assert client(fred_mirror).fetch_series("UNRATE")["value"].null_count() == 1
    assert fred_mirror.requests == ["/graph/fredgraph.csv?id=UNRATE"]
    with pytest.raises(SourceFileMissing, match="FRED NOSUCH"):
        client(fred_mirror).fetch_series("NOSUCH")


def materialize(
    lake: LakeResource, fred: FredClient, instance: dg.DagsterInstance, **config: bool
) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [fred_series],
        resources={"lake": lake, "fred": fred},
        instance=instance,
        raise_on_error=False,
        run_config={"ops": {"raw__fred_series": {"config": config}}},
    )


def failure(result: dg.ExecuteInProcessResult) -> str:
    return next(e for e in result.all_events if e.is_step_failure).step_failure_data.error.message


def test_a_rerun_stores_the_same_rows_and_a_shrink_is_refused(lake: LakeResource, fred_mirror: FredMirror) -> None:
    with dg.instance_for_test() as instance:
        assert materialize(lake, client(fred_mirror), instance).success
        stored = lake.read(DATASET)
        assert stored.height == 6 and stored["value"].null_count() == 2
        assert materialize(lake, client(fred_mirror), instance).success
        assert lake.read(DATASET).equals(stored), "a re-run over the same answers stores the same rows"

        fred_mirror.series["DGS10"] = b"DATE,DGS10\n2024-07-03,4.36\n2024-07-05,4.30\n"
        shrunk = materialize(lake, client(fred_mirror), instance)
        assert not shrunk.success and "fred_series" in failure(shrunk) and "2024-07-04" in failure(shrunk)
        assert lake.read(DATASET).equals(stored), "the refused series keeps its stored rows"

        assert materialize(lake, client(fred_mirror), instance, allow_shrink=True).success
        dgs10 = lake.read(DATASET, where={"series_id": "DGS10"})
        assert dgs10["value"].to_list() == [4.36, 4.30]


def test_a_series_fred_does_not_have_fails_the_run_and_the_others_land(
    lake: LakeResource, fred_mirror: FredMirror
) -> None:
    with dg.instance_for_test() as instance:
        result = materialize(lake, client(fred_mirror, "DGS10,NOSUCH,UNRATE"), instance)
        assert not result.success and "FRED NOSUCH" in failure(result)
        assert sorted(lake.read(DATASET)["series_id"].unique()) == ["DGS10", "UNRATE"]


def test_the_sample_answers_every_default_series_on_freds_url() -> None:
    with serve_all_sources() as mirror:
        fred = on_mirror(FredClient, mirror, retry_attempts=1)
        assert fred.base_url == f"{mirror.base_url}{FRED_GRAPH_PATH.removesuffix(PATH)}"
        for series_id in fred.series_ids:
            frame = fred.fetch_series(series_id)
            assert frame["observation_date"].min() <= dt.date(2023, 1, 31) < dt.date(2024, 3, 1)
            assert frame["observation_date"].max() <= dt.date(2025, 1, 10)
        assert mirror.count(FRED_GRAPH_PATH) == len(fred.series_ids)


def test_the_staging_view_holds_the_samples_series(platform_build: PlatformBuild) -> None:
    counted = rows(
        platform_build,
        "SELECT series_id, count(*), count(value), min(observation_date) FROM staging.stg_fred__series "
        "GROUP BY series_id ORDER BY series_id",
    )
    assert [series_id for series_id, *_ in counted] == sorted(series_list(DEFAULT_SERIES))
    assert all(first <= dt.date(2023, 1, 7) for *_, first in counted), "history from before the sample's days"
    independence_day = rows(
        platform_build,
        "SELECT value FROM staging.stg_fred__series WHERE series_id = 'DGS10' AND observation_date = ?",
        dt.date(2024, 7, 4),
    )
    assert independence_day == [(None,)], "a holiday is a dated row without a value"


def test_no_observation_is_public_before_its_period_ends(platform_build: PlatformBuild) -> None:
    """Every value becomes usable after the day it is about; a monthly one weeks after its month."""
    early = rows(
        platform_build,
        "SELECT count(*) FROM intermediate.int_fred__series_known "
        "WHERE (available_from AT TIME ZONE 'America/New_York')::date <= observation_date",
    )
    assert early == [(0,)]
    (unrate_may,) = rows(
        platform_build,
        "SELECT available_from AT TIME ZONE 'America/New_York' FROM intermediate.int_fred__series_known "
        "WHERE series_id = 'UNRATE' AND observation_date = DATE '2024-05-01'",
    )
    assert unrate_may == (dt.datetime(2024, 6, 12, 8, 30),)
