"""The lake: every dataset a table in one DuckLake catalog, its rows Parquet files under the lake root.

DuckLake keeps the table metadata in a SQL database (the catalog: a SQLite file locally, PostgreSQL
when several machines share the lake) and the data as Parquet files in a folder or on S3. Every write
is a transaction that ends in one catalog commit, so:
- a partition is replaced atomically: its old rows are deleted and the new ones inserted in one
  transaction; a reader sees the old version or the new one, never half of each, and a process killed
  before the commit leaves the previous version as it was (its half-written files are orphans that
  the maintenance asset removes);
- readers read the last committed snapshot and neither wait for a writer nor hold one up;
- every commit is a snapshot: "the data as it was at time T" is a query (time travel), until the
  maintenance asset expires snapshots older than its retention.
- a replacement writes files for the changed rows only: nothing is copied whole.

Catalog commits on SQLite: SQLite has one writer at a time, and a DuckLake transaction that started
before another one committed cannot commit on SQLite ("database is locked": SQLite refuses the
read-to-write upgrade without waiting, duckdb/ducklake#1309). Writers therefore take the catalog's
write lock (a file lock beside the SQLite file) for their transaction, and a transaction that still
meets a busy catalog is retried whole (it is idempotent: delete, then insert). On PostgreSQL writers
commit concurrently and DuckLake resolves what they touch.

LakeResource is that behaviour, and the type everything takes; where the data files live is one of two
implementations: LocalLake (a folder, its catalog by default a SQLite file beside it) and S3Lake (an
s3:// URL, its catalog required). lake_at_root picks one from the TICKERLAKE_LAKE_ROOT setting.
"""

import contextlib
import datetime as dt
import logging
import math
import sqlite3
import threading
from abc import abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import dagster as dg
import duckdb
import filelock
import polars as pl
from pydantic import Field, PrivateAttr, field_validator
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from resources import duckdb_env
from resources.completeness import Completeness, ShrinkRefused, losses, refusal

CATALOG_ALIAS = "tickerlake"
# Data files as the lake wrote them before the catalog: zstd is ~40% smaller than DuckLake's snappy.
PARQUET_COMPRESSION = "zstd"
RAW_SCHEMA, QUARANTINE_SCHEMA, HISTORY_SCHEMA = "raw", "quarantine", "history"
QUARANTINE_PARTITION, QUARANTINE_REASONS = "_partition", "_reasons"
LOADED_AT = "_loaded_at"
SUPERSEDED_AT = "_superseded_at"
T = TypeVar("T")
log = logging.getLogger(__name__)


class LakeWriteError(RuntimeError):
    """A partition could not be replaced; the message names dataset and partition. Nothing was changed."""


@dataclass(frozen=True)
class Dataset:
    """A table of the lake (the raw schema unless said): its columns, its key (unique per row), the
    order its rows are read back in, and what a replacement may not lose (resources.completeness).

    Every table also has LOADED_AT, the time its row's values were last written: incremental models
    read exactly the rows written since their last build. A dataset that `keeps_history` (a source
    that revises what it published) keeps every row a replacement took away in history.<name>.
    """

    name: str
    schema: Mapping[str, pl.DataType]
    order: tuple[str, ...] = ()
    key: tuple[str, ...] = ()
    completeness: Completeness | None = None
    schema_name: str = RAW_SCHEMA
    keeps_history: bool = False

    @property
    def table(self) -> str:
        return f'{self.schema_name}."{self.name}"'

    @property
    def quarantine(self) -> "Dataset":
        """Where this dataset's partitions that failed a blocking check are kept, with the reasons."""
        extra = {QUARANTINE_PARTITION: pl.String(), QUARANTINE_REASONS: pl.String()}
        return Dataset(self.name, {**self.schema, **extra}, self.order, schema_name=QUARANTINE_SCHEMA)

    @property
    def history(self) -> "Dataset":
        """The rows replacements took away, each with its LOADED_AT (when that version was written) and
        SUPERSEDED_AT (when it was replaced): the version known at time T is the stored row written by T,
        or the history row written by T and superseded after it."""
        extra = {SUPERSEDED_AT: pl.Datetime("us", "UTC")}
        return Dataset(self.name, {**self.schema, **extra}, (*self.order, SUPERSEDED_AT), schema_name=HISTORY_SCHEMA)


