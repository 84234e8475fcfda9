"""Cboe's daily index histories (VIX, VIX9D, VIX3M, VVIX), each index's whole history as Cboe's file
lists it, in one unpartitioned table.

Not partitioned, as FRED's series are not: one download is an index's whole history (VIX's since 1990,
a few hundred kilobytes), and Cboe revises past rows between downloads, so the unit a run fetches and
replaces is an index. A partition per trading day would ask for the same whole file once per day
partition (or store one day of a file that holds thirty years); static partitions per index would have
to be re-declared whenever TICKERLAKE_CBOE_INDEXES changes. Each index is replaced on its own (rows
where index_symbol is that index), so an index that fails keeps its stored rows while the others land,
and a re-run over the same files stores the same rows.

Tagged for the daily *market* run (18:30 New York, trading days): VIX closes every trading day at
16:15, so its row of the day is the market run's, not the reference data's. A Dagster job may hold
unpartitioned assets beside the trading-day ones; this one is materialized whole in that run.

Cboe revises old rows: the table keeps history (history.cboe_index_history holds every value a
re-fetch replaced, with when it was written and when it was replaced). An index whose file lists fewer
trading days than stored (a truncated download) is refused unless the run says allow_shrink: Cboe does
not drop past days. Rows whose OPEN (or CLOSE) lies outside LOW..HIGH are Cboe's own (tens of real VIX
rows): stored and flagged, and the `range_flags` check names the ones this run wrote new.
"""

import datetime as dt
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import dagster as dg
import polars as pl

from assets.checks import EXAMPLES, Ledger, PublishConfig, Rule, check_specs, fetch_failures, finish, markdown, publish
from assets.freshness import updated_within
from assets.partitions import TIMEZONE, sessions
from assets.schema import column_schema
from assets.sources import DAILY_TAG, Source
from resources import settings
from resources.cboe import CBOE_MEANINGS, CBOE_SCHEMA, CboeClient
from resources.completeness import Completeness
from resources.http import SourceError
from resources.lake import Dataset, LakeResource

DATASET = Dataset(
    "cboe_index_history",
    CBOE_SCHEMA,
    order=("index_symbol", "trade_date"),
    key=("index_symbol", "trade_date"),
    completeness=Completeness(per="index_symbol", keys=("trade_date",)),
    keeps_history=True,  # Cboe revises past rows: history.cboe_index_history keeps what a re-fetch replaced
)
ASSET_KEY = dg.AssetKey(["raw", DATASET.name])
NEW_YORK = ZoneInfo(TIMEZONE)
# A trading day's row is due by 08:00 New York the next morning: the 18:30 run of the day itself may
# find Cboe's file not yet updated, the next morning it must be.
DUE_AT = dt.time(8, 0)
# The market run is on trading days only: four days cover a weekend with a holiday and one failed day.
STALE_AFTER = dt.timedelta(days=4)
FLAGS_CHECK, CURRENT_CHECK = "range_flags", "newest_day_current"
RULES = (
    Rule(
        "close_positive",
        "Every row has a close above zero (an index level; Cboe's volatility indexes are never zero).",
        pl.col("close") > 0,
    ),
)


def due_day(now: dt.datetime) -> dt.date:
    """The newest trading day whose row Cboe's files must hold at `now`: a day is due from 08:00 New York
    the next calendar day. TICKERLAKE_END_DATE (a sample's pinned last day) stops the clock at its due time."""
    pinned = settings.value("TICKERLAKE_END_DATE")
    if pinned:
        end = dt.date.fromisoformat(pinned) + dt.timedelta(days=1)
        now = min(now, dt.datetime.combine(end, DUE_AT, tzinfo=NEW_YORK))
    local = now.astimezone(NEW_YORK)
    cutoff = local.date() - dt.timedelta(days=1) if local.time() >= DUE_AT else local.date() - dt.timedelta(days=2)
    found = sessions(cutoff - dt.timedelta(days=14), cutoff)
    return found[-1] if found else cutoff  # before the calendar's first session (a pin before 2009)


def current_check(stored: pl.DataFrame, indexes: list[str], now: dt.datetime) -> dg.AssetCheckResult:
    """Every configured index has rows, the newest of them on or after the due trading day."""
    due = due_day(now)
    newest = dict(stored.group_by("index_symbol").agg(pl.col("trade_date").max()).iter_rows())
    behind = {
        index: str(newest.get(index) or "no rows") for index in indexes if (newest.get(index) or dt.date.min) < due
    }
    return dg.AssetCheckResult(
        check_name=CURRENT_CHECK,
        passed=not behind,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "due_day": str(due),
            "newest": dg.MetadataValue.json({index: str(newest.get(index)) for index in indexes}),
            "behind": dg.MetadataValue.json(behind),
        },
    )


