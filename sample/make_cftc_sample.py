"""Writes the made CFTC Commitments of Traders zips under sample/www.cftc.gov/files/dea/history/.

Run from the repository root: `.venv/bin/python sample/make_cftc_sample.py`. Seeded, so the zips come
out byte for byte the same (their member times are fixed: each year's last release); they are
committed, this script documents how (sample/README.md says why they are made: CFTC's zips of these
years are not in the store).

For 2023, 2024 and 2025: `deacot{YYYY}.zip` holding `annual.txt` (legacy futures-only) and
`fut_fin_txt_{YYYY}.zip` holding `FinFutYY.txt` (Traders in Financial Futures, futures-only), in the
layout of the real files in tests/fixtures/real/cftc/: their header lines verbatim (129 and 87 quoted
columns, the legacy 14th with its leading space), names and the trailing text fields quoted, numbers
unquoted and right-aligned as CFTC pads them, LF line ends for legacy and CRLF for TFF, `.` for a
suppressed trader count. One report a week, dated Tuesday (the Monday before when the Tuesday is a
federal holiday or closure), newest date first within each market like CFTC's files. Markets: the
E-mini S&P 500 (13874A) and CME Bitcoin (133741) in both reports, with Euro FX (099741) and the 10-year
note (043602) in both, SRW wheat (001602) in legacy only and the Nasdaq mini (209742) in TFF only;
their names and contract units are the real files' of 2025 and 2017. The positions are seeded random
walks that keep CFTC's identities (reportable long = the groups' longs plus their spreading, open
interest = reportable + non-reportable); the derived columns (changes, percentages, old/other crops,
trader counts, concentration) are consistent with them or plausible, never read by the lake.
"""

import datetime as dt
import io
import random
import zipfile
from pathlib import Path

from resources.cftc_cot import LEGACY, TFF, is_business_day, parse_report, release_day

HERE = Path(__file__).resolve().parent
OUT = HERE / "www.cftc.gov" / "files" / "dea" / "history"
REAL = HERE.parent / "tests" / "fixtures" / "real" / "cftc"
YEARS = (2023, 2024, 2025)
SEED = 20250311
# code: (name, exchange, commodity, units, open interest to start from, reports, TFF subgroup)
MARKETS = {
    "001602": ("WHEAT-SRW - CHICAGO BOARD OF TRADE", "CBT ", "001 ", "(CONTRACTS OF 5,000 BUSHELS)", 400_000, "L", ""),
    "043602": ("UST 10Y NOTE - CHICAGO BOARD OF TRADE", "CBT ", "043 ", "", 4_500_000, "LT", "F30"),
    "099741": ("EURO FX - CHICAGO MERCANTILE EXCHANGE", "CME ", "099 ", "", 700_000, "LT", "F10"),
    "13874A": ("E-MINI S&P 500 - CHICAGO MERCANTILE EXCHANGE", "CME ", "138 ", "", 2_300_000, "LT", "F20"),
    "133741": ("BITCOIN - CHICAGO MERCANTILE EXCHANGE", "CME ", "133 ", "", 20_000, "LT", "F85"),
    "209742": ("NASDAQ MINI - CHICAGO MERCANTILE EXCHANGE", "CME ", "209 ", "", 290_000, "T", "F20"),
}


def real_header(name: str) -> str:
    return (REAL / name).read_bytes().split(b"\n", 1)[0].rstrip(b"\r").decode()


def units_from_real() -> dict[str, str]:
    """Each market's contract units as the real legacy file of 2025 prints them."""
    units = {}
    for line in (REAL / "deacot2025_annual_20250311.txt").read_text().splitlines()[1:]:
        code = line.split(",")[3]
        if code in MARKETS and code not in units:
            units[code] = line.rsplit('","', 3)[0].rsplit(',"', 1)[1]
    return units


def report_dates(year: int) -> list[dt.date]:
    """Every week's report date of `year`: Tuesday, or Monday when the Tuesday is a federal day off."""
    day = dt.date(year, 1, 1) + dt.timedelta(days=(1 - dt.date(year, 1, 1).weekday()) % 7)
    dates = []
    while day.year == year:
        dates.append(day if is_business_day(day) else day - dt.timedelta(days=1))
        day += dt.timedelta(weeks=1)
    return dates


