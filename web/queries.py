"""The questions the API (and the dashboard after it) answer, as SQL on the lake's marts.

Each function takes a read-only connection (resources/sql.py reader: the locked-down path `make sql`
uses) and its parameters, already validated by the caller; values always travel as bound parameters.
A page of rows comes back with the count of all of them, so a client knows how far to page.
"""

from dataclasses import dataclass

import duckdb
import polars as pl

# The crypto feature marts by bar interval, and the columns of a pair's bars a chart overlays.
PAIR_MARTS = {"1m": "fct_features_crypto_1m", "1h": "fct_features_crypto_1h", "1d": "fct_features_crypto_1d"}
BAR_COLUMNS = (
    "open_time, open, high, low, close, volume, rsi_14, bb_upper, bb_middle, bb_lower, "
    'td_buy_setup, td_sell_setup, td_buy_countdown, td_sell_countdown, "pivot", r1, s1, r2, s2'
)
TRADING_DAYS_A_YEAR = 252
# The look-backs a ranking may ask for, in calendar days: the API's bounds and the dashboard's.
LOOKBACK_DAYS = (5, 3650)
ALERT_TABLES = ("raw.crypto_alerts", "ml.direction_alerts")


@dataclass(frozen=True)
class Page:
    """Rows `offset`..`offset + len(rows)` of `total`."""

    rows: pl.DataFrame
    total: int
    offset: int


def _page(con: duckdb.DuckDBPyConnection, sql: str, params: list[object], limit: int, offset: int) -> Page:
    total = con.execute(f"SELECT count(*) FROM ({sql})", params).fetchone()[0]
    rows = con.execute(f"{sql} LIMIT ? OFFSET ?", [*params, limit, offset]).pl()
    return Page(rows, total, offset)


def newest_trading_day(con: duckdb.DuckDBPyConnection) -> object:
    return con.execute("SELECT max(trade_date) FROM marts.fct_prices_daily").fetchone()[0]


def volatility_ranking(
    con: duckdb.DuckDBPyConnection, lookback_days: int, market: str | None, sector: str | None
) -> pl.DataFrame:
    """Every symbol by the annualised volatility of its daily USD returns over the last `lookback_days`
    calendar days before the newest trading day, highest first: any look-back, computed when asked, not
    only the ones mart_volatility_ranking keeps. USD returns, so symbols of every market rank together.
    Whole (one row a symbol): the callers take its top, its bottom or a page of it from one scan."""
    sql = f"""
        WITH returns AS (
            SELECT p.symbol, p.daily_return_usd
            FROM marts.fct_prices_daily AS p
            WHERE p.trade_date > (SELECT max(trade_date) FROM marts.fct_prices_daily) - CAST(? AS INTEGER)
              AND p.daily_return_usd IS NOT NULL
        )
        SELECT
            r.symbol,
            s.market,
            s.ff12_industry AS sector,
            stddev_samp(r.daily_return_usd) * sqrt({TRADING_DAYS_A_YEAR}) AS volatility_usd,
            count(*) AS returns
        FROM returns AS r
        LEFT JOIN marts.dim_symbols AS s ON s.symbol = r.symbol
        WHERE (CAST(? AS VARCHAR) IS NULL OR s.market = ?) AND (CAST(? AS VARCHAR) IS NULL OR s.ff12_industry = ?)
        GROUP BY ALL
        HAVING count(*) >= 5
        ORDER BY volatility_usd DESC, r.symbol
    """
    return con.execute(sql, [lookback_days, market, market, sector, sector]).pl()


def lowest_first(ranking: pl.DataFrame) -> pl.DataFrame:
    return ranking.sort(["volatility_usd", "symbol"])


def page_of(frame: pl.DataFrame, limit: int, offset: int) -> Page:
    """A page of rows already read whole."""
    return Page(frame.slice(offset, limit), frame.height, offset)


def has_symbol(con: duckdb.DuckDBPyConnection, symbol: str) -> bool:
    return con.execute("SELECT count(*) > 0 FROM marts.fct_short_panel_daily WHERE symbol = ?", [symbol]).fetchone()[0]


