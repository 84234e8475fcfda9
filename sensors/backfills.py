"""What the new-symbol and new-pair sensors share: new keys become partitions and get their history.

New keys are added in one request, so they sit side by side at the end of the dynamic partition
list, and their history is asked for as ranged runs of at most `batch_size` keys: one run per batch
over the whole range (a box of days x keys), not one run per key and day. The run key makes a
repeated request for the same batch and range a no-op.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import dagster as dg

RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"


@dataclass(frozen=True)
class Backfill:
    """The asset whose history new keys need, over which dynamic partitions, in batches of what size."""

    asset_key: dg.AssetKey
    partitions: dg.DynamicPartitionsDefinition
    batch_size: int
    noun: str  # what the keys are, in messages and in the run tag: "symbols", "pairs"

    @property
    def tag(self) -> str:
        return f"tickerlake/new_{self.noun}"

    def requests(self, new_keys: Sequence[str], first_day: str, last_day: str) -> list[dg.RunRequest]:
        requests = []
        for start in range(0, len(new_keys), self.batch_size):
            batch = new_keys[start:start + self.batch_size]
            requests.append(dg.RunRequest(
                run_key=f"{self.asset_key.path[-1]}-backfill:{batch[0]}..{batch[-1]}:{len(batch)}:{first_day}..{last_day}",
                asset_selection=[self.asset_key],
                tags={RANGE_START: f"{first_day}|{batch[0]}", RANGE_END: f"{last_day}|{batch[-1]}",
                      self.tag: str(len(batch))},
            ))
        return requests

    def evaluate(
        self, context: dg.SensorEvaluationContext, listed: Sequence[str], snapshot: str, first_day: str, last_day: str
    ) -> dg.SensorResult | dg.SkipReason:
        """Partitions and backfill runs for the keys of `listed` that are not partitions yet."""
        known = set(context.instance.get_dynamic_partitions(self.partitions.name))
        new = [key for key in listed if key not in known]
        if not new:
            return dg.SkipReason(f"snapshot {snapshot}: all {len(listed)} {self.noun} are partitions already")
        context.log.info(f"snapshot {snapshot}: {len(new)} new {self.noun}, backfilling {first_day}..{last_day}")
        return dg.SensorResult(
            run_requests=self.requests(new, first_day, last_day),
            dynamic_partitions_requests=[self.partitions.build_add_request(new)],
            cursor=snapshot,
        )
