"""`tfspec import` v2: keras.ops calls become tensor expressions, and repeated sub-graphs fold into
parametric blocks (`Residual(64) * 2`); `--flat` keeps one statement per Keras layer. Every folded
spec is checked against the Keras model it came from: parameters and outputs, in every style."""

from __future__ import annotations

import json

import numpy as np
import pytest

from .helpers import quiet_tensorflow

quiet_tensorflow()
keras = pytest.importorskip("keras")
layers = keras.layers
ops = keras.ops

import tfspec  # noqa: E402
from tfspec.backends import allowed_styles  # noqa: E402
from tfspec.tools.importer import copy_weights, import_config  # noqa: E402


def randomised(model, seed=0):
    """Every 1-D weight (biases, BatchNormalization's statistics) drawn afresh, so that outputs
    depend on all of them."""
    rng = np.random.default_rng(seed)
    for w in model.weights:
        if len(w.shape) == 1:
            w.assign(rng.uniform(0.5, 1.5, w.shape).astype("float32"))
    for layer in model._flatten_layers():
        if isinstance(layer, layers.Normalization):
            layer.finalize_state()  # its mean and variance as the weights now say, as adapt() leaves them
    return model


def assert_round_trip(original, text_check=None, flat=False):
    imported = import_config(json.loads(original.to_json()), "model.keras", flat=flat)
    if text_check:
        text_check(imported.text)
    rng = np.random.default_rng(1)
    inputs = original.inputs
    xs = [rng.standard_normal((2, *t.shape[1:])).astype("float32") for t in inputs]
    x = xs[0] if len(xs) == 1 else xs
    expected = np.asarray(original(x, training=False))
    styles = allowed_styles(imported.spec)
    assert {"functional", "subclassing"} <= set(styles)
    for style in styles:
        model = tfspec.build(imported.spec, style)
        assert model.count_params() == original.count_params(), style
        copy_weights(original, imported.spec, model, style)
        np.testing.assert_allclose(np.asarray(model(x, training=False)), expected, rtol=0, atol=1e-5)
    return imported.text


def residual_net():
    """Three residual units of two widths, each an Add of its input and a conv stack."""
    x = inputs = keras.Input((8, 8, 16))
    for i, filters in enumerate((16, 16, 16)):
        y = layers.Conv2D(filters, 3, padding="same", name=f"unit{i}_conv1")(x)
        y = layers.BatchNormalization(name=f"unit{i}_bn")(y)
        y = layers.ReLU(name=f"unit{i}_relu")(y)
        y = layers.Conv2D(16, 3, padding="same", name=f"unit{i}_conv2")(y)
        x = layers.Add(name=f"unit{i}_add")([x, y])
    for i, filters in enumerate((32, 48, 64, 80, 96)):
        x = layers.Conv2D(filters, 1, strides=2, name=f"down{i}_conv")(x)
        x = layers.BatchNormalization(name=f"down{i}_bn")(x)
        x = layers.ReLU(name=f"down{i}_relu")(x)
    x = layers.Conv2D(8, 1, name="top_conv")(x)
    x = layers.GlobalAveragePooling2D(name="pool")(x)
    return randomised(keras.Model(inputs, layers.Dense(3, name="head")(x), name="residual_net"))


def test_repeats_fold_into_blocks_with_parameters():
    def check(text):
        assert "block ResidualUnitBlock() {" in text  # named after the words unit0_conv1, unit0_bn, ... share
        assert "-> ResidualUnitBlock() * 3" in text  # consecutive, equal arguments: one step
        assert "block DownBlock(filters) {" in text  # what differs between the repeats: a parameter
        assert "-> DownBlock(32)" in text and "-> DownBlock(96)" in text
        assert 'name="unit0_conv1"' not in text  # folded layers are unnamed
        assert 'Dense(3, name="head")' in text  # the others keep their names

    assert_round_trip(residual_net(), check)


