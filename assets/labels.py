"""ATR-multiple labels: which of close +/- 1 and 2 ATR a bar's price reaches first in the next H bars.

The definition (the original system's, made exact here): at bar t with close c and ATR a (Wilder's,
14 bars, as of t), the barriers are c + near*a, c + far*a, c - near*a and c - far*a (near = 1, far = 2
by default). Price is followed through bars t+1 .. t+H. The first of the two *near* barriers touched
gives the direction; the label is then

- `up2` if the far upper barrier is touched before the near lower one (or the near lower one never is),
- `up1` if not (the move reached +1 ATR but turned back, or ran out of bars, before +2 ATR),
- `down2` / `down1` mirrored,
- `flat` if neither near barrier is touched within H bars,
- null while fewer than H bars follow t and no near barrier has been touched (not known yet), and
  where t has no ATR yet (its first 14 bars).

Within a bar, OHLC does not say whether the high or the low came first, and a wide bar can touch both
sides. The path assumed through a bar is the previous close, the open (a gap jumps straight there),
then the extreme nearer to the open, then the other extreme, then the close: a bar that opens closer
to its high is taken to have gone up first. On a tie (open equidistant) a bar that closes above its
open went to its low first, else to its high first. Along each leg, barriers are touched in the
order the leg reaches them. The labels are targets: they look ahead by definition and are never
features.
"""

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import dagster as dg
import numpy as np
import polars as pl

from assets.checks import markdown
from resources import settings

NEAR, FAR = 1.0, 2.0
LABELS = ("up2", "up1", "flat", "down1", "down2")
LEGS = 4  # previous close -> open -> first extreme -> second extreme -> close
COVERAGE = "label_coverage"


