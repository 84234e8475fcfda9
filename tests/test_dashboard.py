"""The dashboard without a browser (tests/test_browser.py drives it in one): it is served beside the
API, its layout links the pages, a sparkline is drawn from the values it is given, the short page's
figures hold the marts' values, the coin explorer's chart and universe, the alert editor's edits
(checked, and writing the rule table only) and the sign-in a token asks for."""

import datetime as dt
import urllib.parse

import plotly.graph_objects as go
import polars as pl
import pytest
from fastapi.testclient import TestClient

from assets.alert_rules import RULES, AlertRulesError, stored_rules
from resources.lake import CATALOG_ALIAS, Dataset, LakeResource
from resources.sql import reader
from tests.test_api import mart, store
from web import queries
from web.alerts_page import apply, entry_of
from web.api import create_app
from web.coin_explorer import chart
from web.dashboard import correlation_figure, sparkline
from web.tables import data_table


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
        assert "Coin explorer" in layout and "Alerts" in layout
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


def test_the_coin_universe_ranks_pairs_by_their_coins_market_cap(lake: LakeResource) -> None:
    """A pair whose coin is out of the top N (or has none) comes after the ranked ones, without a rank."""
    days = [dt.datetime(2025, 1, d, tzinfo=dt.UTC) for d in (6, 7)]
    bars = pl.DataFrame(
        {"pair": ["BTCUSDT", "BTCUSDT", "ETHUSDT", "DOGEUSDT"], "open_time": [*days, days[1], days[1]]}
    ).with_columns(close=pl.Series([90.0, 95.0, 3.0, 0.3]))
    lake.replace(mart("fct_features_crypto_1d", dict(bars.schema)), bars)
    coins = pl.DataFrame(
        {
            "coin_id": ["ethereum", "bitcoin", "dogecoin"],
            "name": ["Ethereum", "Bitcoin", "Dogecoin"],
            "in_top_n": [True, True, False],
            "market_cap_rank": [2, 1, 9],
            "market_cap_usd": [4e11, 1.9e12, 5e10],
            "binance_pairs": [["ETHUSDT"], ["BTCUSDT", "BTCEUR"], ["DOGEUSDT"]],
        }
    )
    lake.replace(mart("dim_coins", dict(coins.schema)), coins)
    with reader() as con:
        universe = queries.coin_universe(con)
    assert universe.select("market_cap_rank", "pair", "close").rows() == [
        (1, "BTCUSDT", 95.0),
        (2, "ETHUSDT", 3.0),
        (None, "DOGEUSDT", 0.3),
    ]


def test_the_coin_chart_draws_candles_bands_levels_td_counts_and_the_rsi(lake: LakeResource) -> None:
    store(lake)
    with reader() as con:
        bars = queries.pair_bars(con, "BTCUSDT", "1h", dt.date(2024, 7, 11), dt.date(2024, 7, 12), 100, 0).rows
    bars = bars.with_columns(td_buy_setup=pl.Series([n % 10 for n in range(bars.height)], dtype=pl.Int32))
    figure = chart("BTCUSDT", "1h", bars)
    names = [trace.name for trace in figure.data]
    assert names[0] == "BTCUSDT" and isinstance(figure.data[0], go.Candlestick) and len(figure.data[0].x) == 48
    assert {"bb_upper", "bb_middle", "bb_lower", "pivot", "r1", "s1", "r2", "s2", "RSI 14"} <= set(names)
    buy = next(trace for trace in figure.data if trace.name == "TD buy setup")
    assert list(buy.text[:3]) == ["1", "2", "3"], "each counted bar is labelled with its count; 0 is not drawn"
    rsi = next(trace for trace in figure.data if trace.name == "RSI 14")
    assert rsi.yaxis == "y2" and [shape.y0 for shape in figure.layout.shapes] == [30, 70]


def test_the_form_is_checked_like_a_rules_file_and_names_the_field(lake: LakeResource) -> None:
    form = ["rsi-low", "1h", "rsi_14", "crosses_below", " 30 ", "btcusdt, ethusdt", 5, "webhook"]
    assert entry_of(*form) == {
        "name": "rsi-low",
        "interval": "1h",
        "series": "rsi_14",
        "crosses_below": 30.0,
        "channel": "webhook",
        "pairs": ["BTCUSDT", "ETHUSDT"],
        "max_market_cap_rank": 5,
    }
    assert apply(lake, "rule-add", tuple(form)) == "stored rsi-low: rsi_14 crosses below 30 on 1h bars"
    assert entry_of("s", "1d", "close", "crosses_below", "s1", "*", None, "default")["crosses_below"] == "s1"
    bad = {
        "threshold": ["x", "1h", "rsi_14", "above", "thirty", "*", None, "default"],
        "name": ["", "1h", "rsi_14", "above", "70", "*", None, "default"],
        "max_market_cap_rank": ["x", "1h", "rsi_14", "above", "70", "*", 1.5, "default"],
        "pairs": ["x", "1h", "rsi_14", "above", "70", "BTC/USDT", None, "default"],
    }
    for field, fields in bad.items():
        with pytest.raises(AlertRulesError, match=f"needs {field}"):
            apply(lake, "rule-add", tuple(fields))
    with pytest.raises(AlertRulesError, match="exists already"):
        apply(lake, "rule-add", tuple(form))
    assert [rule.name for rule in stored_rules(lake)] == ["rsi-low"], "nothing refused was stored"


