"""Never replace stored data with less: what a source's complete answer is, and what a replacement
would lose.

A source that answers with fewer rows than the lake holds (a truncated download, an outage answered
with an empty list, a provider that dropped a year) must not wipe what was stored. Each source states
what its partitions must keep (`Completeness`); a replacement that would shrink a stored partition
beyond the tolerance is refused, naming what would have been lost. A source that says it is complete
(FINRA's record-count trailer) may shrink a partition; so may a person with an explicit, logged
override (`allow_shrink` in a raw asset's run config) for a real restatement.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl


@dataclass(frozen=True)
class Completeness:
    """What a replacement may not lose from a stored partition.

    `per`: the column a replacement covers partitions of (each is compared on its own); `keys`: the
    columns naming an entity (a symbol, a currency, a bar), none of which may disappear beyond
    `tolerance` of them; `measure`: a column whose sum may not drop beyond `tolerance`. Columns that
    hold values in the stored partition must keep holding some.
    """

    per: str | None = None
    keys: tuple[str, ...] = ()
    measure: str | None = None
    tolerance: float = 0.0


class ShrinkRefused(ValueError):
    """A replacement would lose stored data; the message says what."""


def losses(stored: pl.DataFrame, new: pl.DataFrame, rule: Completeness) -> dict[object, list[str]]:
    """What `new` would lose of `stored`, per partition (the `per` column's value, or None for the whole
    table): only the partitions that lose more than the tolerance. Computed for all partitions at once
    (a daily run compares 11,000 symbols)."""
    if stored.is_empty():
        return {}
    per = [rule.per] if rule.per else []
    if not per:
        whole = pl.lit(0, dtype=pl.Int8()).alias("_all")  # typed: a null column would not survive fill_null
        stored, new = stored.with_columns(whole), new.with_columns(whole)
        per = ["_all"]
    columns = [c for c in stored.columns if c not in per]
    measure = [pl.col(rule.measure).sum().alias("_measure")] if rule.measure else []
    summary = [pl.len().alias("_rows"), *measure, *(pl.col(c).count().alias(f"_values_{c}") for c in columns)]
    before = stored.group_by(per).agg(summary)
    after = new.group_by(per).agg(summary) if not new.is_empty() else before.clear()
    compared = before.join(after, on=per, how="left", suffix="_new", nulls_equal=True).fill_null(0)
    if rule.keys:
        gone = (
            stored.select(*per, *rule.keys)
            .unique()
            .join(new.select(*per, *rule.keys).unique(), on=[*per, *rule.keys], how="anti", nulls_equal=True)
            .sort([*per, *rule.keys])
        )
        counts = gone.group_by(per).agg(pl.len().alias("_gone"), pl.struct(rule.keys).head(5).alias("_sample"))
        keys = stored.select(*per, *rule.keys).unique().group_by(per).agg(pl.len().alias("_keys"))
        compared = compared.join(counts, on=per, how="left", nulls_equal=True).join(
            keys, on=per, how="left", nulls_equal=True
        )
    found: dict[object, list[str]] = {}
    for row in compared.iter_rows(named=True):
        problems = _problems(row, columns, rule)
        if problems:
            found[row[per[0]] if rule.per else None] = problems
    return found


def _problems(row: dict, columns: list[str], rule: Completeness) -> list[str]:
    allowed, problems = rule.tolerance, []
    if row["_rows_new"] < row["_rows"] * (1 - allowed):
        problems.append(f"rows {row['_rows']:,} -> {row['_rows_new']:,}")
    if rule.keys and (row.get("_gone") or 0) > row["_keys"] * allowed:
        shown = ", ".join("/".join(str(v) for v in key.values()) for key in row["_sample"])
        problems.append(f"{'/'.join(rule.keys)} gone: {row['_gone']:,} ({shown}{', ...' if row['_gone'] > 5 else ''})")
    emptied = [c for c in columns if row[f"_values_{c}"] and not row[f"_values_{c}_new"] and row["_rows_new"]]
    if emptied:
        problems.append(f"columns emptied: {', '.join(emptied)}")
    if rule.measure and row["_measure_new"] < (row["_measure"] or 0) * (1 - allowed):
        problems.append(f"{rule.measure} {row['_measure']:,.0f} -> {row['_measure_new']:,.0f}")
    return problems


def refusal(what: str, found: Sequence[str]) -> str:
    return (
        f"refused to replace {what} with less: {'; '.join(found[:10])}{' ...' if len(found) > 10 else ''}. The "
        "stored data is kept; if the source really restated it, re-run with the run config allow_shrink: true"
    )
