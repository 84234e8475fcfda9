"""The dbt project as Dagster assets, so models show in the asset graph downstream of raw sources.

The manifest is built once at install time (`dbt parse` in the Makefile), not per run process.
dbt builds into the lake's catalog, beside the raw tables. Two builds at once would replace the same
marts, hence the `duckdb` pool (limit 1) on the whole dbt step, and, on a SQLite catalog, the
catalog's write lock inside it (the pool alone can admit two steps on a SQLite instance, and a
SQLite catalog takes one writer at a time).
"""

import functools
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from assets.direction_predictions import PREDICTION_ASSETS, PREDICTIONS
from assets.equity_indicators import DATASET as EQUITY_INDICATORS
from assets.indicators import DATASET as CRYPTO_INDICATORS
from assets.listings import DATASET as LISTINGS_DATASET
from assets.listings import LISTINGS
from assets.previews import FEATURE_PLOTS, mart_previews
from assets.prices import DAILY_KEY as PRICES_DAILY_KEY
from assets.prices import MARKET_DAILY
from assets.sources import register_raw_tables
from resources.lake import LakeResource

DBT_PROJECT_DIR = Path(__file__).resolve().parent.parent / "dbt_project"
dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR)
DUCKDB_POOL = "duckdb"

# A dbt source written by a second asset too names that asset in its meta (`also_written_by`, _sources.yml).
ALSO_WRITTEN_BY = "also_written_by"


# dbt's unit tests check a model's SQL on the rows their yml gives, not the data: dbt's advice is to run
# them in development and CI, not in every production build (tests/test_dbt_models.py runs them all).
BUILD_ARGS = ["--exclude-resource-type", "unit_test"]

# Tables the platform's Python assets derive and dbt reads as sources (_sources.yml): created empty if
# their asset never ran, so a deployment without crypto (or before its first run) still builds every model.
DERIVED_TABLES = [CRYPTO_INDICATORS, EQUITY_INDICATORS, PREDICTIONS]

PREVIEWED = {
    "mart_sector_short_return_correlation",
    "mart_volatility_ranking",
    "fct_short_volume_daily",
    *FEATURE_PLOTS,
}


# A table no asset of its own name writes: the assets that do (one per configured market, one per model
# dataset) stand in for it as the models' upstream.
WRITTEN_ONLY_BY = {
    dg.AssetKey(["raw", LISTINGS_DATASET.name]): [asset.key for asset in LISTINGS],
    dg.AssetKey(["ml", PREDICTIONS.name]): [asset.key for asset in PREDICTION_ASSETS],
}


def _second_writers(manifest: Mapping[str, Any]) -> dict[dg.AssetKey, list[dg.AssetKey]]:
    """Source asset key -> the other assets writing its table: the one its `meta.tickerlake` names
    (_sources.yml), and for raw.prices_daily the daily asset of each configured market beyond the US,
    which the settings decide (TICKERLAKE_MARKETS), not the yml."""
    writers: dict[dg.AssetKey, list[dg.AssetKey]] = {PRICES_DAILY_KEY: [asset.key for asset in MARKET_DAILY]}
    for source in manifest["sources"].values():
        other = source.get("meta", {}).get("tickerlake", {}).get(ALSO_WRITTEN_BY)
        if other:
            key = dg.AssetKey([source["source_name"], source["name"]])
            writers[key] = [dg.AssetKey(other.split("/")), *writers.get(key, [])]
    return writers


class DbtBuildConfig(dg.Config):
    """Launchpad options for the dbt step."""

    full_refresh: bool = False  # rebuild incremental models from scratch (dbt --full-refresh)