def test_weights_load_into_every_style_from_the_files_import_writes(tmp_path):
    """A subclassed model numbers the Conv2D layers it holds itself (top_conv: layers/conv2d_5),
    a functional one all of them (the blocks' too): the subclassing style gets a file of its own."""
    from tfspec.cli import main

    original = residual_net()
    original.save(tmp_path / "m.keras")
    assert main(["import", str(tmp_path / "m.keras"), "-o", str(tmp_path / "m.tfs"), "--weights"]) == 0
    assert sorted(p.name for p in tmp_path.glob("*.weights.h5")) == ["m.subclassing.weights.h5", "m.weights.h5"]
    spec = tfspec.load(tmp_path / "m.tfs")
    x = np.random.default_rng(3).standard_normal((2, 8, 8, 16)).astype("float32")
    expected = np.asarray(original(x, training=False))
    for style, file in (("functional", "m.weights.h5"), ("subclassing", "m.subclassing.weights.h5")):
        model = tfspec.build(spec, style)
        model.load_weights(str(tmp_path / file))
        np.testing.assert_allclose(np.asarray(model(x, training=False)), expected, atol=1e-5)


def test_flat_keeps_one_statement_per_layer():
    def check(text):
        assert "block " not in text
        assert 'name="unit0_conv1"' in text and 'name="unit2_add"' in text

    assert_round_trip(residual_net(), check, flat=True)


def test_multiples_of_a_parameter_are_written_so():
    x = inputs = keras.Input((4, 4, 8))
    for i, width in enumerate((8, 16, 24, 32, 40)):
        x = layers.Conv2D(4 * width, 1, name=f"stage{i}_expand")(x)
        x = layers.ReLU(name=f"stage{i}_relu")(x)
        x = layers.Conv2D(width, 1, name=f"stage{i}_project")(x)
    model = randomised(keras.Model(inputs, x))

    def check(text):
        assert "Conv2D(4 * filters, 1)" in text
        assert "-> StageBlock(8)" in text and "-> StageBlock(40)" in text

    assert_round_trip(model, check)


def test_operations_become_tensor_expressions():
    x = keras.Input((6, 4))
    tokens = keras.Input((6,), dtype="int32")
    gate = ops.relu6(layers.Dense(4, name="gate_logits")(x) + 3.0) / 6.0
    scaled = x * gate
    first = scaled[:, 0]
    mean = ops.mean(scaled, axis=1)
    joined = ops.concatenate([first, mean], axis=-1)
    steps = layers.Embedding(6, 8, name="steps")(ops.cumsum(ops.ones_like(tokens, dtype="int32"), axis=1) - 1)
    out = layers.Dense(2, name="out")(joined) + ops.sum(steps, axis=(1, 2))[:, None]
    model = randomised(keras.Model([x, tokens], out))

    def check(text):
        assert "relu6(gate_logits + 3.0) / 6.0" in text  # one expression: each part read once
        assert "[:, 0]" in text and "mean(" in text and "axis=1" in text
        assert "concatenate([" in text
        assert "positions(" in text  # Keras's cumsum(ones_like(x)) - 1, read back as written
        assert "Add()" not in text  # `a + b` on tensors is an operation, not an Add layer

    imported = import_config(json.loads(model.to_json()), "m.keras")
    check(imported.text)
    rng = np.random.default_rng(2)
    xs = [rng.standard_normal((2, 6, 4)).astype("float32"), rng.integers(0, 5, (2, 6)).astype("int32")]
    expected = np.asarray(model(xs, training=False))
    for style in allowed_styles(imported.spec):
        built = tfspec.build(imported.spec, style)
        copy_weights(model, imported.spec, built, style)
        np.testing.assert_allclose(np.asarray(built(xs, training=False)), expected, atol=1e-5)


def test_an_operation_without_a_spec_form_is_refused_with_its_name():
    from tfspec.tools.importer import ImportFailure

    x = inputs = keras.Input((4,))
    model = keras.Model(inputs, ops.cumsum(x, axis=1))
    with pytest.raises(ImportFailure, match=r"keras.ops.cumsum has no spec form"):
        import_config(json.loads(model.to_json()), "m.keras")


@pytest.mark.slow
def test_resnet50_reads_like_a_spec_a_person_wrote():
    """ResNet50 in at most 90 lines, still the model (parameters and outputs, both styles);
    tests/test_import_applications.py holds the other line targets."""
    model = randomised(keras.applications.ResNet50(weights=None, classes=10, input_shape=(32, 32, 3)))
    text = assert_round_trip(model)
    assert len(text.splitlines()) <= 90
    assert "-> ResidualConvBlock(256) * 5" in text
    keras.backend.clear_session()


