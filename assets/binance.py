"""Binance spot: the daily pair universe and 1-minute klines, whose partitions grow with pairs plus days.

Two assets write the klines table: `raw/crypto_klines_history`, one partition per pair (the pair's
whole history, launched by the new-pair sensor), and `raw/crypto_klines_1m`, one partition per UTC
day for every known pair (the top-up every few minutes, or a re-fetch of some days). History comes
from the archive host: a monthly zip where the days cover a whole month, daily zips otherwise, each
checksum-verified. The last `TAIL_DAYS` days (whose daily zips are not published yet) and any day an
archive lacks come from the REST API, starting after the last minute already stored, so a top-up
every few minutes asks only for the new minutes. Only closed klines are stored. That plan is the
client's (resources/binance.py, BinanceSession.fetch_pair), as FINRA's is.

In the lake, a pair's fetches are stored a month at a time: one transaction replaces exactly the
minutes the run fetched in that month, so re-runs and overlapping runs never leave a minute twice,
and rolls the month up again into 1h and 1d bars (crypto_bars_1h, crypto_bars_1d), so the
indicators read hours and days without re-reading every minute of history.
"""

import datetime as dt
import functools
import itertools
from collections import Counter
from collections.abc import Iterator

import dagster as dg
import polars as pl

from assets.checks import Ledger, PublishConfig, Rule, check_specs, fetch_failures, finish
from assets.coingecko import MARKETS_KEY as COINGECKO_MARKETS_KEY
from assets.coingecko import coin_pairs, coin_quote_assets
from assets.freshness import DailyVolume, updated_within, volume_band_check
from assets.partitions import crypto_days
from assets.partitions import pairs as pairs_partitions
from assets.schema import column_schema
from assets.sources import Source
from resources.binance import (
    DAY,
    KLINES_MEANINGS,
    KLINES_SCHEMA,
    TAIL_DAYS,
    UNIVERSE_MEANINGS,
    UNIVERSE_SCHEMA,
    BinanceClient,
    Fetched,
    midnight,
    next_month,
    validate_pair,
)
from resources.completeness import Completeness
from resources.http import SourceError
from resources.lake import Between, Dataset, LakeResource, Transaction

KLINES_DATASET = Dataset(
    "crypto_klines_1m",
    KLINES_SCHEMA,
    order=("pair", "open_time"),
    key=("pair", "open_time"),
    completeness=Completeness(per="pair", keys=("open_time",)),  # no stored minute of a window disappears
)
KLINE_PRICES = ("open", "high", "low", "close")
KLINE_RULES = (
    Rule(
        "on_the_minute_grid",
        "open_time is a whole UTC minute and close_time 59.999 s after it.",
        (pl.col("open_time").dt.truncate("1m") == pl.col("open_time"))
        & (pl.col("close_time") == pl.col("open_time") + pl.duration(milliseconds=59_999)),
    ),
    Rule(
        "prices_positive",
        "Open, high, low and close are finite and above zero; low <= high.",
        pl.all_horizontal(pl.col(c).is_finite() & (pl.col(c) > 0) for c in KLINE_PRICES)
        & (pl.col("low") <= pl.col("high")),
    ),
    Rule(
        "volumes_non_negative",
        "Volumes are finite and >= 0, trades >= 0.",
        pl.all_horizontal(pl.col(c).is_finite() & (pl.col(c) >= 0) for c in ("volume", "quote_volume"))
        & (pl.col("trades") >= 0),
    ),
)
UNIVERSE_DATASET = Dataset("crypto_universe", UNIVERSE_SCHEMA, order=("snapshot_date", "rank"))
KLINES_KEY = dg.AssetKey(["raw", KLINES_DATASET.name])
HISTORY_KEY = dg.AssetKey(["raw", "crypto_klines_history"])
UNIVERSE_KEY = dg.AssetKey(["raw", UNIVERSE_DATASET.name])
# Today and yesterday: Binance publishes a day's zip the next day, so these come from the REST API.

BARS_SCHEMA: dict[str, pl.DataType] = {
    "pair": pl.String(),
    "open_time": KLINES_SCHEMA["open_time"],
    "open": pl.Float64(),
    "high": pl.Float64(),
    "low": pl.Float64(),
    "close": pl.Float64(),
    "volume": pl.Float64(),
    "quote_volume": pl.Float64(),
    "trades": pl.Int64(),
    "minutes": pl.UInt32(),
    # Null on bars rolled up before it was kept, until their month is fetched again.
    "taker_buy_base_volume": pl.Float64(),
}
ROLLUPS = {every: Dataset(f"crypto_bars_{every}", BARS_SCHEMA, order=("pair", "open_time")) for every in ("1h", "1d")}


def utc_now() -> dt.datetime:
    """The clock the tail is fetched up to (one place, so tests can set it)."""
    return dt.datetime.now(dt.UTC)


def month_window(pair: str, day: dt.date) -> dict[str, object]:
    """The rows of the pair's month that holds `day`."""
    first = day.replace(day=1)
    return {"pair": validate_pair(pair), "open_time": Between(midnight(first), midnight(next_month(first)))}


