"""Stage, check, publish: a raw partition becomes visible only after its blocking checks pass.

Every raw asset checks each partition it fetched before it writes it: the dataset's key is unique,
and each of the dataset's rules holds on every row. A partition that passes is published (replaced
in the lake in one transaction); one that fails is kept aside in `quarantine.<dataset>` with the
failed checks, never published, and the partition's stored version stays as it was. The run's check
results (blocking, so nothing downstream builds on a failure) name the quarantined partitions, the
rows that broke each check, and the query that shows them.
"""

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import dagster as dg
import polars as pl

from resources.completeness import ShrinkRefused
from resources.http import SourceError
from resources.lake import QUARANTINE_PARTITION, Dataset, LakeResource, Stored, Where

EXAMPLES = 5


@dataclass(frozen=True)
class Rule:
    """A value rule every row must satisfy: `holds` is true on a good row (nulls count as bad)."""

    name: str
    description: str
    holds: pl.Expr


def unique_check_name(dataset: Dataset) -> str:
    return "unique_" + "_".join(dataset.key)


def check_specs(asset_key: dg.AssetKey, dataset: Dataset, rules: tuple[Rule, ...]) -> list[dg.AssetCheckSpec]:
    """The blocking checks of a raw asset: its dataset's key, and each rule."""
    specs = [
        dg.AssetCheckSpec(
            unique_check_name(dataset),
            asset=asset_key,
            blocking=True,
            description=f"No ({', '.join(dataset.key)}) appears twice in a partition.",
        )
    ]
    return specs + [
        dg.AssetCheckSpec(rule.name, asset=asset_key, blocking=True, description=rule.description) for rule in rules
    ]


