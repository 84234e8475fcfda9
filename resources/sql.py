"""`make sql`: read-only SQL on the lake's catalog, for people; `make sql-owner` for the data's owner.

A read-only connection reads the last committed snapshot of every table (raw, staging, marts) and
takes no lock: a query never waits for a running build and a build never waits for a query.

Read-only in fact, not only by convention: the catalog is attached READ_ONLY; file access is limited
to the lake's own folders (no reading /etc, no writing a file anywhere); extensions can be neither
installed nor loaded; the configuration is locked so a query cannot undo any of that; and only
statements that read are accepted (SELECT, EXPLAIN, PREPARE/EXECUTE), so COPY ... TO, ATTACH or
EXPORT are refused before they run. The owner's session (`--owner`) attaches the catalog read-write
with none of these limits.
"""

import argparse
import atexit
import contextlib
import sys
from pathlib import Path

import duckdb
import polars as pl

from resources.lake import LakeResource, lake_at_root
from resources.settings import catalog, lake_root, s3_endpoint_url

READ_STATEMENTS = {
    duckdb.StatementType.SELECT,
    duckdb.StatementType.EXPLAIN,
    duckdb.StatementType.PREPARE,
    duckdb.StatementType.EXECUTE,
}


MAX_ROWS = 200
HISTORY = Path.home() / ".tickerlake_sql_history"
KEYWORDS = (
    "SELECT",
    "FROM",
    "WHERE",
    "GROUP BY",
    "ORDER BY",
    "LIMIT",
    "JOIN",
    "LEFT JOIN",
    "USING",
    "WITH",
    "PIVOT",
    "DESCRIBE",
    "SUMMARIZE",
    "EXPLAIN",
    "PREPARE",
    "EXECUTE",
    "DISTINCT",
    "COUNT",
    "HAVING",
    "QUALIFY",
)


class NotAReadError(ValueError):
    """A statement that would write, attach, install or configure, refused in a read-only session."""


def lake() -> LakeResource:
    return lake_at_root(lake_root(), catalog(), s3_endpoint_url())


def reader(owner: bool = False) -> duckdb.DuckDBPyConnection:
    """A connection to the lake: locked down for SQL users, full access for the owner."""
    source = lake()
    if owner:
        return source.connect(read_only=False)
    con = source.connect(read_only=True)
    folders = [source.data_path]
    if source.catalog_file is not None:
        folders.append(str(source.catalog_file.parent) + "/")
    con.execute("SET allowed_directories = ?", [folders])
    con.execute("SET enable_external_access = false")
    con.execute("SET autoinstall_known_extensions = false")
    con.execute("SET autoload_known_extensions = false")
    con.execute("SET lock_configuration = true")
    return con


def check_read_only(sql: str) -> None:
    """Refuse anything but reading statements, before any of them runs."""
    for statement in duckdb.extract_statements(sql):
        if statement.type not in READ_STATEMENTS:
            raise NotAReadError(
                f"read-only session: {statement.type.name} statements are refused "
                "(the data's owner has `make sql-owner`)"
            )


def run(sql: str, owner: bool = False) -> int:
    """Run one script (any number of statements) in one session; prints each result, returns the exit code."""
    source = lake()
    if source.catalog_file is not None and not source.catalog_file.exists():
        print(f"no lake catalog at {source.catalog_file}: materialize something first (make demo)", file=sys.stderr)
        return 1
    with reader(owner) as con:
        return execute(con, sql, owner)


