"""Binance order books: the depth parser on the recorded format and on broken answers, the features on a
hand-checked book, the weight budget and back-off, the snapshot asset (a minute re-run, a failing pair,
the hourly compaction) and the every-minute schedule, against the tests' mirror of /api/v3/depth."""

import datetime as dt
import gzip
import json
from collections.abc import Callable, Iterator

import dagster as dg
import polars as pl
import pytest
from werkzeug import Request, Response

from assets.binance import UNIVERSE_DATASET
from assets.binance_depth import ORDER_BOOK_DATASET, ORDER_BOOK_KEY, crypto_order_book, snapshot_minute
from assets.dbt import tickerlake_dbt_models
from resources.binance import UNIVERSE_SCHEMA
from resources.binance_depth import (
    DEPTH_LIMIT,
    BinanceDepthClient,
    Book,
    OrderBookFormatError,
    depth_weight,
    features,
    parse_depth,
)
from resources.http import SourceBanned
from resources.lake import LakeResource
from sample.binance_api import DEPTH_RECORDED_FROM, DepthReplay
from sample.make_binance_depth_sample import START as RECORDING_START
from sensors.binance_depth import JOB_NAME, crypto_order_book_schedule
from tests.helpers import BINANCE_DEPTH_PATH, SAMPLE_ROOT, Mirror, on_mirror, serve_all_sources

UTC = dt.UTC
MINUTE = dt.datetime(2025, 1, 8, 11, 0, tzinfo=UTC)
RECORDINGS = SAMPLE_ROOT / "api.binance.com" / "api" / "v3" / "depth"
SCHEDULED = ".dagster/scheduled_execution_time"


def recorded(pair: str) -> list[bytes]:
    return gzip.decompress((RECORDINGS / f"{pair}.jsonl.gz").read_bytes()).splitlines()


@pytest.fixture
def mirror() -> Iterator[Mirror]:
    with serve_all_sources() as served:
        yield served


def client(mirror: Mirror, **overrides: object) -> BinanceDepthClient:
    settings = {"retry_attempts": 3, "max_retry_wait_seconds": 0.2, "order_book_pairs": 3, **overrides}
    return on_mirror(BinanceDepthClient, mirror, **settings)


def test_the_recorded_answers_parse_as_100_sorted_levels_a_side() -> None:
    for pair in ("BTCUSDT", "ETHUSDT", "SOLUSDT"):
        answers = recorded(pair)
        assert len(answers) == 120  # 10:00..11:59
        first = json.loads(answers[0])
        assert set(first) == {"lastUpdateId", "bids", "asks"} and isinstance(first["bids"][0][0], str)
        book = parse_depth(answers[0], pair, MINUTE)
        assert len(book.bids) == len(book.asks) == DEPTH_LIMIT
        assert book.bids[0][0] < book.asks[0][0]
        ids = [json.loads(a)["lastUpdateId"] for a in answers]
        assert ids == sorted(set(ids))


def answer(bids: list, asks: list, update_id: object = 7) -> bytes:
    return json.dumps({"lastUpdateId": update_id, "bids": bids, "asks": asks}).encode()