@dataclass
class Ledger:
    """The checks of one run, partition by partition: what failed where, and examples of the rows."""

    dataset: Dataset
    rules: tuple[Rule, ...]
    failed: dict[str, list[str]] = field(default_factory=dict)
    examples: dict[str, list[pl.DataFrame]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    checked: int = 0

    def inspect(self, partition: str, frame: pl.DataFrame) -> list[str]:
        """The names of the checks this partition fails (empty: publish it)."""
        self.checked += 1
        failures = []
        for name, bad in self._violations(frame).items():
            if bad.height:
                failures.append(name)
                self.failed.setdefault(name, []).append(partition)
                self.examples.setdefault(name, []).append(bad.head(EXAMPLES))
                self.counts[name] = self.counts.get(name, 0) + bad.height
        return failures

    def split(self, frame: pl.DataFrame, by: str) -> tuple[pl.DataFrame, dict[str, list[str]]]:
        """The rows of the `by` values (e.g. symbols) that pass every check, and the failed checks of the
        others, checked all at once: a batch of 500 symbols is one pass, not 500."""
        failing: dict[str, set[str]] = {}
        for name, rows in self._violations(frame).items():
            for value, group in rows.group_by(by):
                label = str(value[0])
                failing.setdefault(label, set()).add(name)
                self.failed.setdefault(name, []).append(label)
                self.examples.setdefault(name, []).append(group.head(EXAMPLES))
                self.counts[name] = self.counts.get(name, 0) + group.height
        self.checked += frame[by].n_unique()
        good = frame.filter(~pl.col(by).cast(pl.String()).is_in(pl.Series(list(failing), dtype=pl.String()).implode()))
        return good, {label: sorted(names) for label, names in failing.items()}

    def _violations(self, frame: pl.DataFrame) -> Mapping[str, pl.DataFrame]:
        key = list(self.dataset.key)
        found = {unique_check_name(self.dataset): frame.filter(pl.struct(key).is_duplicated()).select(key)}
        for rule in self.rules:
            found[rule.name] = frame.filter(~rule.holds.fill_null(False))
        return found

    def results(self) -> Iterator[dg.AssetCheckResult]:
        for name in [unique_check_name(self.dataset), *(rule.name for rule in self.rules)]:
            partitions = self.failed.get(name, [])
            metadata: dict[str, object] = {"partitions_checked": self.checked, "rows_failing": self.counts.get(name, 0)}
            if partitions:
                metadata |= {
                    "quarantined": dg.MetadataValue.json(partitions[:100]),
                    "examples": dg.MetadataValue.md(markdown(pl.concat(self.examples[name], how="diagonal_relaxed"))),
                    "inspect": dg.MetadataValue.text(
                        f"SELECT * FROM {self.dataset.quarantine.table} WHERE {QUARANTINE_PARTITION} IN "
                        f"({', '.join(repr(p) for p in partitions[:5])})"
                    ),
                }
            yield dg.AssetCheckResult(check_name=name, passed=not partitions, metadata=metadata)


def markdown(frame: pl.DataFrame, limit: int = EXAMPLES) -> str:
    if frame.height == 0:
        return "none"
    head = frame.head(limit)
    lines = ["| " + " | ".join(head.columns) + " |", "|" + "---|" * len(head.columns)]
    return "\n".join(lines + ["| " + " | ".join(str(v) for v in row) + " |" for row in head.iter_rows()])


class PublishConfig(dg.Config):
    """Run config of every raw asset: the explicit override for a source's real restatement."""

    allow_shrink: bool = False  # let replacements shrink stored partitions (logged as a warning)

    def announce(self, log: dg.DagsterLogManager) -> None:
        if self.allow_shrink:
            log.warning("allow_shrink is on: this run may replace stored partitions with less data")


def publish(
    lake: LakeResource,
    dataset: Dataset,
    frame: pl.DataFrame,
    where: Where | None,
    label: str,
    ledger: Ledger,
    allow_shrink: bool = False,
    complete: Sequence[Any] = (),
) -> list[str]:
    """Check one partition, then publish it or quarantine it; returns why it was not published, if not.
    `complete`: the partitions (values of the completeness `per` column) the source says are whole."""
    failed = ledger.inspect(label, frame)
    if failed:
        lake.quarantine(dataset, frame, label, ", ".join(failed))
        return [f"{dataset.name} {label}: quarantined, failed {', '.join(failed)}; the stored version is unchanged"]
    try:
        return lake.replace(dataset, frame, where, allow_shrink=allow_shrink, complete=complete).refused
    except ShrinkRefused as refusal:
        return [str(refusal)]


@dataclass(frozen=True)
class FetchFailure:
    """A partition its source did not deliver (an HTTP error after the retries, a body that would not
    parse), and what the lake still holds of it. A failed re-fetch paints a stored partition red in the
    UI; the failure itself says the stored rows are untouched, how many and from when, so nobody takes
    a red partition for lost data."""

    what: str  # the source and the partition, as people read them: "FINRA 2024-07-12"
    error: str
    stored: Stored
    unit: str = "partition"  # or "table", for a dataset replaced whole

    def __str__(self) -> str:
        kept = f"the stored {self.unit} is intact: {self.stored}" if self.stored.rows else "nothing was stored for it"
        return f"{self.what}: fetch failed ({self.error}); {kept}"


def fetch_failures(
    lake: LakeResource,
    dataset: Dataset,
    by: str,
    errors: Mapping[Any, str],
    name: Callable[[Any], str],
    within: Where | None = None,
) -> list[FetchFailure]:
    """The failures of the partitions (values of the column `by`, within `within`) whose fetch failed,
    with what the lake holds of each; `name` says a partition as people read it."""
    if not errors:
        return []
    stored = lake.stored(dataset, by, list(errors), within)
    return [FetchFailure(name(value), error, stored[value]) for value, error in errors.items()]


@contextmanager
def fetching(lake: LakeResource, dataset: Dataset, what: str, where: Where | None = None) -> Iterator[None]:
    """Around the fetch of a dataset replaced whole (or one partition): a source that fails fails the
    run saying what the lake still holds, untouched."""
    try:
        yield
    except SourceError as error:
        stored = lake.stored(dataset, within=where)[None]
        failure = FetchFailure(what, str(error), stored, "table" if where is None else "partition")
        raise dg.Failure(description=str(failure), metadata=failure_metadata([failure])) from error


def failure_metadata(failures: Sequence[FetchFailure]) -> dict[str, object]:
    """The stored rows the failed partitions keep (all of them), their newest write, the first error, and
    each failure; nothing when every fetch succeeded."""
    if not failures:
        return {}
    written = [f.stored.written_at for f in failures if f.stored.written_at is not None]
    return {
        "stored_rows": sum(f.stored.rows for f in failures),
        "stored_at": max(written).isoformat() if written else "",
        "error": failures[0].error,
        "fetch_failed": dg.MetadataValue.json([str(f) for f in failures[:200]]),
    }


def finish(
    ledger: Ledger,
    problems: Sequence[str | FetchFailure],
    metadata: Mapping[str, object],
    headline: str = "",
    checked: Sequence[dg.AssetCheckResult] = (),
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    """The check results, then the materialization; or, if anything was not published, the check
    results and a failure naming each partition and why (its stored version is unchanged), after the
    rest of the batch was stored. `headline` says how much of the batch failed; `checked` are results of
    the asset's own checks beyond the ledger's (a file's trailer, say)."""
    if problems:
        yield from ledger.results()
        yield from checked
        lead = f"{headline}; " if headline else ""
        shown = [str(problem) for problem in problems]
        raise dg.Failure(
            description=f"{lead}not published, the stored data is unchanged:\n" + "\n".join(shown[:50]),
            metadata={
                "not_published": len(problems),
                "failed": dg.MetadataValue.json(shown[:200]),
                **failure_metadata([p for p in problems if isinstance(p, FetchFailure)]),
            },
        )
    yield dg.MaterializeResult(metadata=dict(metadata))
    yield from ledger.results()
    yield from checked