def test_a_loss_term_comes_back_as_add_loss(tmp_path, example_plugin):
    """specs/vae.tfs: its KL term is keras.ops arithmetic, added by the AddLoss layer the generated
    code defines; the import reads both back (`kl = ...`, `add_loss kl`), in a process that has
    not registered that class too (a stand-in of tfspec's own; the file's code never runs)."""
    from tfspec.cli import main

    from .helpers import spec_path

    spec = tfspec.load(spec_path("vae"))
    original = tfspec.build(spec, "functional")
    original.save(tmp_path / "vae.keras")
    assert main(["import", str(tmp_path / "vae.keras"), "-o", str(tmp_path / "vae.tfs"), "--weights"]) == 0
    text = (tmp_path / "vae.tfs").read_text(encoding="utf-8")
    assert "add_loss kl" in text and "kl = -0.5 * sum(" in text
    imported = tfspec.load(tmp_path / "vae.tfs")
    x = np.random.default_rng(4).uniform(0, 1, (3, 28, 28, 1)).astype("float32")
    original(x, training=False)
    for style in allowed_styles(imported):
        model = tfspec.build(imported, style)
        assert model.count_params() == original.count_params()
        model.load_weights(str(tmp_path / "vae.weights.h5"))
        model(x, training=False)
        np.testing.assert_allclose(float(model.losses[0]), float(original.losses[0]), rtol=1e-6)


def test_a_nested_argument_that_differs_is_a_parameter_too():
    x = inputs = keras.Input((6,))
    for i, factor in enumerate((0.01, 0.02, 0.03, 0.04, 0.05)):
        x = layers.Dense(6, kernel_regularizer=keras.regularizers.L2(factor), name=f"layer{i}_dense")(x)
        x = layers.ReLU(name=f"layer{i}_relu")(x)
        x = layers.Dropout(0.1, name=f"layer{i}_dropout")(x)
    model = randomised(keras.Model(inputs, x))

    def check(text):
        assert "block LayerBlock(l2) {" in text and "kernel_regularizer=L2(l2)" in text
        assert "-> LayerBlock(0.01)" in text and "-> LayerBlock(0.05)" in text

    assert_round_trip(model, check)


@pytest.mark.slow
def test_random_v2_models_come_back():
    """Random models of language v2 (tests/fuzz.py), built in Keras and imported back, folded and
    flat: the same model in every style, or a clean refusal (a tensor listed twice as an output)."""
    from . import fuzz

    counts = fuzz.import_campaign(40, seed=3)
    assert not counts["failures"], counts["failures"][:1]
    assert counts["round_trips"] >= 120 and counts["refused"] <= 8, counts


def test_a_long_run_of_operations_is_split_into_named_steps():
    """100 times `x * 1.01 + 0.5`: at most 12 operations in one expression, so no statement
    grows without bound (nor does the printer's recursion); still the same model, flat too."""
    x = inputs = keras.Input((4,))
    for _ in range(100):
        x = x * 1.01 + 0.5
    model = keras.Model(inputs, layers.Dense(2, name="head")(x))

    def check(text):
        statements = [line for line in text.splitlines() if " = " in line]
        assert statements and all(line.count("*") + line.count("+") <= 12 for line in statements)
        assert "-> OpsBlock() * 4" in text  # and the repeated statements fold like layers do

    assert_round_trip(model, check)
    assert_round_trip(model, lambda text: len([line for line in text.splitlines() if " = " in line]) >= 200 // 12, True)


def test_thousands_of_chained_operations_import_without_recursing():
    """A config Keras itself could not build (it recurses): 3,000 operations in one chain."""

    def ref(name):
        return {"class_name": "__keras_tensor__", "config": {"shape": [None, 4], "keras_history": [name, 0, 0]}}

    entries = [{"class_name": "InputLayer", "config": {"batch_shape": [None, 4], "name": "x"}, "inbound_nodes": []}]
    entries[0]["name"] = "x"
    previous = "x"
    for i in range(3000):
        node = {"args": [ref(previous), 1.0], "kwargs": {}}
        entries.append(
            {"module": "keras.src.ops.numpy", "class_name": "Add", "config": {"name": f"add_{i}"}, "name": f"add_{i}"}
        )
        entries[-1]["inbound_nodes"] = [node]
        previous = f"add_{i}"
    config = {"class_name": "Functional", "config": {"name": "deep", "layers": entries}}
    config["config"]["input_layers"], config["config"]["output_layers"] = [["x", 0, 0]], [[previous, 0, 0]]
    imported = import_config(config, "deep.json")
    assert max(line.count("+") for line in imported.text.splitlines()) <= 12
