"""The alerts page: the stored alert rules with pause, resume and delete, a form that adds one, and every
delivered alert with the time it was sent.

The form's fields are checked by the same function as a rules file (assets/alert_rules.py
parse_rule), so a bad entry is refused with the message naming the field and nothing is stored. The
rule edits are the dashboard's only write and touch only the rule table; they go through the lake
resource the assets use (`lake`), everything shown through the read-only connection. Without a lake
(the API alone, in tests), the rules are listed and the editor is off.
"""

import time

import dash
from dash import ALL, Input, Output, State, ctx, dcc, html

from assets.alert_rules import (
    CHANNELS,
    OPERATORS,
    SERIES,
    AlertRulesError,
    add_rules,
    delete_rule,
    parse_rule,
    rule_of,
    set_paused,
)
from assets.indicators import INTERVALS
from resources.lake import LakeResource, LakeWriteError
from web import queries
from web.connection import LakeReader
from web.tables import data_table

SHOWN_ALERTS = 200
REFRESH_SECONDS = 30
RULE_COLUMNS = ("name", "interval", "rule", "pairs", "max rank", "channel", "state", "")
ALERT_COLUMNS = ("sent_at", "rule", "pair", "interval", "bar_open_time", "message")


def layout(editable: bool) -> html.Div:
    def field(label: str, control: object) -> html.Label:
        return html.Label([label, control], style={"display": "inline-block", "marginRight": "1em"})

    def choice(options: tuple[str, ...], value: str, id_: str, width: str = "9em") -> dcc.Dropdown:
        return dcc.Dropdown(list(options), value, id=id_, clearable=False, style={"width": width})

    form = html.Div(
        [
            field(
                "name ", dcc.Input(id="rule-name", type="text", placeholder="rsi-oversold-1h", style={"width": "12em"})
            ),
            field("interval ", choice(INTERVALS, "1h", "rule-interval", "5em")),
            field("series ", choice(SERIES, "rsi_14", "rule-series", "14em")),
            field("operator ", choice(OPERATORS, "crosses_below", "rule-operator", "11em")),
            field(
                "threshold ",
                dcc.Input(id="rule-threshold", type="text", placeholder="30, or s1", style={"width": "7em"}),
            ),
            field(
                "pairs ",
                dcc.Input(
                    id="rule-pairs", type="text", value="*", placeholder="BTCUSDT,ETHUSDT", style={"width": "12em"}
                ),
            ),
            field("max market cap rank ", dcc.Input(id="rule-rank", type="number", min=1, placeholder="any")),
            field("channel ", choice(CHANNELS, "default", "rule-channel")),
            html.Button("Add rule", id="rule-add"),
        ],
        style={"display": "flex", "flexWrap": "wrap", "alignItems": "flex-end", "gap": "0.5em"},
    )
    return html.Div(
        [
            html.Div([html.H3("Add a rule"), form], hidden=not editable),
            html.Div(id="rule-message", style={"margin": "0.5em 0"}),
            dcc.Store(id="rules-edited"),
            html.H3("Rules"),
            html.Div(id="rules"),
            html.H3("Delivered alerts"),
            html.Div(id="delivered"),
            dcc.Interval(id="alerts-refresh", interval=REFRESH_SECONDS * 1000),
        ]
    )


def entry_of(
    name: str | None,
    interval: str,
    series: str,
    operator: str,
    threshold: str | None,
    pairs: str | None,
    rank: int | float | None,
    channel: str,
) -> dict[str, object]:
    """The form's fields as a rule mapping: a threshold that reads as a number is one, else a series."""
    text = (threshold or "").strip()
    try:
        value: object = float(text)
    except ValueError:
        value = text
    listed = [p.strip().upper() for p in (pairs or "*").replace(" ", ",").split(",") if p.strip()]
    entry = {"name": name or "", "interval": interval, "series": series, operator: value, "channel": channel}
    if listed and listed != ["*"]:
        entry["pairs"] = listed
    if rank is not None:
        entry["max_market_cap_rank"] = int(rank) if float(rank).is_integer() else rank
    return entry


