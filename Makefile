# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench setup clean

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

# On SQLite, then again on PostgreSQL when IMAGIN_TEST_DATABASE_URL is set.
test: lint
	env -u IMAGIN_TEST_DATABASE_URL $(BIN)/pytest
	@if [ -n "$$IMAGIN_TEST_DATABASE_URL" ]; then \
		echo "--- again on PostgreSQL ---"; \
		$(BIN)/pytest; \
	fi

bench: setup
	$(BIN)/python bench/mission_list.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