def table_names_changed(lake: LakeResource, after: int) -> set[str]:
    """The tables (schema.name) the catalog's snapshots after `after` created, wrote or deleted from (a
    schema created on the way, history, is not a table)."""
    with lake.connect() as con:
        changes = con.execute(
            f"SELECT changes FROM ducklake_snapshots('{CATALOG_ALIAS}') WHERE snapshot_id > ?", [after]
        ).fetchall()
        kinds = [(key, values) for (change,) in changes for key, values in change.items() if key != "schemas_created"]
        created = {v for key, values in kinds if key == "tables_created" for v in values}
        ids = sorted({int(v) for key, values in kinds if key != "tables_created" for v in values})
        names = con.execute(
            f"SELECT DISTINCT s.schema_name || '.' || t.table_name "
            f"FROM __ducklake_metadata_{CATALOG_ALIAS}.ducklake_table AS t "
            f"JOIN __ducklake_metadata_{CATALOG_ALIAS}.ducklake_schema AS s USING (schema_id) "
            "WHERE list_contains(?, t.table_id)",
            [ids],
        ).fetchall()
    return {name for (name,) in names} | created


def newest_snapshot(lake: LakeResource) -> int:
    with lake.connect() as con:
        return con.execute(f"SELECT max(snapshot_id) FROM ducklake_snapshots('{CATALOG_ALIAS}')").fetchone()[0]


def test_the_editor_pauses_resumes_and_deletes_and_writes_only_the_rule_table(lake: LakeResource) -> None:
    store(lake)
    before = newest_snapshot(lake)
    apply(lake, "rule-add", ("nine", "1h", "td_buy_setup", "equals", "9", "*", None, "default"))
    assert apply(lake, {"type": "rule-pause", "index": "nine", "to": "pause"}, ()) == "paused nine"
    assert apply(lake, {"type": "rule-pause", "index": "nine", "to": "pause"}, ()) == "paused nine", "a second tab"
    assert [rule.paused for rule in stored_rules(lake)] == [True]
    assert apply(lake, {"type": "rule-pause", "index": "nine", "to": "resume"}, ()) == "resumed nine"
    assert [rule.paused for rule in stored_rules(lake)] == [False]
    assert apply(lake, {"type": "rule-delete", "index": "nine"}, ()) == "deleted nine"
    assert stored_rules(lake) == []
    with pytest.raises(AlertRulesError, match="name: no rule named 'nine'"):
        apply(lake, {"type": "rule-delete", "index": "nine"}, ())
    assert table_names_changed(lake, before) == {RULES.table.replace('"', ""), RULES.history.table.replace('"', "")}
    with reader() as con:
        assert queries.alert_rules(con).is_empty()


def test_with_a_token_the_dashboard_asks_for_it_once(lake: LakeResource) -> None:
    store(lake)
    with TestClient(create_app(reader, "s3cret", lake)) as client:
        page = client.get("/coins?pair=ETHUSDT", headers={"Accept": "text/html"}, follow_redirects=False)
        assert page.status_code == 303 and page.headers["location"] == "/login?next=/coins%3Fpair%3DETHUSDT"
        assert client.post("/_dash-update-component", json={}).status_code == 401, "callbacks, the editor's too"
        wrong = client.post("/login", data={"token": "guess", "next": "/alerts"}, follow_redirects=False)
        assert wrong.status_code == 401 and "tickerlake_token" not in wrong.cookies
        for elsewhere in ("//evil.example", "/\\evil.example", "https://evil.example"):
            away = client.post("/login", data={"token": "s3cret", "next": elsewhere}, follow_redirects=False)
            assert away.status_code == 303 and away.headers["location"] == "/", "only a path of this server"
        cookie = away.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Max-Age=604800" in cookie
        assert "s3cret" not in cookie, "the cookie is no API credential"
        bearer = {"Authorization": f"Bearer {client.cookies['tickerlake_session']}"}
        assert client.get("/api/v1/alerts", headers=bearer).status_code == 401
        assert client.get("/alerts", headers={"Accept": "text/html"}).status_code == 200
        assert client.get("/_dash-layout").status_code == 200
        assert client.get("/api/v1/alerts").status_code == 401, "the API still needs its bearer header"


def test_a_long_table_is_one_component_with_its_links_and_utc_times() -> None:
    frame = pl.DataFrame(
        {"pair": ["BTCUSDT", "ETHUSDT"], "sent_at": [dt.datetime(2025, 1, 8, 12, 30, tzinfo=dt.UTC)] * 2, "n": [1, 2]}
    )
    table = data_table(frame, "t", links={"pair": "/coins?pair={}"})
    assert table.data[0] == {"pair": "[BTCUSDT](/coins?pair=BTCUSDT)", "sent_at": "2025-01-08 12:30:00 UTC", "n": 1}
    assert [c.get("presentation") for c in table.columns] == ["markdown", None, None]
    assert table.page_size == 25 and table.sort_action == "native"
