"""ECB euro reference rates, the whole history each day (the file is small and ECB revises nothing
in place, so replacing it is both simplest and idempotent)."""

import dagster as dg

from resources.fx import FX_SCHEMA, EcbClient
from resources.lake import Dataset, LakeResource

DATASET = Dataset("fx_rates_ecb", FX_SCHEMA, order=("rate_date", "currency"))


@dg.asset(key=["raw", DATASET.name], group_name="fx", kinds={"ducklake"},
          description="ECB reference rates, long format: rate_date, currency, units_per_eur.")
def fx_rates_ecb(ecb: EcbClient, lake: LakeResource) -> dg.MaterializeResult:
    frame = ecb.fetch_history()
    lake.replace(DATASET, frame)
    return dg.MaterializeResult(metadata={
        "dagster/row_count": frame.height,
        "currencies": frame["currency"].n_unique(),
        "last_fix": frame["rate_date"].max().isoformat(),
    })
