# Budget: the two commands that matter are `make run` and `make test`.
# Both build the virtual environment from nothing when it is missing.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint format bench init clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

## run: set up, migrate the embedded SQLite database and serve on 127.0.0.1:8013
run: $(STAMP)
	$(BIN)/budget init
	$(BIN)/budget serve $(SERVE_ARGS)

## test: the whole suite on SQLite and PostgreSQL
test: $(STAMP)
	$(BIN)/pytest -q -p no:cacheprovider $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check budget tests bench scripts
	$(BIN)/ruff format --check budget tests bench scripts

format: $(STAMP)
	$(BIN)/ruff format budget tests bench scripts
	$(BIN)/ruff check --fix budget tests bench scripts

## bench: the benchmarks in bench/, figures printed as a table and JSON
bench: $(STAMP)
	$(BIN)/python -m bench.run $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache .hypothesis
