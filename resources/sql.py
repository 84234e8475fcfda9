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

import sys

import duckdb

from resources.lake import LakeResource, lake_at_root
from resources.settings import catalog, lake_root, s3_endpoint_url

READ_STATEMENTS = {
    duckdb.StatementType.SELECT,
    duckdb.StatementType.EXPLAIN,
    duckdb.StatementType.PREPARE,
    duckdb.StatementType.EXECUTE,
}


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
    source = lake()
    if source.catalog_file is not None and not source.catalog_file.exists():
        print(f"no lake catalog at {source.catalog_file}: materialize something first (make demo)", file=sys.stderr)
        return 1
    try:
        if not owner:
            check_read_only(sql)
        with reader(owner) as con:
            result = con.sql(sql)
            if result is not None:  # a statement that returns no rows (the owner's writes)
                result.show(max_rows=200, max_width=160)
    except (duckdb.Error, NotAReadError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def interactive(owner: bool = False) -> int:
    print(
        f"tickerlake SQL ({'owner, read-write' if owner else 'read-only'}). End a statement with ';', quit with Ctrl-D."
    )
    buffer: list[str] = []
    while True:
        try:
            line = input("sql> " if not buffer else "...> ")
        except EOFError:
            return 0
        buffer.append(line)
        if line.rstrip().endswith(";"):
            run("\n".join(buffer), owner)
            buffer.clear()


def main(argv: list[str]) -> int:
    owner = "--owner" in argv
    queries = [a for a in argv if a != "--owner"]
    return run(queries[0], owner) if queries else interactive(owner)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
