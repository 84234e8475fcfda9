"""Lake maintenance: snapshot retention and file compaction, as a scheduled asset.

Every commit of the lake is a snapshot that keeps its data files, which is what makes time travel
work ("the marts as they were on 2026-10-31") and what would make the lake grow without end. Once a
week this asset:
- flushes rows DuckLake inlined into the catalog (small writes) out to Parquet files;
- merges small adjacent files (a daily partition or an incremental model's day is one small file)
  and rewrites files where most rows were deleted (incremental delete+insert leaves delete files);
- expires snapshots older than the retention, then deletes the files only those snapshots used, and
  files no snapshot ever committed (a writer killed before its commit leaves such orphans).
Time travel reaches back as far as the retention (RETENTION_DAYS by default, so last month's marts
stay reproducible). It runs in the `duckdb` pool and under the catalog's write lock, like a dbt build.
"""

import dagster as dg
import duckdb
from pydantic import Field

from assets.dbt import DUCKDB_POOL
from resources.lake import CATALOG_ALIAS, LakeResource

ASSET_KEY = dg.AssetKey(["maintenance", "lake_maintenance"])
RETENTION_DAYS = 45
ORPHAN_GRACE_HOURS = 24


class MaintenanceConfig(dg.Config):
    retention_days: int = Field(default=RETENTION_DAYS, description="Snapshots younger than this stay readable.")


def lake_footprint(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Snapshots, live data files and their bytes, as the catalog records them."""
    snapshots = con.execute(f"SELECT count(*) FROM {CATALOG_ALIAS}.snapshots()").fetchone()[0]
    files, size = con.execute(
        "SELECT count(*), coalesce(sum(file_size_bytes), 0) "
        f"FROM __ducklake_metadata_{CATALOG_ALIAS}.ducklake_data_file"
    ).fetchone()
    return {"snapshots": snapshots, "data_files": files, "data_bytes": int(size)}


def maintain(con: duckdb.DuckDBPyConnection, retention_days: int) -> None:
    """Compact, then expire and clean up; each call is its own DuckLake commit."""
    con.execute(f"CALL ducklake_flush_inlined_data('{CATALOG_ALIAS}')")
    con.execute(f"CALL ducklake_merge_adjacent_files('{CATALOG_ALIAS}')")
    con.execute(f"CALL ducklake_rewrite_data_files('{CATALOG_ALIAS}', delete_threshold => 0.5)")
    con.execute(
        f"CALL ducklake_expire_snapshots('{CATALOG_ALIAS}', older_than => now() - to_days(?))", [retention_days]
    )
    con.execute(f"CALL ducklake_cleanup_old_files('{CATALOG_ALIAS}', cleanup_all => true)")
    con.execute(
        f"CALL ducklake_delete_orphaned_files('{CATALOG_ALIAS}', older_than => now() - to_hours(?))",
        [ORPHAN_GRACE_HOURS],
    )


@dg.asset(
    key=ASSET_KEY,
    group_name="maintenance",
    pool=DUCKDB_POOL,
    kinds={"ducklake"},
    description=(
        "Weekly: flushes inlined rows to Parquet, merges small files, rewrites files with many deleted rows, "
        "expires snapshots older than the retention and deletes the files no remaining snapshot uses."
    ),
)
def lake_maintenance(
    context: dg.AssetExecutionContext, config: MaintenanceConfig, lake: LakeResource
) -> dg.MaterializeResult:
    with lake.writing(context.log), lake.connect(read_only=False) as con:
        before = lake_footprint(con)
        maintain(con, config.retention_days)
        after = lake_footprint(con)
    context.log.info(f"lake maintenance: {before} -> {after}")
    return dg.MaterializeResult(
        metadata={
            **{f"{key}_before": value for key, value in before.items()},
            **{f"{key}_after": value for key, value in after.items()},
            "retention_days": config.retention_days,
        }
    )
