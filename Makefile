# Every target bootstraps .venv on first use, so a fresh clone needs only `make demo` / `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home
# `slo demo` records the first day of the history it generated, so `make dev` shows partitions that
# start where the history starts.
export SLO_PARTITIONS_START ?= $(shell cat .slo/partitions_start 2>/dev/null)

.PHONY: demo test lint bench dev clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/slo demo

test: $(STAMP)
	$(BIN)/pytest -q -n 2 --dist loadfile

lint: $(STAMP)
	$(BIN)/ruff check slo_pipelines tests benchmarks
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run

dev: $(STAMP)
	mkdir -p $(DAGSTER_HOME)
	SLO_DEMO_FLEET=1 $(BIN)/dagster dev -w workspace.yaml

clean:
	rm -rf .slo .dagster_home out
