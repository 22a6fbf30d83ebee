# Engage: `make run` to try it, `make test` to check it. See README.md.
SHELL := /bin/bash
# The first Python 3.12+ found (a .python-version file picks pyenv's 3.13 here).
PYTHON ?= $(shell for p in python3.13 python3.12 python3; do \
	$$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1 && { echo $$p; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# Tests talk to real services; these are the machine's own unless the environment says otherwise.
TEST_ENV := DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test} \
	CELERY_BROKER_URL=$${CELERY_BROKER_URL:-redis://127.0.0.1:6379/0} \
	CACHE_URL=$${CACHE_URL:-redis://127.0.0.1:6379/1}

# Debian packages the test suite drives (command:package), installed when missing.
SYSTEM_DEPS := docker-compose:docker-compose chromium:chromium chromedriver:chromium-driver npm:npm \
	dovecot:dovecot-imapd postfix:postfix

# Debconf's answer for them: Postfix is for the MTA recipe's test, which runs its own instance
# from a temp dir; no system mail server is configured or started.
DEBCONF_SELECTIONS := postfix postfix/main_mailer_type select No configuration

# And those the benchmarks drive.
BENCH_DEPS := wrk:wrk redis-server:redis-server

.PHONY: install system-deps bench-deps axe run test lint format bench bench-delivery bench-load bench-esp bench-watch bench-scale bench-api bench-webhooks clean

$(STAMP): requirements.txt requirements-dev.txt
	@if [ -z "$(PYTHON)" ]; then \
		echo "Engage needs Python 3.12 or newer: install python3.13 (or 3.12) and try again." >&2; exit 1; fi
	@echo "Creating $(VENV) with $$($(PYTHON) --version)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

install: $(STAMP)

# The local run: DEBUG on, and a random SECRET_KEY made once and kept in var/ (there is no
# built-in key: production sets its own). `make run PORT=8001` for another port.
SECRET_KEY_FILE := var/secret-key
PORT ?= 8000
DEV_ENV := DEBUG=$${DEBUG:-true} SECRET_KEY="$$(cat $(SECRET_KEY_FILE))" \
	SITE_URL=$${SITE_URL:-http://127.0.0.1:$(PORT)}

$(SECRET_KEY_FILE):
	@mkdir -p var
	@umask 077 && $(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(50))' > $@
	@echo "Wrote a new random SECRET_KEY for the local run to $@"

run: install $(SECRET_KEY_FILE)
	@mkdir -p var/outbox
	$(DEV_ENV) $(BIN)/python manage.py migrate --noinput
	$(DEV_ENV) $(BIN)/python manage.py seed_demo
	@echo "Engage runs on http://127.0.0.1:$(PORT)/ (PORT=$(PORT); make run PORT=… for another)"
	$(DEV_ENV) $(BIN)/honcho -f Procfile.dev start -p $(PORT)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

define install_missing
	@missing=$$(for dep in $(1); do command -v $${dep%%:*} >/dev/null || echo $${dep#*:}; done); \
	if [ -n "$$missing" ]; then \
		echo "Installing Debian packages: $$missing"; \
		echo "$(DEBCONF_SELECTIONS)" | debconf-set-selections; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi
endef

system-deps:
	$(call install_missing,$(SYSTEM_DEPS))

bench-deps:
	$(call install_missing,$(BENCH_DEPS))

# axe-core for the accessibility tests, from the npm registry; no lock file is kept (npm's hidden
# one records the registry's address), and nothing is fetched once it is there.
AXE := .cache/axe/node_modules/axe-core/axe.min.js
$(AXE):
	npm install --no-save --no-package-lock --no-audit --no-fund --prefix .cache/axe axe-core@4.14.1
	rm -f .cache/axe/node_modules/.package-lock.json

axe: $(AXE)

# sisimai's real bounces are not committed (tests/inbound/corpus/ORIGIN.md says why): the test that
# reads them runs where they are (BOUNCE_CORPUS, tests/inbound/corpus/sisimai, ../shared/bounce-corpus)
# and make test says so where they are not.
SISIMAI := $(firstword $(wildcard $(BOUNCE_CORPUS)/sisimai/expected.json \
	tests/inbound/corpus/sisimai/expected.json ../shared/bounce-corpus/sisimai/expected.json))

test: lint system-deps $(AXE)
	@$(if $(SISIMAI),,echo "sisimai's corpus is not here: test_sisimai_bounces is left out (tests/inbound/corpus/ORIGIN.md)")
	$(TEST_ENV) $(BIN)/pytest $(PYTEST_ARGS) $(if $(SISIMAI),,-m "not sisimai_corpus")

# Every benchmark, then each speed target of this run as met or MISSED (bench/summary.py).
BENCH_VERDICTS ?= var/bench-verdicts.jsonl
export BENCH_VERDICTS
bench: install bench-deps
	@mkdir -p var && rm -f $(BENCH_VERDICTS)
	$(MAKE) --no-print-directory bench-delivery bench-esp bench-watch bench-scale bench-load
	$(BIN)/python bench/summary.py

bench-delivery: install bench-deps
	$(TEST_ENV) $(BIN)/python bench/run.py $(BENCH_ARGS)

bench-load: install bench-deps
	$(TEST_ENV) $(BIN)/python bench/load.py $(LOAD_ARGS)

# The REST API's sync (GET /api/v1/subscribers/ over 1,000,000 rows) against a bare view, and
# webhook delivery against one at a time (bench/api.py).
bench-api: install
	$(TEST_ENV) $(BIN)/python bench/api.py sync $(API_ARGS)

bench-webhooks: install
	$(TEST_ENV) $(BIN)/python bench/api.py webhooks $(WEBHOOK_ARGS)

# Through an ESP: one call per message vs batch calls, against a loopback Postmark stand-in.
bench-esp: install bench-deps
	$(TEST_ENV) $(BIN)/python bench/esp.py $(ESP_ARGS)

# The reputation watch's cost: the same digest end to end with it off, then on.
bench-watch: install bench-deps
	$(TEST_ENV) $(BIN)/python bench/watch_cost.py $(WATCH_ARGS)

# Scale-out: two worker pools against one, through an ESP stand-in whose latency is the limit.
bench-scale: install bench-deps
	$(TEST_ENV) $(BIN)/python bench/scale_out.py $(SCALE_ARGS)

clean:
	rm -rf $(VENV) var staticfiles .pytest_cache .ruff_cache
