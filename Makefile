# civic-gis: `make run` and `make test` work on a fresh Debian/Ubuntu machine (root or not).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000

.PHONY: run test lint lock bench postgis node assets chromium setup messages catalogs clean

run: setup
	$(BIN)/civic dev --port $(PORT)

test: setup chromium
	$(BIN)/pytest -q

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: setup
	$(BIN)/python -m bench

setup: postgis $(VENV)/.installed assets catalogs

# Every word a person reads is in the gettext catalogs (service/vocabulary/locale/): after
# changing a message in the code or a template, `make messages` extracts the messages and
# updates every language's .po for its translator.
messages: $(VENV)/.installed
	$(BIN)/python -m service.vocabulary.build update

# Python packages, in a virtualenv of the project's own, at the versions of requirements.lock
# (hash-checked, build backend included); then the project itself, resolving nothing more.
$(VENV)/.installed: requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  { echo "civic-gis needs Python 3.11 or newer (found $$($(PYTHON) --version))"; exit 1; }
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv && \
	    $(PYTHON) -m venv $(VENV); \
	  else echo "Python's venv module is missing: install python3-venv"; exit 1; fi; }
	$(BIN)/pip install -q --require-hashes -r requirements.lock
	$(BIN)/pip install -q --no-deps --no-build-isolation -e .
	@touch $@

# requirements.lock from pyproject.toml (runtime and dev dependencies, with hashes), keeping
# the versions it already pins; `make lock LOCK_ARGS=--upgrade` (or `--upgrade-package NAME`)
# moves them on. Then the virtualenv is brought in line with it.
lock: $(VENV)/.installed
	CUSTOM_COMPILE_COMMAND="make lock" $(BIN)/pip-compile -q --generate-hashes --allow-unsafe \
	  --all-build-deps --strip-extras --extra dev --no-emit-index-url --no-emit-find-links \
	  $(LOCK_ARGS) -o requirements.lock pyproject.toml
	$(MAKE) $(VENV)/.installed

# PostGIS from the system's packages, installed where it is missing and apt is usable.
postgis:
	@if ls /usr/share/postgresql/*/extension/postgis.control >/dev/null 2>&1; then exit 0; fi; \
	pg=$$(ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -1); \
	pkg=$${pg:+postgresql-$$pg-postgis-3}; pkg=$${pkg:-postgresql-postgis}; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then sudo=""; \
	elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo="sudo"; \
	else echo "PostGIS is missing. Install it with: sudo apt-get install $$pkg"; \
	  echo "(or set DATABASE_URL to a PostgreSQL database that has PostGIS)"; exit 1; fi; \
	echo "installing $$pkg"; \
	$$sudo apt-get update -q && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -q $$pkg

# The compiled catalogs (.mo, not committed), rebuilt when their .po changes.
CATALOGS := $(patsubst %.po,%.mo,$(wildcard service/vocabulary/locale/*/LC_MESSAGES/messages.po))
catalogs: $(CATALOGS)
service/vocabulary/locale/%/LC_MESSAGES/messages.mo: service/vocabulary/locale/%/LC_MESSAGES/messages.po $(VENV)/.installed
	$(BIN)/python -m service.vocabulary.build compile $*

# Node.js and npm from the system's packages, for the crew map's front-end assets.
node:
	@if command -v npm >/dev/null; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then sudo=""; \
	elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo="sudo"; \
	else echo "npm is missing (crew map assets). Install it with: sudo apt-get install nodejs npm"; exit 1; fi; \
	$$sudo apt-get update -q && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -q nodejs npm

# The crew map's JS/CSS from the npm registry, copied where the app serves them (/assets):
# never committed, never fetched from a CDN at view time.
assets: service/crew/static/vendor/.copied
service/crew/static/vendor/.copied: frontend/package-lock.json frontend/copy-assets.mjs | node
	cd frontend && npm ci --no-audit --no-fund && node copy-assets.mjs
	@touch $@

# Debian's Chromium for tests/test_browser.py (Playwright drives it; `playwright install`
# would download a browser from the internet). Installed where missing and apt is usable.
chromium:
	@if [ -x "$${CIVIC_CHROMIUM:-/usr/bin/chromium}" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then sudo=""; \
	elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo="sudo"; \
	else echo "Chromium is missing (browser tests are skipped). Install it with: sudo apt-get install chromium"; \
	  echo "(or set CIVIC_CHROMIUM to a Chromium binary)"; exit 0; fi; \
	echo "installing chromium"; \
	$$sudo apt-get update -q && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -q chromium

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
