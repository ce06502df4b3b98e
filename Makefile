# The README's two commands: `make quickstart` (set up, run a real search, export its knee) and
# `make test` (set up, run the test suite offline, with the project's services when root). Both install what they need.
VENV ?= .venv
BIN := $(VENV)/bin
SPACE ?= search_spaces/quickstart.yaml
NAME ?= quickstart

.PHONY: setup test check quickstart bench services services-down services-status

setup:
	@scripts/setup.sh

test: setup check
	VENV=$(VENV) scripts/test.sh

# Lint, types and the import contracts (pyproject.toml: [tool.ruff], [tool.mypy], [tool.importlinter]).
check: setup
	$(BIN)/ruff check cpt_search
	$(BIN)/lint-imports
	$(BIN)/mypy

quickstart: setup
	scripts/quickstart.sh $(SPACE) $(NAME)

bench: setup
	$(BIN)/python benchmarks/quant_overhead.py

# PostgreSQL, an MLflow server on it and a two-node Ray cluster, in a loopback-only network
# namespace (scripts/services.sh; README "Run on a cluster"). `up` prints the environment to use.
services: setup
	scripts/services.sh up

services-down:
	scripts/services.sh down

services-status:
	scripts/services.sh status
