"""kill -9 in the middle of a multi-day backfill, then the same command again; kill -9 while a partition is
being published."""

import hashlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
from werkzeug import Request, Response

from assets.finra import DATASET, finra_short_volume
from resources.lake import Dataset, LakeResource
from tests.helpers import FIXTURE_DIR, ROOT, SAMPLE_DIR, FinraMirror, fast_client, lake_at, lake_env, serve
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
    return [
        str(Path(sys.executable).parent / "dagster"),
        "asset",
        "materialize",
        "-f",
        "platform/definitions.py",
        "-d",
        ".",
        "--select",
        "raw/finra_short_volume",
        "--partition-range",
        f"{FIRST}...{LAST}",
    ]


def test_a_killed_backfill_rerun_converges_to_an_uninterrupted_one(tmp_path: Path) -> None:
    killed_lake, clean_lake, home = lake_at(tmp_path / "killed"), lake_at(tmp_path / "clean"), tmp_path / "home"
    home.mkdir()
    with serve(SlowFinra) as mirror:
        mirror.add_tree(SAMPLE_DIR, "/equity/regsho/daily")
        mirror.add_tree(FIXTURE_DIR, "/equity/regsho/daily")
        env = {
            **os.environ,
            "DAGSTER_HOME": str(home),
            "TICKERLAKE_FINRA_BASE_URL": mirror.base_url,
            **lake_env(killed_lake),
        }
        process = subprocess.Popen(
            backfill_command(),
            cwd=ROOT,
            env=env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 240
        while stored_days(killed_lake) < 10:
            assert process.poll() is None, "the backfill ended before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.05)
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()  # waits, and closes its pipes
        written = stored_days(killed_lake)
        assert 10 <= written < DAYS, "killed in the middle"

        rerun = subprocess.run(backfill_command(), cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
        assert rerun.returncode == 0, rerun.stderr[-3000:]

        with dg.instance_for_test() as instance:
            clean = dg.materialize(
                [finra_short_volume],
                instance=instance,
                resources={"finra": fast_client(mirror), "lake": clean_lake},
                tags={RANGE_START: FIRST, RANGE_END: LAST},
            )
        assert clean.success
    assert digest(killed_lake) == digest(clean_lake)
    assert digest(killed_lake)[0] > 0
    assert stored_days(killed_lake) == DAYS


PUBLISHER = """
import sys, time
from pathlib import Path
import polars as pl
from resources.lake import lake_at_root
from tests.test_crash import NUMBERS, version
lake = lake_at_root(sys.argv[1], sys.argv[2])
signal_file, mode = Path(sys.argv[3]), sys.argv[4]
if mode == "pause":
    def work(tx):
        tx.replace(NUMBERS, version(2), where={"day": "d"})
        signal_file.write_text("written, not committed")
        time.sleep(120)
    lake.transaction(work, "numbers day=d")
else:
    n = 0
    while True:
        lake.replace(NUMBERS, version(2 + n % 2), where={"day": "d"})
        n += 1
        signal_file.write_text(str(n))
"""
NUMBERS = Dataset("numbers", {"day": pl.String(), "v": pl.Int64()}, order=("day", "v"))


def version(n: int) -> pl.DataFrame:
    """Version n of partition day=d: 50 000 rows that tell which version they are."""
    return pl.DataFrame({"day": "d", "v": pl.int_range(0, 50_000, eager=True) * 10 + n})


def publisher(lake: LakeResource, signal_file: Path, mode: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", PUBLISHER, lake.location, lake.metadata, str(signal_file), mode],
        cwd=ROOT,
        start_new_session=True,
        stderr=subprocess.PIPE,
        text=True,
    )


def await_signal(process: subprocess.Popen, signal_file: Path, beyond: int = 0) -> None:
    deadline = time.monotonic() + 120
    while not (signal_file.exists() and signal_file.read_text() and _count(signal_file) > beyond):
        assert process.poll() is None, process.stderr.read()[-2000:]
        assert time.monotonic() < deadline
        time.sleep(0.01)


def _count(signal_file: Path) -> int:
    text = signal_file.read_text()
    return int(text) if text.isdigit() else 1


def test_kill_9_between_writing_and_committing_leaves_the_previous_version(lake: LakeResource, tmp_path: Path) -> None:
    lake.replace(NUMBERS, version(1), where={"day": "d"})
    process = publisher(lake, tmp_path / "signal", "pause")
    await_signal(process, tmp_path / "signal")
    os.killpg(process.pid, signal.SIGKILL)
    process.communicate()  # waits, and closes its pipes
    assert lake.read(NUMBERS).sort("v").equals(version(1)), "readers see the previous version, whole"
    lake.replace(NUMBERS, version(4), where={"day": "d"})  # the killed writer's lock died with it
    assert lake.read(NUMBERS).sort("v").equals(version(4))


def test_kill_9_at_any_moment_of_publishing_leaves_one_whole_version(lake: LakeResource, tmp_path: Path) -> None:
    """Killed at seeded moments of a publisher replacing the partition over and over: every time, the
    partition is one whole version (the last committed), never a mix, never empty, and writable."""
    lake.replace(NUMBERS, version(1), where={"day": "d"})
    whole = {n: version(n) for n in (1, 2, 3)}
    for trial, delay in enumerate(random.Random(13).uniform(0.0, 0.3) for _ in range(5)):
        signal_file = tmp_path / f"signal-{trial}"
        process = publisher(lake, signal_file, "loop")
        await_signal(process, signal_file, beyond=trial % 3)
        time.sleep(delay)
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()  # waits, and closes its pipes
        stored = lake.read(NUMBERS).sort("v")
        assert any(stored.equals(frame) for frame in whole.values()), f"trial {trial}: a mixed or partial version"
    lake.replace(NUMBERS, version(1), where={"day": "d"})
    assert lake.read(NUMBERS).sort("v").equals(version(1))
