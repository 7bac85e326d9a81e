# Talkgate's task runner. The README's two commands are `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install --quiet --disable-pip-version-check

.PHONY: demo install install-engine install-test install-browser test lint format bench clean

## First command: install on the embedded defaults and run the service (web + worker), showing it working.
demo: install install-engine
	$(PY) manage.py demo

## Second command: install what the tests need and run the whole suite (ruff first).
test: install-test install-browser lint
	$(PY) -m pytest

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

install: $(VENV)/.service-installed
$(VENV)/.service-installed: pyproject.toml | $(VENV)/bin/python
	$(PIP) --upgrade pip
	$(PIP) -e .
	touch $@

## The models' stack (the engine, consent verification): torch first, so nothing pulls a CUDA build by
## accident; mediapipe without its declared deps (they drag in jax/jaxlib it never uses); then the pinned rest.
install-engine: $(VENV)/.engine-installed
$(VENV)/.engine-installed: requirements/engine.txt requirements/verification.txt requirements/watermark.txt \
		$(VENV)/.service-installed
	$(PIP) torch==2.13.0
	$(PIP) --no-deps mediapipe==0.10.21
	$(PIP) -r requirements/engine.txt -r requirements/verification.txt -r requirements/watermark.txt
	# The watermark baseline; without its declared deps (they ask for opencv-python, which would overwrite
	# opencv-contrib-python's cv2/, and for an unpinned torch).
	$(PIP) --no-deps invisible-watermark==0.2.0
	touch $@

install-test: $(VENV)/.test-installed
$(VENV)/.test-installed: pyproject.toml $(VENV)/.service-installed $(VENV)/.engine-installed
	$(PIP) -e ".[test]"
	touch $@

## The console's browser tests drive Debian's Chromium (never `playwright install`, which downloads browsers).
install-browser:
	@if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium; fi

lint: install-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install-test
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

## Benchmarks (each prints a table): the HTTP API on gunicorn + PostgreSQL + Redis, and the engine.
bench: install-test
	$(PY) bench/api.py
	$(PY) bench/bench_engine.py

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