@dataclass(frozen=True)
class Stored:
    """What the lake holds of a partition: its rows and when they were last written (None: no rows)."""

    rows: int
    written_at: dt.datetime | None

    def __str__(self) -> str:
        if self.written_at is None:
            return "no rows stored"
        return f"{self.rows:,} rows written {self.written_at.astimezone(dt.UTC):%Y-%m-%dT%H:%MZ}"


class Between(NamedTuple):
    """A half-open range [start, end) of a column; None leaves that side open."""

    start: Any
    end: Any


# column -> value (equal), a list of values (any of them) or a Between. An empty mapping is every row.
Where = Mapping[str, Any]


class LakeResource(dg.ConfigurableResource):
    """The DuckLake catalog and the place of its data files; SQL users, dbt and assets share both.

    The interface everything is typed against: connections, the write lock, transactions, reading and
    the catalog (a SQLite file with its write lock, or PostgreSQL). Where the data files are is up to
    the implementation, LocalLake or S3Lake (lake_at_root picks one from the root setting).
    """

    catalog: str | None = Field(
        default=None,
        description="DuckLake metadata: sqlite:<file> (one machine) or postgres:<libpq connection string>.",
    )
    write_lock_timeout_seconds: float = Field(
        default=2 * 3600, description="How long a writer waits for another to release a SQLite catalog."
    )
    commit_attempts: int = Field(default=6, description="Tries of a transaction that meets a busy catalog.")

    _connection: duckdb.DuckDBPyConnection | None = PrivateAttr(default=None)
    _lock: filelock.FileLock | None = PrivateAttr(default=None)
    _ensured: set[str] = PrivateAttr(default_factory=set)
    _mutex: threading.RLock = PrivateAttr(default_factory=threading.RLock)

    # -- where things are ---------------------------------------------------------------------------

    @property
    @abstractmethod
    def location(self) -> str:
        """Where the data files are, as the root setting names it (lake_at_root takes it back): an
        absolute folder or an s3:// URL, without a trailing slash."""

    @property
    def data_path(self) -> str:
        """The DATA_PATH DuckLake writes under: the location with a trailing slash."""
        return self.location + "/"

    @property
    def metadata(self) -> str:
        """The catalog setting, or the implementation's default."""
        return self.catalog or self._default_catalog()

    def _default_catalog(self) -> str:
        raise ValueError(
            f"lake: the lake at {self.location} needs a catalog (TICKERLAKE_CATALOG=postgres:... or sqlite:...)"
        )

    @property
    def catalog_file(self) -> Path | None:
        """The SQLite catalog's file, None for a PostgreSQL catalog."""
        kind, _, location = self.metadata.partition(":")
        return Path(location).resolve() if kind == "sqlite" else None

    @property
    def attach_target(self) -> str:
        return f"ducklake:{duckdb_env.catalog_metadata_path(self.metadata)}"

    @property
    def write_lock_path(self) -> Path | None:
        file = self.catalog_file
        return None if file is None else file.with_name(f"{file.name}.writer.lock")

    # -- connections --------------------------------------------------------------------------------

    def connect(self, read_only: bool = True) -> duckdb.DuckDBPyConnection:
        """A new in-memory DuckDB with the catalog attached as `tickerlake` and in use.

        A read-only connection sees the last committed snapshot at each query and takes no lock: it is
        what SQL users, exports and previews open.
        """
        con = duckdb.connect(config=duckdb_env.connection_config())
        try:
            self._configure(con)
            if not read_only:
                self._prepare_storage()
                self._prepare_catalog()
            options = [f"DATA_PATH {duckdb_env.sql_string(self.data_path)}"]
            if read_only:
                options.append("READ_ONLY")
            con.execute(f"ATTACH {duckdb_env.sql_string(self.attach_target)} AS {CATALOG_ALIAS} ({', '.join(options)})")
            con.execute(f"USE {CATALOG_ALIAS}")
        except BaseException:
            con.close()
            raise
        return con

    def _configure(self, con: duckdb.DuckDBPyConnection) -> None:
        """Extensions and UTC for a new connection (duckdb_env.configure)."""
        duckdb_env.configure(con, self.data_path, None)

    def _prepare_storage(self) -> None:
        """Before a read-write attach: whatever the data files need to exist to be written (nothing here)."""

    def _prepare_catalog(self) -> None:
        """A new SQLite catalog in WAL mode: readers never block its writer, nor the writer them."""
        file = self.catalog_file
        if file is None or file.exists():
            return
        file.parent.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(file) as sqlite:
            sqlite.execute("PRAGMA journal_mode=WAL")

    @property
    def _writer(self) -> duckdb.DuckDBPyConnection:
        """The process's read-write connection, opened once: attaching costs ~0.2 s, a write ~10 ms."""
        if self._connection is None:
            with self.writing():  # the first attach of a new catalog creates its tables
                self._connection = self.connect(read_only=False)
                _set_option(self._connection, "parquet_compression", PARQUET_COMPRESSION)
        return self._connection

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        self.close()

    # -- the write lock -----------------------------------------------------------------------------

    @contextmanager
    def writing(self, logger: logging.Logger | None = None) -> Iterator[None]:
        """Hold the SQLite catalog's write lock (a no-op on PostgreSQL); re-entrant within a process.

        A dbt build holds it for its whole run; raw writers for one transaction. The kernel drops the
        lock when its process dies, so a killed writer never leaves it stale.
        """
        path = self.write_lock_path
        if path is None:
            yield
            return
        if self._lock is None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._lock = filelock.FileLock(path, timeout=self.write_lock_timeout_seconds, thread_local=False)
        try:
            self._lock.acquire(timeout=0)
        except filelock.Timeout:
            (logger or log).info(f"Another writer holds {path}; waiting for it to finish.")
            try:
                self._lock.acquire()
            except filelock.Timeout as error:
                raise LakeWriteError(
                    f"lake: the catalog {self.catalog_file} stayed locked by another writer for "
                    f"{self.write_lock_timeout_seconds:.0f} s (lock file {path})."
                ) from error
        try:
            yield
        finally:
            self._lock.release()

    # -- writing ------------------------------------------------------------------------------------

    def transaction(self, work: Callable[["Transaction"], T], what: str) -> T:
        """Run `work` in one transaction, committed as one snapshot, retried whole on a busy catalog.

        `what` names the partition for the error: the previous version stays whatever failed.
        """
        with self._mutex:
            try:
                with self.writing():
                    con = self._writer
                    for attempt in Retrying(
                        stop=stop_after_attempt(self.commit_attempts),
                        retry=retry_if_exception(_is_transient),
                        wait=wait_exponential_jitter(multiplier=0.05, max=2.0),
                        reraise=True,
                    ):
                        with attempt:
                            return self._attempt(con, work)
            except (duckdb.Error, OSError) as error:
                message = f"lake: cannot write {what}: {error}; the previous version is unchanged"
                raise LakeWriteError(message) from error
        raise AssertionError("unreachable: Retrying either returns or raises")

    def _attempt(self, con: duckdb.DuckDBPyConnection, work: Callable[["Transaction"], T]) -> T:
        transaction = Transaction(con, self._ensured)
        con.execute("BEGIN TRANSACTION")
        try:
            result = work(transaction)
            con.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(duckdb.Error):  # a failed COMMIT has ended the transaction already
                con.execute("ROLLBACK")
            raise
        self._ensured.update(transaction.created)
        return result

    def ensure(self, datasets: Sequence[Dataset]) -> None:
        """Create the datasets' tables where missing and add columns the schema gained; typed, empty."""
        missing = [d for d in datasets if d.table not in self._ensured]
        if missing:
            names = ", ".join(d.name for d in missing)
            self.transaction(lambda tx: [tx.ensure(d) for d in missing], f"the tables of {names}")

    def replace(
        self,
        dataset: Dataset,
        frame: pl.DataFrame,
        where: Where | Sequence[Where] | None = None,
        keep_stamps: bool = False,
        allow_shrink: bool = False,
        complete: Sequence[Any] = (),
    ) -> "Replaced":
        """Replace the rows matching `where` (None: the whole table) with `frame`, in one transaction."""
        what = f"{dataset.name} {describe(_selections(where))}"
        return self.transaction(lambda tx: tx.replace(dataset, frame, where, keep_stamps, allow_shrink, complete), what)

    def insert_new(self, dataset: Dataset, frame: pl.DataFrame) -> int:
        """Add the rows of `frame` whose key (dataset.key) is not stored yet, in one transaction; how many
        were added. For records written once and never revised (a prediction made at a bar): two runs
        racing on the same rows store them once."""
        return self.transaction(lambda tx: tx.insert_new(dataset, frame), f"new rows of {dataset.name}")

    def quarantine(self, dataset: Dataset, frame: pl.DataFrame, partition: str, reasons: str) -> None:
        """Keep a partition that failed its blocking checks aside, in quarantine.<dataset>, never published."""
        kept = frame.with_columns(
            pl.lit(partition).alias(QUARANTINE_PARTITION), pl.lit(reasons).alias(QUARANTINE_REASONS)
        )
        self.replace(dataset.quarantine, kept, where={QUARANTINE_PARTITION: partition})

    # -- reading ------------------------------------------------------------------------------------

    def read(
        self, dataset: Dataset, where: Where | Sequence[Where] | None = None, stamps: bool = False
    ) -> pl.DataFrame:
        """The stored rows matching `where`, in the dataset's order; empty and typed when there are none."""
        self.ensure([dataset])
        with self._mutex:
            return _read(self._writer, dataset, _selections(where), stamps)

    def newest(self, dataset: Dataset, column: str, within: Where | None = None) -> Any:
        """The largest value of `column` (e.g. the latest snapshot date) among the rows matching `within`,
        None when there are none."""
        self.ensure([dataset])
        condition, params = _predicate(within or {})
        with self._mutex:
            return self._writer.execute(
                f'SELECT max("{column}") FROM {dataset.table} WHERE {condition}', params
            ).fetchone()[0]

    def stored(
        self, dataset: Dataset, by: str | None = None, values: Sequence[Any] = (), within: Where | None = None
    ) -> dict[Any, Stored]:
        """Rows and newest LOADED_AT of each of `values` of the column `by` (all of them under None when
        `by` is None), among the rows matching `within`: in one query, however many partitions failed."""
        self.ensure([dataset])
        selection = {**(within or {}), **({by: list(values)} if by else {})}
        condition, params = _predicate(selection)
        key = f'"{by}"' if by else "NULL"
        with self._mutex:
            found = self._writer.execute(
                f"SELECT {key}, count(*), max({LOADED_AT}) FROM {dataset.table} WHERE {condition} GROUP BY ALL", params
            ).fetchall()
        counted = {value: Stored(rows, written) for value, rows, written in found}
        return {value: counted.get(value, Stored(0, None)) for value in (values if by else [None])}

    def distinct(self, dataset: Dataset, column: str) -> list[Any]:
        self.ensure([dataset])
        with self._mutex:
            rows = self._writer.execute(f'SELECT DISTINCT "{column}" FROM {dataset.table} ORDER BY 1').fetchall()
        return [row[0] for row in rows]


