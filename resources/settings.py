"""Every setting of tickerlake, and the only place the environment is read.

A setting is an environment variable: the table SETTINGS names each one with its default and meaning
(the README's configuration table is compared with it by a test). Settings that configure a resource
name the resource key and field; `resource_config` turns them into the resource's arguments, secrets
as dagster.EnvVar so their values never enter the definitions or the run config.

dbt runs as a subprocess in dbt_project/, so the lake's paths are made absolute here and exported:
the dbt profile and the Dagster resources then point at the same lake whatever the working directory.

TICKERLAKE_SOURCE_MIRROR points every source at one server that holds each host under /<host>/ (the
bundled sample, a test's mirror, a proxy): a source's own URL setting, when set, still wins.
"""

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dagster as dg

MIRROR = "TICKERLAKE_SOURCE_MIRROR"


@dataclass(frozen=True)
class Setting:
    """One environment variable: `shown` is its default as the README writes it; where `literal`, `shown` is
    also the value the code uses when the variable is unset (one place for it, not one per reader)."""

    name: str
    shown: str
    meaning: str
    resource: str | None = None  # the resource key it configures, with `field`
    field: str | None = None
    secret: bool = False
    required: bool = False  # a secret the resource cannot go without: always passed as an EnvVar
    literal: bool = False
    also: tuple[str, ...] = ()  # other resource keys with the same field (SEC's clients say who we are once)


