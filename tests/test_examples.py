"""Every example spec in specs/ loads, and trains offline out of the box -- but the model-only
specs (MODEL_ONLY): reference architectures whose data no package ships, kept to show and test the
language (tests/test_architectures.py compares each with its Keras reference).

Specs whose data ship with tfspec (specs/data/, the bundled digits) train one short epoch on the
first rows of that very data, through the shared runtime, to a finite loss: a spec that names a
missing file, or data that does not fit its model (input length, vocabulary, labels, outputs),
fails here. Specs that name a `keras.datasets` set must fail offline with the runtime's one-line
DataError saying how to fetch the set.
"""

from __future__ import annotations

import math
import os
import re

import pytest

import tfspec

from .helpers import ROOT, SPECS, quiet_tensorflow

pytestmark = pytest.mark.slow

DATA = os.path.join(ROOT, "specs", "data")
SHIPPED = ("digits", "npz", "csv")
KERAS_SETS = ("mnist", "fashion_mnist", "cifar10", "cifar100")
ROWS = 40  # per spec: 40 rows, batch 8 -> 3 steps after the test and validation splits
# Model-only specs, and why no data comes with them.
MODEL_ONLY = {
    "seq2seq.tfs": "English-French sentence pairs (fra-eng) do not ship",
    "transformer_classifier.tfs": "IMDB reviews (keras.datasets.imdb) are not a data source yet",
    "mobilenetv3_block.tfs": "one block on a feature map, no head to train",
    "inverted_residual.tfs": "three blocks on a feature map, no head to train",
    "siamese.tfs": "no image pairs ship",
}
TRAINED = [p for p in SPECS if os.path.basename(p) not in MODEL_ONLY]


def source(path):
    return tfspec.load(path).training["data"]["source"]


def names(kind):
    return [os.path.basename(p) for p in TRAINED if source(p) in kind]


def spec_file(name):
    return os.path.join(ROOT, "specs", name)


@pytest.mark.parametrize("name", sorted(MODEL_ONLY))
def test_model_only_specs_say_so_and_train_refuses_them_in_one_line(name):
    spec = tfspec.load(spec_file(name))
    assert spec.training is None, f"{name} has a train section: take it out of MODEL_ONLY"
    with open(spec_file(name), encoding="utf-8") as handle:
        assert "No train section" in handle.read(), f"{name}: its header should say why it has no train section"
    from tfspec.cli import main

    assert main(["train", spec_file(name)]) != 0


@pytest.mark.parametrize("name", [os.path.basename(p) for p in TRAINED])
def test_every_spec_loads_and_names_its_data(name):
    spec = tfspec.load(spec_file(name))
    assert spec.training is not None, f"{name} has no train section"
    data = spec.training.get("data")
    assert data is not None, f"{name} names no data: it cannot train out of the box"
    assert data["source"] in SHIPPED + KERAS_SETS
    if "path" in data:
        assert os.path.isfile(os.path.join(ROOT, "specs", data["path"])), f"{name}: {data['path']} is missing"


def test_every_spec_is_accounted_for():
    assert sorted(names(SHIPPED) + names(KERAS_SETS)) == sorted(os.path.basename(p) for p in TRAINED)
    assert len(names(SHIPPED)) >= 6  # digits x2, deep_mlp, lstm_text, shared_embedding, text_attention


@pytest.mark.parametrize("name", names(SHIPPED))
def test_specs_with_shipped_data_train(name):
    quiet_tensorflow()
    from tfspec.training import train_run

    spec = tfspec.load(spec_file(name))
    data = {**spec.training["data"], "limit": ROWS}
    result = train_run(spec, data=data, epochs=1, steps_per_call=1, batch_size=8, seed=0)
    losses = result.history["loss"]
    assert len(losses) == 1 and math.isfinite(losses[0]), f"{name}: loss {losses}"
    assert result.steps >= 1
    assert result.test is not None and math.isfinite(result.test["loss"])


@pytest.mark.parametrize("name", names(KERAS_SETS))
def test_keras_dataset_specs_fail_offline_saying_how_to_fetch(name, tmp_path, monkeypatch):
    quiet_tensorflow()
    from tfspec.runtime import DataError
    from tfspec.training import train_run

    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    dataset = source(spec_file(name))
    with pytest.raises(DataError) as caught:
        train_run(spec_file(name), epochs=1, steps_per_call=1)
    message = str(caught.value)
    assert "\n" not in message
    assert f"keras.datasets.{dataset}.load_data()" in message
    assert "KERAS_HOME" in message and str(tmp_path) in message
    assert not os.listdir(tmp_path), "nothing is downloaded or written while failing"


def test_shipped_data_is_small_and_documented():
    files = sorted(f for f in os.listdir(DATA) if f.endswith((".npz", ".csv")))
    total = sum(os.path.getsize(os.path.join(DATA, f)) for f in files)
    assert total < 4 * 1024 * 1024, f"specs/data holds {total:,} bytes of data"
    with open(os.path.join(DATA, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    for name in files:
        row = next((line for line in readme.splitlines() if line.startswith(f"| `{name}`")), None)
        assert row is not None, f"{name} is not described in specs/data/README.md"
        assert re.search(r"CC BY 4\.0|CC BY-SA 3\.0|CC0|public domain|MIT", row), (
            f"{name}: no licence in its README row"
        )


def test_spec_headers_name_their_data_file():
    for path in TRAINED:
        data = tfspec.load(path).training["data"]
        if "path" in data:
            with open(path, encoding="utf-8") as f:
                header = "".join(line for line in f if line.startswith("#"))
            assert os.path.basename(data["path"]) in header, f"{path}: its comment does not say what its data are"
