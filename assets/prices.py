"""Daily OHLCV in one lake table, written by two assets whose partitions grow with symbols plus days.

- `raw/prices_history`, one partition per symbol: the symbol's whole history in one request and one
  materialization. The new-symbol sensor launches it for batches of new symbols; re-running one
  symbol re-fetches its history (after a provider's correction).
- `raw/prices_daily`, one partition per trading day: every known symbol's bar of the day, from a
  bulk provider in one request or from a per-symbol one in one request per symbol (a ranged run asks
  each symbol once for the whole range).

Both replace exactly what they fetched, the symbols of a batch over their range, in one transaction
per batch of COMMIT_SYMBOLS, so the latest write of a (symbol, day) wins and a symbol whose fetch
failed keeps what was stored. A row that a re-fetch left unchanged keeps its `_loaded_at`
(resources.lake.stamp_rows), so dbt sees only the rows whose values changed.

Symbols of other markets (`VOD.L`, `7203.T`: resources/markets.py) are fetched through the same
providers (Yahoo's suffixes) and keep the bars of their own market's sessions. Their day-by-day update
still rides on the XNYS-partitioned `raw/prices_daily`, which stores them on the US trading days that
are also theirs; a day their market trades and New York does not reaches the lake when their history
is fetched again (per-market daily partitions are issue 25's next step).
"""

import datetime as dt
import functools
import time
from collections.abc import Callable, Iterable, Iterator

import dagster as dg
import polars as pl

from assets.checks import FetchFailure, Ledger, PublishConfig, Rule, check_specs, fetch_failures, fetching, finish
from assets.freshness import DailyVolume, published_by_evening, volume_band_check
from assets.partitions import (
    last_closed_session,
    market_days_partitions,
    partition_days,
    sessions,
    symbols,
    trading_days,
)
from assets.schema import column_schema
from assets.sources import DAILY_TAG, Source
from resources import markets, settings
from resources.completeness import Completeness
from resources.lake import Between, Dataset, LakeResource
from resources.prices import PRICES_MEANINGS, PRICES_SCHEMA, Fetched, PricesResource
from resources.symbols import validate_symbol

DATASET = Dataset(
    "prices_daily",
    PRICES_SCHEMA,
    order=("symbol", "trade_date", "provider"),
    key=("symbol", "trade_date"),
    # No stored bar of the replaced range may disappear: a provider that lost days does not erase them.
    completeness=Completeness(per="symbol", keys=("trade_date",)),
)
PRICES = ("open", "high", "low", "close")
RULES = (
    Rule(
        "prices_positive",
        "Open, high, low and close are finite and above zero; low <= high.",
        pl.all_horizontal(pl.col(c).is_finite() & (pl.col(c) > 0) for c in PRICES) & (pl.col("low") <= pl.col("high")),
    ),
    Rule(
        "volume_non_negative", "Volume is a finite number >= 0.", pl.col("volume").is_finite() & (pl.col("volume") >= 0)
    ),
    Rule(
        "split_ratio_positive",
        "A split ratio is finite and above zero (1 on a day without a split).",
        pl.col("split_ratio").is_finite() & (pl.col("split_ratio") > 0),
    ),
    Rule(
        "dividend_below_previous_close",
        "A cash dividend is finite, >= 0 and below the previous close.",
        pl.col("dividend").is_finite()
        & (pl.col("dividend") >= 0)
        & (pl.col("dividend") < pl.col("close").shift(1).over("symbol", order_by="trade_date")).fill_null(True),
    ),
)
HISTORY_KEY = dg.AssetKey(["raw", "prices_history"])
DAILY_KEY = dg.AssetKey(["raw", "prices_daily"])
COMMIT_SYMBOLS = 500
PROGRESS_SECONDS = 10.0


def store_bars(
    lake: LakeResource,
    bars: dict[str, pl.DataFrame],
    first: dt.date,
    last: dt.date,
    ledger: Ledger,
    allow_shrink: bool = False,
) -> list[str]:
    """Check these symbols' bars, quarantine the symbols that fail, and replace days first..last of the
    others in one transaction. Returns what was not published and why."""
    if not bars:
        return []
    good, failing = ledger.split(pl.concat(list(bars.values())), by="symbol")
    problems = []
    for symbol, failed in failing.items():
        lake.quarantine(DATASET, bars[symbol], f"{symbol} {first}..{last}", ", ".join(failed))
        problems.append(
            f"{symbol} {first}..{last}: quarantined, failed {', '.join(failed)}; its stored bars are unchanged"
        )
    published = [validate_symbol(s) for s in bars if s not in failing]
    where = {"symbol": published, "trade_date": Between(first, last + dt.timedelta(days=1))}
    return problems + lake.replace(DATASET, good, where=where, keep_stamps=True, allow_shrink=allow_shrink).refused