SETTINGS = (
    Setting("TICKERLAKE_LAKE_ROOT", "./data/lake", "the lake's data files: a folder, or `s3://bucket/prefix`"),
    Setting(
        "TICKERLAKE_CATALOG",
        "sqlite:./data/tickerlake.sqlite (beside the lake folder)",
        "DuckLake catalog: `sqlite:<file>` or `postgres:<libpq string>` (required for an S3 lake)",
    ),
    Setting("TICKERLAKE_S3_ENDPOINT_URL", "AWS", "S3 lake only: MinIO, moto or another S3 API"),
    Setting(
        "TICKERLAKE_DBT_THREADS",
        "1",
        "dbt threads; raise it on a PostgreSQL catalog (SQLite takes one committer at a time)",
    ),
    Setting("TICKERLAKE_DUCKDB_MEMORY_LIMIT", "40% of RAM", "DuckDB's memory limit in dbt runs (`8GB`, `16GiB`, ...)"),
    Setting(
        "TICKERLAKE_START_DATE", "2009-08-03", "first trading-day partition (FINRA's first daily files)", literal=True
    ),
    Setting("TICKERLAKE_END_DATE", "today (New York)", "pins the last trading-day partition (a sample)"),
    Setting(
        "TICKERLAKE_FETCH_AUTOMATION",
        "stopped",
        "`running` starts the schedules and sensors that fetch from the sources (production sets it)",
        literal=True,
    ),
    Setting(
        "TICKERLAKE_MARKETS",
        "XLON,XETR,XTKS,XHKG,XTSE",
        "markets beyond the US whose symbols get daily prices on their own calendars (resources/markets.py)",
        literal=True,
    ),
    Setting(
        "TICKERLAKE_LSE_INSTRUMENT_LIST",
        "82",
        "the LSE instrument list issue (`Instrument list_N.xlsx`) to probe from, if later than the stored one",
        "listings",
        "lse_first_list",
    ),
    Setting("TICKERLAKE_PRICES_START", "first partition", "earliest day of a new symbol's price backfill"),
    Setting(MIRROR, "-", "serve every source from one host holding each real host under `/<host>/` (the demo, tests)"),
    Setting(
        "TICKERLAKE_FINRA_BASE_URL", "https://cdn.finra.org", "any host with FINRA's URL layout", "finra", "base_url"
    ),
    Setting(
        "TICKERLAKE_NASDAQ_TRADER_BASE_URL",
        "https://www.nasdaqtrader.com",
        "`/dynamic/SymDir/*.txt`",
        "symbols",
        "base_url",
    ),
    Setting(
        "TICKERLAKE_SEC_USER_AGENT",
        "(required for SEC assets)",
        "`Company admin@example.com`, as SEC asks; read through `dagster.EnvVar`",
        "sectors",
        "user_agent",
        secret=True,
        required=True,
        also=("sec_fails", "sec_shares"),
    ),
    Setting(
        "TICKERLAKE_SEC_WWW_URL",
        "https://www.sec.gov",
        "`/files/company_tickers_exchange.json`, `/files/data/fails-deliver-data/`",
        "sectors",
        "www_url",
        also=("sec_fails",),
    ),
    Setting(
        "TICKERLAKE_SEC_DATA_URL",
        "https://data.sec.gov",
        "`/submissions/`, `/api/xbrl/companyfacts/` (EDGAR's API)",
        "sectors",
        "data_url",
        also=("sec_shares",),
    ),
    Setting(
        "TICKERLAKE_SEC_REQUESTS_PER_SECOND",
        "10",
        "SEC allows at most 10",
        "sectors",
        "max_requests_per_second",
        also=("sec_fails", "sec_shares"),
    ),
    Setting(
        "TICKERLAKE_SEC_SHARES_PER_RUN",
        "2000",
        "companies whose facts (shares outstanding) a daily run asks for at most: ~3.5 min at 10 a second",
        "sec_shares",
        "companies_per_run",
    ),
    Setting(
        "TICKERLAKE_PRICE_PROVIDER",
        "yahoo",
        "`yahoo` (keyless), `tiingo` or `polygon` (keys below)",
        "prices",
        "provider",
    ),
    Setting("TICKERLAKE_PRICES_CONCURRENCY", "4", "price requests in flight", "prices", "max_concurrent_requests"),
    Setting(
        "TICKERLAKE_PRICES_REQUESTS_PER_SECOND", "2", "the price provider's rate limit", "prices", "requests_per_second"
    ),
    Setting("TICKERLAKE_PRICES_RETRY_ATTEMPTS", "5", "tries of one price request", "prices", "retry_attempts"),
    Setting("TICKERLAKE_YAHOO_BASE_URL", "https://query1.finance.yahoo.com", "", "prices", "yahoo_base_url"),
    Setting("TICKERLAKE_TIINGO_BASE_URL", "https://api.tiingo.com", "", "prices", "tiingo_base_url"),
    Setting(
        "TICKERLAKE_TIINGO_API_KEY",
        "-",
        "read through `dagster.EnvVar`; sent as a header, never in URLs",
        "prices",
        "tiingo_api_key",
        secret=True,
    ),
    Setting("TICKERLAKE_POLYGON_BASE_URL", "https://api.polygon.io", "", "prices", "polygon_base_url"),
    Setting(
        "TICKERLAKE_POLYGON_API_KEY",
        "-",
        "read through `dagster.EnvVar`; sent as a bearer token, never in URLs",
        "prices",
        "polygon_api_key",
        secret=True,
    ),
    Setting(
        "TICKERLAKE_ECB_BASE_URL",
        "https://www.ecb.europa.eu",
        "`/stats/eurofxref/eurofxref-hist.zip`",
        "fx",
        "base_url",
    ),
    Setting(
        "TICKERLAKE_FRED_BASE_URL",
        "https://fred.stlouisfed.org",
        "`/graph/fredgraph.csv?id=SERIES` (FRED's keyless CSV download)",
        "fred",
        "base_url",
    ),
    Setting(
        "TICKERLAKE_FRED_SERIES",
        "DGS10,DGS2,T10Y2Y,DTWEXBGS,UNRATE,CPIAUCSL,ICSA",
        "comma-separated FRED series ids `raw/fred_series` keeps",
        "fred",
        "series",
    ),
    Setting(
        "TICKERLAKE_CBOE_BASE_URL",
        "https://cdn.cboe.com",
        "`/api/global/us_indices/daily_prices/<INDEX>_History.csv` (Cboe's keyless index histories)",
        "cboe",
        "base_url",
    ),
    Setting(
        "TICKERLAKE_CBOE_INDEXES",
        "VIX,VIX9D,VIX3M,VVIX",
        "comma-separated Cboe index symbols `raw/cboe_index_history` keeps",
        "cboe",
        "indexes",
    ),
    Setting(
        "TICKERLAKE_CFTC_BASE_URL",
        "https://www.cftc.gov",
        "`/files/dea/history/deacot{YYYY}.zip`, `fut_fin_txt_{YYYY}.zip` (CFTC's COT history zips)",
        "cftc_cot",
        "base_url",
    ),
    Setting(
        "TICKERLAKE_VOLUME_BAND",
        "0.5",
        "the daily volume-band checks warn outside (1 - band) to (1 + band) times the 20-day median",
        literal=True,
    ),
    Setting("TICKERLAKE_EXPORT_DIR", "./data/exports", "dated CSV exports", "exports", "root"),
    Setting(
        "TICKERLAKE_BINANCE_DATA_URL", "https://data.binance.vision", "Binance's archive host", "binance", "data_url"
    ),
    Setting(
        "TICKERLAKE_BINANCE_API_URL",
        "https://api.binance.com",
        "Binance's REST API",
        "binance",
        "api_url",
        also=("binance_depth",),
    ),
    Setting("TICKERLAKE_CRYPTO_TOP_N", "100", "pairs in the universe", "binance", "top_n"),
    Setting(
        "TICKERLAKE_ORDER_BOOK_PAIRS",
        "10",
        "order books snapshotted every minute: the universe's first N pairs",
        "binance_depth",
        "order_book_pairs",
    ),
    Setting("TICKERLAKE_CRYPTO_QUOTE_ASSET", "USDT", "the universe's quote asset", "binance", "quote_asset"),
    Setting(
        "TICKERLAKE_COINGECKO_BASE_URL",
        "https://api.coingecko.com",
        "CoinGecko's API, keyless or with a demo key",
        "coingecko",
        "base_url",
    ),
    Setting(
        "TICKERLAKE_COINGECKO_PRO_URL",
        "https://pro-api.coingecko.com",
        "CoinGecko's API with a pro key",
        "coingecko",
        "pro_url",
    ),
    Setting(
        "TICKERLAKE_COINGECKO_API_KEY",
        "-",
        "optional CoinGecko key, read through `dagster.EnvVar`; keyless without it",
        "coingecko",
        "api_key",
        secret=True,
    ),
    Setting(
        "TICKERLAKE_COINGECKO_PLAN", "demo", "the key's plan: `demo` or `pro` (host and header)", "coingecko", "plan"
    ),
    Setting(
        "TICKERLAKE_COINGECKO_TOP_N",
        "100",
        "coins in the daily snapshot: the top N by market cap",
        "coingecko",
        "top_n",
    ),
    Setting(
        "TICKERLAKE_COINGECKO_REQUESTS_PER_MINUTE",
        "5",
        "CoinGecko calls a minute (keyless: a few; a demo key 30, a pro key more)",
        "coingecko",
        "requests_per_minute",
    ),
    Setting(
        "TICKERLAKE_COINGECKO_METADATA_DAYS",
        "7",
        "days a coin's CoinGecko metadata is kept before it is fetched again",
        literal=True,
    ),
    Setting(
        "TICKERLAKE_COINGECKO_QUOTE_ASSETS",
        "USDT",
        "quote assets of the Binance pairs a top coin adds to the pair universe (`USDT,BTC`)",
        literal=True,
    ),
    Setting("TICKERLAKE_CRYPTO_START_DATE", "2017-08-17", "first crypto day partition", literal=True),
    Setting("TICKERLAKE_CRYPTO_END_DATE", "today (UTC)", "pins the last crypto day, for a sample recorded once"),
    Setting("TICKERLAKE_CRYPTO_TOPUP_MINUTES", "15", "how often the 1m klines are topped up", literal=True),
    Setting("TICKERLAKE_CRYPTO_1M_DAYS", "7", "days of 1m indicators", literal=True),
    Setting("TICKERLAKE_LABEL_HORIZON", "10", "bars the ATR-multiple labels look ahead (H)", literal=True),
    Setting("TICKERLAKE_LABEL_NEAR_ATR", "1", "the labels' near barrier, in ATRs from the close", literal=True),
    Setting("TICKERLAKE_LABEL_FAR_ATR", "2", "the labels' far barrier, in ATRs from the close", literal=True),
    Setting(
        "TICKERLAKE_LABEL_SCHEME",
        "first_touch",
        "`first_touch` (the barrier touched first within H bars) or `horizon` (the close N1 and N2 bars later)",
        literal=True,
    ),
    Setting("TICKERLAKE_LABEL_NEAR_BARS", "8", "the horizon scheme's near look-ahead N1, in bars", literal=True),
    Setting("TICKERLAKE_LABEL_FAR_BARS", "15", "the horizon scheme's far look-ahead N2, in bars", literal=True),
    Setting("TICKERLAKE_MODEL_WINDOW", "32", "bars in each sequence the direction model reads (W)", literal=True),
    Setting("TICKERLAKE_MODEL_HIDDEN", "32", "the direction model's GRU units per direction", literal=True),
    Setting("TICKERLAKE_MODEL_MAX_EPOCHS", "50", "the most epochs a direction model trains", literal=True),
    Setting(
        "TICKERLAKE_MODEL_PATIENCE", "5", "epochs without a better validation loss before training stops", literal=True
    ),
    Setting(
        "TICKERLAKE_PREDICTION_ALERT_PROBABILITY",
        "0.8",
        "a move class's predicted probability whose crossing (from below) is an alert",
        literal=True,
    ),
    Setting(
        "TICKERLAKE_EQUITY_INDICATORS_WARMUP_BARS",
        "250",
        "sessions of warm-up before each year's first session for the equity indicators",
        literal=True,
    ),
    Setting("TICKERLAKE_DASHBOARD_HOST", "127.0.0.1", "the address `make dashboard` listens on", literal=True),
    Setting("TICKERLAKE_DASHBOARD_PORT", "8050", "its port", literal=True),
    Setting(
        "TICKERLAKE_API_TOKEN",
        "-",
        "secret: when set, every /api request needs `Authorization: Bearer <token>`",
        secret=True,
    ),
    Setting(
        "TICKERLAKE_ALERT_LOOKBACK_HOURS",
        "24",
        "an alert rule is evaluated on each pair's closed bars within this many hours of its newest",
        literal=True,
    ),
    Setting("TICKERLAKE_ALERT_CHANNEL", "none", "`none`, `telegram` or `webhook`", "notifier", "channel"),
    Setting(
        "TICKERLAKE_TELEGRAM_BOT_TOKEN",
        "-",
        "secret, read through `dagster.EnvVar`",
        "notifier",
        "telegram_bot_token",
        secret=True,
    ),
    Setting(
        "TICKERLAKE_ALERT_WEBHOOK_URL",
        "-",
        "secret, read through `dagster.EnvVar`",
        "notifier",
        "webhook_url",
        secret=True,
    ),
    Setting("TICKERLAKE_TELEGRAM_CHAT_ID", "-", "the chat alerts go to", "notifier", "telegram_chat_id"),
    Setting("TICKERLAKE_TELEGRAM_API_URL", "https://api.telegram.org", "", "notifier", "telegram_api_url"),
)
BY_NAME = {setting.name: setting for setting in SETTINGS}


