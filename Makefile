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

.PHONY: run test install db demo lint check clean

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

run: demo
	$(BIN)/python -m webapp.devserver --host $(HOST) --port $(PORT) --oidc-port $(OIDC_PORT)

test: install
	$(FLASK) faq check
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check webapp tests benchmarks

clean:
	rm -rf $(VENV) instance .pytest_cache
