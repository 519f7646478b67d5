# Trao: `make run` sets up everything and serves the demo; `make test` sets up and runs every test.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
HOST ?= 127.0.0.1
PORT ?= 5000
# The test suite's worker processes (pytest-xdist); 0 runs it in one process.
TEST_WORKERS ?= 2
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test setup setup-test db demo vendor translations chromium lint format clean help

help:
	@echo "make run    set up (virtualenv, Python and npm packages, database, demo) and serve on http://$(HOST):$(PORT)"
	@echo "make test   set up what the tests need (Chromium included) and run the whole suite"
	@echo "make lint   ruff check and format check"

# The webhook worker (Huey's consumer) runs beside the web server and stops with it.
run: setup db demo
	@echo "Trao is serving on http://$(HOST):$(PORT)  (Ctrl+C to stop)"
	@export TRAO_PUBLIC_URL="$${TRAO_PUBLIC_URL:-http://$(HOST):$(PORT)}"; \
	$(FLASK) outbox-worker & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT; \
	$(FLASK) run --host $(HOST) --port $(PORT) --no-reload

test: setup-test chromium
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

setup: $(VENV)/.runtime-installed vendor translations

setup-test: $(VENV)/.test-installed vendor translations

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.runtime-installed: requirements.txt | $(VENV)/bin/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.test-installed: requirements.txt requirements-test.txt | $(VENV)/bin/python
	$(BIN)/pip install --quiet -r requirements-test.txt
	touch $@ $(VENV)/.runtime-installed

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

vendor: node_modules/.installed
	node scripts/vendor.mjs

translations: $(VENV)/bin/python
	$(BIN)/python -c "from backend.i18n import compile_catalogs; compile_catalogs()"

db: setup
	$(FLASK) db upgrade

# Idempotent: on every start, makes sure the demo postmen have a run for today.
demo: db
	$(FLASK) seed-demo

# Debian's Chromium for the browser tests (never Playwright's own download: it cannot be fetched here).
chromium:
	@command -v chromium >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium fonts-dejavu-core; }
	@test -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf || $(SUDO) apt-get install -y -qq fonts-dejavu-core

lint: setup-test
	$(BIN)/ruff check backend tests bench
	$(BIN)/ruff format --check backend tests bench

format: setup-test
	$(BIN)/ruff format backend tests bench
	$(BIN)/ruff check --fix backend tests bench

clean:
	rm -rf $(VENV) node_modules pwa/static/vendor instance
