# tfspec: `make demo` and `make test` work on a fresh machine with Python 3.11+ and make.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: setup test demo golden bench fuzz lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[tf-cpu,dev]"
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

setup: $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider

demo: $(STAMP)
	$(BIN)/tfspec check specs/*.tfs
	$(BIN)/tfspec summary specs/digits_cnn.tfs
	$(BIN)/tfspec build specs/digits_cnn.tfs --style all -o build/demo/
	$(BIN)/tfspec train specs/digits_cnn.tfs --style subclassing --out runs/digits_cnn

golden: $(STAMP)
	$(BIN)/python -m tests.regen_golden

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_check.py
	$(BIN)/python benchmarks/bench_build.py
	$(BIN)/python benchmarks/bench_train.py

lint: $(STAMP)
	$(BIN)/ruff check tfspec tests benchmarks
	$(BIN)/ruff format --check tfspec

clean:
	rm -rf build dist runs .pytest_cache
