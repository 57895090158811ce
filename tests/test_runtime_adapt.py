"""Layers that learn their state from the data before training (Normalization, Discretization,
StringLookup, TextVectorization without their state): the runtime adapts them on the training split
only, in every style; the state survives checkpoints and resuming, the run folder (evaluate gives
the same numbers) and an exported .keras; and `check` refuses one that does not take a model input
(E607), so that check => train holds."""

import json
import os

import numpy as np
import pytest

import tfspec

MIXED = """
model Mixed {
    input v: float32[1]
    input c: string[1]
    input t: string[]
    v -> Normalization() -> n
    c -> StringLookup(max_tokens=5, output_mode="one_hot", pad_to_max_tokens=True) -> s
    t -> TextVectorization(max_tokens=40, output_sequence_length=4) -> Embedding(40, 3) -> GlobalAveragePooling1D() -> e
    [n, s, e] -> Concatenate() -> Dense(2, activation="softmax") -> y
    output y
}

train {
    loss   = SparseCategoricalCrossentropy()
    epochs = 2
    batch  = 4
}
"""

TEXT = """
model Words {
    input t: string[]
    t -> TextVectorization(max_tokens=100, output_sequence_length=3) -> Embedding(100, 4) -> GlobalAveragePooling1D()
      -> Dense(2, activation="softmax")
      -> y
    output y
}

train {
    loss   = SparseCategoricalCrossentropy()
    epochs = 1
    batch  = 4
}
"""

BINS = """
model Bins {
    input v: float32[2]
    v -> Discretization(num_bins=4, output_mode="one_hot") -> Flatten() -> Dense(2, activation="softmax") -> y
    output y
}

train {
    loss   = SparseCategoricalCrossentropy()
    epochs = 1
    batch  = 4
}
"""


@pytest.fixture(scope="module", autouse=True)
def needs_tensorflow():
    pytest.importorskip("tensorflow")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def mixed_data(n=24, shift=0.0, words=("red", "green", "blue"), seed=0):
    rng = np.random.default_rng(seed)
    v = (rng.normal(size=(n, 1)) + shift).astype(np.float32)
    c = np.array([[("a", "b", "c")[i % 3]] for i in range(n)], dtype=object)
    t = np.array([" ".join(rng.choice(words, 3)) for _ in range(n)], dtype=object)
    y = (v[:, 0] > shift).astype(np.int64)
    return (v, c, t), y


# Validation and test rows: a value far beyond the training range, words and a category never seen in training.
UNSEEN = (
    np.array([[1e6], [-1e6]], np.float32),
    np.array([["zzz"], ["a"]], dtype=object),
    np.array(["zebra zebra", "okapi red"], dtype=object),
)


def layers_of(model):
    """{Keras class name: layer} of a model's layers (but the StringLookup inside a TextVectorization)."""
    every = list(model._flatten_layers())
    inner = {id(getattr(layer, "_lookup_layer", None)) for layer in every}
    return {type(layer).__name__: layer for layer in every if id(layer) not in inner}


def tokens(layer):
    return {str(t) for t in layer.get_vocabulary(include_special_tokens=False)}


def train_mixed(style, tmp_path=None, **overrides):
    x, y = mixed_data()
    data = {"train": (x, y), "validation": (UNSEEN, np.array([0, 1])), "test": (UNSEEN, np.array([0, 1]))}
    spec = tfspec.loads(MIXED, filename="mixed.tfs")
    out = str(tmp_path / style) if tmp_path is not None else None
    return tfspec.train(spec, style=style, data=data, seed=1, out_dir=out, **overrides), x


# ---------------------------------------------------------------- the training split only, every style


@pytest.mark.parametrize("style", ["functional", "subclassing"])
def test_layers_adapt_on_the_training_split_only(style):
    result, (v, c, t) = train_mixed(style)
    found = layers_of(result.model)
    norm = found["Normalization"]
    assert np.allclose(norm.mean.numpy().ravel(), [v.mean()], atol=1e-5)  # not pulled towards 1e6
    assert np.allclose(norm.variance.numpy().ravel(), [v.var()], rtol=1e-4)
    assert tokens(found["StringLookup"]) == {"a", "b", "c"}
    assert tokens(found["TextVectorization"]) == {"red", "green", "blue"}
    assert np.isfinite(result.history["val_loss"]).all()


def test_sequential_and_validation_split_keep_the_held_out_rows_out():
    # every row its own word: the vocabulary counts exactly the training rows
    n = 40
    x = np.array([f"w{i} common" for i in range(n)], dtype=object)
    y = np.arange(n) % 2
    spec = tfspec.loads(TEXT, filename="words.tfs")
    for style in ("sequential", "functional", "subclassing"):
        result = tfspec.train(spec, style=style, data=(x, y), seed=3, validation_split=0.25)
        learnt = tokens(layers_of(result.model)["TextVectorization"])
        assert len(learnt) == 30 + 1 and "common" in learnt, style  # 30 training rows' words and "common"
    first = tfspec.train(spec, style="sequential", data=(x, y), seed=3, validation_split=0.25)
    assert tokens(layers_of(first.model)["TextVectorization"]) == learnt  # the same split in every style


