"""The read-only HTTP API: the marts' answers as JSON or CSV, with OpenAPI docs at /docs.

Every endpoint reads through one locked-down read-only connection (resources/sql.py reader, the
path `make sql` uses: the catalog attached READ_ONLY, no file access outside the lake, no extension
loading), a cursor of it per request. Parameters are validated before any query runs: a bad date, a
look-back out of range or an unknown symbol is a 4xx that names the parameter, never a 500. Long
answers come a page at a time (`limit`, `offset`; `total` says how many there are).

With TICKERLAKE_API_TOKEN set, every /api request needs `Authorization: Bearer <token>`; the docs
stay open (they hold no data), and the dashboard asks for the same token once (web/auth.py). The
server binds to TICKERLAKE_DASHBOARD_HOST, loopback unless configured.
"""

import datetime as dt
import io
import secrets
from collections.abc import Callable, Iterator
from contextlib import asynccontextmanager
from typing import Annotated, Literal

import duckdb
import polars as pl
from a2wsgi import WSGIMiddleware
from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from resources.lake import LakeResource
from web import auth, dashboard, queries
from web.connection import LakeReader

SYMBOL = Path(pattern=r"^[A-Z0-9][A-Z0-9.\-]{0,14}$", description="A ticker in the lake's form (BRK.B, 7203.T).")
PAIR = Path(pattern=r"^[A-Z0-9]{2,20}$", description="A Binance spot pair (BTCUSDT).")
LIMIT = Query(100, ge=1, le=1000, description="Rows in this page.")
OFFSET = Query(0, ge=0, description="Rows skipped before this page.")
FORMAT = Query("json", description="json, or csv (the page's rows with a header; X-Total-Count holds the total).")
LOOKBACK = Query(
    365,
    ge=queries.LOOKBACK_DAYS[0],
    le=queries.LOOKBACK_DAYS[1],
    description="Calendar days back from the newest trading day.",
)
BARS_START = Query(None, description="First UTC day; by default 1, 30 or 365 days (1m, 1h, 1d) before end.")
BARS_END = Query(None, description="Last UTC day; by default the day of the pair's newest bar.")
DATASETS = Literal["crypto_1m", "crypto_1h", "crypto_1d", "equity_1d"]


def answer(page: queries.Page, limit: int, form: Literal["json", "csv"]) -> Response | dict[str, object]:
    """A page as JSON ({total, offset, limit, rows}) or as CSV."""
    rows = page.rows.with_columns(pl.col(pl.Float64, pl.Float32).fill_nan(None))
    if form == "csv":
        buffer = io.StringIO()
        rows.write_csv(buffer)
        return Response(buffer.getvalue(), media_type="text/csv", headers={"X-Total-Count": str(page.total)})
    return {"total": page.total, "offset": page.offset, "limit": limit, "rows": rows.to_dicts()}


def date_range(
    start: dt.date | None, end: dt.date | None, newest: dt.date, default_days: int
) -> tuple[dt.date, dt.date]:
    """The dates asked for, by default the `default_days` up to `newest`; start after end is an error."""
    end = end or newest
    start = start or end - dt.timedelta(days=default_days)
    if start > end:
        raise HTTPException(400, f"start: {start} is after end: {end}")
    return start, end