GOOD_BIDS = [["100.00", "1.0"], ["99.50", "2.0"]]
GOOD_ASKS = [["100.10", "1.0"], ["100.60", "2.0"]]


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (answer([["100.20", "1.0"]], GOOD_ASKS), r"crossed book, best bid 100.2 >= best ask 100.1"),
        (answer([["100.10", "1.0"]], GOOD_ASKS), r"crossed book"),
        (answer([["99.50", "1.0"], ["100.00", "2.0"]], GOOD_ASKS), r"bids not strictly descending at level 2"),
        (answer(GOOD_BIDS, [["100.60", "1.0"], ["100.10", "2.0"]]), r"asks not strictly ascending at level 2"),
        (answer(GOOD_BIDS, [["100.10", "1.0"], ["100.10", "2.0"]]), r"asks not strictly ascending"),
        (answer(GOOD_BIDS, [["100.10", "0.00000000"]]), r"asks level 1 needs a positive price and quantity"),
        (answer([["-1", "1.0"]], GOOD_ASKS), r"bids level 1 needs a positive"),
        (answer(GOOD_BIDS, [[100.1, 1.0]]), r"asks level 1 is not \[\"price\", \"qty\"\]"),
        (answer(GOOD_BIDS, [["100.10"]]), r"asks level 1 is not"),
        (answer(GOOD_BIDS, [["nan", "1.0"]]), r"asks level 1 needs a positive"),
        (answer([], GOOD_ASKS), r"no bids"),
        (answer(GOOD_BIDS, GOOD_ASKS, update_id="7"), r"lastUpdateId '7' is not a non-negative integer"),
        (answer(GOOD_BIDS, GOOD_ASKS, update_id=-1), r"lastUpdateId -1"),
        (answer([[f"{100 - i}.00", "1.0"] for i in range(101)], GOOD_ASKS), r"101 bids levels, more than the 100"),
        (b"<html>Access Denied</html>", r"not JSON"),
        (b'{"code":-1121,"msg":"Invalid symbol."}', r"not a depth answer"),
        (b'{"lastUpdateId":1,"bids":{"a":1},"asks":[]}', r"bids is not an array"),
        (answer(GOOD_BIDS, [["100.10", "1.0e"]]), r"not the source's format \(ValueError"),
    ],
)
def test_broken_answers_are_refused_naming_pair_and_minute(body: bytes, says: str) -> None:
    with pytest.raises(OrderBookFormatError, match=r"^Binance depth ETHUSDT 2025-01-08 11:00: .*" + says):
        parse_depth(body, "ETHUSDT", MINUTE)


def test_features_of_a_hand_checked_book() -> None:
    book = parse_depth(
        answer(
            [["100.00", "1"], ["99.95", "2"], ["99.90", "1"], ["99.00", "3"], ["98.00", "1"], ["90.00", "10"]],
            [["100.10", "4"], ["100.15", "1"], ["100.20", "1"], ["100.50", "2"], ["101.00", "1"], ["110.00", "2"]],
        ),
        "ETHUSDT",
        MINUTE,
    )
    got = features(book)
    # mid = (100.00 + 100.10) / 2; the spread is 0.10, 9.995 bps of it.
    assert got["best_bid"] == 100.00 and got["best_ask"] == 100.10
    assert got["mid"] == pytest.approx(100.05)
    assert got["spread"] == pytest.approx(0.10)
    assert got["spread_bps"] == pytest.approx(0.10 / 100.05 * 10_000)
    # Top 5: bids 1+2+1+3+1 = 8, asks 4+1+1+2+1 = 9. Top 10 and 20 hold all six levels: 18 against 11.
    assert got["imbalance_5"] == pytest.approx((8 - 9) / 17)
    assert got["imbalance_10"] == pytest.approx((18 - 11) / 29)
    assert got["imbalance_20"] == pytest.approx((18 - 11) / 29)
    # 10 bps of 100.05 reaches down to 99.94995 (100.00 and 99.95) and up to 100.15005 (100.10 and 100.15).
    assert got["depth_bid_10bps"] == pytest.approx(100.00 * 1 + 99.95 * 2)
    assert got["depth_ask_10bps"] == pytest.approx(100.10 * 4 + 100.15 * 1)
    # 50 bps: down to 99.54975 (adds 99.90), up to 100.55025 (adds 100.20 and 100.50).
    assert got["depth_bid_50bps"] == pytest.approx(100.00 * 1 + 99.95 * 2 + 99.90 * 1)
    assert got["depth_ask_50bps"] == pytest.approx(100.10 * 4 + 100.15 + 100.20 + 100.50 * 2)
    # The last stored bid (90.00) lies 1,004.5 bps below mid, the last ask (110.00) 994.5 bps above.
    assert got["bid_reach_bps"] == pytest.approx((100.05 - 90.00) / 100.05 * 10_000)
    assert got["ask_reach_bps"] == pytest.approx((110.00 - 100.05) / 100.05 * 10_000)


def test_depth_weight_follows_binances_table() -> None:
    assert [depth_weight(n) for n in (5, 100, 101, 500, 1000, 5000)] == [5, 5, 25, 25, 50, 250]


def book_with_used_weight(used: str) -> Callable[[Request], Response]:
    body = recorded("BTCUSDT")[0]
    return lambda request: Response(body, content_type="application/json", headers={"X-MBX-USED-WEIGHT-1M": used})


