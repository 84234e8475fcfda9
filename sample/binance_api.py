"""Answers GET /api/v3/klines over the bundled Binance sample, as the real endpoint pages its data.

The real API serves every minute a pair has traded; the sample holds those minutes in the archive
zips (data.binance.vision) plus the tail no archive covers yet (api.binance.com/api/v3/klines/*.json,
in the API's own answer format). Both the demo's server and the tests' mirror answer with this, so
the client's paging, time units and limits meet the real semantics: startTime/endTime inclusive
in milliseconds, at most `limit` rows (default 500, at most 1,000), oldest first, an unknown symbol
answered with HTTP 400 and Binance's error object.
"""

import functools
import http.server
import io
import json
import urllib.parse
import zipfile
from pathlib import Path

SAMPLE_ROOT = Path(__file__).resolve().parent
KLINES_PATH = "/api/v3/klines"
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


class KlinesHandler(http.server.SimpleHTTPRequestHandler):
    """A quiet static server that also answers `{klines_prefix}/api/v3/klines` from `root`'s archives.

    The demo's and the benchmark's servers; the tests' mirror calls klines_answer itself.
    """

    klines_prefix = "/api.binance.com"
    root = SAMPLE_ROOT

    def log_message(self, format: str, *args: object) -> None:
        """Requests show in the Dagster run logs; keep the console readable."""

    def do_GET(self) -> None:
        path, _, query = self.path.partition("?")
        if path != f"{self.klines_prefix}{KLINES_PATH}":
            super().do_GET()
            return
        status, body = klines_answer(dict(urllib.parse.parse_qsl(query)), self.root)
        write_json(self, status, body)


def write_json(handler: http.server.BaseHTTPRequestHandler, status: int, body: bytes) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)
