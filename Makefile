# Talkgate's task runner. The README's two commands are `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install --quiet --disable-pip-version-check

.PHONY: demo install install-test test lint format bench clean

## First command: install on the embedded defaults and run the service (web + worker), showing it working.
demo: install
	$(PY) manage.py demo

## Second command: install what the tests need and run the whole suite (ruff first).
test: install-test lint
	$(PY) -m pytest

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

install: $(VENV)/.service-installed
$(VENV)/.service-installed: pyproject.toml | $(VENV)/bin/python
	$(PIP) --upgrade pip
	$(PIP) -e .
	touch $@

install-test: $(VENV)/.test-installed
$(VENV)/.test-installed: pyproject.toml $(VENV)/.service-installed
	$(PIP) -e ".[test]"
	touch $@

lint: install-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install-test
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
