"""SEC fails-to-deliver, one partition per half-month file, as SEC published it.

A partition key is the half-month of one SEC file, `2024-03a` for cnsfails202403a.zip: SEC publishes,
and now and then re-publishes, a file at a time, so a file is the unit a run fetches, checks and
replaces whole (a re-run never adds rows). The key sorts in time as text and reads as a month, and the
keys grow by two a month (never per symbol). They are dynamic partitions, added by sensors/sec_fails.py
as the half-months end, from SEC's first file in this layout (2009-07a).

A file whose trailer reconciles says it is complete, so it may replace a stored half-month whatever its
size; a file without its trailer (copies passed around lose it) may not shrink a stored half-month
unless the run says allow_shrink; a file whose trailer does not reconcile is never stored.

Every row carries `published_at`, the file's publication time (its HTTP Last-Modified, else the time
tickerlake first fetched those rows): marts use a value only from then on, never from the settlement
date, which is weeks earlier.
"""

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import dagster as dg
import polars as pl

from assets.checks import Ledger, PublishConfig, Rule, check_specs, finish, publish
from assets.freshness import updated_within
from assets.partitions import TIMEZONE
from assets.schema import column_schema
from assets.sources import Source
from resources.completeness import Completeness
from resources.http import SourceError, SourceFileMissing
from resources.lake import Dataset, LakeResource
from resources.sec_fails import (
    FAILS_MEANINGS,
    FAILS_SCHEMA,
    FIRST_HALF_MONTH,
    FetchedFails,
    HalfMonth,
    SecFailsClient,
    TrailerMismatch,
    half_months,
)

DATASET = Dataset(
    "sec_fails_to_deliver",
    FAILS_SCHEMA,
    order=("settlement_date", "cusip"),
    key=("settlement_date", "cusip"),
    completeness=Completeness(per="half_month", keys=("settlement_date", "cusip"), measure="quantity"),
)
ASSET_KEY = dg.AssetKey(["raw", DATASET.name])
# SEC posts a half-month's file roughly two weeks to a month after the half-month ends (the first half
# at about the month's end, the second about the 15th of the next month): it is first asked for two
# weeks after its end, and is late (the freshness check fails) 35 days after it, a month plus a few days.
FIRST_ASKED_DAYS = 14
LATE_AFTER_DAYS = 35
RULES = (
    Rule("quantity_positive", "Every fail is a whole number of shares above 0.", pl.col("quantity") > 0),
    Rule(
        "price_not_negative",
        "A price, where SEC gives one, is finite and not negative.",
        pl.col("price").is_null() | (pl.col("price").is_finite() & (pl.col("price") >= 0)),
    ),
)
TRAILER_CHECK, ROWS_CHECK, SCHEDULE_CHECK = "trailer_reconciles", "has_rows", "newest_half_month_on_schedule"
half_month_partitions = dg.DynamicPartitionsDefinition(name="sec_fails_half_months")


def asked_from(half: HalfMonth) -> dt.date:
    """The first day the sensor asks for a half-month's file."""
    return half.last_day + dt.timedelta(days=FIRST_ASKED_DAYS)


def late_after(half: HalfMonth) -> dt.date:
    """The day after which a half-month's file not stored is late."""
    return half.last_day + dt.timedelta(days=LATE_AFTER_DAYS)


def ended(today: dt.date) -> list[HalfMonth]:
    """The half-months from SEC's first file whose last day has passed by `today`."""
    last = HalfMonth.containing(today)
    return [half for half in half_months(FIRST_HALF_MONTH, last) if half.last_day < today]


def on_schedule(newest: str | None, today: dt.date) -> tuple[bool, dict[str, object]]:
    """Whether the newest stored half-month is as new as SEC's schedule promises by `today`."""
    owed = [half for half in ended(today) if late_after(half) < today]
    expected = owed[-1].key if owed else None
    metadata: dict[str, object] = {
        "newest_stored": newest or "none",
        "expected_at_least": expected or "none",
        "allowance_days": LATE_AFTER_DAYS,
    }
    return expected is None or (newest is not None and newest >= expected), metadata


@dataclass
class FileChecks:
    """What a run found about its files as wholes: trailers that did not reconcile, files without rows."""

    checked: list[str] = field(default_factory=list)
    mismatched: list[str] = field(default_factory=list)
    without_trailer: list[str] = field(default_factory=list)
    empty: list[str] = field(default_factory=list)

    def results(self) -> list[dg.AssetCheckResult]:
        return [
            dg.AssetCheckResult(
                check_name=TRAILER_CHECK,
                passed=not self.mismatched,
                metadata={
                    "files_checked": len(self.checked) + len(self.mismatched),
                    "not_reconciled": dg.MetadataValue.json(self.mismatched),
                    "without_trailer": dg.MetadataValue.json(self.without_trailer),
                },
            ),
            dg.AssetCheckResult(
                check_name=ROWS_CHECK,
                passed=not self.empty,
                metadata={"files_checked": len(self.checked), "empty": dg.MetadataValue.json(self.empty)},
            ),
        ]


