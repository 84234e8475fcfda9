"""The dashboard without a browser (tests/test_browser.py drives it in one): it is served beside the
API, its layout links the pages, a sparkline is drawn from the values it is given, and the short
page's figures hold the marts' values."""

import urllib.parse

import polars as pl
from fastapi.testclient import TestClient

from resources.lake import Dataset, LakeResource
from resources.sql import reader
from tests.test_api import store
from web import queries
from web.api import create_app
from web.dashboard import correlation_figure, sparkline


def test_a_sparkline_spans_its_box_from_the_lowest_to_the_highest_value() -> None:
    svg = urllib.parse.unquote(sparkline([1.0, 3.0, float("nan"), 2.0], width=100, height=10).split(",", 1)[1])
    assert 'points="0.0,10.0 50.0,0.0 100.0,5.0"' in svg, "NaN left out; lowest at the bottom, highest at the top"
    assert sparkline([1.0]) == "" and sparkline([]) == ""


def test_the_dashboard_is_served_beside_the_api(lake: LakeResource) -> None:
    store(lake)
    with TestClient(create_app(reader)) as client:
        page = client.get("/")
        assert page.status_code == 200 and "<title>tickerlake</title>" in page.text
        layout = client.get("/_dash-layout").text
        assert "predictions" in layout and "Predictions" in layout and "Volatility ranking" in layout
        assert client.get("/api/v1/ranking").json()["total"] == 3, "the API's routes come before the dashboard's"


def test_the_short_pages_figures_come_from_the_marts(lake: LakeResource) -> None:
    """The heat map holds each sector and horizon's correlation with its sample size; the deciles come
    1..10 in number order (not as text: 1, 10, 2), the low-minus-high row left out."""
    store(lake)
    cells = pl.DataFrame(
        {
            "sector": ["Money", "Money", "Shops", "Shops"],
            "horizon_days": [1, 22, 1, 22],
            "period": "all",
            "correlation": [0.1, -0.2, 0.3, 0.05],
            "n_sample": [120, 80, 45, 30],
        }
    )
    lake.replace(Dataset("mart_sector_short_return_correlation", dict(cells.schema), schema_name="marts"), cells)
    portfolios = [str(n) for n in range(1, 11)] + ["low-high"]
    deciles = pl.DataFrame(
        {
            "sorted_by": ["days_to_cover"] * 11,
            "period": "all",
            "portfolio": portfolios,
            "mean_monthly_return": [n / 100 for n in range(11)],
            "vw_mean_monthly_return": 0.0,
            "months": 3,
        }
    )
    lake.replace(Dataset("mart_days_to_cover_deciles", dict(deciles.schema), schema_name="marts"), deciles)
    with reader() as con:
        figure = correlation_figure(queries.sector_correlations(con, "all"), "all")
        ordered = queries.decile_returns(con)
        assert queries.busiest_symbol(con) == "AAA" and queries.correlation_periods(con) == ["all"]
    heat = figure.data[0]
    assert list(heat.y) == ["Money", "Shops"] and list(heat.x) == ["1 days", "22 days"]
    assert [list(row) for row in heat.z] == [[0.1, -0.2], [0.3, 0.05]]
    assert heat.text[1][0] == "n=45"
    assert ordered["portfolio"].to_list() == [str(n) for n in range(1, 11)]