class TickerlakeDbtTranslator(DagsterDbtTranslator):
    """Models rebuild after their raw inputs update (the daily runs), whatever history is missing.

    Plain eager() waits until no upstream partition is missing, which for a trading-day asset
    means "never" until all history since 2009 is loaded; so that clause is dropped. A model whose meta
    says `tickerlake: {automation: none}` (a view over a table written every minute, which reads the new
    rows without a rebuild) has no condition: a dbt run a minute would hold the catalog for nothing.
    """

    def get_automation_condition(self, dbt_resource_props: Mapping[str, Any]) -> dg.AutomationCondition | None:
        meta = dbt_resource_props.get("config", {}).get("meta", {}) or dbt_resource_props.get("meta", {})
        if meta.get("tickerlake", {}).get("automation") == "none":
            return None
        return dg.AutomationCondition.eager().without(~dg.AutomationCondition.any_deps_missing())

    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None) -> dg.AssetSpec:
        """A raw table written by two assets is one dbt source: the second writer joins its deps. A table
        written only by assets of other names depends on those instead."""
        spec = super().get_asset_spec(manifest, unique_id, project)
        if any(dep.asset_key in WRITTEN_ONLY_BY for dep in spec.deps):
            kept = [dep for dep in spec.deps if dep.asset_key not in WRITTEN_ONLY_BY]
            standing_in = [dg.AssetDep(key) for dep in spec.deps for key in WRITTEN_ONLY_BY.get(dep.asset_key, [])]
            spec = spec.replace_attributes(deps=[*kept, *standing_in])
        writers = _second_writers(manifest)
        extra = [writer for dep in spec.deps for writer in writers.get(dep.asset_key, [])]
        return spec.merge_attributes(deps=extra) if extra else spec


@dbt_assets(
    manifest=dbt_project.manifest_path,
    pool=DUCKDB_POOL,
    dagster_dbt_translator=TickerlakeDbtTranslator(),
)
def tickerlake_dbt_models(
    context: dg.AssetExecutionContext,
    config: DbtBuildConfig,
    dbt: DbtCliResource,
    lake: LakeResource,
) -> Iterator[Any]:
    """dbt build into the lake's catalog, then each table's row count and the marts' previews.

    Each model is visible to readers once dbt commits it; nothing is copied for them. Events are held
    until dbt has exited, as Dagster wants a multi-asset's outputs in dependency order. Row counts are
    read here, not by dagster-dbt's fetch_row_counts, which opens dbt's own database file (ours is an
    in-memory DuckDB with the lake attached).
    """
    with lake.writing(context.log):
        register_raw_tables(lake)
        lake.ensure(DERIVED_TABLES)
        args = ["build", *BUILD_ARGS, "--full-refresh"] if config.full_refresh else ["build", *BUILD_ARGS]
        events = list(dbt.cli(args, context=context).stream())
    relations = _relations(dbt_project.manifest_path)
    with lake.connect(read_only=True) as con:
        previews = mart_previews(con, {model for model in map(_previewed_model, events) if model})
        for event in events:
            if not isinstance(event, dg.Output) or event.metadata.get("unique_id") is None:
                yield event
                continue
            extra = dict(previews.get(_previewed_model(event) or "", {}))
            relation = relations.get(str(event.metadata["unique_id"].value))
            if relation:
                extra["dagster/row_count"] = con.execute(f"SELECT count(*) FROM {relation}").fetchone()[0]
            yield event.with_metadata({**event.metadata, **extra})


@functools.cache
def _relations(manifest_path: Path) -> dict[str, str]:
    """dbt unique_id -> schema.table of every table model and seed, as dbt built them: what a row count is
    read from. Views are left out: counting one runs its whole query (staging's dedup of every FINRA row
    takes 19 s at full history), and a view holds no rows of its own to count."""
    nodes = json.loads(manifest_path.read_text())["nodes"].values()
    return {
        n["unique_id"]: f'"{n["schema"]}"."{n["alias"]}"'
        for n in nodes
        if n["resource_type"] in ("model", "seed") and n["config"].get("materialized") != "view"
    }


def _previewed_model(event: object) -> str | None:
    """The model name of a dbt model's Output that gets previews (output names are schema__model)."""
    if isinstance(event, dg.Output) and event.output_name.split("__")[-1] in PREVIEWED:
        return event.output_name.split("__")[-1]
    return None
