"""The new-symbol sensor: symbols that enter the universe become partitions and get their history.

It reads the newest symbol-directory snapshot from the lake (no warehouse lock), adds the symbols
that are not partitions yet in one request, so they sit side by side at the end of the dynamic
partition list, and asks for their whole history as ranged runs of at most `BATCH_SIZE` symbols:
one run per batch, not one per symbol and day. Existing symbols are left to the daily run.

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

BATCH_SIZE = 500


def backfill_requests(new_symbols: list[str], first_day: str, last_day: str) -> list[dg.RunRequest]:
    """One ranged run per batch over all history; the run key makes a repeated request a no-op."""
    requests = []
    for start in range(0, len(new_symbols), BATCH_SIZE):
        batch = new_symbols[start:start + BATCH_SIZE]
        requests.append(dg.RunRequest(
            run_key=f"prices-backfill:{batch[0]}..{batch[-1]}:{len(batch)}:{first_day}..{last_day}",
            asset_selection=[PRICES_KEY],
            tags={
                "dagster/asset_partition_range_start": f"{first_day}|{batch[0]}",
                "dagster/asset_partition_range_end": f"{last_day}|{batch[-1]}",
                "tickerlake/new_symbols": str(len(batch)),
            },
        ))
    return requests


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
    known = set(context.instance.get_dynamic_partitions(symbols_partitions.name))
    new = [s for s in listed if s not in known and SYMBOL_PATTERN.fullmatch(s)]
    if not new:
        return dg.SkipReason(f"snapshot {snapshot}: all {len(listed)} symbols are partitions already")
    first_day = max(trading_days.get_first_partition_key(), os.environ.get("TICKERLAKE_PRICES_START", ""))
    # History up to the snapshot's day: later days belong to the daily runs.
    last_day = min(snapshot, last_closed_session().isoformat())
    context.log.info(f"snapshot {snapshot}: {len(new)} new symbols, backfilling {first_day}..{last_day}")
    return dg.SensorResult(
        run_requests=backfill_requests(new, first_day, last_day),
        dynamic_partitions_requests=[symbols_partitions.build_add_request(new)],
        cursor=snapshot,
    )
