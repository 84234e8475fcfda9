"""Answers GET /api/v3/klines over the bundled Binance sample, as the real endpoint pages its data.

The real API serves every minute a pair has traded; the sample holds those minutes in the archive
zips (data.binance.vision) plus the tail no archive covers yet (api.binance.com/api/v3/klines/*.json,
in the API's own answer format). Both the demo's server and the tests' mirror answer with this, so
the client's paging, time units and limits meet the real semantics: startTime/endTime inclusive
in milliseconds, at most `limit` rows (default 500, at most 1,000), oldest first, an unknown symbol
answered with HTTP 400 and Binance's error object.

GET /api/v3/depth has no time parameter: Binance answers with the book of now and keeps no history. The
sample's books are a recording (api.binance.com/api/v3/depth/<PAIR>.jsonl.gz, one answer a line, oldest
first), replayed by DepthReplay in order, one answer per request and pair: the n-th request for a pair
gets the n-th recorded minute from the one the replay starts at (the first, unless told), as n requests
a minute apart would have got from Binance. Once a pair's
recording is used up, its last book is answered again (a market that stopped changing), never a made-up
one. `limit` is honoured as Binance does (default 100, at most 5,000; the recording holds 100 levels).
"""

import datetime as dt
import functools
import gzip
import http.server
import io
import json
import threading
import time
import urllib.parse
import zipfile
from pathlib import Path

SAMPLE_ROOT = Path(__file__).resolve().parent
KLINES_PATH = "/api/v3/klines"
DEPTH_PATH = "/api/v3/depth"
DEPTH_RECORDED_FROM = dt.datetime(2025, 1, 8, 10, tzinfo=dt.UTC)  # the recording's first minute (its generator's)
MICROS_THRESHOLD = 10**15


def _millis(value: str) -> int:
    number = int(value)
    return number // 1000 if number >= MICROS_THRESHOLD else number


@functools.cache
def _rows(root: Path, pair: str) -> tuple[list, ...]:
    """Every recorded minute of `pair` as API rows (times in ms, decimals as strings), oldest first."""
    rows: dict[int, list] = {}
    for path in sorted((root / "data.binance.vision" / "data" / "spot").glob(f"*/klines/{pair}/1m/*.zip")):
        with zipfile.ZipFile(path) as archive:
            text = archive.read(archive.namelist()[0]).decode()
        for line in io.StringIO(text):
            fields = line.strip().split(",")
            rows[_millis(fields[0])] = [
                _millis(fields[0]),
                *fields[1:6],
                _millis(fields[6]),
                fields[7],
                int(fields[8]),
                *fields[9:],
            ]
    tail = root / "api.binance.com" / "api" / "v3" / "klines" / f"{pair}.json"
    if tail.exists():
        for row in json.loads(tail.read_text()):
            rows[row[0]] = row
    return tuple(rows[key] for key in sorted(rows))


def klines_answer(query: dict[str, str], root: Path = SAMPLE_ROOT) -> tuple[int, bytes]:
    """(HTTP status, JSON body) for one /api/v3/klines request."""
    pair, interval = query.get("symbol", ""), query.get("interval", "")
    if interval != "1m":
        return 400, json.dumps({"code": -1120, "msg": "Invalid interval."}).encode()
    rows = _rows(root, pair) if pair.isalnum() else ()
    if not rows:
        return 400, json.dumps({"code": -1121, "msg": "Invalid symbol."}).encode()
    start, end = int(query.get("startTime", 0)), int(query.get("endTime", 2**62))
    limit = min(int(query.get("limit", 500)), 1000)
    answer = [row for row in rows if start <= row[0] <= end][:limit]
    return 200, json.dumps(answer, separators=(",", ":")).encode()


@functools.cache
def _recorded_books(root: Path, pair: str) -> tuple[dict, ...]:
    recording = root / "api.binance.com" / "api" / "v3" / "depth" / f"{pair}.jsonl.gz"
    if not recording.exists():
        return ()
    return tuple(json.loads(line) for line in gzip.decompress(recording.read_bytes()).splitlines() if line.strip())