class LocalLake(LakeResource):
    """The lake in a local folder; its catalog by default a SQLite file beside the folder."""

    root: str = Field(default="data/lake", description="The folder of the data files (made absolute).")
    catalog: str | None = Field(
        default=None,
        description="DuckLake metadata: sqlite:<file> (one machine) or postgres:<libpq connection string>; "
        "by default a SQLite file beside the folder (root/../tickerlake.sqlite).",
    )

    @field_validator("root")
    @classmethod
    def _a_folder(cls, root: str) -> str:
        if root.startswith("s3://"):
            raise ValueError(f"{root!r} is an S3 URL, not a folder: an S3Lake (lake_at_root picks it)")
        return root

    @property
    def folder(self) -> Path:
        return Path(self.root).resolve()

    @property
    def location(self) -> str:
        return str(self.folder)

    def _default_catalog(self) -> str:
        return f"sqlite:{self.folder.parent / 'tickerlake.sqlite'}"

    def _prepare_storage(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)


class S3Lake(LakeResource):
    """The lake on S3 (or an S3 API: MinIO, moto), read and written in place; it needs a catalog."""

    url: str = Field(description="Where the data files are: s3://bucket/prefix.")
    endpoint_url: str | None = Field(default=None, description="S3 API endpoint (MinIO, moto); None for AWS.")
    catalog: str = Field(
        description="DuckLake metadata, required on S3: postgres:<libpq connection string> (several "
        "machines) or sqlite:<file> (one machine)."
    )

    @field_validator("url")
    @classmethod
    def _an_s3_url(cls, url: str) -> str:
        if not url.startswith("s3://") or not url.removeprefix("s3://").strip("/"):
            raise ValueError(f"{url!r} is not an s3://bucket/prefix URL")
        return url

    @property
    def location(self) -> str:
        return self.url.rstrip("/")

    def _configure(self, con: duckdb.DuckDBPyConnection) -> None:
        """Extensions, UTC, httpfs and the S3 secret (AWS_* credentials, this lake's endpoint)."""
        duckdb_env.configure(con, self.data_path, self.endpoint_url)


