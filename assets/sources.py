"""Every source of the lake, found by name: a source `x` is a client in resources/x.py and an asset
module assets/x.py that declares `SOURCE`; its sensors and schedules, if it has any, are the list
`AUTOMATION` of sensors/x.py.

Nothing lists the sources: the definitions' assets and resources, the raw tables dbt reads, the
freshness checks and the test platform are all derived from these declarations, so a new source is
its client, its asset module, its staging models and its tests, and nothing else.
"""

import functools
import importlib
import pkgutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from resources.http import HttpSource
from resources.lake import Dataset, LakeResource

ASSETS_DIR = Path(__file__).resolve().parent
RESOURCES_DIR = ASSETS_DIR.parent / "resources"
SENSORS_DIR = ASSETS_DIR.parent / "sensors"
DAILY_TAG = "tickerlake/daily"  # "market": the trading-day schedule refetches it; "reference": the daily one


@dataclass(frozen=True)
class Source:
    """What a source adds to the platform, declared once beside its assets.

    `client` is the resource class, registered under the module's name; `datasets` are the lake tables
    its assets write (with their schemas), `freshness` and `checks` its freshness checks (evaluated by
    the freshness sensor) and any other checks that are not part of an asset (assets/freshness.py).
    """

    client: type[HttpSource]
    assets: Sequence[dg.AssetsDefinition]
    datasets: Sequence[Dataset]
    freshness: Sequence[dg.AssetChecksDefinition] = field(default_factory=tuple)
    checks: Sequence[dg.AssetChecksDefinition] = field(default_factory=tuple)


@functools.cache
def sources() -> dict[str, Source]:
    """Resource key (the module name) -> its declaration, for every module name in both folders."""
    clients = {info.name for info in pkgutil.iter_modules([str(RESOURCES_DIR)])}
    found = {}
    for info in pkgutil.iter_modules([str(ASSETS_DIR)]):
        if info.name in clients:
            declared = getattr(importlib.import_module(f"assets.{info.name}"), "SOURCE", None)
            if isinstance(declared, Source):
                found[info.name] = declared
    return dict(sorted(found.items()))


def source_assets() -> list[dg.AssetsDefinition]:
    return [asset for source in sources().values() for asset in source.assets]


def freshness_checks() -> list[dg.AssetChecksDefinition]:
    return [check for source in sources().values() for check in source.freshness]


def source_checks() -> list[dg.AssetChecksDefinition]:
    return [check for source in sources().values() for check in source.checks]


def raw_datasets() -> list[Dataset]:
    return [dataset for source in sources().values() for dataset in source.datasets]


def source_automation() -> list[dg.SensorDefinition | dg.ScheduleDefinition]:
    """The sensors and schedules of every source that has a sensors/<name>.py."""
    found = []
    for name in sources():
        if (SENSORS_DIR / f"{name}.py").exists():
            found += importlib.import_module(f"sensors.{name}").AUTOMATION
    return found


def register_raw_tables(lake: LakeResource) -> None:
    """Every source's table exists, typed and empty until its first write: dbt's sources and `make sql`
    can name a table before its source has ever run. Cheap when they exist (a catalog lookup)."""
    lake.ensure(raw_datasets())