def value(name: str, default: str | None = None) -> str | None:
    """A setting's value; unset or empty, its literal default from SETTINGS, else `default` (one the
    reader computes: 40% of RAM, today). Only names in SETTINGS are read."""
    if name not in BY_NAME:
        raise KeyError(f"{name} is not a tickerlake setting (resources/settings.py, SETTINGS)")
    setting = BY_NAME[name]
    return os.environ.get(name) or (setting.shown if setting.literal else default)


def default(name: str) -> str:
    """The literal default of a setting (SETTINGS), for code that names that value on its own."""
    return BY_NAME[name].shown


def resource_config(key: str, fields: Mapping[str, Any]) -> dict[str, Any]:
    """The arguments of resource `key` from its settings; `fields` are the resource class's model fields.

    A URL field defaulting to a real host is served from the mirror when one is set; a setting of its
    own wins over the mirror. Unset settings leave the resource's own defaults alone.
    """
    config: dict[str, Any] = mirrored_urls(fields, os.environ.get(MIRROR) or "")
    for setting in SETTINGS:
        if key not in (setting.resource, *setting.also) or setting.field is None:
            continue
        if setting.secret and (setting.required or os.environ.get(setting.name)):
            config[setting.field] = dg.EnvVar(setting.name)
        elif not setting.secret and os.environ.get(setting.name):
            config[setting.field] = os.environ[setting.name]
    return config


