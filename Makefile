# Two commands for a newcomer: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export FLASK_APP := ivr

.PHONY: run test test-fast lint bench wrk soak call text install browser clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch first, pinned: the CPU wheel; nothing may pull CUDA packages
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/python scripts/run_local.py

test: install browser
	$(BIN)/pytest

test-fast: install
	$(BIN)/pytest -m "not slow and not browser"

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy core ivr callbacks themes transcription replies texts dashboard workers simulator
	$(BIN)/lint-imports

bench: install wrk
	$(BIN)/python bench/run_all.py

# SOAK_CALLS survey calls through gunicorn + 2 workers + scheduler on PostgreSQL (a throwaway
# database on the SOAK_POSTGRES server) and a private redis-server, with a worker killed and
# Redis restarted mid-run; prints the figures and fails unless every check passes.
SOAK_CALLS ?= 300
SOAK_POSTGRES ?= postgresql://postgres@127.0.0.1:5432/postgres
soak: install
	$(BIN)/python bench/soak.py --calls $(SOAK_CALLS) --postgres $(SOAK_POSTGRES)

# Follows the port (and fake Twilio) of the running `make run`; ARGS go to `flask simulate`,
# e.g. make call ARGS='--script "9#,4,1,2,2"'.
call: install
	$(BIN)/python scripts/run_local.py call $(ARGS)

# A phone that texts the running `make run` through its fake Twilio: /consent, /survey, then
# type replies; ARGS go to `flask text`, e.g. make text ARGS='--script "/consent|/survey|9"'.
text: install
	$(BIN)/python scripts/run_local.py text $(ARGS)

# wrk drives the webhook bench (bench/webhook_bench.py) from Debian's package.
wrk:
	@command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk >/dev/null) \
	  || echo "wrk could not be installed: the webhook bench will FAIL"

# Debian's chromium for the Playwright browser tests (never a downloaded browser).
browser:
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) \
	  || echo "chromium could not be installed: browser tests will be skipped"

clean:
	rm -rf $(VENV) instance .pytest_cache .mypy_cache .ruff_cache
