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

clean:
	rm -rf $(VENV) data
