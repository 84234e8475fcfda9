"""Shared fixtures: a FINRA mirror on the CDN's URL layout, and an isolated lake and warehouse."""

import contextlib
import datetime as dt
import re
from collections import defaultdict, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from resources.finra import FinraClient, file_name
from resources.lake import LakeResource
from resources.warehouse import WarehouseResource

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DIR = ROOT / "sample" / "cdn.finra.org" / "equity" / "regsho" / "daily"
FIXTURE_DIR = Path(__file__).resolve().parent / "fixtures" / "finra"
FINRA_PATH = re.compile(r"^/equity/regsho/daily/(?P<name>[A-Z]{4}shvol\d{8}\.txt)$")


@dataclass
class FinraMirror:
    """Serves FINRA files by name on /equity/regsho/daily/, 404 for any other name.

    `fail(...)` queues responses that are served (once each) before the file itself, which is how
    tests stage 429 storms, 5xx and the like; every request is recorded.
    """

    base_url: str
    files: dict[str, bytes] = field(default_factory=dict)
    faults: dict[str, deque[Response]] = field(default_factory=lambda: defaultdict(deque))
    requests: list[str] = field(default_factory=list)

    def add_dir(self, directory: Path) -> None:
        for path in directory.glob("*shvol*.txt"):
            self.files[path.name] = path.read_bytes()

    def put(self, facility: str, day: dt.date, body: bytes) -> None:
        self.files[file_name(facility, day)] = body

    def remove(self, facility: str, day: dt.date) -> None:
        self.files.pop(file_name(facility, day))

    def fail(self, facility: str, day: dt.date, *responses: Response) -> None:
        self.faults[file_name(facility, day)].extend(responses)

    def handle(self, request: Request) -> Response:
        match = FINRA_PATH.match(request.path)
        self.requests.append(request.path)
        if not match:
            return Response("not found", status=404)
        name = match["name"]
        if self.faults[name]:
            return self.faults[name].popleft()
        if name not in self.files:
            return Response("<html>Not Found</html>", status=404, content_type="text/html")
        return Response(self.files[name], status=200, content_type="text/plain")


@contextlib.contextmanager
def serve_finra_mirror() -> Iterator[FinraMirror]:
    """A fresh loopback server holding the bundled sample and the hand-written fixture files."""
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    try:
        mirror = FinraMirror(base_url=server.url_for("").rstrip("/"))
        mirror.add_dir(SAMPLE_DIR)
        mirror.add_dir(FIXTURE_DIR)
        server.expect_request(re.compile(".*")).respond_with_handler(mirror.handle)
        yield mirror
    finally:
        server.clear()
        server.stop()


def fast_client(mirror: FinraMirror) -> FinraClient:
    """A client that retries fast: tests prove the policy, not the wall clock."""
    return FinraClient(base_url=mirror.base_url, retry_attempts=4, max_retry_wait_seconds=0.2, timeout_seconds=2.0)


@pytest.fixture
def finra_mirror() -> Iterator[FinraMirror]:
    with serve_finra_mirror() as mirror:
        yield mirror


@pytest.fixture
def lake(tmp_path: Path) -> LakeResource:
    return LakeResource(root=str(tmp_path / "lake"))


@pytest.fixture
def warehouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> WarehouseResource:
    path = tmp_path / "tickerlake.duckdb"
    monkeypatch.setenv("TICKERLAKE_DUCKDB_PATH", str(path))
    return WarehouseResource(path=str(path))


@pytest.fixture
def finra(finra_mirror: FinraMirror) -> FinraClient:
    return fast_client(finra_mirror)


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as test_instance:
        yield test_instance
