# The front door. On a fresh clone with nothing but Python 3.11+:
#   make reports   set up .venv, build the datasets from data/raw, render the scheduled reports
#   make test      set up .venv, lint, run the test suite
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

.PHONY: setup data reports test lint dictionary bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

data: $(STAMP)
	$(BIN)/council build

reports: data
	$(BIN)/council reports

lint: $(STAMP)
	$(BIN)/ruff check src tests

dictionary: $(STAMP)
	$(BIN)/council dictionary

test: $(STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/council dictionary --check
	$(BIN)/python -m pytest -q

clean:
	rm -rf data/processed reports/output .pytest_cache .ruff_cache
