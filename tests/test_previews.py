"""The marts' previews in the UI: the charts that show in place stay under the UI's limit for that."""

import duckdb
import pytest

from assets.previews import INLINE_LIMIT, SECTOR_ORDER, inline_length, mart_previews


@pytest.fixture
def marts() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("CREATE SCHEMA marts")
    con.execute(
        "CREATE TABLE marts.mart_volatility_ranking AS SELECT i AS volatility_rank, 'SYM' || i AS symbol, "
        "0.5 / i AS mean_return_volatility_usd, 10.0 * i AS mean_price_usd, 8 AS n_windows FROM range(1, 40) t(i)"
    )
    con.execute(
        "CREATE TABLE marts.mart_sector_short_return_correlation AS SELECT s.sector, h.horizon_days, "
        "'all' AS period, (hash(s.sector, h.horizon_days) % 200)::INTEGER / 100.0 - 1 AS correlation, 50 AS n_sample, "
        "100 AS n_interquartile FROM (SELECT unnest(?) AS sector) s, (SELECT unnest([1, 5, 22, 65]) AS horizon_days) h",
        [SECTOR_ORDER],
    )
    return con


def test_each_chart_shows_in_place_and_its_png_is_a_click_away(marts: duckdb.DuckDBPyConnection) -> None:
    previews = mart_previews(marts, ["mart_volatility_ranking", "mart_sector_short_return_correlation"])
    ranking = previews["mart_volatility_ranking"]
    correlation = previews["mart_sector_short_return_correlation"]
    bars, cells = ranking["most volatile symbols"].value, correlation["correlation by sector and horizon"].value
    assert [inline_length(md) < INLINE_LIMIT for md in (bars, cells)] == [True, True]
    assert bars.splitlines()[2] == f"| SYM1 | 0.5000 | {'█' * 20} |"
    assert len(bars.splitlines()) == 12, "the top ten, each with its bar"
    assert [line.split(" | ")[0].strip("| ") for line in cells.splitlines()[2:]] == SECTOR_ORDER
    assert ranking["bar chart (PNG)"].value.startswith("![volatility ranking](data:image/png;base64,")
    assert correlation["heatmap (PNG)"].value.startswith("![sector x horizon correlation](data:image/png;base64,")
    assert inline_length(correlation["heatmap (PNG)"].value) > INLINE_LIMIT, "a PNG is always behind the click"


def test_the_limit_is_counted_as_the_uis_javascript_counts() -> None:
    assert inline_length("🟥 +0.12") == len("🟥 +0.12") + 1


def test_a_feature_marts_history_shows_in_place_as_a_sparkline(marts: duckdb.DuckDBPyConnection) -> None:
    marts.execute(
        "CREATE TABLE marts.fct_features_crypto_1h AS SELECT p.pair, "
        "TIMESTAMPTZ '2025-01-01 00:00:00+00' + i * INTERVAL 1 HOUR AS bar_close_at, "
        "CASE WHEN p.pair = 'BTCUSDT' THEN i::DOUBLE ELSE 50 END AS rsi_14 "
        "FROM range(0, 100) t(i), (SELECT unnest(['ETHUSDT', 'BTCUSDT']) AS pair) p"
    )
    shown = mart_previews(marts, ["fct_features_crypto_1h"])["fct_features_crypto_1h"]
    history = shown["rsi_14 history"].value
    assert inline_length(history) < INLINE_LIMIT
    assert history.startswith("**BTCUSDT** rsi_14, last 60 bars to 2025-01-05 03:00 UTC: `▁")
    assert "min 40, max 99, last 99" in history and history.count("█") >= 7, "rising: the last eighth is highest"
    assert shown["rsi_14 history (PNG)"].value.startswith("![BTCUSDT rsi_14](data:image/png;base64,")


def test_only_the_marts_a_run_built_are_previewed(marts: duckdb.DuckDBPyConnection) -> None:
    """A run that did not write the ranking draws nothing for it (its charts cost queries and a PNG)."""
    built = ["mart_sector_short_return_correlation"]
    assert set(mart_previews(marts, built)) == set(built)
