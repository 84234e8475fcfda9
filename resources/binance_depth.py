"""Binance spot order books: GET /api/v3/depth, the top 100 levels of each side, and what a snapshot says.

The answer is `{"lastUpdateId": N, "bids": [["price", "qty"], ...], "asks": [...]}`, prices and
quantities as decimal strings, bids best (highest) first, asks best (lowest) first. A request for up
to 100 levels weighs 5 (101-500: 25, 501-1000: 50, 1001-5000: 250). Binance keeps no history of the
book: a snapshot is the book at the moment of the request, so a missed minute is lost for good.

The client is the klines client (resources/binance.py) with one more request: depth requests count
against the same per-minute weight budget, read from the same X-MBX-USED-WEIGHT-1M header (Binance
counts weight per IP, so the klines top-up and the snapshots see each other's use there), and back off
on 429 with Retry-After, stopping at once on 418, as every Binance request does.

A snapshot is stored with its levels (four list columns) and the features a model reads per minute:
best bid and ask, mid, spread (absolute and in basis points of mid), imbalance over the top 5, 10 and
20 levels, and the quote volume resting within 10 and 50 basis points of mid on each side. Within 100
levels a deep market (BTCUSDT at a 0.01 tick) may not reach 50 bps: `bid_reach_bps`/`ask_reach_bps`
say how far the stored levels go, so a depth figure is complete only where the reach is at least its
band.
"""

import datetime as dt
import math
from dataclasses import dataclass
from typing import ClassVar

import polars as pl
from pydantic import Field

from resources.binance import BinanceClient, BinanceSession, validate_pair
from resources.http import SourceError, names_its_errors, parse_json

DEPTH_PATH = "/api/v3/depth"
DEPTH_LIMIT = 100
IMBALANCE_LEVELS = (5, 10, 20)
DEPTH_BANDS_BPS = (10, 50)
BPS = 1e4


def depth_weight(limit: int) -> int:
    """Binance's request weight of one /api/v3/depth call asking for `limit` levels."""
    if limit <= 100:
        return 5
    if limit <= 500:
        return 25
    if limit <= 1000:
        return 50
    return 250


UTC_MICROS = pl.Datetime("us", "UTC")
LEVELS = pl.List(pl.Float64())
ORDER_BOOK_SCHEMA: dict[str, pl.DataType] = {
    "pair": pl.String(),
    "snapshot_time": UTC_MICROS,
    "received_at": UTC_MICROS,
    "last_update_id": pl.Int64(),
    "bid_prices": LEVELS,
    "bid_quantities": LEVELS,
    "ask_prices": LEVELS,
    "ask_quantities": LEVELS,
    "best_bid": pl.Float64(),
    "best_ask": pl.Float64(),
    "mid": pl.Float64(),
    "spread": pl.Float64(),
    "spread_bps": pl.Float64(),
    **{f"imbalance_{k}": pl.Float64() for k in IMBALANCE_LEVELS},
    **{f"depth_{side}_{band}bps": pl.Float64() for band in DEPTH_BANDS_BPS for side in ("bid", "ask")},
    "bid_reach_bps": pl.Float64(),
    "ask_reach_bps": pl.Float64(),
}
ORDER_BOOK_MEANINGS = {
    "pair": "Binance spot symbol (e.g. BTCUSDT).",
    "snapshot_time": (
        "The UTC minute the snapshot was taken for: the schedule tick that launched the run "
        "(dagster/scheduled_execution_time), else the request time truncated to the minute."
    ),
    "received_at": "When the answer arrived (UTC): the time the book was known here.",
    "last_update_id": "Binance's lastUpdateId: the book's update sequence number at the snapshot.",
    "bid_prices": "Bid prices, best (highest) first, up to 100 levels.",
    "bid_quantities": "Base quantity resting at each bid price, in the order of bid_prices.",
    "ask_prices": "Ask prices, best (lowest) first, up to 100 levels.",
    "ask_quantities": "Base quantity resting at each ask price, in the order of ask_prices.",
    "best_bid": "Highest bid price.",
    "best_ask": "Lowest ask price.",
    "mid": "(best_bid + best_ask) / 2.",
    "spread": "best_ask - best_bid, in the quote asset.",
    "spread_bps": "spread / mid x 10,000.",
    **{
        f"imbalance_{k}": (
            f"(bid qty - ask qty) / (bid qty + ask qty) over the top {k} levels of each side, in -1..1 "
            "(positive: more resting on the bid)."
        )
        for k in IMBALANCE_LEVELS
    },
    **{
        f"depth_{side}_{band}bps": (
            f"Quote volume (price x qty) of the {side}s within {band} bps of mid, among the stored levels "
            f"(complete where {side}_reach_bps >= {band})."
        )
        for band in DEPTH_BANDS_BPS
        for side in ("bid", "ask")
    },
    "bid_reach_bps": "How far below mid the last stored bid lies, in bps: the depth bands this covers are complete.",
    "ask_reach_bps": "How far above mid the last stored ask lies, in bps.",
}


class OrderBookFormatError(SourceError):
    """A depth answer that is not a valid book; the message names the pair and the minute."""


@dataclass(frozen=True)
class Book:
    """One side-sorted, uncrossed order book: (price, quantity) levels, best first on each side."""

    last_update_id: int
    bids: tuple[tuple[float, float], ...]
    asks: tuple[tuple[float, float], ...]


def describe(pair: str, minute: dt.datetime) -> str:
    return f"Binance depth {pair} {minute:%Y-%m-%d %H:%M}"


