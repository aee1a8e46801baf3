# Two entry points for a fresh machine with only Python: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint setup services browser promtool constraints clean

# Pinned by constraints.txt, as the Docker image is: the tests run on what it ships.
$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[test]"
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/followup demo

services:
	bash .ci/services

# Debian's Chromium, which the browser tests (tests/e2e/browser) drive through Playwright.
browser:
	bash .ci/browser

# Debian's promtool, which the deploy tests (tests/unit/test_deploy.py) check the alerting
# rules and the dashboard with.
promtool:
	bash .ci/promtool

# Four processes share the tests: most of their time is spent waiting on `serve` processes,
# browsers and the databases, not on the two cores. The fault suite runs after it, in two
# processes of its own (each fault test has its own Redis, database or cluster to break).
test: $(STAMP) services browser promtool lint
	$(BIN)/python -m pytest -n 4 --ignore=tests/faults
	$(BIN)/python -m pytest -n 2 tests/faults

# After adding or upgrading a dependency: the versions .venv resolved become the pins.
constraints: $(STAMP)
	{ sed -n '/^#/p' constraints.txt; $(BIN)/python -m pip freeze --all --exclude pip --exclude-editable; } > constraints.tmp
	mv constraints.tmp constraints.txt

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache test-artifacts
