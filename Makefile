# Two commands matter: `make run` (set up and start the app on the shipped Taiyuan report)
# and `make test` (set up everything the tests need, Debian's chromium included, and run them).
# Both are idempotent: a second run only does what changed.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.geoplan-installed
SUDO := $(shell [ "$$(id -u)" = "0" ] || echo sudo)
PORT ?= 8501

.PHONY: run test setup browser node postgres typecheck lock build bench screenshots clean

# requirements.lock pins what the tests last passed with (`make lock` regenerates it): CI installs that.
$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]' -c requirements.lock
	touch $(STAMP)

setup: $(STAMP)

# Debian's Chromium for the Playwright browser tests (Playwright cannot download its own browser here).
browser:
	@command -v chromium >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && \
		$(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk; }

# Debian's node runs the map script's tests (tests/js, and the popup checks in test_security/test_maps).
node:
	@command -v node >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && \
		$(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs; }

# Debian's PostgreSQL server: the corrections store's tests run on PostgreSQL too, in a throwaway cluster
# (tests/pg_cluster.py; nothing of it stays running). In CI (CI=true) those tests fail without it.
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 || \
		{ $(SUDO) apt-get update -qq && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; }

run: $(STAMP)
	$(VENV)/bin/geoplan serve --server.port $(PORT) --server.headless true  # streamlit run, the first visit computed

test: $(STAMP) browser node postgres
	$(PY) -m ruff check src tests scripts bench streamlit_app.py
	$(PY) -m ruff format --check src tests scripts bench streamlit_app.py
	$(PY) -m mypy
	node --test tests/js/*.test.js
	$(PY) -m pytest

# mypy --strict on the modules listed in pyproject's [tool.mypy] files.
typecheck: $(STAMP)
	$(PY) -m mypy

# Pin every dependency of '.[test]' as a fresh venv resolves them today (geoplan and pip left out). Rerun
# it after adding a dependency to pyproject.toml, then `make test`, and commit requirements.lock with it.
lock:
	set -e; venv=$$(mktemp -d); trap 'rm -rf "$$venv"' EXIT; \
	$(PYTHON) -m venv "$$venv"; \
	"$$venv/bin/python" -m pip install --quiet --upgrade pip; \
	"$$venv/bin/python" -m pip install --quiet '.[test]'; \
	{ echo "# pip freeze of a fresh venv with '.[test]' (make lock); make setup installs with -c requirements.lock"; \
	  "$$venv/bin/python" -m pip freeze --all --exclude pip --exclude geoplan; } > requirements.lock.tmp; \
	mv requirements.lock.tmp requirements.lock

# The README's pictures: the browser tests save theirs under tests/artifacts/screenshots (git-ignored);
# this runs them with docs/screenshots as the folder instead. Look at the pictures before committing them.
screenshots: $(STAMP) browser
	GEOPLAN_SCREENSHOTS=$(CURDIR)/docs/screenshots $(PY) -m pytest -q -p no:cacheprovider tests/test_browser.py tests/test_publish.py -m browser

build: $(STAMP)
	$(VENV)/bin/geoplan build geodata/reports/taiyuan-2025.txt -o geodata/taiyuan-2025.geojson

bench: $(STAMP)
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache
