"""ATR-multiple labels of every symbol's daily bars (assets/labels.py has the definition).

A label needs the H sessions after its bar, so a partition is the day labels become complete:
partition D holds the labels of the bars of the session H before D (TICKERLAKE_LABEL_HORIZON), all
symbols at once, never symbol x day keys. The daily run labels the bar H sessions back; a label is
never written before its horizon has passed, so a stored label never changes when new days arrive.
(A change of H is a new definition: run the backfill again.)

Units. A split inside the horizon must not look like a move, so the bar and the H after it are read
from fct_prices_daily adjusted to today's basis (raw x adj_factor), and the bar's ATR is
equity_indicators' atr_14 (in the bar's own units) x the bar's adj_factor: the same barriers as in
the bar's own units, since an adjustment scales prices and ATR alike.
"""

import datetime as dt

import dagster as dg
import numpy as np
import polars as pl

from assets.equity_indicators import ASSET_KEY as EQUITY_INDICATORS_KEY
from assets.equity_indicators import DATASET as EQUITY_INDICATORS
from assets.equity_indicators import FCT_PRICES_KEY
from assets.labels import LABELS, LabelConfig, coverage_spec, labels_published, refuse_uncovered
from assets.partitions import calendar, partition_days, trading_days
from resources.lake import Between, Dataset, LakeResource

SCHEMA: dict[str, pl.DataType] = {
    "symbol": pl.String(),
    "trade_date": pl.Date(),
    "completed_on": pl.Date(),
    "close": pl.Float64(),
    "atr_14": pl.Float64(),
    "label": pl.String(),
    "scheme": pl.String(),
    "horizon": pl.Int64(),
    "near_atr": pl.Float64(),
    "far_atr": pl.Float64(),
}
DATASET = Dataset("equity_labels", SCHEMA, order=("symbol", "trade_date"), key=("symbol", "trade_date"))
ASSET_KEY = dg.AssetKey(["equities", DATASET.name])


def labelled_days(days: list[dt.date], horizon: int) -> dict[dt.date, dt.date]:
    """Completion day -> the bar day it completes: the session `horizon` sessions before it."""
    sessions = calendar().sessions
    found = {}
    for day in days:
        position = sessions.get_loc(day.isoformat())
        if position >= horizon:
            found[day] = sessions[position - horizon].date()
    return found


def symbol_labels(bars: pl.DataFrame, completions: dict[dt.date, dt.date], config: LabelConfig) -> pl.DataFrame:
    """One symbol's labels of the bar days in `completions` from its bars (time order, today's basis,
    ATR on bar days); a bar looks at its symbol's bars up to its completion day only."""
    dates = bars["trade_date"].to_numpy()
    pairs = sorted((bar_day, end) for end, bar_day in completions.items())
    bar_days = np.array([bar_day for bar_day, _ in pairs], dtype=dates.dtype)
    ends = np.array([end for _, end in pairs], dtype=dates.dtype)
    own = np.searchsorted(bar_days, dates)
    is_bar_day = (own < len(bar_days)) & (bar_days[np.minimum(own, len(bar_days) - 1)] == dates)
    ends_at = np.where(is_bar_day, ends[np.minimum(own, len(ends) - 1)], dates)
    usable = np.searchsorted(dates, ends_at, side="right") - np.arange(len(dates)) - 1
    labels = config.labels(
        *(bars[c].to_numpy() for c in ("open", "high", "low", "close")),
        bars["barrier_atr"].fill_null(np.nan).to_numpy(),
        usable=usable,
    )
    return bars.with_columns(
        pl.Series("label", labels.tolist(), dtype=pl.String()), pl.Series("bars_after", usable)
    ).filter(pl.Series(is_bar_day))


def compute(lake: LakeResource, completions: dict[dt.date, dt.date], config: LabelConfig) -> pl.DataFrame:
    """The labels of the bar days in `completions`, every symbol; bars with H sessions after them."""
    first, last = min(completions.values()), max(completions)
    with lake.connect(read_only=True) as con:
        prices = con.execute(
            "SELECT symbol, trade_date, open * adj_factor AS open, high * adj_factor AS high, "
            "low * adj_factor AS low, close * adj_factor AS close, adj_factor "
            "FROM marts.fct_prices_daily WHERE trade_date BETWEEN ? AND ? ORDER BY symbol, trade_date",
            [first, last],
        ).pl()
    atr = lake.read(
        EQUITY_INDICATORS, where={"trade_date": Between(first, max(completions.values()) + dt.timedelta(days=1))}
    )
    bars = prices.join(
        atr.select("symbol", "trade_date", pl.col("close").alias("own_close"), "atr_14"),
        on=["symbol", "trade_date"],
        how="left",
    ).with_columns((pl.col("atr_14") * pl.col("adj_factor")).alias("barrier_atr"))
    completed_on = pl.DataFrame({"trade_date": list(completions.values()), "completed_on": list(completions)})
    frames = [symbol_labels(b, completions, config) for b in bars.partition_by("symbol", maintain_order=True)]
    if not frames:
        return pl.DataFrame(schema={**SCHEMA, "bars_after": pl.Int64()})
    return (
        pl.concat(frames)
        .join(completed_on, on="trade_date")
        .with_columns(pl.col("own_close").alias("close"), *config.columns())
        .select(*SCHEMA, "bars_after")
    )


def balance(lake: LakeResource) -> pl.DataFrame:
    """Per symbol over every stored day: labelled bars and each label's share in percent."""
    with lake.connect(read_only=True) as con:
        return con.execute(
            "SELECT symbol, count(label) AS labelled, "
            + ", ".join(f"round(100 * avg((label = '{name}')::INTEGER), 1) AS {name}" for name in LABELS)
            + f" FROM {DATASET.table} WHERE label IS NOT NULL GROUP BY symbol ORDER BY symbol"
        ).pl()


@dg.asset(
    key=ASSET_KEY,
    deps=[EQUITY_INDICATORS_KEY, FCT_PRICES_KEY],
    partitions_def=trading_days,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name="equities",
    kinds={"ducklake", "polars"},
    automation_condition=dg.AutomationCondition.eager().without(~dg.AutomationCondition.any_deps_missing()),
    check_specs=[
        coverage_spec(ASSET_KEY, "Every bar with an ATR and a bar in each of the H sessions after it has a label.")
    ],
    description=(
        "up2/up1/flat/down1/down2 per symbol and trading day: which of close +/- 1 and 2 ATR(14) the adjusted "
        "price reaches first within the next H sessions. Partition D holds the bars of the session H before D."
    ),
)
def equity_labels(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
    config = LabelConfig.from_settings()
    completions = labelled_days(partition_days(context), config.lookahead)
    frame = (
        compute(lake, completions, config) if completions else pl.DataFrame(schema={**SCHEMA, "bars_after": pl.Int64()})
    )
    missing = frame.filter(
        pl.col("atr_14").is_not_null(), pl.col("bars_after") >= config.lookahead, pl.col("label").is_null()
    )
    frame = frame.drop("bars_after")
    yield from refuse_uncovered(missing, "bars with an ATR have no label after their horizon")
    if completions:
        days = sorted(completions.values())
        lake.replace(DATASET, frame, where={"trade_date": Between(days[0], days[-1] + dt.timedelta(days=1))})
    bar_days = [d.isoformat() for d in sorted(completions.values())][:50]
    yield from labels_published(frame, config, balance(lake), {"bar_days": dg.MetadataValue.json(bar_days)})
