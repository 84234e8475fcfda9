"""What the tests share: mirrors of the sources on their real URL layouts, isolated lakes, clients on a mirror."""

import contextlib
import datetime as dt
import functools
import importlib.util
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TypeVar
from urllib.parse import urlsplit

import dagster as dg
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from resources.binance import DEFAULT_API_URL
from resources.coingecko import DEFAULT_BASE_URL as COINGECKO_URL
from resources.coingecko import MARKETS_PATH as COINGECKO_MARKETS_PATH
from resources.finra import FinraClient, file_name
from resources.fred import DEFAULT_BASE_URL as FRED_URL
from resources.fred import PATH as FREDGRAPH_PATH
from resources.lake import LakeResource, LocalLake, lake_at_root
from resources.settings import dbt_executable, mirrored_urls
from sample.binance_api import DEPTH_PATH, KLINES_PATH, DepthReplay, klines_answer
from sample.coingecko_api import markets_answer
from sample.fred_api import fredgraph_answer
from sample.posted import last_modified

ROOT = Path(__file__).resolve().parent.parent


SAMPLE_DIR = ROOT / "sample" / "cdn.finra.org" / "equity" / "regsho" / "daily"


FIXTURE_DIR = Path(__file__).resolve().parent / "fixtures" / "cdn.finra.org" / "equity" / "regsho" / "daily"


FINRA_PATH = "/equity/regsho/daily/"


SAMPLE_ROOT = ROOT / "sample"


TEST_FIXTURES = Path(__file__).resolve().parent / "fixtures"


S3_BUCKET = "tickerlake-test"
# The automations on from the first start: none calls an external service (README: Automations).
RUNNING = {"crypto_alerts_sensor", "freshness_checks_sensor", "lake_maintenance_schedule", "models_automation"}
# The ones that fetch from the sources, stopped until the user (or TICKERLAKE_FETCH_AUTOMATION=running) starts them.
FETCHING = {
    "cftc_cot_legacy_sensor",
    "cftc_cot_tff_sensor",
    "coingecko_daily_schedule",
    "crypto_order_book_schedule",
    "crypto_topup_schedule",
    "crypto_universe_schedule",
    "finra_short_interest_sensor",
    "market_daily_schedule",
    "new_pairs_sensor",
    "new_symbols_sensor",
    "prices_daily_xetr_schedule",
    "prices_daily_xhkg_schedule",
    "prices_daily_xlon_schedule",
    "prices_daily_xtks_schedule",
    "prices_daily_xtse_schedule",
    "reference_daily_schedule",
    "regsho_threshold_sensor",
    "sec_fails_sensor",
}
R = TypeVar("R")


@dataclass
class Mirror:
    """Serves a source's files on its own URL paths (404 for anything else), like the real host.

    `fail(path, ...)` queues responses served (once each) before the file itself, which is how
    tests stage 429 storms, 5xx and the like; every request path (with query) is recorded.
    """

    base_url: str
    files: dict[str, bytes] = field(default_factory=dict)
    faults: dict[str, deque[Response]] = field(default_factory=lambda: defaultdict(deque))
    requests: list[str] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    routes: dict[str, Callable[[Request], Response]] = field(default_factory=dict)

    def add_tree(self, directory: Path, prefix: str = "") -> None:
        """Every file under `directory`, served at /<prefix>/<its relative path>."""
        for path in directory.rglob("*"):
            if path.is_file() and path.name != "README.md":
                self.files[f"{prefix}/{path.relative_to(directory).as_posix()}"] = path.read_bytes()

    def put_path(self, path: str, body: bytes) -> None:
        self.files[path] = body

    def fail_path(self, path: str, *responses: Response) -> None:
        self.faults[path].extend(responses)

    def handle(self, request: Request) -> Response:
        self.requests.append(request.full_path.rstrip("?"))
        self.headers.append(dict(request.headers))
        if self.faults[request.path]:
            return self.faults[request.path].popleft()
        if request.path in self.routes:
            return self.routes[request.path](request)
        if request.path not in self.files:
            return Response("<html>Not Found</html>", status=404, content_type="text/html")
        body = self.files[request.path]
        posted = last_modified(body) if request.path.endswith(".zip") else None
        return Response(body, status=200, headers={"Last-Modified": posted} if posted else {})

    def count(self, path: str) -> int:
        return sum(1 for r in self.requests if r.split("?")[0] == path)


