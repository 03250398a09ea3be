# `make verify` and `make test` work on a fresh machine with Python 3.11+, pip and make.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: verify test lint install clean bench sysdeps emulators soak trends

# uv installs the same pinned set as pip (constraints.txt; `pip freeze` identical) in ~34 s instead of ~46 s on
# this machine (docs/benchmarks.md, issue 9 table); pip does it when uv cannot be had (e.g. only a local wheel dir).
# --compile-bytecode as pip does: with PYTHONDONTWRITEBYTECODE=1 (set on these machines) an uncompiled venv
# compiles pandas, locust... again in every process the tests start (imports 3.9 s instead of 1.6 s; a
# fresh-clone pytest took 1,244 s instead of ~800 s).
UV_INSTALL  = $(PY) -m pip install --quiet -c constraints.txt uv \
	&& $(VENV)/bin/uv pip install --quiet --compile-bytecode --python $(PY) -c constraints.txt -e ".[test]" \
	&& $(VENV)/bin/uv pip install --quiet --python $(PY) --no-deps -e chaos/discovery  # `chaos discover`
PIP_INSTALL = $(PY) -m pip install --quiet --upgrade "pip>=23" \
	&& $(PY) -m pip install --quiet -c constraints.txt -e ".[test]" \
	&& $(PY) -m pip install --quiet --no-deps -e chaos/discovery

$(STAMP): pyproject.toml constraints.txt chaos/discovery/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(UV_INSTALL) || { echo "uv install failed: installing with pip" >&2; $(PIP_INSTALL); }
	touch $(STAMP)

install: $(STAMP)

# Azurite (the Azure Blob emulator of the cloud criterion), pinned in package.json / package-lock.json,
# into ./node_modules (never committed). moto and fake-gcs-server come with the Python dependencies.
AZURITE := node_modules/.bin/azurite-blob
$(AZURITE): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $(AZURITE)

emulators: $(AZURITE)

verify: $(STAMP) $(AZURITE)
	$(VENV)/bin/tier7 verify

# System packages the tests need (chromium + chromedriver for the browser tests; etcd-server, etcd-client,
# redis-server, redis-sentinel for the foreign targets): installed with apt-get when run as root, else the
# script says why and those tests skip with that reason.
sysdeps:
	bash scripts/install-system-deps.sh

test: $(STAMP) sysdeps
	$(MAKE) emulators
	$(VENV)/bin/ruff check .
	TIER7_TEST_LANES=1 $(PY) -m pytest -q --durations=60  # tests/lanes.toml: a second lane side by side

lint: $(STAMP)
	$(VENV)/bin/ruff check .

bench: $(STAMP)
	$(PY) bench/run_all.py

# The nightly soak (docs/operations.md): a fresh testbed, `tier7 soak`, the testbed stopped whatever happened.
DURATION ?= 8h
soak: $(STAMP)
	$(VENV)/bin/tier7 testbed up --target results/testbed
	$(VENV)/bin/tier7 soak --duration $(DURATION) --target results/testbed; code=$$?; \
	$(VENV)/bin/tier7 testbed down --target results/testbed; exit $$code

trends: $(STAMP)
	$(VENV)/bin/tier7 trends results

clean:
	rm -rf $(VENV) results .pytest_cache
