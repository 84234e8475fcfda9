"""The order-book schedule: every minute, one run snapshots the top pairs' books for that minute.

The run is of the named job `crypto_order_book_snapshot`, for the tick's UTC day partition; Dagster tags
it with the tick (its scheduled execution time), which is the minute the snapshots are stored under, so a
run that starts a few seconds late still files its books under the minute it was launched for. The run
key is the minute: a tick is never snapshotted twice by the schedule. Nothing is asked before the
new-pair sensor has added the universe's pairs (the books are of the universe's top pairs).
"""

import dagster as dg

from assets.binance_depth import ORDER_BOOK_KEY
from assets.partitions import pairs
from resources import settings

JOB_NAME = "crypto_order_book_snapshot"


@dg.schedule(
    name="crypto_order_book_schedule",
    job=dg.define_asset_job(JOB_NAME, selection=[ORDER_BOOK_KEY]),
    cron_schedule="* * * * *",
    execution_timezone="UTC",
    default_status=settings.fetching_schedule_status(),
    description="Snapshots the order books of the universe's top pairs every minute (Binance /api/v3/depth).",
)
def crypto_order_book_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
    if not context.instance.get_dynamic_partitions(pairs.name):
        return dg.SkipReason("no crypto_pairs partitions yet: the new-pair sensor adds the universe's pairs")
    tick = context.scheduled_execution_time
    return dg.RunRequest(run_key=f"order_book:{tick:%Y-%m-%dT%H:%M}", partition_key=f"{tick:%Y-%m-%d}")


AUTOMATION = [crypto_order_book_schedule]
