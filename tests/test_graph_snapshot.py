"""The committed snapshot of the asset graph is the graph the definitions build."""

import difflib

from tests.graph_snapshot import SNAPSHOT, render


def test_the_asset_graph_matches_its_committed_snapshot() -> None:
    expected, actual = SNAPSHOT.read_text(), render()
    diff = "".join(difflib.unified_diff(expected.splitlines(True), actual.splitlines(True), "committed", "built"))
    assert actual == expected, f"the asset graph changed; review, then `make snapshot`:\n{diff}"
