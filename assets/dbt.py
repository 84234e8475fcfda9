"""The dbt project as Dagster assets, so models show in the asset graph downstream of raw sources.

The manifest is built once at install time (`dbt parse` in the Makefile), not per run process.
Every dbt run writes the DuckDB file, hence the `duckdb` pool (limit 1) on the whole dbt step.
"""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DbtCliResource, DbtProject, dbt_assets

from assets.finra import DATASET as FINRA_DATASET
from resources.finra import SHORT_VOLUME_SCHEMA
from resources.lake import LakeResource
from resources.warehouse import DUCKDB_POOL, WarehouseResource

DBT_PROJECT_DIR = Path(__file__).resolve().parent.parent / "dbt_project"
dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR)

LAKE_VIEWS = {FINRA_DATASET: SHORT_VOLUME_SCHEMA}


@dbt_assets(manifest=dbt_project.manifest_path, project=dbt_project, pool=DUCKDB_POOL)
def tickerlake_dbt_models(
    context: dg.AssetExecutionContext,
    dbt: DbtCliResource,
    warehouse: WarehouseResource,
    lake: LakeResource,
) -> Iterator[Any]:
    warehouse.register_lake_views(lake, LAKE_VIEWS)
    yield from dbt.cli(["build"], context=context).stream()
