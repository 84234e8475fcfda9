"""The dbt models on hand-checked days, built through Dagster exactly as a run builds them."""

import contextlib
import json
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from assets import finra
from assets.dbt import dbt_project, tickerlake_dbt_models
from assets.finra import finra_short_volume
from resources.dbt_cli import DbtCli
from resources.finra import FinraClient
from resources.lake import LakeResource
from resources.settings import dbt_executable
from tests.helpers import branch_of, dbt_cli, fast_client, lake_at, lake_env, serve_finra_mirror
from tests.test_finra_assets import materialize_range


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LakeResource]:
    """One build for the module: dbt costs seconds per invocation."""
    lake = lake_at(tmp_path_factory.mktemp("lake"))
    with pytest.MonkeyPatch.context() as env, serve_finra_mirror() as mirror, dg.instance_for_test() as instance:
        for name, value in lake_env(lake).items():
            env.setenv(name, value)
        _build(fast_client(mirror), lake, instance)
        yield lake
    lake.close()


def _build(finra: FinraClient, lake: LakeResource, instance: dg.DagsterInstance) -> None:
    for day in ("2010-06-04", "2024-07-01", "2024-07-02", "2024-07-15"):
        assert materialize_range(day, day, finra, lake, instance).success
    result = dg.materialize(
        [finra_short_volume, tickerlake_dbt_models],
        selection=dg.AssetSelection.assets(tickerlake_dbt_models),
        resources={
            "dbt": DbtCli(project_dir=dbt_project, dbt_executable=dbt_executable()),
            "lake": lake,
            "finra": finra,
        },
        instance=instance,
    )
    assert result.success


def fct(lake: LakeResource, day: str) -> dict[str, tuple]:
    with lake.connect(read_only=True) as con:
        rows = con.execute(
            """SELECT symbol, nms_source, short_volume, short_exempt_volume, total_volume, short_ratio,
                      otc_short_volume, otc_total_volume, otc_short_ratio
               FROM marts.fct_short_volume_daily WHERE trade_date = ? ORDER BY symbol""",
            [day],
        ).fetchall()
    return {row[0]: row[1:] for row in rows}


def test_before_cnms_the_facility_files_are_summed_and_otc_kept_apart(built: LakeResource) -> None:
    assert fct(built, "2010-06-04") == {
        #        source       short  exempt total   ratio  otc_short otc_total otc_ratio
        "AAPL": ("FNSQ,FNYX", 1500.0, None, 5000.0, 0.3, None, None, None),
        "MSFT": ("FNYX", 300.0, None, 1200.0, 0.25, None, None, None),
        "NSRGY": (None, None, None, None, None, 250.5, 1000.0, 0.2505),
        "ZZZT": ("FNSQ", 0.0, None, 0.0, None, None, None, None),
    }


def test_cnms_is_taken_as_is_never_added_to_its_facilities(built: LakeResource) -> None:
    assert fct(built, "2024-07-15") == {
        "AAPL": ("CNMS", 600.0, 10.0, 1000.0, 0.6, None, None, None),
        "MSFT": ("CNMS", 90.5, 0.0, 100.0, 0.905, None, None, None),
        "TCEHY": (None, None, None, None, None, 100.0, 400.0, 0.25),
        "XTRF": ("FNSQ,FNYX", 50.0, 1.0, 100.0, 0.5, None, None, None),
    }


def test_sample_days_match_an_independent_polars_computation(built: LakeResource) -> None:
    raw = built.read(finra.DATASET).filter(pl.col("trade_date").cast(pl.String).is_in(["2024-07-01", "2024-07-02"]))
    cnms = raw.filter(pl.col("facility") == "CNMS").select(
        "trade_date", "symbol", pl.col("short_volume"), pl.col("total_volume")
    )
    expected = cnms.with_columns(short_ratio=pl.col("short_volume") / pl.col("total_volume")).sort(
        "trade_date", "symbol"
    )
    with built.connect(read_only=True) as con:
        actual = con.sql(
            """SELECT trade_date, symbol, short_volume, total_volume, short_ratio
               FROM marts.fct_short_volume_daily
               WHERE trade_date IN ('2024-07-01', '2024-07-02') AND nms_source IS NOT NULL
               ORDER BY trade_date, symbol"""
        ).pl()
    assert actual.rows() == expected.rows()


