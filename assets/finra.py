"""FINRA daily short sale volume as a trading-day partitioned raw asset in the lake.

A ranged run (a backfill of a month, the daily re-fetch of the last days) is one process: the asset
walks the days of its partition range itself (BackfillPolicy.single_run). Each parsed day is checked
first (assets.checks: stage, check, publish): a day that fails a blocking check is quarantined, never
published, and its stored version stays. The days that pass are stored a few at a time: each day is
replaced whole, and the days parsed in the last COMMIT_SECONDS (at most COMMIT_ROWS rows) go into
one transaction, since a commit to the catalog costs ~40 ms, as much as parsing a day. Readers see a
long backfill's days arrive every few seconds; memory holds one such batch whatever the range.

A day whose every file carried FINRA's record-count trailer (and matched it) is complete in FINRA's
own words and may replace a stored day whatever its size; a day without trailers may not shrink a
stored day (resources.completeness), unless the run's config says allow_shrink.
"""

import datetime as dt
import time
from collections.abc import Iterator

import dagster as dg
import polars as pl

from assets.checks import Ledger, PublishConfig, Rule, check_specs, fetch_failures, finish
from assets.freshness import DailyVolume, published_by_evening, volume_band_check
from assets.partitions import partition_days, trading_days
from assets.schema import column_schema
from assets.sources import DAILY_TAG, Source
from resources.completeness import Completeness
from resources.finra import FACILITIES, SHORT_VOLUME_MEANINGS, SHORT_VOLUME_SCHEMA, FetchedDay, FinraClient
from resources.lake import Dataset, LakeResource

DATASET = Dataset(
    "finra_short_volume",
    SHORT_VOLUME_SCHEMA,
    order=("trade_date", "facility", "symbol"),
    key=("trade_date", "symbol", "facility"),
    completeness=Completeness(per="trade_date", keys=("symbol", "facility"), measure="total_volume"),
)
ASSET_KEY = dg.AssetKey(["raw", DATASET.name])
VOLUMES = ("short_volume", "short_exempt_volume", "total_volume")
RULES = (
    Rule(
        "short_volume_within_total",
        "0 <= short_exempt_volume <= short_volume <= total_volume on every row.",
        (pl.col("short_volume") >= 0)
        & (pl.col("short_volume") <= pl.col("total_volume"))
        & (pl.col("short_exempt_volume").is_null() | (pl.col("short_exempt_volume") <= pl.col("short_volume"))),
    ),
    Rule(
        "volumes_finite",
        "Every volume is a finite number (no NaN or infinity).",
        pl.all_horizontal(pl.col(c).is_finite().fill_null(c == "short_exempt_volume") for c in VOLUMES),
    ),
)
UNIQUE_CHECK, RANGE_CHECK = "unique_trade_date_symbol_facility", "short_volume_within_total"
COMMIT_ROWS, COMMIT_SECONDS = 500_000, 5.0  # about twelve full-market days


@dg.asset(
    key=ASSET_KEY,
    partitions_def=trading_days,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name="finra",
    kinds={"ducklake", "polars"},
    tags={DAILY_TAG: "market"},
    check_specs=check_specs(ASSET_KEY, DATASET, RULES),
    description=(
        "FINRA Reg SHO daily short sale volume, all six facility files (CNMS, FNSQ, FNQC, FNYX, FNRA, "
        "FORF), replaced a trading day at a time. short_volume includes short_exempt_volume; "
        "total_volume is the volume reported to FINRA's facilities only (off-exchange), not the tape."
    ),
    metadata=column_schema(SHORT_VOLUME_SCHEMA, SHORT_VOLUME_MEANINGS),
)
def finra_short_volume(
    context: dg.AssetExecutionContext, config: PublishConfig, finra: FinraClient, lake: LakeResource
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    config.announce(context.log)
    days = partition_days(context)
    errors: list[str] = []
    unfetched: dict[dt.date, str] = {}
    rows_per_day: dict[str, int] = {}
    rejected: set[str] = set()
    ledger = Ledger(DATASET, RULES)
    pending: list[FetchedDay] = []
    since = time.monotonic()
    for fetched in finra.fetch_days(days):
        if fetched.error is not None:
            context.log.error(str(fetched.error))
            unfetched[fetched.day] = str(fetched.error)
            continue
        label = fetched.day.isoformat()
        failed = ledger.inspect(label, fetched.frame)
        if failed:
            lake.quarantine(DATASET, fetched.frame, label, ", ".join(failed))
            errors.append(f"FINRA {label}: quarantined, failed {', '.join(failed)}; the stored day is unchanged")
            continue
        pending.append(fetched)
        rejected.update(fetched.rejected)
        # Rows per day go to the materialization's metadata, not to one log event per day: each event
        # is a write to the instance's event log (~10 ms on SQLite), a fifth of a day's cost.
        rows_per_day[label] = fetched.frame.height
        if sum(f.frame.height for f in pending) >= COMMIT_ROWS or time.monotonic() - since >= COMMIT_SECONDS:
            errors += store_days(lake, pending, config.allow_shrink)
            pending, since = [], time.monotonic()
    errors += store_days(lake, pending, config.allow_shrink)
    problems = [*fetch_failures(lake, DATASET, "trade_date", unfetched, lambda day: f"FINRA {day}"), *errors]
    yield from finish(
        ledger,
        problems,
        _summary(rows_per_day, sorted(rejected)),
        headline=f"{len(problems)} of {len(days)} trading days failed",
    )


def store_days(lake: LakeResource, days: list[FetchedDay], allow_shrink: bool) -> list[str]:
    """Replace each day whole, all of them in one transaction (one delete and one insert: a statement
    per day cost twice as much). A day whose files all carried their trailers is complete; another may
    not shrink its stored day. Returns the refusals (those days keep their stored rows)."""
    if not days:
        return []
    frame = pl.concat([fetched.frame for fetched in days])
    return lake.replace(
        DATASET,
        frame,
        where={"trade_date": [f.day for f in days]},
        allow_shrink=allow_shrink,
        complete=[f.day for f in days if f.complete],
    ).refused


def _summary(rows_per_day: dict[str, int], rejected: list[str]) -> dict[str, dg.MetadataValue | int]:
    shown = list(rows_per_day.items())[-31:]
    return {
        "dagster/row_count": sum(rows_per_day.values()),
        "days": len(rows_per_day),
        "facilities": dg.MetadataValue.json([f.code for f in FACILITIES]),
        "rejected_symbols": dg.MetadataValue.json(rejected[:100]),
        "rows_per_day": dg.MetadataValue.md(
            "| day | rows |\n|---|---|\n" + "\n".join(f"| {d} | {n} |" for d, n in shown)
        ),
    }


SOURCE = Source(
    client=FinraClient,
    assets=[finra_short_volume],
    datasets=[DATASET],
    freshness=published_by_evening([ASSET_KEY]),
    checks=[volume_band_check(DailyVolume(ASSET_KEY, DATASET, "trade_date", "total_volume"))],
)