def mirrored_urls(fields: Mapping[str, Any], mirror: str) -> dict[str, str]:
    """Each `*_url` field whose default is a real host, moved under `mirror`/<host>."""
    if not mirror:
        return {}
    moved = {}
    for name, info in fields.items():
        default = getattr(info, "default", None)
        if name.endswith("_url") and isinstance(default, str) and default.startswith("https://"):
            moved[name] = f"{mirror.rstrip('/')}/{urlsplit(default).netloc}"
    return moved


def _absolute_env(name: str, default: str) -> str:
    resolved = str(Path(value(name) or default).resolve())
    os.environ[name] = resolved
    return resolved


def lake_root() -> str:
    """A local folder (made absolute) or an s3://bucket/prefix URL, kept as it is."""
    root = value("TICKERLAKE_LAKE_ROOT") or ""
    if root.startswith("s3://"):
        return root
    return _absolute_env("TICKERLAKE_LAKE_ROOT", "data/lake")


def catalog() -> str | None:
    """The DuckLake catalog: sqlite:<file> (made absolute) or postgres:<connection string>.

    Unset, the lake's own default applies (a SQLite file beside a local lake folder); it is exported
    then too, so dbt's profile attaches the same catalog.
    """
    configured = value("TICKERLAKE_CATALOG")
    if not configured:
        root = lake_root()
        if root.startswith("s3://"):
            return None
        configured = f"sqlite:{Path(root).parent / 'tickerlake.sqlite'}"
    kind, _, location = configured.partition(":")
    if kind == "sqlite":
        configured = f"sqlite:{Path(location).resolve()}"
    os.environ["TICKERLAKE_CATALOG"] = configured
    return configured


