"""The feature marts and labels in `make demo`: one instrument's latest feature row and its labels' balance.

A feature row is printed as feature | value, every column of the mart but its bookkeeping, so what a
model would see at that bar is readable in full; the *_available_from columns say when each source's
newest value the row uses was published (never after bar_close_at).
"""

import duckdb
from rich.console import Console
from rich.table import Table

from assets.labels import LABELS


def _value(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.6g}"
    return "" if value is None else str(value)


def show_feature_row(console: Console, con: duckdb.DuckDBPyConnection, table: str, key: str, instrument: str) -> None:
    """The instrument's latest row of the feature mart `table` (our own names; the instrument bound)."""
    cursor = con.execute(
        f"SELECT COLUMNS('^[^_]') FROM marts.{table} WHERE {key} = ? ORDER BY bar_close_at DESC LIMIT 1", [instrument]
    )
    row = cursor.fetchone()
    if row is None:
        console.print(f"marts.{table}: no rows for {instrument}")
        return
    columns = [d[0] for d in cursor.description]
    shown = Table(title=f"marts.{table}: {instrument}'s latest bar, every feature as known at its close")
    shown.add_column("feature")
    shown.add_column("value", justify="right")
    for column, value in zip(columns, row, strict=True):
        shown.add_row(column, _value(value))
    console.print(shown)


def show_label_balance(
    console: Console, con: duckdb.DuckDBPyConnection, table: str, key: str, instrument: str, by: str | None = None
) -> None:
    """The instrument's label distribution (percent of labelled bars), per `by` (e.g. interval) if given."""
    group = f"{by}, " if by else ""
    rows = con.execute(
        f"SELECT {group}count(label) AS labelled, "
        + ", ".join(f"round(100 * avg((label = '{name}')::INTEGER), 1) AS {name}" for name in LABELS)
        + f", any_value(horizon), any_value(near_atr), any_value(far_atr) FROM raw.{table} "
        f"WHERE {key} = ? AND label IS NOT NULL GROUP BY ALL ORDER BY ALL",
        [instrument],
    ).fetchall()
    if not rows:
        console.print(f"raw.{table}: no labels for {instrument}")
        return
    horizon, near, far = rows[0][-3:]
    shown = Table(
        title=f"raw.{table}: {instrument}'s labels, % of bars (H = {horizon} bars, barriers {near:g} and {far:g} ATR)"
    )
    for column in ([by] if by else []) + ["labelled", *LABELS]:
        shown.add_column(column, justify="right")
    for row in rows:
        shown.add_row(*(_value(v) for v in row[:-3]))
    console.print(shown)
