"""`make bench-storage`: the lake's table formats side by side on the same FINRA-shaped days.

The question (issue 11): which storage lets readers read the last committed state beside a running
build, replaces a day atomically, and lets dbt build the marts into the same place, at the least
cost? Each candidate stores the same synthetic days, one atomic replacement per day, then:
- backfill: all days, one replacement (one commit) each;
- replace: one stored day replaced again (median of REPEAT);
- query: DuckDB's aggregate over every row, as a mart or a SQL user reads it (median of REPEAT);
- bytes on disk afterwards (every format keeps the replaced day's old files until cleaned up);
- whether dbt-duckdb can build the marts into it, so that no warehouse copy is needed for readers.

Candidates: DuckLake (SQLite catalog), Delta Lake (deltalake, read by DuckDB's delta extension),
Iceberg (pyiceberg with its SQLite catalog, read by DuckDB's iceberg extension), and today's design
(one Parquet file per day written to a temp file and renamed; the marts in a DuckDB file that must
be copied for readers). Settings: BENCH_STORAGE_DAYS (60), BENCH_STORAGE_ROWS (40000 rows a day, a
full-market FINRA day), BENCH_REPEAT (5).
"""

import datetime as dt
import os
import shutil
import statistics
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
from duckdb_extensions import import_extension
from rich.console import Console
from rich.table import Table

from bench.doc import table as markdown_table
from bench.doc import write_section

ROOT = Path(__file__).resolve().parent.parent
console = Console()
QUERY = "SELECT symbol, sum(total_volume) AS v FROM {} GROUP BY symbol ORDER BY v DESC LIMIT 10"


