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

from assets.finra import finra_short_volume
from resources.lake import LakeResource
from tests.conftest import FIXTURE_DIR, ROOT, SAMPLE_DIR, FinraMirror, fast_client, serve
from tests.platform_build import RANGE_END, RANGE_START

FIRST, LAST = "2024-03-01", "2024-07-12"
DAYS = 92


class SlowFinra(FinraMirror):
    """FINRA answering in 30 ms a file, so a backfill is still running when it is killed."""

    def handle(self, request: Request) -> Response:
        time.sleep(0.03)
        return super().handle(request)


def digest(lake_root: Path) -> tuple[int, str]:
    glob = str(lake_root / "finra_short_volume" / "**" / "part.parquet")
    with duckdb.connect() as con:
        rows = con.execute(f"SELECT * FROM read_parquet('{glob}', hive_partitioning = false) ORDER BY ALL").fetchall()
    return len(rows), hashlib.sha256(repr(rows).encode()).hexdigest()


def backfill_command() -> list[str]:
    return [str(Path(sys.executable).parent / "dagster"), "asset", "materialize", "-f", "platform/definitions.py",
            "-d", ".", "--select", "raw/finra_short_volume", "--partition-range", f"{FIRST}...{LAST}"]


def test_a_killed_backfill_rerun_converges_to_an_uninterrupted_one(tmp_path: Path) -> None:
    killed_lake, clean_lake, home = tmp_path / "killed", tmp_path / "clean", tmp_path / "home"
    home.mkdir()
    with serve(SlowFinra) as mirror:
        mirror.add_tree(SAMPLE_DIR, "/equity/regsho/daily")
        mirror.add_tree(FIXTURE_DIR, "/equity/regsho/daily")
        env = {**os.environ, "DAGSTER_HOME": str(home), "TICKERLAKE_FINRA_BASE_URL": mirror.base_url,
               "TICKERLAKE_LAKE_ROOT": str(killed_lake), "TICKERLAKE_DUCKDB_PATH": str(tmp_path / "w.duckdb")}
        process = subprocess.Popen(backfill_command(), cwd=ROOT, env=env, start_new_session=True,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 240
        while len(list(killed_lake.rglob("part.parquet"))) < 10:
            assert process.poll() is None, "the backfill ended before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.05)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        written = len(list(killed_lake.rglob("part.parquet")))
        assert 10 <= written < DAYS, "killed in the middle"

        rerun = subprocess.run(backfill_command(), cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
        assert rerun.returncode == 0, rerun.stderr[-3000:]

        with dg.instance_for_test() as instance:
            clean = dg.materialize(
                [finra_short_volume], instance=instance,
                resources={"finra": fast_client(mirror), "lake": LakeResource(root=str(clean_lake))},
                tags={RANGE_START: FIRST, RANGE_END: LAST},
            )
        assert clean.success
    assert digest(killed_lake) == digest(clean_lake)
    assert digest(killed_lake)[0] > 0
    assert len(list(killed_lake.rglob("part.parquet"))) == DAYS
    leftovers = [p for p in killed_lake.rglob("*") if p.is_file() and p.name != "part.parquet"]
    assert all(p.name.startswith(".") for p in leftovers), "an orphan temp file is hidden from every reader"
