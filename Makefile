# Two commands for a new user: `make demo` and `make test`. Both set up .venv/ first.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test test-long bench lint solutions clean

install: $(STAMP)

# torch is pinned to the local CPU wheel and installed *before* the project, so the
# project's looser torch requirement is already satisfied (no CUDA download).
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

demo: install
	$(BIN)/mapper solve resnet50 --hw hardware/nnbaton-case-study.yaml --resolution 224 --report reports/demo-resnet50.md

# The quick suite (a few minutes on 2 cores): tests marked `slow` are left out and each
# random-case sweep runs one seed (tests/conftest.py).
test: install
	$(BIN)/python -m pytest -q

# The long suite (CI runs it after `make test`): the slow whole-zoo and whole-system
# sweeps, and every seed of the random-case sweeps.
test-long: install
	MAPPER_TEST_SEEDS=all $(BIN)/python -m pytest -q -m "slow or seeds"

# The committed reference results: every zoo model at 224 and 512 on both bundled
# hardware files, solved afresh (no store), with the reports (solutions/README.md).
solutions: install
	$(BIN)/mapper zoo --all --hw nnbaton-case-study simba-4chiplet --resolution 224 512 --no-store --quiet --out solutions

bench: install
	$(BIN)/python bench/enumerate_zoo.py

lint: install
	$(BIN)/python -m pip install --quiet ruff
	$(BIN)/ruff check mapper models tests bench

clean:
	rm -rf $(VENV) reports .pytest_cache