def _depth_weight(limit: int) -> int:
    return 5 if limit <= 100 else 25 if limit <= 500 else 50 if limit <= 1000 else 250


def _error(code: int, message: str) -> bytes:
    return json.dumps({"code": code, "msg": message}).encode()


class DepthReplay:
    """The recorded books of each pair, answered in order, one per request, from the recording's minute
    `first_minute` on (default: its first); and the weight used this minute, as Binance reports it in
    X-MBX-USED-WEIGHT-1M. Runs that snapshot ticks first_minute, first_minute + 1 min, ... in order thus
    store each recorded book under the minute it was recorded at."""

    def __init__(self, root: Path = SAMPLE_ROOT, first_minute: dt.datetime = DEPTH_RECORDED_FROM) -> None:
        skipped, rest = divmod((first_minute - DEPTH_RECORDED_FROM).total_seconds(), 60)
        if skipped < 0 or rest:
            raise ValueError(
                f"the depth recording starts at {DEPTH_RECORDED_FROM:%Y-%m-%d %H:%M} UTC, on whole minutes"
            )
        self._root = root
        self._first = int(skipped)
        self._served: dict[str, int] = {}
        self._minute, self._weight = 0, 0
        self._lock = threading.Lock()

    def answer(self, query: dict[str, str]) -> tuple[int, bytes, int]:
        """(HTTP status, JSON body, weight used in the current minute) for one /api/v3/depth request."""
        pair, limit_text = query.get("symbol", ""), query.get("limit", "100")
        if not limit_text.isdigit() or int(limit_text) < 1:
            return 400, _error(-1100, "Illegal characters found in parameter 'limit'."), 0
        limit = min(int(limit_text), 5000)
        books = _recorded_books(self._root, pair) if pair.isalnum() else ()
        with self._lock:
            weight = self._count(_depth_weight(limit))
            if not books:
                return 400, _error(-1121, "Invalid symbol."), weight
            index = min(self._served.get(pair, self._first), len(books) - 1)
            self._served[pair] = index + 1
        book = books[index]
        answer = {"lastUpdateId": book["lastUpdateId"], "bids": book["bids"][:limit], "asks": book["asks"][:limit]}
        return 200, json.dumps(answer, separators=(",", ":")).encode(), weight

    def _count(self, weight: int) -> int:
        minute = int(time.time() // 60)
        if minute != self._minute:
            self._minute, self._weight = minute, 0
        self._weight += weight
        return self._weight


class KlinesHandler(http.server.SimpleHTTPRequestHandler):
    """A quiet static server that also answers `{klines_prefix}/api/v3/klines` from `root`'s archives and
    `{klines_prefix}/api/v3/depth` from the recorded books (one replay for the server's life).

    The demo's and the benchmark's servers; the tests' mirror calls klines_answer and a DepthReplay itself.
    """

    klines_prefix = "/api.binance.com"
    root = SAMPLE_ROOT
    depth = DepthReplay()

    def log_message(self, format: str, *args: object) -> None:
        """Requests show in the Dagster run logs; keep the console readable."""

    def do_GET(self) -> None:
        path, _, query = self.path.partition("?")
        if path == f"{self.klines_prefix}{DEPTH_PATH}":
            status, body, weight = self.depth.answer(dict(urllib.parse.parse_qsl(query)))
            write_json(self, status, body, {"X-MBX-USED-WEIGHT-1M": str(weight)})
            return
        if path != f"{self.klines_prefix}{KLINES_PATH}":
            super().do_GET()
            return
        status, body = klines_answer(dict(urllib.parse.parse_qsl(query)), self.root)
        write_json(self, status, body)


def write_json(
    handler: http.server.BaseHTTPRequestHandler, status: int, body: bytes, headers: dict[str, str] | None = None
) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)
