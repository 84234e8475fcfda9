"""A synthetic full market on the price providers' own URL layouts and formats, for make bench.

Yahoo's chart JSON per symbol (/query1.finance.yahoo.com/v8/finance/chart/<SYMBOL>), whole history
in one file, and Polygon's grouped daily answers per day (/api.polygon.io/v2/aggs/grouped/locale/us/
market/stocks/<DAY>, with empty reference splits and dividends). Prices are a seeded random walk per
symbol, written one symbol at a time, so generating the full market never holds it in memory. The
server answers a chart request whose period1 is a daily-update day with that day's small file, as
Yahoo answers a one-day period.
"""

import datetime as dt
import functools
import http.server
import io
import json
import threading
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import numpy as np

from resources.prices import yahoo_symbol

CHART = "query1.finance.yahoo.com/v8/finance/chart"
GROUPED = "api.polygon.io/v2/aggs/grouped/locale/us/market/stocks"
NEW_YORK = ZoneInfo("America/New_York")
EMPTY_REFERENCE = b'{"results": [], "status": "OK", "request_id": "bench"}'


def _numbers(values: np.ndarray) -> str:
    buffer = io.StringIO()
    np.savetxt(buffer, values.reshape(1, -1), fmt="%.4f", delimiter=",", newline="")
    return buffer.getvalue()


def chart_body(symbol: str, stamps: np.ndarray, close: np.ndarray) -> bytes:
    """Yahoo's /v8/finance/chart answer: meta, timestamps, indicators.quote (no events)."""
    quote = {"open": close, "high": close * 1.01, "low": close * 0.99, "close": close}
    arrays = ",".join(f'"{name}":[{_numbers(values)}]' for name, values in quote.items())
    volume = ",".join(["1000000"] * len(stamps))
    meta = json.dumps(
        {"currency": "USD", "symbol": symbol, "exchangeTimezoneName": "America/New_York", "instrumentType": "EQUITY"}
    )
    return (
        f'{{"chart":{{"result":[{{"meta":{meta},"timestamp":[{",".join(map(str, stamps))}],'
        f'"indicators":{{"quote":[{{{arrays},"volume":[{volume}]}}]}}}}],"error":null}}}}'
    ).encode()


def _stamps(days: list[dt.date]) -> np.ndarray:
    """13:30 UTC of each day: the New York open, as Yahoo stamps daily bars."""
    return np.array([int(dt.datetime.combine(d, dt.time(13, 30), dt.UTC).timestamp()) for d in days])


def write_market(root: Path, names: list[str], days: list[dt.date], next_days: list[dt.date], seed: int = 3) -> int:
    """Every symbol's chart file over `days`, and for each of `next_days` the per-symbol one-day files
    and Polygon's grouped day; one random walk per symbol across both. Returns the history's bytes."""
    rng = np.random.default_rng(seed)
    history, daily = root / CHART, {day: root / "daily" / day.isoformat() for day in next_days}
    for folder in (history, *daily.values()):
        folder.mkdir(parents=True, exist_ok=True)
    stamps, next_stamps = _stamps(days), _stamps(next_days)
    written, next_closes = 0, []
    for symbol in names:
        steps = rng.normal(0.0003, 0.02, len(days) + len(next_days))
        walk = np.exp(np.log(rng.lognormal(3.5, 1.0)) + np.cumsum(steps))
        body = chart_body(symbol, stamps, walk[: len(days)])
        (history / yahoo_symbol(symbol)).write_bytes(body)
        written += len(body)
        for index, day in enumerate(next_days):
            one_day = chart_body(symbol, next_stamps[index : index + 1], walk[len(days) + index :][:1])
            (daily[day] / yahoo_symbol(symbol)).write_bytes(one_day)
        next_closes.append(walk[len(days) :])
    for index, day in enumerate(next_days):
        _write_grouped(root, day, names, [closes[index] for closes in next_closes])
    return written


def _write_grouped(root: Path, day: dt.date, names: list[str], closes: list[float]) -> None:
    """Polygon's grouped daily answer for `day`: one bar per symbol, t at the session's 16:00 close in New
    York (04:00 UTC, as this wrote before, is the previous evening in New York in winter)."""
    millis = int(dt.datetime.combine(day, dt.time(16), NEW_YORK).timestamp() * 1000)
    results = [
        {"T": s, "o": c, "h": c * 1.01, "l": c * 0.99, "c": c, "v": 1000000, "t": millis}
        for s, c in zip(names, closes, strict=True)
    ]
    grouped = root / GROUPED / day.isoformat()
    grouped.parent.mkdir(parents=True, exist_ok=True)
    grouped.write_text(
        json.dumps({"status": "OK", "adjusted": False, "resultsCount": len(results), "results": results})
    )


class _Handler(http.server.SimpleHTTPRequestHandler):
    daily_days: frozenset[str] = frozenset()

    def log_message(self, format: str, *args: object) -> None:
        """Tens of thousands of requests: keep the report readable."""

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if parts.path.startswith("/api.polygon.io/v3/reference/"):
            self._send(EMPTY_REFERENCE)
            return
        if parts.path.startswith(f"/{CHART}/"):
            period1 = int(parse_qs(parts.query).get("period1", ["0"])[0])
            day = dt.datetime.fromtimestamp(period1, dt.UTC).date().isoformat()
            if day in self.daily_days:
                symbol = parts.path.rsplit("/", 1)[1]
                self.path = f"/daily/{day}/{symbol}"
        super().do_GET()

    def _send(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def serve(root: Path, daily_days: list[dt.date]) -> str:
    """Serve the mirror on a free loopback port; returns the server's root URL."""
    handler_class = type("Handler", (_Handler,), {"daily_days": frozenset(d.isoformat() for d in daily_days)})
    handler = functools.partial(handler_class, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}"
