"""The asset graph as text: one line per asset (key, group, partitions, automation, deps), sorted.

A change to the graph (a new source, a renamed model, a dependency gained or lost, a partitioning
changed) shows as a reviewable diff of tests/asset_graph.txt. `make snapshot` writes it again.
"""

import dagster as dg

from tests.helpers import ROOT, load_definitions

SNAPSHOT = ROOT / "tests" / "asset_graph.txt"


def _partitions(partitions: dg.PartitionsDefinition | None) -> str:
    if partitions is None:
        return "-"
    if isinstance(partitions, dg.DynamicPartitionsDefinition):
        return f"dynamic:{partitions.name}"
    if isinstance(partitions, dg.TimeWindowPartitionsDefinition):
        return f"time:{partitions.cron_schedule}:{partitions.timezone}"
    return type(partitions).__name__


def _automation(condition: dg.AutomationCondition | None) -> str:
    """The condition's label (eager, ...) and the names of its parts, so a changed rule shows."""
    if condition is None:
        return "-"
    parts = "+".join(child.get_label() or child.name for child in condition.children)
    return f"{condition.get_label() or condition.name}({parts})"


def render() -> str:
    graph = load_definitions().defs.resolve_asset_graph()
    lines = []
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        if not node.is_materializable:
            continue
        deps = ",".join(sorted(k.to_user_string() for k in node.parent_keys)) or "-"
        lines.append(
            f"{key.to_user_string()} | group={node.group_name} | partitions={_partitions(node.partitions_def)}"
            f" | automation={_automation(node.automation_condition)} | deps={deps}"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    SNAPSHOT.write_text(render())
    print(f"wrote {SNAPSHOT}")
