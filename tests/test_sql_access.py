"""SQL while a build runs, and the dated CSV exports."""

import csv
import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from assets.exports import ExportDirectory, short_volume_csv, write_csv
from resources import sql
from tests.helpers import ROOT, PlatformBuild, branch_of, lake_env
from tests.platform_build import RANGE_END, RANGE_START

# Another process in the middle of a write: it holds the catalog's write lock and an open transaction
# that has already replaced every FINRA row, and has not committed.
HOLD_WRITE_TRANSACTION = """
import sys
from resources.lake import lake_at_root
lake = lake_at_root(sys.argv[1], sys.argv[2])
def hold(tx):
    tx.con.execute("DELETE FROM raw.finra_short_volume")
    print("locked", flush=True)
    sys.stdin.read()
lake.transaction(hold, "a test")
"""


def test_readers_get_the_last_commit_while_a_writer_is_mid_transaction(platform_build: PlatformBuild) -> None:
    lake = platform_build.lake
    with lake.connect() as con:
        expected = con.execute("SELECT count(*) FROM raw.finra_short_volume").fetchone()[0]
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_WRITE_TRANSACTION, lake.location, lake.metadata],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        started = time.monotonic()
        with lake.connect() as con:
            raw = con.execute("SELECT count(*) FROM raw.finra_short_volume").fetchone()[0]
            built = con.execute("SELECT count(*) FROM marts.fct_short_volume_daily").fetchone()[0]
        assert time.monotonic() - started < 5, "the reader did not wait for the writer"
    finally:
        holder.kill()
        holder.wait()
    assert raw == expected > 0 and built > 0
    with lake.connect() as con:
        assert con.execute("SELECT count(*) FROM raw.finra_short_volume").fetchone()[0] == expected, (
            "a writer killed before its commit changed nothing"
        )


def test_make_sql_answers_and_names_a_missing_lake(
    platform_build: PlatformBuild, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    for name, value in lake_env(platform_build.lake).items():
        monkeypatch.setenv(name, value)
    assert sql.run("SELECT count(*) AS n FROM marts.fct_short_volume_daily") == 0
    assert "n" in capsys.readouterr().out
    monkeypatch.setenv("TICKERLAKE_CATALOG", f"sqlite:{tmp_path / 'nothing-here.sqlite'}")
    assert sql.run("SELECT 1") == 1
    assert "no lake catalog at" in capsys.readouterr().err


def test_exports_write_one_dated_csv_per_trading_day(platform_build: PlatformBuild, tmp_path: Path) -> None:
    exports = ExportDirectory(root=str(tmp_path / "exports"))
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [short_volume_csv],
            resources={"lake": platform_build.lake, "exports": exports},
            instance=instance,
            tags={RANGE_START: "2024-07-11", RANGE_END: "2024-07-12"},
        )
    assert result.success
    assert sorted(p.name for p in (tmp_path / "exports" / "short_volume").iterdir()) == [
        "2024-07-11.csv",
        "2024-07-12.csv",
    ]
    with open(exports.path(dt.date(2024, 7, 12))) as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["date", "symbol", "short_volume", "total_volume", "short_ratio"]
    with platform_build.lake.connect() as con:
        expected = con.execute(
            "SELECT symbol, short_volume, total_volume, short_ratio FROM marts.fct_short_volume_daily "
            "WHERE trade_date = '2024-07-12' AND short_volume IS NOT NULL ORDER BY symbol"
        ).fetchall()
    assert [(r[1], float(r[2]), float(r[3]), float(r[4])) for r in rows[1:]] == expected
    assert {r[0] for r in rows[1:]} == {"2024-07-12"}


@pytest.mark.parametrize(
    ("statement", "refusal"),
    [
        ("COPY (SELECT 1) TO '{tmp}/out.csv'", "COPY statements are refused"),
        ("SELECT * FROM read_csv('/etc/passwd')", "file system operations are disabled"),
        ("SELECT * FROM read_csv('{tmp}/secret.csv')", "file system operations are disabled"),
        ("ATTACH '{tmp}/other.duckdb' AS other", "ATTACH statements are refused"),
        ("INSTALL httpfs", "refused"),
        ("SET enable_external_access = true", "SET statements are refused"),
        ("CREATE TABLE marts.mine AS SELECT 1 AS x", "CREATE statements are refused"),
        ("SELECT 1; DROP TABLE marts.dim_symbols", "DROP statements are refused"),
        ("EXPORT DATABASE '{tmp}/dump'", "EXPORT statements are refused"),
    ],
)
def test_make_sql_is_read_only_in_fact(
    platform_build: PlatformBuild,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
    statement: str,
    refusal: str,
) -> None:
    for name, value in lake_env(platform_build.lake).items():
        monkeypatch.setenv(name, value)
    (tmp_path / "secret.csv").write_text("a\n1\n")
    before = sorted(p.name for p in tmp_path.iterdir())
    assert sql.run(statement.format(tmp=tmp_path)) == 1
    assert refusal in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == before, "no file was written"
    assert sql.run("SELECT count(*) FROM marts.dim_symbols") == 0, "reading still works"


