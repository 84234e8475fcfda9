"""CoinGecko: the top coins by market cap, one snapshot a UTC day (the rank history), and the metadata
of the coins in it (categories, genesis date, links, GitHub and community figures).

The snapshot is what picks coins, where Binance's own 24h volume picks pairs: raw/crypto_universe
adds the Binance pairs of every coin in the newest snapshot (assets/binance.py, coin_pairs), so a coin
entering the top N gets its pairs' history through the new-pair sensor like any pair, and a coin
that leaves keeps what was stored (pairs are never removed).

Metadata changes slowly and keyless CoinGecko allows a few calls a minute (100 coins: 20 minutes at
5 a minute), so a run fetches only the coins of the snapshot whose stored metadata is missing or
older than TICKERLAKE_COINGECKO_METADATA_DAYS; each coin is replaced on its own, the version it
replaces kept in history.coingecko_coins (developer and community figures over time).
"""

import datetime as dt
from collections.abc import Iterator, Mapping

import dagster as dg
import polars as pl

from assets.checks import Ledger, PublishConfig, Rule, check_specs, fetch_failures, fetching, finish, markdown, publish
from assets.freshness import updated_within
from assets.partitions import crypto_days
from assets.schema import column_schema
from assets.sources import Source
from resources import settings
from resources.coingecko import (
    COINS_MEANINGS,
    COINS_SCHEMA,
    MARKETS_MEANINGS,
    MARKETS_SCHEMA,
    CoinGeckoClient,
    ambiguous_symbols,
)
from resources.http import SourceError
from resources.lake import Dataset, LakeResource

MARKETS_DATASET = Dataset(
    "coingecko_markets", MARKETS_SCHEMA, order=("snapshot_date", "position"), key=("snapshot_date", "coin_id")
)
COINS_DATASET = Dataset("coingecko_coins", COINS_SCHEMA, order=("coin_id",), key=("coin_id",), keeps_history=True)
MARKETS_KEY = dg.AssetKey(["raw", MARKETS_DATASET.name])
COINS_KEY = dg.AssetKey(["raw", COINS_DATASET.name])
STALE_AFTER = dt.timedelta(days=2)  # the daily snapshot, with a day's slack
MARKETS_RULES = (
    Rule("position_from_one", "Positions are 1..N without gaps.", pl.col("position") == pl.int_range(1, pl.len() + 1)),
    Rule(
        "figures_not_negative",
        "Rank, price, market cap and volume, where given, are finite and not negative.",
        pl.all_horizontal(
            pl.col(c).is_null() | (pl.col(c).is_finite() & (pl.col(c) >= 0))
            for c in ("price_usd", "market_cap_usd", "total_volume_usd")
        )
        & (pl.col("market_cap_rank").is_null() | (pl.col("market_cap_rank") >= 1)),
    ),
)
COINS_RULES = (
    Rule(
        "counts_not_negative",
        "GitHub and community counts, where given, are not negative.",
        pl.all_horizontal(
            pl.col(c).is_null() | (pl.col(c) >= 0) for c, dtype in COINS_SCHEMA.items() if dtype == pl.Int64()
        ),
    ),
)


def snapshot_day() -> dt.date:
    """Today in UTC, or the pinned last crypto day of a sample recorded once (as the Binance universe's)."""
    return min(dt.datetime.now(dt.UTC).date(), dt.date.fromisoformat(crypto_days.get_last_partition_key()))


def metadata_days() -> int:
    return int(settings.value("TICKERLAKE_COINGECKO_METADATA_DAYS"))


def coin_quote_assets() -> list[str]:
    """The quote assets whose Binance pairs of a top coin join the pair universe (USDT, or USDT,BTC)."""
    return [
        quote.strip().upper()
        for quote in settings.value("TICKERLAKE_COINGECKO_QUOTE_ASSETS").split(",")
        if quote.strip()
    ]


def coin_pairs(lake: LakeResource, ranked: Mapping[str, pl.DataFrame]) -> tuple[pl.DataFrame, dict[str, list[str]]]:
    """The Binance pairs (of `ranked`: each quote asset's traded pairs, ranked by volume) whose base asset is
    the upper-cased symbol of a coin in the newest snapshot, and the symbols refused because several of its
    coins share them (which coin a pair trades cannot be told from a symbol)."""
    newest = lake.newest(MARKETS_DATASET, "snapshot_date")
    if newest is None:
        return pl.concat(ranked.values()).clear(), {}
    coins = lake.read(MARKETS_DATASET, where={"snapshot_date": newest})
    refused = ambiguous_symbols(coins)
    bases = pl.Series([s.upper() for s in coins["symbol"].to_list() if s.upper() not in refused], dtype=pl.String())
    mapped = [
        frame.filter(
            pl.col("pair").str.strip_suffix(quote).is_in(bases.implode()) & pl.col("pair").str.ends_with(quote)
        )
        for quote, frame in ranked.items()
        if quote in coin_quote_assets()
    ]
    return pl.concat([pl.concat(ranked.values()).clear(), *mapped]), refused


