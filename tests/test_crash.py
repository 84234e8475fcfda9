"""kill -9 in the middle of a multi-day backfill, then the same command again."""

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import duckdb
from werkzeug import Request, Response

from assets.finra import DATASET, finra_short_volume
from resources.lake import LakeResource
from tests.conftest import FIXTURE_DIR, ROOT, SAMPLE_DIR, FinraMirror, fast_client, lake_at, lake_env, serve
from tests.platform_build import RANGE_END, RANGE_START

FIRST, LAST = "2024-03-01", "2024-07-12"
DAYS = 92


class SlowFinra(FinraMirror):
    """FINRA answering in 30 ms a file, so a backfill is still running when it is killed."""

    def handle(self, request: Request) -> Response:
        time.sleep(0.03)
        return super().handle(request)


def digest(lake: LakeResource) -> tuple[int, str]:
    rows = lake.read(DATASET).sort(list(DATASET.schema)).rows()
    return len(rows), hashlib.sha256(repr(rows).encode()).hexdigest()


def stored_days(lake: LakeResource) -> int:
    """Days committed so far, read as any reader would while the backfill runs."""
    try:
        with lake.connect() as con:
            return con.execute(f"SELECT count(DISTINCT trade_date) FROM {DATASET.table}").fetchone()[0]
    except duckdb.Error:
        return 0  # no catalog or no table yet


def backfill_command() -> list[str]:
    return [str(Path(sys.executable).parent / "dagster"), "asset", "materialize", "-f", "platform/definitions.py",
            "-d", ".", "--select", "raw/finra_short_volume", "--partition-range", f"{FIRST}...{LAST}"]


def test_a_killed_backfill_rerun_converges_to_an_uninterrupted_one(tmp_path: Path) -> None:
    killed_lake, clean_lake, home = lake_at(tmp_path / "killed"), lake_at(tmp_path / "clean"), tmp_path / "home"
    home.mkdir()
    with serve(SlowFinra) as mirror:
        mirror.add_tree(SAMPLE_DIR, "/equity/regsho/daily")
        mirror.add_tree(FIXTURE_DIR, "/equity/regsho/daily")
        env = {**os.environ, "DAGSTER_HOME": str(home), "TICKERLAKE_FINRA_BASE_URL": mirror.base_url,
               **lake_env(killed_lake)}
        process = subprocess.Popen(backfill_command(), cwd=ROOT, env=env, start_new_session=True,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 240
        while stored_days(killed_lake) < 10:
            assert process.poll() is None, "the backfill ended before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.05)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        written = stored_days(killed_lake)
        assert 10 <= written < DAYS, "killed in the middle"

        rerun = subprocess.run(backfill_command(), cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
        assert rerun.returncode == 0, rerun.stderr[-3000:]

        with dg.instance_for_test() as instance:
            clean = dg.materialize(
                [finra_short_volume], instance=instance,
                resources={"finra": fast_client(mirror), "lake": clean_lake},
                tags={RANGE_START: FIRST, RANGE_END: LAST},
            )
        assert clean.success
    assert digest(killed_lake) == digest(clean_lake)
    assert digest(killed_lake)[0] > 0
    assert stored_days(killed_lake) == DAYS
