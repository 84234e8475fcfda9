"""Fixtures shared by every test module; the helpers they use live in tests/helpers.py."""

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from resources.finra import FinraClient
from resources.lake import LakeResource
from tests.helpers import S3_BUCKET, FinraMirror, fast_client, lake_at, lake_env, serve_finra_mirror
from tests.services import S3_CREDENTIALS, Postgres, postgres_server, s3_server

pytest_plugins = ["tests.platform_build"]


@pytest.fixture
def finra_mirror() -> Iterator[FinraMirror]:
    with serve_finra_mirror() as mirror:
        yield mirror


@pytest.fixture
def lake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LakeResource]:
    lake = lake_at(tmp_path)
    for name, value in lake_env(lake).items():
        monkeypatch.setenv(name, value)
    yield lake
    lake.close()


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """One throw-away PostgreSQL cluster for the integration tests that ask for it."""
    with postgres_server() as server:
        yield server


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """An S3 API (moto) on 127.0.0.1 with the bucket S3_BUCKET, and credentials for it in the environment."""
    with pytest.MonkeyPatch.context() as env:
        for name, value in S3_CREDENTIALS.items():
            env.setenv(name, value)
        with s3_server(S3_BUCKET) as url:
            yield url


@pytest.fixture
def finra(finra_mirror: FinraMirror) -> FinraClient:
    return fast_client(finra_mirror)


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as test_instance:
        yield test_instance


# Whole-platform builds, dbt runs and subprocess crashes: minutes, not seconds. `make test-fast` leaves them out.
SLOW_MODULES = {
    "test_incremental",
    "test_crash",
    "test_concurrency",
    "test_dbt_models",
    "test_analytics",
    "test_features",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark as slow every test that uses the session's platform build or lives in a slow module."""
    for item in items:
        if "platform_build" in getattr(item, "fixturenames", ()) or item.module.__name__.split(".")[-1] in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)
