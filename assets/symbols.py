"""The symbol directory as daily snapshots in the lake: the raw material of a survivorship-free
universe. Delisting dates are derived from the snapshots in dbt (dim_symbols); nothing is deleted.
"""

import dagster as dg

from assets.schema import column_schema
from resources.lake import Dataset, LakeResource
from resources.symbols import DIRECTORY_SCHEMA, SymbolDirectoryClient, split_valid_symbols

DATASET = Dataset("symbol_directory", DIRECTORY_SCHEMA, order=("snapshot_date", "symbol", "source_file"))
ASSET_KEY = dg.AssetKey(["raw", DATASET.name])


@dg.asset(
    key=ASSET_KEY,
    group_name="symbols",
    kinds={"ducklake", "polars"},
    description=(
        "Nasdaq Trader's nasdaqlisted.txt + otherlisted.txt, test issues dropped, one snapshot per "
        "file-creation day (re-running the same day replaces that day's snapshot)."
    ),
    metadata=column_schema(DIRECTORY_SCHEMA),
)
def symbol_directory(
    context: dg.AssetExecutionContext, symbol_directory_client: SymbolDirectoryClient, lake: LakeResource
) -> dg.MaterializeResult:
    frame, rejected = split_valid_symbols(symbol_directory_client.fetch())
    if rejected:
        context.log.warning(f"{len(rejected)} symbols outside the symbol pattern were skipped: {rejected[:20]}")
    snapshot = frame["snapshot_date"][0]
    lake.replace(DATASET, frame, where={"snapshot_date": snapshot})
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": frame.height,
            "snapshot_date": snapshot.isoformat(),
            "etfs": int(frame["is_etf"].sum()),
            "rejected_symbols": dg.MetadataValue.json(rejected[:100]),
        }
    )


def latest_listed_symbols(lake: LakeResource) -> tuple[str, list[str]]:
    """The newest snapshot's date and its symbols, read from the lake (no warehouse lock needed)."""
    snapshot = lake.newest(DATASET, "snapshot_date")
    if snapshot is None:
        return "", []
    frame = lake.read(DATASET, where={"snapshot_date": snapshot})
    return snapshot.isoformat(), sorted(frame["symbol"].to_list())
