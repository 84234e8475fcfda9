"""Nasdaq Trader's symbol directory (nasdaqlisted.txt, otherlisted.txt) and the symbol pattern.

Both files are pipe-delimited with a header row and end in a `File Creation Time: MMDDYYYYHH:MM`
trailer; the trailer's date is the day the snapshot describes. Test issues are dropped; the ETF flag
and the listing exchange are kept. The directory lists only what trades today, so tickerlake keeps
every day's snapshot and derives delistings from them (no survivorship bias).

Columns are read by their header names, never by position. nasdaqlisted.txt had no ETF column (nor
NextShares) in its older layout (`Symbol|Security Name|Market Category|Test Issue|Financial Status|
Round Lot Size`, e.g. the real file of 2014-10-10 in tests/fixtures/real/): such a file is read with
`is_etf` null (unknown, not False: it lists ETFs such as QQQ), as long as its header has only the
columns that layout is known to have.
"""

import datetime as dt
import io
import re
from typing import ClassVar

import polars as pl
from pydantic import Field

from resources.http import HttpSource, SourceError, join_url, names_its_errors

DEFAULT_BASE_URL = "https://www.nasdaqtrader.com"
NASDAQ_LISTED = "nasdaqlisted.txt"
OTHER_LISTED = "otherlisted.txt"

# Tickers as FINRA and the exchanges write them: upper-case letters and digits, then at most 13 more
# of those or the class/series marks . - $ ^ = + (e.g. BRK.B, ABR$D). Anything else never becomes a
# partition key, a lake path or a SQL value.
SYMBOL_PATTERN = re.compile(r"[A-Z0-9][A-Z0-9.\-$^=+]{0,13}")

# nasdaqlisted.txt's older layout (before the ETF and NextShares columns were added): read with is_etf null.
NASDAQ_LISTED_WITHOUT_ETF = (
    "Symbol",
    "Security Name",
    "Market Category",
    "Test Issue",
    "Financial Status",
    "Round Lot Size",
)

OTHER_EXCHANGES = {"A": "NYSE American", "N": "NYSE", "P": "NYSE Arca", "Z": "Cboe BZX", "V": "IEX"}
NASDAQ_TIERS = {"Q": "Nasdaq Global Select", "G": "Nasdaq Global Market", "S": "Nasdaq Capital Market"}

DIRECTORY_SCHEMA: dict[str, pl.DataType] = {
    "snapshot_date": pl.Date(),
    "symbol": pl.String(),
    "security_name": pl.String(),
    "exchange": pl.String(),
    "is_etf": pl.Boolean(),
    "source_file": pl.String(),
}

DIRECTORY_MEANINGS = {
    "snapshot_date": "The directory file's own creation day (its 'File Creation Time').",
    "symbol": "Ticker in the lake's form (NASDAQ/ACT symbol, class shares with a dot).",
    "security_name": "The security name as Nasdaq Trader lists it.",
    "exchange": "Listing exchange (Nasdaq tier, NYSE, NYSE American, NYSE Arca, Cboe BZX, IEX).",
    "is_etf": "True for an ETF (null in the older nasdaqlisted layout, which has no ETF column).",
    "source_file": "nasdaqlisted.txt or otherlisted.txt.",
}

_TRAILER = re.compile(rb"^File Creation Time: (\d{2})(\d{2})(\d{4})(\d{2}):(\d{2})")


class InvalidSymbol(ValueError):
    """A symbol that does not match SYMBOL_PATTERN."""


class DirectoryFileError(SourceError):
    """A symbol directory file that is not in Nasdaq Trader's format."""


# CQS suffixes (FINRA's files, the directory's "CQS Symbol") -> the ACT form the directory lists as
# its symbol, which every table of the lake uses: BRK/B -> BRK.B, ABRpA -> ABR$A, AIG/WS -> AIG.W.
# Checked against every row of two real otherlisted.txt, of 2014 and 2025 (tests/test_real_files.py).
# Written once in the regex syntax polars (Rust) takes: ${1} for a group, $$ for a dollar sign.
CQS_TO_ACT = (
    (r"/CL$", ""),  # called for redemption: the same security
    (r"/", "."),
    (r"\.WS\.([A-Z])$", ".${1}"),
    (r"p([A-Z]?)(\.|$)", "$$${1}${2}"),
    (r"\.WS$", ".W"),
    (r"rw$", ".V"),
    (r"r$", ".R"),
    (r"w$", ".WI"),
)
_PYTHON_RULES = [
    (re.compile(pattern), re.sub(r"\$\{(\d)\}", r"\\g<\1>", replacement).replace("$$", "$"))
    for pattern, replacement in CQS_TO_ACT
]


def normalize_symbol(symbol: str) -> str:
    """A ticker in the lake's one form (the directory's ACT symbol), whatever convention the source uses."""
    symbol = symbol.strip()
    for pattern, replacement in _PYTHON_RULES:
        symbol = pattern.sub(replacement, symbol)
    return symbol


def normalized_symbols(column: pl.Expr) -> pl.Expr:
    """normalize_symbol as a polars expression: a day's 40,000 symbols without a Python call each."""
    expr = column.str.strip_chars()
    for pattern, replacement in CQS_TO_ACT:
        expr = expr.str.replace_all(pattern, replacement)
    return expr


def is_valid_symbol(column: pl.Expr) -> pl.Expr:
    return column.str.contains(f"^(?:{SYMBOL_PATTERN.pattern})$")


def validate_symbol(symbol: str) -> str:
    """Return `symbol` if it matches SYMBOL_PATTERN, else raise naming the offending value."""
    if not isinstance(symbol, str) or not SYMBOL_PATTERN.fullmatch(symbol):
        raise InvalidSymbol(
            f"invalid symbol {symbol[:40] if isinstance(symbol, str) else symbol!r}: symbols must match "
            f"{SYMBOL_PATTERN.pattern} (1-14 ASCII upper-case letters, digits and . - $ ^ = +)"
        )
    return symbol


def split_trailed(
    body: bytes, what: str, trailer: re.Pattern[bytes], named: str, error: type[SourceError] = DirectoryFileError
) -> tuple[list[str], list[bytes], re.Match[bytes]]:
    """A Nasdaq Trader file's header names, data lines and the match of its last line against `trailer`
    (`named` in errors).

    Nasdaq Trader ends its pipe files with a line stating when the file was created: a file without it
    was cut short (or is not the file), so it is refused, naming `what`, and never read as complete."""
    lines = body.replace(b"\r\n", b"\n").rstrip(b"\n").split(b"\n")
    found = trailer.match(lines[-1]) if lines else None
    if len(lines) < 2 or found is None:
        raise error(f"{what}: no {named} trailer (truncated or not this file)")
    return lines[0].decode("ascii", errors="replace").split("|"), lines[1:-1], found


def _split(body: bytes, name: str) -> tuple[list[str], list[bytes], dt.date]:
    header, rows, trailer = split_trailed(body, f"Nasdaq Trader {name}", _TRAILER, "'File Creation Time'")
    month, day, year = (int(g) for g in trailer.groups()[:3])
    return header, rows, dt.date(year, month, day)


def read_fields(
    header: list[str],
    rows: list[bytes],
    what: str,
    required: list[str],
    older_layout: tuple[str, ...] = (),
    error: type[SourceError] = DirectoryFileError,
) -> pl.DataFrame:
    """The rows as strings under their header names, every row with the header's number of fields.
    `older_layout`: a header that is exactly these columns (in any order) is accepted although it lacks
    some of `required` (the caller fills them)."""
    missing = [c for c in required if c not in header]
    if missing and sorted(header) != sorted(older_layout):
        older = f" and is not the older layout {'|'.join(older_layout)!r}" if older_layout else ""
        raise error(f"{what} line 1: header lacks {missing}{older}: {'|'.join(header)[:200]!r}")
    for offset, row in enumerate(rows):
        if row.count(b"|") != len(header) - 1:
            raise error(f"{what} line {offset + 2}: expected {len(header)} fields: {row[:200]!r}")
    return pl.read_csv(
        io.BytesIO(b"\n".join(rows)),
        has_header=False,
        new_columns=header,
        separator="|",
        quote_char=None,
        schema={c: pl.String() for c in header},
    )


