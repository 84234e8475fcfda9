"""How every DuckDB connection of tickerlake is set up, ours and dbt's alike.

DuckDB downloads its extensions at run time by default, which this platform cannot count on (an
offline CI, a locked-down cluster). The extensions it needs (DuckLake, SQLite and PostgreSQL for the
catalog, httpfs for S3) come instead as PyPI packages built for the pinned DuckDB version, and are
installed from those packages into DuckDB's extension directory the first time a connection needs
them. Automatic downloads stay off, so a missing extension fails loudly instead of reaching out.

S3 credentials come from the usual AWS environment variables and go into an in-memory DuckDB secret,
never into a file, a log or the catalog.
"""

from pathlib import Path
from typing import Any

import duckdb
from duckdb_extensions import import_extension

from resources import settings

# Package name -> the name DuckDB lists the installed extension under.
EXTENSIONS = {"ducklake": "ducklake", "sqlite": "sqlite_scanner", "postgres": "postgres_scanner", "httpfs": "httpfs"}


def connection_config() -> dict[str, Any]:
    """Options for duckdb.connect: no extension downloads."""
    return {"autoinstall_known_extensions": False}


def install_extensions(con: duckdb.DuckDBPyConnection) -> None:
    """Install the missing extensions from their PyPI packages (a no-op once they are installed)."""
    installed = {
        row[0] for row in con.execute("SELECT extension_name FROM duckdb_extensions() WHERE installed").fetchall()
    }
    for package, name in EXTENSIONS.items():
        if name not in installed:
            import_extension(package, con=con)


def create_s3_secret(con: duckdb.DuckDBPyConnection, endpoint_url: str | None) -> None:
    """An S3 secret from AWS_* variables; endpoint_url points at MinIO, moto or another S3 API."""
    options = settings.aws_credentials()
    if endpoint_url:
        scheme, _, host = endpoint_url.rpartition("://")
        options |= {"ENDPOINT": host.rstrip("/"), "URL_STYLE": "path", "USE_SSL": str(scheme != "http").lower()}
    clauses = ", ".join(
        f"{key} {value if value in ('true', 'false') else sql_string(value)}" for key, value in options.items()
    )
    con.execute(f"CREATE OR REPLACE SECRET tickerlake_s3 (TYPE s3, {clauses})")


def catalog_metadata_path(catalog: str) -> str:
    """What DuckLake takes after `ducklake:` for a catalog setting: sqlite:<absolute file>, postgres:<libpq>."""
    kind, _, location = catalog.partition(":")
    if kind == "sqlite":
        return f"sqlite:{Path(location).resolve()}"
    if kind == "postgres":
        return f"postgres:{location}"
    raise ValueError(f"lake: catalog must start with sqlite: or postgres:, not {catalog!r}")


def create_catalog_secret(con: duckdb.DuckDBPyConnection, name: str, catalog: str, data_path: str) -> None:
    """A DuckLake secret holding where the catalog and the data files are: `ATTACH 'ducklake:<name>'` then
    needs no path, so dbt's profile names no setting that differs between deployments (which would make
    dbt parse the whole project again on every run instead of reusing the install's parse)."""
    con.execute(
        f"CREATE OR REPLACE SECRET {name} (TYPE ducklake, METADATA_PATH {sql_string(catalog_metadata_path(catalog))}, "
        f"DATA_PATH {sql_string(data_path)})"
    )


def configure(con: duckdb.DuckDBPyConnection, data_path: str, endpoint_url: str | None) -> None:
    """Extensions, UTC (every timestamp of the lake is UTC), and S3 credentials for a lake on S3."""
    install_extensions(con)
    con.execute("SET TimeZone = 'UTC'")
    if data_path.startswith("s3://"):
        con.execute("LOAD httpfs")
        create_s3_secret(con, endpoint_url)


def sql_string(value: str) -> str:
    """A quoted SQL string, for statements that take no bound parameters (SET, CREATE SECRET, ATTACH)."""
    return "'" + value.replace("'", "''") + "'"
