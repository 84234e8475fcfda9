"""Daily OHLCV, partitioned by trading day x symbol, stored as one Parquet file per symbol.

A run covers a box of partitions: the new-symbol backfill is (all history) x (a batch of new
symbols), the daily run is (one day) x (all symbols). Either way the provider is asked once per
symbol for the run's date range, and the symbol's file has exactly that range replaced. Each row
is stamped with when its values last changed (resources.lake.merge_rows), so the daily run, which
rewrites every symbol's file, shows dbt one new row per symbol rather than all history.
"""

import datetime as dt

import dagster as dg
import polars as pl

from assets.partitions import partition_box, trading_days_by_symbol
from assets.schema import column_schema
from resources.http import SourceError
from resources.lake import ROW_STAMP, LakeResource
from resources.prices import PRICES_SCHEMA, PricesResource
from resources.symbols import validate_symbol

DATASET = "prices_daily"
ASSET_KEY = dg.AssetKey(["raw", DATASET])
LAKE_SCHEMA: dict[str, pl.DataType] = {**PRICES_SCHEMA, ROW_STAMP: pl.Datetime("us", "UTC")}


def symbol_partition(symbol: str) -> str:
    """The lake partition of a symbol; validated here too, as this string becomes a path."""
    return f"symbol={validate_symbol(symbol)}"


def store_bars(lake: LakeResource, symbol: str, frame: pl.DataFrame, first: dt.date, last: dt.date) -> None:
    """Replace days first..last of the symbol's file with `frame`, stamping rows whose values changed."""
    in_range = pl.col("trade_date").is_between(first, last)
    lake.upsert(DATASET, symbol_partition(symbol), frame, replaced=in_range, sort_by=["trade_date"], stamp=True)


@dg.asset(
    key=ASSET_KEY,
    partitions_def=trading_days_by_symbol,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name="prices",
    kinds={"parquet", "polars"},
    description=(
        "Raw (unadjusted) daily OHLCV with the day's cash dividend and split ratio, in the listing "
        "currency; adjusted close and USD prices are computed in dbt (fct_prices_daily)."
    ),
    metadata=column_schema(LAKE_SCHEMA),
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
    errors, rows = [], 0
    with provider.open_client(prices.timeout_seconds) as client:
        for symbol in symbols:
            try:
                frame = provider.daily(client, symbol, first, last)
            except SourceError as exc:
                context.log.error(str(exc))
                errors.append(f"{symbol} {first}..{last}: {exc}")
                continue
            frame = frame.filter(pl.col("trade_date").is_in(trading))
            store_bars(lake, symbol, frame, first, last)
            rows += frame.height
    if errors:
        raise dg.Failure(
            description=f"{len(errors)} of {len(symbols)} symbols failed; their stored prices are unchanged:\n"
            + "\n".join(errors[:50]),
        )
    return dg.MaterializeResult(metadata={
        "dagster/row_count": rows, "symbols": len(symbols), "first_day": first.isoformat(),
        "last_day": last.isoformat(), "provider": provider.name,
    })