def history_start() -> dt.date:
    """Where a symbol's history starts: the first trading-day partition, or TICKERLAKE_PRICES_START if later."""
    first = dt.date.fromisoformat(trading_days.get_first_partition_key())
    configured = settings.value("TICKERLAKE_PRICES_START")
    return max(first, dt.date.fromisoformat(configured)) if configured else first


class Progress:
    """Symbols and rows stored so far, logged every PROGRESS_SECONDS: a person can watch a long run."""

    def __init__(self, log: dg.DagsterLogManager, total: int) -> None:
        self.log, self.total = log, total
        self.symbols = self.rows = self.failed = 0
        self.started = self.logged = time.monotonic()

    def add(self, fetched: Fetched) -> None:
        self.symbols += 1
        self.failed += fetched.error is not None
        self.rows += 0 if fetched.frame is None else fetched.frame.height
        if time.monotonic() - self.logged >= PROGRESS_SECONDS:
            self.report()

    def report(self) -> None:
        self.logged = time.monotonic()
        rate = self.symbols / max(self.logged - self.started, 1e-9)
        left = (self.total - self.symbols) / rate if rate else float("nan")
        self.log.info(
            f"prices: {self.symbols:,} of {self.total:,} symbols ({self.failed} failed), "
            f"{self.rows:,} rows, {rate:,.0f} symbols/s, ~{left:,.0f} s left"
        )


def market_sessions(first: dt.date, last: dt.date) -> Callable[[str], pl.Expr]:
    """A symbol's trading days in [first, last] as a list literal, from its market's calendar (XNYS, the
    partitions' own, for US symbols): a bar the provider dates on another day is not a session's bar."""

    @functools.cache
    def of_market(mic: str) -> pl.Expr:
        days = sessions(first, last) if mic == markets.US.mic else markets.sessions(mic, first, last)
        return pl.Series(days, dtype=pl.Date()).implode()

    return lambda symbol: of_market(markets.market_of(symbol).mic)


