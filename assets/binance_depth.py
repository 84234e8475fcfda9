"""Binance order-book snapshots: the top pairs' books every minute, stored per UTC day with their levels.

One run snapshots the books of the universe's first TICKERLAKE_ORDER_BOOK_PAIRS pairs (the newest
raw/crypto_universe snapshot, by rank) for one minute, and writes them into that minute's UTC day
partition of raw/crypto_order_book. The minute is the schedule tick the run was launched for (the run's
scheduled-execution-time tag), else the time of the run truncated to the minute; the answer's arrival is
kept as received_at. Binance serves only the book of now, so a partition other than the minute's own day
is refused rather than filled with today's book.

Re-running a minute replaces that minute's rows of the pairs it fetched, and nothing else: the day's other
minutes, and the minute's rows of a pair whose fetch failed, stay as they were.

Small files: a minute's write is a few rows (one per pair), which DuckLake inlines into the catalog
rather than writing a Parquet file each (up to its inlining limit of 10 rows a write; more pairs write a
small file a minute). The run of each hour's last minute flushes the table's inlined rows to Parquet and
merges the table's small adjacent files, so a day leaves ~24 files, not 1,440, before the weekly
lake_maintenance merges them further.
"""

import datetime as dt
from collections.abc import Iterator, Mapping

import dagster as dg
import polars as pl

from assets.binance import latest_universe, utc_now
from assets.checks import Ledger, PublishConfig, Rule, check_specs, fetch_failures, finish
from assets.freshness import updated_within
from assets.partitions import crypto_days
from assets.schema import column_schema
from assets.sources import Source
from resources.binance_depth import (
    ORDER_BOOK_MEANINGS,
    ORDER_BOOK_SCHEMA,
    BinanceDepthClient,
    Book,
    snapshot_rows,
)
from resources.http import SourceBanned, SourceError
from resources.lake import CATALOG_ALIAS, Between, Dataset, LakeResource, Transaction

ORDER_BOOK_DATASET = Dataset(
    "crypto_order_book", ORDER_BOOK_SCHEMA, order=("pair", "snapshot_time"), key=("pair", "snapshot_time")
)
ORDER_BOOK_KEY = dg.AssetKey(["raw", ORDER_BOOK_DATASET.name])
MINUTE = dt.timedelta(minutes=1)
# The tag a schedule's run carries (Dagster 1.13 writes it hidden, with a leading dot); the unhidden
# spelling is accepted too, for runs launched by hand for a given minute.
SCHEDULED_TAGS = (".dagster/scheduled_execution_time", "dagster/scheduled_execution_time")
SIDES = ("bid", "ask")

ORDER_BOOK_RULES = (
    Rule(
        "on_the_minute",
        "snapshot_time is a whole UTC minute.",
        pl.col("snapshot_time").dt.truncate("1m") == pl.col("snapshot_time"),
    ),
    Rule(
        "book_not_crossed",
        "best_bid < best_ask, both the first stored level of their side; spread_bps > 0.",
        (pl.col("best_bid") < pl.col("best_ask"))
        & (pl.col("best_bid") == pl.col("bid_prices").list.first())
        & (pl.col("best_ask") == pl.col("ask_prices").list.first())
        & (pl.col("spread_bps") > 0),
    ),
    Rule(
        "levels_aligned",
        "Each side has as many quantities as prices, at least one level and at most 100.",
        pl.all_horizontal(
            (pl.col(f"{s}_prices").list.len() == pl.col(f"{s}_quantities").list.len())
            & pl.col(f"{s}_prices").list.len().is_between(1, 100)
            for s in SIDES
        ),
    ),
    Rule(
        "features_finite",
        "Every feature is finite; imbalances lie in [-1, 1].",
        pl.all_horizontal(pl.col(c).is_finite() for c, t in ORDER_BOOK_SCHEMA.items() if t == pl.Float64())
        & pl.all_horizontal(pl.col(c).is_between(-1, 1) for c in ORDER_BOOK_SCHEMA if c.startswith("imbalance_")),
    ),
)


def snapshot_minute(tags: Mapping[str, str], now: dt.datetime) -> dt.datetime:
    """The minute a run snapshots: its schedule tick, else `now`; both truncated to the minute, in UTC."""
    tagged = next((tags[t] for t in SCHEDULED_TAGS if tags.get(t)), None)
    moment = dt.datetime.fromisoformat(tagged) if tagged else now
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).replace(second=0, microsecond=0)


def compact(tx: Transaction, dataset: Dataset) -> None:
    """The table's inlined rows out to Parquet, then its small adjacent files merged (one commit)."""
    tx.ensure(dataset)
    tx.con.execute(
        f"CALL ducklake_flush_inlined_data('{CATALOG_ALIAS}', schema_name => ?, table_name => ?)",
        [dataset.schema_name, dataset.name],
    )
    tx.con.execute(
        f"CALL ducklake_merge_adjacent_files('{CATALOG_ALIAS}', ?, schema => ?)", [dataset.name, dataset.schema_name]
    )


