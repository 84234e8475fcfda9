"""Where things live by default, shared by Python and dbt through environment variables.

dbt runs as a subprocess in dbt_project/, so paths are made absolute here and exported: the dbt
profile and the Dagster resources then point at the same lake whatever the working directory.
Secrets (API keys, the SEC User-Agent) are not read here: definitions pass them as dagster.EnvVar.
"""

import os
import sys
from pathlib import Path


def _absolute_env(name: str, default: str) -> str:
    value = str(Path(os.environ.get(name) or default).resolve())
    os.environ[name] = value
    return value


def lake_root() -> str:
    """A local folder (made absolute) or an s3://bucket/prefix URL, kept as it is."""
    if os.environ.get("TICKERLAKE_LAKE_ROOT", "").startswith("s3://"):
        return os.environ["TICKERLAKE_LAKE_ROOT"]
    return _absolute_env("TICKERLAKE_LAKE_ROOT", "data/lake")


def catalog() -> str | None:
    """The DuckLake catalog: sqlite:<file> (made absolute) or postgres:<connection string>.

    Unset, the lake's own default applies (a SQLite file beside a local lake folder); it is exported
    then too, so dbt's profile attaches the same catalog.
    """
    value = os.environ.get("TICKERLAKE_CATALOG")
    if not value:
        root = lake_root()
        if root.startswith("s3://"):
            return None
        value = f"sqlite:{Path(root).parent / 'tickerlake.sqlite'}"
    kind, _, location = value.partition(":")
    if kind == "sqlite":
        value = f"sqlite:{Path(location).resolve()}"
    os.environ["TICKERLAKE_CATALOG"] = value
    return value


def setting(name: str, default: str) -> str:
    """A non-secret setting such as a source's base URL: the environment wins, then the default."""
    return os.environ.get(name) or default


def dbt_executable() -> str:
    """The dbt installed beside this Python, so an un-activated venv still finds it."""
    sibling = Path(sys.executable).parent / "dbt"
    return str(sibling) if sibling.exists() else "dbt"
