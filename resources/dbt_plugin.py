"""dbt-duckdb's hook into dbt's DuckDB connection (profiles.yml `plugins`): our connection setup.

It runs before dbt attaches the lake's catalog, so the DuckLake extension (from its PyPI package), the S3
secret and the catalog's own secret (where the catalog and the data files are) are in place when the
ATTACH needs them, exactly as in resources.lake's connections.
"""

import os
from typing import Any

import duckdb
from dbt.adapters.duckdb.plugins import BasePlugin

from resources import duckdb_env, settings

# profiles.yml attaches `ducklake:tickerlake_catalog`; the secret says where that is. The defaults serve a
# bare `dbt` call from inside dbt_project/ (the Makefile and the definitions set both, absolute).
CATALOG_SECRET = "tickerlake_catalog"
DEFAULT_LAKE_ROOT, DEFAULT_CATALOG = "../data/lake", "sqlite:../data/tickerlake.sqlite"


class Plugin(BasePlugin):
    def update_connection_config(self, creds: Any, config: dict[str, Any]) -> None:
        config.update(duckdb_env.connection_config())

    def configure_connection(self, conn: duckdb.DuckDBPyConnection) -> None:
        root = settings.value("TICKERLAKE_LAKE_ROOT", DEFAULT_LAKE_ROOT)
        duckdb_env.configure(conn, root, settings.s3_endpoint_url())
        catalog = settings.value("TICKERLAKE_CATALOG", DEFAULT_CATALOG)
        duckdb_env.create_catalog_secret(conn, CATALOG_SECRET, catalog, root.rstrip("/") + "/")
        # DuckDB's own default is 80% of RAM, but not all of its memory counts against the limit: a full
        # build of the whole history (FINRA and 11,000 symbols' prices) reached 23.5 GB of resident memory
        # under that default on a 24 GB host and was killed, and 16.6 GB under a limit of half of RAM.
        # A limit of 40% keeps the whole process under half of the machine; beyond it DuckDB spills to its
        # temp directory. Set it lower where other processes share the machine ("8GB").
        limit = settings.value("TICKERLAKE_DUCKDB_MEMORY_LIMIT", f"{share_of_ram_mb(0.4)}MB")
        conn.execute(f"SET memory_limit = {duckdb_env.sql_string(limit)}")


def share_of_ram_mb(share: float) -> int:
    return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") * share) // 2**20
