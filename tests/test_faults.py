"""Faults from a local server on the sources' URL layouts: each run ends in success after retries or
in a failure naming source, partition and cause, and what was stored before is left as it was."""

import datetime as dt
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
import pytest
from werkzeug import Request, Response

from assets.finra import DATASET as FINRA
from assets.finra import finra_short_volume
from assets.fx import DATASET as FX
from assets.fx import fx_rates_ecb
from assets.prices import DATASET as PRICES
from assets.prices import prices_daily
from resources.finra import FinraClient
from resources.fx import EcbClient
from resources.lake import LakeResource
from resources.prices import PricesResource
from tests.helpers import FIXTURE_DIR, SAMPLE_DIR, FinraMirror, on_mirror, serve, serve_all_sources
from tests.platform_build import RANGE_END, RANGE_START

DAY = dt.date(2024, 7, 3)
CNMS = "/equity/regsho/daily/CNMSshvol20240703.txt"
GOOD_CNMS_HEAD = b"Date|Symbol|ShortVolume|ShortExemptVolume|TotalVolume|Market\r\n20240703|AAPL|1|0|2|B,Q,N\r\n"


# name: (responses served before the real file, expected failure text or None for success)
FINRA_FAULTS: dict[str, tuple[list[Response], str | None]] = {
    "429 storm then success": ([Response("slow down", 429, {"Retry-After": "0"})] * 3, None),
    "429 storm past the attempts": (
        [Response("slow down", 429, {"Retry-After": "0"})] * 9,
        "FINRA CNMS 2024-07-03: gave up after 4 attempts, last answer HTTP 429",
    ),
    "500 then 503 then success": ([Response("boom", 500), Response("busy", 503)], None),
    "503 every time": (
        [Response("busy", 503)] * 9,
        "FINRA CNMS 2024-07-03: gave up after 4 attempts, last answer HTTP 503",
    ),
    "404 on a trading day": ([Response("no", 404)], "FINRA CNMS 2024-07-03: file is missing (HTTP 404"),
    "HTML instead of the file": (
        [Response(b"<!DOCTYPE html><html>maintenance</html>", 200)],
        "FINRA CNMS 2024-07-03 (CNMSshvol20240703.txt) line 1: unexpected header",
    ),
    "truncated mid-row": (
        [Response(GOOD_CNMS_HEAD + b"20240703|MSFT|12", 200)],
        "FINRA CNMS 2024-07-03 (CNMSshvol20240703.txt) line 3: expected 6 fields, got 3",
    ),
    "record count disagrees": (
        [Response(GOOD_CNMS_HEAD + b"7\r\n", 200)],
        "record count mismatch, trailer says 7 but the file has 1 rows",
    ),
}


class FaultyFinra(FinraMirror):
    """A FINRA mirror that can also answer slowly: `delays[path]` lists seconds to sleep per request."""

    delays: dict[str, list[float]] = {}  # noqa: RUF012 (replaced per test, never mutated in place)

    def handle(self, request: Request) -> Response:
        pending = self.delays.get(request.path)
        if pending:
            time.sleep(pending.pop(0))
        return super().handle(request)


@pytest.fixture
def finra_setup(lake: LakeResource) -> Iterator[tuple[FaultyFinra, FinraClient, LakeResource, dg.DagsterInstance]]:
    with serve(FaultyFinra) as mirror, dg.instance_for_test() as instance:
        mirror.add_tree(SAMPLE_DIR, "/equity/regsho/daily")
        mirror.add_tree(FIXTURE_DIR, "/equity/regsho/daily")
        client = FinraClient(
            base_url=mirror.base_url, retry_attempts=4, max_retry_wait_seconds=0.05, timeout_seconds=0.5
        )
        assert materialize_finra(client, lake, instance).success
        yield mirror, client, lake, instance


def materialize_finra(client: FinraClient, lake: LakeResource, instance: dg.DagsterInstance):
    return dg.materialize(
        [finra_short_volume],
        resources={"finra": client, "lake": lake},
        instance=instance,
        tags={RANGE_START: "2024-07-02", RANGE_END: "2024-07-05"},
        raise_on_error=False,
    )


def failure_text(result: dg.ExecuteInProcessResult) -> str:
    return result.get_step_failure_events()[0].step_failure_data.user_failure_data.description


@pytest.mark.parametrize("case", list(FINRA_FAULTS))
def test_finra_faults(case: str, finra_setup) -> None:
    mirror, client, lake, instance = finra_setup
    responses, expected = FINRA_FAULTS[case]
    before = lake.read(FINRA, where={"trade_date": DAY})
    mirror.fail_path(CNMS, *responses)
    result = materialize_finra(client, lake, instance)
    if expected is None:
        assert result.success
    else:
        assert not result.success
        assert expected in failure_text(result)
        assert "1 of 3 trading days failed" in failure_text(result)
    assert lake.read(FINRA, where={"trade_date": DAY}).equals(before), "same rows either way"


def failure_metadata(result: dg.ExecuteInProcessResult) -> dict[str, object]:
    data = result.get_step_failure_events()[0].step_failure_data.user_failure_data
    return {name: value.value for name, value in data.metadata.items()}


