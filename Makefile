# `make verify` and `make test` work on a fresh machine with Python 3.11+, pip and make.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: verify test lint install clean bench sysdeps

$(STAMP): pyproject.toml constraints.txt chaos/discovery/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip>=23"
	$(PY) -m pip install --quiet -c constraints.txt -e ".[test]"
	$(PY) -m pip install --quiet --no-deps -e chaos/discovery  # `chaos discover chaostoolkit-tier7`
	touch $(STAMP)

install: $(STAMP)

verify: $(STAMP)
	$(VENV)/bin/tier7 verify

# System packages the tests need (chromium + chromedriver for the browser tests): installed with apt-get
# when run as root, else the script says why and those tests skip with that reason.
sysdeps:
	bash scripts/install-system-deps.sh

test: $(STAMP) sysdeps
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -q --durations=25

lint: $(STAMP)
	$(VENV)/bin/ruff check .

bench: $(STAMP)
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) results .pytest_cache
