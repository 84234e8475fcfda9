"""The raw FINRA asset through Dagster: ranged runs, idempotence, failures that keep stored data."""

import datetime as dt
import hashlib

import dagster as dg

from assets.finra import ASSET_KEY, DATASET, RANGE_CHECK, UNIQUE_CHECK, finra_short_volume
from assets.partitions import trading_days
from resources.finra import FinraClient
from resources.lake import LakeResource
from tests.helpers import FinraMirror

SAMPLE_FIRST, SAMPLE_LAST = "2024-07-01", "2024-07-12"


def materialize_range(
    first: str, last: str, finra: FinraClient, lake: LakeResource, instance: dg.DagsterInstance
) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [finra_short_volume],
        resources={"finra": finra, "lake": lake},
        instance=instance,
        tags={"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last},
        raise_on_error=False,
    )


def lake_rows(lake: LakeResource) -> list[tuple]:
    return lake.read(DATASET).sort(list(DATASET.schema)).rows()


def lake_digest(lake: LakeResource) -> str:
    return hashlib.sha256(repr(lake_rows(lake)).encode()).hexdigest()


def test_holidays_and_weekends_are_not_partitions() -> None:
    keys = trading_days.get_partition_keys_in_range(dg.PartitionKeyRange("2024-07-01", "2024-07-12"))
    assert "2024-07-04" not in keys  # Independence Day
    assert "2024-07-06" not in keys and "2024-07-07" not in keys
    assert len(keys) == 9
    assert not trading_days.has_partition_key("2012-10-29")  # Hurricane Sandy closure


def test_a_range_materializes_in_one_run_with_every_day_stored(
    finra: FinraClient, lake: LakeResource, instance: dg.DagsterInstance, finra_mirror: FinraMirror
) -> None:
    result = materialize_range(SAMPLE_FIRST, SAMPLE_LAST, finra, lake, instance)
    assert result.success
    assert len(instance.get_runs()) == 1
    days = [day.isoformat() for day in lake.distinct(DATASET, "trade_date")]
    assert days == trading_days.get_partition_keys_in_range(dg.PartitionKeyRange(SAMPLE_FIRST, SAMPLE_LAST))
    assert not any(finra_mirror.requests.count(p) > 1 for p in finra_mirror.requests)
    materialized = instance.get_materialized_partitions(ASSET_KEY)
    assert len(materialized) == 9
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks == {UNIQUE_CHECK: True, RANGE_CHECK: True, "volumes_finite": True}
    metadata = result.asset_materializations_for_node("raw__finra_short_volume")[0].metadata
    assert metadata["dagster/row_count"].value == len(lake_rows(lake))


def test_rematerializing_gives_identical_rows_never_duplicates(
    finra: FinraClient, lake: LakeResource, instance: dg.DagsterInstance
) -> None:
    assert materialize_range(SAMPLE_FIRST, SAMPLE_LAST, finra, lake, instance).success
    first = lake_digest(lake)
    count = len(lake_rows(lake))
    assert materialize_range("2024-07-03", "2024-07-08", finra, lake, instance).success
    assert materialize_range(SAMPLE_FIRST, SAMPLE_LAST, finra, lake, instance).success
    assert lake_digest(lake) == first
    assert len(lake_rows(lake)) == count


def test_a_failing_day_fails_the_run_and_keeps_what_was_stored(
    finra: FinraClient, lake: LakeResource, instance: dg.DagsterInstance, finra_mirror: FinraMirror
) -> None:
    assert materialize_range(SAMPLE_FIRST, SAMPLE_LAST, finra, lake, instance).success
    before = lake.read(DATASET, where={"trade_date": dt.date(2024, 7, 3)}, stamps=True)
    finra_mirror.put(
        "CNMS",
        dt.date(2024, 7, 3),
        b"Date|Symbol|ShortVolume|ShortExemptVolume|TotalVolume|Market\r\n"
        b"20240703|AAPL|1|0|2|B,Q,N\r\n20240703|MSFT|1|0\r\n",
    )
    result = materialize_range("2024-07-02", "2024-07-05", finra, lake, instance)
    assert not result.success
    failure = result.get_step_failure_events()[0].step_failure_data.user_failure_data
    assert "1 of 3 trading days failed" in failure.description
    assert "FINRA CNMS 2024-07-03 (CNMSshvol20240703.txt) line 3: expected 6 fields, got 4" in failure.description
    assert lake.read(DATASET, where={"trade_date": dt.date(2024, 7, 3)}, stamps=True).equals(before)


