"""The dbt project as Dagster assets, so models show in the asset graph downstream of raw sources.

The manifest is built once at install time (`dbt parse` in the Makefile), not per run process.
Every dbt run writes the DuckDB file, hence the `duckdb` pool (limit 1) on the whole dbt step, and
the warehouse's write lock inside it (the pool alone can admit two steps on a SQLite instance).
"""

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from assets import alerts, binance, finra, fx, indicators, prices, sectors, symbols
from assets.previews import mart_previews
from resources.binance import KLINES_SCHEMA, UNIVERSE_SCHEMA
from resources.finra import SHORT_VOLUME_SCHEMA
from resources.fx import FX_SCHEMA
from resources.lake import LakeResource
from resources.sectors import SIC_SCHEMA, TICKERS_SCHEMA
from resources.symbols import DIRECTORY_SCHEMA
from resources.warehouse import DUCKDB_POOL, WarehouseResource

DBT_PROJECT_DIR = Path(__file__).resolve().parent.parent / "dbt_project"
dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR)

# Lake datasets exposed as raw.<dataset> views: the dbt sources.
LAKE_VIEWS = {
    finra.DATASET: SHORT_VOLUME_SCHEMA,
    symbols.DATASET: DIRECTORY_SCHEMA,
    sectors.TICKERS_DATASET: TICKERS_SCHEMA,
    sectors.SIC_DATASET: SIC_SCHEMA,
    prices.DATASET: prices.LAKE_SCHEMA,
    fx.DATASET: FX_SCHEMA,
    binance.UNIVERSE_DATASET: UNIVERSE_SCHEMA,
    binance.KLINES_DATASET: KLINES_SCHEMA,
    binance.ROLLUPS["1h"]: binance.BARS_SCHEMA,
    binance.ROLLUPS["1d"]: binance.BARS_SCHEMA,
    indicators.DATASET: indicators.INDICATORS_SCHEMA,
    alerts.DATASET: alerts.ALERTS_SCHEMA,
}


PREVIEWED = {"mart_sector_short_return_correlation", "mart_volatility_ranking", "fct_short_volume_daily"}


class DbtBuildConfig(dg.Config):
    """Launchpad options for the dbt step."""

    full_refresh: bool = False  # rebuild incremental models from scratch (dbt --full-refresh)


class TickerlakeDbtTranslator(DagsterDbtTranslator):
    """Models rebuild after their raw inputs update (the daily runs), whatever history is missing.

    Plain eager() waits until no upstream partition is missing, which for a trading-day asset
    means "never" until all history since 2009 is loaded; so that clause is dropped.
    """

    def get_automation_condition(self, dbt_resource_props: Mapping[str, Any]) -> dg.AutomationCondition | None:
        return dg.AutomationCondition.eager().without(~dg.AutomationCondition.any_deps_missing())


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    pool=DUCKDB_POOL,
    dagster_dbt_translator=TickerlakeDbtTranslator(),
)
def tickerlake_dbt_models(
    context: dg.AssetExecutionContext,
    config: DbtBuildConfig,
    dbt: DbtCliResource,
    warehouse: WarehouseResource,
    lake: LakeResource,
) -> Iterator[Any]:
    """dbt build, then the marts' previews, then a fresh read-only copy for SQL users.

    Events are held until dbt has exited: the previews are read from the warehouse, which dbt holds
    for its whole run, and Dagster wants a multi-asset's outputs in dependency order.
    """
    with warehouse.writing(context.log):
        warehouse.register_lake_views(lake.for_duckdb(), LAKE_VIEWS)
        args = ["build", "--full-refresh"] if config.full_refresh else ["build"]
        events = list(dbt.cli(args, context=context).stream())
        with warehouse.connect(read_only=True) as con:
            previews = mart_previews(con)
        for event in events:
            model = _previewed_model(event)
            yield event.with_metadata({**event.metadata, **previews[model]}) if model in previews else event
        warehouse.publish_read_copy()


def _previewed_model(event: object) -> str | None:
    """The model name of a dbt model's Output that gets previews (output names are schema__model)."""
    if isinstance(event, dg.Output) and event.output_name.split("__")[-1] in PREVIEWED:
        return event.output_name.split("__")[-1]
    return None
