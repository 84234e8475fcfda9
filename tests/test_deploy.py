"""The production instance config against a real PostgreSQL, started here from Debian's packages."""

import datetime as dt
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
import yaml

from assets.finra import ASSET_KEY, finra_short_volume
from resources.lake import LakeResource
from tests.conftest import ROOT, fast_client, serve_finra_mirror
from tests.platform_build import RANGE_END, RANGE_START

pytestmark = pytest.mark.integration


def _postgres_bin() -> Path:
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    assert candidates, "PostgreSQL is not installed: run `make test-integration`, which installs it"
    return candidates[-1].parent


def _as_postgres(command: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root; CI runs as root."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@pytest.fixture(scope="module")
def postgres() -> Iterator[dict[str, str]]:
    """A throw-away cluster on a free loopback port; outside pytest's tmp dirs, which are 0700 root."""
    binaries = _postgres_bin()
    root = Path(tempfile.mkdtemp(prefix="tickerlake-pg-"))
    data, sockets = root / "data", root / "sockets"
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(sockets, "postgres")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = str(probe.getsockname()[1])
    subprocess.run(
        _as_postgres([str(binaries / "initdb"), "-D", str(data), "-U", "dagster", "--auth=trust"]),
        check=True,
        capture_output=True,
    )
    options = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1"
    subprocess.run(
        _as_postgres(
            [str(binaries / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "start"]
        ),
        check=True,
        capture_output=True,
    )
    try:
        yield {
            "DAGSTER_PG_HOST": "127.0.0.1",
            "DAGSTER_PG_PORT": port,
            "DAGSTER_PG_USERNAME": "dagster",
            "DAGSTER_PG_PASSWORD": "unused-trust-auth",
            "DAGSTER_PG_DB": "postgres",
        }
    finally:
        subprocess.run(
            _as_postgres([str(binaries / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"]), capture_output=True
        )
        shutil.rmtree(root, ignore_errors=True)


def production_home(tmp_path: Path) -> Path:
    """platform/deploy/dagster.yaml minus the parts that need a cluster (k8s launcher, S3 logs)."""
    config = yaml.safe_load((ROOT / "platform" / "deploy" / "dagster.yaml").read_text())
    config.pop("run_launcher")
    config.pop("compute_logs")
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    return home


def test_a_partitioned_run_on_the_postgres_instance(postgres: dict[str, str], tmp_path: Path, monkeypatch) -> None:
    for name, value in postgres.items():
        monkeypatch.setenv(name, value)
    home = production_home(tmp_path)
    lake = LakeResource(root=str(tmp_path / "lake"))
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
