"""Binance: archive and REST parsers on the sample's files, checksums, paging, limits, the klines
asset's backfill and top-up, the new-pair sensor and the top-up schedule, against a local mirror."""

import datetime as dt
import hashlib
import io
import zipfile
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import dagster as dg
import polars as pl
import pytest
from werkzeug import Response

import assets.binance as binance_assets
from assets.binance import (
    HISTORY_KEY,
    KLINES_DATASET,
    ROLLUPS,
    crypto_klines_1m,
    crypto_klines_history,
    crypto_universe,
    rollup,
)
from assets.partitions import crypto_days
from resources.binance import (
    BinanceClient,
    ChecksumMismatch,
    InvalidPair,
    KlinesFormatError,
    parse_klines_csv,
    unzip_single_csv,
    validate_pair,
)
from resources.http import SourceBanned, SourceError
from resources.lake import LakeResource
from sensors.backfills import RANGE_END, RANGE_START
from sensors.binance import crypto_topup_schedule, new_pairs_sensor
from tests.helpers import SAMPLE_ROOT, Mirror, on_mirror, serve_all_sources

ARCHIVES = SAMPLE_ROOT / "data.binance.vision" / "data" / "spot"
MONTHLY = "/data.binance.vision/data/spot/monthly/klines/{pair}/1m/{pair}-1m-{period}.zip"
DAILY = "/data.binance.vision/data/spot/daily/klines/{pair}/1m/{pair}-1m-{period}.zip"
UTC = dt.UTC


def sample_csv(cadence: str, pair: str, period: str) -> bytes:
    body = (ARCHIVES / cadence / "klines" / pair / "1m" / f"{pair}-1m-{period}.zip").read_bytes()
    return unzip_single_csv(body, period)


@pytest.fixture
def mirror() -> Iterator[Mirror]:
    with serve_all_sources() as served:
        yield served


def client(mirror: Mirror, **overrides: object) -> BinanceClient:
    return on_mirror(BinanceClient, mirror, retry_attempts=3, max_retry_wait_seconds=0.2, top_n=3, **overrides)


def test_archives_in_milliseconds_and_microseconds_read_as_the_same_utc_minutes() -> None:
    december = parse_klines_csv(sample_csv("monthly", "BTCUSDT", "2024-12"), "BTCUSDT", "2024-12")
    january = parse_klines_csv(sample_csv("daily", "BTCUSDT", "2025-01-01"), "BTCUSDT", "2025-01-01")
    assert (
        sample_csv("monthly", "BTCUSDT", "2024-12")[:13].isdigit()
        and sample_csv("monthly", "BTCUSDT", "2024-12")[13:14] == b","
    )  # milliseconds on file
    assert sample_csv("daily", "BTCUSDT", "2025-01-01")[16:17] == b","  # microseconds on file
    assert december.height == 31 * 1440 and january.height == 1440
    assert december["open_time"][0] == dt.datetime(2024, 12, 1, tzinfo=UTC)
    assert december["open_time"][-1] == dt.datetime(2024, 12, 31, 23, 59, tzinfo=UTC)
    assert january["open_time"][0] == dt.datetime(2025, 1, 1, tzinfo=UTC)
    assert january["close_time"][0] == dt.datetime(2025, 1, 1, 0, 0, 59, 999000, tzinfo=UTC)
    assert december["open_time"].diff().drop_nulls().unique().to_list() == [dt.timedelta(minutes=1)]


def test_a_header_row_is_tolerated_and_bad_rows_are_named() -> None:
    rows = sample_csv("daily", "SOLUSDT", "2025-01-02").split(b"\n")
    header = b"open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,x,ignore"
    assert parse_klines_csv(b"\n".join([header, *rows[:5]]), "SOLUSDT", "x").height == 5
    with pytest.raises(KlinesFormatError, match=r"SOLUSDT-x line 3: expected 12 fields, got 11"):
        parse_klines_csv(b"\n".join([rows[0], rows[1], rows[2].rsplit(b",", 1)[0]]), "SOLUSDT", "SOLUSDT-x")
    broken = rows[1].split(b",")
    broken[2] = b"abc"
    with pytest.raises(KlinesFormatError, match=r"row 2: not a valid kline"):
        parse_klines_csv(b"\n".join([rows[0], b",".join(broken)]), "SOLUSDT", "x")
    with pytest.raises(KlinesFormatError, match="appears twice"):
        parse_klines_csv(b"\n".join([rows[0], rows[0]]), "SOLUSDT", "x")


@pytest.mark.parametrize("pair", ["../../etc", "btcusdt", "BTC-USDT", "", "A" * 30, "BTC\u0130USDT"])
def test_hostile_pair_names_are_refused(pair: str) -> None:
    with pytest.raises(InvalidPair):
        validate_pair(pair)


