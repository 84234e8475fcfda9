"""FRED economic series (Treasury yields, the dollar index, unemployment, CPI, jobless claims), each
series' whole history as FRED answers it, in one unpartitioned table.

Not partitioned: FRED answers a series' whole history in one small CSV and revises past observations
in place, so the unit a run fetches and replaces is a series, and a daily run fetches every series. A
partition per day would be series x days of keys for one request each; static partitions per series
would have to be re-declared whenever TICKERLAKE_FRED_SERIES changes and would not fit the daily
reference run, which materializes its assets whole. Each series is replaced on its own (rows where
series_id is that series), so a series that fails leaves its stored rows and the others still land,
and a re-run over the same answers stores the same rows.

A series that answers with fewer observations than stored (a truncated download, a series FRED cut
short) is refused unless the run says allow_shrink: FRED does not drop past dates of a series.
"""

import datetime as dt
from collections.abc import Iterator

import dagster as dg
import polars as pl

from assets.checks import Ledger, PublishConfig, Rule, check_specs, fetch_failures, finish, publish
from assets.freshness import updated_within
from assets.schema import column_schema
from assets.sources import DAILY_TAG, Source
from resources.completeness import Completeness
from resources.fred import FRED_MEANINGS, FRED_SCHEMA, FredClient
from resources.http import SourceError
from resources.lake import Dataset, LakeResource

DATASET = Dataset(
    "fred_series",
    FRED_SCHEMA,
    order=("series_id", "observation_date"),
    key=("series_id", "observation_date"),
    completeness=Completeness(per="series_id", keys=("observation_date",)),
    keeps_history=True,  # FRED revises in place: history.fred_series keeps each value a re-fetch replaced
)
ASSET_KEY = dg.AssetKey(["raw", DATASET.name])
# The daily reference run fetches every series; four days allow a weekend and one failed day.
STALE_AFTER = dt.timedelta(days=4)
RULES = (
    Rule(
        "value_finite",
        "A value, where FRED gives one, is a finite number.",
        pl.col("value").is_null() | pl.col("value").is_finite(),
    ),
)


@dg.asset(
    key=ASSET_KEY,
    group_name="fred",
    kinds={"ducklake", "polars"},
    tags={DAILY_TAG: "reference"},
    metadata=column_schema(FRED_SCHEMA, FRED_MEANINGS),
    check_specs=check_specs(ASSET_KEY, DATASET, RULES),
    description=(
        "FRED economic series, long format: series_id, observation_date, value (null where FRED lists a "
        "date without a value); each configured series' whole history, replaced series by series."
    ),
)
def fred_series(
    context: dg.AssetExecutionContext, config: PublishConfig, fred: FredClient, lake: LakeResource
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    config.announce(context.log)
    ledger, problems, unfetched, stored = Ledger(DATASET, RULES), [], {}, []
    chosen = fred.series_ids
    rows = 0
    for series_id in chosen:
        try:
            frame = fred.fetch_series(series_id)
        except SourceError as error:
            context.log.error(str(error))
            unfetched[series_id] = str(error)
            continue
        failed = publish(lake, DATASET, frame, {"series_id": series_id}, series_id, ledger, config.allow_shrink)
        problems += failed
        if not failed:
            rows += frame.height
            last = frame["observation_date"].max()
            stored.append(f"| {series_id} | {frame.height:,} | {frame['value'].null_count():,} | {last} |")
    failures = fetch_failures(lake, DATASET, "series_id", unfetched, lambda series_id: f"FRED {series_id}")
    yield from finish(
        ledger,
        [*failures, *problems],
        {
            "dagster/row_count": rows,
            "series": dg.MetadataValue.json(chosen),
            "stored": dg.MetadataValue.md(
                "| series | observations | without value | last |\n|---|---|---|---|\n" + "\n".join(stored)
            ),
        },
        headline=f"{len(failures) + len(problems)} of {len(chosen)} series not stored",
    )


SOURCE = Source(
    client=FredClient,
    assets=[fred_series],
    datasets=[DATASET],
    freshness=updated_within([ASSET_KEY], STALE_AFTER),
)