def test_discretization_learns_its_boundaries_from_the_training_split(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, size=(40, 2)).astype(np.float32)
    y = (x[:, 0] > 0.5).astype(np.int64)
    far = np.full((4, 2), 100.0, np.float32)
    spec = tfspec.loads(BINS, filename="bins.tfs")
    for style in ("sequential", "functional"):
        data = {"train": (x, y), "validation": (far, y[:4]), "test": (far, y[:4])}
        result = tfspec.train(spec, style=style, data=data, seed=0, out_dir=str(tmp_path / style))
        bins = layers_of(result.model)["Discretization"].bin_boundaries
        assert len(bins) == 3 and max(bins) < 1.0, bins  # quartiles of [0, 1), never near 100
        with open(tmp_path / style / "adapted.json", encoding="utf-8") as f:
            assert json.load(f)["layers"]["discretization"]["bin_boundaries"] == pytest.approx(bins)
        assert tfspec.evaluate(str(tmp_path / style), data=data) == pytest.approx(result.test, abs=1e-6)
    # a subclassed Keras model runs Discretization while it is built, before any data: said in one line
    from tfspec.runtime import TrainingError

    with pytest.raises(TrainingError, match=r"Discretization .discretization. learns .* \(--style functional\)"):
        tfspec.train(spec, style="subclassing", data=(x, y))


def test_a_layer_shared_by_two_inputs_learns_from_both():
    text = """
model Pair {
    input a: string[]
    input b: string[]
    layer words = TextVectorization(max_tokens=50, output_sequence_length=3)
    a -> words -> Embedding(50, 2) -> GlobalAveragePooling1D() -> ea
    b -> words -> Embedding(50, 2) -> GlobalAveragePooling1D() -> eb
    [ea, eb] -> Concatenate() -> Dense(2, activation="softmax") -> y
    output y
}

train {
    loss   = SparseCategoricalCrossentropy()
    epochs = 1
    batch  = 4
}
"""
    spec = tfspec.loads(text, filename="pair.tfs")
    a = np.array(["left side"] * 8, dtype=object)
    b = np.array(["right hand"] * 8, dtype=object)
    result = tfspec.train(spec, data=((a, b), np.arange(8) % 2), seed=0)
    assert tokens(layers_of(result.model)["TextVectorization"]) == {"left", "side", "right", "hand"}


# ---------------------------------------------------------------- the state survives


@pytest.mark.parametrize("style", ["functional", "subclassing"])
def test_the_run_folder_keeps_the_state_as_data(style, tmp_path):
    import keras

    from tfspec import cli
    from tfspec.runs import build_run, open_run

    result, x = train_mixed(style, tmp_path)
    folder = str(tmp_path / style)
    with open(os.path.join(folder, "adapted.json"), encoding="utf-8") as f:
        state = json.load(f)
    assert state["layers"]["string_lookup"]["vocabulary"] == layers_of(result.model)["StringLookup"].get_vocabulary(
        include_special_tokens=False
    )
    assert all(isinstance(w, str) for w in state["layers"]["text_vectorization"]["vocabulary"])
    # reopened from the stored spec, the state put back: the same numbers
    data = {"train": (x, np.zeros(len(x[0]), np.int64)), "test": (UNSEEN, np.array([0, 1]))}
    assert tfspec.evaluate(folder, data=data) == pytest.approx(result.test, abs=1e-6)
    rebuilt = build_run(open_run(folder))
    probe = [x[0][:5], x[1][:5], x[2][:5]]
    np.testing.assert_allclose(rebuilt(probe), result.model(probe), atol=1e-6)
    assert tokens(layers_of(rebuilt)["TextVectorization"]) == {"red", "green", "blue"}
    # exported as .keras: Keras keeps vocabularies as assets, the mean and variance as weights
    target = str(tmp_path / f"{style}.keras")
    assert cli.main(["export", folder, "--format", "keras", "-o", target]) == 0
    loaded = keras.models.load_model(target)
    np.testing.assert_allclose(loaded(probe), result.model(probe), atol=1e-6)
    assert tokens(layers_of(loaded)["StringLookup"]) == {"a", "b", "c"}