@pytest.mark.parametrize("case", ["503 every time", "HTML instead of the file"])
def test_a_failed_refetch_says_the_stored_day_is_intact(case: str, finra_setup) -> None:
    """A red partition in the UI is not lost data: the failure says how many rows stay, and from when."""
    mirror, client, lake, instance = finra_setup
    before = lake.read(FINRA, where={"trade_date": DAY}, stamps=True)
    written = before["_loaded_at"].max()
    mirror.fail_path(CNMS, *FINRA_FAULTS[case][0])
    result = materialize_finra(client, lake, instance)
    assert not result.success
    reason = FINRA_FAULTS[case][1]
    text = failure_text(result)
    line = next(line for line in text.splitlines() if line.startswith(f"FINRA {DAY}: fetch failed ("))
    assert reason in line
    assert line.endswith(
        f"); the stored partition is intact: {before.height:,} rows written {written:%Y-%m-%dT%H:%M}Z"
    ), line
    metadata = failure_metadata(result)
    assert (metadata["stored_rows"], metadata["stored_at"]) == (before.height, written.isoformat())
    assert reason in metadata["error"]
    assert lake.read(FINRA, where={"trade_date": DAY}, stamps=True).equals(before), "the stored rows are untouched"


def test_a_failed_first_fetch_says_nothing_was_stored(lake: LakeResource) -> None:
    with serve(FaultyFinra) as mirror, dg.instance_for_test() as instance:
        mirror.add_tree(SAMPLE_DIR, "/equity/regsho/daily")
        mirror.fail_path(CNMS, Response("no", 404))
        client = FinraClient(base_url=mirror.base_url, retry_attempts=1)
        result = materialize_finra(client, lake, instance)
    assert f"FINRA {DAY}: fetch failed (FINRA CNMS {DAY}: file is missing" in failure_text(result)
    assert "; nothing was stored for it" in failure_text(result)
    assert failure_metadata(result)["stored_rows"] == 0


def test_slow_answers_past_the_timeout_are_retried_then_succeed(finra_setup) -> None:
    mirror, client, lake, instance = finra_setup
    mirror.delays = {CNMS: [1.0, 1.0]}
    started = time.monotonic()
    assert materialize_finra(client, lake, instance).success
    assert mirror.count(CNMS) >= 3
    assert time.monotonic() - started < 30


def test_slow_answers_every_time_fail_naming_the_timeout(finra_setup) -> None:
    mirror, client, lake, instance = finra_setup
    mirror.delays = {CNMS: [1.0] * 10}
    result = materialize_finra(client, lake, instance)
    assert not result.success
    assert "FINRA CNMS 2024-07-03: gave up after 4 attempts, last error ReadTimeout" in failure_text(result)


@contextmanager
def resetting_server() -> Iterator[str]:
    """Accepts connections and resets them at once (RST), like a flapping load balancer."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        listener.close()


def test_connection_resets_fail_naming_the_error(lake: LakeResource) -> None:
    with resetting_server() as url, dg.instance_for_test() as instance:
        client = FinraClient(base_url=url, retry_attempts=3, max_retry_wait_seconds=0.05, timeout_seconds=1)
        result = materialize_finra(client, lake, instance)
    assert not result.success
    text = failure_text(result)
    assert "3 of 3 trading days failed" in text
    assert "FINRA CNMS 2024-07-02: gave up after 3 attempts, last error" in text
    assert lake.read(FINRA).is_empty()


def test_price_provider_faults_name_the_symbol_and_keep_its_rows(lake: LakeResource) -> None:
    with serve_all_sources() as mirror, dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("symbols", ["JPM", "KO"])
        prices = on_mirror(PricesResource, mirror, retry_attempts=2, max_retry_wait_seconds=0)

        def run() -> dg.ExecuteInProcessResult:
            return dg.materialize(
                [prices_daily],
                resources={"lake": lake, "prices": prices},
                instance=instance,
                tags={RANGE_START: "2024-07-01", RANGE_END: "2024-07-12"},
                raise_on_error=False,
            )

        assert run().success
        before = lake.read(PRICES, where={"symbol": "KO"}, stamps=True)
        chart = "/query1.finance.yahoo.com/v8/finance/chart/KO"
        mirror.fail_path(chart, Response(b"<html>Will be right back</html>", 200))
        result = run()
        assert not result.success
        assert "yahoo KO 2024-07-01..2024-07-12: fetch failed (Yahoo chart KO: not JSON" in failure_text(result)
        written = f"{before['_loaded_at'].max():%Y-%m-%dT%H:%M}Z"
        assert f"the stored partition is intact: {before.height:,} rows written {written}" in failure_text(result)
        assert failure_metadata(result)["stored_rows"] == before.height
        assert lake.read(PRICES, where={"symbol": "KO"}, stamps=True).equals(before)
        mirror.fail_path(chart, Response("busy", 503), Response("x", 429, {"Retry-After": "0"}))
        result = run()
        assert "fetch failed (Yahoo chart KO: gave up after 2 attempts, last answer HTTP 429" in failure_text(result)


def test_an_ecb_archive_that_is_not_a_zip_fails_and_keeps_the_rates(lake: LakeResource) -> None:
    with serve_all_sources() as mirror, dg.instance_for_test() as instance:
        resources = {"lake": lake, "fx": on_mirror(EcbClient, mirror, retry_attempts=1)}
        assert dg.materialize([fx_rates_ecb], resources=resources, instance=instance).success
        before = lake.read(FX, stamps=True)
        mirror.fail_path("/www.ecb.europa.eu/stats/eurofxref/eurofxref-hist.zip", Response(b"<html/>", 200))
        result = dg.materialize([fx_rates_ecb], resources=resources, instance=instance, raise_on_error=False)
    assert not result.success
    assert failure_text(result).startswith(
        "ECB eurofxref-hist: fetch failed (ECB /stats/eurofxref/eurofxref-hist.zip: not a zip"
    )
    written = f"{before['_loaded_at'].max():%Y-%m-%dT%H:%M}Z"
    assert failure_text(result).endswith(f"; the stored table is intact: {before.height:,} rows written {written}")
    assert lake.read(FX, stamps=True).equals(before)