def short_panel(
    con: duckdb.DuckDBPyConnection, symbol: str, start: object, end: object, limit: int, offset: int
) -> Page:
    """A symbol's short-selling picture by day beside its close: short ratio, short interest, days to
    cover, fails, threshold-list days (fct_short_panel_daily, each value from its publication on)."""
    sql = """
        SELECT trade_date, close, short_ratio, short_interest, short_interest_pct_shares, finra_days_to_cover,
               consolidated_days_to_cover, fails, nasdaq_threshold_days
        FROM marts.fct_short_panel_daily
        WHERE symbol = ? AND trade_date BETWEEN ? AND ?
        ORDER BY trade_date
    """
    return _page(con, sql, [symbol, start, end], limit, offset)


def newest_bar_day(con: duckdb.DuckDBPyConnection, interval: str, pair: str) -> object:
    """The UTC day of the pair's newest bar of `interval`; None for a pair the mart does not hold."""
    sql = f"SELECT CAST(timezone('UTC', max(open_time)) AS DATE) FROM marts.{PAIR_MARTS[interval]} WHERE pair = ?"
    return con.execute(sql, [pair]).fetchone()[0]


def pair_bars(
    con: duckdb.DuckDBPyConnection, pair: str, interval: str, start: object, end: object, limit: int, offset: int
) -> Page:
    """A pair's closed bars of one interval with the indicators a chart overlays."""
    sql = f"""
        SELECT {BAR_COLUMNS}
        FROM marts.{PAIR_MARTS[interval]}
        WHERE pair = ? AND open_time >= CAST(? AS DATE) AND open_time < CAST(? AS DATE) + INTERVAL 1 DAY
        ORDER BY open_time
    """
    return _page(con, sql, [pair, start, end], limit, offset)


def alerts(con: duckdb.DuckDBPyConnection, limit: int, offset: int) -> Page:
    """Every delivered alert, newest first: the indicator rules' (raw.crypto_alerts) and the direction
    model's (ml.direction_alerts), each with the time it was sent."""
    tables = [name for name in ALERT_TABLES if exists(con, name)]
    if not tables:
        return Page(pl.DataFrame(), 0, offset)
    sql = " UNION ALL ".join(
        f"SELECT sent_at, rule, pair, interval, bar_open_time, value, threshold, message FROM {table} "
        "WHERE sent_at IS NOT NULL"
        for table in tables
    )
    return _page(con, f"{sql} ORDER BY sent_at DESC, rule, pair", [], limit, offset)


def exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    """Whether the lake holds `table` (schema.name): one an asset or a model may not have written yet on
    this lake (no alert was ever sent, no CoinGecko fetched)."""
    schema, name = table.split(".")
    found = "SELECT count(*) > 0 FROM duckdb_tables() WHERE schema_name = ? AND table_name = ?"
    return con.execute(found, [schema, name]).fetchone()[0]


def latest_predictions(con: duckdb.DuckDBPyConnection, dataset: str, limit: int, offset: int) -> Page:
    """Each instrument's newest prediction of `dataset`, its class probabilities and model version."""
    sql = """
        SELECT instrument, bar_time, bar_close_at, predicted, p_up2, p_up1, p_flat, p_down1, p_down2,
               model_version, predicted_at
        FROM marts.fct_direction_predictions
        WHERE dataset = ?
        QUALIFY row_number() OVER (PARTITION BY instrument ORDER BY bar_time DESC) = 1
        ORDER BY instrument
    """
    return _page(con, sql, [dataset], limit, offset)


def model_evaluation(con: duckdb.DuckDBPyConnection, dataset: str) -> pl.DataFrame:
    """The newest model of `dataset` with its test scores beside the three baselines' (ml.direction_models)."""
    return con.execute(
        "SELECT * EXCLUDE (_loaded_at) FROM ml.direction_models WHERE dataset = ? ORDER BY trained_at DESC LIMIT 1",
        [dataset],
    ).pl()


def markets_and_sectors(con: duckdb.DuckDBPyConnection) -> tuple[list[str], list[str]]:
    """The markets (MICs) and Fama-French 12 sectors of the symbols the lake has prices for."""
    found = con.execute(
        "SELECT DISTINCT s.market, s.ff12_industry FROM marts.dim_symbols AS s "
        "WHERE s.symbol IN (SELECT DISTINCT symbol FROM marts.fct_prices_daily)"
    ).fetchall()
    return sorted({m for m, _ in found if m}), sorted({s for _, s in found if s})


