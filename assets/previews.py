"""What the marts show in the Dagster UI: top rows as markdown tables, two charts, and the charts as PNG.

Dagster 1.13 has no image metadata: an image is markdown, and the UI's asset pages show a markdown
value in place only when it is under 1,000 characters (ui-core MetadataEntry.tsx: `expandSmallValues
&& entry.mdStr.length < 1000`); longer ones, every PNG data URI among them, hide behind "[Show
Markdown]". So each chart is also drawn as a small markdown table of text bars and colour cells, kept
under that limit (INLINE_LIMIT), which the asset's page shows at once; the PNG stays a click away.

Read from the lake's catalog after dbt has exited, so the previews describe exactly what the build
left.
"""

import base64
import io
from collections.abc import Collection, Sequence

import dagster as dg
import duckdb
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

INLINE_LIMIT = 1000  # characters (UTF-16 code units, as the UI's JavaScript counts them)
BAR_WIDTH = 20
SECTOR_ORDER = [
    "NoDur",
    "Durbl",
    "Manuf",
    "Enrgy",
    "Chems",
    "BusEq",
    "Telcm",
    "Utils",
    "Shops",
    "Hlth",
    "Money",
    "Other",
]


def markdown_table(con: duckdb.DuckDBPyConnection, sql: str, parameters: Sequence[object] = ()) -> str:
    cursor = con.execute(sql, list(parameters))
    columns = [d[0] for d in cursor.description]
    rows = cursor.fetchall()
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None else str(value)


def inline_length(markdown: str) -> int:
    """The length the UI compares with INLINE_LIMIT: JavaScript's, in UTF-16 code units (an emoji is two)."""
    return len(markdown.encode("utf-16-le")) // 2


def _fitting(lines: list[str], head: int) -> str:
    """The first `head` lines (the table's header) and as many rows as fit under INLINE_LIMIT."""
    while len(lines) > head and inline_length("\n".join(lines)) >= INLINE_LIMIT:
        lines = lines[:-1]
    return "\n".join(lines)


def _most_volatile(con: duckdb.DuckDBPyConnection, top: int) -> list[tuple[str, float]]:
    return con.execute(
        "SELECT symbol, mean_return_volatility_usd FROM marts.mart_volatility_ranking ORDER BY volatility_rank LIMIT ?",
        [top],
    ).fetchall()


def volatility_bars(con: duckdb.DuckDBPyConnection, top: int = 10) -> str:
    """The most volatile symbols as a table of text bars, short enough to show in place."""
    rows = _most_volatile(con, top)
    if not rows:
        return "no ranked symbols yet"
    largest = max(v for _, v in rows) or 1.0
    lines = ["| symbol | volatility | |", "|---|---:|---|"]
    lines += [f"| {s} | {v:.4f} | {'█' * max(1, round(BAR_WIDTH * v / largest))} |" for s, v in rows]
    return _fitting(lines, 2)


def correlation_cells(con: duckdb.DuckDBPyConnection) -> str:
    """Sector x horizon correlations as a table of signed values with a colour cell (red above +0.05,
    blue below -0.05), short enough to show in place."""
    rows = con.execute(
        "SELECT sector, horizon_days, correlation FROM marts.mart_sector_short_return_correlation WHERE period = 'all'"
    ).fetchall()
    horizons = [1, 5, 22, 65]
    cells = {(sector, horizon): correlation for sector, horizon, correlation in rows}
    sectors = [s for s in SECTOR_ORDER if any(key[0] == s for key in cells)]
    if not sectors:
        return "no pairs of short ratio and forward return yet"
    lines = ["| sector | " + " | ".join(f"{h}d" for h in horizons) + " |", "|---|" + "---:|" * len(horizons)]
    lines += [
        f"| {sector} | " + " | ".join(_cell_colour(cells.get((sector, h))) for h in horizons) + " |"
        for sector in sectors
    ]
    return _fitting(lines, 2)


def _cell_colour(correlation: float | None) -> str:
    if correlation is None:
        return ""
    mark = "🟥" if correlation > 0.05 else "🟦" if correlation < -0.05 else "⬜"
    return f"{mark} {correlation:+.2f}"


def png_markdown(figure: plt.Figure, title: str) -> str:
    """The figure as a PNG inline in markdown: the UI shows it in the asset's metadata."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(figure)
    return f"![{title}](data:image/png;base64,{base64.b64encode(buffer.getvalue()).decode()})"


def correlation_heatmap(con: duckdb.DuckDBPyConnection) -> str:
    rows = con.execute(
        "SELECT sector, horizon_days, correlation FROM marts.mart_sector_short_return_correlation WHERE period = 'all'"
    ).fetchall()
    horizons = [1, 5, 22, 65]
    sectors = [s for s in SECTOR_ORDER if any(r[0] == s for r in rows)]
    if not sectors:
        return "no pairs of short ratio and forward return yet"
    grid = [[float("nan")] * len(horizons) for _ in sectors]
    for sector, horizon, correlation in rows:
        if sector in sectors and correlation is not None:
            grid[sectors.index(sector)][horizons.index(horizon)] = correlation
    figure, axes = plt.subplots(figsize=(5, 0.35 * len(sectors) + 1.2))
    image = axes.imshow(grid, cmap="RdBu_r", vmin=-1, vmax=1, aspect="auto")
    axes.set_xticks(range(len(horizons)), [f"{h}d" for h in horizons])
    axes.set_yticks(range(len(sectors)), sectors)
    axes.set_title("corr(short ratio, forward return), all periods")
    figure.colorbar(image, ax=axes)
    return png_markdown(figure, "sector x horizon correlation")


def volatility_bar_chart(con: duckdb.DuckDBPyConnection, top: int = 20) -> str:
    rows = _most_volatile(con, top)
    if not rows:
        return "no ranked symbols yet"
    figure, axes = plt.subplots(figsize=(6, 0.25 * len(rows) + 1))
    axes.barh([r[0] for r in reversed(rows)], [r[1] for r in reversed(rows)])
    axes.set_xlabel("mean 2-week volatility of daily returns")
    axes.set_title(f"most volatile symbols (top {len(rows)})")
    return png_markdown(figure, "volatility ranking")


SPARKS = "▁▂▃▄▅▆▇█"


def sparkline(values: list[float]) -> str:
    """Values as one line of eighth-blocks, lowest to highest: a history that fits in place."""
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    return "".join(SPARKS[min(len(SPARKS) - 1, int((v - low) / span * len(SPARKS)))] for v in values)


def _history(con: duckdb.DuckDBPyConnection, table: str, key: str, feature: str, bars: int) -> tuple[str, list]:
    """The first instrument's last `bars` values of `feature` (time order), from a feature mart."""
    first = con.execute(f"SELECT min({key}) FROM marts.{table}").fetchone()[0]
    rows = con.execute(
        f"SELECT bar_close_at, {feature} FROM marts.{table} WHERE {key} = ? AND {feature} IS NOT NULL "
        "ORDER BY bar_close_at DESC LIMIT ?",
        [first, bars],
    ).fetchall()
    return first, list(reversed(rows))


