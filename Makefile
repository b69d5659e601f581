# Bridgeway developer loop. `make demo` and `make test` work on a fresh Debian machine with Python 3.11.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
RABBITMQ_URL ?= amqp://guest:guest@127.0.0.1:5672/%2F
export RABBITMQ_URL

.PHONY: demo test check lint format protos models bench clean broker

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,models,dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python scripts/demo.py

broker: $(STAMP)
	$(BIN)/python scripts/ensure_rabbitmq.py

test: $(STAMP) broker
	$(BIN)/pytest

check: lint test

lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

protos: $(STAMP)
	bash protos/generate.sh

models: $(STAMP)
	$(BIN)/python models/build.py

bench: $(STAMP)
	$(BIN)/python bench/gateway.py
	$(BIN)/python bench/copybook.py
	$(BIN)/python bench/amqp.py
	$(BIN)/python bench/files.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .cache demo-run
