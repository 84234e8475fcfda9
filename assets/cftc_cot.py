"""CFTC's Commitments of Traders, two raw assets (the legacy futures-only report and Traders in
Financial Futures), one partition per calendar year: the unit CFTC publishes (one zip a year).

A year's file replaces the year's rows whole, so a re-run stores the same rows, and re-running the
current year after a Friday release adds that week's report: the weekly update
(sensors/cftc_cot.py asks for it once the week's report is due). A year whose file has fewer
(market, report date) rows than stored is refused, the stored year kept: CFTC adds weeks to a year
and does not drop them, and no file says it is complete (no trailer), so only `allow_shrink` (a
person, for a real restatement) lets a year shrink. CFTC corrects past weeks in place now and then:
the replaced rows are kept in history.<table> (keeps_history), for "as known at" questions.

Partitions are Dagster's yearly time windows (1986 or 2006 to the current year; a new year appears on
1 January, New York time). The years 2006-2016 of TFF come from one combined zip, fetched once per
run however many of those years the run covers.
"""

import datetime as dt
from collections.abc import Iterator

import dagster as dg
import polars as pl

from assets.checks import FetchFailure, Ledger, PublishConfig, Rule, check_specs, finish, publish
from assets.freshness import updated_within
from assets.schema import column_schema
from assets.sources import Source
from resources.cftc_cot import LEGACY, NEW_YORK, TFF, CftcCotClient, Report
from resources.completeness import Completeness
from resources.http import SourceError, SourceFileMissing
from resources.lake import Between, Dataset, LakeResource

KEY = ("cftc_contract_market_code", "report_date")
# A report a week, released Friday (Monday in a holiday week): ten days allow one late release.
STALE_AFTER = dt.timedelta(days=10)


def dataset(report: Report) -> Dataset:
    return Dataset(
        f"cftc_cot_{report.name}",
        report.schema,
        order=KEY,
        key=KEY,
        completeness=Completeness(keys=KEY),
        keeps_history=True,
    )


def years(report: Report) -> dg.TimeWindowPartitionsDefinition:
    """Calendar years from the report's first, the current year included (its file grows weekly)."""
    return dg.TimeWindowPartitionsDefinition(
        cron_schedule="0 0 1 1 *", start=str(report.first_year), fmt="%Y", timezone=NEW_YORK.key, end_offset=1
    )


def rules(report: Report) -> tuple[Rule, ...]:
    counts = [c for c, t in report.schema.items() if t == pl.Int64()]
    return (
        Rule(
            "positions_not_negative",
            "Open interest and every position is a count of contracts, 0 or more (null only where suppressed).",
            pl.all_horizontal(
                (pl.col(c).is_null() if c in report.nullable else pl.lit(False)) | (pl.col(c) >= 0) for c in counts
            ),
        ),
        Rule(
            "available_after_report_date",
            "A report is public after the date its positions are as of.",
            pl.col("available_from") > pl.col("report_date").cast(pl.Datetime("us", "UTC")),
        ),
    )


def year_range(year: int) -> dict[str, Between]:
    return {"report_date": Between(dt.date(year, 1, 1), dt.date(year + 1, 1, 1))}


def cot_asset(report: Report) -> tuple[dg.AssetsDefinition, Dataset]:
    data = dataset(report)
    asset_key = dg.AssetKey(["raw", data.name])
    checks = rules(report)

    @dg.asset(
        key=asset_key,
        partitions_def=years(report),
        backfill_policy=dg.BackfillPolicy.single_run(),
        group_name="cftc_cot",
        kinds={"ducklake", "polars"},
        check_specs=check_specs(asset_key, data, checks),
        metadata=column_schema(report.schema, report.all_meanings),
        description=(
            f"CFTC Commitments of Traders, {report.title}: per contract market and report date, open interest "
            "and the long, short and spreading positions of each trader group, with when the report became "
            "public (available_from); one calendar year per partition, replaced whole by CFTC's yearly zip."
        ),
    )
    def cot(
        context: dg.AssetExecutionContext, config: PublishConfig, cftc_cot: CftcCotClient, lake: LakeResource
    ) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
        config.announce(context.log)
        chosen = sorted(int(key) for key in context.partition_keys)
        ledger, problems, stored, zips = Ledger(data, checks), [], {}, {}
        for year in chosen:
            where = year_range(year)
            try:
                path = report.path(year)
                if path not in zips:
                    zips[path] = cftc_cot.fetch_zip(report, year)
                frame = cftc_cot.fetch_year(report, year, zips[path])
            except SourceError as error:
                note = (
                    " (CFTC posts a year's zip with its first report)" if isinstance(error, SourceFileMissing) else ""
                )
                kept = lake.stored(data, within=where)[None]
                problems.append(FetchFailure(f"CFTC COT {report.name} {year}", f"{error}{note}", kept))
                continue
            failed = publish(lake, data, frame, where, str(year), ledger, config.allow_shrink)
            problems += failed
            if not failed:
                stored[year] = (frame.height, frame["report_date"].n_unique(), frame["report_date"].max())
        yield from finish(
            ledger,
            problems,
            {
                "dagster/row_count": sum(rows for rows, _, _ in stored.values()),
                "years": dg.MetadataValue.md(
                    "| year | rows | reports | last report |\n|---|---|---|---|\n"
                    + "\n".join(f"| {y} | {r:,} | {n} | {last} |" for y, (r, n, last) in stored.items())
                ),
                "last_report_date": str(max((last for *_, last in stored.values()), default="")),
            },
            headline=f"{len(problems)} of {len(chosen)} years not stored",
        )

    return cot, data


cftc_cot_legacy, LEGACY_DATASET = cot_asset(LEGACY)
cftc_cot_tff, TFF_DATASET = cot_asset(TFF)
LEGACY_KEY, TFF_KEY = cftc_cot_legacy.key, cftc_cot_tff.key

SOURCE = Source(
    client=CftcCotClient,
    assets=[cftc_cot_legacy, cftc_cot_tff],
    datasets=[LEGACY_DATASET, TFF_DATASET],
    freshness=updated_within([LEGACY_KEY, TFF_KEY], STALE_AFTER),
)
