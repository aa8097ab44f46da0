# `make run`: install what is missing and serve the platform with demo data on http://127.0.0.1:$(PORT)
# `make test`: the whole suite on SQLite and on PostgreSQL (a throwaway server on loopback if none is given)
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PORT ?= 5000
export EXCHANGE_INSTANCE_PATH ?= $(CURDIR)/instance
FLASK := $(VENV)/bin/flask --app wsgi
MO := exchange/translations/en/LC_MESSAGES/messages.mo

.PHONY: run test system-runtime system-test setup bench bench-exchange bench-certificates bench-import translations extract-messages clean

run: system-runtime $(VENV)/.runtime $(MO)
	$(FLASK) setup
	$(FLASK) demo load
	@echo "serving on http://127.0.0.1:$(PORT)  (stop with Ctrl-C)"
	$(VENV)/bin/gunicorn --workers 2 --bind 127.0.0.1:$(PORT) --access-logfile - wsgi:app

test: system-test $(VENV)/.test $(MO)
	scripts/run-tests.sh

system-runtime:
	@scripts/system-deps.sh runtime

system-test:
	@scripts/system-deps.sh test

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip

$(VENV)/.runtime: pyproject.toml | $(VENV)/bin/python
	$(VENV)/bin/pip install -q -e .
	touch $@

$(VENV)/.test: pyproject.toml | $(VENV)/bin/python
	$(VENV)/bin/pip install -q -e '.[test]'
	touch $@ $(VENV)/.runtime

translations $(MO): exchange/translations/en/LC_MESSAGES/messages.po | $(VENV)/.runtime
	$(VENV)/bin/pybabel compile -d exchange/translations -D messages

# Refresh the English catalogue after adding user-visible strings (then translate the new entries).
extract-messages: $(VENV)/.test
	$(VENV)/bin/pybabel extract -F babel.cfg -k _l -o /tmp/messages.pot exchange templates
	$(VENV)/bin/pybabel update -i /tmp/messages.pot -d exchange/translations -l en --no-fuzzy-matching

bench: $(VENV)/.test
	$(VENV)/bin/python benchmarks/ledger_bench.py

# the exchange's targets on PostgreSQL (a throwaway server, as `make test` starts): auction bids and the public board
bench-exchange: $(VENV)/.test system-test
	scripts/with-postgres.sh $(VENV)/bin/python benchmarks/auction_bench.py --postgres-from-env
	scripts/with-postgres.sh $(VENV)/bin/python benchmarks/board_bench.py --postgres-from-env

# certificates: render + sign, offline verification, /api/v1/verify on two gunicorn workers (SQLite, then PostgreSQL)
bench-certificates: $(VENV)/.test system-test
	scripts/with-postgres.sh $(VENV)/bin/python benchmarks/certificate_bench.py --postgres-from-env

# the registry: 10^5 parcels in NY/T 2539 form imported into a fresh SQLite instance
bench-import: $(VENV)/.test
	$(VENV)/bin/python benchmarks/import_bench.py

clean:
	rm -rf $(VENV) .pytest_cache
