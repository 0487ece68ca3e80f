# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The OpenID provider the OpenID Connect tests start (Node.js); without npm they are skipped.
OIDC_PROVIDER := tests/oidc/node_modules/.package-lock.json

.PHONY: run test lint bench bench-processes bench-slow3g bench-stack setup clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "IMAG'IN demande Python 3.11 ou plus récent ($(PYTHON) est trop ancien)."; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

run: setup
	$(BIN)/imagin db upgrade
	$(BIN)/imagin demo --if-empty
	$(BIN)/imagin serve

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

$(OIDC_PROVIDER): tests/oidc/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		(cd tests/oidc && npm ci --no-audit --no-fund --loglevel=error) || \
			echo "npm ci failed: the OpenID Connect tests will be skipped."; \
	else \
		echo "Node.js and npm not found: the OpenID Connect tests will be skipped."; \
	fi

# On SQLite, then again on PostgreSQL when IMAGIN_TEST_DATABASE_URL is set (the
# production-stack tests run once: they start their own PostgreSQL either way).
test: lint $(OIDC_PROVIDER)
	env -u IMAGIN_TEST_DATABASE_URL $(BIN)/pytest
	@if [ -n "$$IMAGIN_TEST_DATABASE_URL" ]; then \
		echo "--- again on PostgreSQL ---"; \
		IMAGIN_STACK_DONE=1 $(BIN)/pytest; \
	fi

# The list with wrk, the same at 1 and N processes, CPU instructions per request
# (valgrind's callgrind, in-process), brotli's bytes and cost at qualities 1-4, and the
# DEC queue at 10 k and 1 M missions (generated once, then reused; PostgreSQL too when
# IMAGIN_BENCH_DATABASE_URL or IMAGIN_TEST_DATABASE_URL is set).
bench: setup
	$(BIN)/python bench/mission_list.py
	$(BIN)/python bench/processes.py
	$(BIN)/python bench/instructions.py
	$(BIN)/python bench/brotli_quality.py
	$(BIN)/python bench/dec_queue.py

# `imagin serve` at 1 and 2 processes, 1 to 8 threads each: wrk on the mission list.
bench-processes: setup
	$(BIN)/python bench/processes.py

# First contentful paint of the cold sign-in page and the list on "Slow 3G" (Chromium).
bench-slow3g: setup
	$(BIN)/python bench/slow3g.py

# The whole stack under Locust at 1 and 2 app processes (Locust in its own .venv-bench).
bench-stack: setup
	$(BIN)/python bench/stack.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache tests/oidc/node_modules
