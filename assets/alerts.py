"""User-defined alert rules over the crypto indicators, each firing sent once.

Rules live in a YAML file (TICKERLAKE_ALERT_RULES, default platform/alerts.yaml): a rule names an
interval, a series (an indicator column or a price), an operator and a threshold, which is a number
or another column (e.g. `close crosses_below s1`: price crosses below the pivot support), and
optionally the pairs it watches and `max_market_cap_rank` (only the pairs of CoinGecko's top coins up
to that rank in the newest snapshot: assets/coingecko.py). Only
closed bars are evaluated, and only those within `lookback_hours` of the pair's newest bar, so the
first evaluation does not replay years of history. A firing's id (rule, pair, interval, bar) is
stored in the lake once it is delivered; a firing already stored is never sent again, and one that
could not be delivered is tried again at the next evaluation.

TD Sequential follows DeMark's published rules (assets/technicals.py), so `td_buy_setup equals 9`
fires once per setup: a setup that runs on counts 10, 11, ... and never prints a second 9. A
countdown fires `td_buy_countdown equals 13` once (a deferred 13 stays at 12 and sets
`td_buy_countdown_deferred`), and the flags compare as 0/1 (`td_buy_perfected equals 1`).
"""

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import polars as pl
import yaml

from assets.binance import UNIVERSE_DATASET
from assets.coingecko import MARKETS_DATASET
from assets.indicators import ASSET_KEY as INDICATORS_KEY
from assets.indicators import DATASET as INDICATORS_DATASET
from assets.indicators import INTERVALS
from assets.technicals import INDICATOR_SCHEMA
from resources import settings
from resources.coingecko import ambiguous_symbols
from resources.lake import Dataset, LakeResource
from resources.notifier import Notifier, NotifierError

DEFAULT_RULES = Path(__file__).resolve().parent.parent / "platform" / "alerts.yaml"
OPERATORS = ("crosses_below", "crosses_above", "equals", "above", "below")
# Prices and every indicator column; a TD flag (td_buy_perfected, ...) compares as 0/1.
SERIES = ("open", "high", "low", "close", "volume", *INDICATOR_SCHEMA)
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
    "sent_at": pl.Datetime("us", "UTC"),
}
DATASET = Dataset("crypto_alerts", ALERTS_SCHEMA, order=("bar_open_time", "alert_id"))
ASSET_KEY = dg.AssetKey(["crypto", DATASET.name])


class AlertRulesError(ValueError):
    """The rules file is not valid; the message names the file and the rule."""


@dataclass(frozen=True)
class AlertRule:
    name: str
    interval: str
    series: str
    operator: str
    threshold: float | str
    pairs: tuple[str, ...] = ("*",)
    max_market_cap_rank: int | None = None

    def describe(self) -> str:
        threshold = f"{self.threshold:g}" if isinstance(self.threshold, float) else self.threshold
        return f"{self.series} {self.operator.replace('_', ' ')} {threshold}"


@dataclass(frozen=True)
class AlertRules:
    rules: tuple[AlertRule, ...]
    lookback_hours: float


def _rule(entry: object, where: str) -> AlertRule:
    if not isinstance(entry, dict):
        raise AlertRulesError(f"{where}: a rule is a mapping, got {entry!r}")
    operators = [op for op in OPERATORS if op in entry]
    unknown = set(entry) - {"name", "interval", "series", "pairs", "max_market_cap_rank", *OPERATORS}
    if len(operators) != 1 or unknown:
        raise AlertRulesError(f"{where}: needs exactly one of {OPERATORS} (found {operators}; unknown keys {unknown})")
    threshold = entry[operators[0]]
    checks = [
        (isinstance(entry.get("name"), str) and entry["name"], "a name"),
        (entry.get("interval") in INTERVALS, f"an interval among {INTERVALS}"),
        (entry.get("series") in SERIES, f"a series among {SERIES}"),
        (isinstance(threshold, int | float) or threshold in SERIES, "a threshold that is a number or a series"),
        (
            "max_market_cap_rank" not in entry
            or (type(entry["max_market_cap_rank"]) is int and entry["max_market_cap_rank"] >= 1),
            "a max_market_cap_rank that is a whole number from 1",
        ),
    ]
    for ok, what in checks:
        if not ok:
            raise AlertRulesError(f"{where}: needs {what}: {entry!r}")
    pairs = entry.get("pairs", ["*"])
    return AlertRule(
        entry["name"],
        entry["interval"],
        entry["series"],
        operators[0],
        float(threshold) if isinstance(threshold, int | float) else threshold,
        tuple(pairs),
        entry.get("max_market_cap_rank"),
    )


def load_rules(path: Path) -> AlertRules:
    try:
        document = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise AlertRulesError(f"alert rules {path}: cannot read: {exc}") from exc
    if not isinstance(document, dict) or not isinstance(document.get("rules"), list):
        raise AlertRulesError(f"alert rules {path}: expected a mapping with a 'rules' list")
    rules = tuple(_rule(entry, f"alert rules {path}, rule {n}") for n, entry in enumerate(document["rules"], 1))
    names = [rule.name for rule in rules]
    if len(set(names)) != len(names):
        raise AlertRulesError(f"alert rules {path}: rule names must be unique: {names}")
    return AlertRules(rules, float(document.get("lookback_hours", 24)))


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


def evaluate(rules: AlertRules, indicators: pl.DataFrame, ranks: Mapping[str, int] | None = None) -> pl.DataFrame:
    """Every firing of every rule on closed bars within the look-back, as ALERTS_SCHEMA (unsent). `ranks`:
    each pair's coin's market cap rank (pair_market_cap_ranks), for the rules that filter by it."""
    firings = []
    for rule in rules.rules:
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
        ).filter(pl.col("fired"), pl.col("open_time") >= newest - dt.timedelta(hours=rules.lookback_hours))
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
        try:
            notifier.send(alert)
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


def rules_path() -> Path:
    return Path(settings.value("TICKERLAKE_ALERT_RULES", str(DEFAULT_RULES)))


@dg.asset(
    key=ASSET_KEY,
    deps=[INDICATORS_KEY],
    group_name="crypto",
    kinds={"ducklake", "polars"},
    description="Alert firings of the rules in TICKERLAKE_ALERT_RULES, each delivered once and stored when sent.",
)
def crypto_alerts(context: dg.AssetExecutionContext, lake: LakeResource, notifier: Notifier) -> dg.MaterializeResult:
    rules = load_rules(rules_path())
    stored = lake.distinct(DATASET, "alert_id")
    firings = evaluate(rules, lake.read(INDICATORS_DATASET), pair_market_cap_ranks(lake))
    firings = firings.filter(~pl.col("alert_id").is_in(pl.Series(stored, dtype=pl.String()).implode()))
    sent = deliver(firings, notifier, lake, DATASET, context.log)
    return dg.MaterializeResult(
        metadata={
            # Rows stored: every alert delivered so far, this run's included (the UI's "Row count").
            "dagster/row_count": len(stored) + len(sent),
            "sent_this_run": len(sent),
            "rules": len(rules.rules),
            "fired": dg.MetadataValue.md("\n".join(f"- {a['message']}" for a in sent) or "none"),
            "channel": notifier.channel,
        }
    )