def snapshot_books(
    binance_depth: BinanceDepthClient, pairs: list[str], minute: dt.datetime, log: dg.DagsterLogManager
) -> tuple[list[tuple[str, dt.datetime, dt.datetime, Book]], dict[str, str]]:
    """Each pair's book, and why each pair without one has none. A ban (HTTP 418) stops the requests at
    once: every further one would lengthen it, so the pairs not asked yet fail with the ban's message."""
    books, unfetched = [], {}
    with binance_depth.open() as session:
        for number, pair in enumerate(pairs):
            try:
                book, received = session.depth(pair, minute)
                books.append((pair, minute, received, book))
            except SourceBanned as exc:
                log.error(str(exc))
                unfetched.update(dict.fromkeys(pairs[number:], f"not asked after the ban: {exc}"))
                unfetched[pair] = str(exc)
                break
            except SourceError as exc:
                log.error(str(exc))
                unfetched[pair] = str(exc)
    return books, unfetched


@dg.asset(
    key=ORDER_BOOK_KEY,
    partitions_def=crypto_days,
    group_name="crypto",
    kinds={"ducklake", "polars"},
    description=(
        "Binance spot order books (/api/v3/depth, 100 levels a side) of the universe's top pairs, one snapshot "
        "per pair and minute, with spread, mid, imbalance and depth features; one partition per UTC day, each "
        "run adding (or replacing) one minute of it."
    ),
    metadata=column_schema(ORDER_BOOK_SCHEMA, ORDER_BOOK_MEANINGS),
    check_specs=check_specs(ORDER_BOOK_KEY, ORDER_BOOK_DATASET, ORDER_BOOK_RULES),
)
def crypto_order_book(
    context: dg.AssetExecutionContext, config: PublishConfig, binance_depth: BinanceDepthClient, lake: LakeResource
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    minute = snapshot_minute(context.run.tags, utc_now())
    if context.partition_key != minute.date().isoformat():
        raise dg.Failure(
            f"crypto_order_book: Binance serves only the current book; the run for {minute:%Y-%m-%d %H:%M} UTC "
            f"cannot fill partition {context.partition_key}"
        )
    snapshot, ranked = latest_universe(lake)
    pairs = ranked[: binance_depth.order_book_pairs]
    if not pairs:
        raise dg.Failure("crypto_order_book: no raw/crypto_universe snapshot in the lake yet: no pairs to snapshot")
    books, unfetched = snapshot_books(binance_depth, pairs, minute, context.log)
    frame = snapshot_rows(books)
    ledger = Ledger(ORDER_BOOK_DATASET, ORDER_BOOK_RULES)
    label = f"{minute:%Y-%m-%d %H:%M}"
    problems: list[str] = []
    good, failing = ledger.split(frame, "pair")
    for pair, names in failing.items():
        reasons = ", ".join(names)
        lake.quarantine(ORDER_BOOK_DATASET, frame.filter(pl.col("pair") == pair), f"{pair} {label}", reasons)
        problems.append(f"{ORDER_BOOK_DATASET.name} {pair} {label}: quarantined, failed {reasons}")
    if good.height:
        window = Between(minute, minute + MINUTE)
        lake.replace(ORDER_BOOK_DATASET, good, where=[{"pair": p, "snapshot_time": window} for p in good["pair"]])
    if minute.minute == 59:
        lake.transaction(lambda tx: compact(tx, ORDER_BOOK_DATASET), f"{ORDER_BOOK_DATASET.name} compaction")
    failures = fetch_failures(
        lake,
        ORDER_BOOK_DATASET,
        "pair",
        unfetched,
        lambda pair: f"Binance depth {pair} {label}",
        {"snapshot_time": Between(minute, minute + MINUTE)},
    )
    yield from finish(
        ledger,
        [*failures, *problems],
        {
            "dagster/row_count": frame.height,
            "snapshot_time": label,
            "universe_snapshot": snapshot,
            "pairs": dg.MetadataValue.json(pairs),
            # Seconds from the tick to the last answer: a run started late stores a later book under its tick.
            "received_after_seconds": round((frame["received_at"].max() - minute).total_seconds(), 1)
            if books
            else None,
            "spread_bps": dg.MetadataValue.json(dict(zip(frame["pair"], frame["spread_bps"].round(3), strict=True))),
        },
        headline=f"{len(unfetched)} of {len(pairs)} pairs failed ({', '.join(sorted(unfetched)[:20])})",
    )


SOURCE = Source(
    client=BinanceDepthClient,
    assets=[crypto_order_book],
    datasets=[ORDER_BOOK_DATASET],
    freshness=updated_within([ORDER_BOOK_KEY], dt.timedelta(minutes=15)),
)
