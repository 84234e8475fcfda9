"""Writes the made Nasdaq Reg SHO threshold lists under sample/www.nasdaqtrader.com/dynamic/symdir/regsho/.

Run from the repository root: `.venv/bin/python sample/make_regsho_sample.py`. Seeded, so the files come
out byte for byte the same; they are committed, this script documents how (sample/README.md says why
they are made: no real threshold list is available here).

One file per trading day of the sample's world, in Nasdaq Trader's layout (resources/regsho_threshold.py):
the header, a row per threshold security ending in the empty Filler field, and the creation time as
YYYYMMDDHHMMSS (23:00 New York and a few seconds) as the last line; CRLF line ends like the symbol
directory's. Only the sample's Nasdaq-listed symbols can be on Nasdaq's list. Most days list nobody or
a few; SOFI stays on for 15 consecutive trading days (past Rule 203(b)(3)'s 13), QQQ leaves and comes
back (two runs), and a few seeded short runs fill in.
"""

import datetime as dt
import random
from pathlib import Path

import exchange_calendars as xcals

OUT = Path(__file__).resolve().parent / "www.nasdaqtrader.com" / "dynamic" / "symdir" / "regsho"
FIRST, LAST = dt.date(2024, 3, 1), dt.date(2024, 7, 12)
HEADER = "Symbol|Security Name|Market Category|Reg SHO Threshold Flag|Rule 3210|Filler"
# The sample's Nasdaq-listed symbols (sample/www.nasdaqtrader.com/dynamic/SymDir/nasdaqlisted.txt): the
# list's name (upper case, cut at 30 characters like Nasdaq's) and Nasdaq's tier.
NASDAQ_LISTED = {
    "AAPL": ("APPLE INC COM", "Q"),
    "AMD": ("ADVANCED MICRO DEVICES INC COM", "Q"),
    "AMZN": ("AMAZON COM INC COM", "Q"),
    "GOOGL": ("ALPHABET INC CAP STK CL A", "Q"),
    "INTC": ("INTEL CORP COM", "Q"),
    "META": ("META PLATFORMS INC CL A", "Q"),
    "MSFT": ("MICROSOFT CORP COM", "Q"),
    "NVDA": ("NVIDIA CORPORATION COM", "Q"),
    "QQQ": ("INVESCO QQQ TR UNIT SER 1", "G"),
    "SOFI": ("SOFI TECHNOLOGIES INC COM", "Q"),
    "TSLA": ("TESLA INC COM", "Q"),
}
# (symbol, first trading day on the list, trading days on it)
RUNS = [("SOFI", dt.date(2024, 4, 15), 15), ("QQQ", dt.date(2024, 3, 11), 6), ("QQQ", dt.date(2024, 3, 20), 4)]
SEEDED_RUNS = 5  # more runs of 1-5 days, on seeded symbols and days


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    rng = random.Random(20240415)
    days = [s.date() for s in xcals.get_calendar("XNYS").sessions_in_range(str(FIRST), str(LAST))]
    runs = RUNS + [(rng.choice(sorted(NASDAQ_LISTED)), rng.choice(days), rng.randint(1, 5)) for _ in range(SEEDED_RUNS)]
    listed: dict[dt.date, set[str]] = {day: set() for day in days}
    for symbol, start, length in runs:
        for day in days[days.index(start) :][:length]:
            listed[day].add(symbol)
    for day in days:
        rows = [f"{s}|{NASDAQ_LISTED[s][0]}|{NASDAQ_LISTED[s][1]}|Y|N|" for s in sorted(listed[day])]
        created = f"{day:%Y%m%d}2300{rng.randint(0, 59):02d}"
        (OUT / f"nasdaqth{day:%Y%m%d}.txt").write_bytes(
            ("\r\n".join([HEADER, *rows, created]) + "\r\n").encode("ascii")
        )


if __name__ == "__main__":
    main()