def lake_at_root(root: str, catalog: str | None = None, s3_endpoint_url: str | None = None) -> LakeResource:
    """The lake a root setting names: an S3Lake for s3://bucket/prefix (which needs a catalog; the
    endpoint applies to it only), else a LocalLake in that folder."""
    if root.startswith("s3://"):
        if not catalog:
            raise ValueError("lake: a lake on S3 needs a catalog (TICKERLAKE_CATALOG=postgres:... or sqlite:...)")
        return S3Lake(url=root, catalog=catalog, endpoint_url=s3_endpoint_url)
    return LocalLake(root=root, catalog=catalog)


@dataclass(frozen=True)
class Replaced:
    """What a replacement wrote, and the partitions it refused to shrink (their stored rows are kept): why,
    and which (the values of the completeness `per` column), for a caller that records what it stored."""

    rows: int
    refused: list[str]
    kept: tuple[Any, ...] = ()


class Transaction:
    """The writes and reads of one lake transaction (see LakeResource.transaction)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, ensured: set[str]) -> None:
        self.con = con
        self.ensured = ensured
        self.created: set[str] = set()

    def ensure(self, dataset: Dataset) -> None:
        if dataset.table in self.ensured or dataset.table in self.created:
            return
        self.con.execute(f"CREATE SCHEMA IF NOT EXISTS {dataset.schema_name}")
        _create_or_extend(self.con, dataset)
        self.created.add(dataset.table)
        if dataset.keeps_history:  # queryable, if empty, before the first revision
            self.ensure(dataset.history)

    def replace(
        self,
        dataset: Dataset,
        frame: pl.DataFrame,
        where: Where | Sequence[Where] | None = None,
        keep_stamps: bool = False,
        allow_shrink: bool = False,
        complete: Sequence[Any] = (),
    ) -> "Replaced":
        """Replace the rows matching `where` (None: the whole table) with `frame`.

        Every row gets LOADED_AT = now; with `keep_stamps` (always, for a dataset that keeps history), a
        row equal to one it replaces keeps that row's LOADED_AT, so a re-fetch that changed nothing shows
        incremental models nothing new. The replaced rows that no incoming row equals go to the
        dataset's history, if it keeps one.

        A partition that would lose more than the dataset's completeness allows (resources.completeness)
        keeps its stored rows and is named in the result's `refused`; the others are replaced. A
        dataset replaced whole (no `per` column) raises ShrinkRefused instead. `complete` lists the
        partitions whose source said they are complete, and `allow_shrink` is the override.
        """
        self.ensure(dataset)
        selections = _selections(where)
        frame = frame.select(list(dataset.schema)).cast(dict(dataset.schema))
        rule = None if allow_shrink else dataset.completeness
        keep_stamps = keep_stamps or dataset.keeps_history
        stored = _read(self.con, dataset, selections, stamps=True) if keep_stamps or rule else None
        found = (
            {}
            if rule is None
            else {
                value: problems
                for value, problems in losses(stored.drop(LOADED_AT), frame, rule).items()
                if value not in complete
            }
        )
        if found and rule.per is None:
            raise ShrinkRefused(refusal(f"{dataset.name} {describe(selections)}", found[None]))
        kept = ""
        if found:
            frame = frame.filter(~pl.col(rule.per).is_in(pl.Series(list(found), dtype=frame[rule.per].dtype).implode()))
            kept = f' AND "{rule.per}" NOT IN ({", ".join("?" * len(found))})'
        stamped = stamp_rows(frame, stored if keep_stamps else None)
        if dataset.keeps_history:
            replaced = stored if not found else stored.filter(~pl.col(rule.per).is_in(pl.Series(list(found)).implode()))
            self._keep_history(dataset, replaced, stamped)
        if where is None:
            self.con.execute(f"DELETE FROM {dataset.table} WHERE true{kept}", list(found))
        for condition, params in (_predicate(s) for s in selections):
            self.con.execute(f"DELETE FROM {dataset.table} WHERE ({condition}){kept}", [*params, *found])
        if stamped.height:
            self.con.register("incoming_rows", stamped.to_arrow())
            try:
                self.con.execute(f"INSERT INTO {dataset.table} BY NAME SELECT * FROM incoming_rows")
            finally:
                self.con.unregister("incoming_rows")
        refused = [refusal(f"{dataset.name} {rule.per}={value}", problems) for value, problems in found.items()]
        return Replaced(stamped.height, refused, tuple(found))

    def insert_new(self, dataset: Dataset, frame: pl.DataFrame) -> int:
        if not dataset.key:
            raise ValueError(f"{dataset.name} has no key: insert_new cannot tell a stored row from a new one")
        self.ensure(dataset)
        stamped = stamp_rows(frame.select(list(dataset.schema)).cast(dict(dataset.schema)), None)
        if not stamped.height:
            return 0
        same = " AND ".join(f'stored."{column}" = incoming."{column}"' for column in dataset.key)
        self.con.register("incoming_rows", stamped.to_arrow())
        try:
            return self.con.execute(
                f"INSERT INTO {dataset.table} BY NAME SELECT * FROM incoming_rows AS incoming "
                f"WHERE NOT EXISTS (SELECT 1 FROM {dataset.table} AS stored WHERE {same})"
            ).fetchone()[0]
        finally:
            self.con.unregister("incoming_rows")

    def read(
        self, dataset: Dataset, where: Where | Sequence[Where] | None = None, stamps: bool = False
    ) -> pl.DataFrame:
        self.ensure(dataset)
        return _read(self.con, dataset, _selections(where), stamps)

    def _keep_history(self, dataset: Dataset, replaced: pl.DataFrame, incoming: pl.DataFrame) -> None:
        """The replaced rows no incoming row equals (a revised value, a row gone), with their LOADED_AT."""
        values = list(dataset.schema)
        gone = replaced.join(incoming.select(values), on=values, how="anti", nulls_equal=True)
        if gone.is_empty():
            return
        now = pl.lit(dt.datetime.now(dt.UTC), dtype=pl.Datetime("us", "UTC"))
        self.con.register("superseded_rows", gone.with_columns(now.alias(SUPERSEDED_AT)).to_arrow())
        try:
            self.con.execute(f"INSERT INTO {dataset.history.table} BY NAME SELECT * FROM superseded_rows")
        finally:
            self.con.unregister("superseded_rows")


def stamp_rows(frame: pl.DataFrame, stored: pl.DataFrame | None) -> pl.DataFrame:
    """`frame` with LOADED_AT: kept from an equal row of `stored` (the rows it replaces), else now."""
    now = pl.lit(dt.datetime.now(dt.UTC), dtype=pl.Datetime("us", "UTC"))
    values = [c for c in frame.columns if c != LOADED_AT]
    frame = frame.select(values)
    if stored is None or stored.is_empty():
        return frame.with_columns(now.alias(LOADED_AT))
    previous = stored.select([*values, LOADED_AT]).unique(subset=values, keep="last")
    joined = frame.join(previous, on=values, how="left", nulls_equal=True, maintain_order="left")
    return joined.with_columns(pl.col(LOADED_AT).fill_null(now))


def describe(selections: Sequence[Where]) -> str:
    """A partition as people read it: trade_date=2024-07-01, symbol in [AAPL, MSFT], or (all rows)."""
    if not selections:
        return "(all rows)"
    return " or ".join(", ".join(f"{c}={_show(v)}" for c, v in s.items()) or "(all rows)" for s in selections)


def _show(value: Any) -> str:
    if isinstance(value, Between):
        return f"[{value.start}, {value.end})"
    if isinstance(value, list | tuple | set | frozenset):
        shown = ", ".join(str(v) for v in list(value)[:5])
        return f"[{shown}{', ...' if len(value) > 5 else ''}] ({len(value)})"
    return str(value)


def _selections(where: Where | Sequence[Where] | None) -> list[Where]:
    if where is None:
        return []
    if isinstance(where, Mapping):
        return [where]
    return list(where)


def _predicate(selection: Where) -> tuple[str, list[Any]]:
    """SQL for one selection (column names are our own identifiers). Dates, times and numbers go in as
    typed literals: DuckLake skips the data files whose statistics lie outside a constant, and a bound
    parameter is not one to it (a day's replacement then read every file of the history). Text goes
    in as bound parameters, always."""
    parts, params = [], []

    def term(value: Any) -> str:
        literal = _literal(value)
        if literal is None:
            params.append(value)
            return "?"
        return literal

    for column, value in selection.items():
        name = f'"{column}"'
        if isinstance(value, Between):
            if value.start is not None:
                parts.append(f"{name} >= {term(value.start)}")
            if value.end is not None:
                parts.append(f"{name} < {term(value.end)}")
        elif isinstance(value, list | tuple | set | frozenset):
            values = list(value)
            parts.append(f"{name} IN ({', '.join(term(v) for v in values)})" if values else "false")
        else:
            parts.append(f"{name} = {term(value)}")
    return " AND ".join(parts) or "true", params


def _literal(value: Any) -> str | None:
    """A typed SQL literal for a date, a time or a finite number, rendered from the Python value (never
    from text); None for anything else."""
    if isinstance(value, dt.datetime):
        kind = "TIMESTAMP" if value.tzinfo is None else "TIMESTAMPTZ"
        return f"{kind} '{value.isoformat(sep=' ')}'"
    if isinstance(value, dt.date):
        return f"DATE '{value.isoformat()}'"
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and math.isfinite(value):
        return repr(value)
    return None


def _read(con: duckdb.DuckDBPyConnection, dataset: Dataset, selections: Sequence[Where], stamps: bool) -> pl.DataFrame:
    predicates = [_predicate(s) for s in selections]
    where = " OR ".join(f"({condition})" for condition, _ in predicates) if predicates else "true"
    params = [p for _, ps in predicates for p in ps]
    columns = [*dataset.schema, *([LOADED_AT] if stamps else [])]
    order = f" ORDER BY {_columns(dataset.order)}" if dataset.order else ""
    select = _columns(columns)
    frame = con.execute(f"SELECT {select} FROM {dataset.table} WHERE {where}{order}", params).pl()
    schema = {**dataset.schema, **({LOADED_AT: pl.Datetime("us", "UTC")} if stamps else {})}
    return frame.cast(schema) if frame.height else pl.DataFrame(schema=schema)


def _create_or_extend(con: duckdb.DuckDBPyConnection, dataset: Dataset) -> None:
    """CREATE TABLE from the polars schema (DuckDB maps the types), or ADD COLUMN for new ones."""
    empty = pl.DataFrame(schema={**dataset.schema, LOADED_AT: pl.Datetime("us", "UTC")})
    existing = {
        row[0]
        for row in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE database_name = ? AND schema_name = ? AND table_name = ?",
            [CATALOG_ALIAS, dataset.schema_name, dataset.name],
        ).fetchall()
    }
    con.register("empty_rows", empty.to_arrow())
    try:
        if not existing:
            con.execute(f"CREATE TABLE IF NOT EXISTS {dataset.table} AS SELECT * FROM empty_rows LIMIT 0")
            return
        added = [c for c in empty.columns if c not in existing]
        if added:
            described = con.execute("SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM empty_rows)")
            types = dict(described.fetchall())
        for column in added:
            con.execute(f'ALTER TABLE {dataset.table} ADD COLUMN "{column}" {types[column]}')
    finally:
        con.unregister("empty_rows")


def _is_transient(error: BaseException) -> bool:
    """A catalog that was busy, or a conflict DuckLake could not resolve: the whole transaction may retry."""
    text = str(error).lower()
    return isinstance(error, duckdb.Error) and ("database is locked" in text or "conflict" in text)


def _set_option(con: duckdb.DuckDBPyConnection, name: str, value: str) -> None:
    """A catalog-wide DuckLake option (kept in the catalog, so dbt's writes follow it too)."""
    current = con.execute(f"SELECT value FROM {CATALOG_ALIAS}.options() WHERE option_name = ?", [name]).fetchone()
    if current is None or current[0] != value:
        con.execute(f"CALL {CATALOG_ALIAS}.set_option(?, ?)", [name, value])


def _columns(names: Sequence[str]) -> str:
    return ", ".join(f'"{name}"' for name in names)
