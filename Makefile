# Two commands matter: `make run` (set up and start the app on the shipped Taiyuan report)
# and `make test` (set up everything the tests need, Debian's chromium included, and run them).
# Both are idempotent: a second run only does what changed.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.geoplan-installed
SUDO := $(shell [ "$$(id -u)" = "0" ] || echo sudo)
PORT ?= 8501

.PHONY: run test setup browser build bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

# Debian's Chromium for the Playwright browser tests (Playwright cannot download its own browser here).
browser:
	@command -v chromium >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && \
		$(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk; }

run: $(STAMP)
	$(VENV)/bin/streamlit run streamlit_app.py --server.port $(PORT) --server.headless true

test: $(STAMP) browser
	$(PY) -m ruff check src tests scripts bench streamlit_app.py
	$(PY) -m pytest

build: $(STAMP)
	$(VENV)/bin/geoplan build geodata/reports/taiyuan-2025.txt -o geodata/taiyuan-2025.geojson

bench: $(STAMP)
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache
