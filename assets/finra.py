"""FINRA daily short sale volume as a trading-day partitioned raw asset in the lake.

A ranged run (a backfill of a month, the daily re-fetch of the last days) is one process: the asset
walks the days of its partition range itself (BackfillPolicy.single_run). Parsed days are checked,
then stored a few at a time: each day is replaced whole, and the days parsed in the last
COMMIT_SECONDS (at most COMMIT_ROWS rows) go into one transaction, since a commit to the catalog
costs ~40 ms, as much as parsing a day. Readers see a long backfill's days arrive every few seconds;
memory holds one such batch whatever the range.
"""

import time
from collections.abc import Iterator

import dagster as dg
import polars as pl

from assets.partitions import partition_days, trading_days
from assets.schema import column_schema
from resources.finra import FACILITIES, SHORT_VOLUME_SCHEMA, FetchedDay, FinraClient
from resources.lake import Dataset, LakeResource

DATASET = Dataset("finra_short_volume", SHORT_VOLUME_SCHEMA, order=("trade_date", "facility", "symbol"))
ASSET_KEY = dg.AssetKey(["raw", DATASET.name])
KEY_COLUMNS = ["trade_date", "symbol", "facility"]

COMMIT_ROWS, COMMIT_SECONDS = 500_000, 5.0  # about twelve full-market days
UNIQUE_CHECK = "unique_trade_date_symbol_facility"
RANGE_CHECK = "short_volume_within_total"


@dg.asset(
    key=ASSET_KEY,
    partitions_def=trading_days,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name="finra",
    kinds={"ducklake", "polars"},
    check_specs=[
        dg.AssetCheckSpec(UNIQUE_CHECK, asset=ASSET_KEY, blocking=True,
                          description="No (trade_date, symbol, facility) appears twice."),
        dg.AssetCheckSpec(RANGE_CHECK, asset=ASSET_KEY, blocking=True,
                          description="0 <= short_volume <= total_volume on every row."),
    ],
    description=(
        "FINRA Reg SHO daily short sale volume, all six facility files (CNMS, FNSQ, FNQC, FNYX, FNRA, "
        "FORF), replaced a trading day at a time. short_volume includes short_exempt_volume; "
        "total_volume is the volume reported to FINRA's facilities only (off-exchange), not the tape."
    ),
    metadata=column_schema(SHORT_VOLUME_SCHEMA),
)
def finra_short_volume(
    context: dg.AssetExecutionContext, finra: FinraClient, lake: LakeResource
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    days = partition_days(context)
    errors: list[str] = []
    rows_per_day: dict[str, int] = {}
    checks = StoredChecks()
    pending: list[FetchedDay] = []
    since = time.monotonic()
    for fetched in finra.fetch_days(days):
        if fetched.error is not None:
            context.log.error(str(fetched.error))
            errors.append(str(fetched.error))
            continue
        checks.add(fetched.frame)
        pending.append(fetched)
        # Rows per day go to the materialization's metadata, not to one log event per day: each event
        # is a write to the instance's event log (~10 ms on SQLite), a fifth of a day's cost.
        rows_per_day[fetched.day.isoformat()] = fetched.frame.height
        if sum(f.frame.height for f in pending) >= COMMIT_ROWS or time.monotonic() - since >= COMMIT_SECONDS:
            store_days(lake, pending)
            pending, since = [], time.monotonic()
    store_days(lake, pending)
    if errors:
        raise dg.Failure(
            description=f"{len(errors)} of {len(days)} trading days failed; stored partitions of those days "
            "were left as they were:\n" + "\n".join(errors),
            metadata={"failed_days": len(errors), "written_days": len(rows_per_day)},
        )
    yield dg.MaterializeResult(metadata=_summary(checks, rows_per_day))
    yield from checks.results()


def store_days(lake: LakeResource, days: list[FetchedDay]) -> None:
    """Replace each day whole, all of them in one transaction (one delete and one insert: a statement
    per day cost twice as much)."""
    if days:
        frame = pl.concat([fetched.frame for fetched in days])
        lake.replace(DATASET, frame, where={"trade_date": [fetched.day for fetched in days]})


def _summary(checks: "StoredChecks", rows_per_day: dict[str, int]) -> dict[str, dg.MetadataValue | int]:
    shown = list(rows_per_day.items())[-31:]
    return {
        "dagster/row_count": sum(checks.rows_by_facility.values()),
        "days": len(rows_per_day),
        "rows_by_facility": dg.MetadataValue.json(checks.rows_by_facility),
        "rows_per_day": dg.MetadataValue.md(
            "| day | rows |\n|---|---|\n" + "\n".join(f"| {d} | {n} |" for d, n in shown)
        ),
    }


class StoredChecks:
    """The asset checks over the run's days, added one parsed day at a time as it is stored.

    Keys never span days (trade_date is part of the key), so per-day checks add up to the checks of
    the range, and memory stays at one day whatever the length of a backfill.
    """

    def __init__(self) -> None:
        self.rows_by_facility = {f.code: 0 for f in FACILITIES}
        self.duplicates: list[pl.DataFrame] = []
        self.out_of_range: list[pl.DataFrame] = []
        self.duplicate_count = 0
        self.out_of_range_count = 0

    def add(self, stored: pl.DataFrame) -> None:
        if stored.height == 0:
            return
        for facility, count in stored.group_by("facility").len().iter_rows():
            self.rows_by_facility[facility] = self.rows_by_facility.get(facility, 0) + count
        if stored.select(pl.struct(KEY_COLUMNS).n_unique()).item() < stored.height:  # the cheap test first
            duplicates = stored.group_by(KEY_COLUMNS).len().filter(pl.col("len") > 1).drop("len")
            self.duplicate_count += duplicates.height
            self.duplicates.append(duplicates.head(5))
        bad = stored.filter(~((pl.col("short_volume") >= 0) & (pl.col("short_volume") <= pl.col("total_volume"))))
        self.out_of_range_count += bad.height
        self.out_of_range.append(bad.head(5))

    def results(self) -> Iterator[dg.AssetCheckResult]:
        yield dg.AssetCheckResult(
            check_name=UNIQUE_CHECK,
            passed=self.duplicate_count == 0,
            metadata={"duplicate_keys": self.duplicate_count,
                      "examples": dg.MetadataValue.md(_examples(_first(self.duplicates)))},
        )
        yield dg.AssetCheckResult(
            check_name=RANGE_CHECK,
            passed=self.out_of_range_count == 0,
            metadata={"rows_out_of_range": self.out_of_range_count,
                      "examples": dg.MetadataValue.md(_examples(_first(self.out_of_range)))},
        )


def _first(frames: list[pl.DataFrame]) -> pl.DataFrame:
    nonempty = [f for f in frames if f.height]
    return pl.concat(nonempty).head(5) if nonempty else pl.DataFrame()


def _examples(frame: pl.DataFrame, limit: int = 5) -> str:
    if frame.height == 0:
        return "none"
    head = frame.head(limit)
    lines = ["| " + " | ".join(head.columns) + " |", "|" + "---|" * len(head.columns)]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in head.iter_rows()]
    return "\n".join(lines)
