# Two entry points for a fresh machine (see README): `make build` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: build test system-deps assets

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

assets: node_modules/.package-lock.json

system-deps:
	bash scripts/system-deps.sh

## The main job: layers/ and maps/ for every plan in data/plans/.
build: $(STAMP) assets
	$(BIN)/spatial build --offline

## The tests, with the real browser and QGIS they need.
test: $(STAMP) assets system-deps
	$(BIN)/python -m pytest
