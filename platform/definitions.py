"""The one Definitions object of tickerlake, loaded by workspace.yaml.

This folder is not a Python package (`platform` is a stdlib module); Dagster loads this file by
path with the repository root as working directory, which puts assets/, resources/ and sensors/
on the import path.
"""

import dagster as dg
from dagster_dbt import DbtCliResource

from assets.dbt import dbt_project, tickerlake_dbt_models
from assets.finra import finra_short_volume
from resources.finra import FinraClient
from resources.lake import LakeResource
from resources.settings import dbt_executable, finra_base_url, lake_root, warehouse_path
from resources.warehouse import WarehouseResource
from sensors.schedules import finra_daily_job, finra_daily_schedule

defs = dg.Definitions(
    assets=[finra_short_volume, tickerlake_dbt_models],
    jobs=[finra_daily_job],
    schedules=[finra_daily_schedule],
    resources={
        "finra": FinraClient(base_url=finra_base_url()),
        "lake": LakeResource(root=lake_root()),
        "warehouse": WarehouseResource(path=warehouse_path()),
        "dbt": DbtCliResource(project_dir=dbt_project, dbt_executable=dbt_executable()),
    },
)
