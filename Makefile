# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/rectify serve

test: $(STAMP)
	$(BIN)/ruff check rectify tests
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check rectify tests bench
	$(BIN)/ruff format --check rectify tests bench

# Benchmarks (see bench/run.py): `make bench`, or e.g. `make bench BENCH_ARGS=--quick`.
bench: $(STAMP)
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	command -v wrk >/dev/null || apt-get install -y wrk || (apt-get update && apt-get install -y wrk)
	$(BIN)/python bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) data
