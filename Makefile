# 门店培训认证平台 — the two commands: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test init check-python clean-venv

check-python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed")'

$(BIN)/python: | check-python
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(VENV)/.dev: requirements-dev.txt $(VENV)/.runtime
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@

## init: instance/ with secret key, database migrated, courses synced, demo data if empty
init: $(VENV)/.runtime
	$(FLASK) lms init

## run: set everything up, then serve on http://127.0.0.1:5000 (the sweep runs every minute beside it).
## This is Flask's development server, for one workstation; a real installation runs under gunicorn
## (README.md, docs/deploy.md §4).
run: init
	@$(FLASK) lms sweep --loop 60 > instance/sweep.log 2>&1 & sweep=$$!; \
	trap "kill $$sweep 2>/dev/null" EXIT INT TERM; \
	$(FLASK) run --host $(HOST) --port $(PORT)

## test: set up the environment and run the whole test suite
test: $(VENV)/.dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

clean-venv:
	rm -rf $(VENV)
