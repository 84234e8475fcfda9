"""`make migrate`: move a lake of Parquet folders and its DuckDB warehouse into the DuckLake catalog.

Before the catalog, each raw dataset was a folder of hive-partitioned files (<root>/<dataset>/
date=YYYY-MM-DD/part.parquet) and dbt built into one DuckDB file. This command copies:
- every raw dataset folder into its raw table, with `_loaded_at` kept (the row's own stamp where the
  dataset had one, the file's modification time otherwise, as the old views showed it), so the
  incremental models carry on where they were;
- every table dbt built (marts, intermediate, seeds) from the warehouse into the catalog, so the
  next build is incremental, not a full refresh. Views are not copied: the next dbt build makes them.
It then compares each table before and after (row count, and the sum of every numeric column), prints
the comparison, and exits non-zero if anything differs. Running it again replaces what it copied.

A warehouse written by a newer DuckDB than this one cannot be opened here; its tables are then
exported to Parquet by that newer DuckDB, installed on the side (pip --target, nothing else changes).
"""

import argparse
import datetime as dt
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import duckdb
from rich.console import Console
from rich.table import Table

from assets.alerts import DATASET as ALERTS
from assets.indicators import DATASET as INDICATORS
from assets.sources import raw_datasets
from resources.duckdb_env import sql_string
from resources.lake import LOADED_AT, RAW_SCHEMA, Dataset, LakeResource, Transaction, lake_at_root
from resources.settings import catalog, lake_root, s3_endpoint_url

OLD_STAMP = "_written_at"
WAREHOUSE_SCHEMAS = ("marts", "intermediate", "reference")
NEWER_DUCKDB = "duckdb>1.5.5"
EXPORT_SCRIPT = """
import sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
for schema, table in con.execute(
    "SELECT schema_name, table_name FROM duckdb_tables() WHERE schema_name IN ('marts', 'intermediate', 'reference')"
).fetchall():
    con.execute(f"COPY {schema}.{table} TO '{sys.argv[2]}/{schema}.{table}.parquet' (FORMAT parquet)")
"""
console = Console()


@dataclass(frozen=True)
class Comparison:
    table: str
    rows_before: int
    rows_after: int
    sums_before: dict[str, float]
    sums_after: dict[str, float]

    @property
    def equal(self) -> bool:
        return self.rows_before == self.rows_after and all(
            _close(self.sums_before[c], self.sums_after.get(c)) for c in self.sums_before
        )


def lake_datasets() -> list[Dataset]:
    """Every table an older lake may hold: the sources' and the crypto indicators and alerts."""
    return [*raw_datasets(), INDICATORS, ALERTS]


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


def profile(con: duckdb.DuckDBPyConnection, relation: str) -> tuple[int, dict[str, float]]:
    """Row count and the sum of every numeric column of a relation (a table name or a scan)."""
    columns = con.execute(f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM {relation})").fetchall()
    numeric = [name for name, kind in columns if kind.split("(")[0] in _NUMERIC and not name.startswith("_")]
    sums = ", ".join(f'sum("{name}")::DOUBLE' for name in numeric)
    row = con.execute(f"SELECT count(*){', ' + sums if sums else ''} FROM {relation}").fetchone()
    return row[0], dict(zip(numeric, row[1:], strict=True))


_NUMERIC = {
    "DOUBLE",
    "FLOAT",
    "BIGINT",
    "INTEGER",
    "SMALLINT",
    "TINYINT",
    "UINTEGER",
    "UBIGINT",
    "HUGEINT",
    "DECIMAL",
    "USMALLINT",
    "UTINYINT",
}


def old_datasets(root: Path, datasets: list[Dataset]) -> list[Dataset]:
    """The raw datasets that have a Parquet folder under the old lake root."""
    return [d for d in datasets if any((root / d.name).rglob("part.parquet"))]


