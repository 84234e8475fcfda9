"""The new-symbol sensor: symbols that enter the universe become partitions and get their history.

It reads the newest symbol-directory snapshot (the US) and each configured market's newest listing
snapshot (assets/listings.py) from the lake and hands the symbols that are not partitions yet to
sensors.backfills: one ranged run of raw/prices_history per batch of at most
`BATCH_SIZE` symbols, each symbol's whole history (from the first trading-day partition, or
TICKERLAKE_PRICES_START if later) in one request and one materialization. Existing symbols are left
to the daily run (raw/prices_daily).
"""

import dagster as dg

from assets.listings import latest_market_symbols
from assets.partitions import symbols as symbols_partitions
from assets.prices import HISTORY_KEY
from assets.symbols import ASSET_KEY as DIRECTORY_KEY
from assets.symbols import latest_listed_symbols
from resources import settings
from resources.lake import LakeResource
from resources.symbols import SYMBOL_PATTERN
from sensors.backfills import Backfill

BATCH_SIZE = 500
PRICES_BACKFILL = Backfill(HISTORY_KEY, symbols_partitions, BATCH_SIZE, "symbols")


@dg.sensor(
    name="new_symbols_sensor",
    job=dg.define_asset_job(PRICES_BACKFILL.job_name, selection=[HISTORY_KEY]),
    minimum_interval_seconds=300,
    default_status=settings.fetching_sensor_status(),
    description=(
        "Adds symbols from the newest directory snapshot and each market's newest listing snapshot as "
        "partitions and backfills their prices."
    ),
)
def new_symbols_sensor(context: dg.SensorEvaluationContext, lake: LakeResource) -> dg.SensorResult | dg.SkipReason:
    snapshot, listed = latest_listed_symbols(lake)
    markets = latest_market_symbols(lake)
    if not listed and not markets:
        return dg.SkipReason(f"no {DIRECTORY_KEY.to_user_string()} or market listing snapshot in the lake yet")
    listed += [symbol for symbols in markets.values() for symbol in symbols]
    valid = [symbol for symbol in listed if SYMBOL_PATTERN.fullmatch(symbol)]
    return PRICES_BACKFILL.evaluate(context, valid, ",".join([snapshot, *markets]))


AUTOMATION = [new_symbols_sensor]
