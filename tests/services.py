"""Real servers for the integration tests and the benches: a throw-away PostgreSQL cluster, an S3
endpoint (moto) and `make dashboard`.

All listen on 127.0.0.1 only and are started by the tests themselves; `make test-integration` installs
PostgreSQL from Debian's packages, and moto comes with the `integration` extra.
"""

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import boto3


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def dashboard_server(env: Mapping[str, str], log: Path) -> Iterator[str]:
    """`make dashboard` (python -m web) with `env` on a free loopback port, its output in `log`: its URL
    once it answers, until the block ends."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "web"]
    root = Path(__file__).resolve().parent.parent
    with log.open("w") as out:
        server = subprocess.Popen(
            command, cwd=root, env={**env, "TICKERLAKE_DASHBOARD_PORT": str(port)}, stdout=out, stderr=subprocess.STDOUT
        )
        try:
            deadline = time.monotonic() + 120
            while True:
                try:
                    urllib.request.urlopen(f"{url}/docs", timeout=5).close()
                    break
                except OSError:
                    if server.poll() is not None:
                        raise RuntimeError(f"the dashboard exited with {server.returncode}: {log}") from None
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"the dashboard did not answer in 2 minutes: {log}") from None
                    time.sleep(0.5)
            yield url
        finally:
            server.terminate()
            server.wait(timeout=30)


def _postgres_bin() -> Path:
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    assert candidates, "PostgreSQL is not installed: run `make test-integration`, which installs it"
    return candidates[-1].parent


def _as_postgres(command: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root; CI runs as root."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@dataclass(frozen=True)
class Postgres:
    port: int
    user: str = "dagster"

    def dagster_env(self) -> dict[str, str]:
        """What platform/deploy/dagster.yaml reads for its storage."""
        return {
            "DAGSTER_PG_HOST": "127.0.0.1",
            "DAGSTER_PG_PORT": str(self.port),
            "DAGSTER_PG_USERNAME": self.user,
            "DAGSTER_PG_PASSWORD": "unused-trust-auth",
            "DAGSTER_PG_DB": "postgres",
        }

    def new_database(self) -> str:
        """A fresh database for one test's catalog; its libpq connection string."""
        name = f"t_{uuid.uuid4().hex[:12]}"
        subprocess.run(
            [str(_postgres_bin() / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user, name],
            check=True,
            capture_output=True,
        )
        return f"host=127.0.0.1 port={self.port} user={self.user} dbname={name}"


@contextlib.contextmanager
def postgres_server() -> Iterator[Postgres]:
    """A cluster on a free loopback port; outside pytest's tmp dirs, which are 0700 root."""
    binaries = _postgres_bin()
    root = Path(tempfile.mkdtemp(prefix="tickerlake-pg-"))
    data, sockets = root / "data", root / "sockets"
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(sockets, "postgres")
    port = free_port()
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
        yield Postgres(port)
    finally:
        subprocess.run(
            _as_postgres([str(binaries / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"]), capture_output=True
        )
        shutil.rmtree(root, ignore_errors=True)


S3_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1"}


@contextlib.contextmanager
def s3_server(bucket: str) -> Iterator[str]:
    """moto in server mode with `bucket` created; yields the endpoint URL. Set S3_CREDENTIALS first."""
    port = free_port()
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                boto3.client("s3", endpoint_url=url).create_bucket(Bucket=bucket)
                break
            except Exception:
                assert time.monotonic() < deadline, "moto server did not start"
                time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        server.wait()