def _old_scan(con: duckdb.DuckDBPyConnection, root: Path, dataset: Dataset) -> str:
    """The old folder as rows with LOADED_AT: the row's own stamp where it had one, else its file's mtime."""
    files = sql_string(str(root / dataset.name / "**" / "part.parquet"))
    scan = f"read_parquet({files}, filename = true, hive_partitioning = false, union_by_name = true)"
    stamped = OLD_STAMP in {row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {scan}").fetchall()}
    loaded_at = f"coalesce(data.{OLD_STAMP}::TIMESTAMPTZ, blobs.last_modified)" if stamped else "blobs.last_modified"
    columns = ", ".join(f'data."{c}"' for c in dataset.schema)
    return (
        f"(SELECT {columns}, {loaded_at} AS {LOADED_AT} FROM {scan} AS data "
        f"JOIN read_blob({files}) AS blobs ON data.filename = blobs.filename)"
    )


def migrate_dataset(lake: LakeResource, root: Path, dataset: Dataset) -> Comparison:
    with duckdb.connect() as con:
        scan = _old_scan(con, root, dataset)
        before = profile(con, scan)

    def copy(tx: Transaction) -> None:
        tx.ensure(dataset)
        tx.con.execute(f"DELETE FROM {dataset.table}")
        tx.con.execute(f"INSERT INTO {dataset.table} BY NAME SELECT * FROM {scan}")

    lake.transaction(copy, f"{dataset.name} (migrated from {root / dataset.name})")
    with lake.connect() as con:
        after = profile(con, dataset.table)
    return Comparison(f"{RAW_SCHEMA}.{dataset.name}", before[0], after[0], before[1], after[1])


def warehouse_tables(warehouse: Path, workdir: Path) -> list[tuple[str, str]]:
    """(schema.table, relation to read it from) for every table dbt built into the old warehouse."""
    try:
        with duckdb.connect(str(warehouse), read_only=True) as con:
            names = con.execute(
                "SELECT schema_name || '.' || table_name FROM duckdb_tables() WHERE schema_name IN "
                "('marts', 'intermediate', 'reference')"
            ).fetchall()
        return [(name, f"old_warehouse.{name}") for (name,) in names]
    except duckdb.IOException as error:
        if "newer version" not in str(error):
            raise
    console.print(f"{warehouse} was written by a newer DuckDB; exporting its tables with {NEWER_DUCKDB} ...")
    side = workdir / "newer-duckdb"
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(side), NEWER_DUCKDB]
    subprocess.run(pip, check=True)
    exported = workdir / "exported"
    exported.mkdir()
    subprocess.run(
        [sys.executable, "-c", EXPORT_SCRIPT, str(warehouse), str(exported)],
        check=True,
        env={"PYTHONPATH": str(side), "PATH": "/usr/bin:/bin"},
    )
    return [(p.stem, f"read_parquet({sql_string(str(p))})") for p in sorted(exported.glob("*.parquet"))]


def migrate_warehouse(lake: LakeResource, warehouse: Path, workdir: Path) -> list[Comparison]:
    tables = warehouse_tables(warehouse, workdir)
    comparisons = []
    with lake.writing(), lake.connect(read_only=False) as con:
        if any(relation.startswith("old_warehouse.") for _, relation in tables):
            con.execute(f"ATTACH {sql_string(str(warehouse))} AS old_warehouse (READ_ONLY)")
        for schema in WAREHOUSE_SCHEMAS:
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        for name, relation in tables:
            before = profile(con, relation)
            con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM {relation}")
            after = profile(con, name)
            comparisons.append(Comparison(name, before[0], after[0], before[1], after[1]))
    return comparisons


def report(comparisons: list[Comparison]) -> bool:
    table = Table(title="migration: rows and column sums, before (old files) and after (catalog)")
    table.add_column("table", no_wrap=True, min_width=36)
    for column in ("rows before", "rows after", "sums equal"):
        table.add_column(column, justify="right")
    for c in comparisons:
        sums = sum(_close(value, c.sums_after.get(name)) for name, value in c.sums_before.items())
        style = "" if c.equal else "[red]"
        table.add_row(
            f"{style}{c.table}",
            f"{c.rows_before:,}",
            f"{style}{c.rows_after:,}",
            f"{style}{sums} of {len(c.sums_before)}",
        )
    console.print(table)
    for c in (c for c in comparisons if not c.equal):
        console.print(f"[red]{c.table} differs[/red]: before {c.sums_before}, after {c.sums_after}")
    return all(c.equal for c in comparisons)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--old-lake", default=lake_root(), help="the old lake root (default: the lake root)")
    parser.add_argument("--warehouse", default="data/tickerlake.duckdb", help="the old DuckDB warehouse")
    parser.add_argument("--remove-old", action="store_true", help="delete the old folders and files once equal")
    args = parser.parse_args(argv)
    root, warehouse = Path(args.old_lake).resolve(), Path(args.warehouse).resolve()
    lake = lake_at_root(lake_root(), catalog(), s3_endpoint_url())
    started = dt.datetime.now()
    comparisons = [migrate_dataset(lake, root, d) for d in old_datasets(root, lake_datasets())]
    if warehouse.exists():
        with tempfile.TemporaryDirectory() as workdir:
            comparisons += migrate_warehouse(lake, warehouse, Path(workdir))
    if not comparisons:
        console.print(f"nothing to migrate: no old dataset folders under {root} and no warehouse at {warehouse}")
        return 0
    equal = report(comparisons)
    console.print(
        f"{len(comparisons)} tables in {(dt.datetime.now() - started).total_seconds():.1f} s; "
        f"catalog {lake.metadata}, data files under {lake.data_path}"
    )
    if not equal:
        console.print("[red]some tables differ: the old files are left as they were[/red]")
        return 1
    old = [root / d.name for d in old_datasets(root, lake_datasets())]
    leftovers = [f"{warehouse.stem}_read{warehouse.suffix}", f"{warehouse.name}.writer.lock"]
    old += [p for p in (warehouse, *(warehouse.with_name(name) for name in leftovers)) if p.exists()]
    if args.remove_old:
        for path in old:
            shutil.rmtree(path) if path.is_dir() else path.unlink()
        console.print(f"removed {len(old)} old folders and files")
    elif old:
        console.print(
            "the old folders and files can go now (or run again with --remove-old):\n  "
            + "\n  ".join(str(p) for p in old)
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
