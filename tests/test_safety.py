"""Hostile input, full disks, secrets: nothing escapes the lake, nothing leaks, nothing half-written."""

import ast
import subprocess
import sys
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from assets.prices import DATASET as PRICES
from assets.prices import prices_daily, prices_history
from resources.lake import Dataset, LakeResource, LakeWriteError, LocalLake
from resources.prices import PricesResource
from tests.helpers import ROOT, on_mirror, serve_all_sources
from tests.platform_build import RANGE_END, RANGE_START

HOSTILE = ["../../x", "A;DROP TABLE x", "A\u0391PL", "", "A" * 200]


@pytest.mark.parametrize("symbol", HOSTILE)
def test_hostile_symbols_never_reach_a_path_or_a_request(symbol: str, tmp_path: Path) -> None:
    lake = LocalLake(root=str(tmp_path / "lake"))
    with serve_all_sources() as mirror, dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("symbols", [symbol] if symbol else ["\u200b"])
        key = symbol or "\u200b"
        result = dg.materialize(
            [prices_history],
            instance=instance,
            raise_on_error=False,
            resources={"lake": lake, "prices": on_mirror(PricesResource, mirror)},
            partition_key=key,
        )
        requests = list(mirror.requests)
    assert not result.success
    error = result.get_step_failure_events()[0].step_failure_data.error
    assert error.cause.cls_name == "InvalidSymbol" and "invalid symbol" in error.cause.message
    assert requests == [], "no request was sent for it"
    assert sorted(p.name for p in tmp_path.rglob("*")) == [], "no file was written anywhere"


FULL_DISK_WRITER = """
import resource, signal, sys
import polars as pl
from resources.lake import LakeWriteError, LocalLake
from tests.test_safety import NUMBERS
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG, as on a full disk
resource.setrlimit(resource.RLIMIT_FSIZE, (256 * 1024, 256 * 1024))
lake = LocalLake(root=sys.argv[1])
big = pl.DataFrame({"day": "2024-07-01", "v": pl.int_range(0, 2_000_000, eager=True).shuffle(seed=1)})
try:
    lake.replace(NUMBERS, big, where={"day": "2024-07-01"})
except LakeWriteError as error:
    print(error)
    sys.exit(3)
"""
NUMBERS = Dataset("numbers", {"day": pl.String(), "v": pl.Int64()}, order=("day", "v"))


def test_a_full_disk_leaves_the_previous_partition(lake: LakeResource) -> None:
    lake.replace(NUMBERS, pl.DataFrame({"day": "2024-07-01", "v": [1, 2, 3]}), where={"day": "2024-07-01"})
    before = lake.read(NUMBERS, stamps=True)
    writer = subprocess.run(
        [sys.executable, "-c", FULL_DISK_WRITER, lake.location], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert writer.returncode == 3, writer.stderr[-2000:]
    assert "cannot write numbers day=2024-07-01" in writer.stdout
    assert "the previous version is unchanged" in writer.stdout
    assert lake.read(NUMBERS, stamps=True).equals(before)


def test_an_unusable_lake_root_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the lake root should be")
    lake = LocalLake(root=str(blocker / "lake"))
    with pytest.raises(LakeWriteError, match="cannot write numbers day=2024-07-01"):
        lake.replace(NUMBERS, pl.DataFrame({"day": "2024-07-01", "v": [1]}), where={"day": "2024-07-01"})


def _formatted_sql_calls() -> set[str]:
    """Every execute()/sql() call in the code whose SQL is an f-string, as 'file:function'."""
    found = set()
    folders = ("assets", "resources", "sensors", "web")
    for path in [path for folder in folders for path in ROOT.glob(f"{folder}/*.py")]:
        tree = ast.parse(path.read_text())
        for function in [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]:
            for call in [n for n in ast.walk(function) if isinstance(n, ast.Call)]:
                name = getattr(call.func, "attr", None)
                if name in {"execute", "sql"} and call.args and isinstance(call.args[0], ast.JoinedStr):
                    found.add(f"{path.relative_to(ROOT)}:{function.name}")
    return found


def test_sql_is_never_formatted_from_inputs() -> None:
    """Text values travel as bound parameters; formatted statements hold only our own names and settings,
    and the lake's dates and numbers as typed literals rendered from Python values (DuckLake prunes its
    data files only on constants; resources/lake.py, _literal).

    The lake formats table and column names from the code's own dataset declarations (identifiers take
    no parameters) with the WHERE clause's placeholders, and quotes its own paths and settings in
    statements that take no parameters (ATTACH, SET, CREATE SECRET); maintenance and the order book's
    hourly compaction name the catalog alias; the freshness band names a dataset's own table and columns;
    the dbt step counts the rows of the relations dbt's manifest names; the previews name the feature
    marts and columns FEATURE_PLOTS lists; the model's dataset names the feature mart and labels table of
    its partition (assets/direction_dataset.py SOURCES), the scheme and interval bound, and serving reads
    those marts and its own predictions table with the dataset and dates bound; insert_new names a
    dataset's key columns. The API pages its own queries (a count around them, LIMIT and OFFSET bound),
    names the crypto mart of an interval it validated, and selects the catalog by its constant alias.
    No symbol, date or user text reaches any of them.
    """
    assert _formatted_sql_calls() == {
        "resources/lake.py:connect",
        "resources/lake.py:replace",
        "resources/lake.py:_keep_history",
        "resources/lake.py:newest",
        "resources/lake.py:distinct",
        "resources/lake.py:stored",
        "resources/lake.py:_read",
        "resources/lake.py:_create_or_extend",
        "resources/lake.py:_set_option",
        "resources/lake.py:ensure",
        "resources/lake.py:insert_new",
        "resources/duckdb_env.py:create_s3_secret",
        "resources/duckdb_env.py:create_catalog_secret",
        "resources/dbt_plugin.py:configure_connection",
        "assets/direction_dataset.py:read",
        "assets/direction_predictions.py:pending",
        "assets/maintenance.py:maintain",
        "assets/maintenance.py:lake_footprint",
        "assets/binance_depth.py:compact",
        "assets/freshness.py:daily_figures",
        "assets/dbt.py:tickerlake_dbt_models",
        "assets/previews.py:_history",
        "web/queries.py:_page",
        "web/connection.py:cursor",
    }


def test_api_keys_appear_in_no_log_metadata_or_error(lake: LakeResource, monkeypatch, capfd) -> None:
    secret = "tiingo-key-7f3a9c"
    monkeypatch.setenv("TICKERLAKE_TIINGO_API_KEY", secret)
    with serve_all_sources() as mirror, dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("symbols", ["JPM", "KO"])  # KO: Tiingo answers 404
        prices = on_mirror(
            PricesResource,
            mirror,
            provider="tiingo",
            tiingo_api_key=dg.EnvVar("TICKERLAKE_TIINGO_API_KEY"),
            retry_attempts=1,
        )
        result = dg.materialize(
            [prices_daily],
            instance=instance,
            raise_on_error=False,
            resources={"lake": lake, "prices": prices},
            tags={RANGE_START: "2024-07-03", RANGE_END: "2024-07-08"},
        )
        records = instance.all_logs(result.run_id)
        run = instance.get_run_by_id(result.run_id)
    assert not result.success, "KO failed, so the failure path is covered too"
    assert mirror.headers[0]["Authorization"] == f"Token {secret}", "the key was really used"
    texts = [repr(r) for r in records] + [repr(run.run_config), repr(run.tags)]
    out, err = capfd.readouterr()
    assert not any(secret in text for text in [*texts, out, err])
    assert lake.read(PRICES, where={"symbol": "JPM"}).height == 3