@pytest.mark.parametrize(("used", "waits_expected"), [("4795", 0), ("4796", 1)])
def test_a_depth_request_counts_5_against_the_weight_budget(
    mirror: Mirror, monkeypatch: pytest.MonkeyPatch, used: str, waits_expected: int
) -> None:
    """4,795 used + 5 reaches the 4,800 budget without crossing it; 4,796 + 5 would cross it: wait."""
    waits: list[float] = []
    monkeypatch.setattr("resources.binance.time.sleep", waits.append)
    mirror.routes[BINANCE_DEPTH_PATH] = book_with_used_weight(used)
    with client(mirror).open() as session:
        session.depth("BTCUSDT", MINUTE)
        assert waits == []
        session.depth("BTCUSDT", MINUTE)
    assert len(waits) == waits_expected and all(0 < w <= 60.5 for w in waits)
    query = mirror.requests[-1].split("?")[1]
    assert sorted(query.split("&")) == ["limit=100", "symbol=BTCUSDT"]


def test_429_is_retried_after_retry_after_and_418_stops_at_once(mirror: Mirror) -> None:
    mirror.fail_path(BINANCE_DEPTH_PATH, Response("{}", status=429, headers={"Retry-After": "0"}))
    with client(mirror).open() as session:
        book, received = session.depth("BTCUSDT", MINUTE)
    assert mirror.count(BINANCE_DEPTH_PATH) == 2
    assert book.last_update_id == json.loads(recorded("BTCUSDT")[0])["lastUpdateId"]
    assert received.tzinfo is UTC
    mirror.fail_path(BINANCE_DEPTH_PATH, Response('{"code":-1003}', status=418, headers={"Retry-After": "300"}))
    with client(mirror).open() as session, pytest.raises(SourceBanned, match=r"HTTP 418\) for 300.0 s"):
        session.depth("BTCUSDT", MINUTE)
    assert mirror.count(BINANCE_DEPTH_PATH) == 3


def test_the_replay_answers_the_recording_in_order_then_holds_the_last_book() -> None:
    replay = DepthReplay()
    answers = recorded("SOLUSDT")
    got = [replay.answer({"symbol": "SOLUSDT", "limit": "100"}) for _ in range(len(answers) + 2)]
    assert [json.loads(body) for _, body, _ in got[: len(answers)]] == [json.loads(a) for a in answers]
    assert got[-1][1] == got[-2][1] == got[len(answers) - 1][1]
    status, body, _ = replay.answer({"symbol": "BTCUSDT", "limit": "5"})
    assert status == 200 and len(json.loads(body)["bids"]) == 5  # each pair has its own place in the recording
    assert json.loads(body)["lastUpdateId"] == json.loads(recorded("BTCUSDT")[0])["lastUpdateId"]
    assert replay.answer({"symbol": "DOGEUSDT"})[:2] == (400, b'{"code": -1121, "msg": "Invalid symbol."}')


def test_a_replay_can_start_at_a_later_minute_of_the_recording() -> None:
    assert DEPTH_RECORDED_FROM == RECORDING_START  # the replay and the generator agree on the first minute
    replay = DepthReplay(first_minute=dt.datetime(2025, 1, 8, 11, 45, tzinfo=UTC))
    assert json.loads(replay.answer({"symbol": "ETHUSDT"})[1]) == json.loads(recorded("ETHUSDT")[105])
    with pytest.raises(ValueError, match="starts at 2025-01-08 10:00 UTC"):
        DepthReplay(first_minute=dt.datetime(2025, 1, 8, 9, 59, tzinfo=UTC))


def test_the_snapshot_minute_is_the_schedule_tick_else_now() -> None:
    now = dt.datetime(2026, 11, 27, 8, 30, 41, 5, tzinfo=UTC)
    assert snapshot_minute({}, now) == dt.datetime(2026, 11, 27, 8, 30, tzinfo=UTC)
    assert snapshot_minute({SCHEDULED: "2025-01-08T11:07:00+00:00"}, now) == dt.datetime(2025, 1, 8, 11, 7, tzinfo=UTC)
    assert snapshot_minute({"dagster/scheduled_execution_time": "2025-01-08T12:07:00+01:00"}, now) == dt.datetime(
        2025, 1, 8, 11, 7, tzinfo=UTC
    )


def store_universe(lake: LakeResource, pairs: list[str]) -> None:
    day = dt.date(2025, 1, 8)
    rows = [(day, rank, pair, "USDT", 1e9 / rank, 1000) for rank, pair in enumerate(pairs, 1)]
    lake.replace(UNIVERSE_DATASET, pl.DataFrame(rows, schema=UNIVERSE_SCHEMA, orient="row"))


