# The two commands of the quick start: `make run` and `make test`.
# Python comes from .python-version (pyenv) or PYTHON=...; everything else is installed into .venv.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
SIM_PORT ?= 8090

.PHONY: run test lint bench bench-peers simulator clean

$(BIN)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 12) and "Python 3.12+ is required (see .python-version)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

## run: the gateway on http://$(HOST):$(PORT), embedded (SQLite, in-process cache, inline tasks)
run: $(BIN)/.installed
	HOST=$(HOST) PORT=$(PORT) SIM_PORT=$(SIM_PORT) PATH="$(CURDIR)/$(BIN):$$PATH" bash scripts/run_embedded.sh

## test: the whole suite, against PostgreSQL and Redis on 127.0.0.1
test: $(BIN)/.installed
	$(BIN)/python -m pytest

lint: $(BIN)/.installed
	$(BIN)/ruff check .

## bench: the /v1 benchmark in its production configuration (see bench/README.md)
bench: $(BIN)/.installed
	$(BIN)/python bench/run.py

## bench-peers: the gateway beside openai-forward and LiteLLM, same simulator, one run (bench/peers.py)
bench-peers: $(BIN)/.installed
	$(BIN)/python bench/peers.py

simulator: $(BIN)/.installed
	$(BIN)/python -m simulator --port $(SIM_PORT)

clean:
	rm -rf $(VENV) staticfiles
