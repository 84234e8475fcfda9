"""The one Definitions object of tickerlake, loaded by workspace.yaml.

This folder is not a Python package (`platform` is a stdlib module); Dagster loads this file by
path with the repository root as working directory, which puts assets/, resources/ and sensors/
on the import path. Every setting is an environment variable (README, "Configuration"); secrets
are passed as dagster.EnvVar so their values never enter the definitions or the run config.
"""

import os

import dagster as dg
from dagster_dbt import DbtCliResource

from assets.alerts import crypto_alerts
from assets.binance import crypto_klines_1m, crypto_klines_history, crypto_universe
from assets.dbt import dbt_project, tickerlake_dbt_models
from assets.exports import ExportDirectory, short_volume_csv
from assets.finra import finra_short_volume
from assets.freshness import freshness_checks, freshness_sensor, volume_checks
from assets.fx import fx_rates_ecb
from assets.indicators import crypto_indicators
from assets.maintenance import lake_maintenance
from assets.prices import prices_daily, prices_history
from assets.sectors import sec_company_sic, sec_company_tickers
from assets.symbols import symbol_directory
from resources import binance, finra, fx, notifier, prices, sectors, symbols
from resources.lake import LakeResource
from resources.settings import catalog, dbt_executable, lake_root, setting
from sensors.alerts import crypto_alerts_sensor
from sensors.binance import crypto_topup_schedule, crypto_universe_schedule, new_pairs_sensor
from sensors.schedules import daily_schedules, lake_maintenance_schedule
from sensors.symbols import new_symbols_sensor

TIINGO_KEY, POLYGON_KEY = "TICKERLAKE_TIINGO_API_KEY", "TICKERLAKE_POLYGON_API_KEY"
TELEGRAM_TOKEN, WEBHOOK_URL = "TICKERLAKE_TELEGRAM_BOT_TOKEN", "TICKERLAKE_ALERT_WEBHOOK_URL"


def secret(name: str) -> dg.EnvVar | None:
    """An EnvVar for a secret that is set, None for one that is not (the resource then says what is missing)."""
    return dg.EnvVar(name) if name in os.environ else None


def lake() -> LakeResource:
    """Data files in a folder or on S3, the catalog in SQLite or PostgreSQL: configuration only."""
    return LakeResource(
        root=lake_root(), catalog=catalog(), s3_endpoint_url=os.environ.get("TICKERLAKE_S3_ENDPOINT_URL") or None
    )


defs = dg.Definitions(
    # Runs here hold one step each (a raw asset's ranged run, the dbt build): running it in the run's
    # own process saves a second interpreter and a second load of these definitions per run.
    executor=dg.in_process_executor,
    assets=[
        finra_short_volume, symbol_directory, sec_company_tickers, sec_company_sic, fx_rates_ecb, prices_history,
        prices_daily, tickerlake_dbt_models, short_volume_csv, crypto_universe, crypto_klines_history,
        crypto_klines_1m, crypto_indicators, crypto_alerts, lake_maintenance,
    ],
    asset_checks=[*freshness_checks, *volume_checks],
    schedules=[*daily_schedules, crypto_topup_schedule, crypto_universe_schedule, lake_maintenance_schedule],
    sensors=[
        new_symbols_sensor,
        new_pairs_sensor,
        crypto_alerts_sensor,
        freshness_sensor,
        dg.AutomationConditionSensorDefinition(
            "models_automation", target=dg.AssetSelection.assets(tickerlake_dbt_models, crypto_indicators),
            default_status=dg.DefaultSensorStatus.RUNNING,
        ),
    ],
    resources={
        "lake": lake(),
        "dbt": DbtCliResource(project_dir=dbt_project, dbt_executable=dbt_executable()),
        "finra": finra.FinraClient(base_url=setting("TICKERLAKE_FINRA_BASE_URL", finra.DEFAULT_BASE_URL)),
        "symbol_directory_client": symbols.SymbolDirectoryClient(
            base_url=setting("TICKERLAKE_NASDAQ_TRADER_BASE_URL", symbols.DEFAULT_BASE_URL)
        ),
        "sec": sectors.SecClient(
            user_agent=dg.EnvVar("TICKERLAKE_SEC_USER_AGENT"),
            www_url=setting("TICKERLAKE_SEC_WWW_URL", sectors.DEFAULT_WWW_URL),
            data_url=setting("TICKERLAKE_SEC_DATA_URL", sectors.DEFAULT_DATA_URL),
        ),
        "prices": prices.PricesResource(
            provider=setting("TICKERLAKE_PRICE_PROVIDER", "yahoo"),
            yahoo_base_url=setting("TICKERLAKE_YAHOO_BASE_URL", prices.YAHOO_BASE_URL),
            tiingo_base_url=setting("TICKERLAKE_TIINGO_BASE_URL", prices.TIINGO_BASE_URL),
            tiingo_api_key=secret(TIINGO_KEY),
            polygon_base_url=setting("TICKERLAKE_POLYGON_BASE_URL", prices.POLYGON_BASE_URL),
            polygon_api_key=secret(POLYGON_KEY),
            max_concurrent_requests=int(setting("TICKERLAKE_PRICES_CONCURRENCY", "4")),
            requests_per_second=float(setting("TICKERLAKE_PRICES_REQUESTS_PER_SECOND", "2")),
        ),
        "exports": ExportDirectory(root=setting("TICKERLAKE_EXPORT_DIR", "data/exports")),
        "ecb": fx.EcbClient(base_url=setting("TICKERLAKE_ECB_BASE_URL", fx.DEFAULT_BASE_URL)),
        "binance": binance.BinanceClient(
            data_url=setting("TICKERLAKE_BINANCE_DATA_URL", binance.DEFAULT_DATA_URL),
            api_url=setting("TICKERLAKE_BINANCE_API_URL", binance.DEFAULT_API_URL),
            top_n=int(setting("TICKERLAKE_CRYPTO_TOP_N", "100")),
            quote_asset=setting("TICKERLAKE_CRYPTO_QUOTE_ASSET", "USDT"),
        ),
        "notifier": notifier.Notifier(
            channel=setting("TICKERLAKE_ALERT_CHANNEL", "none"),
            telegram_api_url=setting("TICKERLAKE_TELEGRAM_API_URL", notifier.DEFAULT_TELEGRAM_API_URL),
            telegram_bot_token=secret(TELEGRAM_TOKEN),
            telegram_chat_id=os.environ.get("TICKERLAKE_TELEGRAM_CHAT_ID"),
            webhook_url=secret(WEBHOOK_URL),
        ),
    },
)
