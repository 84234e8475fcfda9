"""The coin explorer page: a pair's candles at 1m, 1h or 1d with its indicators drawn over them, and
the universe of pairs by their coin's market cap rank.

The chart is what a trader reads an alert rule against: Bollinger bands and the floor-trader pivot
with its first two supports and resistances on the candles, the TD Sequential setup counts written
above (sell) and below (buy) the bars, and the RSI with its 30 and 70 lines underneath. A click on a
pair of the universe opens its chart.
"""

import datetime as dt

import dash
import plotly.graph_objects as go
import polars as pl
from dash import ALL, Input, Output, ctx, dcc, html
from plotly.subplots import make_subplots

from web import queries
from web.connection import LakeReader

# The days before the pair's newest UTC day each interval's chart draws too (at most 1,440 1m bars,
# 744 hourly, 366 daily), and the most bars a chart asks for.
SPAN_DAYS = {"1m": 0, "1h": 30, "1d": 365}
MAX_BARS = 1500
SHORT_CHART_BARS = 200
LEVELS = {"pivot": "#7f7f7f", "r1": "#d62728", "r2": "#ff9896", "s1": "#2ca02c", "s2": "#98df8a"}


def layout(reader: LakeReader) -> html.Div:
    with reader.cursor() as con:
        universe = queries.coin_universe(con)
    pairs = universe["pair"].to_list()
    return html.Div(
        [
            html.Div(
                [
                    html.Label(["pair ", dcc.Dropdown(pairs, pairs[0] if pairs else None, id="coin-pair")]),
                    html.Span("interval ", style={"marginLeft": "2em"}),
                    dcc.RadioItems(list(SPAN_DAYS), "1h", id="coin-interval", inline=True),
                ],
                style={"display": "flex", "alignItems": "center", "width": "40em"},
            ),
            html.Div(id="coin-message", style={"color": "#b00020"}),
            dcc.Graph(id="coin-chart"),
            html.H3("Universe: pairs by their coin's market cap rank"),
            universe_table(universe),
        ]
    )


def universe_table(universe: pl.DataFrame) -> html.Table:
    header = html.Tr([html.Th(c) for c in ("rank", "pair", "coin", "market cap (USD bn)", "close", "newest day")])
    rows = [
        html.Tr(
            [
                html.Td("" if row["market_cap_rank"] is None else str(row["market_cap_rank"])),
                html.Td(html.Button(row["pair"], id={"type": "coin", "index": row["pair"]}, className="symbol")),
                html.Td(row["name"] or ""),
                html.Td("" if row["market_cap_usd"] is None else f"{row['market_cap_usd'] / 1e9:,.1f}"),
                html.Td(f"{row['close']:,.6g}"),
                html.Td(f"{row['newest_bar']:%Y-%m-%d}"),
            ]
        )
        for row in universe.iter_rows(named=True)
    ]
    return html.Table([header, *rows], id="coin-universe")


def chart(pair: str, interval: str, bars: pl.DataFrame) -> go.Figure:
    """Candles with Bollinger bands, pivot levels and TD setup counts; the RSI beneath."""
    figure = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.72, 0.28], vertical_spacing=0.04)
    time = bars["open_time"].to_list()
    figure.add_candlestick(
        x=time, open=bars["open"], high=bars["high"], low=bars["low"], close=bars["close"], name=pair, row=1, col=1
    )
    for band, dash_style in (("bb_upper", "dot"), ("bb_middle", "dash"), ("bb_lower", "dot")):
        figure.add_scatter(
            x=time, y=bars[band], name=band, mode="lines", line={"color": "#9467bd", "dash": dash_style}, row=1, col=1
        )
    for level, colour in LEVELS.items():
        figure.add_scatter(
            x=time, y=bars[level], name=level, mode="lines", line={"color": colour, "shape": "hv"}, row=1, col=1
        )
    # Every count on a short chart; on a long one only a setup's last counts (7, 8, 9 and on), which
    # are what a trader looks for and what stays legible.
    lowest_count = 1 if bars.height <= SHORT_CHART_BARS else 7
    for side, column, anchor, position in (
        ("sell", "td_sell_setup", "high", "top center"),
        ("buy", "td_buy_setup", "low", "bottom center"),
    ):
        counted = bars.filter(pl.col(column) >= lowest_count)
        figure.add_scatter(
            x=counted["open_time"].to_list(),
            y=counted[anchor],
            text=counted[column].cast(pl.String).to_list(),
            mode="text",
            textposition=position,
            textfont={"color": "#d62728" if side == "sell" else "#2ca02c", "size": 9},
            name=f"TD {side} setup",
            row=1,
            col=1,
        )
    figure.add_scatter(x=time, y=bars["rsi_14"], name="RSI 14", mode="lines", line={"color": "#1f77b4"}, row=2, col=1)
    for level in (30, 70):
        figure.add_hline(y=level, line={"color": "#aaaaaa", "dash": "dash"}, row=2, col=1)
    figure.update_layout(
        height=640, title=f"{pair} {interval}: {bars.height:,} bars", xaxis_rangeslider_visible=False, legend_x=1.02
    )
    figure.update_yaxes(title_text="price", row=1, col=1)
    figure.update_yaxes(title_text="RSI", range=[0, 100], row=2, col=1)
    return figure


def register(app: dash.Dash, reader: LakeReader) -> None:
    @app.callback(
        Output("coin-pair", "value"),
        Input({"type": "coin", "index": ALL}, "n_clicks"),
        prevent_initial_call=True,
    )
    def choose(clicks: list[int | None]) -> str:
        if not any(clicks):
            return dash.no_update
        return ctx.triggered_id["index"]

    @app.callback(
        Output("coin-chart", "figure"),
        Output("coin-message", "children"),
        Input("coin-pair", "value"),
        Input("coin-interval", "value"),
    )
    def draw(pair: str | None, interval: str) -> tuple[go.Figure, str]:
        empty = go.Figure(layout={"height": 640})
        if not pair:
            return empty, "no pair has daily bars yet: run the crypto top-up and its marts"
        with reader.cursor() as con:
            newest = queries.newest_bar_day(con, interval, pair)
            if newest is None:
                return empty, f"pair: no {interval} bars for {pair}"
            start = newest - dt.timedelta(days=SPAN_DAYS[interval])
            bars = queries.pair_bars(con, pair, interval, start, newest, MAX_BARS, 0).rows
        return chart(pair, interval, bars), ""
