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
from assets.direction_dataset import ASSET_KEY as DIRECTION_DATASET_KEY
from assets.direction_model import ASSET_KEY as DIRECTION_MODEL_KEY
from assets.direction_predictions import PREDICTION_ASSETS
from assets.equity_indicators import ASSET_KEY as EQUITY_INDICATORS_KEY
from assets.equity_labels import ASSET_KEY as EQUITY_LABELS_KEY
from assets.exports import short_volume_csv
from assets.finra import ASSET_KEY as FINRA_KEY
from assets.indicators import ASSET_KEY as INDICATORS_KEY

finra_backfill_job = dg.define_asset_job("finra_short_volume_backfill", selection=[FINRA_KEY])
dbt_build_job = dg.define_asset_job("dbt_models_build", selection=dg.AssetSelection.assets(tickerlake_dbt_models))
exports_job = dg.define_asset_job("short_volume_csv_export", selection=dg.AssetSelection.assets(short_volume_csv))
indicators_job = dg.define_asset_job("crypto_indicators_update", selection=[INDICATORS_KEY, CRYPTO_LABELS_KEY])
equity_indicators_job = dg.define_asset_job(
    "equity_indicators_backfill", selection=[EQUITY_INDICATORS_KEY, EQUITY_LABELS_KEY]
)
# The feature marts alone (and what they are built from in dbt): after an equity indicators backfill,
# without rebuilding every mart.
FEATURE_MARTS = (
    "fct_features_equity_daily",
    "fct_features_crypto_1d",
    "fct_features_crypto_1h",
    "fct_features_crypto_1m",
)
feature_marts_job = dg.define_asset_job(
    "feature_marts_build", selection=dg.AssetSelection.assets(*(dg.AssetKey(["marts", name]) for name in FEATURE_MARTS))
)
# Cboe's index histories alone, without the market run's trading-day range: the demo, or a re-fetch by hand.
cboe_job = dg.define_asset_job("cboe_index_history_fetch", selection=[CBOE_KEY])

# The direction model of one instrument class and interval (its partition: crypto_1h, ...): its dataset, then
# the training, scoring and registration.
direction_model_job = dg.define_asset_job(
    "direction_model_train", selection=[DIRECTION_DATASET_KEY, DIRECTION_MODEL_KEY]
)
# Every dataset's predictions of its new bars, by hand: after a model is promoted, without waiting for
# the next top-up or market run (a dataset without a promoted model predicts nothing).
direction_predictions_job = dg.define_asset_job(
    "direction_predictions_serve", selection=dg.AssetSelection.assets(*PREDICTION_ASSETS)
)

JOBS = [
    finra_backfill_job,
    dbt_build_job,
    exports_job,
    indicators_job,
    equity_indicators_job,
    feature_marts_job,
    cboe_job,
    direction_model_job,
    direction_predictions_job,
]
