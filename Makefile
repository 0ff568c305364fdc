# Budget: the two commands that matter are `make run` and `make test`.
# Both build the virtual environment from nothing when it is missing.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# One virtual environment, two installs: what serving needs (`make run`), and
# that plus the dev extra (tests, lint, benchmarks). Each has its stamp, so
# either target works first and the other only adds what it lacks.
SERVE_STAMP := $(VENV)/.serve-stamp
STAMP := $(VENV)/.dev-stamp

.PHONY: run test lint format bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(SERVE_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $(SERVE_STAMP)

# the dev extra includes the serving set, so it stamps both
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP) $(SERVE_STAMP)

## run: set up, migrate the embedded SQLite database and serve on 127.0.0.1:8013
run: $(SERVE_STAMP)
	$(BIN)/budget init
	$(BIN)/budget serve $(SERVE_ARGS)

## test: the whole suite on SQLite and PostgreSQL
test: $(STAMP)
	$(BIN)/pytest -q -p no:cacheprovider $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check budget tests bench scripts
	$(BIN)/ruff format --check budget tests bench scripts
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff format budget tests bench scripts
	$(BIN)/ruff check --fix budget tests bench scripts

## bench: the benchmarks in bench/, figures printed as a table and JSON
bench: $(STAMP)
	$(BIN)/python -m bench.run $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache .hypothesis