class FinraMirror(Mirror):
    """FINRA's CDN: /equity/regsho/daily/{FAC}shvol{YYYYMMDD}.txt."""

    def put(self, facility: str, day: dt.date, body: bytes) -> None:
        self.put_path(FINRA_PATH + file_name(facility, day), body)

    def remove(self, facility: str, day: dt.date) -> None:
        self.files.pop(FINRA_PATH + file_name(facility, day))

    def fail(self, facility: str, day: dt.date, *responses: Response) -> None:
        self.fail_path(FINRA_PATH + file_name(facility, day), *responses)


@contextlib.contextmanager
def serve(mirror_class: type[Mirror] = Mirror) -> Iterator[Mirror]:
    """A fresh loopback server; the caller loads the files."""
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    try:
        mirror = mirror_class(base_url=server.url_for("").rstrip("/"))
        server.expect_request(re.compile(".*")).respond_with_handler(mirror.handle)
        yield mirror
    finally:
        server.clear()
        server.stop()


@contextlib.contextmanager
def serve_finra_mirror() -> Iterator[FinraMirror]:
    """FINRA's URL layout holding the bundled sample and the hand-written fixture files."""
    with serve(FinraMirror) as mirror:
        mirror.add_tree(SAMPLE_DIR, FINRA_PATH.rstrip("/"))
        mirror.add_tree(FIXTURE_DIR, FINRA_PATH.rstrip("/"))
        yield mirror


@contextlib.contextmanager
def process_holding(code: str, *args: str) -> Iterator[subprocess.Popen]:
    """Another process holding a lock while the test runs: `code` prints 'locked' once it has it."""
    process = subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().strip() == "locked"
        yield process
    finally:
        process.kill()
        process.wait()


def fast_client(mirror: FinraMirror) -> FinraClient:
    """A client that retries fast: tests prove the policy, not the wall clock."""
    return FinraClient(base_url=mirror.base_url, retry_attempts=4, max_retry_wait_seconds=0.2, timeout_seconds=2.0)


def lake_at(root: Path) -> LocalLake:
    """A lake of its own under `root`: data files in root/lake, the SQLite catalog beside them."""
    return LocalLake(root=str(root / "lake"), catalog=f"sqlite:{root / 'tickerlake.sqlite'}")


def lake_env(lake: LakeResource) -> dict[str, str]:
    """The settings that point definitions, dbt and the CLI at `lake`."""
    return {"TICKERLAKE_LAKE_ROOT": lake.location, "TICKERLAKE_CATALOG": lake.metadata}


def branch_of(lake: LakeResource, catalog_file: Path) -> LakeResource:
    """A copy of the lake's catalog over the same data files: writes to it leave `lake` as it was.

    DuckLake never rewrites a data file in place, so the copy's writes add files the original does not
    reference. The SQLite backup API copies the catalog consistently, its write-ahead log included.
    """
    assert lake.catalog_file is not None
    with sqlite3.connect(lake.catalog_file) as source, sqlite3.connect(catalog_file) as target:
        source.backup(target)
    return lake_at_root(lake.location, f"sqlite:{catalog_file}")


