# Phoenix — two set-up commands: `make demo` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
DEMO_HOST ?= 127.0.0.1
DEMO_PORT ?= 8000
DEMO_NIGHTS ?= 3
DEMO_START ?= 2009-06-15
PHOENIX_TEST_POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/phoenix
PYTEST_ARGS ?=
# The suite waits more than it computes (clusters, servers, browsers, recipes as subprocesses):
# four test processes (pytest-xdist; a module's tests stay together, so its fixtures are made
# once) halve its time on two cores. `make test PYTEST_PARALLEL=` runs it in one process.
PYTEST_PARALLEL ?= -n 4 --dist loadscope
RUN := var/run
LOG := var/log

.PHONY: demo demo-stop test test-sqlite test-postgres bench bench-abs bench-queue install clean help

help:
	@echo "make demo       install, migrate, load instances, simulate and import NACO nights, start the"
	@echo "                q2 cluster, create and process the month's ABs, start the web server in the"
	@echo "                background (make demo-stop stops them)"
	@echo "make test       install and run the whole suite on SQLite, then on PostgreSQL if reachable"
	@echo "make bench      run the benchmarks in benchmarks/"

$(PY):
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Phoenix needs Python 3.11 or newer; found " + sys.version.split()[0] + " (set PYTHON=...)")'
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt $(PY)
	$(PIP) install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-test: requirements-test.txt requirements.txt $(VENV)/.installed
	$(PIP) install --quiet -r requirements-test.txt
	touch $@

install: $(VENV)/.installed

demo: export PHOENIX_DEBUG = 1
demo: $(VENV)/.installed demo-stop
	@mkdir -p $(RUN) $(LOG) var/data/raw
	$(PY) manage.py migrate --no-input -v 0
	$(PY) manage.py createcachetable
	$(PY) manage.py load_instances
	$(PY) manage.py demo_user
	$(PY) manage.py simulate_nights --instance NACO --start $(DEMO_START) --nights $(DEMO_NIGHTS) --out var/data/raw --seed 1
	-$(PY) manage.py import_headers --instance NACO var/data/raw
	@setsid nohup $(PY) manage.py qcluster > $(LOG)/qcluster.log 2>&1 < /dev/null & echo $$! > $(RUN)/qcluster.pid
	$(PY) manage.py phoenix --instance NACO -m $(shell echo $(DEMO_START) | cut -c1-7) -C -P
	@setsid nohup $(PY) manage.py runserver --noreload $(DEMO_HOST):$(DEMO_PORT) > $(LOG)/web.log 2>&1 < /dev/null & echo $$! > $(RUN)/web.pid
	@$(PY) scripts/wait_for_http.py http://$(DEMO_HOST):$(DEMO_PORT)/accounts/login/ 60
	@echo
	@echo "Phoenix is running: http://$(DEMO_HOST):$(DEMO_PORT)/   login: demo / phoenix-demo (or viewer, operator, certifier / phoenix-demo to see a role)"
	@echo "(the import above reports the simulator's deliberately broken files; the month's ABs are being"
	@echo " processed in the background: python manage.py phoenix --instance NACO -m $(shell echo $(DEMO_START) | cut -c1-7) -P --wait"
	@echo " shows the progress; then phoenix --instance NACO -m $(shell echo $(DEMO_START) | cut -c1-7) -M certifies and moves"
	@echo " the products and queues their ingestion; logs in $(LOG)/, stop with: make demo-stop)"

demo-stop:
	@for name in web qcluster; do \
	  if [ -f $(RUN)/$$name.pid ]; then \
	    pid=$$(cat $(RUN)/$$name.pid); \
	    if kill -0 $$pid 2>/dev/null; then \
	      kill -TERM $$pid; \
	      for i in $$(seq 1 30); do kill -0 $$pid 2>/dev/null || break; sleep 1; done; \
	      kill -0 $$pid 2>/dev/null && kill -KILL -- -$$pid 2>/dev/null; \
	      echo "stopped $$name ($$pid)"; \
	    fi; \
	    rm -f $(RUN)/$$name.pid; \
	  fi; \
	done

test: $(VENV)/.installed-test
	$(MAKE) --no-print-directory test-sqlite
	@if $(PY) scripts/check_postgres.py "$(PHOENIX_TEST_POSTGRES_URL)"; then \
	  $(MAKE) --no-print-directory test-postgres; \
	elif [ "$$CI" = "true" ]; then \
	  echo "CI=true: the PostgreSQL pass is mandatory"; exit 1; \
	else \
	  echo "PostgreSQL pass skipped: no server (set PHOENIX_TEST_POSTGRES_URL)"; \
	fi

test-sqlite: $(VENV)/.installed-test
	@echo "== test suite on SQLite =="
	env -u DATABASE_URL -u PHOENIX_REDIS_URL $(VENV)/bin/pytest $(PYTEST_PARALLEL) $(PYTEST_ARGS)

test-postgres: $(VENV)/.installed-test
	@echo "== test suite on PostgreSQL ($(PHOENIX_TEST_POSTGRES_URL)) =="
	env -u PHOENIX_REDIS_URL DATABASE_URL="$(PHOENIX_TEST_POSTGRES_URL)" $(VENV)/bin/pytest $(PYTEST_PARALLEL) $(PYTEST_ARGS)

bench: $(VENV)/.installed
	$(PY) benchmarks/bench_import_headers.py

bench-abs: $(VENV)/.installed
	$(PY) benchmarks/bench_create_abs.py

bench-queue: $(VENV)/.installed
	$(PY) benchmarks/bench_queue.py

clean: demo-stop
	rm -rf var/ .pytest_cache
