"""The crypto side's sensor and schedule: new pairs get their archive history, all pairs a top-up.

The new-pair sensor is the new-symbol sensor's twin (sensors.backfills): pairs that enter the
universe snapshot become `crypto_pairs` partitions and get their history (raw/crypto_klines_history)
as one ranged run per batch of pairs, from TICKERLAKE_CRYPTO_START_DATE (the run skips days before
each pair's listing) to yesterday. The top-up schedule then keeps every pair current from the REST
API every TICKERLAKE_CRYPTO_TOPUP_MINUTES minutes (default 15): one run of raw/crypto_klines_1m over
the day partitions (yesterday, today), for all pairs, which carries the new bars on through the
indicators and the feature marts to the direction model's predictions (1 minute serves each 1m bar
within a minute of its close: docs/benchmarks.md).
"""

import datetime as dt

import dagster as dg

from assets.binance import HISTORY_KEY, KLINES_KEY, UNIVERSE_KEY, last_crypto_day, latest_universe
from assets.dbt import tickerlake_dbt_models
from assets.direction_predictions import asset_key as predictions_key
from assets.indicators import ASSET_KEY as INDICATORS_KEY
from assets.indicators import INTERVALS
from assets.partitions import pairs
from resources import settings
from resources.binance import PAIR_PATTERN, TAIL_DAYS
from resources.lake import LakeResource
from sensors.backfills import RANGE_END, RANGE_START, Backfill

BATCH_SIZE = 20
HISTORY_BACKFILL = Backfill(HISTORY_KEY, pairs, BATCH_SIZE, "pairs")
TOPUP_MINUTES = int(settings.value("TICKERLAKE_CRYPTO_TOPUP_MINUTES"))
# A new bar from the fetch to its prediction in one run, without a daemon tick between the steps: the
# klines, the indicators, the crypto feature marts with the dbt models they read (views left unchanged
# cost nothing; on a fresh lake they are created first), and the direction model's predictions.
CRYPTO_MARTS = dg.AssetSelection.assets(*(dg.AssetKey(["marts", f"fct_features_crypto_{i}"]) for i in INTERVALS))
TOPUP_SELECTION = dg.AssetSelection.assets(
    KLINES_KEY, INDICATORS_KEY, *(predictions_key(f"crypto_{i}") for i in INTERVALS)
) | (CRYPTO_MARTS.upstream() & dg.AssetSelection.assets(tickerlake_dbt_models))


@dg.sensor(
    name="new_pairs_sensor",
    job=dg.define_asset_job(HISTORY_BACKFILL.job_name, selection=[HISTORY_KEY]),
    minimum_interval_seconds=300,
    default_status=settings.fetching_sensor_status(),
    description="Adds pairs from the newest universe snapshot as partitions and backfills their klines.",
)
def new_pairs_sensor(context: dg.SensorEvaluationContext, lake: LakeResource) -> dg.SensorResult | dg.SkipReason:
    snapshot, listed = latest_universe(lake)
    if not listed:
        return dg.SkipReason(f"no {UNIVERSE_KEY.to_user_string()} snapshot in the lake yet")
    valid = [pair for pair in listed if PAIR_PATTERN.fullmatch(pair)]
    return HISTORY_BACKFILL.evaluate(context, valid, snapshot)


def topup_request(instance: dg.DagsterInstance, run_key: str) -> dg.RunRequest | dg.SkipReason:
    """The tail days (yesterday, today) of the day-partitioned klines, for every known pair, as one run."""
    if not instance.get_dynamic_partitions(pairs.name):
        return dg.SkipReason("no crypto_pairs partitions yet: the new-pair sensor adds them")
    last = last_crypto_day()
    first = last - dt.timedelta(days=TAIL_DAYS - 1)
    return dg.RunRequest(run_key=run_key, tags={RANGE_START: first.isoformat(), RANGE_END: last.isoformat()})


@dg.schedule(
    name="crypto_topup_schedule",
    job=dg.define_asset_job("crypto_topup", selection=TOPUP_SELECTION),
    cron_schedule=f"*/{TOPUP_MINUTES} * * * *",
    execution_timezone="UTC",
    default_status=settings.fetching_schedule_status(),
)
def crypto_topup_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
    return topup_request(context.instance, f"topup:{context.scheduled_execution_time:%Y-%m-%dT%H:%M}")


@dg.schedule(
    name="crypto_universe_schedule",
    job=dg.define_asset_job("crypto_universe_daily", selection=[UNIVERSE_KEY]),
    cron_schedule="5 0 * * *",
    execution_timezone="UTC",
    default_status=settings.fetching_schedule_status(),
)
def crypto_universe_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    """The universe snapshot just after midnight UTC, when Binance's 24h window is a calendar day."""
    return dg.RunRequest(run_key=f"universe:{context.scheduled_execution_time:%Y-%m-%d}")


AUTOMATION = [new_pairs_sensor, crypto_topup_schedule, crypto_universe_schedule]