def test_an_archive_whose_checksum_differs_is_refused(mirror: Mirror) -> None:
    path = DAILY.format(pair="SOLUSDT", period="2025-01-03")
    tampered = io.BytesIO()
    with zipfile.ZipFile(tampered, "w") as archive:
        first_rows = sample_csv("daily", "SOLUSDT", "2025-01-03").split(b"\n")[:100]
        archive.writestr("SOLUSDT-1m-2025-01-03.csv", b"\n".join(first_rows))
    mirror.put_path(path, tampered.getvalue())
    refused = pytest.raises(ChecksumMismatch, match=r"SOLUSDT-1m-2025-01-03\.zip: SHA-256")
    with client(mirror).open() as session, refused:
        session.archive("SOLUSDT", "2025-01-03")
    digest = hashlib.sha256(tampered.getvalue()).hexdigest()
    mirror.put_path(f"{path}.CHECKSUM", f"{digest}  SOLUSDT-1m-2025-01-02.zip\n".encode())
    named_elsewhere = pytest.raises(ChecksumMismatch, match=r"names 'SOLUSDT-1m-2025-01-02\.zip', not this archive")
    with client(mirror).open() as session, named_elsewhere:  # the right digest, but for another file
        session.archive("SOLUSDT", "2025-01-03")
    mirror.put_path(f"{path}.CHECKSUM", f"{digest}  SOLUSDT-1m-2025-01-03.zip\n".encode())
    with client(mirror).open() as session:
        assert session.archive("SOLUSDT", "2025-01-03").height == 100  # a matching checksum lets it through


def test_rest_klines_page_a_thousand_at_a_time_without_overlap(mirror: Mirror) -> None:
    start, end = dt.datetime(2025, 1, 7, tzinfo=UTC), dt.datetime(2025, 1, 8, 12, tzinfo=UTC)
    with client(mirror).open() as session:
        frame = session.klines("ETHUSDT", start, end)
    assert frame.height == 36 * 60
    assert frame["open_time"].is_unique().all() and frame["open_time"].is_sorted()
    pages = [r for r in mirror.requests if r.startswith("/api.binance.com/api/v3/klines")]
    assert len(pages) == 3
    starts = [int(parse_qs(urlsplit(p).query)["startTime"][0]) for p in pages]
    assert starts[1] == int((start + dt.timedelta(minutes=1000)).timestamp() * 1000)
    archived = parse_klines_csv(sample_csv("daily", "ETHUSDT", "2025-01-07"), "ETHUSDT", "x")
    assert frame.head(1440).equals(archived.select(frame.columns))  # REST and archive agree minute for minute


def test_429_waits_for_retry_after_and_418_stops_at_once(mirror: Mirror) -> None:
    path = "/api.binance.com/api/v3/klines"
    mirror.fail_path(path, Response("{}", status=429, headers={"Retry-After": "0"}))
    day = dt.datetime(2025, 1, 8, tzinfo=UTC)
    with client(mirror).open() as session:
        assert session.klines("BTCUSDT", day, day + dt.timedelta(minutes=5)).height == 5
    before = mirror.count(path)
    mirror.fail_path(path, Response('{"code":-1003}', status=418, headers={"Retry-After": "120"}))
    with client(mirror).open() as session, pytest.raises(SourceBanned, match=r"HTTP 418\) for 120.0 s"):
        session.klines("BTCUSDT", day, day + dt.timedelta(minutes=5))
    assert mirror.count(path) == before + 1  # no retry after a ban
    mirror.fail_path(path, *[Response("busy", status=503)] * 3)
    with client(mirror).open() as session, pytest.raises(SourceError, match="gave up after 3 attempts"):
        session.klines("BTCUSDT", day, day + dt.timedelta(minutes=5))


def test_the_client_waits_for_the_next_minute_before_crossing_the_weight_budget(
    mirror: Mirror, monkeypatch: pytest.MonkeyPatch
) -> None:
    waits: list[float] = []
    monkeypatch.setattr("resources.binance.time.sleep", waits.append)
    mirror.routes["/api.binance.com/api/v3/ticker/24hr"] = lambda request: Response(
        (SAMPLE_ROOT / "api.binance.com/api/v3/ticker/24hr").read_bytes(), headers={"X-MBX-USED-WEIGHT-1M": "4790"}
    )
    with client(mirror).open() as session:
        session.ranked_pairs(["USDT"], dt.date(2025, 1, 8))
        assert waits == []
        session.ranked_pairs(["USDT"], dt.date(2025, 1, 8))  # 4,790 used + 80 would cross 4,800
    assert len(waits) == 1 and 0 < waits[0] <= 60.5


