# tfspec: `make demo` and `make test` work on a fresh machine with Python 3.11+ and make.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml plugins/tfspec-example/pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: setup test demo golden bench fuzz faults lint clean graphviz neovim

$(STAMP): pyproject.toml plugins/tfspec-example/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[tf-cpu,dev,tune]"
	$(BIN)/python -m pip install -q -e plugins/tfspec-example   # the example plugin (specs/vae.tfs uses it)
	# Keras 2 (tf-keras, of the installed TensorFlow's version; without its TensorFlow dependency, which is
	# tensorflow-cpu here) writes the legacy .h5 and JSON files that tests/test_import_keras2.py imports.
	$(BIN)/python -m pip install -q --no-deps "tf-keras==$$($(BIN)/python -c 'from importlib.metadata import version; print(version("tensorflow-cpu"))')" \
	  || echo "note: tf-keras not installed; the Keras 2 import tests will be skipped"
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

setup: $(STAMP)

# Graphviz renders `tfspec graph` pictures; best effort (the render tests skip without it).
graphviz:
	@command -v dot >/dev/null 2>&1 || { command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq graphviz >/dev/null) ; } || \
	  echo "note: Graphviz not installed; graph render tests will be skipped"

# Neovim runs the language server in a real editor (tests/test_editors_neovim.py); best effort too.
neovim:
	@command -v nvim >/dev/null 2>&1 || { command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq neovim >/dev/null) ; } || \
	  echo "note: Neovim not installed; the editor test will be skipped"

# On every core (pytest-xdist; up to 4 processes, each file's tests in one of them, so a module's
# fixtures are made once). One process: $(BIN)/python -m pytest -q
test: $(STAMP) graphviz neovim
	$(BIN)/python -m pytest -q -p no:cacheprovider -n auto --maxprocesses 4 --dist loadfile

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
	$(BIN)/python benchmarks/bench_train.py  # Keras-on-JAX columns need: $(BIN)/pip install -e ".[bench]"
	$(BIN)/python benchmarks/bench_data.py
	$(BIN)/python benchmarks/bench_lsp.py

# Every keras.applications model through `tfspec import` and back (20-40 minutes): a table on
# stdout, the figures in build/bench/import.json.
.PHONY: bench-import
bench-import: $(STAMP)
	@mkdir -p build/bench
	$(BIN)/python benchmarks/bench_import.py --markdown --output build/bench/import.json


fuzz: $(STAMP)
	$(BIN)/python -m tests.fuzz --count 20000 --models 200

faults: $(STAMP)
	$(BIN)/python -m tests.faults --runs 4
	$(BIN)/python -m tests.trust
	$(BIN)/python -m tests.train_campaign --count 1000

lint: $(STAMP)
	$(BIN)/ruff check tfspec tests benchmarks
	$(BIN)/ruff format --check tfspec tests benchmarks

clean:
	rm -rf build dist runs .pytest_cache
