"""The dbt step's command-line resource: dagster-dbt's, without two costs of every dbt step that
tickerlake never uses.

DbtCliResource runs `dbt --version` in a subprocess to learn which dbt it is about to run (a second
interpreter and dbt's imports: about 2 s), and builds dbt's adapter inside the Dagster process (the
project's macros, profile and adapter: about 1 s) for its optional row counts and column metadata. The
installed dbt-core package says the version, and the dbt step reads its row counts itself
(assets/dbt.py), so neither is done here.
"""

import importlib.metadata
from functools import cached_property
from typing import Any

from dagster_dbt import DbtCliResource
from packaging import version


class DbtCli(DbtCliResource):
    @cached_property
    def _cli_version(self) -> version.Version:
        return version.parse(importlib.metadata.version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args: Any) -> None:
        return None