def test_universe_ranks_by_quote_volume_without_stablecoins_leveraged_tokens_or_other_quotes(mirror: Mirror) -> None:
    with client(mirror).open() as session:
        ranked = session.ranked_pairs(["USDT", "BTC"], dt.date(2025, 1, 8))
    assert ranked["USDT"]["pair"].to_list() == ["BTCUSDT", "ETHUSDT", "SOLUSDT", "DOGEUSDT"]
    assert ranked["USDT"]["rank"].to_list() == [1, 2, 3, 4]
    assert ranked["BTC"]["pair"].to_list() == ["ETHBTC"]


def materialize(assets: list, resources: dict, instance: dg.DagsterInstance, tags: dict | None = None) -> None:
    result = dg.materialize(assets, resources=resources, instance=instance, tags=tags or {})
    assert result.success


def stored(lake: LakeResource, pair: str) -> pl.DataFrame:
    return lake.read(KLINES_DATASET, where={"pair": pair})


@pytest.fixture
def crypto(mirror: Mirror, lake: LakeResource, instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch):
    """The sample's universe materialized and the new-pair sensor evaluated, its partitions added, with
    the clock at 2025-01-08 12:05 (and the newest day partition that day)."""
    monkeypatch.setattr(binance_assets, "utc_now", lambda: dt.datetime(2025, 1, 8, 12, 5, 30, tzinfo=UTC))
    monkeypatch.setattr(binance_assets, "last_crypto_day", lambda: dt.date(2025, 1, 8))
    resources = {"binance": client(mirror), "lake": lake}
    materialize([crypto_universe], resources, instance)
    with dg.build_sensor_context(instance=instance, resources={"lake": lake}) as context:
        result = new_pairs_sensor(context)
    instance.add_dynamic_partitions("crypto_pairs", ["BTCUSDT", "ETHUSDT", "SOLUSDT"])
    return resources, result


