# The two commands a newcomer needs are `make demo` and `make test`; each sets itself up.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: help install demo test test-unit test-integration lint typecheck kafka-jars up down migrate

help:  ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)  ## create .venv and install drx with its dev tools

demo: $(STAMP)  ## run drx on the embedded default (no Java, no Docker)
	$(BIN)/drx demo

kafka-jars: $(STAMP)  ## fetch the Apache Kafka jars for the tests (once, into ~/.cache/drx)
	$(BIN)/drx dev kafka-jars

lint: $(STAMP)  ## ruff check, format check and the import contracts (ARCHITECTURE.md)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(STAMP)  ## mypy: strict on shared/, services/ and benchmarks/, check_untyped_defs on tests/
	$(BIN)/mypy

test: lint typecheck kafka-jars  ## everything CI runs: lint, types, unit, integration and fault tests (tests/faults)
	$(BIN)/pytest

test-unit: $(STAMP)  ## fast tests, no servers
	$(BIN)/pytest -m "not integration"

test-integration: kafka-jars  ## tests on real Kafka and PostgreSQL
	$(BIN)/pytest -m integration

up: $(STAMP)  ## start a local stack (tansu + PostgreSQL) that outlives the command
	$(BIN)/drx dev up

down: $(STAMP)  ## stop it
	$(BIN)/drx dev down

migrate: $(STAMP)  ## migrate the database named by DRX_DATABASE_URL
	$(BIN)/drx db upgrade
