"""The dashboard for the people who read the results (Dash and Plotly), mounted beside the API.

Dash, because the pages are mostly plots people interact with (a click on a ranked symbol opens its
history) and Plotly draws them; it runs as a WSGI app inside the API's server, so `make dashboard`
is one process, one port and one read-only connection. Every number comes from web/queries.py, the
API's own queries.

Pages: the volatility ranking over any look-back (top and bottom N with a sparkline each, a
symbol's rolling volatility on click), the short-selling picture (a symbol's short ratio and days to
cover beside its price, the sector x horizon correlations with their sample sizes, the decile
returns), the coin explorer (web/coin_explorer.py), the alert rules and delivered alerts
(web/alerts_page.py) and the direction model's predictions beside its evaluation.
"""

import datetime as dt
import math
import urllib.parse

import dash
import duckdb
import plotly.graph_objects as go
import polars as pl
from dash import ALL, Input, Output, State, ctx, dcc, html

from resources.lake import LakeResource
from web import alerts_page, coin_explorer, queries
from web.connection import LakeReader
from web.tables import data_table

LOOKBACK = queries.LOOKBACK_DAYS
DATASETS = ("crypto_1m", "crypto_1h", "crypto_1d", "equity_1d")
PAGES = {
    "/": "Volatility ranking",
    "/short": "Short selling",
    "/coins": "Coin explorer",
    "/alerts": "Alerts",
    "/predictions": "Predictions",
}


def sparkline(values: list[float], width: int = 120, height: int = 24) -> str:
    """An SVG polyline of `values` as a data URI: a row's shape at a glance, no plot per row."""
    finite = [v for v in values if v is not None and math.isfinite(v)]
    if len(finite) < 2:
        return ""
    low, high = min(finite), max(finite)
    span = (high - low) or 1.0
    step = width / (len(finite) - 1)
    points = " ".join(f"{i * step:.1f},{height - (v - low) / span * height:.1f}" for i, v in enumerate(finite))
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}">'
        f'<polyline fill="none" stroke="#1f77b4" stroke-width="1.5" points="{points}"/></svg>'
    )
    return "data:image/svg+xml;utf8," + urllib.parse.quote(svg)


def ranking_table(title: str, rows: pl.DataFrame, paths: dict[str, list[float]], table_id: str) -> html.Div:
    header = html.Tr([html.Th(c) for c in ("#", "symbol", "market", "sector", "volatility (USD, annualised)", "price")])
    body = [
        html.Tr(
            [
                html.Td(str(number)),
                html.Td(html.Button(row["symbol"], id={"type": "symbol", "index": row["symbol"]}, className="symbol")),
                html.Td(row["market"] or ""),
                html.Td(row["sector"] or ""),
                html.Td(f"{row['volatility_usd']:.1%}"),
                html.Td(html.Img(src=sparkline(paths.get(row["symbol"], [])), alt=f"{row['symbol']} price")),
            ]
        )
        for number, row in enumerate(rows.iter_rows(named=True), 1)
    ]
    return html.Div([html.H3(title), html.Table([header, *body], id=table_id)])


def ranking_page(markets: list[str], sectors: list[str]) -> html.Div:
    def field(label: str, control: object) -> html.Label:
        return html.Label([label, control], style={"marginRight": "1em"})

    return html.Div(
        [
            html.Div(
                [
                    field("look-back (days) ", dcc.Input(id="lookback", type="number", value=365, debounce=True)),
                    field(
                        "top/bottom N ", dcc.Input(id="top-n", type="number", value=10, min=1, max=100, debounce=True)
                    ),
                    field("market ", dcc.Dropdown(markets, id="market", placeholder="all", style={"width": "10em"})),
                    field("sector ", dcc.Dropdown(sectors, id="sector", placeholder="all", style={"width": "14em"})),
                    field(
                        "window (days) ", dcc.Input(id="window", type="number", value=21, min=5, max=252, debounce=True)
                    ),
                    field("step (days) ", dcc.Input(id="step", type="number", value=1, min=1, max=63, debounce=True)),
                ],
                style={"display": "flex", "flexWrap": "wrap", "alignItems": "center"},
            ),
            html.Div(id="ranking-message", style={"color": "#b00020"}),
            html.Div(id="ranking", style={"display": "flex", "gap": "3em"}),
            dcc.Store(id="chosen"),
            dcc.Graph(id="history"),
        ]
    )


def short_page(symbol: str | None, periods: list[str]) -> html.Div:
    return html.Div(
        [
            html.Label(["symbol ", dcc.Input(id="short-symbol", value=symbol or "", debounce=True)]),
            html.Div(id="short-message", style={"color": "#b00020"}),
            dcc.Graph(id="short-panel"),
            html.Label(
                ["period ", dcc.Dropdown(periods, periods[-1] if periods else None, id="period", clearable=False)],
                style={"width": "14em", "display": "block"},
            ),
            dcc.Graph(id="correlations"),
            dcc.Graph(id="deciles"),
        ]
    )