def flags_check(fetched: list[pl.DataFrame], before: list[pl.DataFrame]) -> dg.AssetCheckResult:
    """Names the rows with OPEN or CLOSE outside LOW..HIGH; warns for those this run wrote new (a new
    day, a revised row). Cboe's known historical ones pass once stored: a warning every day would be noise."""
    columns = list(CBOE_SCHEMA)
    flagged_rule = pl.col("open_outside_range") | pl.col("close_outside_range")
    flagged = pl.concat([f.filter(flagged_rule) for f in fetched]) if fetched else pl.DataFrame(schema=CBOE_SCHEMA)
    known = pl.concat(before).select(columns) if before else pl.DataFrame(schema=CBOE_SCHEMA)
    new = flagged.join(known, on=columns, how="anti", nulls_equal=True)
    per_index = dict(flagged.group_by("index_symbol").len().iter_rows())
    return dg.AssetCheckResult(
        check_name=FLAGS_CHECK,
        passed=new.is_empty(),
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "flagged_rows": dg.MetadataValue.json(per_index),
            "new_flagged_rows": new.height,
            "new": dg.MetadataValue.md(markdown(new.select(columns[:8]), 4 * EXAMPLES)),
            "all_flagged": dg.MetadataValue.md(markdown(flagged.select(columns[:8]), 8 * EXAMPLES)),
        },
    )


@dg.asset(
    key=ASSET_KEY,
    group_name="cboe",
    kinds={"ducklake", "polars"},
    tags={DAILY_TAG: "market"},
    metadata=column_schema(CBOE_SCHEMA, CBOE_MEANINGS),
    check_specs=[
        *check_specs(ASSET_KEY, DATASET, RULES),
        dg.AssetCheckSpec(
            FLAGS_CHECK,
            asset=ASSET_KEY,
            description="Names Cboe's rows with OPEN or CLOSE outside LOW..HIGH (stored, flagged); warns for new ones.",
        ),
        dg.AssetCheckSpec(
            CURRENT_CHECK,
            asset=ASSET_KEY,
            description="Every configured index has rows up to the previous trading day by 08:00 New York.",
        ),
    ],
    description=(
        "Cboe's daily index histories (TICKERLAKE_CBOE_INDEXES: VIX, VIX9D, VIX3M, VVIX), long format: "
        "index_symbol, trade_date, open, high, low, close (open/high/low null for a close-only index), "
        "each index's whole history replaced by Cboe's file, revisions kept in history.cboe_index_history."
    ),
)
def cboe_index_history(
    context: dg.AssetExecutionContext, config: PublishConfig, cboe: CboeClient, lake: LakeResource
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    config.announce(context.log)
    ledger, problems, unfetched = Ledger(DATASET, RULES), [], {}
    fetched, before, stored = [], [], []
    chosen = cboe.index_symbols
    for index in chosen:
        try:
            frame = cboe.fetch_index(index)
        except SourceError as error:
            context.log.error(str(error))
            unfetched[index] = str(error)
            continue
        previous = lake.read(DATASET, where={"index_symbol": index})
        failed = publish(lake, DATASET, frame, {"index_symbol": index}, index, ledger, config.allow_shrink)
        problems += failed
        if not failed:
            fetched.append(frame)
            before.append(previous)
            first, last = frame["trade_date"].min(), frame["trade_date"].max()
            flags = frame.filter(pl.col("open_outside_range") | pl.col("close_outside_range")).height
            stored.append(f"| {index} | {frame.height:,} | {first} | {last} | {frame['close'][-1]} | {flags} |")
    failures = fetch_failures(lake, DATASET, "index_symbol", unfetched, lambda index: f"Cboe {index}")
    now = dt.datetime.now(dt.UTC)
    checked = [
        flags_check(fetched, before),
        current_check(lake.read(DATASET, where={"index_symbol": chosen}), chosen, now),
    ]
    yield from finish(
        ledger,
        [*failures, *problems],
        {
            "dagster/row_count": sum(frame.height for frame in fetched),
            "indexes": dg.MetadataValue.json(chosen),
            "stored": dg.MetadataValue.md(
                "| index | days | first | last | last close | flagged |\n|---|---|---|---|---|---|\n"
                + "\n".join(stored)
            ),
        },
        headline=f"{len(failures) + len(problems)} of {len(chosen)} indexes not stored",
        checked=checked,
    )


SOURCE = Source(
    client=CboeClient,
    assets=[cboe_index_history],
    datasets=[DATASET],
    freshness=updated_within([ASSET_KEY], STALE_AFTER),
)