def test_missing_file_on_a_trading_day_fails_the_partition(
    finra: FinraClient, lake: LakeResource, instance: dg.DagsterInstance, finra_mirror: FinraMirror
) -> None:
    finra_mirror.remove("FNRA", dt.date(2024, 7, 5))
    result = materialize_range("2024-07-05", "2024-07-05", finra, lake, instance)
    assert not result.success
    failure = result.get_step_failure_events()[0].step_failure_data.user_failure_data
    assert "FINRA FNRA 2024-07-05: file is missing (HTTP 404" in failure.description
    assert lake.read(DATASET, where={"trade_date": dt.date(2024, 7, 5)}).is_empty()


def fnsq_file(*rows: bytes, trailer: bool = True) -> bytes:
    header = b"Date|Symbol|ShortVolume|ShortExemptVolume|TotalVolume|Market"
    return b"\r\n".join([header, *rows, *([str(len(rows)).encode()] if trailer else [])]) + b"\r\n"


def test_a_day_failing_its_checks_is_quarantined_and_the_stored_day_stays(
    finra: FinraClient,
    lake: LakeResource,
    instance: dg.DagsterInstance,
    finra_mirror: FinraMirror,
) -> None:
    day = dt.date(2024, 7, 15)
    assert materialize_range("2024-07-15", "2024-07-15", finra, lake, instance).success
    before = lake.read(DATASET, where={"trade_date": day}, stamps=True)
    finra_mirror.put("FNSQ", day, fnsq_file(b"20240715|AAPL|350|5|600|Q", b"20240715|AAPL|350|5|600|Q"))
    result = materialize_range("2024-07-15", "2024-07-15", finra, lake, instance)
    assert not result.success
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert checks[UNIQUE_CHECK].passed is False and checks[RANGE_CHECK].passed is True
    assert checks[UNIQUE_CHECK].metadata["quarantined"].value == ["2024-07-15"]
    assert 'quarantine."finra_short_volume"' in checks[UNIQUE_CHECK].metadata["inspect"].value
    failure = result.get_step_failure_events()[0].step_failure_data.user_failure_data.description
    assert "FINRA 2024-07-15: quarantined, failed unique_trade_date_symbol_facility" in failure
    assert lake.read(DATASET, where={"trade_date": day}, stamps=True).equals(before), "readers still see the old day"
    quarantined = lake.read(DATASET.quarantine, where={"_partition": "2024-07-15"})
    assert quarantined.filter(facility="FNSQ")["symbol"].to_list() == ["AAPL", "AAPL"]


def test_short_volume_above_total_never_enters_the_lake(
    finra: FinraClient,
    lake: LakeResource,
    instance: dg.DagsterInstance,
    finra_mirror: FinraMirror,
) -> None:
    finra_mirror.put("FNSQ", dt.date(2024, 7, 15), fnsq_file(b"20240715|AAPL|900|0|600|Q"))
    result = materialize_range("2024-07-15", "2024-07-15", finra, lake, instance)
    failure = result.get_step_failure_events()[0].step_failure_data.user_failure_data.description
    assert "FNSQshvol20240715.txt) line 2: a ShortVolume above the TotalVolume" in failure
    assert lake.read(DATASET).is_empty()


def test_a_day_without_trailers_may_not_shrink_the_stored_day_unless_told(
    finra: FinraClient,
    lake: LakeResource,
    instance: dg.DagsterInstance,
    finra_mirror: FinraMirror,
) -> None:
    day = dt.date(2024, 7, 15)
    assert materialize_range("2024-07-15", "2024-07-15", finra, lake, instance).success
    before = lake.read(DATASET, where={"trade_date": day}, stamps=True)
    for facility in ("CNMS", "FNSQ", "FNQC", "FNYX", "FNRA", "FORF"):
        finra_mirror.put(facility, day, fnsq_file(trailer=False))  # every file empty, no trailer: truncated?
    result = materialize_range("2024-07-15", "2024-07-15", finra, lake, instance)
    failure = result.get_step_failure_events()[0].step_failure_data.user_failure_data.description
    assert "refused to replace finra_short_volume trade_date=2024-07-15 with less" in failure
    assert f"rows {before.height:,} -> 0" in failure
    assert lake.read(DATASET, where={"trade_date": day}, stamps=True).equals(before)
    restated = dg.materialize(
        [finra_short_volume],
        resources={"finra": finra, "lake": lake},
        instance=instance,
        tags={"dagster/asset_partition_range_start": "2024-07-15", "dagster/asset_partition_range_end": "2024-07-15"},
        run_config={"ops": {"raw__finra_short_volume": {"config": {"allow_shrink": True}}}},
    )
    assert restated.success and lake.read(DATASET, where={"trade_date": day}).is_empty()