def rules_table(reader: LakeReader, editable: bool) -> html.Table | html.P:
    with reader.cursor() as con:
        rules = queries.alert_rules(con)
    if rules.is_empty():
        return html.P("no rules stored: add one above", id="rules-table")

    def actions(name: str, paused: bool) -> html.Td:
        if not editable:
            return html.Td("")
        return html.Td(
            [
                html.Button(
                    "resume" if paused else "pause",
                    id={"type": "rule-pause", "index": name, "to": "resume" if paused else "pause"},
                ),
                html.Button("delete", id={"type": "rule-delete", "index": name}),
            ]
        )

    body = [
        html.Tr(
            [
                html.Td(rule.name),
                html.Td(rule.interval),
                html.Td(rule.describe()),
                html.Td(",".join(rule.pairs)),
                html.Td("" if rule.max_market_cap_rank is None else str(rule.max_market_cap_rank)),
                html.Td(rule.channel),
                html.Td("paused" if rule.paused else "active"),
                actions(rule.name, rule.paused),
            ]
        )
        for rule in map(rule_of, rules.iter_rows(named=True))
    ]
    return html.Table([html.Tr([html.Th(c) for c in RULE_COLUMNS]), *body], id="rules-table")


def register(app: dash.Dash, reader: LakeReader, lake: LakeResource | None) -> None:
    @app.callback(
        Output("rules-edited", "data"),
        Output("rule-message", "children"),
        Output("rule-message", "style"),
        Input("rule-add", "n_clicks"),
        Input({"type": "rule-pause", "index": ALL, "to": ALL}, "n_clicks"),
        Input({"type": "rule-delete", "index": ALL}, "n_clicks"),
        State("rule-name", "value"),
        State("rule-interval", "value"),
        State("rule-series", "value"),
        State("rule-operator", "value"),
        State("rule-threshold", "value"),
        State("rule-pairs", "value"),
        State("rule-rank", "value"),
        State("rule-channel", "value"),
        prevent_initial_call=True,  # also for the buttons of a table just drawn: only a click edits
    )
    def edit(_add: int | None, _pause: list, _delete: list, *form: object) -> tuple[object, str, dict]:
        """Apply the edit the click asked for; the rules are listed again after it."""
        if lake is None or not any(t["value"] for t in ctx.triggered):
            return dash.no_update, dash.no_update, dash.no_update
        try:
            message, ok = apply(lake, ctx.triggered_id, form), True
        except (AlertRulesError, LakeWriteError) as error:  # a bad entry, or the catalog stayed locked
            message, ok = str(error), False
        style = {"margin": "0.5em 0", "color": "#1a7f37" if ok else "#b00020"}
        return time.time(), message, style

    @app.callback(Output("rules", "children"), Input("rules-edited", "data"), Input("alerts-refresh", "n_intervals"))
    def rules(_edited: float | None, _tick: int | None) -> object:
        return rules_table(reader, lake is not None)

    @app.callback(Output("delivered", "children"), Input("alerts-refresh", "n_intervals"))
    def delivered(_: int | None) -> object:
        with reader.cursor() as con:
            page = queries.alerts(con, SHOWN_ALERTS, 0)
        if not page.total:
            return html.P("no alert has been delivered yet", id="delivered-table")
        return html.Div(
            [
                html.P(f"{page.total:,} delivered, the newest {min(page.total, SHOWN_ALERTS)} shown"),
                data_table(page.rows.select(ALERT_COLUMNS), "delivered-table", page_size=20),
            ]
        )


def apply(lake: LakeResource, trigger: object, form: tuple[object, ...]) -> str:
    """One edit of the rule table; what was done, or an AlertRulesError naming the field."""
    if trigger == "rule-add":
        rule = parse_rule(entry_of(*form), "alert rule")
        add_rules(lake, [rule])
        return f"stored {rule.name}: {rule.describe()} on {rule.interval} bars"
    name = trigger["index"]
    if trigger["type"] == "rule-delete":
        delete_rule(lake, name)
        return f"deleted {name}"
    # The state the button said it would set, not a flip of what is stored: two tabs pausing the same
    # rule leave it paused.
    set_paused(lake, name, trigger["to"] == "pause")
    return f"{trigger['to']}d {name}"
