"""The coin explorer page: a pair's candles at 1m, 1h or 1d with its indicators drawn over them, and
the universe of pairs by their coin's market cap rank.

The chart is what a trader reads an alert rule against: Bollinger bands and the floor-trader pivot
with its first two supports and resistances on the candles, the TD Sequential setup counts written
above (sell) and below (buy) the bars, and the RSI with its 30 and 70 lines underneath. A pair of the
universe is a link to its chart (links, not buttons: a hundred pattern-matched buttons cost the
browser a tenth of a second to wire up).
"""

import datetime as dt
import urllib.parse

import dash
import plotly.graph_objects as go
import polars as pl
from dash import Input, Output, dcc, html
from plotly.subplots import make_subplots

from web import queries
from web.connection import LakeReader
from web.tables import data_table

# The days before the pair's newest UTC day each interval's chart draws too (at most 1,440 1m bars,
# 744 hourly, 366 daily), and the most bars a chart asks for.
SPAN_DAYS = {"1m": 0, "1h": 30, "1d": 365}
MAX_BARS = 1500
SHORT_CHART_BARS = 200
DEFAULT_INTERVAL = "1h"
LEVELS = {"pivot": "#7f7f7f", "r1": "#d62728", "r2": "#ff9896", "s1": "#2ca02c", "s2": "#98df8a"}


def layout(reader: LakeReader, search: str | None = None) -> html.Div:
    """The page with its chart already drawn (one round trip less before it shows): the pair and interval
    of the address (`/coins?pair=ETHUSDT&interval=1d`, what a click in the universe opens), by default
    the first pair's hourly candles."""
    with reader.cursor() as con:
        universe = queries.coin_universe(con)
    pairs = universe["pair"].to_list()
    asked = urllib.parse.parse_qs((search or "").lstrip("?"))
    chosen = asked.get("pair", [pairs[0] if pairs else None])[0]
    interval = asked.get("interval", [DEFAULT_INTERVAL])[0]
    interval = interval if interval in SPAN_DAYS else DEFAULT_INTERVAL
    figure, message = draw_chart(reader, chosen, interval)
    return html.Div(
        [
            html.Div(
                [
                    html.Label(["pair ", dcc.Dropdown(pairs, chosen, id="coin-pair")]),
                    html.Span("interval ", style={"marginLeft": "2em"}),
                    dcc.RadioItems(list(SPAN_DAYS), interval, id="coin-interval", inline=True),
                ],
                style={"display": "flex", "alignItems": "center", "width": "40em"},
            ),
            html.Div(message, id="coin-message", style={"color": "#b00020"}),
            dcc.Graph(id="coin-chart", figure=figure),
            html.H3("Universe: pairs by their coin's market cap rank"),
            universe_table(universe),
        ]
    )


def universe_table(universe: pl.DataFrame) -> object:
    """Rank, pair (a link to its chart), coin, market cap, newest daily close and its day."""
    shown = universe.select(
        pl.col("market_cap_rank").alias("rank"),
        "pair",
        pl.col("name").alias("coin"),
        (pl.col("market_cap_usd") / 1e9).round(1).alias("market cap (USD bn)"),
        pl.col("close").round_sig_figs(6).alias("close"),
        pl.col("newest_bar").dt.date().cast(pl.String).alias("newest day"),
    )
    return data_table(shown, "coin-universe", links={"pair": "/coins?pair={}"})


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
        Output("coin-chart", "figure"),
        Output("coin-message", "children"),
        Input("coin-pair", "value"),
        Input("coin-interval", "value"),
        prevent_initial_call=True,  # the layout drew the first chart
    )
    def draw(pair: str | None, interval: str) -> tuple[go.Figure, str]:
        return draw_chart(reader, pair, interval)


def draw_chart(reader: LakeReader, pair: str | None, interval: str) -> tuple[go.Figure, str]:
    """A pair's chart of one interval, or an empty one and why."""
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
