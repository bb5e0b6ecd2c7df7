# One-command set-up: `make serve` runs the mock, `make test` runs every check.
# Both create .venv/ through `make install`; nothing else needs to be installed by hand.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
REDOCLY := npx --yes @redocly/cli@2.77.0
ARGS ?=

.PHONY: install serve test lint spec-lint unit node browser redis clean bench docs

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

serve: install
	$(PY) -m mock_server $(ARGS)

test: lint spec-lint unit

lint: install
	$(VENV)/bin/ruff check .

spec-lint: install node
	$(PY) -m openapi_spec_validator openapi.yaml
	$(REDOCLY) lint --config redocly.yaml openapi.yaml

# Every test, spread over the machine's cores (pytest-xdist); ARGS="tests/test_x.py -n0" for one.
# tests/test_codegen.py runs pinned openapi-typescript and typescript through npx (hence node).
unit: install node browser redis
	$(PY) -m pytest -n auto $(ARGS)

# The mock beside Prism, WireMock, Mockoon and the ceiling (its bytes from a bare ASGI app) under
# wrk, on loopback: every GET and PUT, 3 alternating rounds (about 9 minutes; ARGS="--rounds 1
# --duration 1" for about 3). wrk, a JRE (WireMock) and py-spy (bench.profile) are installed
# if missing. Then the watch socket's fan-out to 1,000 idle watchers (bench/fanout.py, about a
# minute; its Redis case skips without redis-server). Tables on stdout, figures in
# bench/results/latest.json. Options: ARGS="--rounds 5" (bench.run), FANOUT_ARGS="--rounds 10".
bench: install node redis
	@command -v java >/dev/null 2>&1 || { echo "installing a JRE with apt-get (WireMock)"; \
	  apt-get update -qq && apt-get install -y -qq --no-install-recommends default-jre-headless; }
	@test -x $(VENV)/bin/py-spy || $(PY) -m pip install --quiet -e '.[test,bench]'
	$(PY) -m bench.run $(ARGS)
	$(PY) -m bench.fanout $(FANOUT_ARGS)

# The rendered reference, build/docs/index.html: one self-contained file (Redocly's scripts
# inlined) whose operations show their x-docs-errata and x-docs-additions.
docs: install node
	$(PY) -m codegen.docs_spec build/docs/openapi.yaml
	$(REDOCLY) build-docs build/docs/openapi.yaml --inlineBundle \
	    --title "Coder notifications API" --output build/docs/index.html

# Node.js and npm run the pinned npm tools (Redocly, Prism) through npx.
node:
	@command -v npx >/dev/null 2>&1 || { \
	  echo "installing Node.js and npm with apt-get"; \
	  apt-get update -qq && apt-get install -y -qq nodejs npm; }

# Chromium for tests/test_browser.py (playwright drives /usr/bin/chromium). Where it cannot be
# installed (not root, no apt-get, apt-get fails), say so and go on: those tests then skip.
browser:
	@test -x /usr/bin/chromium || { \
	  if [ "$$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Chromium with apt-get"; \
	    export DEBIAN_FRONTEND=noninteractive; log=$$(mktemp); \
	    { apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium; } \
	        >$$log 2>&1 || { cat $$log; echo "browser: apt-get could not install chromium;" \
	        "tests/test_browser.py will skip"; }; \
	    rm -f $$log; \
	  else \
	    echo "browser: /usr/bin/chromium is missing; install it as root with" \
	         "'apt-get install chromium' (tests/test_browser.py skips until then)"; \
	  fi; }

# redis-server for tests/test_shared_state*.py, which start their own on a free port. Where it
# cannot be installed (not root, no apt-get, apt-get fails), say so and go on: those tests skip.
redis:
	@command -v redis-server >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing redis-server with apt-get"; \
	    export DEBIAN_FRONTEND=noninteractive; log=$$(mktemp); \
	    { apt-get update -qq && apt-get install -y -qq --no-install-recommends redis-server; } \
	        >$$log 2>&1 || { cat $$log; echo "redis: apt-get could not install redis-server;" \
	        "tests/test_shared_state*.py will skip"; }; \
	    rm -f $$log; \
	  else \
	    echo "redis: redis-server is missing; install it as root with" \
	         "'apt-get install redis-server' (tests/test_shared_state*.py skip until then)"; \
	  fi; }

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis reports *.egg-info
