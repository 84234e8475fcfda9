"""Two writers of a SQLite catalog at once, dbt builds included: the second waits for the first, never fails."""

import logging
import os
import subprocess
import sys
import time
from contextlib import AbstractContextManager
from pathlib import Path

import dagster as dg
import pytest
import yaml

from resources.lake import LakeResource, LakeWriteError, LocalLake
from tests.helpers import ROOT, lake_at, lake_env, process_holding

HOLD_WRITE_LOCK = (
    "import filelock, sys, time; lock = filelock.FileLock(sys.argv[1]); lock.acquire(); "
    "print('locked', flush=True); time.sleep(float(sys.argv[2]))"
)


def build_holding(lake: LakeResource, seconds: float) -> AbstractContextManager[subprocess.Popen]:
    """Another process in the middle of a build: it holds the catalog's write lock for `seconds`."""
    return process_holding(HOLD_WRITE_LOCK, str(lake.write_lock_path), str(seconds))


def test_a_build_waits_for_the_one_holding_the_catalog(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    lake = lake_at(tmp_path)
    with build_holding(lake, seconds=1.5):
        started = time.monotonic()
        with caplog.at_level(logging.INFO), lake.writing(logging.getLogger("test")):
            waited = time.monotonic() - started
    assert waited >= 1.0, "entered while the other build still held the lock"
    assert "waiting for it to finish" in caplog.text


def test_a_lock_held_past_the_timeout_fails_naming_the_lock_file(tmp_path: Path) -> None:
    lake = LocalLake(root=str(tmp_path / "lake"), write_lock_timeout_seconds=0.5)
    with (
        build_holding(lake, seconds=60),
        pytest.raises(LakeWriteError, match=r"tickerlake\.sqlite\.writer\.lock"),
        lake.writing(logging.getLogger("test")),
    ):
        pass


def test_a_killed_build_leaves_no_stale_lock(tmp_path: Path) -> None:
    lake = LocalLake(root=str(tmp_path / "lake"), write_lock_timeout_seconds=0.5)
    with build_holding(lake, seconds=60) as holder:
        holder.kill()
        holder.wait()
        with lake.writing(logging.getLogger("test")):
            pass


def dbt_run(env: dict[str, str]) -> subprocess.Popen:
    """A run of the dbt step (the staging views: any selection holds the catalog for the whole step)."""
    command = [
        str(Path(sys.executable).parent / "dagster"),
        "asset",
        "materialize",
        "-f",
        "platform/definitions.py",
        "-d",
        ".",
        "--select",
        'kind:"dbt" and group:"staging"',
    ]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def materialization_windows(home: Path) -> list[tuple[float, float]]:
    """Per run, the first and last model materialization: dbt has run and exited before the first."""
    with dg.DagsterInstance.from_config(str(home)) as instance:
        windows = []
        for run in instance.get_runs():
            stamps = [
                record.timestamp
                for record in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION)
            ]
            windows.append((min(stamps), max(stamps)))
    return sorted(windows)


def instance_without_pools(home: Path) -> None:
    """The local instance config with its pools removed: both dbt steps start at the same moment.

    That is what the `duckdb` pool does by chance on a SQLite instance when two runs claim its one
    slot together; here it happens every time, so the catalog's write lock alone must keep them apart.
    """
    config = yaml.safe_load((ROOT / "platform" / "dagster.yaml").read_text())
    del config["concurrency"]["pools"]
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))


def test_two_dbt_runs_at_once_take_turns_on_the_catalog(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    instance_without_pools(home)
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        **lake_env(lake_at(tmp_path)),
    }
    with dg.DagsterInstance.from_config(str(home)):
        pass  # create the instance's SQLite storage once, not from both processes at the same moment
    first, second = dbt_run(env), dbt_run(env)
    outputs = [p.communicate(timeout=600)[0] for p in (first, second)]
    assert [first.returncode, second.returncode] == [0, 0], "\n".join(o[-2000:] for o in outputs)
    assert not any("database is locked" in o for o in outputs)
    assert sum("waiting for it to finish" in o for o in outputs) == 1, "exactly one build waited for the other"
    (_, end_a), (start_b, _) = materialization_windows(home)
    assert end_a < start_b, "the second build's dbt ran only after the first build had finished"
