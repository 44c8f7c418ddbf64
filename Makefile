# The two commands of the README: `make demo` and `make test`.
VENV ?= .venv
BIN := $(VENV)/bin
PYTHON ?= python3

.PHONY: demo test setup test-setup system-deps services bench clean

demo: setup ## start Townsquare with the demo news site on SQLite (PORT=8011 for another port)
	@$(BIN)/townsquare demo $(if $(PORT),--port $(PORT))

test: test-setup system-deps services ## install what the tests need and run them
	$(BIN)/pytest

setup: $(BIN)/.installed
test-setup: $(BIN)/.installed-test

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(BIN)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(BIN)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'
	touch $@ $(BIN)/.installed

# Debian's Chromium drives the browser tests (the playwright package never downloads a browser here);
# Debian's nginx stands in front of two servers in tests/test_nginx_deploy.py.
system-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
	@command -v nginx >/dev/null 2>&1 || test -x /usr/sbin/nginx || { \
	  echo "installing Debian nginx for the reverse-proxy test"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null; }

# PostgreSQL and Redis are part of the test environment; start them if they are installed but down.
services:
	@bash scripts/services.sh

bench: test-setup ## side-by-side benchmark against Isso (see bench/README.md)
	bash bench/run.sh

clean:
	rm -rf $(VENV) var test-artifacts .pytest_cache
