# The two commands of the quick start are `make run` and `make test`; the rest are for developers.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# Two pytest workers, a test file each at a time (module fixtures are built once): see docs/developing.md.
PYTEST_ARGS ?= -n 2 --dist loadfile

.PHONY: help install run test lint sqlfluff pipeline fuzz advance bench bench-small db-stop db-status expectations bad-input-doc star-schema-doc constraints clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "Python 3.11 is required (set PYTHON=/path/to/python3.11)")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --quiet -c constraints.txt -e ".[dev]"
	$(BIN)/python -m pip check
	touch $(STAMP)

install: $(STAMP)  ## create .venv and install the pinned stack (only when pyproject or constraints change)

run: install  ## the nightly DAG end to end through Airflow, on the embedded PostgreSQL unless WAREHOUSE_URL is set
	$(BIN)/complaints-warehouse simulator create --if-missing
	$(BIN)/complaints-warehouse airflow-run

test: install  ## ruff, then the whole pytest suite against a real (embedded) PostgreSQL, dbt, GX, Airflow and Chromium
	$(BIN)/ruff check .
	scripts/ensure-chromium
	$(BIN)/pytest $(PYTEST_ARGS)

fuzz: install  ## the loader's property-based fuzz test with a large example budget (the suite runs a small one)
	HYPOTHESIS_PROFILE=fuzz $(BIN)/pytest tests/test_fuzz_loader.py

lint: install sqlfluff  ## ruff and sqlfluff
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

sqlfluff: install  ## lint the dbt models with sqlfluff (dbt templater; needs the warehouse)
	$(BIN)/complaints-warehouse db start >/dev/null
	eval "$$($(BIN)/complaints-warehouse db env)" && $(BIN)/sqlfluff lint dbt_project/models

pipeline: install  ## the same pipeline without Airflow, in one process
	$(BIN)/complaints-warehouse simulator create --if-missing
	$(BIN)/complaints-warehouse run

advance: install  ## move the simulated case system on a day (then `make run` loads just the change)
	$(BIN)/complaints-warehouse simulator advance

bench: install  ## national scale (300 councils x 10 years): load vs COPY, dbt build, validation, our night vs a naive peer (about half an hour on 2 cores; 30 x 10 takes about 5 minutes)
	$(BIN)/complaints-warehouse bench --councils 300 --years 10

bench-small: install  ## the same benchmark at 2 councils x 1 year (a few minutes)
	$(BIN)/complaints-warehouse bench --councils 2 --years 1 --templates 1

db-stop: install  ## stop the embedded PostgreSQL
	$(BIN)/complaints-warehouse db stop

db-status: install  ## where the warehouse is, and whether it is up
	$(BIN)/complaints-warehouse db status

expectations: install  ## rewrite the Great Expectations context in expectations/gx from expectations/define.py
	$(BIN)/python expectations/define.py

star-schema-doc: install  ## rewrite docs/star-schema.md from the dbt YAML
	$(BIN)/python scripts/star_schema_doc.py

bad-input-doc: install  ## rewrite docs/bad-input-catalogue.md from the catalogue in tests/bad_inputs
	$(BIN)/python -m tests.bad_inputs.doc

constraints: install  ## re-pin constraints.txt from the current environment
	{ head -2 constraints.txt; $(BIN)/python -m pip freeze --exclude-editable | grep -v '^complaints-warehouse'; } > constraints.tmp
	mv constraints.tmp constraints.txt

clean: db-stop  ## stop the database and remove local state (.warehouse, .airflow, outputs) but keep .venv
	rm -rf .warehouse .airflow outputs dbt_project/target expectations/gx/uncommitted/data_docs expectations/gx/uncommitted/validations
