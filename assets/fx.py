"""ECB euro reference rates, the whole history each day (the file is small and ECB revises nothing
in place, so replacing it is both simplest and idempotent). A discontinued currency keeps its past
rows in ECB's archive, so an answer that lacks a stored currency is not complete and is refused."""

import datetime as dt
from collections.abc import Iterator

import dagster as dg
import polars as pl

from assets.checks import Ledger, PublishConfig, Rule, check_specs, fetching, finish, publish
from assets.freshness import updated_within
from assets.schema import column_schema
from assets.sources import DAILY_TAG, Source
from resources.completeness import Completeness
from resources.fx import FX_MEANINGS, FX_SCHEMA, EcbClient
from resources.lake import Dataset, LakeResource

DATASET = Dataset(
    "fx_rates_ecb",
    FX_SCHEMA,
    order=("rate_date", "currency"),
    key=("rate_date", "currency"),
    completeness=Completeness(keys=("currency",)),
)
ASSET_KEY = dg.AssetKey(["raw", DATASET.name])
RULES = (
    Rule(
        "rate_positive",
        "Every rate is a finite number above zero.",
        pl.col("units_per_eur").is_finite() & (pl.col("units_per_eur") > 0),
    ),
)


@dg.asset(
    key=ASSET_KEY,
    group_name="fx",
    kinds={"ducklake"},
    tags={DAILY_TAG: "reference"},
    metadata=column_schema(FX_SCHEMA, FX_MEANINGS),
    check_specs=check_specs(ASSET_KEY, DATASET, RULES),
    description="ECB reference rates, long format: rate_date, currency, units_per_eur.",
)
def fx_rates_ecb(
    context: dg.AssetExecutionContext, config: PublishConfig, fx: EcbClient, lake: LakeResource
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    config.announce(context.log)
    with fetching(lake, DATASET, "ECB eurofxref-hist"):
        frame = fx.fetch_history()
    ledger = Ledger(DATASET, RULES)
    problems = publish(lake, DATASET, frame, None, "eurofxref-hist", ledger, config.allow_shrink)
    yield from finish(
        ledger,
        problems,
        {
            "dagster/row_count": frame.height,
            "currencies": frame["currency"].n_unique(),
            "last_fix": frame["rate_date"].max().isoformat() if frame.height else "",
        },
    )


SOURCE = Source(
    client=EcbClient,
    assets=[fx_rates_ecb],
    datasets=[DATASET],
    freshness=updated_within([ASSET_KEY], dt.timedelta(days=4)),
)