def _levels(raw: object, side: str, where: str, limit: int) -> tuple[tuple[float, float], ...]:
    if not isinstance(raw, list):
        raise OrderBookFormatError(f"{where}: {side} is not an array of levels")
    if not raw:
        raise OrderBookFormatError(f"{where}: no {side} (an empty side has no best price, no spread)")
    if len(raw) > limit:
        raise OrderBookFormatError(f"{where}: {len(raw)} {side} levels, more than the {limit} asked for")
    levels = []
    for number, level in enumerate(raw, start=1):
        if not (isinstance(level, list) and len(level) == 2 and all(isinstance(v, str) for v in level)):
            raise OrderBookFormatError(f'{where}: {side} level {number} is not ["price", "qty"]: {str(level)[:80]}')
        price, quantity = float(level[0]), float(level[1])
        if not (math.isfinite(price) and math.isfinite(quantity) and price > 0 and quantity > 0):
            raise OrderBookFormatError(f"{where}: {side} level {number} needs a positive price and quantity: {level}")
        levels.append((price, quantity))
    better = (lambda a, b: a > b) if side == "bids" else (lambda a, b: a < b)
    for number in range(1, len(levels)):
        if not better(levels[number - 1][0], levels[number][0]):
            order = "descending" if side == "bids" else "ascending"
            raise OrderBookFormatError(
                f"{where}: {side} not strictly {order} at level {number + 1} "
                f"({levels[number - 1][0]} then {levels[number][0]})"
            )
    return tuple(levels)


@names_its_errors(OrderBookFormatError, lambda body, pair, minute, limit=DEPTH_LIMIT: describe(pair, minute))
def parse_depth(body: bytes, pair: str, minute: dt.datetime, limit: int = DEPTH_LIMIT) -> Book:
    """The answer of /api/v3/depth as a Book; anything else (a garbled body, an unsorted side, a crossed
    book, more levels than asked) is refused naming the pair and the minute."""
    where = describe(pair, minute)
    answer = parse_json(body, where, OrderBookFormatError)
    if not isinstance(answer, dict) or not {"lastUpdateId", "bids", "asks"} <= answer.keys():
        raise OrderBookFormatError(f"{where}: not a depth answer (starts {body[:80]!r})")
    update_id = answer["lastUpdateId"]
    if not isinstance(update_id, int) or isinstance(update_id, bool) or update_id < 0:
        raise OrderBookFormatError(f"{where}: lastUpdateId {update_id!r} is not a non-negative integer")
    bids = _levels(answer["bids"], "bids", where, limit)
    asks = _levels(answer["asks"], "asks", where, limit)
    if bids[0][0] >= asks[0][0]:
        raise OrderBookFormatError(f"{where}: crossed book, best bid {bids[0][0]} >= best ask {asks[0][0]}")
    return Book(update_id, bids, asks)


def features(book: Book) -> dict[str, float]:
    """The per-snapshot features of ORDER_BOOK_SCHEMA (see ORDER_BOOK_MEANINGS)."""
    best_bid, best_ask = book.bids[0][0], book.asks[0][0]
    mid = (best_bid + best_ask) / 2
    spread = best_ask - best_bid
    row = {"best_bid": best_bid, "best_ask": best_ask, "mid": mid, "spread": spread, "spread_bps": spread / mid * BPS}
    for k in IMBALANCE_LEVELS:
        bid = sum(q for _, q in book.bids[:k])
        ask = sum(q for _, q in book.asks[:k])
        row[f"imbalance_{k}"] = (bid - ask) / (bid + ask)
    for band in DEPTH_BANDS_BPS:
        floor, ceiling = mid * (1 - band / BPS), mid * (1 + band / BPS)
        row[f"depth_bid_{band}bps"] = sum(p * q for p, q in book.bids if p >= floor)
        row[f"depth_ask_{band}bps"] = sum(p * q for p, q in book.asks if p <= ceiling)
    row["bid_reach_bps"] = (mid - book.bids[-1][0]) / mid * BPS
    row["ask_reach_bps"] = (book.asks[-1][0] - mid) / mid * BPS
    return row


def snapshot_rows(snapshots: list[tuple[str, dt.datetime, dt.datetime, Book]]) -> pl.DataFrame:
    """(pair, snapshot minute, received at, book) as rows of ORDER_BOOK_SCHEMA."""
    rows = [
        {
            "pair": pair,
            "snapshot_time": minute,
            "received_at": received,
            "last_update_id": book.last_update_id,
            "bid_prices": [p for p, _ in book.bids],
            "bid_quantities": [q for _, q in book.bids],
            "ask_prices": [p for p, _ in book.asks],
            "ask_quantities": [q for _, q in book.asks],
            **features(book),
        }
        for pair, minute, received, book in snapshots
    ]
    return pl.DataFrame(rows, schema=ORDER_BOOK_SCHEMA)


class BinanceDepthClient(BinanceClient):
    """The Binance client (same hosts, retries and weight budget) that also snapshots order books."""

    order_book_pairs: int = Field(default=10, description="Snapshot the books of the universe's first N pairs.")
    depth_limit: ClassVar[int] = DEPTH_LIMIT

    def open(self) -> "DepthSession":
        return DepthSession(self)


class DepthSession(BinanceSession):
    """A Binance session whose depth requests share its weight budget with every other request."""

    def depth(self, pair: str, minute: dt.datetime) -> tuple[Book, dt.datetime]:
        """The pair's book now (taken for `minute`) and when the answer arrived."""
        params = {"symbol": validate_pair(pair), "limit": DEPTH_LIMIT}
        body = self._api(DEPTH_PATH, depth_weight(DEPTH_LIMIT), describe(pair, minute), params)
        received = dt.datetime.now(dt.UTC)
        return parse_depth(body, pair, minute), received
