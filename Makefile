# The two commands of the README: `make run` and `make test`.
VENV := .venv
BIN := $(VENV)/bin
PYTHON ?= python3
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
DEV_ENV := FLASK_DEV_MAILBOX=true FLASK_SESSION_COOKIE_SECURE=false

.PHONY: run test lint screenshots check-html mutation test-fuzz test-postgres test-topology bench bench-scale bench-topology install install-test chromium services topology-tools clean

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

## make test: lint, then the whole suite (unit, integration, fault, browser in Debian chromium)
test: install-test chromium services lint
	$(BIN)/pytest -m "not fuzz and not topology" -n auto

## make lint: ruff's checks and formatting (configured in pyproject.toml), no function in cgos/ graded worse than C by radon, and no 6 similar lines within cgos/ or within tests/ (pylint's duplicate-code check)
lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	@worse="$$($(BIN)/radon cc --min D --show-complexity cgos)"; \
	  if [ -n "$$worse" ]; then echo "radon: functions of cgos/ graded worse than C:"; echo "$$worse"; exit 1; fi
	@# Two runs, since tests spell the messages they expect rather than import them, on purpose; side by side,
	@# one core each (19 s here, against 29 s one after the other with --jobs=2: pylint's workers cost more than they share).
	@duplicates="$(BIN)/pylint --disable=all --enable=R0801 --min-similarity-lines=6 --persistent=n --score=n"; \
	  $$duplicates cgos & cgos=$$!; \
	  $$duplicates tests; tests=$$?; \
	  wait $$cgos && [ $$tests = 0 ]

## make screenshots: every step of every journey at 390 × 844, 390 × 664 and 320 × 568 (the back office at 1280 × 800 and 390 × 844), JS on and off, and the passkey journeys (JS on, at http://localhost:PORT with Chromium's virtual authenticator), in build/screenshots/index.html
screenshots: install-test chromium
	$(BIN)/python scripts/screenshots.py

VNU_JAR := build/vnu/node_modules/vnu-jar/build/dist/vnu.jar

## make check-html: the Nu Html Checker on every page make screenshots saved; fails on any error but htmx's hx-* attributes (not in CI)
check-html: install
	@command -v java >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq default-jre-headless; }
	@test -f $(VNU_JAR) || { command -v npm >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq npm; }; \
	  npm install --prefix build/vnu --no-save --no-audit --no-fund --silent vnu-jar@26.9.27; }
	@test -f build/screenshots/steps.json || $(MAKE) screenshots || echo "check-html: some journeys stopped; checking the pages saved"
	$(BIN)/python scripts/check_html.py $(VNU_JAR)

## make mutation: mutmut from scratch on the rules that need no browser or database ([tool.mutmut] in pyproject.toml), then the mutants killed per module and the survivors (not in CI; about 6 minutes on 2 cores)
mutation: install-test
	rm -rf mutants
	$(BIN)/mutmut run --max-children 2
	@$(BIN)/mutmut results --all true | awk -F': ' '{m=$$1; sub(/^ +/,"",m); sub(/\.x(_|ǁ).*/,"",m); n[m]++; N++} \
	  $$2=="killed"||$$2=="timeout" {k[m]++; K++} END {for (m in n) printf "%-26s %4d / %4d killed\n", m, k[m], n[m]; \
	  printf "%-26s %4d / %4d killed (%.1f %%)\n", "total", K, N, 100*K/N}' | sort
	$(BIN)/mutmut results

## make test-fuzz: every public form fed 10 000 hypothesis-generated inputs (slow: minutes)
test-fuzz: install-test
	$(BIN)/pytest -m fuzz -n auto

## make test-postgres: the whole suite again on a throw-away PostgreSQL and Redis
test-postgres: install-test chromium services
	scripts/test-services.sh start $(CURDIR)/.services > .services.env
	. ./.services.env && $(BIN)/pytest -m "not fuzz and not topology" -n auto; status=$$?; \
	  scripts/test-services.sh stop $(CURDIR)/.services; exit $$status

## make test-topology: the production topology (nginx, two app hosts, PostgreSQL, Redis, SMTP) in network namespaces, as root
test-topology: install-test services topology-tools
	$(BIN)/pytest -m topology -n 0 tests/topology; status=$$?; \
	  $(BIN)/python tests/topology/cluster.py; exit $$status

## make bench: load benchmark against a real gunicorn, results in bench/RESULTS.md
bench: install-test services
	$(BIN)/python bench/run.py

## make bench-scale: a million agents on PostgreSQL (import, login, mail remind, uploads purge; ~15 min), then the mail worker (10 000 mails)
bench-scale: install-test services
	$(BIN)/python bench/scale.py
	$(BIN)/python bench/mail_worker.py

## make bench-topology: logins per second through nginx with one app host, then two (each pinned to a core), in bench/RESULTS.md
bench-topology: install-test services topology-tools
	$(BIN)/python bench/topology.py; status=$$?; \
	  $(BIN)/python tests/topology/cluster.py; exit $$status

chromium:
	@test -x /usr/bin/chromium || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium; }

# Debian's PostgreSQL and Redis servers (fault tests, PostgreSQL run, benchmark); wrk for the benchmark.
services:
	@{ ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && command -v redis-server >/dev/null && command -v wrk >/dev/null; } || \
	  { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq postgresql redis-server wrk; }

# nginx, ip and ss (iproute2), openssl, systemd-analyze (systemd) and taskset (util-linux) for the topology.
topology-tools:
	@{ command -v nginx && command -v ip && command -v ss && command -v openssl && command -v systemd-analyze && command -v taskset; } >/dev/null 2>&1 || \
	  { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq nginx iproute2 openssl systemd util-linux; }

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .services .services.env mutants
