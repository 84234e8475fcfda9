"""Writes the made Binance order-book sample (see sample/README.md, "Binance order books").

Run from the repository root: `.venv/bin/python sample/make_binance_depth_sample.py`. Seeded and
deterministic; the files are committed, this script documents how they were made.

Binance keeps no history of its books, so a sample of /api/v3/depth can only be a recording: one answer
per pair and minute, in the endpoint's exact format (`{"lastUpdateId":N,"bids":[["price","qty"],...],
"asks":[...]}`, 100 levels a side, decimals as 8-place strings, compact JSON as Binance sends it). This
makes such a recording for BTCUSDT, ETHUSDT and SOLUSDT at each minute of 2025-01-08 10:00..11:59 UTC,
the last two hours of the sample's klines: each book sits around its minute's opening price (the
price of the tick the snapshot is taken at), one tick wide most of the time, with levels spaced by a
few ticks (wider for BTCUSDT, whose 100 levels then span only a few basis points, as on Binance) and
log-normal quantities on the pair's lot size. Synthetic, not market data.

api.binance.com/api/v3/depth/<PAIR>.jsonl.gz holds the answers, one JSON document a line, oldest first;
sample/binance_api.py replays them, one per request and pair, in that order.
"""

import datetime as dt
import gzip
import json
import math
import random
from pathlib import Path

HERE = Path(__file__).resolve().parent
KLINES = HERE / "api.binance.com" / "api" / "v3" / "klines"
DEPTH = HERE / "api.binance.com" / "api" / "v3" / "depth"
START, END = dt.datetime(2025, 1, 8, 10, tzinfo=dt.UTC), dt.datetime(2025, 1, 8, 12, tzinfo=dt.UTC)
LEVELS = 100
TICK = 0.01
# pair: (first lastUpdateId, mean gap between levels in ticks, median level quantity, quantity decimals)
PAIRS = {
    "BTCUSDT": (58_112_475_902, 25.0, 0.08, 5),
    "ETHUSDT": (41_236_590_117, 3.0, 2.5, 4),
    "SOLUSDT": (13_802_114_655, 1.6, 40.0, 3),
}


def opens(pair: str) -> dict[int, float]:
    """The sample's opening price per minute (ms), from the REST answer of 2025-01-08."""
    return {row[0]: float(row[1]) for row in json.loads((KLINES / f"{pair}.json").read_text())}


def side(rng: random.Random, best_ticks: int, direction: int, gap: float, median: float, decimals: int) -> list:
    """LEVELS levels from the best price outwards (direction -1: bids, +1: asks), in integer ticks."""
    levels, ticks = [], best_ticks
    for depth in range(LEVELS):
        quantity = round(median * rng.lognormvariate(0, 1.1) * (1 + depth / 40), decimals)
        levels.append([f"{ticks * TICK:.8f}", f"{max(quantity, 10**-decimals):.8f}"])
        ticks += direction * (1 + int(rng.expovariate(1 / max(gap - 1, 0.01))))
    return levels


def book(rng: random.Random, update_id: int, price: float, pair: str) -> dict:
    _, gap, median, decimals = PAIRS[pair]
    spread_ticks = 1 if rng.random() < 0.8 else rng.randint(2, 6)
    best_bid = math.floor(price / TICK) - rng.randint(0, spread_ticks - 1)
    best_ask = best_bid + spread_ticks
    return {
        "lastUpdateId": update_id,
        "bids": side(rng, best_bid, -1, gap, median, decimals),
        "asks": side(rng, best_ask, +1, gap, median, decimals),
    }


def main() -> None:
    rng = random.Random(20250108_1000)
    DEPTH.mkdir(parents=True, exist_ok=True)
    for pair, (update_id, *_) in PAIRS.items():
        prices = opens(pair)
        lines, minute = [], START
        while minute < END:
            update_id += rng.randint(20_000, 90_000)
            answer = book(rng, update_id, prices[int(minute.timestamp() * 1000)], pair)
            lines.append(json.dumps(answer, separators=(",", ":")))
            minute += dt.timedelta(minutes=1)
        body = ("\n".join(lines) + "\n").encode()
        (DEPTH / f"{pair}.jsonl.gz").write_bytes(gzip.compress(body, compresslevel=9, mtime=0))


if __name__ == "__main__":
    main()
