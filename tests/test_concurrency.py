"""Two runs that both write the warehouse, at once, with the instance's `duckdb` pool."""

import datetime as dt
import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg

from tests.conftest import ROOT


def dbt_run(env: dict[str, str]) -> subprocess.Popen:
    command = [
        str(Path(sys.executable).parent / "dagster"),
        "asset",
        "materialize",
        "-f",
        "platform/definitions.py",
        "-d",
        ".",
        "--select",
        "kind:dbt",
    ]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def step_windows(home: Path) -> list[tuple[dt.datetime, dt.datetime]]:
    with dg.DagsterInstance.from_config(str(home)) as instance:
        windows = []
        for run in instance.get_runs():
            events = {
                r.dagster_event.event_type_value: r.timestamp
                for r in instance.all_logs(run.run_id)
                if r.dagster_event and r.step_key
            }
            windows.append((events["STEP_START"], events["STEP_SUCCESS"]))
    return sorted(windows)


def test_two_dbt_runs_at_once_wait_for_each_other_instead_of_failing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    shutil.copyfile(ROOT / "platform" / "dagster.yaml", home / "dagster.yaml")
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "TICKERLAKE_LAKE_ROOT": str(tmp_path / "lake"),
        "TICKERLAKE_DUCKDB_PATH": str(tmp_path / "w.duckdb"),
    }
    with dg.DagsterInstance.from_config(str(home)):
        pass  # create the instance's SQLite storage once, not from both processes at the same moment
    first, second = dbt_run(env), dbt_run(env)
    outputs = [p.communicate(timeout=600)[0] for p in (first, second)]
    assert [first.returncode, second.returncode] == [0, 0], "\n".join(o[-2000:] for o in outputs)
    assert not any("Could not set lock" in o for o in outputs)
    (_, end_a), (start_b, _) = step_windows(home)
    assert end_a <= start_b, "the pool let the second dbt step start only after the first had finished"