def snapshot(
    resources: dict, instance: dg.DagsterInstance, minute: dt.datetime, partition: str = "2025-01-08"
) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [crypto_order_book],
        resources=resources,
        instance=instance,
        partition_key=partition,
        tags={SCHEDULED: minute.isoformat()},
        raise_on_error=False,
    )


def stored(lake: LakeResource) -> pl.DataFrame:
    return lake.read(ORDER_BOOK_DATASET).sort("snapshot_time", "pair")


def test_a_minute_rerun_replaces_that_minute_only(mirror: Mirror, lake: LakeResource, instance) -> None:
    store_universe(lake, ["BTCUSDT", "ETHUSDT", "SOLUSDT", "DOGEUSDT"])
    resources = {"binance_depth": client(mirror), "lake": lake}
    assert snapshot(resources, instance, MINUTE).success
    assert snapshot(resources, instance, MINUTE + dt.timedelta(minutes=1)).success
    first = stored(lake)
    assert first.height == 6 and first["pair"].to_list()[:3] == ["BTCUSDT", "ETHUSDT", "SOLUSDT"]
    assert first["received_at"].min() > first["snapshot_time"].max()  # replayed today, taken for 2025
    assert snapshot(resources, instance, MINUTE).success  # the replay answers its next recorded book
    again = stored(lake)
    assert again.height == 6 and again.select("pair", "snapshot_time").equals(first.select("pair", "snapshot_time"))
    later = pl.col("snapshot_time") == MINUTE + dt.timedelta(minutes=1)
    assert again.filter(later).equals(first.filter(later))  # the day's other minute is untouched
    replaced = again.filter(pl.col("snapshot_time") == MINUTE)["last_update_id"]
    assert (replaced > first.filter(pl.col("snapshot_time") == MINUTE)["last_update_id"]).all()


def test_a_pair_binance_refuses_fails_the_run_by_name_and_the_others_are_stored(
    mirror: Mirror, lake: LakeResource, instance
) -> None:
    store_universe(lake, ["BTCUSDT", "DOGEUSDT", "ETHUSDT"])
    result = snapshot({"binance_depth": client(mirror, retry_attempts=1), "lake": lake}, instance, MINUTE)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure).step_failure_data.error.message
    assert "1 of 3 pairs failed (DOGEUSDT)" in failure and "Binance depth DOGEUSDT 2025-01-08 11:00" in failure
    assert stored(lake)["pair"].to_list() == ["BTCUSDT", "ETHUSDT"]


def test_a_run_for_another_day_than_its_minute_is_refused(mirror: Mirror, lake: LakeResource, instance) -> None:
    store_universe(lake, ["BTCUSDT"])
    result = snapshot({"binance_depth": client(mirror), "lake": lake}, instance, MINUTE, partition="2025-01-07")
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure).step_failure_data.error.message
    assert "Binance serves only the current book" in failure and "2025-01-07" in failure
    assert stored(lake).is_empty() and mirror.count(BINANCE_DEPTH_PATH) == 0


def parquet_files(lake: LakeResource) -> int:
    return len(list((lake.folder / "raw" / ORDER_BOOK_DATASET.name).glob("*.parquet")))


def test_the_hours_last_minute_moves_the_hours_snapshots_into_one_file(
    mirror: Mirror, lake: LakeResource, instance
) -> None:
    store_universe(lake, ["BTCUSDT", "ETHUSDT", "SOLUSDT"])
    resources = {"binance_depth": client(mirror), "lake": lake}
    for minute in (57, 58):
        assert snapshot(resources, instance, MINUTE.replace(hour=10, minute=minute)).success
    assert parquet_files(lake) == 0  # a minute's few rows are inlined in the catalog, not a file each
    before = stored(lake)
    assert snapshot(resources, instance, MINUTE.replace(hour=10, minute=59)).success
    assert parquet_files(lake) == 1
    after = stored(lake)
    assert after.height == 9 and after.filter(pl.col("snapshot_time").dt.minute() < 59).equals(before)


