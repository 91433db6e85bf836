# Two entry points for a fresh machine (see README): `make build` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
#: The one command that (re)makes requirements.lock: every dependency pinned, with hashes.
LOCK := $(BIN)/uv pip compile pyproject.toml --extra test --generate-hashes --python-version 3.11 \
        --python-platform x86_64-manylinux_2_28 -o requirements.lock

.PHONY: build test system-deps assets lock asset-hashes wheel

## The virtual environment: exactly the locked versions (hash-checked), then this package.
$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
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

## Re-lock after changing dependencies in pyproject.toml (keeps the locked versions it can;
## `make lock LOCK_ARGS=--upgrade` takes the newest), then rebuild: `make build`.
lock: $(STAMP)
	$(BIN)/pip install --quiet uv
	$(LOCK) $(LOCK_ARGS)

## Pin the map assets' file hashes after a deliberate npm upgrade (package.json).
asset-hashes: $(STAMP) assets
	$(BIN)/python -c "from pathlib import Path; from spatial.assets import HASHES_FILE, hash_manifest; \
	HASHES_FILE.write_text(hash_manifest(Path('node_modules')))"

## A wheel with the embedded default and the map assets: dist/spatial_layout-*.whl.
wheel: assets
	$(PYTHON) -m pip wheel --no-deps --quiet -w dist .
