"""Daily OHLCV, partitioned by trading day x symbol, stored in one lake table.

A run covers a box of partitions: the new-symbol backfill is (all history) x (a batch of new
symbols), the daily run is (one day) x (all symbols). Either way the provider is asked once per
symbol for the run's date range, and the run's range of its symbols is replaced in the lake, up to
`COMMIT_SYMBOLS` symbols a transaction (so the daily run writes one file, not one per symbol). A
row that a re-fetch left unchanged keeps its `_loaded_at` (resources.lake.stamp_rows), so dbt
sees only the rows whose values changed.
"""

import datetime as dt

import dagster as dg
import polars as pl

from assets.partitions import partition_box, trading_days_by_symbol
from assets.schema import column_schema
from resources.http import SourceError
from resources.lake import Between, Dataset, LakeResource
from resources.prices import PRICES_SCHEMA, PricesResource
from resources.symbols import validate_symbol

DATASET = Dataset("prices_daily", PRICES_SCHEMA, order=("symbol", "trade_date", "provider"))
ASSET_KEY = dg.AssetKey(["raw", DATASET.name])
COMMIT_SYMBOLS = 500


def store_bars(lake: LakeResource, bars: dict[str, pl.DataFrame], first: dt.date, last: dt.date) -> None:
    """Replace days first..last of these symbols with their bars, in one transaction."""
    if not bars:
        return
    where = {"symbol": [validate_symbol(s) for s in bars], "trade_date": Between(first, last + dt.timedelta(days=1))}
    lake.replace(DATASET, pl.concat(list(bars.values())), where=where, keep_stamps=True)


@dg.asset(
    key=ASSET_KEY,
    partitions_def=trading_days_by_symbol,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name="prices",
    kinds={"ducklake", "polars"},
    description=(
        "Raw (unadjusted) daily OHLCV with the day's cash dividend and split ratio, in the listing "
        "currency; adjusted close and USD prices are computed in dbt (fct_prices_daily)."
    ),
    metadata=column_schema(PRICES_SCHEMA),
)
def prices_daily(
    context: dg.AssetExecutionContext, prices: PricesResource, lake: LakeResource
) -> dg.MaterializeResult:
    days, symbols = partition_box(context)
    for symbol in symbols:
        validate_symbol(symbol)
    if not days:
        return dg.MaterializeResult(metadata={"dagster/row_count": 0})
    first, last = days[0], days[-1]
    provider = prices.build_provider()
    trading = pl.Series(days, dtype=pl.Date())
    errors, rows, pending = [], 0, {}
    with provider.open_client(prices.timeout_seconds) as client:
        for symbol in symbols:
            try:
                frame = provider.daily(client, symbol, first, last)
            except SourceError as exc:
                context.log.error(str(exc))
                errors.append(f"{symbol} {first}..{last}: {exc}")
                continue
            pending[symbol] = frame.filter(pl.col("trade_date").is_in(trading.implode()))
            rows += pending[symbol].height
            if len(pending) == COMMIT_SYMBOLS:
                store_bars(lake, pending, first, last)
                pending = {}
    store_bars(lake, pending, first, last)
    if errors:
        raise dg.Failure(
            description=f"{len(errors)} of {len(symbols)} symbols failed; their stored prices are unchanged:\n"
            + "\n".join(errors[:50]),
        )
    return dg.MaterializeResult(metadata={
        "dagster/row_count": rows, "symbols": len(symbols), "first_day": first.isoformat(),
        "last_day": last.isoformat(), "provider": provider.name,
    })
