"""Sector inputs from SEC EDGAR: who is behind each ticker (CIK) and their SIC code.

SIC codes are fetched only for CIKs not stored yet, so the daily run costs a handful of requests,
not one per company (10 requests/s would make a full refresh take 15 minutes). The Fama-French 12
mapping is a dbt seed (dbt_project/seeds/ff12_sic_ranges.csv), applied in dim_symbols.
"""

import dagster as dg
import polars as pl

from resources.lake import Dataset, LakeResource
from resources.sectors import SIC_SCHEMA, TICKERS_SCHEMA, SecClient

TICKERS_DATASET = Dataset("sec_company_tickers", TICKERS_SCHEMA, order=("symbol", "cik"))
SIC_DATASET = Dataset("sec_company_sic", SIC_SCHEMA, order=("cik",))


@dg.asset(key=["raw", TICKERS_DATASET.name], group_name="sectors", kinds={"ducklake"},
          description="SEC company_tickers_exchange.json: ticker, CIK, company name and exchange.")
def sec_company_tickers(sec: SecClient, lake: LakeResource) -> dg.MaterializeResult:
    frame = sec.company_tickers()
    lake.replace(TICKERS_DATASET, frame)
    return dg.MaterializeResult(metadata={"dagster/row_count": frame.height})


@dg.asset(key=["raw", SIC_DATASET.name], deps=[sec_company_tickers], group_name="sectors", kinds={"ducklake"},
          description="SIC code per CIK from SEC's submissions API, fetched once per CIK.")
def sec_company_sic(context: dg.AssetExecutionContext, sec: SecClient, lake: LakeResource) -> dg.MaterializeResult:
    wanted = set(lake.distinct(TICKERS_DATASET, "cik"))
    stored = lake.read(SIC_DATASET)
    missing = sorted(wanted - set(stored["cik"].to_list()))
    context.log.info(f"{len(missing)} CIKs without a SIC code yet; {stored.height} stored")
    fetched = pl.DataFrame(list(sec.sic_codes(missing)), schema=SIC_SCHEMA, orient="row")
    lake.replace(SIC_DATASET, fetched, where={"cik": fetched["cik"].to_list()})
    frame = lake.read(SIC_DATASET)
    return dg.MaterializeResult(metadata={"dagster/row_count": frame.height, "fetched": len(missing),
                                          "without_sic": frame["sic"].null_count()})


