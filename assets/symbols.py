"""The symbol directory as daily snapshots in the lake: the raw material of a survivorship-free
universe. Delisting dates are derived from the snapshots in dbt (dim_symbols); nothing is deleted.
"""

import datetime as dt
from collections.abc import Iterator

import dagster as dg
import polars as pl

from assets.checks import Ledger, PublishConfig, Rule, check_specs, fetching, finish, publish
from assets.freshness import updated_within
from assets.schema import column_schema
from assets.sources import DAILY_TAG, Source
from resources.completeness import Completeness
from resources.lake import Dataset, LakeResource
from resources.symbols import (
    DIRECTORY_MEANINGS,
    DIRECTORY_SCHEMA,
    SymbolDirectoryClient,
    is_valid_symbol,
    split_valid_symbols,
)

# A snapshot may not lose more than 5% of a stored snapshot's symbols, nor a column (a half-sent file
# of the same day must not replace the whole one).
DATASET = Dataset(
    "symbol_directory",
    DIRECTORY_SCHEMA,
    order=("snapshot_date", "symbol", "source_file"),
    key=("snapshot_date", "symbol", "source_file"),
    completeness=Completeness(per="snapshot_date", keys=("symbol",), tolerance=0.05),
)
ASSET_KEY = dg.AssetKey(["raw", DATASET.name])
RULES = (Rule("symbol_valid", "Every symbol has the lake's ticker form.", is_valid_symbol(pl.col("symbol"))),)


@dg.asset(
    key=ASSET_KEY,
    group_name="symbols",
    kinds={"ducklake", "polars"},
    tags={DAILY_TAG: "reference"},
    description=(
        "Nasdaq Trader's nasdaqlisted.txt + otherlisted.txt, test issues dropped, one snapshot per "
        "file-creation day (re-running the same day replaces that day's snapshot)."
    ),
    metadata=column_schema(DIRECTORY_SCHEMA, DIRECTORY_MEANINGS),
    check_specs=check_specs(ASSET_KEY, DATASET, RULES),
)
def symbol_directory(
    context: dg.AssetExecutionContext,
    config: PublishConfig,
    symbols: SymbolDirectoryClient,
    lake: LakeResource,
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    config.announce(context.log)
    with fetching(lake, DATASET, "Nasdaq Trader symbol directory"):
        frame, rejected = split_valid_symbols(symbols.listed())
    if rejected:
        context.log.warning(f"{len(rejected)} symbols outside the symbol pattern were skipped: {rejected[:20]}")
    snapshot = frame["snapshot_date"][0]
    ledger = Ledger(DATASET, RULES)
    problems = publish(
        lake, DATASET, frame, {"snapshot_date": snapshot}, snapshot.isoformat(), ledger, config.allow_shrink
    )
    yield from finish(
        ledger,
        problems,
        {
            "dagster/row_count": frame.height,
            "snapshot_date": snapshot.isoformat(),
            "etfs": int(frame["is_etf"].sum()),
            "rejected_symbols": dg.MetadataValue.json(rejected[:100]),
        },
    )


def latest_listed_symbols(lake: LakeResource) -> tuple[str, list[str]]:
    """The newest snapshot's date and its symbols, read from the lake (no warehouse lock needed)."""
    snapshot = lake.newest(DATASET, "snapshot_date")
    if snapshot is None:
        return "", []
    frame = lake.read(DATASET, where={"snapshot_date": snapshot})
    return snapshot.isoformat(), sorted(frame["symbol"].to_list())


SOURCE = Source(
    client=SymbolDirectoryClient,
    assets=[symbol_directory],
    datasets=[DATASET],
    freshness=updated_within([ASSET_KEY], dt.timedelta(days=4)),
)
