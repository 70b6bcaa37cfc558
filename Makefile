# HugMood: `make run` serves the demo, `make test` runs every check. Both install what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: run test lint typecheck schema schema-check unit bench bench-quick clean

$(INSTALLED): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	@touch $@

run: $(INSTALLED)
	$(BIN)/hugmood serve --demo

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

test: lint typecheck schema-check
	$(BIN)/pytest

unit: $(INSTALLED)
	$(BIN)/pytest tests/unit -q

bench: $(INSTALLED)
	$(BIN)/python bench/run_all.py

bench-quick: $(INSTALLED)
	$(BIN)/python bench/run_all.py --quick

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
