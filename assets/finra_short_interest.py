"""FINRA equity short interest, one partition per settlement date (twice a month), as FINRA published it.

A settlement date's file replaces its partition whole: FINRA corrects a published file now and then
(its rows then carry revisionFlag), and a re-fetch must never add rows. The rows a revision replaced
stay queryable in history.finra_short_interest, with when each was written and when it was replaced.
The file has no trailer, so a re-fetch may not shrink a stored date unless the run says so
(`allow_shrink`). Partition keys are settlement dates, added by sensors/finra_short_interest.py as
they come due: they grow with days.
"""

import datetime as dt
from collections.abc import Iterator

import dagster as dg
import polars as pl

from assets.checks import Ledger, PublishConfig, Rule, check_specs, finish, publish
from assets.freshness import updated_within
from assets.partitions import calendar, sessions
from assets.schema import column_schema
from assets.sources import Source
from resources.completeness import Completeness
from resources.finra_short_interest import SHORT_INTEREST_MEANINGS, SHORT_INTEREST_SCHEMA, FinraShortInterestClient
from resources.http import SourceFileMissing
from resources.lake import Dataset, LakeResource

DATASET = Dataset(
    "finra_short_interest",
    SHORT_INTEREST_SCHEMA,
    order=("settlement_date", "symbol"),
    key=("settlement_date", "symbol"),
    completeness=Completeness(per="settlement_date", keys=("symbol",), measure="current_short_position"),
    keeps_history=True,  # FINRA revises published dates: history.finra_short_interest keeps what it replaced
)
ASSET_KEY = dg.AssetKey(["raw", DATASET.name])
PUBLICATION_LAG_SESSIONS = 8  # FINRA publishes about seven business days after settlement; one to spare
RULES = (
    Rule(
        "positions_not_negative",
        "Short positions and average daily volume are not negative.",
        pl.all_horizontal(
            pl.col(c).fill_null(0) >= 0
            for c in ("current_short_position", "previous_short_position", "average_daily_volume")
        ),
    ),
    Rule(
        "days_to_cover_not_negative",
        "Days to cover is not negative where FINRA computed it.",
        pl.col("days_to_cover").fill_null(0) >= 0,
    ),
)
settlements = dg.DynamicPartitionsDefinition(name="finra_settlement_dates")
RECORDS_CHECK = "record_count"
# FINRA's file grows or shrinks by a few percent between reports; one with under half the records of
# the previous date is a truncated file or a changed scope, worth a look before it feeds a mart.
MIN_RECORD_SHARE = 0.5


def settlement_dates(first: dt.date, last: dt.date) -> list[dt.date]:
    """The settlement dates in [first, last]: the 15th and the month's last day, each moved back to the
    nearest trading day on or before it (2024-06-15 was a Saturday: its settlement date is 06-14)."""
    targets, month = [], first.replace(day=1)
    while month <= last:
        following = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        targets += [month.replace(day=15), following - dt.timedelta(days=1)]
        month = following
    days = sessions(first - dt.timedelta(days=10), targets[-1])
    dates = {max(d for d in days if d <= target) for target in targets}
    return sorted(d for d in dates if first <= d <= last)


def previous_settlement(settlement: dt.date) -> dt.date:
    return settlement_dates(settlement - dt.timedelta(days=40), settlement - dt.timedelta(days=1))[-1]


def record_counts(lake: LakeResource, days: list[dt.date]) -> dg.AssetCheckResult:
    """Each stored date's records against the previous settlement date's (warns below MIN_RECORD_SHARE)."""
    dates = sorted({*days, *(previous_settlement(day) for day in days)})
    stored = {day: count.rows for day, count in lake.stored(DATASET, "settlement_date", dates).items()}
    low = {
        day.isoformat(): {"records": stored[day], "previous": stored[previous_settlement(day)]}
        for day in days
        if stored[day] and stored[day] < MIN_RECORD_SHARE * stored[previous_settlement(day)]
    }
    return dg.AssetCheckResult(
        check_name=RECORDS_CHECK,
        passed=not low,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "records": dg.MetadataValue.json({day.isoformat(): stored[day] for day in days}),
            "below_half_of_previous_date": dg.MetadataValue.json(low),
        },
    )


def published_by(settlement: dt.date) -> dt.date:
    """The trading day by which FINRA has published a settlement date's file."""
    return calendar().sessions_window(settlement.isoformat(), PUBLICATION_LAG_SESSIONS + 1)[-1].date()


@dg.asset(
    key=ASSET_KEY,
    partitions_def=settlements,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name="finra",
    kinds={"ducklake", "polars"},
    check_specs=[
        *check_specs(ASSET_KEY, DATASET, RULES),
        dg.AssetCheckSpec(
            RECORDS_CHECK,
            asset=ASSET_KEY,
            description="Each settlement date holds at least half the records of the previous one.",
        ),
    ],
    description=(
        "FINRA equity short interest: each security's short position at a settlement date (the 15th and "
        "month end), with the previous position, average daily volume and days to cover as FINRA computes "
        "them; one partition per settlement date. OTC securities only before June 2021."
    ),
    metadata=column_schema(SHORT_INTEREST_SCHEMA, SHORT_INTEREST_MEANINGS),
)
def finra_short_interest(
    context: dg.AssetExecutionContext,
    config: PublishConfig,
    finra_short_interest: FinraShortInterestClient,
    lake: LakeResource,
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    config.announce(context.log)
    days = sorted(dt.date.fromisoformat(key) for key in context.partition_keys)
    ledger, problems, rows, rejected = Ledger(DATASET, RULES), [], 0, []
    for day in days:
        try:
            frame, refused = finra_short_interest.fetch_settlement(day)
        except SourceFileMissing as missing:
            problems.append(f"{missing}; FINRA publishes a settlement date's file by about {published_by(day)}")
            continue
        problems += publish(
            lake, DATASET, frame, {"settlement_date": day}, day.isoformat(), ledger, config.allow_shrink
        )
        rows, rejected = rows + frame.height, rejected + refused
    yield from finish(
        ledger,
        problems,
        {
            "dagster/row_count": rows,
            "settlement_dates": len(days),
            "first": days[0].isoformat(),
            "last": days[-1].isoformat(),
            "rejected_symbols": dg.MetadataValue.json(rejected[:100]),
        },
        headline=f"{len(problems)} of {len(days)} settlement dates not stored",
        checked=[record_counts(lake, days)],
    )


SOURCE = Source(
    client=FinraShortInterestClient,
    assets=[finra_short_interest],
    datasets=[DATASET],
    freshness=updated_within([ASSET_KEY], dt.timedelta(days=20)),
)
