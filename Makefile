# Every target that needs Python depends on the stamp, so a fresh clone needs no manual step.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NLU_MODEL := var/models/nlu/embedded.pkl

# Feature makefiles (mk/*.mk) add targets and append prerequisites of `make test` to TEST_DEPS.
TEST_DEPS :=
INSTALL_DEPS :=
.DEFAULT_GOAL := install
-include mk/*.mk

.PHONY: install run test lint typecheck unit nlu-train rasa-venv rasa-train rasa-serve bench clean

install: $(STAMP) $(NLU_MODEL) $(INSTALL_DEPS)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev,voice]'
	touch $(STAMP)

$(NLU_MODEL): $(STAMP) $(wildcard nlu/data/*.yml) $(wildcard catalog/data/*.yml)
	$(BIN)/python -m nlu train

run: install
	$(BIN)/python -m bot

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

test: install lint typecheck $(TEST_DEPS)
	$(BIN)/python -m pytest -q -rs

nlu-train: $(STAMP)
	$(BIN)/python -m nlu train

bench: install
	$(BIN)/python -m bench

clean:
	rm -rf var/models .pytest_cache .mypy_cache .ruff_cache
