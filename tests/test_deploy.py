"""The production instance config against a real PostgreSQL, started here from Debian's packages."""

import datetime as dt
from pathlib import Path

import dagster as dg
import pytest
import yaml

from assets.finra import ASSET_KEY, finra_short_volume
from resources.lake import LocalLake
from tests.helpers import ROOT, fast_client, serve_finra_mirror
from tests.platform_build import RANGE_END, RANGE_START
from tests.services import Postgres

pytestmark = pytest.mark.integration


def production_home(tmp_path: Path) -> Path:
    """platform/deploy/dagster.yaml minus the parts that need a cluster (k8s launcher, S3 logs)."""
    config = yaml.safe_load((ROOT / "platform" / "deploy" / "dagster.yaml").read_text())
    config.pop("run_launcher")
    config.pop("compute_logs")
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    return home


def test_a_partitioned_run_on_the_postgres_instance(postgres: Postgres, tmp_path: Path, monkeypatch) -> None:
    for name, value in postgres.dagster_env().items():
        monkeypatch.setenv(name, value)
    home = production_home(tmp_path)
    lake = LocalLake(root=str(tmp_path / "lake"), catalog=f"postgres:{postgres.new_database()}")
    with serve_finra_mirror() as mirror, dg.DagsterInstance.from_config(str(home)) as instance:
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        result = dg.materialize(
            [finra_short_volume],
            instance=instance,
            resources={"finra": fast_client(mirror), "lake": lake},
            tags={RANGE_START: "2024-07-01", RANGE_END: "2024-07-12"},
        )
        assert result.success
    with dg.DagsterInstance.from_config(str(home)) as reopened:
        assert reopened.get_materialized_partitions(ASSET_KEY) == {
            d.isoformat() for d in (dt.date(2024, 7, day) for day in (1, 2, 3, 5, 8, 9, 10, 11, 12))
        }
        records = reopened.fetch_materializations(ASSET_KEY, limit=100).records
        assert len(records) == 9
        assert reopened.get_run_by_id(result.run_id).is_success
