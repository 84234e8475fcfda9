"""The one Definitions object of tickerlake, loaded by workspace.yaml.

This folder is not a Python package (`platform` is a stdlib module); Dagster loads this file by
path with the repository root as working directory, which puts assets/, resources/ and sensors/
on the import path. Sources are not listed here: each declares itself (assets/sources.py), its
client is registered under its module's name and its sensors come from sensors/<name>.py. Every
setting comes from resources/settings.py.
"""

import dagster as dg

from assets.alerts import crypto_alerts
from assets.crypto_labels import crypto_labels
from assets.dbt import dbt_project, tickerlake_dbt_models
from assets.direction_dataset import direction_dataset
from assets.direction_model import direction_model
from assets.direction_predictions import PREDICTION_ASSETS
from assets.equity_indicators import equity_indicators
from assets.equity_labels import equity_labels
from assets.exports import ExportDirectory, short_volume_csv
from assets.freshness import freshness_sensor
from assets.indicators import crypto_indicators
from assets.maintenance import lake_maintenance
from assets.sources import freshness_checks, source_assets, source_automation, source_checks, sources
from resources.dbt_cli import DbtCli
from resources.lake import lake_at_root
from resources.notifier import Notifier
from resources.settings import catalog, dbt_executable, lake_root, resource_config, s3_endpoint_url
from sensors.alerts import crypto_alerts_sensor
from sensors.jobs import JOBS
from sensors.schedules import daily_schedules, lake_maintenance_schedule

# Built from the sources' own data, after them: the dbt project, exports, indicators, alerts.
PLATFORM_ASSETS = [
    tickerlake_dbt_models,
    short_volume_csv,
    crypto_indicators,
    crypto_labels,
    equity_indicators,
    equity_labels,
    crypto_alerts,
    lake_maintenance,
    direction_dataset,
    direction_model,
    *PREDICTION_ASSETS,
]


def configured(key: str, resource: type[dg.ConfigurableResource]) -> dg.ConfigurableResource:
    """A resource from its settings (and the source mirror, when one is set)."""
    return resource(**resource_config(key, resource.model_fields))


def resources() -> dict[str, object]:
    return {
        "lake": lake_at_root(lake_root(), catalog(), s3_endpoint_url()),
        "dbt": DbtCli(project_dir=dbt_project, dbt_executable=dbt_executable()),
        "exports": configured("exports", ExportDirectory),
        "notifier": configured("notifier", Notifier),
        **{key: configured(key, source.client) for key, source in sources().items()},
    }


freshness = freshness_checks()
automation = source_automation()
defs = dg.Definitions(
    # Runs here hold one step each (a raw asset's ranged run, the dbt build): running it in the run's
    # own process saves a second interpreter and a second load of these definitions per run.
    executor=dg.in_process_executor,
    assets=[*source_assets(), *PLATFORM_ASSETS],
    asset_checks=[*freshness, *source_checks()],
    jobs=JOBS,
    schedules=[
        *daily_schedules,
        lake_maintenance_schedule,
        *(a for a in automation if isinstance(a, dg.ScheduleDefinition)),
    ],
    sensors=[
        *(a for a in automation if isinstance(a, dg.SensorDefinition)),
        crypto_alerts_sensor,
        freshness_sensor(freshness),
        dg.AutomationConditionSensorDefinition(
            "models_automation",
            target=dg.AssetSelection.assets(
                tickerlake_dbt_models,
                crypto_indicators,
                crypto_labels,
                equity_indicators,
                equity_labels,
                *PREDICTION_ASSETS,
            ),
            default_status=dg.DefaultSensorStatus.RUNNING,
        ),
    ],
    resources=resources(),
)
