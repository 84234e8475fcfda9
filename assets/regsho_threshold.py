"""Nasdaq's Reg SHO threshold list, one trading-day partition per daily file, as Nasdaq Trader posted it.

A day's file replaces its partition whole (a re-run never adds rows). Every file that parses carries
its creation-time trailer, Nasdaq's word that the list is whole, so it is complete and may replace a
stored day with fewer rows: securities leave the list, and a day may have none at all.

An empty list leaves no row in the list's table, so each stored day also has a row in
`raw.regsho_threshold_files` (the file's creation time and its number of securities), written in the
same transaction: it tells a day whose list was empty from a day whose list is not stored, which is
what the consecutive-days model needs (dbt: fct_regsho_threshold_days).

Not tagged for the 18:30 market run: Nasdaq Trader creates the file at about 23:00 New York time, so
that run would ask for a day not posted yet every evening. sensors/regsho_threshold.py asks for each
day once it is due.
"""

import datetime as dt
from collections.abc import Iterator

import dagster as dg
import polars as pl

from assets.checks import Ledger, PublishConfig, Rule, check_specs, fetch_failures, finish
from assets.freshness import partition_by_deadline
from assets.partitions import partition_days, trading_days
from assets.schema import column_schema
from assets.sources import Source
from resources.completeness import Completeness
from resources.http import SourceError, SourceFileMissing
from resources.lake import Dataset, LakeResource, Transaction
from resources.regsho_threshold import (
    FILES_MEANINGS,
    FILES_SCHEMA,
    NEW_YORK,
    THRESHOLD_MEANINGS,
    THRESHOLD_SCHEMA,
    RegshoThresholdClient,
    ThresholdList,
)

DATASET = Dataset(
    "regsho_threshold_list",
    THRESHOLD_SCHEMA,
    order=("trade_date", "symbol"),
    key=("trade_date", "symbol"),
    completeness=Completeness(per="trade_date", keys=("symbol",)),
)
FILES = Dataset("regsho_threshold_files", FILES_SCHEMA, order=("trade_date",), key=("trade_date",))
ASSET_KEY = dg.AssetKey(["raw", DATASET.name])
ASKED_FROM = dt.time(23, 30)  # New York: Nasdaq Trader's files are created at about 23:00
DEADLINE_CRON = "0 6 * * 2-6"  # a trading day's list is stored by 06:00 New York the next weekday
TIERS = ("Q", "G", "S")
RULES = (
    Rule(
        "market_category_nasdaq",
        f"Every security is in one of Nasdaq's tiers ({', '.join(TIERS)}): the list is of Nasdaq's listings.",
        pl.col("market_category").is_in(TIERS),
    ),
)


def asked_from(day: dt.date) -> dt.datetime:
    """When a trading day's file is first asked for: once Nasdaq Trader should have created it."""
    return dt.datetime.combine(day, ASKED_FROM, tzinfo=NEW_YORK)


def store_day(lake: LakeResource, listed: ThresholdList, ledger: Ledger) -> list[str]:
    """Check a day's list, then replace the day's rows and its file row in one transaction, or keep the
    list aside in quarantine; returns why the day was not published, if it was not. The file's trailer
    says the list is complete, so a shorter list replaces a longer stored one."""
    label = listed.day.isoformat()
    failed = ledger.inspect(label, listed.frame)
    if failed:
        lake.quarantine(DATASET, listed.frame, label, ", ".join(failed))
        return [f"{DATASET.name} {label}: quarantined, failed {', '.join(failed)}; the stored day is unchanged"]
    where = {"trade_date": listed.day}

    def write(tx: Transaction) -> list[str]:
        refused = tx.replace(DATASET, listed.frame, where, complete=[listed.day]).refused
        tx.replace(FILES, listed.file_row, where)
        return refused

    return lake.transaction(write, f"{DATASET.name} trade_date={label}")


@dg.asset(
    key=ASSET_KEY,
    partitions_def=trading_days,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name="regsho_threshold",
    kinds={"ducklake", "polars"},
    check_specs=check_specs(ASSET_KEY, DATASET, RULES),
    description=(
        "Nasdaq's Reg SHO threshold list: the Nasdaq-listed securities with fails to deliver of 10,000 "
        "shares and 0.5% of shares outstanding for five settlement days, one trading day per partition, "
        "replaced whole by its file (nasdaqth{YYYYMMDD}.txt); raw.regsho_threshold_files records every "
        "stored day, empty lists included."
    ),
    metadata={
        **column_schema(THRESHOLD_SCHEMA, THRESHOLD_MEANINGS),
        f"{FILES.table} columns": column_schema(FILES_SCHEMA, FILES_MEANINGS)["dagster/column_schema"],
    },
)
def regsho_threshold_list(
    context: dg.AssetExecutionContext,
    config: PublishConfig,
    regsho_threshold: RegshoThresholdClient,
    lake: LakeResource,
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    config.announce(context.log)
    days = partition_days(context)
    ledger, errors, unfetched, stored, rejected = Ledger(DATASET, RULES), [], {}, {}, []
    for day in days:
        try:
            listed = regsho_threshold.fetch_day(day)
        except SourceFileMissing as missing:
            unfetched[day] = f"{missing}: not published (Nasdaq Trader posts a day's list at about 23:00 New York)"
            continue
        except SourceError as error:
            unfetched[day] = str(error)
            continue
        failed = store_day(lake, listed, ledger)
        errors += failed
        if not failed:
            stored[listed.day.isoformat()] = listed.frame.height
            rejected += listed.rejected
    problems = [
        *fetch_failures(lake, DATASET, "trade_date", unfetched, lambda day: f"Nasdaq threshold list {day}"),
        *errors,
    ]
    yield from finish(
        ledger,
        problems,
        {
            "dagster/row_count": sum(stored.values()),
            "days": len(stored),
            "empty_lists": sum(1 for rows in stored.values() if rows == 0),
            "securities_per_day": dg.MetadataValue.md(
                "| day | securities |\n|---|---|\n" + "\n".join(f"| {d} | {n} |" for d, n in list(stored.items())[-31:])
            ),
            "rejected_symbols": dg.MetadataValue.json(sorted(set(rejected))[:100]),
        },
        headline=f"{len(problems)} of {len(days)} trading days not stored",
    )


SOURCE = Source(
    client=RegshoThresholdClient,
    assets=[regsho_threshold_list],
    datasets=[DATASET, FILES],
    freshness=partition_by_deadline([ASSET_KEY], DEADLINE_CRON),
)
