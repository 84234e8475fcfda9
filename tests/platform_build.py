"""One full build of the platform from the local mirror, shared by the model tests of all sources.

FINRA 2024-03-01..2024-07-15, FINRA short interest of the eight settlement dates 2024-03-15..06-28,
SEC fails-to-deliver of the nine half-months 2024-03a..2024-07a, Nasdaq's Reg SHO threshold lists of
2024-03-01..2024-07-12, CFTC's COT reports (legacy and TFF) of 2023-2025,
two symbol-directory snapshots (2024-07-12, and 2024-07-15 without AMC, which is therefore
delisted), SEC tickers, SIC codes and shares outstanding, ECB rates, FRED series, Cboe index
histories, the new-symbol sensor's price backfill from 2024-03-01 (NVDA's split fixture replaces
its sample file), the made EUR listing SAPX, then `dbt build`. It costs about a minute, hence once per session.
"""

import contextlib
import datetime as dt
from collections.abc import Iterator, Sequence
from pathlib import Path

import dagster as dg
import filelock
import pytest

from assets.cboe import cboe_index_history
from assets.cftc_cot import cftc_cot_legacy, cftc_cot_tff
from assets.dbt import tickerlake_dbt_models
from assets.finra import finra_short_volume
from assets.finra_short_interest import finra_short_interest, settlement_dates, settlements
from assets.fred import fred_series
from assets.fx import fx_rates_ecb
from assets.prices import prices_history
from assets.regsho_threshold import regsho_threshold_list
from assets.sec_fails import half_month_partitions, sec_fails_to_deliver
from assets.sec_shares import sec_shares_outstanding
from assets.sectors import sec_company_sic, sec_company_tickers
from assets.symbols import symbol_directory
from resources.lake import LakeResource
from resources.sec_fails import HalfMonth, half_months
from resources.settings import MIRROR
from sensors.symbols import new_symbols_sensor
from tests.helpers import (
    SAMPLE_ROOT,
    Mirror,
    PlatformBuild,
    lake_at,
    lake_env,
    load_definitions,
    serve_all_sources,
)

RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"
SEC_USER_AGENT = "tickerlake tests tests@example.com"
# The sample's server is on this machine: no provider's rate limit, and a failure is final at once.
FAST = {
    "TICKERLAKE_SEC_USER_AGENT": SEC_USER_AGENT,
    "TICKERLAKE_SEC_REQUESTS_PER_SECOND": "1000",
    "TICKERLAKE_PRICES_REQUESTS_PER_SECOND": "1000",
    "TICKERLAKE_PRICES_RETRY_ATTEMPTS": "2",
}


@contextlib.contextmanager
def platform_on(mirror: Mirror, lake: LakeResource, **settings: str) -> Iterator[dict[str, object]]:
    """The production resources of platform/definitions.py, built with every source on `mirror` and the
    lake at `lake`: the settings are what a deployment would set, nothing is wired twice."""
    with pytest.MonkeyPatch.context() as env:
        for name, value in {**lake_env(lake), MIRROR: mirror.base_url, **FAST, **settings}.items():
            env.setenv(name, value)
        yield {**load_definitions().resources(), "lake": lake}


def run(assets: list, resources: dict, instance: dg.DagsterInstance, tags: dict | None = None) -> None:
    result = dg.materialize(all_assets(), selection=assets, resources=resources, instance=instance, tags=tags or {})
    assert result.success


def build_marts(marts: Sequence[str], resources: dict, instance: dg.DagsterInstance, full_refresh: bool) -> None:
    """A run of the dbt step for `marts` and the models they are built from, nothing else."""
    keys = [dg.AssetKey(["marts", name]) for name in marts]
    selection = dg.AssetSelection.assets(*keys).upstream() & dg.AssetSelection.assets(tickerlake_dbt_models)
    result = dg.materialize(
        all_assets(),
        selection=selection,
        resources=resources,
        instance=instance,
        run_config={"ops": {"tickerlake_dbt_models": {"config": {"full_refresh": full_refresh}}}},
    )
    assert result.success


def all_assets() -> list[dg.AssetsDefinition]:
    return list(load_definitions().defs.assets)


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
def platform_build(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Iterator[PlatformBuild]:
    """Built once for the whole session, even when pytest-xdist runs it in several processes: the first
    worker to ask builds it, under a lock, in the directory the workers share; the others wait, then read
    the same lake and instance (the tests only read them, or branch the lake), each with a mirror of its
    own serving what the build's mirror served."""
    shared = tmp_path_factory.getbasetemp()
    shared = shared if worker_id == "master" else shared.parent
    root = shared / "platform"
    with filelock.FileLock(str(shared / "platform.lock")):
        if not (root / "new_symbol_runs.json").exists():
            runs = build_platform(root)
            (root / "new_symbol_runs.json").write_text(dg.serialize_value(runs))
    runs = dg.deserialize_value((root / "new_symbol_runs.json").read_text(), list)
    lake = lake_at(root)
    with serve_all_sources() as mirror, dg.instance_for_test(temp_dir=str(root / "home")) as instance:
        snapshot_without("AMC", dt.date(2024, 7, 15), mirror)
        yield PlatformBuild(mirror, lake, instance, runs)
    lake.close()


def build_platform(root: Path) -> list[dg.RunRequest]:
    """Every source from the sample into a lake and an instance under `root`, then dbt; the runs the
    new-symbol sensor asked for."""
    (root / "home").mkdir(parents=True)
    lake = lake_at(root)
    with (
        serve_all_sources() as mirror,
        platform_on(mirror, lake, TICKERLAKE_PRICES_START="2024-03-01") as resources,
        dg.instance_for_test(temp_dir=str(root / "home")) as instance,
    ):
        run([finra_short_volume], resources, instance, {RANGE_START: "2024-03-01", RANGE_END: "2024-07-15"})
        reference = [
            symbol_directory,
            sec_company_tickers,
            sec_company_sic,
            sec_shares_outstanding,
            fx_rates_ecb,
            fred_series,
            cboe_index_history,
        ]
        run(reference, resources, instance)
        dates = [d.isoformat() for d in settlement_dates(dt.date(2024, 3, 1), dt.date(2024, 6, 28))]
        instance.add_dynamic_partitions(settlements.name, dates)
        run([finra_short_interest], resources, instance, {RANGE_START: dates[0], RANGE_END: dates[-1]})
        halves = [h.key for h in half_months(HalfMonth(2024, 3, "a"), HalfMonth(2024, 7, "a"))]
        instance.add_dynamic_partitions(half_month_partitions.name, halves)
        run([sec_fails_to_deliver], resources, instance, {RANGE_START: halves[0], RANGE_END: halves[-1]})
        run([regsho_threshold_list], resources, instance, {RANGE_START: "2024-03-01", RANGE_END: "2024-07-12"})
        for cot in (cftc_cot_legacy, cftc_cot_tff):
            run([cot], resources, instance, {RANGE_START: "2023", RANGE_END: "2025"})
        snapshot_without("AMC", dt.date(2024, 7, 15), mirror)
        run([symbol_directory], resources, instance)
        result = run_sensor_like_the_daemon(instance, lake, resources)
        instance.add_dynamic_partitions("symbols", ["SAPX"])
        run([prices_history], resources, instance, {RANGE_START: "SAPX", RANGE_END: "SAPX"})
        run([tickerlake_dbt_models], resources, instance)
    lake.close()
    return list(result.run_requests)


def rows(build: PlatformBuild, sql: str, *params: object) -> list[tuple]:
    with build.lake.connect(read_only=True) as con:
        return con.execute(sql, list(params)).fetchall()