def test_raw_table_is_queryable_with_the_documented_columns(built: LakeResource) -> None:
    with built.connect(read_only=True) as con:
        columns = [r[0] for r in con.execute("DESCRIBE raw.finra_short_volume").fetchall()]
        days = con.execute("SELECT count(DISTINCT trade_date) FROM raw.finra_short_volume").fetchone()[0]
    assert columns == [
        "trade_date",
        "symbol",
        "facility",
        "short_volume",
        "short_exempt_volume",
        "total_volume",
        "market",
        "_loaded_at",
    ]
    assert days == 4


def test_a_duplicate_key_in_the_newest_batch_fails_the_key_test(built: LakeResource, tmp_path: Path) -> None:
    """The key tests read only the newest run's rows (`newest_batch: _built_at`); they must still bite."""
    copy = branch_of(built, tmp_path / "copy.sqlite")

    def key_test() -> subprocess.CompletedProcess:
        return dbt_cli(copy, tmp_path / "target", "test", "--select", "fct_short_volume_daily")

    assert key_test().returncode == 0
    with copy.connect(read_only=False) as con:
        con.execute(
            "INSERT INTO marts.fct_short_volume_daily SELECT * FROM marts.fct_short_volume_daily "
            "WHERE trade_date = DATE '2024-07-15' LIMIT 1"
        )
    failed = key_test()
    assert failed.returncode != 0
    assert "unique_combination_fct_short_volume_daily_trade_date__symbol" in failed.stdout


def test_a_duplicate_raw_row_resolves_the_same_whatever_order_the_rows_are_read(
    built: LakeResource, tmp_path: Path
) -> None:
    """Staging's dedup has a total order: the surviving row of a duplicate key never depends on the
    order in which the rows happen to be stored (or read by several threads)."""
    survivors = []
    for order in ("ASC", "DESC"):
        copy = branch_of(built, tmp_path / f"copy-{order}.sqlite")
        with copy.connect(read_only=False) as con:
            con.execute(
                f"""INSERT INTO raw.finra_short_volume
                    SELECT f.* REPLACE (f.short_volume + n AS short_volume, f.total_volume + n AS total_volume)
                    FROM raw.finra_short_volume AS f, range(1, 3) AS t(n)
                    WHERE trade_date = DATE '2024-07-15' AND symbol = 'AAPL'
                    ORDER BY n {order}"""
            )
            survivors.append(
                con.execute(
                    """SELECT facility, short_volume, total_volume FROM staging.stg_finra__short_volume
                   WHERE trade_date = DATE '2024-07-15' AND symbol = 'AAPL' ORDER BY facility"""
                ).fetchall()
            )
        copy.close()
    with built.connect(read_only=True) as con:
        stored = con.execute(
            """SELECT facility, short_volume + 2, total_volume + 2 FROM raw.finra_short_volume
               WHERE trade_date = DATE '2024-07-15' AND symbol = 'AAPL' ORDER BY facility"""
        ).fetchall()
    assert survivors[0] == survivors[1] == stored


DOCUMENTED_SCHEMAS = ("staging", "intermediate", "marts", "reference")


