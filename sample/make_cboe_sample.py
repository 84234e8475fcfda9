"""Writes the made Cboe index histories under sample/cdn.cboe.com/api/global/us_indices/daily_prices/.

Run from the repository root: `.venv/bin/python sample/make_cboe_sample.py`. Seeded, so the files come
out byte for byte the same; they are committed, this script documents how. They are MADE, never Cboe's:
Cboe restricts reuse of its data, so no Cboe-published value may be bundled (sample/README.md).

Cboe's layouts as its files have them: `DATE,OPEN,HIGH,LOW,CLOSE` for VIX, VIX9D and VIX3M, `DATE,VVIX`
for VVIX (close only), dates MM/DD/YYYY, values to the cent written with six decimals, LF line ends,
oldest first. Every XNYS trading day from 2023-01-03 to 2025-01-10 (both sample worlds: equities
2024-03..2024-07-12, crypto 2024-12..2025-01-08).
The levels are a mean-reverting walk of log VIX around 16 with VIX9D above VIX and VIX3M below it when
VIX is high (an inverted term structure), VVIX rising with VIX: plausible, not market data. VIX's row of
2024-05-08 has an OPEN outside its LOW..HIGH, as tens of Cboe's real VIX rows do.
"""

import datetime as dt
import math
import random
from pathlib import Path

import exchange_calendars as xcals

from resources.cboe import DEFAULT_INDEXES, DIRECTORY, file_name, index_list, parse_history

HERE = Path(__file__).resolve().parent
OUT = HERE / "cdn.cboe.com" / DIRECTORY.strip("/")
FIRST, LAST = dt.date(2023, 1, 3), dt.date(2025, 1, 10)
SEED = 20250110
MEAN = math.log(16.0)
BAD_OPEN_DAY = dt.date(2024, 5, 8)  # the sample's row with OPEN outside LOW..HIGH


def trading_days() -> list[dt.date]:
    calendar = xcals.get_calendar("XNYS", start=FIRST.isoformat())
    return [ts.date() for ts in calendar.sessions_in_range(FIRST.isoformat(), LAST.isoformat())]


def day_bar(rng: random.Random, previous: float, close: float) -> tuple[float, float, float, float]:
    """Open near the previous close, high and low around the open and close."""
    opened = previous * math.exp(rng.gauss(0, 0.03))
    high = max(opened, close) * math.exp(abs(rng.gauss(0, 0.03)))
    low = min(opened, close) * math.exp(-abs(rng.gauss(0, 0.025)))
    return opened, high, low, close


def make(rng: random.Random) -> dict[str, dict[dt.date, tuple[float | None, ...]]]:
    """Every default index: day -> (open, high, low, close), or (close,) for VVIX."""
    made: dict[str, dict[dt.date, tuple[float | None, ...]]] = {index: {} for index in index_list(DEFAULT_INDEXES)}
    level = math.log(21.0)  # early 2023 was in the low 20s
    previous = {"VIX": 21.0, "VIX9D": 20.0, "VIX3M": 23.0}
    for day in trading_days():
        shock = rng.gauss(0, 0.065) + (rng.random() < 0.02) * abs(rng.gauss(0.25, 0.1))
        level += 0.06 * (MEAN - level) + shock
        level = max(level, math.log(9.5))
        stress = level - MEAN
        closes = {
            "VIX": math.exp(level),
            "VIX9D": math.exp(level + 0.6 * stress - 0.05 + rng.gauss(0, 0.04)),
            "VIX3M": math.exp(level - 0.35 * stress + 0.12 + rng.gauss(0, 0.02)),
        }
        for index, close in closes.items():
            made[index][day] = day_bar(rng, previous[index], close)
            previous[index] = close
        made["VVIX"][day] = (82.0 * math.exp(0.45 * stress + rng.gauss(0, 0.05)) + 12.0 * abs(shock) * 10,)
    _, high, low, close = made["VIX"][BAD_OPEN_DAY]
    made["VIX"][BAD_OPEN_DAY] = (round(low / 6, 2), high, low, close)
    return made


def csv(index: str, rows: dict[dt.date, tuple[float | None, ...]]) -> bytes:
    """Cboe's layout for the index: OHLC, or the close alone under the index's name; values in cents
    written with six decimals (17.240000), as Cboe's files write them."""
    header = "DATE,OPEN,HIGH,LOW,CLOSE" if len(next(iter(rows.values()))) == 4 else f"DATE,{index}"
    lines = [header]
    for day in sorted(rows):
        lines.append(f"{day:%m/%d/%Y}," + ",".join(f"{round(value, 2):.6f}" for value in rows[day]))
    return ("\n".join(lines) + "\n").encode()


def main() -> None:
    made = make(random.Random(SEED))
    OUT.mkdir(parents=True, exist_ok=True)
    for index, rows in made.items():
        body = csv(index, rows)
        parsed = parse_history(body, index)  # the production parser reads what is written
        (OUT / file_name(index)).write_bytes(body)
        closes = parsed["close"]
        print(f"{index}: {parsed.height} days, close {closes.min():.2f}..{closes.max():.2f}")


if __name__ == "__main__":
    main()
