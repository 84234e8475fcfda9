"""`make sql`: read-only SQL on the warehouse, for people.

Opens the copy of the warehouse published after the last dbt build, so a query never waits for a
running build and a build never waits for a query. Before the first build there is no copy; the
warehouse itself is opened read-only then, and a build in progress answers "busy, retry".
"""

import sys

import duckdb

from resources.settings import warehouse_path
from resources.warehouse import WarehouseResource


def run(sql: str) -> int:
    warehouse = WarehouseResource(path=warehouse_path())
    try:
        with warehouse.connect_reader() as con:
            con.sql(sql).show(max_rows=200, max_width=160)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            print("warehouse busy: a build holds it and no read copy is published yet; retry after the run",
                  file=sys.stderr)
            return 75
        raise
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