def test_an_altered_state_file_is_refused_in_one_line(tmp_path):
    from tfspec.runs import RunFolderError, build_run, open_run

    train_mixed("functional", tmp_path)
    folder = str(tmp_path / "functional")
    path = os.path.join(folder, "adapted.json")
    with open(path, encoding="utf-8") as f:
        state = json.load(f)
    state["layers"]["string_lookup"]["vocabulary"] = [1, 2]
    with open(path, "w", encoding="utf-8") as f:
        json.dump(state, f)
    with pytest.raises(RunFolderError) as info:
        build_run(open_run(folder))
    assert "layer 'string_lookup': vocabulary holds something that is not a string" in str(info.value)
    os.remove(path)
    with pytest.raises(RunFolderError) as info:
        open_run(folder)
    assert "adapted.json' is missing" in str(info.value) and "\n" not in str(info.value)
    manifest = os.path.join(folder, "manifest.json")
    with open(manifest, encoding="utf-8") as f:
        content = json.load(f)
    content["adapted"] = None  # a manifest that hides the state: the lookups would run without a vocabulary
    with open(manifest, "w", encoding="utf-8") as f:
        json.dump(content, f)
    with pytest.raises(RunFolderError, match="names no adapted.json, but the model's layers learnt"):
        build_run(open_run(folder))


def test_resuming_keeps_the_state_the_checkpoints_were_trained_with(tmp_path):
    spec = tfspec.loads(MIXED, filename="mixed.tfs")
    x, y = mixed_data()
    test = (UNSEEN, np.array([0, 1]))
    straight = tfspec.train(spec, data={"train": (x, y), "test": test}, seed=2, epochs=2)
    run = str(tmp_path / "run")
    tfspec.train(spec, data={"train": (x, y), "test": test}, seed=2, epochs=1, out_dir=run)
    assert os.path.isfile(os.path.join(run, "checkpoints", "adapted.json"))
    resumed = tfspec.train(spec, data={"train": (x, y), "test": test}, seed=2, epochs=2, out_dir=run, resume=True)
    probe = [x[0][:6], x[1][:6], x[2][:6]]
    np.testing.assert_allclose(resumed.model(probe), straight.model(probe), atol=1e-5)
    # data of the same size but other values and words: the resumed model keeps what it learnt first
    (v2, c2, t2), _ = mixed_data(shift=50.0, words=("cyan", "teal", "navy"), seed=5)
    tfspec.train(spec, data={"train": (x, y), "test": test}, seed=2, epochs=1, out_dir=run)
    again = tfspec.train(
        spec, data={"train": ((v2, c2, t2), y), "test": test}, seed=2, epochs=2, out_dir=run, resume=True
    )
    found = layers_of(again.model)
    assert tokens(found["TextVectorization"]) == {"red", "green", "blue"}
    norm = found["Normalization"]
    assert np.allclose(norm.adapt_mean.numpy(), [x[0].mean()], atol=1e-5)
    # and it computes with the restored mean (Keras keeps a copy of it beside the weight)
    expected = (2.0 - x[0].mean()) / np.sqrt(x[0].var())
    assert float(norm(np.array([[2.0]], np.float32))[0, 0]) == pytest.approx(expected, rel=1e-4)


# ---------------------------------------------------------------- the compile path: E607


def diagnostics(text):
    with pytest.raises(tfspec.SpecError) as info:
        tfspec.loads(text, filename="bad.tfs")
    return info.value.diagnostics


TRAIN = "\ntrain {\n    loss = mse\n}\n"


def test_an_adapting_layer_after_another_layer_is_refused():
    text = "model M {\n    input x: float32[4]\n    x -> Dense(8) -> Normalization() -> y\n    output y\n}\n" + TRAIN
    (d,) = diagnostics(text)
    assert d.code == "E607" and (d.span.line, d.span.column) == (3, 22)
    assert "Normalization learns its state from the training data" in d.message
    assert "the output of Dense" in d.message and "mean=... and variance=..." in d.hint
    # with its state given it may stand anywhere; without a train section nothing adapts it
    tfspec.loads(text.replace("Normalization()", "Normalization(mean=0.0, variance=1.0)"), filename="ok.tfs")
    tfspec.loads(text.replace(TRAIN, ""), filename="ok.tfs")


def test_an_adapting_layer_inside_a_block_or_shared_by_unlike_inputs_is_refused():
    block = (
        "block Scale() {\n    input x\n    x -> Normalization() -> y\n    output y\n}\n\n"
        "model M {\n    input x: float32[4]\n    x -> Scale() -> y\n    output y\n}\n" + TRAIN
    )
    (d,) = diagnostics(block)
    assert d.code == "E607" and d.span.line == 3 and "inside block Scale" in d.message
    shared = (
        "model M {\n    input a: string[]\n    input b: string[2]\n"
        "    layer lookup = StringLookup()\n    a -> lookup -> x\n    b -> lookup -> z\n"
        "    [x, z] -> Concatenate() -> y\n    output y\n}\n" + TRAIN
    )
    codes = [d.code for d in diagnostics(shared)]
    assert "E607" in codes


def test_two_adapting_layers_in_a_row():
    text = (
        "model M {\n    input t: string[]\n"
        "    t -> TextVectorization(output_sequence_length=4) -> IntegerLookup() -> y\n    output y\n}\n" + TRAIN
    )
    found = [d for d in diagnostics(text) if d.code == "E607"]
    assert len(found) == 1 and "IntegerLookup" in found[0].message
