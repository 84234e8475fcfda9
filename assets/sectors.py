"""Sector inputs from SEC EDGAR: who is behind each ticker (CIK) and their SIC code.

SIC codes are fetched only for CIKs not stored yet, so the daily run costs a handful of requests,
not one per company (10 requests/s would make a full refresh take 15 minutes). The Fama-French 12
mapping is a dbt seed (dbt_project/seeds/ff12_sic_ranges.csv), applied in dim_symbols.
"""

import datetime as dt
from collections.abc import Iterator

import dagster as dg
import polars as pl

from assets.checks import Ledger, PublishConfig, Rule, check_specs, fetching, finish, publish
from assets.freshness import updated_within
from assets.schema import column_schema
from assets.sources import DAILY_TAG, Source
from resources.completeness import Completeness
from resources.lake import Dataset, LakeResource
from resources.sectors import SIC_MEANINGS, SIC_SCHEMA, TICKERS_MEANINGS, TICKERS_SCHEMA, SecClient

# SEC's list may lose a few companies from one day to the next (deregistrations), never a tenth of them.
TICKERS_DATASET = Dataset(
    "sec_company_tickers",
    TICKERS_SCHEMA,
    order=("symbol", "cik"),
    key=("symbol", "cik"),
    completeness=Completeness(keys=("cik",), tolerance=0.1),
)
TICKERS_KEY = dg.AssetKey(["raw", TICKERS_DATASET.name])
TICKER_RULES = (Rule("cik_positive", "Every ticker has a CIK above zero.", pl.col("cik") > 0),)
SIC_DATASET = Dataset("sec_company_sic", SIC_SCHEMA, order=("cik",))


@dg.asset(
    key=TICKERS_KEY,
    group_name="sectors",
    kinds={"ducklake"},
    tags={DAILY_TAG: "reference"},
    metadata=column_schema(TICKERS_SCHEMA, TICKERS_MEANINGS),
    check_specs=check_specs(TICKERS_KEY, TICKERS_DATASET, TICKER_RULES),
    description="SEC company_tickers_exchange.json: ticker, CIK, company name and exchange.",
)
def sec_company_tickers(
    context: dg.AssetExecutionContext, config: PublishConfig, sectors: SecClient, lake: LakeResource
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    config.announce(context.log)
    with fetching(lake, TICKERS_DATASET, "SEC company_tickers_exchange.json"):
        frame = sectors.company_tickers()
    ledger = Ledger(TICKERS_DATASET, TICKER_RULES)
    problems = publish(lake, TICKERS_DATASET, frame, None, "company_tickers_exchange", ledger, config.allow_shrink)
    yield from finish(ledger, problems, {"dagster/row_count": frame.height})


@dg.asset(
    key=["raw", SIC_DATASET.name],
    deps=[sec_company_tickers],
    group_name="sectors",
    kinds={"ducklake"},
    metadata=column_schema(SIC_SCHEMA, SIC_MEANINGS),
    tags={DAILY_TAG: "reference"},
    description="SIC code per CIK from SEC's submissions API, fetched once per CIK.",
)
def sec_company_sic(context: dg.AssetExecutionContext, sectors: SecClient, lake: LakeResource) -> dg.MaterializeResult:
    wanted = set(lake.distinct(TICKERS_DATASET, "cik"))
    stored = lake.read(SIC_DATASET)
    missing = sorted(wanted - set(stored["cik"].to_list()))
    context.log.info(f"{len(missing)} CIKs without a SIC code yet; {stored.height} stored")
    fetched = pl.DataFrame(list(sectors.sic_codes(missing)), schema=SIC_SCHEMA, orient="row")
    lake.replace(SIC_DATASET, fetched, where={"cik": fetched["cik"].to_list()})
    frame = lake.read(SIC_DATASET)
    return dg.MaterializeResult(
        metadata={"dagster/row_count": frame.height, "fetched": len(missing), "without_sic": frame["sic"].null_count()}
    )


SOURCE = Source(
    client=SecClient,
    assets=[sec_company_tickers, sec_company_sic],
    datasets=[TICKERS_DATASET, SIC_DATASET],
    freshness=updated_within([TICKERS_KEY], dt.timedelta(days=4)),
)