def daily_returns(con: duckdb.DuckDBPyConnection, symbols: list[str], lookback_days: int) -> pl.DataFrame:
    """Each symbol's daily USD returns and USD adjusted close over the look-back, by day."""
    return con.execute(
        "SELECT symbol, trade_date, daily_return_usd, adj_close_usd FROM marts.fct_prices_daily "
        "WHERE symbol IN (SELECT unnest(CAST(? AS VARCHAR[]))) "
        "AND trade_date > (SELECT max(trade_date) FROM marts.fct_prices_daily) - CAST(? AS INTEGER) "
        "ORDER BY symbol, trade_date",
        [symbols, lookback_days],
    ).pl()


def busiest_symbol(con: duckdb.DuckDBPyConnection) -> str | None:
    """The symbol with the most short-panel days: the short page's first view."""
    found = con.execute(
        "SELECT symbol FROM marts.fct_short_panel_daily WHERE short_ratio IS NOT NULL "
        "GROUP BY symbol ORDER BY count(*) DESC, symbol LIMIT 1"
    ).fetchone()
    return found[0] if found else None


def sector_correlations(con: duckdb.DuckDBPyConnection, period: str) -> pl.DataFrame:
    """Each sector's correlation of short ratio with forward return per horizon, with its sample size."""
    return con.execute(
        "SELECT sector, horizon_days, correlation, n_sample FROM marts.mart_sector_short_return_correlation "
        "WHERE period = ? ORDER BY sector, horizon_days",
        [period],
    ).pl()


def correlation_periods(con: duckdb.DuckDBPyConnection) -> list[str]:
    found = con.execute("SELECT DISTINCT period FROM marts.mart_sector_short_return_correlation ORDER BY 1")
    return [period for (period,) in found.fetchall()]


def decile_returns(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Mean next-month returns of the decile portfolios (1 = lowest) over all months, per sorting signal."""
    return con.execute(
        "SELECT sorted_by, portfolio, mean_monthly_return, vw_mean_monthly_return, months "
        "FROM marts.mart_days_to_cover_deciles WHERE period = 'all' AND portfolio <> 'low-high' "
        "ORDER BY sorted_by, CAST(portfolio AS INTEGER)"
    ).pl()


def coin_universe(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Every pair with daily bars, its coin's market cap rank in CoinGecko's newest snapshot (none for a
    coin outside the top N, a symbol two coins share, or a lake that never fetched CoinGecko:
    marts.dim_coins), and its newest daily close."""
    coins = (
        "SELECT coin_id, name, market_cap_rank, market_cap_usd, unnest(binance_pairs) AS pair "
        "FROM marts.dim_coins WHERE in_top_n"
        if exists(con, "marts.dim_coins")
        else "SELECT NULL::VARCHAR AS coin_id, NULL::VARCHAR AS name, NULL::INTEGER AS market_cap_rank, "
        "NULL::DOUBLE AS market_cap_usd, NULL::VARCHAR AS pair WHERE false"
    )
    sql = f"""
        WITH pairs AS (
            SELECT pair, arg_max(close, open_time) AS close, max(open_time) AS newest_bar
            FROM marts.fct_features_crypto_1d GROUP BY pair
        ),
        coins AS ({coins})
        SELECT coins.market_cap_rank, pairs.pair, coins.coin_id, coins.name, coins.market_cap_usd,
               pairs.close, pairs.newest_bar
        FROM pairs LEFT JOIN coins USING (pair)
        ORDER BY coins.market_cap_rank NULLS LAST, pairs.pair
    """
    return con.execute(sql).pl()


def alert_rules(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """The stored alert rules (assets/alert_rules.py), paused ones included; none on a lake without any."""
    if not exists(con, "raw.crypto_alert_rules"):
        return pl.DataFrame()
    return con.execute("SELECT * EXCLUDE (_loaded_at) FROM raw.crypto_alert_rules ORDER BY name").pl()
