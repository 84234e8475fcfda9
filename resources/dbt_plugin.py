"""dbt-duckdb's hook into dbt's DuckDB connection (profiles.yml `plugins`): our connection setup.

It runs before dbt attaches the lake's catalog, so the DuckLake extension (from its PyPI package) and
the S3 secret are in place when the ATTACH needs them, exactly as in resources.lake's connections.
"""

import os
from typing import Any

import duckdb
from dbt.adapters.duckdb.plugins import BasePlugin

from resources import duckdb_env


class Plugin(BasePlugin):
    def update_connection_config(self, creds: Any, config: dict[str, Any]) -> None:
        config.update(duckdb_env.connection_config())

    def configure_connection(self, conn: duckdb.DuckDBPyConnection) -> None:
        duckdb_env.configure(
            conn, os.environ.get("TICKERLAKE_LAKE_ROOT", ""), os.environ.get(duckdb_env.S3_ENDPOINT) or None
        )
        # DuckDB's own default is 80% of RAM; a full build over the whole FINRA history reached 18.9 GB
        # on a 24 GB host. Lower it where other processes share the machine (e.g. "8GB").
        if os.environ.get("TICKERLAKE_DUCKDB_MEMORY_LIMIT"):
            conn.execute(f"SET memory_limit = {duckdb_env.sql_string(os.environ['TICKERLAKE_DUCKDB_MEMORY_LIMIT'])}")
