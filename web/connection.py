"""One locked-down read-only connection to the lake for the web app, a cursor of it per request."""

import contextlib
from collections.abc import Callable, Iterator

import duckdb

from resources.lake import CATALOG_ALIAS


class LakeReader:
    """Opened once (resources/sql.py reader: catalog READ_ONLY, no file access outside the lake, the
    configuration locked); each request gets its own cursor, DuckDB's connections being one thread's."""

    def __init__(self, connect: Callable[[], duckdb.DuckDBPyConnection]) -> None:
        self._connect = connect
        self._con: duckdb.DuckDBPyConnection | None = None

    def open(self) -> None:
        if self._con is None:
            self._con = self._connect()

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None

    @contextlib.contextmanager
    def cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor keeps the connection's lockdown but not its default catalog, hence the USE."""
        self.open()
        with self._con.cursor() as con:
            con.execute(f"USE {CATALOG_ALIAS}")
            yield con