def test_the_schedule_asks_each_minute_for_its_own_day_under_a_named_job(instance: dg.DagsterInstance) -> None:
    tick = dt.datetime(2025, 1, 8, 23, 59, tzinfo=UTC)
    with dg.build_schedule_context(instance=instance, scheduled_execution_time=tick) as context:
        assert isinstance(crypto_order_book_schedule(context), dg.SkipReason)
    instance.add_dynamic_partitions("crypto_pairs", ["BTCUSDT"])
    with dg.build_schedule_context(instance=instance, scheduled_execution_time=tick) as context:
        request = crypto_order_book_schedule(context)
    assert request.partition_key == "2025-01-08" and request.run_key == "order_book:2025-01-08T23:59"
    assert crypto_order_book_schedule.job_name == JOB_NAME == "crypto_order_book_snapshot"
    assert crypto_order_book_schedule.cron_schedule == "* * * * *"


def test_rows_carry_the_books_levels_and_features(mirror: Mirror, lake: LakeResource, instance) -> None:
    store_universe(lake, ["ETHUSDT"])
    assert snapshot({"binance_depth": client(mirror), "lake": lake}, instance, MINUTE).success
    (row,) = stored(lake).to_dicts()
    book = parse_depth(recorded("ETHUSDT")[0], "ETHUSDT", MINUTE)
    assert row["bid_prices"] == [p for p, _ in book.bids] and row["ask_quantities"] == [q for _, q in book.asks]
    assert row["last_update_id"] == book.last_update_id and row["snapshot_time"] == MINUTE
    assert {k: row[k] for k in features(book)} == features(book)
    assert isinstance(book, Book)


def test_the_order_book_models_read_the_table_without_a_dbt_run_a_minute() -> None:
    """Both are views over the raw table; eager automation would start a dbt run after every minute's write."""
    staging = dg.AssetKey(["staging", "stg_binance__order_book"])
    bars = dg.AssetKey(["intermediate", "int_binance__order_book_bars"])
    conditions = tickerlake_dbt_models.automation_conditions_by_key
    assert {staging, bars} <= tickerlake_dbt_models.keys
    assert conditions.get(staging) is None and conditions.get(bars) is None
    assert conditions[dg.AssetKey(["staging", "stg_fred__series"])] is not None
    deps = tickerlake_dbt_models.asset_deps
    assert ORDER_BOOK_KEY in deps[staging] and staging in deps[bars]


def test_a_ban_stops_the_requests_at_once_and_names_every_pair_not_asked(
    mirror: Mirror, lake: LakeResource, instance
) -> None:
    store_universe(lake, ["BTCUSDT", "ETHUSDT", "SOLUSDT"])
    mirror.fail_path(BINANCE_DEPTH_PATH, Response('{"code":-1003}', status=418, headers={"Retry-After": "300"}))
    result = snapshot({"binance_depth": client(mirror), "lake": lake}, instance, MINUTE)
    assert not result.success and mirror.count(BINANCE_DEPTH_PATH) == 1
    failed = next(e for e in result.all_events if e.is_step_failure).step_failure_data.user_failure_data.metadata
    assert [line.split(":")[0] for line in failed["failed"].value] == [
        f"Binance depth {pair} 2025-01-08 11" for pair in ("BTCUSDT", "ETHUSDT", "SOLUSDT")
    ]
    assert all("HTTP 418" in line for line in failed["failed"].value)
    assert stored(lake).is_empty()


def test_a_book_whose_features_are_not_finite_is_quarantined_and_the_others_published(
    mirror: Mirror, lake: LakeResource, instance
) -> None:
    """Each level parses (positive, finite), but two of them overflow the notional within 10 bps."""
    store_universe(lake, ["BTCUSDT", "ETHUSDT"])
    huge = answer([["100.00", "1e308"], ["99.99", "1e308"]], GOOD_ASKS)
    replay = DepthReplay()
    mirror.routes[BINANCE_DEPTH_PATH] = lambda request: Response(
        huge if request.args["symbol"] == "ETHUSDT" else replay.answer(dict(request.args))[1]
    )
    result = snapshot({"binance_depth": client(mirror), "lake": lake}, instance, MINUTE)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure).step_failure_data.error.message
    assert "crypto_order_book ETHUSDT 2025-01-08 11:00: quarantined, failed features_finite" in failure
    assert stored(lake)["pair"].to_list() == ["BTCUSDT"]  # the other pair's book is published
    quarantined = lake.read(ORDER_BOOK_DATASET.quarantine)
    assert quarantined["pair"].to_list() == ["ETHUSDT"] and quarantined["_partition"][0] == "ETHUSDT 2025-01-08 11:00"
