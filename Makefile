# Each target bootstraps what it needs: a fresh machine with Python 3.11, pip and git is enough.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

export DAGSTER_HOME := $(CURDIR)/.dagster
export TICKERLAKE_LAKE_ROOT ?= $(CURDIR)/data/lake
export TICKERLAKE_CATALOG ?= sqlite:$(CURDIR)/data/tickerlake.sqlite

DBT_SOURCES := $(shell find dbt_project/models dbt_project/macros dbt_project/tests -type f) \
	dbt_project/dbt_project.yml dbt_project/profiles.yml
MANIFEST := dbt_project/target/manifest.json

.PHONY: install demo demo-ui dashboard ui test test-fast test-integration lint snapshot sql sql-owner bench bench-storage evaluate-real clean migrate alert-rules-import

install: $(BIN)/.installed $(MANIFEST) $(DAGSTER_HOME)/dagster.yaml

$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,model]'
	touch $@

# The manifest is built here, once, not by DbtProject.prepare_if_dev() in every run process.
$(MANIFEST): $(BIN)/.installed $(DBT_SOURCES)
	cd dbt_project && ../$(BIN)/dbt parse --profiles-dir . --quiet

$(DAGSTER_HOME)/dagster.yaml: platform/dagster.yaml
	mkdir -p $(DAGSTER_HOME)
	cp $< $@

demo: install
	$(BIN)/python sample/demo.py

# Loopback only unless told otherwise: exposing the UI is an explicit `make ui UI_HOST=0.0.0.0`.
UI_HOST ?= 127.0.0.1
UI_PORT ?= 3000
ui: install
	$(BIN)/dagster dev -w workspace.yaml --host $(UI_HOST) --port $(UI_PORT)

# The UI on the world `make demo` built: its sample served while the UI runs, its dates, nothing fetched
# from the internet (sample/ui.py).
# The dashboard and the read-only HTTP API over the lake (OpenAPI docs at /docs): http://127.0.0.1:8050
# by default (TICKERLAKE_DASHBOARD_HOST/PORT; TICKERLAKE_API_TOKEN guards /api); after make demo it reads
# the demo's lake.
dashboard: install
	$(BIN)/python -m web

demo-ui: install
	$(BIN)/python sample/ui.py $(UI_HOST) $(UI_PORT)

# Every test, each named as it runs, and the slowest fifteen at the end. The modules are spread over
# TEST_WORKERS processes (pytest-xdist), a module to one worker, so the fixtures a module shares (its
# dbt builds) are built once; most of a test's time is waiting on a subprocess, a server or a commit,
# so more workers than the machine's 2 cores still shorten the run.
TEST_WORKERS ?= 3
test: install
	$(MAKE) --no-print-directory lint
	$(BIN)/pytest -v --durations=15 -n $(TEST_WORKERS) --dist loadfile

# The development loop: everything but the tests marked `slow` (whole-platform builds, dbt runs,
# subprocess crashes); CI runs `make test`, which runs them all.
test-fast: install
	$(MAKE) --no-print-directory lint
	$(BIN)/pytest -m 'not integration and not slow' -n $(TEST_WORKERS) --dist loadfile

# The committed text snapshot of the asset graph (tests/asset_graph.txt), written again after a change
# to the graph has been reviewed.
snapshot: install
	$(BIN)/python -m tests.graph_snapshot

# PostgreSQL and chromium from Debian's packages (installed if missing), then the tests marked
# `integration`: the browser suite's screenshots and logs are left in build/browser/.
test-integration: install
	$(BIN)/python -m pip install --quiet -e '.[dev,integration]'
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && command -v chromium >/dev/null || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql chromium >/dev/null)
	$(BIN)/pytest -v -m integration

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/sqlfluff lint dbt_project/models dbt_project/tests

# Full-market benchmark (BENCH_DAYS=250 by default; 4500 for the full history), on a SQLite and a
# PostgreSQL catalog (Debian's PostgreSQL, installed if missing), then one pair-year of Binance 1m
# klines (BENCH_CRYPTO_MONTHS=12), the direction model's training (BENCH_TRAINING_SEQUENCES=200000) and
# its serving latency on the clock (BENCH_SERVING_PAIRS=100, BENCH_SERVING_ROUNDS=5), then the dashboard's
# page loads in chromium and the API's latency over those worlds: see docs/benchmarks.md
bench: install
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && command -v chromium >/dev/null || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql chromium >/dev/null)
	$(BIN)/python -m bench.run
	$(BIN)/python -m bench.crypto
	$(BIN)/python -m bench.training
	$(BIN)/python -m bench.serving
	$(BIN)/python -m bench.dashboard

# The storage formats compared for the lake (DuckLake, Delta, Iceberg, Parquet files): BENCH_STORAGE_DAYS=60
bench-storage: install
	$(BIN)/python -m pip install --quiet -e '.[dev,evaluation]'
	$(BIN)/python -m bench.storage

# The direction model on Binance's real daily klines (BINANCE_1D: the folder of BTCUSDT-1d-*.zip; default
# ../shared/data/binance/BTCUSDT-1d): both label schemes' scores beside the baselines, in docs/benchmarks.md
evaluate-real: install
	$(BIN)/python -m bench.direction_real

clean:
	rm -rf data .dagster dbt_project/target dbt_project/logs

# Read-only SQL on the lake's catalog: the last committed snapshot, never blocked by a running build:
#   make sql Q="SELECT ..."   a query (any number of statements, several lines, $1 kept as written)
#   make sql F=file.sql       a file;   make sql < file.sql   standard input;   make sql   the prompt
# Q travels in the environment as written (neither make nor the recipe's shell expands its $ or quotes).
export TICKERLAKE_SQL_QUERY := $(value Q)
sql: install
	@if [ -n "$$TICKERLAKE_SQL_QUERY" ]; then printf '%s\n' "$$TICKERLAKE_SQL_QUERY" | $(BIN)/python -m resources.sql -; \
	else $(BIN)/python -m resources.sql $(if $(F),-f "$(F)",); fi

# The data's owner: the catalog read-write, no limits (resources/sql.py says what make sql locks down).
sql-owner: install
	@if [ -n "$$TICKERLAKE_SQL_QUERY" ]; then printf '%s\n' "$$TICKERLAKE_SQL_QUERY" | $(BIN)/python -m resources.sql --owner -; \
	else $(BIN)/python -m resources.sql --owner $(if $(F),-f "$(F)",); fi

# Move a lake of Parquet folders and its DuckDB warehouse (tickerlake before the DuckLake catalog) into
# the catalog; prints each table's row count and sums before and after. See platform/migrate.py.
migrate: install
	$(BIN)/python platform/migrate.py $(ARGS)

# Store the crypto alert rules of a YAML file (sample/alert_rules.yaml's format) in the lake, checked as
# the dashboard's Alerts page checks them; a name already stored refuses the file.
alert-rules-import: install
	$(BIN)/python platform/import_alert_rules.py $(FILE)
