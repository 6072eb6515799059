# reprozoo: `make repro` runs the whole graph, `make test` the tests (each sets itself up).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(abspath $(VENV))/bin
BASE_PATH := $(PATH)
export PATH := $(BIN):$(PATH)
# Offline machines: use the data mirror beside the clone when there is one and none is set.
ifeq ($(origin REPROZOO_DATA_MIRROR), undefined)
  ifneq ($(wildcard ../shared/data/README.md),)
    export REPROZOO_DATA_MIRROR := $(abspath ../shared/data)
  endif
endif

.PHONY: setup lock repro smoke unit team-tests test repro-check ui ui-screenshots bench bench-gpu bench-gpu-tiny graph clean help
help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

# A torch already importable by $(PYTHON) (e.g. a CUDA build) is kept: the venv then sees
# the system site-packages (if $(PYTHON) is itself in an activated venv, the new venv sees
# only the base interpreter's packages; the check after it installs torch then). Otherwise the CPU build torch==2.13.0 goes in first, so that
# nothing later pulls the multi-GB CUDA wheels.
# Everything else comes from requirements.lock: exact versions, every file's hash checked
# (pip --require-hashes). torch is not in the lock: its CPU and CUDA builds are different
# files of one version, so it is pinned by version here and its build is the machine's.
$(VENV)/.installed: pyproject.toml requirements.lock
	@if [ -x $(BIN)/python ]; then \
	  echo "updating the existing $(VENV)"; \
	elif PATH="$(BASE_PATH)" $(PYTHON) -c "import torch" 2>/dev/null; then \
	  echo "keeping the torch already installed for $(PYTHON)"; \
	  PATH="$(BASE_PATH)" $(PYTHON) -m venv --system-site-packages $(VENV); \
	  $(BIN)/python -c "import torch" 2>/dev/null || { \
	    echo "$(PYTHON) runs in another venv, whose torch a new venv cannot see: installing torch==2.13.0"; \
	    $(BIN)/python -m pip install -q --upgrade pip && $(BIN)/python -m pip install torch==2.13.0; }; \
	else \
	  PATH="$(BASE_PATH)" $(PYTHON) -m venv $(VENV) && $(BIN)/python -m pip install -q --upgrade pip && \
	  $(BIN)/python -m pip install torch==2.13.0; \
	fi
	$(BIN)/python -m pip install -q --require-hashes -r requirements.lock
	$(BIN)/python -m pip install -q --no-deps --no-build-isolation -e .
	touch $@

setup: $(VENV)/.installed  ## create .venv and install everything (from requirements.lock)

lock: setup  ## re-resolve requirements.lock from pyproject.toml (newest versions, with hashes)
	$(BIN)/python -m pip install -q pip-tools
	CUSTOM_COMPILE_COMMAND="make lock" $(BIN)/pip-compile -q --upgrade --generate-hashes \
	  --extra test --unsafe-package torch --no-emit-index-url --no-emit-find-links \
	  --strip-extras -o requirements.lock pyproject.toml
	@echo "requirements.lock updated: run make setup, then make repro (every stage depends on it)"

repro: setup  ## run the whole graph on the profile in params.yaml (default)
	$(BIN)/dvc repro
	@echo "report: reports/README.md   runs: make ui"

smoke: setup  ## the whole graph on the smoke profile, as a DVC experiment
	$(BIN)/dvc exp run -S profile=smoke

LOCAL_TESTS := $(BIN)/python -m pytest -n 2 -q -m "not team" --durations=12
# the team tests run in one process: they share one set of services
TEAM_TESTS  := $(BIN)/python -m pytest -q -m team --durations=5

unit: setup  ## unit tests only (each run ends with its slowest tests: where the time goes)
	$(LOCAL_TESTS)
	$(TEAM_TESTS)

team-tests: setup  ## the team tests alone (PostgreSQL, MLflow server, SSH remote, queue, DDP, browser)
	$(TEAM_TESTS)

# The team tests and the reproducibility check run side by side: each leaves a core idle
# much of the time (services starting, one-thread stages), and neither touches the other's
# files or ports. Their lines interleave, each line whole.
test: setup  ## unit tests, then the team tests beside the reproducibility check
	$(LOCAL_TESTS)
	$(MAKE) --no-print-directory -j2 --output-sync=line team-tests repro-check

repro-check: setup  ## smoke graph from scratch; every output hash must match the reference's (twice on another CPU class)
	$(BIN)/reprozoo repro-check

ui-screenshots: setup  ## refresh reports/ui/*.png: the browser test's views of the MLflow UI (needs chromium)
	REPROZOO_UI_SCREENSHOTS=$(CURDIR)/reports/ui $(BIN)/python -m pytest -q tests/test_ui.py

ui: setup  ## the MLflow UI on the runs in ./mlflow.db
	@$(BIN)/python -c "import sqlite3, sys; db = sqlite3.connect('file:mlflow.db?mode=ro', uri=True); row = db.execute(\"select experiment_id from experiments where name = 'reprozoo'\").fetchone(); print('runs table: http://127.0.0.1:5000/#/experiments/' + (str(row[0]) + '/runs' if row else ' (no runs yet: dvc repro first)') + '  (every family in one experiment: filter tags.family = \"cnn\", tick runs and Compare)')" 2>/dev/null || echo "runs table: http://127.0.0.1:5000/#/experiments (no ./mlflow.db yet: dvc repro first)"
	$(BIN)/mlflow ui --backend-store-uri sqlite:///$(CURDIR)/mlflow.db --port 5000

bench: setup  ## run every CPU benchmark into reports/bench/ (bench-gpu: its own target)
	@for b in benchmarks/*.py; do [ $$b = benchmarks/gpu.py ] && continue; echo "== $$b"; $(BIN)/python $$b || exit 1; done

bench-gpu: setup  ## full profile of the torch families on the GPU (CPU if none) in <= 15 min: reports/bench/gpu-<device>.json
	$(BIN)/python benchmarks/gpu.py $(BENCH_GPU_ARGS)

bench-gpu-tiny: setup  ## the same on CPU with tiny schedules (a few minutes; writes .scratch/gpu-tiny-cpu.json)
	$(BIN)/python benchmarks/gpu.py --tiny

graph: setup  ## rewrite dvc.yaml from params.yaml and the code's imports
	$(BIN)/python tools/graph.py

clean:  ## remove pipeline outputs (not the venv, not mlflow.db)
	rm -rf data/raw data/processed models reports/train reports/eval reports/metrics .scratch

# Team mode (docs/team.md): PostgreSQL + MLflow server (basic auth) + sshd DVC remote in .team/.
.PHONY: team-up team-down team-status
team-up: setup  ## start the team services (installs what is missing), write .team/env
	$(BIN)/python tools/team.py up

team-down:  ## stop the team services (their data stays in .team/)
	$(BIN)/python tools/team.py down

team-status:  ## which team services run
	@$(BIN)/python tools/team.py status
