"""The new-symbol sensor: symbols that enter the universe become partitions and get their history.

It reads the newest symbol-directory snapshot from the lake (no warehouse lock) and hands the
symbols that are not partitions yet to sensors.backfills: one ranged run per batch of at most
`BATCH_SIZE` symbols over all history. Existing symbols are left to the daily run.

History starts at the first trading-day partition, or at TICKERLAKE_PRICES_START if later.
Cost to know: Dagster records one materialization event per (day, symbol) key of a run, about
10 ms each on the SQLite instance, so a symbol's 4,000-day history costs ~40 s of bookkeeping.
"""

import os

import dagster as dg

from assets.partitions import last_closed_session, trading_days
from assets.partitions import symbols as symbols_partitions
from assets.prices import ASSET_KEY as PRICES_KEY
from assets.symbols import ASSET_KEY as DIRECTORY_KEY
from assets.symbols import latest_listed_symbols
from resources.lake import LakeResource
from resources.symbols import SYMBOL_PATTERN
from sensors.backfills import Backfill

BATCH_SIZE = 500
PRICES_BACKFILL = Backfill(PRICES_KEY, symbols_partitions, BATCH_SIZE, "symbols")


@dg.sensor(
    name="new_symbols_sensor",
    asset_selection=[PRICES_KEY],
    minimum_interval_seconds=300,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Adds symbols from the newest directory snapshot as partitions and backfills their prices.",
)
def new_symbols_sensor(context: dg.SensorEvaluationContext, lake: LakeResource) -> dg.SensorResult | dg.SkipReason:
    snapshot, listed = latest_listed_symbols(lake)
    if not listed:
        return dg.SkipReason(f"no {DIRECTORY_KEY.to_user_string()} snapshot in the lake yet")
    first_day = max(trading_days.get_first_partition_key(), os.environ.get("TICKERLAKE_PRICES_START", ""))
    # History up to the snapshot's day: later days belong to the daily runs.
    last_day = min(snapshot, last_closed_session().isoformat())
    valid = [symbol for symbol in listed if SYMBOL_PATTERN.fullmatch(symbol)]
    return PRICES_BACKFILL.evaluate(context, valid, snapshot, first_day, last_day)
