"""One full build of the platform from the local mirror, shared by the model tests of all sources.

FINRA 2024-03-01..2024-07-15, two symbol-directory snapshots (2024-07-12, and 2024-07-15 without
AMC, which is therefore delisted), SEC tickers and SIC codes, ECB rates, the new-symbol sensor's
price backfill from 2024-03-01 (NVDA's split fixture replaces its sample file), the made EUR listing
SAPX, then `dbt build`. It costs about a minute, hence once per session.
"""

import datetime as dt
from collections.abc import Iterator

import dagster as dg
import pytest
from dagster_dbt import DbtCliResource

from assets.dbt import dbt_project, tickerlake_dbt_models
from assets.finra import finra_short_volume
from assets.fx import fx_rates_ecb
from assets.prices import prices_daily, prices_history
from assets.sectors import sec_company_sic, sec_company_tickers
from assets.symbols import symbol_directory
from resources.finra import FinraClient
from resources.fx import EcbClient
from resources.lake import LakeResource
from resources.prices import PricesResource
from resources.sectors import SecClient
from resources.settings import dbt_executable
from resources.symbols import SymbolDirectoryClient
from sensors.symbols import new_symbols_sensor
from tests.conftest import SAMPLE_ROOT, Mirror, PlatformBuild, lake_at, lake_env, serve_all_sources, source_url

RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"
SEC_USER_AGENT = "tickerlake tests tests@example.com"
ALL_ASSETS = [finra_short_volume, symbol_directory, sec_company_tickers, sec_company_sic, fx_rates_ecb,
              prices_history, prices_daily, tickerlake_dbt_models]


def resources_for(mirror: Mirror, lake: LakeResource) -> dict[str, object]:
    return {
        "lake": lake,
        "dbt": DbtCliResource(project_dir=dbt_project, dbt_executable=dbt_executable()),
        "finra": FinraClient(base_url=source_url(mirror, "finra"), retry_attempts=2, max_retry_wait_seconds=0.1),
        "symbol_directory_client": SymbolDirectoryClient(base_url=source_url(mirror, "nasdaq_trader")),
        "sec": SecClient(user_agent=SEC_USER_AGENT, www_url=source_url(mirror, "sec_www"),
                         data_url=source_url(mirror, "sec_data"), max_requests_per_second=1000),
        "prices": PricesResource(yahoo_base_url=source_url(mirror, "yahoo"), retry_attempts=2,
                                 max_retry_wait_seconds=0.1, requests_per_second=1000),
        "ecb": EcbClient(base_url=source_url(mirror, "ecb")),
    }


def run(assets: list, resources: dict, instance: dg.DagsterInstance, tags: dict | None = None) -> None:
    result = dg.materialize(ALL_ASSETS, selection=assets, resources=resources, instance=instance, tags=tags or {})
    assert result.success


def snapshot_without(symbol: str, day: dt.date, mirror: Mirror) -> None:
    """Serve directory files dated `day` that no longer list `symbol`, as after a delisting."""
    for name in ("nasdaqlisted.txt", "otherlisted.txt"):
        path = SAMPLE_ROOT / "www.nasdaqtrader.com" / "dynamic" / "SymDir" / name
        lines = [line for line in path.read_bytes().split(b"\r\n") if not line.startswith(symbol.encode() + b"|")]
        stamp = f"File Creation Time: {day:%m%d%Y}".encode()
        body = b"\r\n".join(lines).replace(b"File Creation Time: 07122024", stamp)
        mirror.put_path(f"/www.nasdaqtrader.com/dynamic/SymDir/{name}", body)


def run_sensor_like_the_daemon(
    instance: dg.DagsterInstance, lake: LakeResource, resources: dict
) -> dg.SensorResult | dg.SkipReason:
    with dg.build_sensor_context(instance=instance, resources={"lake": lake}) as context:
        result = new_symbols_sensor(context)
    if isinstance(result, dg.SensorResult):
        for request in result.dynamic_partitions_requests:
            instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
        for request in result.run_requests:
            run([prices_history], resources, instance, request.tags)
    return result


@pytest.fixture(scope="session")
def platform_build(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PlatformBuild]:
    root = tmp_path_factory.mktemp("platform")
    lake = lake_at(root)
    with (
        pytest.MonkeyPatch.context() as env,
        serve_all_sources() as mirror,
        dg.instance_for_test() as instance,
    ):
        for name, value in lake_env(lake).items():
            env.setenv(name, value)
        env.setenv("TICKERLAKE_PRICES_START", "2024-03-01")
        resources = resources_for(mirror, lake)
        run([finra_short_volume], resources, instance, {RANGE_START: "2024-03-01", RANGE_END: "2024-07-15"})
        run([symbol_directory, sec_company_tickers, sec_company_sic, fx_rates_ecb], resources, instance)
        snapshot_without("AMC", dt.date(2024, 7, 15), mirror)
        run([symbol_directory], resources, instance)
        result = run_sensor_like_the_daemon(instance, lake, resources)
        instance.add_dynamic_partitions("symbols", ["SAPX"])
        run([prices_history], resources, instance, {RANGE_START: "SAPX", RANGE_END: "SAPX"})
        run([tickerlake_dbt_models], resources, instance)
        yield PlatformBuild(mirror, lake, instance, list(result.run_requests))
    lake.close()


def rows(build: PlatformBuild, sql: str, *params: object) -> list[tuple]:
    with build.lake.connect(read_only=True) as con:
        return con.execute(sql, list(params)).fetchall()

