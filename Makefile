# The two commands of the README: `make demo` and `make test`.
VENV ?= .venv
BIN := $(VENV)/bin
PYTHON ?= python3

.PHONY: demo test setup system-deps services bench clean

demo: setup ## start Townsquare with the demo news site on SQLite
	$(BIN)/townsquare demo

test: setup system-deps services ## install what the tests need and run them
	$(BIN)/pytest

setup: $(BIN)/.installed

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

# Debian's Chromium drives the browser tests (the playwright package never downloads a browser here).
system-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# PostgreSQL and Redis are part of the test environment; start them if they are installed but down.
services:
	@bash scripts/services.sh

bench: setup ## side-by-side benchmark against Isso (see bench/README.md)
	bash bench/run.sh

clean:
	rm -rf $(VENV) var test-artifacts .pytest_cache