def split(rng: random.Random, total: int, shares: list[float]) -> list[int]:
    """`total` split by noisy `shares` (whole contracts)."""
    noisy = [max(0.001, s * rng.uniform(0.9, 1.1)) for s in shares]
    return [int(total * s / sum(noisy)) for s in noisy]


def legacy_week(rng: random.Random, oi: int, bias: float) -> dict[str, int]:
    """A week's legacy positions: commercials hold what the speculators and small traders do not."""
    nc_long = int(oi * (0.2 + bias) * rng.uniform(0.9, 1.1))
    nc_short = int(oi * (0.2 - bias) * rng.uniform(0.9, 1.1))
    spread = int(oi * 0.05 * rng.uniform(0.8, 1.2))
    nr_long, nr_short = int(oi * rng.uniform(0.06, 0.12)), int(oi * rng.uniform(0.05, 0.1))
    c_long, c_short = oi - nc_long - spread - nr_long, oi - nc_short - spread - nr_short
    return {
        "oi": oi,
        "nc_long": nc_long,
        "nc_short": nc_short,
        "nc_spread": spread,
        "c_long": c_long,
        "c_short": c_short,
    }


def tff_week(rng: random.Random, oi: int, bias: float) -> dict[str, int]:
    groups = ("dealer", "am", "lev", "other")
    longs = split(rng, int(oi * 0.7), [0.1, 0.5 + bias, 0.2 - bias, 0.05])
    shorts = split(rng, int(oi * 0.7), [0.25, 0.3 - bias, 0.25 + bias, 0.08])
    spreads = split(rng, int(oi * 0.15), [0.02, 0.1, 0.03, 0.01])
    week = {"oi": oi}
    for group, long_, short, spread in zip(groups, longs, shorts, spreads, strict=True):
        week |= {f"{group}_long": long_, f"{group}_short": short, f"{group}_spread": spread}
    return week


def number(value: int) -> str:
    return f"{value:8d}"


def pct(value: int, oi: int) -> str:
    return f"{100 * value / oi if oi else 0.0:7.1f}"


def legacy_line(code: str, day: dt.date, week: dict[str, int], last: dict[str, int], rng: random.Random) -> str:
    name, exchange, commodity, units, *_ = MARKETS[code]
    oi = week["oi"]
    tr_long = week["nc_long"] + week["nc_spread"] + week["c_long"]
    tr_short = week["nc_short"] + week["nc_spread"] + week["c_short"]
    allc = [oi, week["nc_long"], week["nc_short"], week["nc_spread"], week["c_long"], week["c_short"]]
    allc += [tr_long, tr_short, oi - tr_long, oi - tr_short]
    prev = [last["oi"], last["nc_long"], last["nc_short"], last["nc_spread"], last["c_long"], last["c_short"]]
    prev_tr = (
        last["nc_long"] + last["nc_spread"] + last["c_long"],
        last["nc_short"] + last["nc_spread"] + last["c_short"],
    )
    prev += [*prev_tr, last["oi"] - prev_tr[0], last["oi"] - prev_tr[1]]
    changes = [a - b for a, b in zip(allc, prev, strict=True)]
    percents = [f"{100.0:7.1f}", *(pct(v, oi) for v in allc[1:])]
    traders = [rng.randint(100, 500), *(rng.randint(5, 150) for _ in range(7))]
    concentration = [round(rng.uniform(8, 70), 1) for _ in range(8)]
    fields = [f'"{name}"', f"{day:%y%m%d}", f"{day:%Y-%m-%d}", code, exchange, "00", commodity]
    fields += [number(v) for v in allc] * 2 + [number(0)] * 10
    fields += [number(v) for v in changes]
    fields += percents * 2 + [f"{0.0:7.1f}"] * 10
    fields += [f"{v:7d}" for v in traders] * 2 + [f"{0:7d}"] * 8
    fields += [f"{v:8.1f}" for v in concentration] * 2 + [f"{0.0:8.1f}"] * 8
    fields += [f'"{units}"', f'"{code}"', f'"{exchange}"', f'"{commodity}"']
    return ",".join(fields)