def rollup(klines: pl.DataFrame, every: str) -> pl.DataFrame:
    """1m klines as `every` bars (left-labelled, UTC); `minutes` tells a complete bar from a partial one."""
    if klines.is_empty():
        return pl.DataFrame(schema=BARS_SCHEMA)
    return (
        klines.sort("open_time")
        .group_by_dynamic("open_time", every=every, group_by="pair", closed="left", label="left")
        .agg(
            pl.col("open").first(),
            pl.col("high").max(),
            pl.col("low").min(),
            pl.col("close").last(),
            pl.col("volume").sum(),
            pl.col("quote_volume").sum(),
            pl.col("trades").sum(),
            pl.col("taker_buy_base_volume").sum(),
            pl.len().alias("minutes"),
        )
        .select(list(BARS_SCHEMA))
    )


def _last_stored_minute(lake: LakeResource, pair: str, day: dt.date) -> dt.datetime | None:
    return lake.newest(
        KLINES_DATASET, "open_time", {"pair": pair, "open_time": Between(midnight(day), midnight(day + DAY))}
    )


def store_month(
    lake: LakeResource, pair: str, items: list[Fetched], ledger: Ledger, allow_shrink: bool = False
) -> list[str]:
    """Check the fetched windows (all in one month), then replace them and the month's rollups in one
    transaction, or quarantine them. A minute a source sent twice keeps its last answer (an archive's
    later line, the API's later page). Returns why the month was not published, if it was not."""
    frame = (
        pl.concat(
            [item.frame.filter(pl.col("open_time").is_between(item.start, item.end, closed="left")) for item in items]
        )
        .unique("open_time", keep="last", maintain_order=True)
        .sort("open_time")
    )
    label = f"{pair} {items[0].start:%Y-%m}"
    failed = ledger.inspect(label, frame)
    if failed:
        lake.quarantine(KLINES_DATASET, frame, label, ", ".join(failed))
        return [f"{label}: quarantined, failed {', '.join(failed)}; the stored month is unchanged"]
    windows = [{"pair": pair, "open_time": Between(item.start, item.end)} for item in items]
    month = month_window(pair, items[0].start.date())

    def write(tx: Transaction) -> list[str]:
        refused = tx.replace(KLINES_DATASET, frame, where=windows, allow_shrink=allow_shrink).refused
        month_klines = tx.read(KLINES_DATASET, where=month)
        for every, dataset in ROLLUPS.items():
            tx.replace(dataset, rollup(month_klines, every), where=month)
        return refused

    return lake.transaction(write, f"{KLINES_DATASET.name} pair={pair} month={items[0].start:%Y-%m}")


@dg.asset(
    key=UNIVERSE_KEY,
    group_name="crypto",
    kinds={"ducklake", "polars"},
    deps=[COINGECKO_MARKETS_KEY],
    description=(
        "The top pairs of one quote asset by 24h quote volume on Binance (leveraged tokens and stablecoin "
        "pairs left out), and the Binance pairs of CoinGecko's top coins by market cap, one snapshot per UTC "
        "day; pairs entering it become crypto_pairs partitions."
    ),
    metadata=column_schema(UNIVERSE_SCHEMA, UNIVERSE_MEANINGS),
)
def crypto_universe(
    context: dg.AssetExecutionContext, binance: BinanceClient, lake: LakeResource
) -> dg.MaterializeResult:
    """Today's pairs, dated today, or the pinned last crypto day of a sample recorded once (the demo's
    world ends on 2025-01-08: its universe is of that day, not of the day the demo runs)."""
    today = min(utc_now().date(), last_crypto_day())
    quotes = list(dict.fromkeys([binance.quote_asset, *coin_quote_assets()]))
    with binance.open() as session:
        ranked = session.ranked_pairs(quotes, today)
    by_volume = ranked[binance.quote_asset].head(binance.top_n)
    of_coins, refused = coin_pairs(lake, ranked)
    for base, coin_ids in refused.items():
        context.log.warning(f"{base}: CoinGecko's top coins {', '.join(coin_ids)} share the symbol; no pair is added")
    frame = pl.concat([by_volume, of_coins]).unique("pair", keep="first", maintain_order=True)
    lake.replace(UNIVERSE_DATASET, frame, where={"snapshot_date": today})
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": frame.height,
            "snapshot_date": today.isoformat(),
            "top_pairs": dg.MetadataValue.json(frame["pair"].head(20).to_list()),
            "coin_pairs_beyond_top_volume": dg.MetadataValue.json(
                of_coins.filter(~pl.col("pair").is_in(by_volume["pair"].implode()))["pair"].to_list()
            ),
            "refused_symbols": dg.MetadataValue.json(refused),
        }
    )


def latest_universe(lake: LakeResource) -> tuple[str, list[str]]:
    """The newest universe snapshot's date and its pairs, by rank, read from the lake."""
    snapshot = lake.newest(UNIVERSE_DATASET, "snapshot_date")
    if snapshot is None:
        return "", []
    return snapshot.isoformat(), lake.read(UNIVERSE_DATASET, where={"snapshot_date": snapshot})["pair"].to_list()