def feature_history(con: duckdb.DuckDBPyConnection, table: str, key: str, feature: str, bars: int = 60) -> str:
    """A feature's recent history for one instrument as a sparkline with its range, shown in place."""
    instrument, rows = _history(con, table, key, feature, bars)
    if not rows:
        return f"no {feature} values yet"
    values = [v for _, v in rows]
    return (
        f"**{instrument}** {feature}, last {len(rows)} bars to {rows[-1][0]:%Y-%m-%d %H:%M} UTC: "
        f"`{sparkline(values)}` (min {min(values):.4g}, max {max(values):.4g}, last {values[-1]:.4g})"
    )


def feature_history_chart(con: duckdb.DuckDBPyConnection, table: str, key: str, feature: str, bars: int = 500) -> str:
    instrument, rows = _history(con, table, key, feature, bars)
    if not rows:
        return f"no {feature} values yet"
    figure, axes = plt.subplots(figsize=(7, 2.5))
    axes.plot([r[0] for r in rows], [r[1] for r in rows], linewidth=1)
    axes.set_title(f"{instrument}: {feature} as known at each bar's close ({table})")
    figure.autofmt_xdate()
    return png_markdown(figure, f"{instrument} {feature}")


# Feature marts whose asset pages plot one feature's history: table -> (instrument column, feature).
FEATURE_PLOTS = {"fct_features_crypto_1h": ("pair", "rsi_14"), "fct_features_crypto_1d": ("pair", "rsi_14")}


def mart_previews(con: duckdb.DuckDBPyConnection, built: Collection[str]) -> dict[str, dict[str, dg.MetadataValue]]:
    """Metadata per dbt model name, for the models of `built` (a run's own: the charts are drawn only for
    the marts it wrote); models missing from the catalog are skipped."""
    tables = {
        r[0]
        for r in con.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'marts'").fetchall()
    } & set(built)
    previews: dict[str, dict[str, dg.MetadataValue]] = {}
    if "mart_sector_short_return_correlation" in tables:
        previews["mart_sector_short_return_correlation"] = {
            "correlation by sector and horizon": dg.MetadataValue.md(correlation_cells(con)),
            "preview": dg.MetadataValue.md(
                markdown_table(
                    con,
                    (
                        "SELECT sector, horizon_days, round(correlation, 3) AS correlation, n_sample, "
                        "n_interquartile FROM marts.mart_sector_short_return_correlation WHERE period = 'all' "
                        "ORDER BY sector, horizon_days"
                    ),
                )
            ),
            "heatmap (PNG)": dg.MetadataValue.md(correlation_heatmap(con)),
        }
    if "mart_volatility_ranking" in tables:
        previews["mart_volatility_ranking"] = {
            "most volatile symbols": dg.MetadataValue.md(volatility_bars(con)),
            "preview": dg.MetadataValue.md(
                markdown_table(
                    con,
                    (
                        "SELECT volatility_rank, symbol, mean_return_volatility_usd, mean_price_usd, n_windows "
                        "FROM marts.mart_volatility_ranking ORDER BY volatility_rank LIMIT 20"
                    ),
                )
            ),
            "bar chart (PNG)": dg.MetadataValue.md(volatility_bar_chart(con)),
        }
    if "fct_short_volume_daily" in tables:
        previews["fct_short_volume_daily"] = {
            "top_short_ratios": dg.MetadataValue.md(
                markdown_table(
                    con,
                    (
                        "SELECT trade_date, symbol, short_volume, total_volume, short_ratio "
                        "FROM marts.fct_short_volume_daily WHERE trade_date = ? "
                        "ORDER BY short_ratio DESC NULLS LAST LIMIT 10"
                    ),
                    # the newest day as a value, not a subquery: DuckDB then reads that day's files only
                    con.execute("SELECT max(trade_date) FROM marts.fct_short_volume_daily").fetchone(),
                )
            ),
        }
    for table, (key, feature) in FEATURE_PLOTS.items():
        if table in tables:
            previews[table] = {
                f"{feature} history": dg.MetadataValue.md(feature_history(con, table, key, feature)),
                f"{feature} history (PNG)": dg.MetadataValue.md(feature_history_chart(con, table, key, feature)),
            }
    return previews
