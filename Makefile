# The two commands of the README: `make run` and `make test`.
VENV := .venv
BIN := $(VENV)/bin
PYTHON ?= python3
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
DEV_ENV := FLASK_DEV_MAILBOX=true FLASK_SESSION_COOKIE_SECURE=false

.PHONY: run test install install-test chromium clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

## make run: the portal on http://127.0.0.1:5000 with SQLite, demo data and the dev mailbox
run: install
	$(DEV_ENV) $(BIN)/flask --app app setup --demo
	$(DEV_ENV) $(BIN)/flask --app app run --host 127.0.0.1 --port 5000

## make test: the whole suite (unit, integration, browser in Debian chromium)
test: install-test chromium
	$(BIN)/pytest

chromium:
	@test -x /usr/bin/chromium || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium; }

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
