"""The crypto side's sensor and schedule: new pairs get their archive history, all pairs a top-up.

The new-pair sensor is the new-symbol sensor's twin (sensors.backfills): pairs that enter the
universe snapshot become `crypto_pairs` partitions and get one ranged run per batch over all
history, from TICKERLAKE_CRYPTO_START_DATE (the run skips days before each pair's listing) to
yesterday. The top-up schedule then keeps every pair current from the REST API every
TICKERLAKE_CRYPTO_TOPUP_MINUTES minutes (default 15): one run over (yesterday, today) x all pairs.
"""

import datetime as dt
import os

import dagster as dg

from assets.binance import KLINES_KEY, TAIL_DAYS, UNIVERSE_KEY, latest_universe
from assets.partitions import crypto_days, pairs
from resources.binance import PAIR_PATTERN
from resources.lake import LakeResource
from sensors.backfills import RANGE_END, RANGE_START, Backfill

BATCH_SIZE = 20
KLINES_BACKFILL = Backfill(KLINES_KEY, pairs, BATCH_SIZE, "pairs")
TOPUP_MINUTES = int(os.environ.get("TICKERLAKE_CRYPTO_TOPUP_MINUTES", "15"))


def last_crypto_day() -> dt.date:
    """The newest crypto partition: today in UTC, or the pinned TICKERLAKE_CRYPTO_END_DATE."""
    return dt.date.fromisoformat(crypto_days.get_last_partition_key())


@dg.sensor(
    name="new_pairs_sensor",
    asset_selection=[KLINES_KEY],
    minimum_interval_seconds=300,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Adds pairs from the newest universe snapshot as partitions and backfills their klines.",
)
def new_pairs_sensor(context: dg.SensorEvaluationContext, lake: LakeResource) -> dg.SensorResult | dg.SkipReason:
    snapshot, listed = latest_universe(lake)
    if not listed:
        return dg.SkipReason(f"no {UNIVERSE_KEY.to_user_string()} snapshot in the lake yet")
    # History up to the day before the tail: the tail days belong to the top-up.
    last_day = last_crypto_day() - dt.timedelta(days=TAIL_DAYS - 1)
    valid = [pair for pair in listed if PAIR_PATTERN.fullmatch(pair)]
    return KLINES_BACKFILL.evaluate(context, valid, snapshot, crypto_days.get_first_partition_key(),
                                    last_day.isoformat())


def topup_request(instance: dg.DagsterInstance, run_key: str) -> dg.RunRequest | dg.SkipReason:
    """The tail days (yesterday, today) for every known pair, as one ranged run."""
    known = instance.get_dynamic_partitions(pairs.name)
    if not known:
        return dg.SkipReason("no crypto_pairs partitions yet: the new-pair sensor adds them")
    last = last_crypto_day()
    first = last - dt.timedelta(days=TAIL_DAYS - 1)
    return dg.RunRequest(run_key=run_key, tags={RANGE_START: f"{first}|{known[0]}", RANGE_END: f"{last}|{known[-1]}"})


@dg.schedule(
    name="crypto_topup_schedule",
    job=dg.define_asset_job("crypto_topup", selection=[KLINES_KEY]),
    cron_schedule=f"*/{TOPUP_MINUTES} * * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
def crypto_topup_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
    return topup_request(context.instance, f"topup:{context.scheduled_execution_time:%Y-%m-%dT%H:%M}")


@dg.schedule(
    name="crypto_universe_schedule",
    job=dg.define_asset_job("crypto_universe_daily", selection=[UNIVERSE_KEY]),
    cron_schedule="5 0 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
def crypto_universe_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    """The universe snapshot just after midnight UTC, when Binance's 24h window is a calendar day."""
    return dg.RunRequest(run_key=f"universe:{context.scheduled_execution_time:%Y-%m-%d}")
