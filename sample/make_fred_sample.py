"""Writes the made FRED series under sample/fred.stlouisfed.org/graph/fredgraph/<ID>.csv.

Run from the repository root: `.venv/bin/python sample/make_fred_sample.py`. Seeded, so the files come
out byte for byte the same; they are committed, this script documents how (sample/README.md says why
they are made: FRED cannot be reached from here). sample/fred_api.py answers
`/graph/fredgraph.csv?id=<ID>` with them, as FRED's download does.

The layout is FRED's current one (header `observation_date,<ID>`, an EMPTY value where FRED lists a
date without one: the federal holidays of the daily Treasury series); the real files in
tests/fixtures/real/fred/ show both layouts. The values are random walks from levels near the real
ones of January 2023, not FRED's numbers. Each series ends where FRED would have published it by the
crypto sample's last day, 2025-01-10 (the equity sample ends 2024-07-12; the crypto one runs to 2025-01-08,
and both read these files): daily yields the day before, the broad dollar index a week before (published
Mondays), claims for the week ending 2025-01-04, monthly series for November.
"""

import datetime as dt
import random
from pathlib import Path

from resources.fred import DEFAULT_SERIES, parse_series, series_list

HERE = Path(__file__).resolve().parent
OUT = HERE / "fred.stlouisfed.org" / "graph" / "fredgraph"
FIRST = dt.date(2023, 1, 1)  # history before the sample's days (2024-03-01..2024-07-12, 2024-12..2025-01)
SEED = 20240712
DIGITS = {"DGS10": 2, "DGS2": 2, "T10Y2Y": 2, "DTWEXBGS": 4, "UNRATE": 1, "CPIAUCSL": 3, "ICSA": 0}
HOLIDAYS = {  # federal holidays FRED lists without a Treasury yield
    dt.date(2023, 1, 2),
    dt.date(2023, 1, 16),
    dt.date(2023, 2, 20),
    dt.date(2023, 5, 29),
    dt.date(2023, 6, 19),
    dt.date(2023, 7, 4),
    dt.date(2023, 9, 4),
    dt.date(2023, 10, 9),
    dt.date(2023, 11, 10),
    dt.date(2023, 11, 23),
    dt.date(2023, 12, 25),
    dt.date(2024, 1, 1),
    dt.date(2024, 1, 15),
    dt.date(2024, 2, 19),
    dt.date(2024, 5, 27),
    dt.date(2024, 6, 19),
    dt.date(2024, 7, 4),
    dt.date(2024, 9, 2),
    dt.date(2024, 10, 14),
    dt.date(2024, 11, 11),
    dt.date(2024, 11, 28),
    dt.date(2024, 12, 25),
    dt.date(2025, 1, 1),
}


def days(first: dt.date, last: dt.date, step: int = 1) -> list[dt.date]:
    return [first + dt.timedelta(days=i) for i in range(0, (last - first).days + 1, step)]


def business_days(last: dt.date) -> list[dt.date]:
    return [day for day in days(FIRST, last) if day.weekday() < 5]


def months(last: dt.date) -> list[dt.date]:
    return [dt.date(FIRST.year + m // 12, m % 12 + 1, 1) for m in range((last.year - FIRST.year) * 12 + last.month)]


def walk(rng: random.Random, dates: list[dt.date], start: float, step: float, digits: int) -> dict[dt.date, float]:
    """A random walk pulled back towards its start (2% of the gap a step), so two years stay plausible."""
    values, level = {}, start
    for day in dates:
        level += 0.02 * (start - level) + rng.gauss(0, step)
        values[day] = round(level, digits)
    return values


def listed(values: dict[dt.date, float]) -> dict[dt.date, float | None]:
    """A daily Treasury series as FRED lists it: its holidays dated, without a value."""
    return {day: None if day in HOLIDAYS else value for day, value in values.items()}


def make(rng: random.Random) -> dict[str, dict[dt.date, float | None]]:
    """Every default series: date -> value (None: listed without a value)."""
    daily = business_days(dt.date(2025, 1, 9))
    dgs10 = walk(rng, daily, 3.79, 0.06, 2)
    dgs2 = walk(rng, daily, 4.40, 0.06, 2)
    spread = {day: round(dgs10[day] - dgs2[day], 2) for day in daily}
    monthly = months(dt.date(2024, 11, 1))
    unemployment = {month: min(max(rate, 3.4), 4.1) for month, rate in walk(rng, monthly, 3.5, 0.1, 1).items()}
    prices, level = {}, 299.170
    for month in monthly:
        level *= 1 + rng.gauss(0.0028, 0.0015)
        prices[month] = round(level, 3)
    claims = {day: round(rng.gauss(220_000, 12_000), -3) for day in days(dt.date(2023, 1, 7), dt.date(2025, 1, 4), 7)}
    return {
        "DGS10": listed(dgs10),
        "DGS2": listed(dgs2),
        "T10Y2Y": listed(spread),
        "DTWEXBGS": listed(walk(rng, business_days(dt.date(2025, 1, 3)), 121.5, 0.3, 4)),
        "UNRATE": unemployment,
        "CPIAUCSL": prices,
        "ICSA": claims,
    }


def csv(series_id: str, values: dict[dt.date, float | None]) -> bytes:
    """FRED's current layout, each series with its fixed decimals, as FRED writes them (4.10, not 4.1)."""
    lines = [f"observation_date,{series_id}"]
    for day in sorted(values):
        value = values[day]
        lines.append(f"{day.isoformat()},{'' if value is None else f'{value:.{DIGITS[series_id]}f}'}")
    return ("\n".join(lines) + "\n").encode()


def main() -> None:
    made = make(random.Random(SEED))
    OUT.mkdir(parents=True, exist_ok=True)
    for series_id in series_list(DEFAULT_SERIES):
        body = csv(series_id, made[series_id])
        parse_series(body, series_id)  # the production parser reads what is written
        (OUT / f"{series_id}.csv").write_bytes(body)
        print(f"{series_id}: {len(made[series_id])} observations")


if __name__ == "__main__":
    main()
