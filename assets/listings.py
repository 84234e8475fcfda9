"""Each configured market's listing file as daily snapshots: the universe beyond the US.

One asset per market (raw/listings_<mic>, TICKERLAKE_MARKETS), so a market whose exchange is down fails
alone and is retried alone; all write raw.market_listings, one snapshot per (market, day the file
describes). The new-symbol sensor reads each market's newest snapshot beside Nasdaq Trader's directory
and backfills the symbols that are new (sensors/symbols.py), whose daily bars then come from
raw/prices_daily_<mic>. Like the US directory, nothing is deleted: a symbol that leaves its file keeps
its history, and dbt's dim_symbols dates its delisting from the snapshots.
"""

import datetime as dt
from collections.abc import Iterator

import dagster as dg
import polars as pl

from assets.checks import Ledger, PublishConfig, Rule, check_specs, fetching, finish, publish
from assets.freshness import updated_within
from assets.schema import column_schema
from assets.sources import DAILY_TAG, Source
from resources import markets, settings
from resources.completeness import Completeness
from resources.lake import Dataset, LakeResource
from resources.listings import LISTINGS_MEANINGS, LISTINGS_SCHEMA, ListingsClient
from resources.symbols import is_valid_symbol, split_valid_symbols

SUFFIXES = {market.mic: market.suffix for market in markets.MARKETS if market.suffix}
NO_SNAPSHOT = pl.DataFrame(schema=LISTINGS_SCHEMA)
# A snapshot may not lose more than 5% of the stored newest snapshot's symbols (a half-sent file must not
# replace the whole one, nor pass for a new day's).
SHRINK_TOLERANCE = 0.05
DATASET = Dataset(
    "market_listings",
    LISTINGS_SCHEMA,
    order=("market", "snapshot_date", "symbol"),
    key=("market", "snapshot_date", "symbol"),
    completeness=Completeness(per="snapshot_date", keys=("symbol",), tolerance=SHRINK_TOLERANCE),
)
RULES = (
    Rule("symbol_valid", "Every symbol has the lake's ticker form.", is_valid_symbol(pl.col("symbol"))),
    Rule(
        "symbol_names_its_market",
        "Every symbol carries its market's suffix, so it names its market everywhere else.",
        pl.col("symbol").str.ends_with(pl.col("market").replace_strict(SUFFIXES, default="\n")),
    ),
)


def listings_key(market: markets.Market) -> dg.AssetKey:
    return dg.AssetKey(["raw", f"listings_{market.mic.lower()}"])


def newest_snapshot(lake: LakeResource, mic: str) -> pl.DataFrame:
    """Market `mic`'s newest stored snapshot (empty when none)."""
    day = lake.newest(DATASET, "snapshot_date", within={"market": mic})
    return lake.read(DATASET, where={"market": mic, "snapshot_date": day}) if day else NO_SNAPSHOT


def shrunk(stored: pl.DataFrame, new: pl.DataFrame) -> list[str]:
    """Why a new day's snapshot is not published: it lacks more than SHRINK_TOLERANCE of the stored newest
    one's symbols. A cut download of a file without a trailer (Xetra's CSV) parses; published as a new
    day it would date a delisting for every symbol it lost."""
    if stored.is_empty() or stored["snapshot_date"][0] == new["snapshot_date"][0]:
        return []  # the same day: the lake's own completeness rule compares them
    lost = sorted(set(stored["symbol"]) - set(new["symbol"]))
    if len(lost) <= SHRINK_TOLERANCE * stored.height:
        return []
    return [
        f"{new['market'][0]} {new['snapshot_date'][0]}: lacks {len(lost):,} of the {stored.height:,} symbols of the "
        f"stored {stored['snapshot_date'][0]} snapshot (e.g. {', '.join(lost[:5])}); not published, the stored one "
        "stays (a real shrink is published with allow_shrink: true)"
    ]


def market_listings(market: markets.Market) -> dg.AssetsDefinition:
    """Market `market`'s listing snapshot, replaced whole for the day its file describes."""
    key = listings_key(market)

    @dg.asset(
        key=key,
        group_name="symbols",
        kinds={"ducklake", "polars"},
        tags={DAILY_TAG: "reference"},
        description=(
            f"{market.name}'s own list of listed instruments (resources/listings.py names the file), one "
            "snapshot per day the file describes, in raw.market_listings; its symbols carry the suffix "
            f"{market.suffix}."
        ),
        metadata=column_schema(LISTINGS_SCHEMA, LISTINGS_MEANINGS),
        check_specs=check_specs(key, DATASET, RULES),
    )
    def listings(
        context: dg.AssetExecutionContext, config: PublishConfig, listings: ListingsClient, lake: LakeResource
    ) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
        config.announce(context.log)
        stored = newest_snapshot(lake, market.mic)
        last_file = stored["source_url"][0] if stored.height else None
        with fetching(lake, DATASET, f"{market.name} listings", where={"market": market.mic}):
            frame, rejected = split_valid_symbols(listings.listings(market.mic, last_file))
        if rejected:
            context.log.warning(f"{len(rejected)} codes outside the symbol pattern were skipped: {rejected[:20]}")
        snapshot: dt.date = frame["snapshot_date"][0]
        ledger = Ledger(DATASET, RULES)
        where = {"market": market.mic, "snapshot_date": snapshot}
        label = f"{market.mic} {snapshot.isoformat()}"
        problems = shrunk(stored, frame) if not config.allow_shrink else []
        if not problems:
            problems = publish(lake, DATASET, frame, where, label, ledger, config.allow_shrink)
        yield from finish(
            ledger,
            problems,
            {
                "dagster/row_count": frame.height,
                "snapshot_date": snapshot.isoformat(),
                "source_file": frame["source_url"][0],
                "new_symbols": len(set(frame["symbol"]) - set(stored["symbol"])),
                "rejected_symbols": dg.MetadataValue.json(rejected[:100]),
            },
        )

    return listings


LISTINGS = [market_listings(market) for market in markets.configured(settings.value("TICKERLAKE_MARKETS"))]


def latest_market_symbols(lake: LakeResource) -> dict[str, list[str]]:
    """Each configured market's newest snapshot date (as `MIC:YYYY-MM-DD`) and its symbols."""
    found = {}
    for market in markets.configured(settings.value("TICKERLAKE_MARKETS")):
        snapshot = newest_snapshot(lake, market.mic)
        if snapshot.height:
            found[f"{market.mic}:{snapshot['snapshot_date'][0].isoformat()}"] = sorted(snapshot["symbol"])
    return found


SOURCE = Source(
    client=ListingsClient,
    assets=LISTINGS,
    datasets=[DATASET],
    freshness=updated_within([asset.key for asset in LISTINGS], dt.timedelta(days=4)),
)