def path_points(
    open_: np.ndarray, high: np.ndarray, low: np.ndarray, close: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each bar's assumed path: previous close, open, first extreme, second extreme, close."""
    previous_close = np.concatenate(([np.nan], close[:-1]))
    to_high, to_low = high - open_, open_ - low
    high_first = (to_high < to_low) | ((to_high == to_low) & ~(close > open_))
    first = np.where(high_first, high, low)
    second = np.where(high_first, low, high)
    return previous_close, open_, first, second, close


def _first_touch(points: tuple[np.ndarray, ...], level: np.ndarray, horizon: int, usable: np.ndarray) -> np.ndarray:
    """For each bar t, where along bars t+1..t+H the path first reaches `level` (inf if it does not),
    looking at no more than usable[t] bars after t.

    The position is (bar offset - 1) * LEGS + leg + the fraction of the leg travelled, so positions
    order touches in time across and within bars.
    """
    size = len(level)
    touched = np.full(size, np.inf)
    for offset in range(1, min(horizon, size - 1) + 1):  # a series shorter than H: the bars it has
        ahead = slice(offset, size)
        here = slice(0, size - offset)
        for leg in range(LEGS):
            start, end = points[leg][ahead], points[leg + 1][ahead]
            target = level[here]
            inside = (np.minimum(start, end) <= target) & (target <= np.maximum(start, end)) & (offset <= usable[here])
            span = np.abs(end - start)
            with np.errstate(invalid="ignore", divide="ignore"):
                fraction = np.where(span > 0, np.abs(target - start) / span, 0.0)
            position = np.where(inside, (offset - 1) * LEGS + leg + fraction, np.inf)
            touched[here] = np.fmin(touched[here], position)
    return touched


def first_touch_labels(
    open_: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    atr: np.ndarray,
    horizon: int,
    near: float = NEAR,
    far: float = FAR,
    usable: np.ndarray | None = None,
) -> np.ndarray:
    """The label of every bar of one instrument (bars in time order, all closed), as an object array.

    `usable` caps, per bar, how many bars after it the label may look at (default: every bar there
    is): equities stop a bar's horizon at its H-th session, whatever a halted symbol traded later.
    """
    if horizon < 1 or not 0 < near < far:
        raise ValueError(f"labels need horizon >= 1 and 0 < near < far, got H={horizon}, near={near}, far={far}")
    points = path_points(*(np.asarray(a, dtype=np.float64) for a in (open_, high, low, close)))
    close = np.asarray(close, dtype=np.float64)
    atr = np.asarray(atr, dtype=np.float64)
    size = len(close)
    usable = np.arange(size)[::-1] if usable is None else np.minimum(usable, np.arange(size)[::-1])
    up1, up2 = (_first_touch(points, close + k * atr, horizon, usable) for k in (near, far))
    down1, down2 = (_first_touch(points, close - k * atr, horizon, usable) for k in (near, far))
    complete = usable >= horizon
    labels = np.full(size, None, dtype=object)
    labels[np.isinf(up1) & np.isinf(down1) & complete] = "flat"
    _direction(labels, up1 < down1, up2, down1, complete, "up")
    _direction(labels, down1 < up1, down2, up1, complete, "down")
    labels[~(atr > 0)] = None
    return labels


def _direction(
    labels: np.ndarray, went: np.ndarray, far: np.ndarray, back: np.ndarray, complete: np.ndarray, name: str
) -> None:
    """Labels the bars that went this way first: 2 if the far barrier came before the way back, else 1.

    A bar whose far barrier and way back are both untouched is 1 only once its H bars are all there:
    until then the far barrier may still come.
    """
    labels[went & (far < back)] = f"{name}2"
    labels[went & (back < far)] = f"{name}1"
    labels[went & np.isinf(far) & np.isinf(back) & complete] = f"{name}1"


def horizon_labels(
    close: np.ndarray,
    atr: np.ndarray,
    near_bars: int,
    far_bars: int,
    near: float = NEAR,
    far: float = FAR,
    usable: np.ndarray | None = None,
) -> np.ndarray:
    """The original system's scheme: where the close stands N1 and N2 bars later, in ATRs of bar t.

    `up2` if the close N2 bars later is at least c + far*a, `down2` if at most c - far*a; otherwise
    `up1` if the close N1 bars later is at least c + near*a, `down1` if at most c - near*a; else `flat`.
    The far horizon decides first: a bar that is both up1 and up2 is up2, and one up1 at N1 but down2 at
    N2 is down2 (the move that lasted). Null until N2 bars follow t (`usable` caps them as for
    first_touch_labels) and where t has no ATR. Only closes count: no path through a bar is assumed.
    """
    if not 1 <= near_bars < far_bars or not 0 < near < far:
        raise ValueError(
            f"labels need 1 <= N1 < N2 and 0 < near < far, got N1={near_bars}, N2={far_bars}, near={near}, far={far}"
        )
    close = np.asarray(close, dtype=np.float64)
    atr = np.asarray(atr, dtype=np.float64)
    size = len(close)
    usable = np.arange(size)[::-1] if usable is None else np.minimum(usable, np.arange(size)[::-1])

    def ahead(bars: int) -> np.ndarray:
        later = np.full(size, np.nan)
        later[: max(size - bars, 0)] = close[bars:]
        return later

    moved_near, moved_far = ahead(near_bars) - close, ahead(far_bars) - close
    labels = np.full(size, "flat", dtype=object)
    labels[moved_near <= -near * atr] = "down1"
    labels[moved_near >= near * atr] = "up1"
    labels[moved_far <= -far * atr] = "down2"
    labels[moved_far >= far * atr] = "up2"
    labels[(usable < far_bars) | ~(atr > 0) | np.isnan(moved_near) | np.isnan(moved_far)] = None
    return labels


SCHEMES = ("first_touch", "horizon")


@dataclass(frozen=True)
class LabelConfig:
    """The scheme and its parameters, from the settings: one definition for every instrument and interval.

    `first_touch` (this module's docstring) looks `horizon` (H) bars ahead; `horizon` (horizon_labels,
    the original system's) looks `far_bars` (N2) ahead. Both use the near and far ATR multiples.
    """

    horizon: int
    near: float
    far: float
    scheme: str = "first_touch"
    near_bars: int = 8
    far_bars: int = 15

    @classmethod
    def from_settings(cls) -> "LabelConfig":
        scheme = settings.value("TICKERLAKE_LABEL_SCHEME")
        if scheme not in SCHEMES:
            raise ValueError(f"TICKERLAKE_LABEL_SCHEME: {scheme!r} is not one of {', '.join(SCHEMES)}")
        return cls(
            horizon=int(settings.value("TICKERLAKE_LABEL_HORIZON")),
            near=float(settings.value("TICKERLAKE_LABEL_NEAR_ATR")),
            far=float(settings.value("TICKERLAKE_LABEL_FAR_ATR")),
            scheme=scheme,
            near_bars=int(settings.value("TICKERLAKE_LABEL_NEAR_BARS")),
            far_bars=int(settings.value("TICKERLAKE_LABEL_FAR_BARS")),
        )

    @property
    def lookahead(self) -> int:
        """Bars after a bar its label needs: H, or N2 for the horizon scheme."""
        return self.far_bars if self.scheme == "horizon" else self.horizon

    def labels(
        self,
        open_: np.ndarray,
        high: np.ndarray,
        low: np.ndarray,
        close: np.ndarray,
        atr: np.ndarray,
        usable: np.ndarray | None = None,
    ) -> np.ndarray:
        """One instrument's labels (bars in time order) under this scheme."""
        if self.scheme == "horizon":
            return horizon_labels(close, atr, self.near_bars, self.far_bars, self.near, self.far, usable)
        return first_touch_labels(open_, high, low, close, atr, self.horizon, self.near, self.far, usable)

    def columns(self) -> list[pl.Expr]:
        return [
            pl.lit(self.scheme).alias("scheme"),
            pl.lit(self.lookahead, pl.Int64()).alias("horizon"),
            pl.lit(self.near).alias("near_atr"),
            pl.lit(self.far).alias("far_atr"),
        ]


def labelled(bars: pl.DataFrame, config: LabelConfig) -> pl.DataFrame:
    """One instrument's bars (time order, closed) with their `label`; bars need open/high/low/close/atr_14."""
    values = config.labels(
        *(bars[c].to_numpy().astype(np.float64) for c in ("open", "high", "low", "close")),
        bars["atr_14"].fill_null(np.nan).to_numpy().astype(np.float64),
    )
    return bars.with_columns(pl.Series("label", values.tolist(), dtype=pl.String()), *config.columns())


def uncovered(frame: pl.DataFrame, by: Sequence[str], config: LabelConfig) -> pl.DataFrame:
    """Bars that should have a label and do not: with an ATR and H bars after them in their series."""
    remaining = pl.int_range(pl.len()).reverse().over(list(by))
    return frame.filter(pl.col("atr_14").is_not_null(), remaining >= config.lookahead, pl.col("label").is_null())


def class_balance(frame: pl.DataFrame, by: Sequence[str]) -> pl.DataFrame:
    """Per instrument (and interval): bars labelled, and each label's share in percent, up2 to down2."""
    counts = (
        frame.filter(pl.col("label").is_not_null())
        .group_by(*by)
        .agg(
            pl.len().alias("labelled"),
            *[(pl.col("label") == name).mean().mul(100).round(1).alias(name) for name in LABELS],
        )
    )
    return counts.sort(*by)


def coverage_spec(asset_key: dg.AssetKey, description: str) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(COVERAGE, asset=asset_key, blocking=True, description=description)


def refuse_uncovered(missing: pl.DataFrame, what: str) -> Iterator[dg.AssetCheckResult]:
    """The failed coverage check and the run's failure, when bars that should have a label have none:
    labels with holes are never stored."""
    if missing.height:
        yield dg.AssetCheckResult(
            check_name=COVERAGE,
            passed=False,
            metadata={"unlabelled": missing.height, "examples": dg.MetadataValue.md(markdown(missing))},
        )
        raise dg.Failure(f"{missing.height} {what}; nothing stored")


def labels_published(
    labelled_rows: pl.DataFrame, config: LabelConfig, shares: pl.DataFrame, extra: Mapping[str, object]
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    """The materialization (the definition's parameters, each instrument's class balance) and the
    passed coverage check."""
    yield dg.MaterializeResult(
        metadata={
            "dagster/row_count": labelled_rows.height,
            "scheme": config.scheme,
            "horizon": config.lookahead,
            "near_atr": config.near,
            "far_atr": config.far,
            "class_balance": dg.MetadataValue.md(markdown(shares, limit=100)),
            "class_balance_json": dg.MetadataValue.json(shares.to_dicts()),
            **extra,
        }
    )
    yield dg.AssetCheckResult(
        check_name=COVERAGE, passed=True, metadata={"labelled": labelled_rows["label"].is_not_null().sum()}
    )