def test_a_pinned_sample_dates_its_universe_on_its_last_day(
    mirror: Mirror, lake: LakeResource, instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(binance_assets, "utc_now", lambda: dt.datetime(2026, 11, 27, 9, 0, tzinfo=UTC))
    monkeypatch.setattr(binance_assets, "last_crypto_day", lambda: dt.date(2025, 1, 8))
    materialize([crypto_universe], {"binance": client(mirror), "lake": lake}, instance)
    assert lake.distinct(binance_assets.UNIVERSE_DATASET, "snapshot_date") == [dt.date(2025, 1, 8)]


def test_new_pairs_become_partitions_with_one_backfill_run_and_a_rerun_asks_for_nothing(
    crypto, instance: dg.DagsterInstance, lake: LakeResource
) -> None:
    _, result = crypto
    assert isinstance(result, dg.SensorResult)
    assert list(result.dynamic_partitions_requests[0].partition_keys) == ["BTCUSDT", "ETHUSDT", "SOLUSDT"]
    (request,) = result.run_requests
    assert request.tags[RANGE_START] == "BTCUSDT" and request.tags[RANGE_END] == "SOLUSDT"
    assert request.asset_selection == [HISTORY_KEY]
    with dg.build_sensor_context(instance=instance, resources={"lake": lake}, cursor=result.cursor) as context:
        again = new_pairs_sensor(context)
    assert isinstance(again, dg.SkipReason) and "all 3 pairs are partitions already" in again.skip_message


def day_tags(first: str, last: str) -> dict[str, str]:
    return {RANGE_START: first, RANGE_END: last}


HISTORY_TAGS = {RANGE_START: "BTCUSDT", RANGE_END: "SOLUSDT"}


def test_history_reads_archives_from_each_listing_and_a_rerun_gives_the_same_rows(
    crypto, mirror: Mirror, instance: dg.DagsterInstance, lake: LakeResource
) -> None:
    resources, _ = crypto
    materialize([crypto_klines_history], resources, instance, HISTORY_TAGS)
    assert instance.get_materialized_partitions(HISTORY_KEY) == {"BTCUSDT", "ETHUSDT", "SOLUSDT"}
    btc, eth, sol = (stored(lake, pair) for pair in ("BTCUSDT", "ETHUSDT", "SOLUSDT"))
    assert btc.height == (31 + 7) * 1440 and eth.height == (12 + 7) * 1440 and sol.height == 7 * 1440
    assert all(frame["open_time"].is_unique().all() for frame in (btc, eth, sol))
    assert eth["open_time"].min() == dt.datetime(2024, 12, 20, tzinfo=UTC)
    assert mirror.count(MONTHLY.format(pair="BTCUSDT", period="2024-12")) == 1
    assert mirror.count(DAILY.format(pair="BTCUSDT", period="2024-12-05")) == 0  # a whole month is one zip
    assert mirror.count(DAILY.format(pair="BTCUSDT", period="2024-11-30")) == 0  # before the listing
    hourly = lake.read(ROLLUPS["1h"], where={"pair": "BTCUSDT"})
    assert hourly.height == 38 * 24 and hourly["minutes"].unique().to_list() == [60]
    assert hourly.sort("open_time").equals(rollup(btc, "1h").sort("open_time"))

    before = {pair: stored(lake, pair) for pair in ("BTCUSDT", "ETHUSDT", "SOLUSDT")}
    materialize([crypto_klines_1m], resources, instance, day_tags("2024-12-30", "2025-01-02"))
    materialize([crypto_klines_history], resources, instance, HISTORY_TAGS)
    for pair, frame in before.items():
        assert stored(lake, pair).sort("open_time").equals(frame.sort("open_time"))


def test_top_up_fetches_from_the_last_stored_minute_and_keeps_only_closed_minutes(
    crypto, mirror: Mirror, instance: dg.DagsterInstance, lake: LakeResource, monkeypatch: pytest.MonkeyPatch
) -> None:
    resources, _ = crypto
    monkeypatch.setattr(binance_assets, "utc_now", lambda: dt.datetime(2025, 1, 8, 6, 0, 30, tzinfo=UTC))
    materialize([crypto_klines_1m], resources, instance, day_tags("2025-01-07", "2025-01-08"))
    first = stored(lake, "SOLUSDT")
    assert first["open_time"].max() == dt.datetime(2025, 1, 8, 5, 59, tzinfo=UTC)  # 06:00 is still open
    assert mirror.count(DAILY.format(pair="SOLUSDT", period="2025-01-08")) == 0  # the tail is REST only

    monkeypatch.setattr(binance_assets, "utc_now", lambda: dt.datetime(2025, 1, 8, 12, 5, 30, tzinfo=UTC))
    mirror.requests.clear()
    materialize([crypto_klines_1m], resources, instance, day_tags("2025-01-07", "2025-01-08"))
    topped = stored(lake, "SOLUSDT")
    assert topped.height == 1440 + 720 and topped["open_time"].is_unique().all()
    calls = [parse_qs(urlsplit(r).query) for r in mirror.requests if "klines?" in r and "SOLUSDT" in r]
    starts = sorted(int(c["startTime"][0]) for c in calls)
    assert starts[-1] == int(dt.datetime(2025, 1, 8, 6, tzinfo=UTC).timestamp() * 1000)  # after the last stored minute
    assert topped.filter(pl.col("open_time") < dt.datetime(2025, 1, 8, 6, tzinfo=UTC)).equals(first)


def test_a_failing_pair_keeps_what_was_stored_and_names_itself(
    crypto, mirror: Mirror, instance: dg.DagsterInstance, lake: LakeResource
) -> None:
    resources, _ = crypto
    materialize([crypto_klines_1m], resources, instance, day_tags("2025-01-01", "2025-01-03"))
    before = stored(lake, "SOLUSDT")
    mirror.put_path(DAILY.format(pair="SOLUSDT", period="2025-01-02") + ".CHECKSUM", b"0" * 64 + b"  x.zip\n")
    result = dg.materialize(
        [crypto_klines_1m],
        resources=resources,
        instance=instance,
        raise_on_error=False,
        tags=day_tags("2025-01-01", "2025-01-03"),
    )
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure).step_failure_data.error.message
    assert "1 of 3 pairs failed (SOLUSDT)" in failure and "SOLUSDT-1m-2025-01-02.zip" in failure
    assert stored(lake, "SOLUSDT").equals(before)
    failed = next(e for e in result.all_events if e.is_step_failure).step_failure_data.user_failure_data.metadata
    assert [line.split(":")[0] for line in failed["failed"].value] == ["Binance SOLUSDT 2025-01-01..2025-01-03"]


def test_top_up_schedule_asks_for_the_tail_of_every_pair(instance: dg.DagsterInstance) -> None:
    with dg.build_schedule_context(instance=instance, scheduled_execution_time=dt.datetime(2025, 1, 8, 12, 15)) as ctx:
        assert isinstance(crypto_topup_schedule(ctx), dg.SkipReason)
    instance.add_dynamic_partitions("crypto_pairs", ["BTCUSDT", "ETHUSDT"])
    with dg.build_schedule_context(instance=instance, scheduled_execution_time=dt.datetime(2025, 1, 8, 12, 15)) as ctx:
        request = crypto_topup_schedule(ctx)
    last = dt.date.fromisoformat(crypto_days.get_last_partition_key())
    assert request.tags[RANGE_START] == f"{last - dt.timedelta(days=1)}"
    assert request.tags[RANGE_END] == f"{last}"
