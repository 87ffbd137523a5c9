# The README's commands. `make run` and `make test` set everything up on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)

.PHONY: run test system-test lint venv clean flask tools perf perf-smoke perf-baseline bench

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

## The system tests alone, each load phase SYSTEM_TEST_SECONDS long (`make test` runs them with 6):
## two gunicorn instances and two RQ workers on their own PostgreSQL and Valkey, under load and faults.
SYSTEM_TEST_SECONDS ?= 30
system-test: $(STAMP)
	SYSTEM_TEST_SECONDS=$(SYSTEM_TEST_SECONDS) $(BIN)/python -m pytest tests/system -m system -s $(PYTEST_ARGS)

## Locust against gunicorn on 127.0.0.1 for a fixed time; reports in perf/reports/; fails on a
## regression against perf/baseline.json beyond PERF_TOLERANCE, or on any failed request.
PERF_DURATION ?= 120
PERF_USERS ?= 30
PERF_TOLERANCE ?= 0.25
perf: $(STAMP)
	$(BIN)/python -m perf.run --duration $(PERF_DURATION) --users $(PERF_USERS) --tolerance $(PERF_TOLERANCE)

## The short run CI makes: about a minute; fails on any failed request, or on a p95 or throughput
## 4x worse than the baseline (relative to calibration) where an endpoint had 100+ requests, seen
## in three runs in a row (a slow run on a shared machine proves nothing; a real regression shows every time).
perf-smoke: $(STAMP)
	$(BIN)/python -m perf.run --duration 45 --users $(PERF_USERS) --tolerance 3 --min-requests 100 --attempts 3

## Record this machine's figures as the new perf/baseline.json.
perf-baseline: $(STAMP)
	$(BIN)/python -m perf.run --duration $(PERF_DURATION) --users $(PERF_USERS) --write-baseline

## The cost of production readiness: the cached product read, every feature on, against bare
## Flask and the floor (bare Flask plus the one Redis round trip), all under gunicorn, in
## interleaved wrk rounds of one run (needs wrk: `make tools`).
bench: $(STAMP) tools
	$(BIN)/python -m perf.bench --rounds 8 --seconds 5 --floor

lint: $(STAMP)
	$(BIN)/ruff check .

## promtool (Debian package `prometheus`) for the monitoring tests and wrk for `make bench`;
## installed only when missing. Needs root, or sudo, and apt; `apt-get update` runs only if the
## first install attempt fails.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_INSTALL := $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends
tools:
	@missing=""; command -v promtool >/dev/null 2>&1 || missing="$$missing prometheus"; \
	command -v wrk >/dev/null 2>&1 || missing="$$missing wrk"; \
	if [ -n "$$missing" ]; then echo "Installing:$$missing"; \
	  $(APT_INSTALL) $$missing || { $(SUDO) apt-get update -q && $(APT_INSTALL) $$missing; }; fi
	@promtool --version | head -1

## Any flask command against the embedded services, e.g. `make flask ARGS="users create --email me@example.com"`.
flask: $(STAMP)
	$(BIN)/python -m project.devservices exec -- flask --app wsgi $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
