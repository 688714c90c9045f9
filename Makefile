# The two commands of the README, and what they need. Each target installs what is
# missing itself (the virtualenv, the locked Python packages, Kafka's jars), so a fresh
# clone needs nothing but Python 3.11+, Java 17+ and Maven on the PATH.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint unit integration browser lock clean

demo: $(STAMP)
	$(BIN)/woosync demo

test: $(STAMP) lint browser
	$(BIN)/woosync fetch-kafka
	$(BIN)/pytest -q -p no:cacheprovider

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/woosync schemas check

# The fast tiers (pure rules, agents through test_context, the emulator): no broker.
unit: $(STAMP)
	$(BIN)/pytest -q -p no:cacheprovider tests/unit tests/agents tests/emulator

# Real Kafka (started by the fixtures from the cached jars) and a real Tryton.
integration: $(STAMP) browser
	$(BIN)/woosync fetch-kafka
	$(BIN)/pytest -q -p no:cacheprovider tests/integration

# Debian's headless Chromium and its driver, for the dashboard's browser test (root, or
# sudo; Debian's package lists are read first on a machine that has none).
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || { \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install \
	    -y -qq --no-install-recommends chromium chromium-driver fonts-dejavu-core >/dev/null; }

$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "woosync needs Python 3.11+, found " + sys.version'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.lock
	$(BIN)/python -m pip install -q --no-deps -e .
	touch $(STAMP)

# Re-pin every package after changing pyproject.toml's dependencies.
lock:
	rm -rf .lock-venv
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install -q --upgrade pip
	.lock-venv/bin/python -m pip install -q '.[dev,erp]'
	.lock-venv/bin/python -m pip freeze --exclude woosync > requirements.lock
	rm -rf .lock-venv

clean:
	rm -rf $(VENV) .state
