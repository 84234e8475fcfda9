"""The dashboard without a browser (tests/test_browser.py drives it in one): it is served beside the
API, its layout links both pages, and a sparkline is drawn from the values it is given."""

import urllib.parse

from fastapi.testclient import TestClient

from resources.lake import LakeResource
from resources.sql import reader
from tests.test_api import store
from web.api import create_app
from web.dashboard import sparkline


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
