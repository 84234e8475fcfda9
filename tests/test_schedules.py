"""The market schedule's run: the day's raw data, then the dbt models it feeds, in one run and one dbt call."""

import dagster as dg

from sensors.schedules import MARKET_ASSETS, MARKET_MODELS, RANGE_END, RANGE_START
from tests.helpers import PlatformBuild, branch_of
from tests.platform_build import all_assets, platform_on


def test_the_market_run_stores_the_day_then_builds_its_models_once(
    platform_build: PlatformBuild, tmp_path_factory
) -> None:
    lake = branch_of(platform_build.lake, tmp_path_factory.mktemp("market_run") / "catalog.sqlite")
    with platform_on(platform_build.mirror, lake) as resources, dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("symbols", platform_build.instance.get_dynamic_partitions("symbols"))
        result = dg.materialize(
            all_assets(),
            selection=MARKET_ASSETS | MARKET_MODELS,
            resources=resources,
            instance=instance,
            tags={RANGE_START: "2024-07-12", RANGE_END: "2024-07-15"},
        )
    lake.close()
    assert result.success
    steps = [e.step_key for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_START]
    assert steps.count("tickerlake_dbt_models") == 1 and steps[-1] == "tickerlake_dbt_models", steps
    stored = {m.asset_key.to_user_string(): m for m in result.asset_materializations_for_node("tickerlake_dbt_models")}
    assert {"marts/fct_prices_daily", "marts/fct_returns", "marts/fct_short_panel_daily"} <= set(stored)
    raw = [e for e in result.all_events if e.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION]
    first_model = next(i for i, e in enumerate(raw) if e.asset_key.path[0] != "raw")
    assert {e.asset_key.to_user_string() for e in raw[:first_model]} == {
        "raw/finra_short_volume",
        "raw/prices_daily",
        "raw/cboe_index_history",
    }, "every raw asset is stored before the first model"
