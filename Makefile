# One command locally and in CI. Each target creates .venv when needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEVSTAMP := $(VENV)/.installed-dev
#: The suite runs on every core, a test file per worker (its module fixtures start once).
PYTEST_JOBS ?= -n auto --dist loadfile

.PHONY: run test bench lint typecheck pytest redis-server chromium wrk clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(DEVSTAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(STAMP)

# `make run PORT=9090 SMTP_PORT=2525` listens there instead of http.listen and
# channels.email.listen; clients find it with SWITCHBOARD_URL (start-up prints the line).
PORT ?=
SMTP_PORT ?=
run: $(STAMP)
	$(BIN)/switchboard run --demo $(if $(PORT),--http :$(PORT)) $(if $(SMTP_PORT),--smtp :$(SMTP_PORT))

# Tests that need Redis start their own redis-server; make sure the binary exists.
redis-server:
	@command -v redis-server >/dev/null 2>&1 || { \
	  echo "redis-server missing: installing Debian's redis-server"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server) \
	  || { echo "could not install redis-server; tests that need it will fail" >&2; exit 1; }; }

# Browser tests drive Debian's chromium with Playwright; browsers cannot be downloaded here.
chromium:
	@test -x /usr/bin/chromium || { \
	  echo "chromium missing: installing Debian's chromium"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) \
	  || { echo "could not install chromium; browser tests will fail" >&2; exit 1; }; }

# The ingest bench (and its smoke test) drives the router with wrk, a compiled load generator.
wrk:
	@command -v wrk >/dev/null 2>&1 || { \
	  echo "wrk missing: installing Debian's wrk"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk) \
	  || { echo "could not install wrk; the ingest bench will fail" >&2; exit 1; }; }

lint: $(DEVSTAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(DEVSTAMP)
	$(BIN)/mypy

pytest: $(DEVSTAMP) redis-server chromium wrk
	$(BIN)/pytest $(PYTEST_JOBS)

test: $(DEVSTAMP) redis-server chromium wrk
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest $(PYTEST_JOBS)

bench: $(DEVSTAMP) redis-server wrk
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) build var .mypy_cache .pytest_cache .ruff_cache
