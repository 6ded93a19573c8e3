# newsdesk — the two commands a new user needs are `make demo` and `make test` (see README.md).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SAMPLE_STORE ?= .newsdesk-sample
HOST ?= 127.0.0.1
PORT ?= 7860

# The tests and every >>> example in the packages (the examples use the library's fakes: no models, no network).
PYTEST := $(BIN)/python -m pytest -q --doctest-modules tests rag ingest ui eval

.PHONY: demo test test-fast venv chromium bench lint clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

# The web chat over the sample corpus that ships inside the project.
demo: $(STAMP)
	$(BIN)/newsdesk --store $(SAMPLE_STORE) ingest ingest/sample
	$(BIN)/newsdesk --store $(SAMPLE_STORE) ui --host $(HOST) --port $(PORT)

# Headless Chromium for the browser tests (Debian packages; needs root or sudo).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium chromium-driver >/dev/null; }

test: $(STAMP) chromium
	$(PYTEST)

test-fast: $(STAMP)
	$(PYTEST) -m "not integration and not browser and not slow"

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[bench]'
	$(BIN)/python -m eval.bench --help

# ruff and mypy at the versions constraints.txt pins (the `lint` extra).
lint: $(STAMP)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[lint]'
	$(BIN)/ruff check rag ingest ui eval tests conftest.py
	$(BIN)/mypy rag

clean:
	rm -rf $(VENV) $(SAMPLE_STORE) .pytest_cache
