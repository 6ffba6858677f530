# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 2

.PHONY: run test install install-test lint clean

$(BIN)/idp: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	@touch $@

$(VENV)/.test-deps: $(BIN)/idp
	$(BIN)/pip install --quiet -e ".[test]"
	@touch $@

install: $(BIN)/idp

# the third-party OIDC relying party of tests/idp/test_e2e_openid_client.py (npm)
tests/e2e/node_modules/.package-lock.json: tests/e2e/package.json tests/e2e/package-lock.json
	cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error

install-test: $(VENV)/.test-deps tests/e2e/node_modules/.package-lock.json

run: install
	$(BIN)/idp init
	$(BIN)/idp demo --if-empty
	@echo "serving on http://$(HOST):$(PORT)  (demo logins printed above on first run)"
	$(BIN)/idp serve --host $(HOST) --port $(PORT) --workers $(WORKERS)

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy

# SQLite always; PostgreSQL too when IDP_TEST_DATABASE_URL is set (.ci/run sets it).
test: install-test lint
	IDP_TEST_DATABASE_URL= $(BIN)/pytest -q -p no:cacheprovider
	@if [ -n "$$IDP_TEST_DATABASE_URL" ]; then \
	  echo "== again on $$IDP_TEST_DATABASE_URL"; $(BIN)/pytest -q -p no:cacheprovider; fi

clean:
	rm -rf $(VENV) var .pytest_cache tests/e2e/node_modules
