"""The named jobs people and the demo start by hand, beside the ones schedules and sensors start.

A run started with `dagster asset materialize` or `materialize()` is named `__ephemeral_asset_job__`
in the UI's Runs page, whatever it did; a run of one of these jobs says what it did
(`finra_short_volume_backfill`, `dbt_models_build`). Start one from the UI's Jobs page, or with
`dagster job execute -j <name>` (a range of partitions: the tags `dagster/asset_partition_range_start`
and `..._end`, as the daily schedules set them).
"""

import dagster as dg

from assets.cboe import ASSET_KEY as CBOE_KEY
from assets.crypto_labels import ASSET_KEY as CRYPTO_LABELS_KEY
from assets.dbt import tickerlake_dbt_models
from assets.exports import short_volume_csv
from assets.finra import ASSET_KEY as FINRA_KEY
from assets.indicators import ASSET_KEY as INDICATORS_KEY

finra_backfill_job = dg.define_asset_job("finra_short_volume_backfill", selection=[FINRA_KEY])
dbt_build_job = dg.define_asset_job("dbt_models_build", selection=dg.AssetSelection.assets(tickerlake_dbt_models))
exports_job = dg.define_asset_job("short_volume_csv_export", selection=dg.AssetSelection.assets(short_volume_csv))
indicators_job = dg.define_asset_job("crypto_indicators_update", selection=[INDICATORS_KEY, CRYPTO_LABELS_KEY])
# Cboe's index histories alone, without the market run's trading-day range: the demo, or a re-fetch by hand.
cboe_job = dg.define_asset_job("cboe_index_history_fetch", selection=[CBOE_KEY])

JOBS = [finra_backfill_job, dbt_build_job, exports_job, indicators_job, cboe_job]
