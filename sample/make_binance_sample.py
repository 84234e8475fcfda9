"""Writes the made Binance sample (see sample/README.md, "Binance").

Run from the repository root: `.venv/bin/python sample/make_binance_sample.py`. Seeded and
deterministic; the files are committed, this script documents how they were made.

- data.binance.vision: monthly 1m archives for 2024-12 (BTCUSDT, and ETHUSDT, which the sample
  lists from 2024-12-20; timestamps in milliseconds, as before 2025) and daily 1m archives for
  2025-01-01..2025-01-07 (BTCUSDT, ETHUSDT, and SOLUSDT, which the sample lists from 2025-01-01;
  microseconds, as spot files since 2025), each zip beside its `.CHECKSUM`.
- api.binance.com/api/v3/klines/<PAIR>.json: the REST API's answer (JSON array of 12-element
  arrays, times in milliseconds) for 2025-01-08 00:00..12:00 UTC, the minutes no archive holds yet.
  sample/binance_api.py answers /api/v3/klines from the archives plus these, as the real endpoint
  serves every minute.
- api.binance.com/api/v3/ticker/24hr: the 24h ticker of a few pairs, in the API's format.
"""

import datetime as dt
import hashlib
import io
import json
import math
import random
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ARCHIVE = HERE / "data.binance.vision" / "data" / "spot"
API = HERE / "api.binance.com" / "api" / "v3"
UTC = dt.UTC
MONTH_START, DAILY_START, TAIL_START, END = (
    dt.datetime(2024, 12, 1, tzinfo=UTC),
    dt.datetime(2025, 1, 1, tzinfo=UTC),
    dt.datetime(2025, 1, 8, tzinfo=UTC),
    dt.datetime(2025, 1, 8, 12, tzinfo=UTC),
)
# pair: (first minute, price at the first minute, tick size decimals, typical 1m base volume)
PAIRS = {
    "BTCUSDT": (MONTH_START, 96_400.0, 2, 12.0),
    "ETHUSDT": (dt.datetime(2024, 12, 20, tzinfo=UTC), 3_700.0, 2, 180.0),
    "SOLUSDT": (DAILY_START, 189.0, 2, 2_500.0),
}
MINUTE = dt.timedelta(minutes=1)


def minutes(pair: str, rng: random.Random) -> list[list]:
    """A seeded random walk with volatility clustering: rows as Binance lays them out (times in ms)."""
    first, price, decimals, typical = PAIRS[pair]
    rows, moment, volatility = [], first, 0.0006
    while moment < END:
        volatility = min(0.0015, max(0.0002, volatility * math.exp(rng.gauss(0, 0.03))))
        open_ = round(price, decimals)
        path = [open_ * math.exp(rng.gauss(0, volatility) * math.sqrt(k / 4)) for k in range(1, 5)]
        close = round(path[-1], decimals)
        high = round(max(open_, close, *path) * (1 + abs(rng.gauss(0, volatility / 3))), decimals)
        low = round(min(open_, close, *path) * (1 - abs(rng.gauss(0, volatility / 3))), decimals)
        volume = round(typical * rng.lognormvariate(0, 0.8), 5)
        quote = round(volume * (open_ + close) / 2, 8)
        taker = round(volume * rng.uniform(0.35, 0.65), 5)
        start = int(moment.timestamp() * 1000)
        rows.append(
            [
                start,
                open_,
                high,
                low,
                close,
                volume,
                start + 59_999,
                quote,
                max(1, int(volume / typical * 900 * rng.uniform(0.7, 1.3))),
                taker,
                round(taker * (open_ + close) / 2, 8),
                0,
            ]
        )
        price, moment = close, moment + MINUTE
    return rows


def csv_line(row: list, micros: bool) -> str:
    scale = 1000 if micros else 1
    times = (row[0] * scale, row[6] * scale + (999 if micros else 0))
    prices = [f"{v:.8f}" for v in row[1:6]]
    return ",".join(
        [str(times[0]), *prices, str(times[1]), f"{row[7]:.8f}", str(row[8]), f"{row[9]:.8f}", f"{row[10]:.8f}", "0"]
    )


def write_archive(pair: str, cadence: str, period: str, rows: list[list], micros: bool) -> None:
    name = f"{pair}-1m-{period}"
    folder = ARCHIVE / cadence / "klines" / pair / "1m"
    folder.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        info = zipfile.ZipInfo(f"{name}.csv", date_time=(2025, 1, 9, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        archive.writestr(info, "".join(csv_line(r, micros) + "\n" for r in rows))
    body = buffer.getvalue()
    (folder / f"{name}.zip").write_bytes(body)
    (folder / f"{name}.zip.CHECKSUM").write_text(f"{hashlib.sha256(body).hexdigest()}  {name}.zip\n")


def api_row(row: list) -> list:
    return [
        row[0],
        *(f"{v:.8f}" for v in row[1:6]),
        row[6],
        f"{row[7]:.8f}",
        row[8],
        f"{row[9]:.8f}",
        f"{row[10]:.8f}",
        "0",
    ]


def in_range(rows: list[list], start: dt.datetime, end: dt.datetime) -> list[list]:
    low, high = start.timestamp() * 1000, end.timestamp() * 1000
    return [r for r in rows if low <= r[0] < high]


def main() -> None:
    rng = random.Random(20250108)
    tickers = []
    for pair in PAIRS:
        rows = minutes(pair, rng)
        if PAIRS[pair][0] < DAILY_START:
            write_archive(pair, "monthly", "2024-12", in_range(rows, MONTH_START, DAILY_START), micros=False)
        day = DAILY_START
        while day < TAIL_START:
            one_day = in_range(rows, day, day + dt.timedelta(days=1))
            write_archive(pair, "daily", f"{day:%Y-%m-%d}", one_day, micros=True)
            day += dt.timedelta(days=1)
        (API / "klines").mkdir(parents=True, exist_ok=True)
        tail = [api_row(r) for r in in_range(rows, TAIL_START, END)]
        (API / "klines" / f"{pair}.json").write_text(json.dumps(tail, separators=(",", ":")))
        last_day = rows[-1440:]
        tickers.append(
            {
                "symbol": pair,
                "lastPrice": f"{last_day[-1][4]:.8f}",
                "volume": f"{sum(r[5] for r in last_day):.8f}",
                "quoteVolume": f"{sum(r[7] for r in last_day):.8f}",
                "count": sum(r[8] for r in last_day),
            }
        )
    # Pairs the demo's top 3 leaves out: a smaller market, a stablecoin pair, a leveraged token, another quote.
    tickers += [
        {
            "symbol": "DOGEUSDT",
            "lastPrice": "0.37000000",
            "volume": "1500000000.00",
            "quoteVolume": "555000000.00",
            "count": 900000,
        },
        {
            "symbol": "USDCUSDT",
            "lastPrice": "1.00010000",
            "volume": "2500000000.00",
            "quoteVolume": "2500250000.00",
            "count": 1500000,
        },
        {
            "symbol": "BTCUPUSDT",
            "lastPrice": "40.10000000",
            "volume": "900000.00",
            "quoteVolume": "36090000.00",
            "count": 20000,
        },
        {
            "symbol": "ETHBTC",
            "lastPrice": "0.03800000",
            "volume": "30000.00",
            "quoteVolume": "1140.00",
            "count": 200000,
        },
    ]
    (API / "ticker").mkdir(parents=True, exist_ok=True)
    (API / "ticker" / "24hr").write_text(json.dumps(tickers, indent=1) + "\n")


if __name__ == "__main__":
    main()
