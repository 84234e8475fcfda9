"""The code location as the UI and the CLI load it, and the daily schedule's ticks."""

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from assets import partitions
from assets.dbt import dbt_project, tickerlake_dbt_models
from assets.finra import finra_short_volume
from assets.prices import prices_daily
from resources.dbt_cli import DbtCli
from resources.finra import FinraClient
from resources.lake import LocalLake
from resources.settings import dbt_executable
from sensors.schedules import daily_schedules, refetch_window
from tests.helpers import FETCHING, ROOT, RUNNING, load_definitions

NEW_YORK = ZoneInfo("America/New_York")


def test_workspace_yaml_loads_the_definitions(tmp_path: Path) -> None:
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path)}
    dagster = Path(sys.executable).parent / "dagster"
    completed = subprocess.run(
        [str(dagster), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "Validation successful" in completed.stdout + completed.stderr


def test_loading_the_definitions_imports_no_model_library() -> None:
    """Every run process and the code server load the definitions; torch and scikit-learn (about 2 s)
    load only where a model is trained or predicts."""
    check = (
        "import sys; sys.path.insert(0, 'platform'); import definitions; "
        "print(sorted({'torch', 'sklearn'} & set(sys.modules)))"
    )
    completed = subprocess.run([sys.executable, "-c", check], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert completed.stdout.strip().splitlines()[-1] == "[]"


def _definitions() -> dg.Definitions:
    return load_definitions().defs


def test_definitions_hold_the_graph_and_dbt_lineage() -> None:
    defs = _definitions()
    graph = defs.resolve_asset_graph()
    raw = dg.AssetKey(["raw", "finra_short_volume"])
    staging = dg.AssetKey(["staging", "stg_finra__short_volume"])
    mart = dg.AssetKey(["marts", "fct_short_volume_daily"])
    assert graph.get(staging).parent_keys == {raw}
    assert graph.get(mart).parent_keys == {staging}
    prices = graph.get(dg.AssetKey(["marts", "fct_prices_daily"]))
    assert dg.AssetKey(["intermediate", "int_fx__usd_per_unit"]) in prices.parent_keys
    symbols = graph.get(dg.AssetKey(["marts", "dim_symbols"]))
    finra_symbols = dg.AssetKey(["intermediate", "int_finra__symbols"])
    assert {finra_symbols, dg.AssetKey(["reference", "ff12_sic_ranges"])} <= symbols.parent_keys
    assert graph.get(finra_symbols).parent_keys == {mart}
    assert graph.get(mart).automation_condition is not None, "dbt models follow the raw runs by themselves"
    stg_prices = graph.get(dg.AssetKey(["staging", "stg_prices__daily"]))
    writers = {
        "prices_daily",
        "prices_history",
        *(f"prices_daily_{mic}" for mic in ("xlon", "xetr", "xtks", "xhkg", "xtse")),
    }
    assert stg_prices.parent_keys == {dg.AssetKey(["raw", name]) for name in writers}, (
        "every writer of raw.prices_daily"
    )
    multi = [
        a.key.to_user_string()
        for a in defs.assets
        if isinstance(getattr(a, "partitions_def", None), dg.MultiPartitionsDefinition)
    ]
    assert multi == [], "partition keys grow with symbols plus days, never symbols times days"


def _tick(when: dt.datetime, symbols: list[str] = ()) -> list[dg.RunRequest | dg.SkipReason]:
    with dg.instance_for_test() as instance:
        if symbols:
            instance.add_dynamic_partitions("symbols", list(symbols))
        context = dg.build_schedule_context(instance=instance, scheduled_execution_time=when)
        return [schedule(context) for schedule in daily_schedules]


def test_schedules_skip_a_holiday() -> None:
    results = _tick(dt.datetime(2024, 7, 4, 18, 30, tzinfo=NEW_YORK), ["AAPL"])
    assert all(isinstance(r, dg.SkipReason) for r in results)
    assert "2024-07-04 is not a trading day" in results[0].skip_message


def test_schedules_ask_for_the_market_refetch_and_reference_data() -> None:
    market, reference = _tick(dt.datetime(2024, 7, 8, 18, 30, tzinfo=NEW_YORK), ["AAPL", "MSFT", "KO"])
    assert (market.tags["dagster/asset_partition_range_start"], market.tags["dagster/asset_partition_range_end"]) == (
        "2024-07-01",
        "2024-07-08",
    )
    assert "dagster/asset_partition_range_start" not in reference.tags
    assert [r.run_key for r in (market, reference)] == ["daily:2024-07-08:market", "daily:2024-07-08:reference"]
    assert [s.job_name for s in daily_schedules] == ["market_daily", "reference_daily"]
    market = {
        key.to_user_string() for key in _definitions().resolve_job_def("market_daily").asset_layer.executable_asset_keys
    }
    raw = {"raw/finra_short_volume", "raw/prices_daily", "raw/cboe_index_history"}  # Cboe: fetched whole
    assert raw < market
    assert {"marts/fct_short_volume_daily", "marts/fct_prices_daily", "marts/fct_returns"} < market, "dbt in the run"
    assert "raw/symbol_directory" not in market, "reference data has its own run"
    assert "marts/fct_features_equity_daily" not in market, "it reads the equity indicators, built in Python after"
    assert "equities/equity_indicators" not in market


@pytest.mark.parametrize(("today", "first"), [("2024-07-05", "2024-06-28"), ("2024-01-02", "2023-12-26")])
def test_refetch_window_counts_trading_days_across_holidays(today: str, first: str) -> None:
    assert refetch_window(dt.date.fromisoformat(today)) == (dt.date.fromisoformat(first), dt.date.fromisoformat(today))


def test_dbt_models_are_requested_after_a_raw_partition_lands() -> None:
    defs = dg.Definitions(
        assets=[finra_short_volume, tickerlake_dbt_models],
        resources={
            "finra": FinraClient(),
            "lake": LocalLake(),
            "dbt": DbtCli(project_dir=dbt_project, dbt_executable=dbt_executable()),
        },
    )
    with dg.instance_for_test() as instance:
        first = dg.evaluate_automation_conditions(defs=defs, instance=instance)
        instance.report_runless_asset_event(
            dg.AssetMaterialization(dg.AssetKey(["raw", "finra_short_volume"]), partition="2024-07-12")
        )
        second = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=first.cursor)
    requested = {r.key.to_user_string() for r in second.results if r.true_subset.size}
    assert {"staging/stg_finra__short_volume", "marts/fct_short_volume_daily"} <= requested
    assert "marts/fct_prices_daily" not in requested, "only what is downstream of the update"


def test_only_the_dbt_step_holds_the_duckdb_pool() -> None:
    assert tickerlake_dbt_models.op.pool == "duckdb"
    assert finra_short_volume.op.pool is None and prices_daily.op.pool is None


def test_the_calendar_reaches_back_to_a_start_older_than_twenty_years(monkeypatch: pytest.MonkeyPatch) -> None:
    """exchange_calendars builds 20 years unless told: 2001's closures after 9/11 must still not be partitions."""
    monkeypatch.setenv("TICKERLAKE_START_DATE", "2001-01-02")
    partitions.calendar.cache_clear()
    try:
        assert partitions.calendar().first_session.date() <= dt.date(2001, 1, 2)
        keys = partitions.trading_days_partitions().get_partition_keys_in_range(
            dg.PartitionKeyRange("2001-09-10", "2001-09-18")
        )
    finally:
        partitions.calendar.cache_clear()
    assert keys == ["2001-09-10", "2001-09-17", "2001-09-18"]


def test_automations_that_fetch_start_stopped_and_the_others_run() -> None:
    defs = _definitions()
    status = {s.name: s.default_status.value for s in [*defs.sensors, *defs.schedules]}
    assert {name for name, value in status.items() if value == "STOPPED"} == FETCHING
    assert {name for name, value in status.items() if value == "RUNNING"} == RUNNING


def test_every_asset_with_an_automation_condition_is_the_running_automation_sensors() -> None:
    """An eager asset no sensor targets would get Dagster's default automation sensor, stopped: it would
    never run by itself (the UI's automation page would show one switch more)."""
    defs = _definitions()
    graph = defs.resolve_asset_graph()
    eager = {key for key in graph.get_all_asset_keys() if graph.get(key).automation_condition is not None}
    [sensor] = [s for s in defs.sensors if s.name == "models_automation"]
    assert eager and eager <= sensor.asset_selection.resolve(graph)


def test_production_turns_the_fetching_automations_on(monkeypatch: pytest.MonkeyPatch) -> None:
    from resources import settings

    monkeypatch.setenv("TICKERLAKE_FETCH_AUTOMATION", "running")
    assert settings.fetching_sensor_status() == dg.DefaultSensorStatus.RUNNING
    assert settings.fetching_schedule_status() == dg.DefaultScheduleStatus.RUNNING
    monkeypatch.setenv("TICKERLAKE_FETCH_AUTOMATION", "yes")
    with pytest.raises(ValueError, match="running or stopped"):
        settings.fetching_sensor_status()


def test_an_end_date_pins_the_last_trading_day(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TICKERLAKE_END_DATE", "2024-07-12")
    keys = partitions.trading_days_partitions("2024-03-01").get_partition_keys()
    assert (len(keys), keys[0], keys[-1]) == (92, "2024-03-01", "2024-07-12")


@pytest.mark.parametrize(
    ("now", "last_day"),
    [
        ("2024-07-02 15:59", "2024-07-01"),  # before the close: today has not traded yet
        ("2024-07-02 17:00", "2024-07-02"),  # after the close (16:00 EDT): today is offered
        ("2024-07-04 12:00", "2024-07-03"),  # Independence Day: no partition for the 5th yet
        ("2024-07-06 12:00", "2024-07-05"),  # Saturday: Friday, not Monday
        ("2024-07-08 09:00", "2024-07-05"),  # Monday before the open
        ("2024-12-02 16:00", "2024-12-02"),  # winter: the close is 21:00 UTC
    ],
)
def test_a_trading_day_is_a_partition_from_its_close_and_never_before(now: str, last_day: str) -> None:
    """The UI showed tomorrow's partition as missing on weekends and holidays."""
    at = dt.datetime.fromisoformat(now).replace(tzinfo=ZoneInfo(partitions.TIMEZONE))
    keys = partitions.trading_days_partitions("2024-06-03").get_partition_keys(current_time=at)
    assert keys[-1] == last_day


def test_no_asset_carries_metadata_the_ui_cannot_show() -> None:
    """The UI printed '[DbtProject] (unserializable)' on every dbt asset: no object of ours in metadata."""
    from dagster_dbt import DbtProject

    graph = _definitions().resolve_asset_graph()
    shown = {
        f"{key.to_user_string()}:{name}"
        for key in graph.get_all_asset_keys()
        for name, value in graph.get(key).metadata.items()
        if isinstance(value, DbtProject)
    }
    assert shown == set()


def test_every_model_and_raw_table_shows_each_column_with_its_type_and_meaning() -> None:
    """The UI's column table: a model's from its YAML, a raw table's from the meanings beside its schema."""
    graph = _definitions().resolve_asset_graph()
    incomplete = {}
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        if node.is_materializable and ("dagster_dbt/unique_id" in node.metadata or key.path[0] == "raw"):
            columns = node.metadata["dagster/column_schema"].columns
            missing = [c.name for c in columns if not c.type or not c.description]
            if missing or not columns:
                incomplete[key.to_user_string()] = missing
    assert incomplete == {}


def test_a_raw_column_without_a_meaning_is_refused_when_the_definitions_load() -> None:
    import polars as pl

    from assets.schema import column_schema

    with pytest.raises(ValueError, match=r"columns without a meaning: \['b'\]"):
        column_schema({"a": pl.Int64(), "b": pl.String()}, {"a": "A count."})


NAMED_JOBS = {
    "finra_short_volume_backfill",
    "market_daily",
    "reference_daily",
    "prices_history_backfill",
    "prices_daily_xlon",
    "prices_daily_xetr",
    "prices_daily_xtks",
    "prices_daily_xhkg",
    "prices_daily_xtse",
    "finra_short_interest_fetch",
    "sec_fails_fetch",
    "regsho_threshold_fetch",
    "cboe_index_history_fetch",
    "cftc_cot_legacy_fetch",
    "cftc_cot_tff_fetch",
    "dbt_models_build",
    "short_volume_csv_export",
    "coingecko_daily",
    "crypto_universe_daily",
    "crypto_klines_history_backfill",
    "crypto_topup",
    "crypto_order_book_snapshot",
    "crypto_indicators_update",
    "equity_indicators_backfill",
    "feature_marts_build",
    "direction_model_train",
    "direction_predictions_serve",
    "crypto_alerts_job",
    "lake_maintenance",
}


def test_every_run_an_automation_or_the_demo_starts_is_of_a_named_job(monkeypatch: pytest.MonkeyPatch) -> None:
    """The UI's Runs page says what each run did, not `__ephemeral_asset_job__`: the sensors and schedules
    target named jobs, and the demo runs named jobs of the definitions (`dagster job execute -j`)."""
    defs = _definitions()
    jobs = {job.name for job in defs.get_repository_def().get_all_jobs() if not job.name.startswith("__")}
    assert jobs == NAMED_JOBS
    launching = [*defs.schedules, *(s for s in defs.sensors if s.has_jobs)]
    assert {s.name: s.job_name for s in launching if s.job_name not in NAMED_JOBS} == {}
    assert {
        "new_symbols_sensor",
        "new_pairs_sensor",
        "finra_short_interest_sensor",
        "sec_fails_sensor",
        "regsho_threshold_sensor",
    } <= {s.name for s in launching}

    monkeypatch.syspath_prepend(str(ROOT / "sample"))
    import demo
    import demo_crypto

    assert {
        demo.FINRA_JOB,
        demo.REFERENCE_JOB,
        demo.DBT_JOB,
        demo.EXPORTS_JOB,
        demo.SHORT_INTEREST_JOB,
        demo.FAILS_JOB,
        demo.THRESHOLD_JOB,
        *demo_crypto.JOBS,
    } <= NAMED_JOBS
    command = demo.job_command(demo.FINRA_JOB, ("2024-03-01", "2024-07-12"))
    assert command[1:4] == ["job", "execute", "-f"]
    assert command[command.index("-j") + 1] == "finra_short_volume_backfill"
    assert json.loads(command[command.index("--tags") + 1]) == {
        "dagster/asset_partition_range_start": "2024-03-01",
        "dagster/asset_partition_range_end": "2024-07-12",
    }