def day_frame(day: dt.date, rows: int, seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    total = rng.integers(100, 1_000_000, rows).astype(float)
    return pl.DataFrame(
        {
            "trade_date": [day] * rows,
            "symbol": [f"S{i:05d}" for i in range(rows)],
            "facility": "CNMS",
            "short_volume": total * rng.random(rows),
            "total_volume": total,
        }
    )


class Candidate:
    name = ""
    dbt_builds_marts_here = ""

    def __init__(self, root: Path) -> None:
        self.root = root

    def replace(self, day: dt.date, frame: pl.DataFrame) -> None:
        raise NotImplementedError

    def query(self, con: duckdb.DuckDBPyConnection) -> None:
        raise NotImplementedError


class DuckLake(Candidate):
    name = "DuckLake, SQLite catalog"
    dbt_builds_marts_here = "yes: dbt-duckdb attaches the catalog; marts are tables beside the raw ones"

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.con = duckdb.connect()
        for extension in ("ducklake", "sqlite"):
            import_extension(extension, con=self.con)
        self.con.execute(f"ATTACH 'ducklake:sqlite:{root}/catalog.sqlite' AS lake (DATA_PATH '{root}/data/')")
        self.con.execute("CALL lake.set_option('parquet_compression', 'zstd')")  # as resources/lake.py does
        self.con.execute(
            "CREATE TABLE lake.finra (trade_date DATE, symbol VARCHAR, facility VARCHAR, "
            "short_volume DOUBLE, total_volume DOUBLE)"
        )

    def replace(self, day: dt.date, frame: pl.DataFrame) -> None:
        self.con.execute("BEGIN")
        self.con.execute("DELETE FROM lake.finra WHERE trade_date = ?", [day])
        self.con.execute("INSERT INTO lake.finra SELECT * FROM frame")
        self.con.execute("COMMIT")

    def query(self, con: duckdb.DuckDBPyConnection) -> None:
        con.execute(QUERY.format("lake.finra")).fetchall()


class Delta(Candidate):
    name = "Delta Lake (deltalake)"
    dbt_builds_marts_here = (
        "no: DuckDB cannot create Delta tables (CREATE TABLE AS: not implemented); marts stay in a DuckDB file"
    )

    def replace(self, day: dt.date, frame: pl.DataFrame) -> None:
        from deltalake import write_deltalake

        table = self.root / "finra"
        if not table.exists():
            write_deltalake(table, frame.to_arrow(), partition_by=["trade_date"])
            return
        write_deltalake(table, frame.to_arrow(), mode="overwrite", predicate=f"trade_date = '{day}'")

    def query(self, con: duckdb.DuckDBPyConnection) -> None:
        con.execute(QUERY.format(f"delta_scan('{self.root / 'finra'}')")).fetchall()


class Iceberg(Candidate):
    name = "Iceberg (pyiceberg, SQLite catalog)"
    dbt_builds_marts_here = "no: DuckDB writes Iceberg only through a REST catalog server; marts stay in a DuckDB file"

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        from pyiceberg.catalog.sql import SqlCatalog

        self.catalog = SqlCatalog("bench", uri=f"sqlite:///{root}/catalog.db", warehouse=f"file://{root}")
        self.catalog.create_namespace("raw")
        self.table = None

    def replace(self, day: dt.date, frame: pl.DataFrame) -> None:
        from pyiceberg.expressions import EqualTo

        arrow = frame.to_arrow()
        if self.table is None:
            self.table = self.catalog.create_table("raw.finra", schema=arrow.schema)
            with self.table.update_spec() as update:
                update.add_identity("trade_date")
        self.table.overwrite(arrow, overwrite_filter=EqualTo("trade_date", day.isoformat()))

    def query(self, con: duckdb.DuckDBPyConnection) -> None:
        self.table = self.catalog.load_table("raw.finra")
        con.execute(QUERY.format(f"iceberg_scan('{self.table.metadata_location}')")).fetchall()


class ParquetFiles(Candidate):
    name = "today: a Parquet file per day (temp + rename)"
    dbt_builds_marts_here = "into a DuckDB file that readers cannot open during a build: copied after each build"

    def replace(self, day: dt.date, frame: pl.DataFrame) -> None:
        target = self.root / "finra" / f"date={day}" / "part.parquet"
        target.parent.mkdir(parents=True, exist_ok=True)
        temp = target.with_name(f".{uuid.uuid4().hex}.tmp")
        frame.write_parquet(temp, compression="zstd", statistics=True)
        with open(temp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(temp, target)

    def query(self, con: duckdb.DuckDBPyConnection) -> None:
        con.execute(QUERY.format(f"read_parquet('{self.root}/finra/*/part.parquet')")).fetchall()


def median_seconds(action: Callable[[], None], repeat: int) -> float:
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def measure(kind: type[Candidate], work: Path, days: list[dt.date], rows: int, repeat: int) -> dict:
    root = work / kind.__name__.lower()
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    candidate = kind(root)
    frames = {day: day_frame(day, rows, seed=i) for i, day in enumerate(days)}
    started = time.perf_counter()
    for day in days:
        candidate.replace(day, frames[day])
    backfill = time.perf_counter() - started
    replace = median_seconds(lambda: candidate.replace(days[len(days) // 2], frames[days[len(days) // 2]]), repeat)
    reader = duckdb.connect()
    for extension in ("delta", "avro", "iceberg", "ducklake", "sqlite"):
        import_extension(extension, con=reader)
    if isinstance(candidate, DuckLake):
        reader.execute(f"ATTACH 'ducklake:sqlite:{root}/catalog.sqlite' AS lake (READ_ONLY)")
    query = median_seconds(lambda: candidate.query(reader), repeat)
    size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
    return {
        "name": kind.name,
        "backfill_s": backfill,
        "replace_ms": replace * 1000,
        "query_ms": query * 1000,
        "mb": size / 1e6,
        "dbt": kind.dbt_builds_marts_here,
    }


def main() -> None:
    n_days = int(os.environ.get("BENCH_STORAGE_DAYS", "60"))
    rows = int(os.environ.get("BENCH_STORAGE_ROWS", "40000"))
    repeat = int(os.environ.get("BENCH_REPEAT", "5"))
    work = Path(os.environ.get("BENCH_DIR", ROOT / "build" / "bench")).resolve() / "storage"
    days = [dt.date(2024, 1, 1) + dt.timedelta(days=i) for i in range(n_days)]
    results = [measure(kind, work, days, rows, repeat) for kind in (DuckLake, Delta, Iceberg, ParquetFiles)]
    lines = [
        (
            r["name"],
            f"{r['backfill_s']:.1f} s",
            f"{r['replace_ms']:.0f} ms",
            f"{r['query_ms']:.0f} ms",
            f"{r['mb']:.0f} MB",
            r["dbt"],
        )
        for r in results
    ]
    header = ("storage", f"{n_days} days, a commit each", "replace a day", "query all rows", "on disk", "dbt marts")
    table = Table(title=f"lake formats: {n_days} days x {rows:,} rows, medians of {repeat}")
    for column in header:
        table.add_column(column)
    for line in lines:
        table.add_row(*line)
    console.print(table)
    write_section(
        "Storage formats compared (issue 11)",
        f"{n_days} days x {rows:,} FINRA-shaped rows, one atomic replacement (commit) per day, then one day "
        f"replaced again and an aggregate over all rows read through DuckDB; medians of {repeat}. "
        f"`make bench-storage`.\n\n{markdown_table(lines, header)}",
    )


if __name__ == "__main__":
    main()
