"""The crypto alert rules, stored in the lake (raw.crypto_alert_rules) and edited from the dashboard.

A rule names an interval, a series (an indicator column or a price), an operator and a threshold,
which is a number or another column (e.g. `close crosses_below s1`: price crosses below the pivot
support), the pairs it watches (default all), optionally `max_market_cap_rank` (only the pairs of
CoinGecko's top coins up to that rank: assets/coingecko.py) and the channel its firings go to
(`default`: TICKERLAKE_ALERT_CHANNEL). Rules live in the lake, not in a file edited by hand, so the
people who read the results can add, pause and delete them (web/alerts_page.py) while the alert
asset (assets/alerts.py) reads them at each evaluation. Every entry is checked before it is stored,
with a message naming the field; a YAML file of rules (`make alert-rules-import`) goes through the
same checks. Edits keep the replaced and deleted rules in history.crypto_alert_rules.
"""

import datetime as dt
import math
import re
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import yaml

from assets.indicators import INTERVALS
from assets.technicals import INDICATOR_SCHEMA
from resources.lake import Dataset, LakeResource, Transaction

OPERATORS = ("crosses_below", "crosses_above", "equals", "above", "below")
# Prices and every indicator column; a TD flag (td_buy_perfected, ...) compares as 0/1.
SERIES = ("open", "high", "low", "close", "volume", *INDICATOR_SCHEMA)
CHANNELS = ("default", "none", "telegram", "webhook")
ALL_PAIRS = ("*",)
# A name goes into every firing's id (rule|pair|interval|bar), so no separator in it.
NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")
PAIR = re.compile(r"[A-Z0-9]{2,20}")
MAX_RANK = 10_000
RULES_SCHEMA: dict[str, pl.DataType] = {
    "name": pl.String(),
    "interval": pl.String(),
    "series": pl.String(),
    "operator": pl.String(),
    "threshold_value": pl.Float64(),
    "threshold_series": pl.String(),
    "pairs": pl.String(),  # "*" or a comma-separated list
    "max_market_cap_rank": pl.Int64(),
    "channel": pl.String(),
    "paused": pl.Boolean(),
    "created_at": pl.Datetime("us", "UTC"),
}
RULES = Dataset("crypto_alert_rules", RULES_SCHEMA, order=("name",), key=("name",), keeps_history=True)


class AlertRulesError(ValueError):
    """A rule is not valid, or the edit cannot be made; the message names the rule and the field."""


@dataclass(frozen=True)
class AlertRule:
    name: str
    interval: str
    series: str
    operator: str
    threshold: float | str
    pairs: tuple[str, ...] = ALL_PAIRS
    max_market_cap_rank: int | None = None
    channel: str = "default"
    paused: bool = False

    def describe(self) -> str:
        threshold = f"{self.threshold:g}" if isinstance(self.threshold, float) else self.threshold
        return f"{self.series} {self.operator.replace('_', ' ')} {threshold}"


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _pairs_of(value: object) -> tuple[str, ...] | None:
    """`*`, one pair or a list of pairs, upper-cased; None when it is none of those."""
    listed = [value] if isinstance(value, str) else value
    if not isinstance(listed, list) or not listed or not all(isinstance(p, str) for p in listed):
        return None
    pairs = tuple(p.strip().upper() for p in listed)
    return pairs if pairs == ALL_PAIRS or all(PAIR.fullmatch(p) for p in pairs) else None


def parse_rule(entry: object, where: str) -> AlertRule:
    """A rule from a mapping (a YAML entry, a form's fields): one operator key holds the threshold."""
    if not isinstance(entry, dict):
        raise AlertRulesError(f"{where}: a rule is a mapping, got {entry!r}")
    operators = [op for op in OPERATORS if op in entry]
    known = {"name", "interval", "series", "pairs", "max_market_cap_rank", "channel", "paused", *OPERATORS}
    unknown = set(entry) - known
    if len(operators) != 1 or unknown:
        raise AlertRulesError(f"{where}: needs exactly one of {OPERATORS} (found {operators}; unknown keys {unknown})")
    threshold = entry[operators[0]]
    pairs = _pairs_of(entry.get("pairs", "*"))
    rank = entry.get("max_market_cap_rank")
    checks = [
        (isinstance(entry.get("name"), str) and NAME.fullmatch(entry["name"]), "name: 1 to 64 letters, digits, . _ -"),
        (entry.get("interval") in INTERVALS, f"interval: one of {INTERVALS}"),
        (entry.get("series") in SERIES, "series: a price or an indicator column"),
        (_is_number(threshold) or threshold in SERIES, "threshold: a number or a price or indicator column"),
        (pairs is not None, "pairs: * for all, a pair such as BTCUSDT, or a list of them"),
        (
            rank is None or (type(rank) is int and 1 <= rank <= MAX_RANK),
            f"max_market_cap_rank: a whole number 1..{MAX_RANK}",
        ),
        (entry.get("channel", "default") in CHANNELS, f"channel: one of {CHANNELS}"),
        (isinstance(entry.get("paused", False), bool), "paused: true or false"),
    ]
    for ok, what in checks:
        if not ok:
            raise AlertRulesError(f"{where}: needs {what}: {entry!r}")
    return AlertRule(
        entry["name"],
        entry["interval"],
        entry["series"],
        operators[0],
        float(threshold) if _is_number(threshold) else threshold,
        pairs,
        rank,
        entry.get("channel", "default"),
        entry.get("paused", False),
    )


