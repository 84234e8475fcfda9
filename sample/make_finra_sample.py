"""Writes the made FINRA sample files under sample/cdn.finra.org/ (see sample/README.md for why they are made).

Run from the repository root: `.venv/bin/python sample/make_finra_sample.py`. Seeded, so the files
come out byte for byte the same; they are committed, this script documents how.
"""

import datetime as dt
import random
from pathlib import Path

import exchange_calendars as xcals

OUT = Path(__file__).resolve().parent / "cdn.finra.org" / "equity" / "regsho" / "daily"
FIRST, LAST = dt.date(2024, 3, 1), dt.date(2024, 7, 12)

# symbol: typical daily FINRA-reported volume (shares)
NMS = {
    "AAPL": 28e6,
    "AMC": 9e6,
    "AMD": 22e6,
    "AMZN": 19e6,
    "BAC": 16e6,
    "BRK.B": 1.6e6,
    "CVX": 3.1e6,
    "F": 24e6,
    "GE": 2.6e6,
    "GME": 11e6,
    "GOOGL": 12e6,
    "INTC": 21e6,
    "IWM": 13e6,
    "JNJ": 3.3e6,
    "JPM": 4.2e6,
    "KO": 6.0e6,
    "META": 5.5e6,
    "MSFT": 8.1e6,
    "NIO": 19e6,
    "NVDA": 120e6,
    "PFE": 17e6,
    "PG": 2.9e6,
    "PLTR": 27e6,
    "QQQ": 14e6,
    "SOFI": 23e6,
    "SPY": 25e6,
    "T": 15e6,
    "TSLA": 41e6,
    "WMT": 7.4e6,
    "XOM": 6.3e6,
}
OTC = {"BAYRY": 0.9e6, "HTHIY": 0.2e6, "NSRGY": 0.4e6, "RHHBY": 0.6e6, "SFTBY": 0.3e6, "TCEHY": 1.7e6}
# facility: share of a symbol's NMS volume reported there
TRF_SHARE = {"FNSQ": 0.56, "FNQC": 0.05, "FNYX": 0.39}
MARKET = {"FNSQ": "Q", "FNQC": "B", "FNYX": "N", "FNRA": "D", "FORF": "O"}
HEADER = "Date|Symbol|ShortVolume|ShortExemptVolume|TotalVolume|Market"


def _volume(rng: random.Random, shares: float) -> float:
    """Whole shares mostly; about one row in eight carries fractional shares, as FINRA files do."""
    if rng.random() < 0.125:
        return round(shares, 6)
    return float(round(shares))


def _fmt(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:.6f}".rstrip("0")


def _row(day: dt.date, symbol: str, short: float, exempt: float, total: float, market: str) -> str:
    return f"{day:%Y%m%d}|{symbol}|{_fmt(short)}|{_fmt(exempt)}|{_fmt(total)}|{market}"


def _facility_rows(rng: random.Random, day: dt.date) -> dict[str, dict[str, tuple[float, float, float]]]:
    rows: dict[str, dict[str, tuple[float, float, float]]] = {f: {} for f in (*TRF_SHARE, "FNRA", "FORF")}
    for symbol, typical in NMS.items():
        day_volume = typical * rng.lognormvariate(0, 0.35)
        ratio = min(0.85, max(0.15, rng.gauss(0.47, 0.1)))
        for facility, share in TRF_SHARE.items():
            total = _volume(rng, day_volume * share * rng.uniform(0.8, 1.2))
            short = min(total, _volume(rng, total * ratio * rng.uniform(0.9, 1.1)))
            exempt = min(short, float(round(short * rng.uniform(0, 0.01))))
            rows[facility][symbol] = (short, exempt, total)
        if rng.random() < 0.1:
            total = float(rng.randint(100, 5000))
            rows["FNRA"][symbol] = (float(round(total * ratio)), 0.0, total)
    for symbol, typical in OTC.items():
        total = _volume(rng, typical * rng.lognormvariate(0, 0.4))
        short = min(total, _volume(rng, total * rng.uniform(0.2, 0.7)))
        rows["FORF"][symbol] = (short, float(round(short * rng.uniform(0, 0.005))), total)
    return rows


def _write(path: Path, lines: list[str]) -> None:
    """Header, rows and the record-count trailer, with the CRLF line ends of FINRA's files."""
    path.write_bytes(("\r\n".join([HEADER, *lines, str(len(lines))]) + "\r\n").encode("ascii"))


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    rng = random.Random(20240701)
    days = [s.date() for s in xcals.get_calendar("XNYS").sessions_in_range(str(FIRST), str(LAST))]
    for day in days:
        rows = _facility_rows(rng, day)
        for facility, by_symbol in rows.items():
            lines = [_row(day, s, *v, MARKET[facility]) for s, v in sorted(by_symbol.items())]
            _write(OUT / f"{facility}shvol{day:%Y%m%d}.txt", lines)
        consolidated = []
        for symbol in sorted(NMS):
            parts = [(f, rows[f][symbol]) for f in ("FNQC", "FNSQ", "FNYX", "FNRA") if symbol in rows[f]]
            sums = [round(sum(v[i] for _, v in parts), 6) for i in range(3)]
            consolidated.append(_row(day, symbol, *sums, ",".join(MARKET[f] for f, _ in parts)))
        _write(OUT / f"CNMSshvol{day:%Y%m%d}.txt", consolidated)


if __name__ == "__main__":
    main()