def test_the_owner_has_full_access(
    platform_build: PlatformBuild, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    owned = branch_of(platform_build.lake, tmp_path / "owned.sqlite")
    for name, value in lake_env(owned).items():
        monkeypatch.setenv(name, value)
    assert sql.run("CREATE TABLE marts.owner_note AS SELECT 1 AS x", owner=True) == 0
    assert sql.run("SELECT x FROM marts.owner_note") == 0


def test_exports_are_safe_to_open_in_a_spreadsheet(tmp_path: Path) -> None:
    path = tmp_path / "2024-07-12.csv"
    write_csv(
        path,
        [
            ("2024-07-12", '=HYPERLINK("http://evil.example","x")', 10.0, 20.0, 0.5),
            ("2024-07-12", "@SUM(A1:A9)", -1.0, 2.0, 0.1),
            ("2024-07-12", "+CMD|' /C calc'!A0", 1.0, 2.0, 0.5),
            ("2024-07-12", "-2+3", 1.0, 2.0, 0.5),
            ("2024-07-12", "AAPL", 1.0, 2.0, 0.5),
        ],
    )
    with open(path, newline="") as handle:
        cells = [row[1] for row in list(csv.reader(handle))[1:]]
        handle.seek(0)
        numbers = [row[2] for row in list(csv.reader(handle))[1:]]
    assert cells == ['\'=HYPERLINK("http://evil.example","x")', "'@SUM(A1:A9)", "'+CMD|' /C calc'!A0", "'-2+3", "AAPL"]
    assert numbers == ["10.0", "-1.0", "1.0", "1.0", "1.0"], "numbers are written as numbers"


def readme_queries() -> list[str]:
    """The statements of the README's SQL block (its queries, as printed)."""
    block = (ROOT / "README.md").read_text().split("```sql\n", 1)[1].split("```", 1)[0]
    return [statement.query for statement in duckdb.extract_statements(block)]


def test_the_readmes_queries_run_in_the_read_only_session(
    platform_build: PlatformBuild, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    for name, value in lake_env(platform_build.lake).items():
        monkeypatch.setenv(name, value)
    now = f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M:%S}+00"  # this lake has no snapshot from last month
    queries = [q.replace("2026-10-31 23:59:59+00", now) for q in readme_queries()]
    assert len(queries) == 10 and any(now in q for q in queries)
    prepared = sql.run(";\n".join(queries[1:3]))  # PREPARE and EXECUTE: one session
    failed = [q for q in [queries[0], *queries[3:]] if sql.run(q) != 0]
    assert prepared == 0 and failed == [], capsys.readouterr().err


def test_bookkeeping_columns_come_last_in_every_table(platform_build: PlatformBuild) -> None:
    """`SELECT *` shows what users want first; the columns named with a leading underscore (when a row was
    loaded or built, a quarantined partition's reasons) after all of them, as the README says."""
    with platform_build.lake.connect() as con:
        rows = con.execute(
            "SELECT schema_name || '.' || table_name, list(column_name ORDER BY column_index) FROM duckdb_columns() "
            "WHERE database_name = 'tickerlake' GROUP BY ALL"
        ).fetchall()
    bookkeeping = {}
    for table, columns in rows:
        first = next((i for i, c in enumerate(columns) if c.startswith("_")), len(columns))
        if any(not c.startswith("_") for c in columns[first:]):
            bookkeeping[table] = columns
    assert len(rows) > 20
    assert bookkeeping == {}
    shown = (ROOT / "README.md").read_text().split("`SELECT *` shows", 1)[1].split("Useful queries", 1)[0]
    named = {c for _, columns in rows for c in columns if c.startswith("_")}
    assert {c for c in named if f"`{c}`" not in shown} == set()


def make_sql(build: PlatformBuild, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    """`make -s sql ...` as a user types it, on the platform build's lake."""
    env = {**os.environ, **lake_env(build.lake)}
    return subprocess.run(
        ["make", "-s", "sql", *args], cwd=ROOT, env=env, input=stdin, capture_output=True, text=True, timeout=300
    )


def test_the_readmes_make_sql_line_runs_as_printed(platform_build: PlatformBuild) -> None:
    line = next(line for line in (ROOT / "README.md").read_text().splitlines() if line.startswith("make sql Q="))
    done = subprocess.run(
        ["bash", "-c", line.replace("make sql", "make -s sql", 1)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **lake_env(platform_build.lake)},
    )
    assert done.returncode == 0, done.stderr
    assert "short_ratio" in done.stdout and "2024-03-01" in done.stdout and "2024-07-12" in done.stdout


def test_a_script_with_dollar_one_runs_from_q_a_file_and_stdin(platform_build: PlatformBuild, tmp_path: Path) -> None:
    script = (
        "PREPARE top AS\n  SELECT symbol FROM marts.fct_short_volume_daily\n"
        "  WHERE total_volume > CAST($1 AS INTEGER) ORDER BY short_ratio DESC LIMIT 1;\nEXECUTE top(100000);\n"
    )
    (tmp_path / "q.sql").write_text(script)
    for result in (
        make_sql(platform_build, f"Q={script}"),
        make_sql(platform_build, f"F={tmp_path / 'q.sql'}"),
        make_sql(platform_build, stdin=script),
    ):
        assert result.returncode == 0 and "symbol" in result.stdout, result.stderr
    refused = make_sql(platform_build, "Q=DROP TABLE raw.fx_rates_ecb")
    assert refused.returncode != 0 and "DROP statements are refused" in refused.stderr


def test_floats_print_short(platform_build: PlatformBuild) -> None:
    result = make_sql(platform_build, "Q=SELECT 1/3 AS third")
    assert "0.333333" in result.stdout and "0.3333333333" not in result.stdout