def with_publication_kept(lake: LakeResource, fetched: FetchedFails) -> pl.DataFrame:
    """The file's rows; without a Last-Modified, a re-fetch of rows equal to the stored ones keeps their
    stored publication time (the fetch time would move it later at every re-fetch)."""
    frame = fetched.frame
    if fetched.published_from == "Last-Modified":
        return frame
    stored = lake.read(DATASET, where={"half_month": fetched.half.key})
    values = [c for c in FAILS_SCHEMA if c != "published_at"]
    if stored.height and stored.select(values).sort(values).equals(frame.select(values).sort(values)):
        return frame.with_columns(pl.lit(stored["published_at"].min()).alias("published_at"))
    return frame


@dg.asset(
    key=ASSET_KEY,
    partitions_def=half_month_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name="sec_fails",
    kinds={"ducklake", "polars"},
    check_specs=[
        *check_specs(ASSET_KEY, DATASET, RULES),
        dg.AssetCheckSpec(
            TRAILER_CHECK,
            asset=ASSET_KEY,
            blocking=True,
            description="A file's trailer (record count, total quantity) reconciles with its rows; a file "
            "without trailer lines is read and named in the metadata.",
        ),
        dg.AssetCheckSpec(ROWS_CHECK, asset=ASSET_KEY, blocking=True, description="Every file has rows."),
    ],
    description=(
        "SEC fails-to-deliver: each security's balance of shares failed to deliver per settlement date, "
        "with SEC's price; one partition per half-month file (2024-03a = cnsfails202403a.zip), stamped "
        "with its publication time."
    ),
    metadata=column_schema(FAILS_SCHEMA, FAILS_MEANINGS),
)
def sec_fails_to_deliver(
    context: dg.AssetExecutionContext, config: PublishConfig, sec_fails: SecFailsClient, lake: LakeResource
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    config.announce(context.log)
    halves = sorted(HalfMonth.from_key(key) for key in context.partition_keys)
    ledger, files, problems, stored, rejected, rows = Ledger(DATASET, RULES), FileChecks(), [], [], [], 0
    for half in halves:
        try:
            fetched = sec_fails.fetch_half_month(half)
        except SourceFileMissing as missing:
            problems.append(f"{missing}; SEC posts a half-month's file within about a month (by {late_after(half)})")
            continue
        except TrailerMismatch as mismatch:
            files.mismatched.append(half.key)
            problems.append(f"{mismatch}; the stored half-month {half.key} is unchanged")
            continue
        except SourceError as error:
            problems.append(str(error))
            continue
        files.checked.append(half.key)
        frame = with_publication_kept(lake, fetched)
        if frame.is_empty():
            files.empty.append(half.key)
            problems.append(f"SEC fails-to-deliver {half.file_name}: no rows; the stored half-month is unchanged")
            continue
        if fetched.parsed.trailer is None:
            files.without_trailer.append(half.key)
        complete = [half.key] if fetched.parsed.trailer else []
        failed = publish(
            lake, DATASET, frame, {"half_month": half.key}, half.key, ledger, config.allow_shrink, complete
        )
        problems += failed
        rejected += fetched.parsed.rejected
        if not failed:
            rows += frame.height
            trailer = "reconciled" if fetched.parsed.trailer else "none in the file"
            published = f"{frame['published_at'][0]:%Y-%m-%d %H:%M:%S} UTC ({fetched.published_from})"
            stored.append(f"| {half.key} | {frame.height:,} | {trailer} | {published} |")
    yield from finish(
        ledger,
        problems,
        {
            "dagster/row_count": rows,
            "half_months": len(halves),
            "first": halves[0].key,
            "last": halves[-1].key,
            "without_trailer": dg.MetadataValue.json(files.without_trailer),
            "files": dg.MetadataValue.md(
                "| half-month | rows | trailer | published |\n|---|---|---|---|\n" + "\n".join(stored)
            ),
            "rejected_symbols": dg.MetadataValue.json(sorted(set(rejected))[:100]),
        },
        headline=f"{len(problems)} of {len(halves)} half-months not stored",
        checked=files.results(),
    )


@dg.asset_check(
    asset=ASSET_KEY,
    name=SCHEDULE_CHECK,
    description=(
        f"The newest stored half-month is at least the newest one SEC should have posted: a half-month is "
        f"late {LATE_AFTER_DAYS} days after it ends (SEC posts within about a month)."
    ),
)
def newest_half_month_on_schedule(lake: LakeResource) -> dg.AssetCheckResult:
    passed, metadata = on_schedule(lake.newest(DATASET, "half_month"), dt.datetime.now(ZoneInfo(TIMEZONE)).date())
    return dg.AssetCheckResult(passed=passed, metadata=metadata)


SOURCE = Source(
    client=SecFailsClient,
    assets=[sec_fails_to_deliver],
    datasets=[DATASET],
    freshness=updated_within([ASSET_KEY], dt.timedelta(days=LATE_AFTER_DAYS)),
    checks=[newest_half_month_on_schedule],
)
