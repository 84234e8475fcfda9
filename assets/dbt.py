"""The dbt project as Dagster assets, so models show in the asset graph downstream of raw sources.

The manifest is built once at install time (`dbt parse` in the Makefile), not per run process.
Every dbt run writes the DuckDB file, hence the `duckdb` pool (limit 1) on the whole dbt step.
"""

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from assets import finra, fx, prices, sectors, symbols
from resources.finra import SHORT_VOLUME_SCHEMA
from resources.fx import FX_SCHEMA
from resources.lake import LakeResource
from resources.prices import PRICES_SCHEMA
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
    prices.DATASET: PRICES_SCHEMA,
    fx.DATASET: FX_SCHEMA,
}


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
    dbt: DbtCliResource,
    warehouse: WarehouseResource,
    lake: LakeResource,
) -> Iterator[Any]:
    warehouse.register_lake_views(lake, LAKE_VIEWS)
    yield from dbt.cli(["build"], context=context).stream()