def test_every_relation_and_column_dbt_builds_has_its_description_as_a_comment(built: LakeResource) -> None:
    """persist_docs writes the YAML descriptions into the catalog, where SQL users read them: a model or a
    column added without a description fails here. DuckLake keeps no comments on a view's columns, so a
    view's comment lists them, a line "- <column>: <description>" each (macros/persist_docs.sql)."""
    with built.connect(read_only=True) as con:
        relations = con.execute(
            """SELECT schema_name, table_name, 'table', comment FROM duckdb_tables()
               WHERE database_name = current_database() AND list_contains(?, schema_name)
               UNION ALL
               SELECT schema_name, view_name, 'view', comment FROM duckdb_views()
               WHERE database_name = current_database() AND list_contains(?, schema_name)""",
            [list(DOCUMENTED_SCHEMAS)] * 2,
        ).fetchall()
        columns = con.execute(
            """SELECT schema_name, table_name, column_name, comment FROM duckdb_columns()
               WHERE database_name = current_database() AND list_contains(?, schema_name)
               ORDER BY schema_name, table_name, column_index""",
            [list(DOCUMENTED_SCHEMAS)],
        ).fetchall()
    kinds = {(schema, name): kind for schema, name, kind, _ in relations}
    comments = {(schema, name): comment or "" for schema, name, _, comment in relations}
    assert {schema for schema, _ in kinds} == set(DOCUMENTED_SCHEMAS) and len(columns) > 100

    undocumented = [f"{schema}.{name}" for (schema, name), comment in comments.items() if not comment.strip()]
    for schema, name, column, comment in columns:
        if kinds[schema, name] == "view":
            described = [
                line.removeprefix(f"- {column}:").strip()
                for line in comments[schema, name].splitlines()
                if line.startswith(f"- {column}:")
            ]
            comment = described[0] if described else ""
        if not (comment or "").strip():
            undocumented.append(f"{schema}.{name}.{column}")
    assert undocumented == []


def test_a_build_that_changes_no_description_writes_no_comment(built: LakeResource, tmp_path: Path) -> None:
    """An incremental model keeps its table between runs: its comments, already stored, are not written
    again (each COMMENT ON adds catalog rows, on every daily run)."""
    copy = branch_of(built, tmp_path / "copy.sqlite")

    def comment_rows() -> tuple[int, int]:
        with contextlib.closing(sqlite3.connect(copy.catalog_file)) as catalog:
            return (
                catalog.execute("SELECT count(*) FROM ducklake_tag").fetchone()[0],
                catalog.execute("SELECT count(*) FROM ducklake_column_tag").fetchone()[0],
            )

    before = comment_rows()
    run = dbt_cli(copy, tmp_path / "target", "run", "--select", "config.materialized:incremental")
    assert run.returncode == 0, run.stdout
    assert comment_rows() == before
    assert before[1] > 50


def test_every_unit_test_of_the_models_passes(built: LakeResource, tmp_path: Path) -> None:
    """Production builds leave dbt's unit tests out (assets/dbt.py, BUILD_ARGS): here they all run, each
    on the rows its yml gives, against the relations the build made."""
    unit_tests = json.loads(dbt_project.manifest_path.read_text())["unit_tests"]
    completed = dbt_cli(
        branch_of(built, tmp_path / "copy.sqlite"), tmp_path / "target", "test", "--select", "test_type:unit"
    )
    assert completed.returncode == 0, completed.stdout[-3000:]
    assert len(unit_tests) >= 14 and f"PASS={len(unit_tests)} " in completed.stdout


def test_a_view_is_written_only_when_its_definition_changed(built: LakeResource, tmp_path: Path) -> None:
    """dbt's view materialization replaces a view on every run (two catalog commits); macros/view.sql leaves
    an unchanged one as it is, and still replaces one whose stored query differs from the model's."""
    copy = branch_of(built, tmp_path / "copy.sqlite")

    def snapshots() -> int:
        with copy.connect(read_only=True) as con:
            return con.execute("SELECT count(*) FROM tickerlake.snapshots()").fetchone()[0]

    def views() -> subprocess.CompletedProcess:
        return dbt_cli(copy, tmp_path / "target", "run", "--select", "config.materialized:view")

    before = snapshots()
    assert views().returncode == 0
    assert snapshots() == before, "no view changed: nothing written"
    with copy.connect(read_only=False) as con:
        con.execute("CREATE OR REPLACE VIEW staging.stg_fx__ecb_rates AS SELECT 1 AS stale")
    assert views().returncode == 0
    with copy.connect(read_only=True) as con:
        columns = [row[0] for row in con.execute("DESCRIBE staging.stg_fx__ecb_rates").fetchall()]
    assert columns == ["rate_date", "currency", "units_per_eur"], "the stale view was replaced by the model's"
