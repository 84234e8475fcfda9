"""`make sql`: read-only SQL on the lake's catalog, for people.

A read-only connection reads the last committed snapshot of every table (raw, staging, marts) and
takes no lock: a query never waits for a running build and a build never waits for a query.
"""

import sys

import duckdb

from resources.lake import LakeResource
from resources.settings import catalog, lake_root


def reader() -> duckdb.DuckDBPyConnection:
    return LakeResource(root=lake_root(), catalog=catalog()).connect(read_only=True)


def run(sql: str) -> int:
    lake = LakeResource(root=lake_root(), catalog=catalog())
    if lake.catalog_file is not None and not lake.catalog_file.exists():
        print(f"no lake catalog at {lake.catalog_file}: materialize something first (make demo)", file=sys.stderr)
        return 1
    try:
        with reader() as con:
            con.sql(sql).show(max_rows=200, max_width=160)
    except duckdb.Error as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def interactive() -> int:
    print("tickerlake SQL (read-only). End a statement with ';', quit with Ctrl-D.")
    buffer: list[str] = []
    while True:
        try:
            line = input("sql> " if not buffer else "...> ")
        except EOFError:
            return 0
        buffer.append(line)
        if line.rstrip().endswith(";"):
            run("\n".join(buffer))
            buffer.clear()


if __name__ == "__main__":
    raise SystemExit(run(sys.argv[1]) if len(sys.argv) > 1 else interactive())
