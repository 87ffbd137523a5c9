# The README's commands. `make run` and `make test` set everything up on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)

.PHONY: run test lint venv clean flask tools

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
