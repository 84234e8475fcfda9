"""Hostile input, full disks, secrets: nothing escapes the lake, nothing leaks, nothing half-written."""

import ast
import errno
import os
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from assets.prices import prices_daily
from resources.lake import LakeResource, LakeWriteError
from resources.prices import PricesResource
from tests.conftest import ROOT, serve_all_sources, source_url
from tests.platform_build import RANGE_END, RANGE_START

HOSTILE = ["../../x", "A;DROP TABLE x", "A\u0391PL", "", "A" * 200]


@pytest.mark.parametrize("symbol", HOSTILE)
def test_hostile_symbols_never_reach_a_path_or_a_request(symbol: str, tmp_path: Path) -> None:
    lake = LakeResource(root=str(tmp_path / "lake"))
    with serve_all_sources() as mirror, dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("symbols", [symbol] if symbol else ["\u200b"])
        key = symbol or "\u200b"
        result = dg.materialize(
            [prices_daily],
            instance=instance,
            raise_on_error=False,
            resources={"lake": lake, "prices": PricesResource(yahoo_base_url=source_url(mirror, "yahoo"))},
            tags={RANGE_START: f"2024-07-01|{key}", RANGE_END: f"2024-07-12|{key}"},
        )
        requests = list(mirror.requests)
    assert not result.success
    error = result.get_step_failure_events()[0].step_failure_data.error
    assert error.cause.cls_name == "InvalidSymbol" and "invalid symbol" in error.cause.message
    assert requests == [], "no request was sent for it"
    assert sorted(p.name for p in tmp_path.rglob("*")) == [], "no file was written anywhere"


def test_a_full_disk_leaves_the_previous_partition_and_no_temp_file(tmp_path: Path, monkeypatch) -> None:
    lake = LakeResource(root=str(tmp_path / "lake"))
    old = pl.DataFrame({"v": [1, 2, 3]})
    target = lake.write("d", old, "date=2024-07-01")

    def full_disk(self: pl.DataFrame, file: Path, **_: object) -> None:
        Path(file).write_bytes(b"PAR1 half a file")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(pl.DataFrame, "write_parquet", full_disk)
    with pytest.raises(LakeWriteError, match=r"cannot write d date=2024-07-01 .*No space left on device"):
        lake.write("d", pl.DataFrame({"v": [9]}), "date=2024-07-01")
    monkeypatch.undo()
    assert pl.read_parquet(target).equals(old)
    assert [p.name for p in target.parent.iterdir()] == ["part.parquet"]


def test_an_unusable_lake_root_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the lake root should be")
    lake = LakeResource(root=str(blocker / "lake"))
    with pytest.raises(LakeWriteError, match="cannot write d date=2024-07-01"):
        lake.write("d", pl.DataFrame({"v": [1]}), "date=2024-07-01")


def _formatted_sql_calls() -> set[str]:
    """Every execute()/sql() call in the code whose SQL is an f-string, as 'file:function'."""
    found = set()
    for path in [*ROOT.glob("assets/*.py"), *ROOT.glob("resources/*.py"), *ROOT.glob("sensors/*.py")]:
        tree = ast.parse(path.read_text())
        for function in [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]:
            for call in [n for n in ast.walk(function) if isinstance(n, ast.Call)]:
                name = getattr(call.func, "attr", None)
                if name in {"execute", "sql"} and call.args and isinstance(call.args[0], ast.JoinedStr):
                    found.add(f"{path.relative_to(ROOT)}:{function.name}")
    return found


def test_sql_is_never_formatted_from_inputs() -> None:
    """Values travel as bound parameters; the one formatted statement is DDL of our own names.

    register_lake_views formats `raw."<dataset>"` from the code's own dataset constants and quotes the
    lake path as a literal (DDL takes no parameters); no symbol, date or user text reaches it.
    """
    assert _formatted_sql_calls() == {"resources/warehouse.py:register_lake_views"}


def test_api_keys_appear_in_no_log_metadata_or_error(tmp_path: Path, monkeypatch, capfd) -> None:
    secret = "tiingo-key-7f3a9c"
    monkeypatch.setenv("TICKERLAKE_TIINGO_API_KEY", secret)
    lake = LakeResource(root=str(tmp_path / "lake"))
    with serve_all_sources() as mirror, dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("symbols", ["JPM", "KO"])  # KO: Tiingo answers 404
        prices = PricesResource(
            provider="tiingo",
            tiingo_base_url=source_url(mirror, "tiingo"),
            tiingo_api_key=dg.EnvVar("TICKERLAKE_TIINGO_API_KEY"),
            retry_attempts=1,
        )
        result = dg.materialize(
            [prices_daily],
            instance=instance,
            raise_on_error=False,
            resources={"lake": lake, "prices": prices},
            tags={RANGE_START: "2024-07-03|JPM", RANGE_END: "2024-07-08|KO"},
        )
        records = instance.all_logs(result.run_id)
        run = instance.get_run_by_id(result.run_id)
    assert not result.success, "KO failed, so the failure path is covered too"
    assert mirror.headers[0]["Authorization"] == f"Token {secret}", "the key was really used"
    texts = [repr(r) for r in records] + [repr(run.run_config), repr(run.tags)]
    out, err = capfd.readouterr()
    assert not any(secret in text for text in [*texts, out, err])
    assert pl.read_parquet(lake.partition_path("prices_daily", "symbol=JPM")).height == 3
