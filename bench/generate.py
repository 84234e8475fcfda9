"""A full-market synthetic FINRA mirror (and daily prices) for benchmarks: realistic shapes, not data.

About 11,000 NMS symbols a day (CNMS, with the three TRF files and a sparse ADF file beside it) and
5,000 OTC symbols (ORF), with log-normal volumes and a short ratio around 0.45, one file per
facility and trading day in FINRA's published layout (header, rows, record-count trailer, CRLF).
Symbol names are made from letters in the shapes real tickers have (1-5 letters, some with a
class suffix), so string work is realistic.
"""

import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl

from assets.partitions import sessions

HEADER = "Date|Symbol|ShortVolume|ShortExemptVolume|TotalVolume|Market"
TRF = {"FNSQ": ("Q", 0.80, 0.55), "FNQC": ("B", 0.55, 0.05), "FNYX": ("N", 0.80, 0.40)}


def symbols(count: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    letters = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    names: set[str] = set()
    while len(names) < count:
        length = int(rng.choice([1, 2, 3, 4, 5], p=[0.01, 0.09, 0.35, 0.45, 0.10]))
        name = "".join(rng.choice(letters, length))
        if rng.random() < 0.02:
            name += "." + str(rng.choice(letters[:2]))
        names.add(name)
    return sorted(names)


def _write(path: Path, frame: pl.DataFrame) -> None:
    body = frame.write_csv(separator="|", include_header=False, line_terminator="\r\n", float_precision=0)
    path.write_bytes(f"{HEADER}\r\n{body}{frame.height}\r\n".encode())


def _rows(stamp: int, symbols: list[str], short: np.ndarray, total: np.ndarray, market: str) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "Date": stamp,
            "Symbol": symbols,
            "ShortVolume": short,
            "ShortExemptVolume": np.round(short * 0.004),
            "TotalVolume": total,
            "Market": market,
        }
    )


def finra_day(out: Path, day: dt.date, nms: list[str], otc: list[str], seed: int) -> int:
    """Writes the six files of one day; returns the number of rows."""
    rng = np.random.default_rng(seed)
    stamp = int(day.strftime("%Y%m%d"))
    base = rng.lognormal(12.5, 2.0, len(nms))
    ratio = np.clip(rng.normal(0.45, 0.12, len(nms)), 0.02, 0.98)
    totals = np.zeros(len(nms))
    shorts = np.zeros(len(nms))
    present_any = np.zeros(len(nms), dtype=bool)
    rows = 0
    for facility, (market, coverage, share) in TRF.items():
        present = rng.random(len(nms)) < coverage
        total = np.round(base * share * rng.uniform(0.7, 1.3, len(nms)))
        short = np.minimum(total, np.round(total * ratio * rng.uniform(0.9, 1.1, len(nms))))
        totals += np.where(present, total, 0)
        shorts += np.where(present, short, 0)
        present_any |= present
        frame = pl.DataFrame(
            {
                "Date": stamp,
                "Symbol": nms,
                "ShortVolume": short,
                "ShortExemptVolume": np.round(short * 0.004),
                "TotalVolume": total,
                "Market": market,
            }
        ).filter(pl.Series(present))
        _write(out / f"{facility}shvol{stamp}.txt", frame)
        rows += frame.height
    _write(out / f"FNRAshvol{stamp}.txt", pl.DataFrame(schema={c: pl.String for c in HEADER.split("|")}))
    cnms = pl.DataFrame(
        {
            "Date": stamp,
            "Symbol": nms,
            "ShortVolume": shorts,
            "ShortExemptVolume": np.round(shorts * 0.004),
            "TotalVolume": totals,
            "Market": "B,Q,N",
        }
    ).filter(pl.Series(present_any))
    _write(out / f"CNMSshvol{stamp}.txt", cnms)
    otc_total = np.round(rng.lognormal(10, 2.0, len(otc)))
    otc_short = np.round(otc_total * np.clip(rng.normal(0.35, 0.15, len(otc)), 0, 1))
    orf = pl.DataFrame(
        {
            "Date": stamp,
            "Symbol": otc,
            "ShortVolume": otc_short,
            "ShortExemptVolume": 0.0,
            "TotalVolume": otc_total,
            "Market": "O",
        }
    )
    _write(out / f"FORFshvol{stamp}.txt", orf)
    return rows + cnms.height + orf.height


def finra_mirror(
    root: Path, first: dt.date, last: dt.date, nms_count: int, otc_count: int
) -> tuple[list[dt.date], int]:
    """root/equity/regsho/daily/*.txt for every trading day in [first, last]; returns days and rows."""
    out = root / "equity" / "regsho" / "daily"
    out.mkdir(parents=True, exist_ok=True)
    nms, otc = symbols(nms_count, 1), symbols(otc_count + nms_count, 2)[-otc_count:]
    days = sessions(first, last)
    rows = sum(finra_day(out, day, nms, otc, seed=i) for i, day in enumerate(days))
    return days, rows


def prices(nms: list[str], days: list[dt.date], seed: int = 3) -> pl.DataFrame:
    """Daily bars for every NMS symbol and day, in the lake's prices schema (a random walk)."""
    rng = np.random.default_rng(seed)
    steps = rng.normal(0.0003, 0.02, (len(nms), len(days)))
    close = np.exp(np.log(rng.lognormal(3.5, 1.0, (len(nms), 1))) + np.cumsum(steps, axis=1))
    return pl.DataFrame(
        {
            "trade_date": np.tile(np.array(days, dtype="datetime64[D]"), len(nms)),
            "symbol": np.repeat(nms, len(days)),
            "close": close.ravel(),
        }
    ).with_columns(
        open=pl.col("close"),
        high=pl.col("close") * 1.01,
        low=pl.col("close") * 0.99,
        volume=pl.lit(1e6),
        dividend=pl.lit(0.0),
        split_ratio=pl.lit(1.0),
        currency=pl.lit("USD"),
        provider=pl.lit("bench"),
        trade_date=pl.col("trade_date").cast(pl.Date),
    )