def execute(con: duckdb.DuckDBPyConnection, sql: str, owner: bool) -> int:
    """Every statement of `sql` on `con` (so PREPARE, SET and temporary state last the session)."""
    try:
        if not owner:
            check_read_only(sql)
        for statement in duckdb.extract_statements(sql):
            result = con.sql(statement.query)
            if result is not None:  # a statement that returns no rows (PREPARE, the owner's writes)
                show(result)
    except (duckdb.Error, NotAReadError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def show(result: duckdb.DuckDBPyRelation) -> None:
    """A result as a table people read: floats as polars shows them (about six significant digits, not
    DuckDB's seventeen), at most MAX_ROWS rows, every column."""
    frame = result.limit(MAX_ROWS + 1).pl()
    with pl.Config(
        tbl_rows=MAX_ROWS,
        tbl_cols=-1,
        tbl_width_chars=200,
        fmt_str_lengths=60,
        tbl_hide_dataframe_shape=True,
        tbl_hide_column_data_types=False,
    ):
        print(frame.head(MAX_ROWS))
    if frame.height > MAX_ROWS:
        print(f"(first {MAX_ROWS} rows shown; add LIMIT or a WHERE clause for the rest)")


def interactive(owner: bool = False) -> int:
    """A prompt over one session: history across sessions (Up/Down, saved in HISTORY), Tab completes
    keywords and table names, Ctrl-C drops the statement being typed, Ctrl-D quits."""
    source = lake()
    print(
        f"tickerlake SQL ({'owner, read-write' if owner else 'read-only'}) on {source.metadata}. "
        "End a statement with ';'; Ctrl-C drops it, Ctrl-D quits."
    )
    with reader(owner) as con:
        _readline(con)
        buffer: list[str] = []
        while True:
            try:
                line = input("sql> " if not buffer else "...> ")
            except EOFError:
                print()
                return 0
            except KeyboardInterrupt:
                print("^C")
                buffer.clear()
                continue
            buffer.append(line)
            if line.rstrip().endswith(";"):
                try:
                    execute(con, "\n".join(buffer), owner)
                except KeyboardInterrupt:
                    con.interrupt()
                    print("cancelled")
                buffer.clear()


def _readline(con: duckdb.DuckDBPyConnection) -> None:
    """History in HISTORY, kept across sessions, and Tab completion of keywords, schemas and tables."""
    try:
        import readline
    except ImportError:  # a Python built without readline: the prompt still works, without history
        return
    with contextlib.suppress(OSError):
        readline.read_history_file(HISTORY)
    readline.set_history_length(1000)
    atexit.register(lambda: _save_history(readline))
    words = sorted(
        {
            *KEYWORDS,
            *(
                name
                for row in con.execute(
                    "SELECT schema_name, schema_name || '.' || table_name FROM duckdb_tables() "
                    "UNION SELECT schema_name, schema_name || '.' || view_name FROM duckdb_views() WHERE NOT internal"
                ).fetchall()
                for name in row
            ),
        }
    )

    def complete(text: str, state: int) -> str | None:
        matches = [w for w in words if w.lower().startswith(text.lower())]
        return matches[state] if state < len(matches) else None

    readline.set_completer_delims(" \t\n(),;")
    readline.set_completer(complete)
    readline.parse_and_bind("tab: complete")


def _save_history(readline: object) -> None:
    with contextlib.suppress(OSError):
        readline.write_history_file(HISTORY)


def main(argv: list[str]) -> int:
    """QUERY runs it; `-f FILE` runs a file; `-` (or a piped standard input) runs what it reads; nothing,
    on a terminal, opens the prompt. `--owner` is the owner's read-write session."""
    parser = argparse.ArgumentParser(prog="python -m resources.sql", description="SQL on the lake's catalog.")
    parser.add_argument("--owner", action="store_true", help="the data owner's read-write session")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("query", nargs="?", help="statements to run; - reads them from standard input")
    source.add_argument("-f", "--file", type=Path, help="a file of statements to run")
    args = parser.parse_args(argv)
    if args.file:
        return run(args.file.read_text(), args.owner)
    if args.query == "-" or (args.query is None and not sys.stdin.isatty()):
        return run(sys.stdin.read(), args.owner)
    if args.query is not None:
        return run(args.query, args.owner)
    return interactive(args.owner)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