def fetch_and_store(
    context: dg.AssetExecutionContext,
    prices: PricesResource,
    lake: LakeResource,
    config: PublishConfig,
    names: list[str],
    first: dt.date,
    last: dt.date,
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    """Every symbol's bars of first..last, checked and stored COMMIT_SYMBOLS at a time; fails naming the
    symbols that failed, after storing the rest."""
    config.announce(context.log)
    trading = market_sessions(first, last)
    progress, errors, pending, ledger = Progress(context.log, len(names)), [], {}, Ledger(DATASET, RULES)
    unfetched: dict[str, str] = {}
    for fetched in prices.fetch_symbols(names, first, last):
        progress.add(fetched)
        if fetched.error is not None:
            context.log.error(str(fetched.error))
            unfetched[fetched.symbol] = str(fetched.error)
            continue
        pending[fetched.symbol] = fetched.frame.filter(pl.col("trade_date").is_in(trading(fetched.symbol)))
        if len(pending) == COMMIT_SYMBOLS:
            errors += store_bars(lake, pending, first, last, ledger, config.allow_shrink)
            pending = {}
    errors += store_bars(lake, pending, first, last, ledger, config.allow_shrink)
    progress.report()
    failures = fetch_failures(
        lake,
        DATASET,
        "symbol",
        unfetched,
        lambda symbol: f"{prices.provider} {symbol} {first}..{last}",
        within={"trade_date": Between(first, last + dt.timedelta(days=1))},
    )
    yield from conclude(ledger, [*failures, *errors], len(names), progress.rows, first, last, prices.provider)


def conclude(
    ledger: Ledger,
    errors: list[str | FetchFailure],
    symbols_asked: int,
    rows: int,
    first: dt.date,
    last: dt.date,
    provider: str,
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    """The check results, then the materialization, or the failure naming every symbol not published."""
    yield from finish(
        ledger,
        errors,
        {
            "dagster/row_count": rows,
            "symbols": symbols_asked,
            "first_day": first.isoformat(),
            "last_day": last.isoformat(),
            "provider": provider,
        },
        headline=f"{len(errors)} of {symbols_asked} symbols failed",
    )


def _validated(names: Iterable[str]) -> list[str]:
    return [validate_symbol(name) for name in names]


@dg.asset(
    key=HISTORY_KEY,
    partitions_def=symbols,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name="prices",
    kinds={"ducklake", "polars"},
    check_specs=check_specs(HISTORY_KEY, DATASET, RULES),
    description=(
        "A symbol's whole daily history (raw OHLCV, dividends, split ratios), one partition per symbol; "
        "written to raw.prices_daily beside the daily asset's days."
    ),
    metadata=column_schema(PRICES_SCHEMA, PRICES_MEANINGS),
)
def prices_history(
    context: dg.AssetExecutionContext, config: PublishConfig, prices: PricesResource, lake: LakeResource
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    names = _validated(context.partition_keys)
    yield from fetch_and_store(context, prices, lake, config, names, history_start(), last_closed_session())


@dg.asset(
    key=DAILY_KEY,
    partitions_def=trading_days,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name="prices",
    kinds={"ducklake", "polars"},
    tags={DAILY_TAG: "market"},
    check_specs=check_specs(DAILY_KEY, DATASET, RULES),
    description=(
        "Every known symbol's raw daily bar (OHLCV, dividend, split ratio) of a trading day, in the listing "
        "currency; one partition per day. Adjusted and USD prices are computed in dbt (fct_prices_daily)."
    ),
    metadata=column_schema(PRICES_SCHEMA, PRICES_MEANINGS),
)
def prices_daily(
    context: dg.AssetExecutionContext, config: PublishConfig, prices: PricesResource, lake: LakeResource
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    days = partition_days(context)
    names = symbols_of(context.instance, markets.US)
    if not days or not names:
        yield dg.MaterializeResult(metadata={"dagster/row_count": 0, "symbols": len(names)})
        yield from Ledger(DATASET, RULES).results()
        return
    if not prices.build_provider().bulk:
        yield from fetch_and_store(context, prices, lake, config, names, days[0], days[-1])
        return
    known, rows, errors, ledger = pl.Series(names).implode(), 0, [], Ledger(DATASET, RULES)
    for day in days:
        with fetching(lake, DATASET, f"{prices.provider} market day {day}", where={"trade_date": day}):
            frame = prices.fetch_market_day(day).filter(pl.col("symbol").is_in(known))
        elsewhere = frame.filter(pl.col("trade_date") != day)
        if elsewhere.height:  # stored under this day's partition they would restate another day unasked
            dates = ", ".join(str(d) for d in elsewhere["trade_date"].unique().sort().head(3))
            errors.append(f"{prices.provider} market day {day}: {elsewhere.height:,} bars dated {dates}, not stored")
            frame = frame.filter(pl.col("trade_date") == day)
        bars = {symbol: group for (symbol,), group in frame.partition_by("symbol", as_dict=True).items()}
        errors += store_bars(lake, bars, day, day, ledger, config.allow_shrink)
        rows += frame.height
        context.log.info(f"prices: {day}: {frame.height:,} of {len(names):,} symbols from {prices.provider}")
    yield from conclude(ledger, errors, len(names), rows, days[0], days[-1], prices.provider)


def symbols_of(instance: dg.DagsterInstance, market: markets.Market) -> list[str]:
    """The known symbols (partitions of `symbols`) of one market, validated."""
    known = _validated(instance.get_dynamic_partitions(symbols.name))
    return [name for name in known if markets.market_of(name) == market]


def market_daily_key(market: markets.Market) -> dg.AssetKey:
    return dg.AssetKey(["raw", f"prices_daily_{market.mic.lower()}"])


def market_prices_daily(market: markets.Market) -> dg.AssetsDefinition:
    """One market's daily bars, a partition per trading day of its own calendar, for its known symbols (a
    request per symbol: the bulk providers serve US listings only)."""
    key = market_daily_key(market)

    @dg.asset(
        key=key,
        partitions_def=market_days_partitions(market),
        backfill_policy=dg.BackfillPolicy.single_run(),
        group_name="prices",
        kinds={"ducklake", "polars"},
        check_specs=check_specs(key, DATASET, RULES),
        description=(
            f"Every known {market.name} symbol's raw daily bar (symbols ending {market.suffix}), a partition per "
            f"{market.mic} trading day, in the listing currency; written to raw.prices_daily."
        ),
        metadata=column_schema(PRICES_SCHEMA, PRICES_MEANINGS),
    )
    def market_daily(
        context: dg.AssetExecutionContext, config: PublishConfig, prices: PricesResource, lake: LakeResource
    ) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
        days, names = partition_days(context), symbols_of(context.instance, market)
        if not days or not names:
            yield dg.MaterializeResult(metadata={"dagster/row_count": 0, "symbols": len(names)})
            yield from Ledger(DATASET, RULES).results()
            return
        yield from fetch_and_store(context, prices, lake, config, names, days[0], days[-1])

    return market_daily


MARKET_DAILY = [market_prices_daily(market) for market in markets.configured(settings.value("TICKERLAKE_MARKETS"))]

SOURCE = Source(
    client=PricesResource,
    assets=[prices_history, prices_daily, *MARKET_DAILY],
    datasets=[DATASET],
    freshness=published_by_evening([DAILY_KEY]),
    checks=[volume_band_check(DailyVolume(DAILY_KEY, DATASET, "trade_date", "volume"))],
)
