"""Long tables of the dashboard as one DataTable each, not a Dash component per cell.

The Dash renderer walks every component a callback returns: a hundred-row html.Table of links is
some seven hundred components and cost half a second in the browser (bench/dashboard.py measured the
coin explorer at 1.0 s with one, 0.5 s without). A DataTable is one component whatever its rows,
pages through them in the browser and sorts them.
"""

import datetime as dt

import polars as pl
from dash import dash_table

PAGE_SIZE = 25


def _cell(value: object) -> object:
    if isinstance(value, dt.datetime):
        return f"{value:%Y-%m-%d %H:%M:%S}" + (" UTC" if value.utcoffset() == dt.timedelta(0) else "")
    return value


def data_table(
    frame: pl.DataFrame, table_id: str, links: dict[str, str] | None = None, page_size: int = PAGE_SIZE
) -> dash_table.DataTable:
    """`frame` as a sortable, paged table; `links` maps a column to the address its values open, a
    format string of the value (`/coins?pair={}`)."""
    links = links or {}
    rows = [
        {
            column: f"[{value}]({links[column].format(value)})" if column in links else _cell(value)
            for column, value in row.items()
        }
        for row in frame.iter_rows(named=True)
    ]
    columns = [
        {"name": column, "id": column, **({"presentation": "markdown"} if column in links else {})}
        for column in frame.columns
    ]
    return dash_table.DataTable(
        rows,
        columns,
        id=table_id,
        page_size=page_size,
        sort_action="native",
        markdown_options={"link_target": "_self"},
        style_cell={"fontFamily": "sans-serif", "textAlign": "left", "padding": "2px 8px"},
        style_header={"fontWeight": "bold"},
        style_table={"overflowX": "auto"},
        css=[{"selector": "p", "rule": "margin: 0"}],  # a markdown cell (a link) as tall as the others
    )