@dg.asset(
    key=MARKETS_KEY,
    group_name="crypto",
    kinds={"ducklake", "polars"},
    metadata=column_schema(MARKETS_SCHEMA, MARKETS_MEANINGS),
    check_specs=check_specs(MARKETS_KEY, MARKETS_DATASET, MARKETS_RULES),
    description=(
        "CoinGecko's top N coins by market cap (/coins/markets in USD), one snapshot a UTC day: the rank history. "
        "Its coins' Binance pairs join raw/crypto_universe."
    ),
)
def coingecko_markets(
    context: dg.AssetExecutionContext, config: PublishConfig, coingecko: CoinGeckoClient, lake: LakeResource
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    config.announce(context.log)
    day = snapshot_day()
    where = {"snapshot_date": day}
    with fetching(lake, MARKETS_DATASET, f"CoinGecko top {coingecko.top_n} of {day}", where):
        frame = coingecko.top_coins(day)
    ledger = Ledger(MARKETS_DATASET, MARKETS_RULES)
    problems = publish(lake, MARKETS_DATASET, frame, where, day.isoformat(), ledger, config.allow_shrink)
    shared = ambiguous_symbols(frame)
    for base, coin_ids in shared.items():
        context.log.warning(
            f"CoinGecko {day}: symbol {base} is shared by {', '.join(coin_ids)}: no Binance pair is mapped"
        )
    yield from finish(
        ledger,
        problems,
        {
            "dagster/row_count": frame.height,
            "snapshot_date": day.isoformat(),
            "top": dg.MetadataValue.md(markdown(frame.select("position", "market_cap_rank", "coin_id", "symbol"), 20)),
            "ambiguous_symbols": dg.MetadataValue.json(shared),
        },
    )


def coins_due(lake: LakeResource, today: dt.date, days: int) -> tuple[list[str], int]:
    """The newest snapshot's coins whose metadata is missing or `days` old or older, and how many are fresh."""
    newest = lake.newest(MARKETS_DATASET, "snapshot_date")
    if newest is None:
        return [], 0
    listed = lake.read(MARKETS_DATASET, where={"snapshot_date": newest})["coin_id"].to_list()
    stored = lake.read(COINS_DATASET, where={"coin_id": listed})
    fresh = set(stored.filter(pl.col("fetched_date") > today - dt.timedelta(days=days))["coin_id"].to_list())
    return [coin_id for coin_id in listed if coin_id not in fresh], len(fresh)


@dg.asset(
    key=COINS_KEY,
    group_name="crypto",
    kinds={"ducklake", "polars"},
    deps=[MARKETS_KEY],
    metadata=column_schema(COINS_SCHEMA, COINS_MEANINGS),
    check_specs=check_specs(COINS_KEY, COINS_DATASET, COINS_RULES),
    description=(
        "CoinGecko's metadata (/coins/{id}) of the coins in the newest top-N snapshot: categories, genesis date, "
        "links, GitHub and community figures; refreshed every TICKERLAKE_COINGECKO_METADATA_DAYS days per coin."
    ),
)
def coingecko_coins(
    context: dg.AssetExecutionContext, config: PublishConfig, coingecko: CoinGeckoClient, lake: LakeResource
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    config.announce(context.log)
    today = snapshot_day()
    due, fresh = coins_due(lake, today, metadata_days())
    context.log.info(
        f"CoinGecko metadata: {len(due)} coins to fetch at {coingecko.requests_per_minute:g} calls a minute "
        f"(about {len(due) / coingecko.requests_per_minute:.0f} min), {fresh} fresh"
    )
    ledger, problems, unfetched = Ledger(COINS_DATASET, COINS_RULES), [], {}
    for coin_id, fetched in coingecko.coins(due, today):
        if isinstance(fetched, SourceError):
            context.log.error(str(fetched))
            unfetched[coin_id] = str(fetched)
            continue
        problems += publish(lake, COINS_DATASET, fetched, {"coin_id": coin_id}, coin_id, ledger, config.allow_shrink)
    failures = fetch_failures(lake, COINS_DATASET, "coin_id", unfetched, lambda coin_id: f"CoinGecko {coin_id}")
    yield from finish(
        ledger,
        [*failures, *problems],
        {"dagster/row_count": len(due) - len(failures) - len(problems), "fetched": len(due), "fresh": fresh},
        headline=f"{len(failures) + len(problems)} of {len(due)} coins not stored",
    )


SOURCE = Source(
    client=CoinGeckoClient,
    assets=[coingecko_markets, coingecko_coins],
    datasets=[MARKETS_DATASET, COINS_DATASET],
    freshness=updated_within([MARKETS_KEY], STALE_AFTER),
)
