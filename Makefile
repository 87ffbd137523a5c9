# The README's commands. `make run` and `make test` set everything up on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)

.PHONY: run test lint venv clean flask tools perf perf-smoke perf-baseline

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	rm -f $(VENV)/.installed-* && touch $@

venv: $(STAMP)

## Serve the API (gunicorn) and an RQ worker on embedded PostgreSQL and Valkey, until Ctrl-C.
run: $(STAMP)
	$(BIN)/python -m project.devservices run

## Lint, then the whole test suite on real embedded PostgreSQL and Valkey.
test: lint tools
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## Locust against gunicorn on 127.0.0.1 for a fixed time; reports in perf/reports/; fails on a
## regression against perf/baseline.json beyond PERF_TOLERANCE, or on any failed request.
PERF_DURATION ?= 120
PERF_USERS ?= 30
PERF_TOLERANCE ?= 0.25
perf: $(STAMP)
	$(BIN)/python -m perf.run --duration $(PERF_DURATION) --users $(PERF_USERS) --tolerance $(PERF_TOLERANCE)

## The short run CI makes: about a minute, with a generous tolerance (the machine is shared).
perf-smoke: $(STAMP)
	$(BIN)/python -m perf.run --duration 45 --users 12 --tolerance 1.5

## Record this machine's figures as the new perf/baseline.json.
perf-baseline: $(STAMP)
	$(BIN)/python -m perf.run --duration $(PERF_DURATION) --users $(PERF_USERS) --write-baseline

lint: $(STAMP)
	$(BIN)/ruff check .

## promtool (Debian package `prometheus`) for the monitoring tests; installed only when missing.
## Needs root, or sudo, and apt; `apt-get update` runs only if the first install attempt fails.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
tools:
	@command -v promtool >/dev/null 2>&1 || { \
	  echo "Installing promtool (apt package prometheus)"; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends prometheus \
	  || { $(SUDO) apt-get update -q && \
	       $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends prometheus; }; }
	@promtool --version | head -1

## Any flask command against the embedded services, e.g. `make flask ARGS="users create --email me@example.com"`.
flask: $(STAMP)
	$(BIN)/python -m project.devservices exec -- flask --app wsgi $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