def short_panel_figure(symbol: str, panel: pl.DataFrame) -> go.Figure:
    """The close on the left axis, the short ratio and days to cover on the right: does heavy shorting
    come before the price moves?"""
    figure = go.Figure(layout={"height": 380, "title": f"{symbol}: close, short ratio and days to cover"})
    days = panel["trade_date"].to_list()
    figure.add_scatter(x=days, y=panel["close"].to_list(), name="close", mode="lines")
    figure.add_scatter(x=days, y=panel["short_ratio"].to_list(), name="short ratio", yaxis="y2", mode="lines")
    figure.add_scatter(
        x=days, y=panel["finra_days_to_cover"].to_list(), name="days to cover", yaxis="y2", mode="lines+markers"
    )
    figure.update_layout(yaxis={"title": "close"}, yaxis2={"title": "ratio / days", "overlaying": "y", "side": "right"})
    return figure


def correlation_figure(cells: pl.DataFrame, period: str) -> go.Figure:
    """Sector x horizon heat map of the correlations, each cell's sample size written in it."""
    sectors = sorted(cells["sector"].unique().to_list())
    horizons = sorted(cells["horizon_days"].unique().to_list())
    value = {(r["sector"], r["horizon_days"]): r for r in cells.iter_rows(named=True)}
    z = [[(value.get((s, h)) or {}).get("correlation") for h in horizons] for s in sectors]
    text = [[f"n={(value.get((s, h)) or {}).get('n_sample', 0):,}" for h in horizons] for s in sectors]
    figure = go.Figure(
        go.Heatmap(
            z=z,
            x=[f"{h} days" for h in horizons],
            y=sectors,
            text=text,
            texttemplate="%{z:.2f}<br>%{text}",
            colorscale="RdBu",
            zmid=0,
        ),
        layout={"height": 120 + 28 * len(sectors), "title": f"short ratio vs forward return by sector ({period})"},
    )
    return figure


def decile_figure(deciles: pl.DataFrame) -> go.Figure:
    figure = go.Figure(layout={"height": 360, "title": "mean next-month return by decile (1 = lowest), equal-weighted"})
    for (sorted_by,), rows in deciles.group_by("sorted_by", maintain_order=True):
        figure.add_bar(x=rows["portfolio"].to_list(), y=rows["mean_monthly_return"].to_list(), name=sorted_by)
    figure.update_layout(yaxis_tickformat=".1%", xaxis={"type": "category"})
    return figure


def predictions_page() -> html.Div:
    return html.Div(
        [
            dcc.Dropdown(list(DATASETS), "crypto_1m", id="dataset", clearable=False, style={"width": "12em"}),
            html.Div(id="predictions"),
            dcc.Graph(id="evaluation"),
        ]
    )


def lake_not_ready(error: Exception) -> None:
    """A mart the lake has not built (a world without crypto, a model never trained) is said on the page,
    as the API's 503 says it; any other error stays an error."""
    if not isinstance(error, duckdb.CatalogException):
        raise error
    first_line = str(error).splitlines()[0]
    dash.set_props("page-error", {"children": f"the lake cannot answer this yet (not built): {first_line}"})


