# Trackcast developer commands. Every target bootstraps its own .venv on first use.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test bench lint eval-mot forecaster-eval clean

$(STAMP): pyproject.toml scripts/install.sh
	scripts/install.sh $(VENV) dev
	touch $(STAMP)

## run: start the service on $(HOST):$(PORT) with the models shipped in models/
run: $(STAMP)
	$(VENV)/bin/trackcast serve --host $(HOST) --port $(PORT)

## test: the whole test suite (real detector, real server, real browser)
test: $(STAMP)
	$(PY) -m pytest

## bench: benchmarks; results go to bench/results/
bench: $(STAMP)
	$(PY) -m bench.run

## lint: ruff, mypy and hadolint
lint: $(STAMP)
	$(VENV)/bin/ruff check app tests bench
	$(VENV)/bin/mypy app
	$(VENV)/bin/hadolint Dockerfile

## eval-mot: Trackcast vs Ultralytics' trackers on PETS09-S2L1
eval-mot: $(STAMP)
	$(VENV)/bin/trackcast eval-mot compare ../shared/data/mot/PETS09-S2L1

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