@names_its_errors(DirectoryFileError, lambda body: f"Nasdaq Trader {NASDAQ_LISTED}")
def parse_nasdaq_listed(body: bytes) -> pl.DataFrame:
    header, rows, snapshot = _split(body, NASDAQ_LISTED)
    raw = read_fields(
        header,
        rows,
        f"Nasdaq Trader {NASDAQ_LISTED}",
        ["Symbol", "Security Name", "Market Category", "Test Issue", "ETF"],
        older_layout=NASDAQ_LISTED_WITHOUT_ETF,
    )
    frame = raw.filter(pl.col("Test Issue") != "Y").select(
        pl.lit(snapshot).alias("snapshot_date"),
        pl.col("Symbol").alias("symbol"),
        pl.col("Security Name").alias("security_name"),
        pl.col("Market Category").replace_strict(NASDAQ_TIERS, default="Nasdaq").alias("exchange"),
        (pl.col("ETF") == "Y").alias("is_etf") if "ETF" in header else pl.lit(None, pl.Boolean()).alias("is_etf"),
        pl.lit(NASDAQ_LISTED).alias("source_file"),
    )
    return frame.cast(DIRECTORY_SCHEMA)


@names_its_errors(DirectoryFileError, lambda body: f"Nasdaq Trader {OTHER_LISTED}")
def parse_other_listed(body: bytes) -> pl.DataFrame:
    header, rows, snapshot = _split(body, OTHER_LISTED)
    raw = read_fields(
        header, rows, f"Nasdaq Trader {OTHER_LISTED}", ["ACT Symbol", "Security Name", "Exchange", "Test Issue", "ETF"]
    )
    frame = raw.filter(pl.col("Test Issue") != "Y").select(
        pl.lit(snapshot).alias("snapshot_date"),
        pl.col("ACT Symbol").alias("symbol"),
        pl.col("Security Name").alias("security_name"),
        pl.col("Exchange").replace_strict(OTHER_EXCHANGES, default=None).alias("exchange"),
        (pl.col("ETF") == "Y").alias("is_etf"),
        pl.lit(OTHER_LISTED).alias("source_file"),
    )
    unknown = frame.filter(pl.col("exchange").is_null())
    if unknown.height:
        raise DirectoryFileError(f"Nasdaq Trader {OTHER_LISTED}: unknown exchange code for {unknown['symbol'][0]!r}")
    return frame.cast(DIRECTORY_SCHEMA)


def split_valid_symbols(frame: pl.DataFrame) -> tuple[pl.DataFrame, list[str]]:
    """Rows whose symbol matches SYMBOL_PATTERN, and the symbols that do not (reported, never guessed)."""
    ok = frame["symbol"].str.contains(f"^{SYMBOL_PATTERN.pattern}$").fill_null(False)
    return frame.filter(ok), frame.filter(~ok)["symbol"].to_list()


class SymbolDirectoryClient(HttpSource):
    """Downloads both directory files from nasdaqtrader.com/dynamic/SymDir/ (or a mirror)."""

    source_name: ClassVar[str] = "Nasdaq Trader"
    base_url: str = Field(default=DEFAULT_BASE_URL, description="Host serving /dynamic/SymDir/.")

    def listed(self) -> pl.DataFrame:
        """Today's listed symbols from both files; they must describe the same day."""
        frames = []
        with self.session() as client:
            for name, parse in ((NASDAQ_LISTED, parse_nasdaq_listed), (OTHER_LISTED, parse_other_listed)):
                url = join_url(self.base_url, f"/dynamic/SymDir/{name}")
                frames.append(parse(self.fetch(client, url, f"Nasdaq Trader {name}").content))
        dates = {f["snapshot_date"][0] for f in frames if f.height}
        if len(dates) > 1:
            raise DirectoryFileError(f"Nasdaq Trader: the two files describe different days {sorted(dates)}")
        return pl.concat(frames).unique(["symbol"], keep="first", maintain_order=True)