def build(reader: LakeReader, lake: LakeResource | None = None) -> dash.Dash:
    """The Dash app over `reader`'s connection; `lake`, if given, lets the alerts page edit the rules."""
    app = dash.Dash(
        __name__, title="tickerlake", suppress_callback_exceptions=True, on_error=lake_not_ready, eager_loading=True
    )
    app.layout = html.Div(
        [
            dcc.Location(id="url"),
            html.Nav([dcc.Link(name, href=path, style={"marginRight": "1.5em"}) for path, name in PAGES.items()]),
            html.H1(id="title"),
            html.Div(id="page-error", style={"color": "#b00020"}),
            html.Div(id="page"),
        ],
        style={"fontFamily": "sans-serif", "margin": "1em 2em"},
    )

    @app.callback(
        Output("page", "children"),
        Output("title", "children"),
        Output("page-error", "children"),
        Input("url", "pathname"),
        Input("url", "search"),
    )
    def page(path: str, search: str | None) -> tuple[object, str, str]:
        return *layout_of(path, search), ""

    def layout_of(path: str, search: str | None) -> tuple[object, str]:
        if path == "/predictions":
            return predictions_page(), PAGES[path]
        if path == "/coins":
            return coin_explorer.layout(reader, search), PAGES[path]
        if path == "/alerts":
            return alerts_page.layout(editable=lake is not None), PAGES[path]
        if path == "/short":
            with reader.cursor() as con:
                symbol, periods = queries.busiest_symbol(con), queries.correlation_periods(con)
            return short_page(symbol, periods), PAGES[path]
        with reader.cursor() as con:
            markets, sectors = queries.markets_and_sectors(con)
        return ranking_page(markets, sectors), PAGES["/"]

    @app.callback(
        Output("ranking", "children"),
        Output("ranking-message", "children"),
        Input("lookback", "value"),
        Input("top-n", "value"),
        Input("market", "value"),
        Input("sector", "value"),
    )
    def ranking(lookback: int | None, top: int | None, market: str | None, sector: str | None) -> tuple[object, str]:
        if lookback is None or not LOOKBACK[0] <= lookback <= LOOKBACK[1]:
            return dash.no_update, f"look-back: a whole number of days from {LOOKBACK[0]} to {LOOKBACK[1]}"
        top = max(1, min(int(top or 10), 100))
        with reader.cursor() as con:
            ranked = queries.volatility_ranking(con, lookback, market, sector)
            if ranked.is_empty():
                return [], "no symbol has five returns in that look-back"
            highest, lowest = ranked.head(top), queries.lowest_first(ranked).head(top)
            prices = queries.daily_returns(con, [*highest["symbol"], *lowest["symbol"]], lookback)
        paths = {s: frame["adj_close_usd"].to_list() for (s,), frame in prices.group_by("symbol")}
        return [
            ranking_table(f"Most volatile {top}", highest, paths, "most-volatile"),
            ranking_table(f"Least volatile {top}", lowest, paths, "least-volatile"),
        ], ""

    @app.callback(
        Output("chosen", "data"),
        Input({"type": "symbol", "index": ALL}, "n_clicks"),
        prevent_initial_call=True,
    )
    def choose(clicks: list[int | None]) -> str:
        if not any(clicks):
            return dash.no_update
        return ctx.triggered_id["index"]

    @app.callback(
        Output("history", "figure"),
        Input("chosen", "data"),
        Input("window", "value"),
        Input("step", "value"),
        State("lookback", "value"),
    )
    def history(symbol: str | None, window: int | None, step: int | None, lookback: int | None) -> go.Figure:
        figure = go.Figure(layout={"title": "click a symbol for its volatility history", "height": 360})
        if not symbol or not lookback:
            return figure
        window, step = max(5, int(window or 21)), max(1, int(step or 1))
        with reader.cursor() as con:
            returns = queries.daily_returns(con, [symbol], max(lookback, window * 2))
        rolling = returns.with_columns(
            (pl.col("daily_return_usd").rolling_std(window) * math.sqrt(queries.TRADING_DAYS_A_YEAR)).alias("vol")
        ).gather_every(step, offset=0)
        figure.add_scatter(x=rolling["trade_date"].to_list(), y=rolling["vol"].to_list(), mode="lines", name=symbol)
        figure.update_layout(
            title=f"{symbol}: {window}-day volatility of daily USD returns, annualised, every {step} day(s)",
            yaxis_tickformat=".0%",
        )
        return figure

    @app.callback(Output("short-panel", "figure"), Output("short-message", "children"), Input("short-symbol", "value"))
    def short_symbol(symbol: str | None) -> tuple[go.Figure, str]:
        symbol = (symbol or "").strip().upper()
        with reader.cursor() as con:
            if not symbol or not queries.has_symbol(con, symbol):
                return go.Figure(layout={"height": 380}), f"symbol: no short-selling data for {symbol!r}"
            last = queries.newest_trading_day(con)
            panel = queries.short_panel(con, symbol, last - dt.timedelta(days=365), last, 1000, 0).rows
        return short_panel_figure(symbol, panel), ""

    @app.callback(Output("correlations", "figure"), Output("deciles", "figure"), Input("period", "value"))
    def short_marts(period: str | None) -> tuple[go.Figure, go.Figure]:
        with reader.cursor() as con:
            cells = queries.sector_correlations(con, period or "all")
            deciles = queries.decile_returns(con)
        return correlation_figure(cells, period or "all"), decile_figure(deciles)

    @app.callback(Output("predictions", "children"), Output("evaluation", "figure"), Input("dataset", "value"))
    def predictions(dataset: str) -> tuple[object, go.Figure]:
        with reader.cursor() as con:
            latest = queries.latest_predictions(con, dataset, 1000, 0).rows
            model = queries.model_evaluation(con, dataset)
        columns = ["instrument", "bar_time", "predicted", "p_up2", "p_up1", "p_flat", "p_down1", "p_down2"]
        table = (
            data_table(latest.select(columns).with_columns(pl.col(pl.Float64).round(2)), "latest-predictions")
            if latest.height
            else html.P(f"no {dataset} predictions: no promoted model has served yet", id="latest-predictions")
        )
        figure = go.Figure(layout={"title": f"no {dataset} model has been trained", "height": 360})
        if model.height:
            row = model.row(0, named=True)
            names = ["BiGRU", "majority", "persistence", "boosted trees"]
            prefixes = ["", "majority_", "persistence_", "boosted_trees_"]
            for score in ("accuracy", "macro_f1"):
                figure.add_bar(x=names, y=[row[f"{p}{score}"] for p in prefixes], name=score.replace("_", "-"))
            figure.update_layout(
                title=f"{row['version']} on {row['test_samples']:,} test sequences (promoted: {row['promoted']})"
            )
        return table, figure

    coin_explorer.register(app, reader)
    alerts_page.register(app, reader, lake)
    return app