def fetch_and_store(
    context: dg.AssetExecutionContext,
    binance: BinanceClient,
    lake: LakeResource,
    config: PublishConfig,
    pairs: list[str],
    days: list[dt.date],
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    """The days of every pair, checked and stored a pair-month at a time; fails naming the pairs and months
    not stored, after storing the rest (a month not stored is unchanged)."""
    config.announce(context.log)
    now = utc_now()
    problems, rows, sources, ledger = [], 0, Counter(), Ledger(KLINES_DATASET, KLINE_RULES)
    failed_pairs, unfetched = set(), {}
    with binance.open() as session:
        for pair in pairs:
            try:
                fetched = session.fetch_pair(pair, days, now, functools.partial(_last_stored_minute, lake, pair))
                for _, items in itertools.groupby(fetched, key=lambda item: f"{item.start:%Y-%m}"):
                    items = list(items)
                    refused = store_month(lake, pair, items, ledger, config.allow_shrink)
                    problems += refused
                    failed_pairs.update([pair] if refused else [])
                    rows += sum(item.frame.height for item in items)
                    sources.update(item.source for item in items)
            except SourceError as exc:
                context.log.error(str(exc))
                failed_pairs.add(pair)
                unfetched[pair] = f"{exc}; months stored before it are complete"
    window = Between(
        dt.datetime.combine(days[0], dt.time(), dt.UTC),
        dt.datetime.combine(days[-1], dt.time(), dt.UTC) + dt.timedelta(days=1),
    )
    failures = fetch_failures(
        lake,
        KLINES_DATASET,
        "pair",
        unfetched,
        lambda pair: f"Binance {pair} {days[0]}..{days[-1]}",
        {"open_time": window},
    )
    yield from finish(
        ledger,
        [*failures, *problems],
        {
            "dagster/row_count": rows,
            "pairs": len(pairs),
            "first_day": days[0].isoformat(),
            "last_day": days[-1].isoformat(),
            "fetches": dg.MetadataValue.json(dict(sources)),
        },
        headline=f"{len(failed_pairs)} of {len(pairs)} pairs failed ({', '.join(sorted(failed_pairs)[:20])})",
    )


def last_crypto_day() -> dt.date:
    """The newest crypto partition: today in UTC, or the pinned TICKERLAKE_CRYPTO_END_DATE."""
    return dt.date.fromisoformat(crypto_days.get_last_partition_key())


def history_days() -> list[dt.date]:
    """A pair's history: the first crypto partition up to the first of the top-up's tail days."""
    first = dt.date.fromisoformat(crypto_days.get_first_partition_key())
    last = last_crypto_day() - dt.timedelta(days=TAIL_DAYS - 1)
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


@dg.asset(
    key=HISTORY_KEY,
    partitions_def=pairs_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name="crypto",
    kinds={"ducklake", "polars"},
    description=(
        "A pair's 1-minute klines from its listing to the day before the top-up's tail, from checksum-verified "
        "monthly and daily archives; one partition per pair, written to raw.crypto_klines_1m."
    ),
    metadata=column_schema(KLINES_SCHEMA, KLINES_MEANINGS),
    check_specs=check_specs(HISTORY_KEY, KLINES_DATASET, KLINE_RULES),
)
def crypto_klines_history(
    context: dg.AssetExecutionContext, config: PublishConfig, binance: BinanceClient, lake: LakeResource
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    names = [validate_pair(pair) for pair in context.partition_keys]
    yield from fetch_and_store(context, binance, lake, config, names, history_days())


@dg.asset(
    key=KLINES_KEY,
    partitions_def=crypto_days,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name="crypto",
    kinds={"ducklake", "polars"},
    description=(
        "Binance spot 1-minute klines (UTC) of every known pair, one partition per UTC day: the REST API for the "
        "last two days (the top-up), archives before; unique per (pair, open_time). Rolled up into crypto_bars_1h "
        "and crypto_bars_1d."
    ),
    metadata=column_schema(KLINES_SCHEMA, KLINES_MEANINGS),
    check_specs=check_specs(KLINES_KEY, KLINES_DATASET, KLINE_RULES),
)
def crypto_klines_1m(
    context: dg.AssetExecutionContext, config: PublishConfig, binance: BinanceClient, lake: LakeResource
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    days = sorted(dt.date.fromisoformat(key) for key in context.partition_keys)
    names = [validate_pair(pair) for pair in context.instance.get_dynamic_partitions(pairs_partitions.name)]
    yield from fetch_and_store(context, binance, lake, config, names, days)


SOURCE = Source(
    client=BinanceClient,
    assets=[crypto_universe, crypto_klines_history, crypto_klines_1m],
    datasets=[UNIVERSE_DATASET, KLINES_DATASET, *ROLLUPS.values()],
    freshness=[
        *updated_within([KLINES_KEY], dt.timedelta(hours=2)),
        *updated_within([UNIVERSE_KEY, HISTORY_KEY], dt.timedelta(days=2)),
    ],
    checks=[
        volume_band_check(DailyVolume(KLINES_KEY, KLINES_DATASET, "open_time", "quote_volume", today_is_partial=True)),
    ],
)
