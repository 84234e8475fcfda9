"""User-defined alert rules over the crypto indicators, each firing sent once.

The rules are stored in the lake (assets/alert_rules.py: added, paused and deleted from the
dashboard); each evaluation reads the ones not paused. Only closed bars are evaluated, and only those
within TICKERLAKE_ALERT_LOOKBACK_HOURS of the pair's newest closed bar, so the first evaluation does
not replay years of history. A firing's id (rule, pair, interval, bar) is
stored in the lake once it is delivered; a firing already stored is never sent again, and one that
could not be delivered is tried again at the next evaluation.

TD Sequential follows DeMark's published rules (assets/technicals.py), so `td_buy_setup equals 9`
fires once per setup: a setup that runs on counts 10, 11, ... and never prints a second 9. A
countdown fires `td_buy_countdown equals 13` once (a deferred 13 stays at 12 and sets
`td_buy_countdown_deferred`), and the flags compare as 0/1 (`td_buy_perfected equals 1`).
"""

import datetime as dt
import logging
from collections.abc import Mapping, Sequence

import dagster as dg
import polars as pl

from assets.alert_rules import AlertRule, stored_rules
from assets.binance import UNIVERSE_DATASET
from assets.coingecko import MARKETS_DATASET
from assets.indicators import ASSET_KEY as INDICATORS_KEY
from assets.indicators import DATASET as INDICATORS_DATASET
from resources import settings
from resources.coingecko import ambiguous_symbols
from resources.lake import Dataset, LakeResource
from resources.notifier import Notifier, NotifierError

ALERTS_SCHEMA: dict[str, pl.DataType] = {
    "alert_id": pl.String(),
    "rule": pl.String(),
    "pair": pl.String(),
    "interval": pl.String(),
    "bar_open_time": pl.Datetime("us", "UTC"),
    "value": pl.Float64(),
    "threshold": pl.Float64(),
    "close": pl.Float64(),
    "message": pl.String(),
    "channel": pl.String(),  # the rule's channel until sent ("default" or null: the notifier's), then where it went
    "sent_at": pl.Datetime("us", "UTC"),
}
DATASET = Dataset("crypto_alerts", ALERTS_SCHEMA, order=("bar_open_time", "alert_id"))
ASSET_KEY = dg.AssetKey(["crypto", DATASET.name])


def _condition(rule: AlertRule) -> pl.Expr:
    series = pl.col(rule.series).cast(pl.Float64())
    before = series.shift(1).over("pair")
    if isinstance(rule.threshold, str):
        threshold = pl.col(rule.threshold).cast(pl.Float64())
        limit_before = threshold.shift(1).over("pair")
    else:
        threshold = limit_before = pl.lit(rule.threshold)
    return {
        "crosses_below": (before >= limit_before) & (series < threshold),
        "crosses_above": (before <= limit_before) & (series > threshold),
        "equals": series == threshold,
        "above": series > threshold,
        "below": series < threshold,
    }[rule.operator]


def evaluate(
    rules: Sequence[AlertRule],
    indicators: pl.DataFrame,
    ranks: Mapping[str, int] | None = None,
    lookback_hours: float = 24.0,
) -> pl.DataFrame:
    """Every firing of every rule not paused on closed bars within the look-back, as ALERTS_SCHEMA
    (unsent). `ranks`: each pair's coin's market cap rank (pair_market_cap_ranks), for the rules that
    filter by it."""
    firings = []
    for rule in (rule for rule in rules if not rule.paused):
        bars = indicators.filter(pl.col("interval") == rule.interval, pl.col("is_closed")).sort("pair", "open_time")
        if rule.pairs != ("*",):
            bars = bars.filter(pl.col("pair").is_in(list(rule.pairs)))
        if rule.max_market_cap_rank is not None:
            ranked = [pair for pair, rank in (ranks or {}).items() if rank <= rule.max_market_cap_rank]
            bars = bars.filter(pl.col("pair").is_in(pl.Series(ranked, dtype=pl.String()).implode()))
        threshold = pl.col(rule.threshold) if isinstance(rule.threshold, str) else pl.lit(rule.threshold)
        newest = pl.col("open_time").max().over("pair")
        fired = bars.with_columns(
            _condition(rule).fill_null(False).alias("fired"), threshold.cast(pl.Float64()).alias("threshold")
        ).filter(pl.col("fired"), pl.col("open_time") >= newest - dt.timedelta(hours=lookback_hours))
        firings.append(
            fired.select(
                pl.concat_str(
                    pl.lit(rule.name),
                    "pair",
                    "interval",
                    pl.col("open_time").dt.to_string("%Y-%m-%dT%H:%MZ"),
                    separator="|",
                ).alias("alert_id"),
                pl.lit(rule.name).alias("rule"),
                "pair",
                "interval",
                pl.col("open_time").alias("bar_open_time"),
                pl.col(rule.series).cast(pl.Float64()).alias("value"),
                "threshold",
                "close",
                pl.format(
                    "{} {} {}: {} ({} = {}) on the bar of {} UTC",
                    "pair",
                    "interval",
                    pl.lit(rule.name),
                    pl.lit(rule.describe()),
                    pl.lit(rule.series),
                    pl.col(rule.series).cast(pl.Float64()).round(4),
                    pl.col("open_time").dt.to_string("%Y-%m-%d %H:%M"),
                ).alias("message"),
                pl.lit(rule.channel).alias("channel"),
                pl.lit(None, ALERTS_SCHEMA["sent_at"]).alias("sent_at"),
            )
        )
    return pl.concat([pl.DataFrame(schema=ALERTS_SCHEMA), *firings], how="vertical_relaxed").sort("bar_open_time")


