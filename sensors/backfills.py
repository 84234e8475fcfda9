"""What the new-symbol and new-pair sensors share: new keys become partitions and get their history.

New keys are added in one request, so they sit side by side at the end of the dynamic partition
list, and their history asset (one partition per key, all of its history) is asked for as ranged
runs of at most `batch_size` keys: one run per batch, a planned and a materialization event per key.
The run key makes a repeated request for the same batch a no-op.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import dagster as dg

RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"


@dataclass(frozen=True)
class Backfill:
    """The history asset new keys need, over which dynamic partitions, in batches of what size."""

    asset_key: dg.AssetKey
    partitions: dg.DynamicPartitionsDefinition
    batch_size: int
    noun: str  # what the keys are, in messages and in the run tag: "symbols", "pairs"

    @property
    def tag(self) -> str:
        return f"tickerlake/new_{self.noun}"

    @property
    def job_name(self) -> str:
        """The sensor's job, named for what its runs do (`prices_history_backfill`): without one, every
        run the sensor launches shows in the UI's Runs page as an anonymous asset job."""
        return f"{self.asset_key.path[-1]}_backfill"

    def requests(self, new_keys: Sequence[str], snapshot: str) -> list[dg.RunRequest]:
        requests = []
        for start in range(0, len(new_keys), self.batch_size):
            batch = new_keys[start : start + self.batch_size]
            requests.append(
                dg.RunRequest(
                    run_key=f"{self.asset_key.path[-1]}:{batch[0]}..{batch[-1]}:{len(batch)}:{snapshot}",
                    asset_selection=[self.asset_key],
                    tags={RANGE_START: batch[0], RANGE_END: batch[-1], self.tag: str(len(batch))},
                )
            )
        return requests

    def evaluate(
        self, context: dg.SensorEvaluationContext, listed: Sequence[str], snapshot: str
    ) -> dg.SensorResult | dg.SkipReason:
        """Partitions and history runs for the keys of `listed` that are not partitions yet."""
        known = set(context.instance.get_dynamic_partitions(self.partitions.name))
        new = [key for key in listed if key not in known]
        if not new:
            return dg.SkipReason(f"snapshot {snapshot}: all {len(listed)} {self.noun} are partitions already")
        context.log.info(f"snapshot {snapshot}: {len(new)} new {self.noun}, backfilling their history")
        return dg.SensorResult(
            run_requests=self.requests(new, snapshot),
            dynamic_partitions_requests=[self.partitions.build_add_request(new)],
            cursor=snapshot,
        )