def create_app(
    connect: Callable[[], duckdb.DuckDBPyConnection], token: str | None = None, lake: LakeResource | None = None
) -> FastAPI:
    """The API over the connection `connect` opens (once, at startup); `token`, if any, guards /api and
    the dashboard (web/auth.py). The dashboard (web/dashboard.py) is mounted beside it, on the same
    connection; `lake`, if given, is where its alert editor stores the rules."""
    reader = LakeReader(connect)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> Iterator[None]:
        reader.open()
        try:
            yield
        finally:
            reader.close()

    def cursor() -> Iterator[duckdb.DuckDBPyConnection]:
        with reader.cursor() as con:
            yield con

    def authorised(authorization: Annotated[str | None, Header()] = None) -> None:
        if token is None:
            return
        offered = (authorization or "").removeprefix("Bearer ")
        if not secrets.compare_digest(offered.encode(), token.encode()):
            raise HTTPException(401, "authorization: a bearer token is required", {"WWW-Authenticate": "Bearer"})

    Con = Annotated[duckdb.DuckDBPyConnection, Depends(cursor)]
    api = APIRouter(prefix="/api/v1", dependencies=[Depends(authorised)])

    @api.get("/ranking", summary="Symbols ranked by volatility over any look-back")
    def ranking(
        con: Con,
        lookback_days: int = LOOKBACK,
        market: str | None = Query(None, max_length=8, description="A market's MIC (XNYS, XLON, ...)."),
        sector: str | None = Query(None, max_length=40, description="A Fama-French 12 industry."),
        order: Literal["highest", "lowest"] = "highest",
        limit: int = LIMIT,
        offset: int = OFFSET,
        format: Literal["json", "csv"] = FORMAT,
    ) -> object:
        ranking = queries.volatility_ranking(con, lookback_days, market, sector)
        ranking = queries.lowest_first(ranking) if order == "lowest" else ranking
        return answer(queries.page_of(ranking, limit, offset), limit, format)

    @api.get("/symbols/{symbol}/short", summary="A symbol's short-selling panel beside its close")
    def short(
        con: Con,
        symbol: str = SYMBOL,
        start: dt.date | None = None,
        end: dt.date | None = None,
        limit: int = LIMIT,
        offset: int = OFFSET,
        format: Literal["json", "csv"] = FORMAT,
    ) -> object:
        if not queries.has_symbol(con, symbol):
            raise HTTPException(404, f"symbol: no short-selling data for {symbol!r}")
        first, last = date_range(start, end, queries.newest_trading_day(con), 365)
        return answer(queries.short_panel(con, symbol, first, last, limit, offset), limit, format)

    @api.get("/pairs/{pair}/bars", summary="A pair's bars with RSI, Bollinger, TD Sequential and pivots")
    def bars(
        con: Con,
        pair: str = PAIR,
        interval: Literal["1m", "1h", "1d"] = "1h",
        start: dt.date | None = BARS_START,
        end: dt.date | None = BARS_END,
        limit: int = LIMIT,
        offset: int = OFFSET,
        format: Literal["json", "csv"] = FORMAT,
    ) -> object:
        newest = queries.newest_bar_day(con, interval, pair)
        if newest is None:
            raise HTTPException(404, f"pair: no {interval} bars for {pair!r}")
        first, last = date_range(start, end, newest, {"1m": 1, "1h": 30, "1d": 365}[interval])
        return answer(queries.pair_bars(con, pair, interval, first, last, limit, offset), limit, format)

    @api.get("/alerts", summary="Every delivered alert, newest first")
    def alerts(con: Con, limit: int = LIMIT, offset: int = OFFSET, format: Literal["json", "csv"] = FORMAT) -> object:
        return answer(queries.alerts(con, limit, offset), limit, format)

    @api.get("/predictions", summary="Each instrument's latest direction prediction")
    def predictions(
        con: Con,
        dataset: DATASETS = "crypto_1m",
        limit: int = LIMIT,
        offset: int = OFFSET,
        format: Literal["json", "csv"] = FORMAT,
    ) -> object:
        return answer(queries.latest_predictions(con, dataset, limit, offset), limit, format)

    @api.get("/models/{dataset}/evaluation", summary="The newest model's test scores beside its baselines")
    def evaluation(con: Con, dataset: DATASETS) -> dict[str, object]:
        model = queries.model_evaluation(con, dataset)
        if model.is_empty():
            raise HTTPException(404, f"dataset: no {dataset} model has been trained")
        return model.with_columns(pl.col(pl.Float64).fill_nan(None)).row(0, named=True)

    app = FastAPI(
        title="tickerlake",
        description="Read-only answers from the marts: volatility ranking, short selling, bars, alerts, predictions.",
        lifespan=lifespan,
    )
    app.include_router(api)

    @app.exception_handler(duckdb.CatalogException)
    def lake_error(_: Request, exc: duckdb.CatalogException) -> JSONResponse:
        """A mart the lake does not have yet (its model never built) is a 503; any other error of a
        query is a bug, and stays a 500."""
        return JSONResponse({"detail": f"the lake cannot answer yet: {type(exc).__name__}"}, 503)

    if token is not None:
        auth.guard(app, token)
    app.mount("/", WSGIMiddleware(dashboard.build(reader, lake).server))
    return app
