# Two entry points for a fresh machine with only Python: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint setup services browser clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/followup demo

services:
	bash .ci/services

# Debian's Chromium, which the browser tests (tests/e2e/browser) drive through Playwright.
browser:
	bash .ci/browser

# Four processes share the tests: most of their time is spent waiting on `serve` processes,
# browsers and the databases, not on the two cores. The fault suite runs after it, in two
# processes of its own (each fault test has its own Redis, database or cluster to break).
test: $(STAMP) services browser lint
	$(BIN)/python -m pytest -n 4 --ignore=tests/faults
	$(BIN)/python -m pytest -n 2 tests/faults

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache test-artifacts