def load_rules_file(path: Path) -> list[AlertRule]:
    """The rules of a YAML file ({rules: [...]}), each checked; names must be unique."""
    try:
        document = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise AlertRulesError(f"alert rules {path}: cannot read: {exc}") from exc
    if not isinstance(document, dict) or not isinstance(document.get("rules"), list):
        raise AlertRulesError(f"alert rules {path}: expected a mapping with a 'rules' list")
    if set(document) != {"rules"}:
        raise AlertRulesError(
            f"alert rules {path}: only 'rules' is read, not {sorted(set(document) - {'rules'})} "
            "(the look-back is the setting TICKERLAKE_ALERT_LOOKBACK_HOURS)"
        )
    rules = [parse_rule(entry, f"alert rules {path}, rule {n}") for n, entry in enumerate(document["rules"], 1)]
    names = [rule.name for rule in rules]
    if len(set(names)) != len(names):
        raise AlertRulesError(f"alert rules {path}: rule names must be unique: {names}")
    return rules


def _row(rule: AlertRule, created_at: dt.datetime) -> dict[str, object]:
    number = isinstance(rule.threshold, float)
    return {
        "name": rule.name,
        "interval": rule.interval,
        "series": rule.series,
        "operator": rule.operator,
        "threshold_value": rule.threshold if number else None,
        "threshold_series": None if number else rule.threshold,
        "pairs": ",".join(rule.pairs),
        "max_market_cap_rank": rule.max_market_cap_rank,
        "channel": rule.channel,
        "paused": rule.paused,
        "created_at": created_at,
    }


def rule_of(row: dict[str, object]) -> AlertRule:
    """A stored row (RULES_SCHEMA) as its rule."""
    threshold = row["threshold_series"] if row["threshold_value"] is None else row["threshold_value"]
    return AlertRule(
        row["name"],
        row["interval"],
        row["series"],
        row["operator"],
        threshold,
        tuple(row["pairs"].split(",")),
        row["max_market_cap_rank"],
        row["channel"],
        row["paused"],
    )


def stored_rules(lake: LakeResource) -> list[AlertRule]:
    """Every stored rule, paused ones included, by name."""
    return [rule_of(row) for row in lake.read(RULES).iter_rows(named=True)]


def add_rules(lake: LakeResource, rules: list[AlertRule]) -> None:
    """Store new rules in one transaction; a name already stored refuses the whole edit. An
    AlertRulesError raised inside the transaction rolls it back and reaches the caller as itself."""

    def work(tx: Transaction) -> None:
        names = [rule.name for rule in rules]
        taken = tx.read(RULES, where={"name": names})["name"].to_list()
        if taken:
            raise AlertRulesError(f"name: a rule named {taken[0]!r} exists already; pick another name")
        now = dt.datetime.now(dt.UTC)
        tx.replace(RULES, pl.DataFrame([_row(rule, now) for rule in rules], schema=RULES_SCHEMA), {"name": names})

    lake.transaction(work, f"new rules {', '.join(rule.name for rule in rules)}")


def set_paused(lake: LakeResource, name: str, paused: bool) -> None:
    """Pause a rule (it is kept, not evaluated) or resume it."""

    def work(tx: Transaction) -> None:
        row = _one(tx, name).with_columns(pl.lit(paused).alias("paused"))
        tx.replace(RULES, row, {"name": name})

    lake.transaction(work, f"rule {name}")


def delete_rule(lake: LakeResource, name: str) -> None:
    """Remove a rule; it stays in history.crypto_alert_rules, and the alerts it fired stay stored."""

    def work(tx: Transaction) -> None:
        _one(tx, name)
        tx.replace(RULES, pl.DataFrame(schema=RULES_SCHEMA), {"name": name})

    lake.transaction(work, f"rule {name}")


def _one(tx: Transaction, name: str) -> pl.DataFrame:
    row = tx.read(RULES, where={"name": name})
    if row.is_empty():
        raise AlertRulesError(f"name: no rule named {name!r}")
    return row