def default_event_batch_size(size: str) -> None:
    """Dagster batches a ranged run's events only when DAGSTER_EVENT_BATCH_SIZE is set: the local
    instance's batching storage sets it unless the deployment already has."""
    os.environ.setdefault("DAGSTER_EVENT_BATCH_SIZE", size)


def fetching_sensor_status() -> dg.DefaultSensorStatus:
    """Sensors that reach the sources start stopped unless TICKERLAKE_FETCH_AUTOMATION=running: a first
    `make ui` (or the demo's) must not pull real data into a sample lake."""
    return dg.DefaultSensorStatus.RUNNING if _fetching() else dg.DefaultSensorStatus.STOPPED


def fetching_schedule_status() -> dg.DefaultScheduleStatus:
    return dg.DefaultScheduleStatus.RUNNING if _fetching() else dg.DefaultScheduleStatus.STOPPED


def _fetching() -> bool:
    configured = value("TICKERLAKE_FETCH_AUTOMATION")
    if configured not in ("running", "stopped"):
        raise ValueError(f"TICKERLAKE_FETCH_AUTOMATION must be running or stopped, not {configured!r}")
    return configured == "running"


def s3_endpoint_url() -> str | None:
    return value("TICKERLAKE_S3_ENDPOINT_URL")


def aws_credentials() -> dict[str, str]:
    """The standard AWS variables, as DuckDB's S3 secret wants them (not tickerlake settings of their own)."""
    credentials = {
        "KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID", ""),
        "SECRET": os.environ.get("AWS_SECRET_ACCESS_KEY", ""),
        "REGION": os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
    }
    if os.environ.get("AWS_SESSION_TOKEN"):
        credentials["SESSION_TOKEN"] = os.environ["AWS_SESSION_TOKEN"]
    return credentials


def dbt_executable() -> str:
    """The dbt installed beside this Python, so an un-activated venv still finds it."""
    sibling = Path(sys.executable).parent / "dbt"
    return str(sibling) if sibling.exists() else "dbt"
