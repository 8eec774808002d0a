# Rasa backend of the NLU: its own Python 3.10 venv, a cached NLU model, a server. See docs/rasa.md.

RASA_VENV := .venv-rasa
RASA_STAMP := $(RASA_VENV)/.installed
RASA_REQ := nlu/rasa_project/requirements.txt
RASA_MODEL := var/models/rasa/nlu.tar.gz

# The first Python 3.10 that actually runs: a pyenv shim named python3.10 can exist without a
# 3.10 selected, so try the pyenv install folders too.
ifndef RASA_PY
RASA_PY := $(shell for p in python3.10 $$(pyenv root 2>/dev/null)/versions/3.10*/bin/python3.10; do \
	"$$p" -c 'import sys; assert sys.version_info[:2] == (3, 10)' 2>/dev/null && { command -v "$$p"; break; }; \
	done)
endif

# config.yml is the service's; the port is nlu.rasa.port, 5005 when absent.
RASA_PORT = $(shell $(BIN)/python -c 'import yaml, pathlib; p = pathlib.Path("config.yml"); \
	c = (yaml.safe_load(p.read_text()) if p.exists() else None) or {}; \
	print(((c.get("nlu") or {}).get("rasa") or {}).get("port") or 5005)' 2>/dev/null || echo 5005)

.PHONY: rasa-venv rasa-train rasa-serve rasa-test-deps

rasa-venv: $(RASA_STAMP)

$(RASA_STAMP): $(RASA_REQ)
	@test -n "$(RASA_PY)" || { echo "rasa-venv: no working python3.10 found" >&2; exit 1; }
	test -x $(RASA_VENV)/bin/python || $(RASA_PY) -m venv $(RASA_VENV)
	$(RASA_VENV)/bin/pip install -q --upgrade pip
	$(RASA_VENV)/bin/pip install -q -r $(RASA_REQ)
	touch $(RASA_STAMP)

# Always runs the script: it assembles the inputs (about a second) and retrains only when their hash
# differs from the one the cached model was trained on.
rasa-train: $(RASA_STAMP) $(STAMP)
	scripts/rasa_train.sh

rasa-serve: rasa-train
	RASA_TELEMETRY_ENABLED=false $(RASA_VENV)/bin/rasa run --enable-api -m $(RASA_MODEL) \
		-i 127.0.0.1 -p $(RASA_PORT)

# `make test` checks the Rasa path wherever Python 3.10 exists; elsewhere the rasa tests skip and say why.
rasa-test-deps: $(STAMP)
	@if [ -n "$(RASA_PY)" ]; then $(MAKE) --no-print-directory rasa-train; \
	else echo "rasa: no python3.10 here, the Rasa tests will be skipped"; fi

TEST_DEPS += rasa-test-deps