def tff_line(code: str, day: dt.date, week: dict[str, int], last: dict[str, int], rng: random.Random) -> str:
    name, exchange, commodity, units, *_, subgroup = MARKETS[code]
    oi = week["oi"]
    groups = ("dealer", "am", "lev", "other")

    def values(w: dict[str, int]) -> list[int]:
        row = [w[f"{g}_{side}"] for g in groups for side in ("long", "short", "spread")]
        tot_long = sum(w[f"{g}_long"] for g in groups) + sum(w[f"{g}_spread"] for g in groups)
        tot_short = sum(w[f"{g}_short"] for g in groups) + sum(w[f"{g}_spread"] for g in groups)
        return [*row, tot_long, tot_short, w["oi"] - tot_long, w["oi"] - tot_short]

    now, before = values(week), values(last)
    traders = [rng.randint(1, 120) for _ in range(14)]
    concentration = [round(rng.uniform(8, 70), 1) for _ in range(8)]
    fields = [f'"{name}"', f"{day:%y%m%d}", f"{day:%Y-%m-%d}", code, exchange, "00", commodity, number(oi)]
    fields += [number(v) for v in now]
    fields += [number(oi - last["oi"]), *(number(a - b) for a, b in zip(now, before, strict=True))]
    fields += [f"{100.0:7.1f}", *(pct(v, oi) for v in now)]
    fields += [f"{rng.randint(60, 600):7d}", *("." if t < 4 else f"{t:7d}" for t in traders)]
    fields += [f"{v:8.1f}" for v in concentration]
    fields += [f'"{units}"', f'"{code}"', f'"{exchange}"', f'"{commodity}"', f'"{subgroup}"', '"FutOnly"']
    return ",".join(fields)


def zipped(member: str, text: bytes, posted: dt.date) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        info = zipfile.ZipInfo(member, date_time=(posted.year, posted.month, posted.day, 20, 30, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        archive.writestr(info, text)
    return buffer.getvalue()


def make() -> dict[str, bytes]:
    """File name -> zip, for both reports and every sample year."""
    rng = random.Random(SEED)
    units = units_from_real()
    for code, (name, exchange, commodity, own, *rest) in MARKETS.items():
        MARKETS[code] = (name, exchange, commodity, own or units[code], *rest)
    legacy_header, tff_header = real_header("deacot2025_annual_20250311.txt"), real_header("FinFut17.txt")
    level = {code: market[4] for code, market in MARKETS.items()}
    bias = dict.fromkeys(MARKETS, 0.0)
    last_legacy = {code: legacy_week(rng, level[code], 0.0) for code in MARKETS}
    last_tff = {code: tff_week(rng, level[code], 0.0) for code in MARKETS}
    files = {}
    for year in YEARS:
        legacy_rows: dict[str, list[str]] = {code: [] for code in MARKETS}
        tff_rows: dict[str, list[str]] = {code: [] for code in MARKETS}
        for day in report_dates(year):
            for code, market in MARKETS.items():
                level[code] = max(1_000, int(level[code] * rng.uniform(0.96, 1.045)))
                bias[code] = min(0.12, max(-0.12, bias[code] + rng.gauss(0, 0.015)))
                if "L" in market[5]:
                    week = legacy_week(rng, level[code], bias[code])
                    legacy_rows[code].append(legacy_line(code, day, week, last_legacy[code], rng))
                    last_legacy[code] = week
                if "T" in market[5]:
                    week = tff_week(rng, level[code], bias[code])
                    tff_rows[code].append(tff_line(code, day, week, last_tff[code], rng))
                    last_tff[code] = week
        posted = release_day(report_dates(year)[-1])
        legacy = [legacy_header, *(line for code in MARKETS for line in reversed(legacy_rows[code]))]
        tff = [tff_header, *(line for code in MARKETS for line in reversed(tff_rows[code]))]
        legacy_text = ("\n".join(legacy) + "\n").encode()
        tff_text = ("\r\n".join(tff) + "\r\n").encode()
        parse_report(legacy_text, LEGACY, year, "annual.txt")  # the production parser reads what is written
        parse_report(tff_text, TFF, year, "FinFutYY.txt")
        files[f"deacot{year}.zip"] = zipped("annual.txt", legacy_text, posted)
        files[f"fut_fin_txt_{year}.zip"] = zipped("FinFutYY.txt", tff_text, posted)
    return files


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, body in make().items():
        (OUT / name).write_bytes(body)
        print(f"{name}: {len(body):,} bytes")


if __name__ == "__main__":
    main()
