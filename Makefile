# Two commands on a fresh machine:
#   make run   set up, migrate, load demo data once, start the site (SQLite, local sign-in)
#   make test  install what the tests need and run the whole suite
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
HOST ?= 127.0.0.1
PORT ?= 5000
OIDC_PORT ?= 8800
PARS_PORT ?= 8765
MAIL_PORT ?= 8025
# `make run` and `make notify` share a development secret key (kept in instance/), so the
# unsubscribe links in e-mails `make notify` writes work on the site `make run` serves.
DEV_SECRET := instance/dev-secret-key
WITH_SECRET = SECRET_KEY=$${SECRET_KEY:-$$(cat $(DEV_SECRET))}
# The local mail sink `make run` starts (development only; see devtools/mailsink.py).
LOCAL_MAIL := MAIL_SERVER=127.0.0.1 MAIL_PORT=$(MAIL_PORT) STAFF_EMAIL=$${STAFF_EMAIL:-cme-staff@example.org} PORTAL_URL=$${PORTAL_URL:-http://$(HOST):$(PORT)}
# The local PARS service `make run` starts (development only; see devtools/localpars.py).
LOCAL_PARS := PARS_API_URL=http://127.0.0.1:$(PARS_PORT) PARS_USER=pars-user PARS_PASSWORD=pars-secret

.PHONY: run test install db demo lint check clean transmit sync status notify

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "$(PYTHON) not found: install Python 3.11 or run 'make PYTHON=python3 ...'"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

db: install
	$(FLASK) db upgrade

demo: db
	$(FLASK) demo load --if-empty

$(DEV_SECRET): | $(BIN)/python
	mkdir -p instance
	$(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(48))' > $@

run: demo $(DEV_SECRET)
	$(WITH_SECRET) $(BIN)/python -m devtools.devserver --host $(HOST) --port $(PORT) --oidc-port $(OIDC_PORT) --pars-port $(PARS_PORT) --mail-port $(MAIL_PORT)

# While `make run` is running: send the queued credit to its local PARS service,
# fetch board decisions, show the queue. Exit status 1 ("records need attention") is
# expected here: the local service rejects a few demo records on purpose.
transmit: install
	$(LOCAL_PARS) $(FLASK) pars transmit || [ $$? -eq 1 ]

sync: install
	$(LOCAL_PARS) $(FLASK) pars sync || [ $$? -eq 1 ]

status: install
	$(FLASK) pars status

# While `make run` is running: e-mail the notices that are due to its local mail sink
# (saved in instance/mail/*.eml), with the staff digest to cme-staff@example.org.
notify: install $(DEV_SECRET)
	$(WITH_SECRET) $(LOCAL_MAIL) $(FLASK) notify send

test: install
	$(FLASK) faq check
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check webapp tests benchmarks devtools
	$(BIN)/mypy

clean:
	rm -rf $(VENV) instance .pytest_cache
