"""The DuckDB warehouse file: `raw` views over the lake, and the schemas dbt builds.

DuckDB lets one process hold the file while it writes, so everything that opens it for writing runs
in the `duckdb` concurrency pool (limit 1, see platform/dagster.yaml); raw assets never open it.
"""

from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
from pydantic import Field

from resources.lake import LakeResource

DUCKDB_POOL = "duckdb"

_DUCKDB_TYPES = {
    pl.Date(): "DATE", pl.String(): "VARCHAR", pl.Float64(): "DOUBLE", pl.Int64(): "BIGINT", pl.Boolean(): "BOOLEAN",
}


class WarehouseResource(dg.ConfigurableResource):
    """Where the DuckDB file lives; dbt's profile reads the same TICKERLAKE_DUCKDB_PATH."""

    path: str = Field(default="data/tickerlake.duckdb", description="DuckDB file; relative to the cwd.")

    @property
    def file(self) -> Path:
        return Path(self.path).resolve()

    def connect(self, read_only: bool = False) -> duckdb.DuckDBPyConnection:
        if not read_only:
            self.file.parent.mkdir(parents=True, exist_ok=True)
        return duckdb.connect(str(self.file), read_only=read_only)

    def register_lake_views(self, lake: LakeResource, datasets: dict[str, dict[str, pl.DataType]]) -> None:
        """(Re)create raw.<dataset> as a view over the lake, typed and empty while it has no files.

        The view holds an absolute path, so the warehouse answers the same from any working directory,
        and it reads the lake at query time, so new partitions show without reloading anything.
        """
        with self.connect() as con:
            con.execute("CREATE SCHEMA IF NOT EXISTS raw")
            for dataset, schema in datasets.items():
                columns = ", ".join(f'CAST(NULL AS {_DUCKDB_TYPES[t]}) AS "{c}"' for c, t in schema.items())
                body = (
                    f"SELECT * FROM read_parquet({_sql_literal(lake.dataset_glob(dataset))}, hive_partitioning = false)"
                    if lake.has_data(dataset)
                    else f"SELECT {columns} WHERE false"
                )
                con.execute(f'CREATE OR REPLACE VIEW raw."{dataset}" AS {body}')


def _sql_literal(text: str) -> str:
    """DDL cannot take bound parameters; the only text quoted here is our own lake path."""
    return "'" + text.replace("'", "''") + "'"