def pair_market_cap_ranks(lake: LakeResource) -> dict[str, int]:
    """Each pair of the newest universe snapshot whose base asset is a coin of the newest CoinGecko snapshot
    (its symbol upper-cased, not shared with another coin there), with that coin's market cap rank."""
    newest = lake.newest(MARKETS_DATASET, "snapshot_date")
    universe_day = lake.newest(UNIVERSE_DATASET, "snapshot_date")
    if newest is None or universe_day is None:
        return {}
    coins = lake.read(MARKETS_DATASET, where={"snapshot_date": newest})
    shared = ambiguous_symbols(coins)
    rank_of = {
        symbol.upper(): rank
        for symbol, rank in coins.select("symbol", "market_cap_rank").iter_rows()
        if rank is not None and symbol.upper() not in shared
    }
    pairs = lake.read(UNIVERSE_DATASET, where={"snapshot_date": universe_day})
    return {
        pair: rank_of[pair.removesuffix(quote)]
        for pair, quote in pairs.select("pair", "quote_asset").iter_rows()
        if pair.removesuffix(quote) in rank_of
    }


def deliver(
    firings: pl.DataFrame, notifier: Notifier, lake: LakeResource, dataset: Dataset, log: logging.Logger
) -> list[dict[str, object]]:
    """Send each firing (ALERTS_SCHEMA), store the delivered ones with their time in `dataset`, and fail
    naming those that were not: they stay unsent and are tried again at the next evaluation."""
    sent, failures = [], []
    for alert in firings.iter_rows(named=True):
        channel = notifier.channel if alert.get("channel") in (None, "default") else alert["channel"]
        alert = {**alert, "channel": channel}  # as stored: where it went
        try:
            notifier.send(alert, channel)
        except NotifierError as exc:
            failures.append(f"{alert['alert_id']}: {exc}")
            continue
        sent.append({**alert, "sent_at": dt.datetime.now(dt.UTC)})
        log.info(f"alert: {alert['message']}")
    if sent:
        frame = pl.DataFrame(sent, schema=ALERTS_SCHEMA)
        lake.replace(dataset, frame, where={"alert_id": frame["alert_id"].to_list()})
    if failures:
        raise dg.Failure(
            description=f"{len(failures)} alerts not delivered (tried again next time):\n" + "\n".join(failures[:20])
        )
    return sent


@dg.asset(
    key=ASSET_KEY,
    deps=[INDICATORS_KEY],
    group_name="crypto",
    kinds={"ducklake", "polars"},
    description="Alert firings of the rules in raw.crypto_alert_rules, each delivered once and stored when sent.",
)
def crypto_alerts(context: dg.AssetExecutionContext, lake: LakeResource, notifier: Notifier) -> dg.MaterializeResult:
    rules = stored_rules(lake)
    active = sum(not rule.paused for rule in rules)
    if not active:
        context.log.warning(
            "No alert rules are active: add them on the dashboard's Alerts page (make dashboard) or import a "
            "file of them (make alert-rules-import FILE=...)."
        )
    stored = lake.distinct(DATASET, "alert_id")
    lookback = float(settings.value("TICKERLAKE_ALERT_LOOKBACK_HOURS"))
    firings = evaluate(rules, lake.read(INDICATORS_DATASET), pair_market_cap_ranks(lake), lookback)
    firings = firings.filter(~pl.col("alert_id").is_in(pl.Series(stored, dtype=pl.String()).implode()))
    sent = deliver(firings, notifier, lake, DATASET, context.log)
    return dg.MaterializeResult(
        metadata={
            # Rows stored: every alert delivered so far, this run's included (the UI's "Row count").
            "dagster/row_count": len(stored) + len(sent),
            "sent_this_run": len(sent),
            "active_rules": active,
            "fired": dg.MetadataValue.md("\n".join(f"- {a['message']}" for a in sent) or "none"),
            "default_channel": notifier.channel,
        }
    )