def dbt_cli(lake: LakeResource, target: Path, *args: str) -> subprocess.CompletedProcess:
    """dbt's own command line on `lake`, as a person runs it from dbt_project/ (its output in the result),
    with its files in `target` so that tests running at once never share dbt's target folder; the install's
    parse is copied there, so dbt parses only what changed (as dagster-dbt does for a run)."""
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "dbt_project" / "target" / "partial_parse.msgpack", target)
    return subprocess.run(
        [dbt_executable(), *args, "--profiles-dir", ".", "--target-path", str(target)],
        cwd=ROOT / "dbt_project",
        env={**os.environ, **lake_env(lake)},
        capture_output=True,
        text=True,
        timeout=300,
    )


def mirror_path(host_url: str, path: str) -> str:
    """Where the mirror serves `path` of the real host at `host_url`: under /<host>/, as the sample lies."""
    return f"/{urlsplit(host_url).netloc}{path}"


BINANCE_KLINES_PATH = mirror_path(DEFAULT_API_URL, KLINES_PATH)


def binance_klines(request: Request) -> Response:
    """/api/v3/klines answered from the sample, as Binance pages it (sample/binance_api.py)."""
    status, body = klines_answer(dict(request.args))
    return Response(body, status=status, content_type="application/json", headers={"X-MBX-USED-WEIGHT-1M": "2"})


BINANCE_DEPTH_PATH = mirror_path(DEFAULT_API_URL, DEPTH_PATH)


def binance_depth(replay: DepthReplay) -> Callable[[Request], Response]:
    """/api/v3/depth answered from the sample's recorded books, in order, with the weight used this minute."""

    def answer(request: Request) -> Response:
        status, body, weight = replay.answer(dict(request.args))
        return Response(
            body, status=status, content_type="application/json", headers={"X-MBX-USED-WEIGHT-1M": str(weight)}
        )

    return answer


FRED_GRAPH_PATH = mirror_path(FRED_URL, FREDGRAPH_PATH)


def fred_graph(request: Request) -> Response:
    """/graph/fredgraph.csv?id= answered from the sample's series, as the demo's server does (sample/fred_api.py)."""
    status, body = fredgraph_answer(dict(request.args))
    return Response(body, status=status, content_type="text/csv")


COINGECKO_MARKETS_ROUTE = mirror_path(COINGECKO_URL, COINGECKO_MARKETS_PATH)


def coingecko_markets(request: Request) -> Response:
    """/api/v3/coins/markets answered from the recorded list, paged as CoinGecko pages (sample/coingecko_api.py)."""
    status, body = markets_answer(dict(request.args))
    return Response(body, status=status, content_type="application/json")


@contextlib.contextmanager
def serve_all_sources() -> Iterator[Mirror]:
    """Every source of the bundled sample, with the hand-written test fixtures laid over it."""
    with serve() as mirror:
        mirror.add_tree(SAMPLE_ROOT)
        mirror.add_tree(TEST_FIXTURES)
        mirror.routes[BINANCE_KLINES_PATH] = binance_klines
        mirror.routes[BINANCE_DEPTH_PATH] = binance_depth(DepthReplay())
        mirror.routes[FRED_GRAPH_PATH] = fred_graph
        mirror.routes[COINGECKO_MARKETS_ROUTE] = coingecko_markets
        yield mirror


def on_mirror(client: type[R], mirror: Mirror, **overrides: object) -> R:
    """A source client whose hosts are the mirror's, as TICKERLAKE_SOURCE_MIRROR makes them."""
    return client(**{**mirrored_urls(client.model_fields, mirror.base_url), **overrides})


@dataclass
class PlatformBuild:
    """Every source materialized from the mirror and dbt built: what the model tests read."""

    mirror: Mirror
    lake: LakeResource
    instance: dg.DagsterInstance
    new_symbol_runs: list[dg.RunRequest]


@functools.cache
def load_definitions() -> ModuleType:
    """platform/definitions.py as Dagster loads it: by path (platform/ is not a package)."""
    spec = importlib.util.spec_from_file_location("tickerlake_definitions", ROOT / "platform" / "definitions.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
