"""Writes the made SEC fails-to-deliver zips under sample/www.sec.gov/files/data/fails-deliver-data/.

Run from the repository root: `.venv/bin/python sample/make_sec_fails_sample.py`. Seeded, and the zip
entries carry fixed times, so the files come out byte for byte the same; they are committed, this
script documents how (sample/README.md says why they are made: SEC's files of the sample's days are
not available here).

CUSIPs and descriptions are real ones, read from SEC's own files in tests/fixtures/real/ftd/ (of 2020
and 2021), except where those files lack the security (MADE below); quantities and which days a
symbol fails are synthetic; prices are the sample's own Yahoo closes of the previous trading day.
"""

import datetime as dt
import io
import json
import random
import zipfile
from pathlib import Path

import polars as pl
from make_finra_sample import NMS  # the sibling script: the FINRA sample's 30 NMS symbols

from assets.partitions import sessions
from resources.sec_fails import HEADER, HalfMonth, half_months, parse_fails, unzip_text

HERE = Path(__file__).resolve().parent
OUT = HERE / "www.sec.gov" / "files" / "data" / "fails-deliver-data"
REAL = HERE.parent / "tests" / "fixtures" / "real" / "ftd"
FIRST, LAST = dt.date(2024, 3, 1), dt.date(2024, 7, 12)
# How SEC's files of 2020-2021 spell a sample symbol: FB before Meta's renaming, class B without its dot.
REAL_SPELLING = {"META": "FB", "BRK.B": "BRKB"}
WRITTEN = {"BRK.B": "BRKB"}  # SEC drops the class separator
MADE = {
    # Not in the real files: a made CUSIP (check digit valid) and description.
    "SOFI": ("99ZSOF10", "SOFI TECHNOLOGIES INC COM"),
}
RENAMED = {"META": "META PLATFORMS INC CL A"}  # made: the real files predate the renaming
SPIKE = ("GME", dt.date(2024, 5, 14), dt.date(2024, 6, 14), 25.0)  # made: fails far above usual in the meme weeks
MISSING_PRICE_SHARE = 0.01


def cusip_check_digit(base: str) -> str:
    """The ninth character of a CUSIP: the modulus-10 double-add-double sum of the first eight."""
    total = 0
    for position, char in enumerate(base):
        value = int(char) if char.isdigit() else ord(char) - ord("A") + 10
        value *= 2 if position % 2 else 1
        total += value // 10 + value % 10
    return str((10 - total % 10) % 10)


def securities() -> dict[str, tuple[str, str, str]]:
    """Sample symbol -> (CUSIP, symbol as SEC writes it, description)."""
    first, second = HalfMonth(2020, 9, "a"), HalfMonth(2021, 1, "b")
    frames = [
        parse_fails(unzip_text((REAL / first.file_name).read_bytes(), first), first).frame,
        parse_fails((REAL / f"{second.stem}.txt").read_bytes(), second).frame,
    ]
    real = {row[0]: (row[1], row[2]) for row in pl.concat(frames).select("symbol", "cusip", "description").rows()}
    found = {}
    for symbol in NMS:
        if symbol in MADE:
            base, description = MADE[symbol]
            cusip = base + cusip_check_digit(base)
        else:
            cusip, description = real[REAL_SPELLING.get(symbol, symbol)]
        found[symbol] = (cusip, WRITTEN.get(symbol, symbol), RENAMED.get(symbol, description))
    return found


def previous_closes(symbol: str) -> dict[dt.date, float]:
    """Trading day -> the close of the sample's trading day before it (SEC prints the previous close)."""
    path = HERE / "query1.finance.yahoo.com" / "v8" / "finance" / "chart" / symbol.replace(".", "-")  # Yahoo's BRK-B
    chart = json.loads(path.read_bytes())
    result = chart["chart"]["result"][0]
    days = [dt.datetime.fromtimestamp(t, dt.UTC).date() for t in result["timestamp"]]
    closes = result["indicators"]["quote"][0]["close"]
    return {day: closes[i - 1] for i, day in enumerate(days) if i > 0}


def ebcdic_order(cusip: str) -> tuple:
    """SEC's files sort CUSIPs letters before digits (G0120M117 before 000304105), as EBCDIC does."""
    return tuple((char.isdigit(), char) for char in cusip)


def half_month_file(half: HalfMonth, rng: random.Random, known: dict, prices: dict) -> bytes:
    lines, total = [HEADER], 0
    for day in sessions(max(half.first_day, FIRST), min(half.last_day, LAST)):
        if half.half == "a" and day.day == 15:
            continue  # SEC's `a` files end on the 14th
        rows = []
        for symbol, (cusip, written, description) in known.items():
            if rng.random() > 0.75:
                continue  # no fails balance that day: SEC lists the security not at all
            quantity = int(NMS[symbol] * 0.002 * rng.lognormvariate(0, 1.0)) + 1
            if symbol == SPIKE[0] and SPIKE[1] <= day <= SPIKE[2]:
                quantity = int(quantity * SPIKE[3])
            close = prices[symbol].get(day)
            price = "." if close is None or rng.random() < MISSING_PRICE_SHARE else f"{close:.2f}"
            rows.append((cusip, f"{day:%Y%m%d}|{cusip}|{written}|{quantity}|{description[:30]}|{price}"))
            total += quantity
        lines += [line for _, line in sorted(rows, key=lambda row: ebcdic_order(row[0]))]
    count = len(lines) - 1
    lines += [f"Trailer record count {count}", f"Trailer total quantity of shares {total}"]
    return ("\n".join(lines) + "\n").encode("latin-1")


def write_zip(path: Path, member: str, text: bytes, posted: dt.date) -> None:
    """A zip with one member and a fixed entry time, so the bytes never depend on when this runs."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        info = zipfile.ZipInfo(member, date_time=(posted.year, posted.month, posted.day, 15, 30, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        info.create_system = 3
        info.external_attr = 0o644 << 16
        archive.writestr(info, text)
    path.write_bytes(buffer.getvalue())


def main() -> None:
    rng = random.Random(20240301)
    known = securities()
    prices = {symbol: previous_closes(symbol) for symbol in known}
    OUT.mkdir(parents=True, exist_ok=True)
    for half in half_months(HalfMonth.containing(FIRST), HalfMonth.containing(LAST)):
        text = half_month_file(half, rng, known, prices)
        write_zip(OUT / half.file_name, f"{half.stem}.txt", text, half.last_day + dt.timedelta(days=14))


if __name__ == "__main__":
    main()
