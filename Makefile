# reprozoo: `make repro` runs the whole graph, `make test` the tests (each sets itself up).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(abspath $(VENV))/bin
export PATH := $(BIN):$(PATH)
# Offline machines: use the data mirror beside the clone when there is one and none is set.
ifeq ($(origin REPROZOO_DATA_MIRROR), undefined)
  ifneq ($(wildcard ../shared/data/README.md),)
    export REPROZOO_DATA_MIRROR := $(abspath ../shared/data)
  endif
endif

.PHONY: setup repro smoke unit test repro-check ui bench graph clean help
help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

# A torch already importable by $(PYTHON) (e.g. a CUDA build) is kept: the venv then sees
# the system site-packages. Otherwise the CPU build torch==2.13.0 goes in first, so that
# nothing later pulls the multi-GB CUDA wheels.
$(VENV)/.installed: pyproject.toml
	@if $(PYTHON) -c "import torch" 2>/dev/null; then \
	  echo "keeping the torch already installed for $(PYTHON)"; \
	  $(PYTHON) -m venv --system-site-packages $(VENV); \
	else \
	  $(PYTHON) -m venv $(VENV) && $(BIN)/python -m pip install -q --upgrade pip && \
	  $(BIN)/python -m pip install torch==2.13.0; \
	fi
	$(BIN)/python -m pip install -q -e ".[test]"
	touch $@

setup: $(VENV)/.installed  ## create .venv and install everything

repro: setup  ## run the whole graph on the profile in params.yaml (default)
	$(BIN)/dvc repro
	@echo "report: reports/README.md   runs: make ui"

smoke: setup  ## the whole graph on the smoke profile, as a DVC experiment
	$(BIN)/dvc exp run -S profile=smoke

unit: setup  ## unit tests only
	$(BIN)/python -m pytest -n 2 -q

test: unit repro-check  ## unit tests, then the reproducibility check

repro-check: setup  ## smoke graph twice from scratch; every output hash must match
	$(BIN)/reprozoo repro-check

ui: setup  ## the MLflow UI on the runs in ./mlflow.db
	$(BIN)/mlflow ui --backend-store-uri sqlite:///$(CURDIR)/mlflow.db --port 5000

bench: setup  ## run every benchmark into reports/bench/
	@for b in benchmarks/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

graph: setup  ## rewrite dvc.yaml from params.yaml and the code's imports
	$(BIN)/python tools/graph.py

clean:  ## remove pipeline outputs (not the venv, not mlflow.db)
	rm -rf data/raw data/processed models reports/train reports/eval reports/metrics .scratch
