# The front door. On a fresh clone with nothing but Python 3.11+:
#   make reports   set up .venv, build the datasets from data/raw, render the scheduled reports
#   make test      set up .venv, lint, run the test suite
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

.PHONY: setup data reports test lint dictionary bench bench-quick bench-reports clean

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
	$(BIN)/ruff check src tests notebooks

dictionary: $(STAMP)
	$(BIN)/council dictionary

test: $(STAMP)
	$(BIN)/ruff check src tests notebooks
	$(BIN)/council dictionary --check
	$(BIN)/python -m pytest -q

# Speed at corpus scale on synthetic meetings (written under .bench/, never data/raw/);
# figures and targets in BENCHMARKS.md.
bench: $(STAMP)
	$(BIN)/python -m analysis.bench --out .bench/bench.json

bench-quick: $(STAMP)
	$(BIN)/python -m analysis.bench --quick --out .bench/bench-quick.json

bench-reports: data
	$(BIN)/python -m analysis.render.bench

clean:
	rm -rf data/processed reports/output .bench .pytest_cache .ruff_cache
