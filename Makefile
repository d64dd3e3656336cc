# Two commands for a newcomer: `make demo` and `make test`. Both set up .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo test lint bench mutate clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	$(BIN)/python -m compileall -q compliance  # bytecode, as a regular install has (an editable one does not)
	touch $(STAMP)

demo: setup
	$(BIN)/compliance demo --out reports/demo

lint: setup
	$(BIN)/ruff check compliance tests benchmarks
	$(BIN)/lint-imports  # the layer contract in pyproject.toml

# The tests' temporary folders (~40,000 files, ~230 MB a run: git repositories, report sets, a venv) go
# on tmpfs when /dev/shm is writable with 2 GiB free and TMPDIR is not set: measured side by side on
# 2 cores, 110 -> 96 s and 95 -> 79 s wall, sys time 27 -> 18 s and 21 -> 15 s (disk writes and
# deletes). Elsewhere (a container's 64 MB /dev/shm) nothing changes. pyproject keeps one run's folders.
ifeq ($(origin TMPDIR),undefined)
TEST_TMPDIR = $(shell $(PYTHON) -c 'import os, shutil; d = "/dev/shm"; print(d if os.path.isdir(d) and os.access(d, os.W_OK) and shutil.disk_usage(d).free >= 2 << 30 else "")' 2>/dev/null)
endif

# bytecode caches allowed: with PYTHONDONTWRITEBYTECODE set (as on this machine) every xdist worker
# re-ran pytest's assertion rewrite of all test modules, ~5 s of CPU each, on every run
test: lint
	$(if $(TEST_TMPDIR),TMPDIR=$(TEST_TMPDIR) )PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest

bench: setup
	$(BIN)/python -m benchmarks

mutate: setup
	$(BIN)/python -m pip install --quiet -e '.[test,mutate]'
	HYPOTHESIS_PROFILE=thorough $(BIN)/mutmut run --max-children 2  # about an hour on 2 cores; `mutmut results` lists the survivors

clean:
	rm -rf $(VENV) reports/demo .pytest_cache mutants
