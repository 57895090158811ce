"""`tfspec import` of older models: legacy HDF5 files (`model.save("m.h5")`) and `to_json()`
configs written by Keras 2 (tf-keras, `import tf_keras`), and HDF5 files Keras 3 writes.

The Keras 2 files are written here by real Keras 2 models. Each import builds in every style the
spec allows with the Keras 2 model's parameter count and, with the --weights file made from the
.h5 file, its outputs. The .h5 file and the to_json() config of a model give the same spec.
Refusals (damaged files, weights-only files, Lambda layers) exit 1 with one line and write nothing.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from .helpers import as_list, quiet_tensorflow, sample_inputs

quiet_tensorflow()
keras = pytest.importorskip("keras")
h5py = pytest.importorskip("h5py")

import tfspec  # noqa: E402
from tfspec.backends import allowed_styles  # noqa: E402
from tfspec.cli import main  # noqa: E402
from tfspec.tools.importer import import_config, import_file  # noqa: E402

from .test_import import import_cli  # noqa: E402


@pytest.fixture(scope="module")
def k2():
    """Keras 2 (the tf-keras package); its tests are skipped without it."""
    return pytest.importorskip("tf_keras")


# -- helpers -------------------------------------------------------------------------------------


def assert_same_outputs(original, spec, weights):
    """Each allowed style: the original's parameter count, and its outputs with the weights file."""
    x = sample_inputs(spec)
    expected = as_list(original(x, training=False))
    styles = allowed_styles(spec)
    assert styles
    for style in styles:
        model = tfspec.build(spec, style)
        assert model.count_params() == original.count_params(), style
        model.load_weights(str(weights))
        got = as_list(model(x, training=False))
        assert len(got) == len(expected), style
        for a, b in zip(got, expected):
            assert a.shape == b.shape, style
            assert np.max(np.abs(a - b)) <= 1e-5, style
    return styles


def body(text: str) -> str:
    """A spec without its first line (which names the file it was imported from)."""
    return text.split("\n", 1)[1]


# -- Keras 2 models ------------------------------------------------------------------------------


def mlp(k2):
    L = k2.layers
    return k2.Sequential(
        [
            L.Dense(8, activation="relu", input_shape=(5,), kernel_regularizer=k2.regularizers.l2(1e-3)),
            L.Dropout(0.1),
            L.LeakyReLU(0.2),
            L.Dense(3, kernel_initializer="he_normal"),
        ],
        name="mlp",
    )


def cnn(k2):
    L = k2.layers
    x = k2.Input((8, 8, 3), name="image")
    y = L.Conv2D(4, 3, padding="same", kernel_regularizer=k2.regularizers.l2(1e-4))(x)
    y = L.BatchNormalization()(y)
    y = L.Activation("relu")(y)
    skip = L.Conv2D(4, 1, kernel_constraint=k2.constraints.MaxNorm(3.0))(x)
    y = L.Add()([y, skip])
    y = L.GlobalAveragePooling2D()(y)
    return k2.Model(x, L.Dense(3, activation="softmax")(y), name="residual_cnn")


def two_inputs(k2):
    L = k2.layers
    a, b = k2.Input((4,), name="a"), k2.Input((5,), name="b")
    joined = L.Concatenate()([L.Dense(3, name="left")(a), b])
    return k2.Model([a, b], [L.Dense(2, name="first")(joined), L.Dense(1, name="second")(joined)], name="pair")


def nested(k2):
    """A Sequential model applied once and a functional one applied twice (shared weights): in a
    Keras 2 config their nodes count from 1."""
    L = k2.layers
    t = k2.Input((4,), name="t")
    tower = k2.Model(t, L.Dense(3, activation="tanh", name="proj")(t), name="tower")
    head = k2.Sequential([L.Dense(6, activation="relu", input_shape=(3,)), L.Dense(2)], name="head")
    a, b = k2.Input((4,), name="a"), k2.Input((4,), name="b")
    return k2.Model([a, b], head(L.Add()([tower(a), tower(b)])), name="nested")


def text(k2):
    L = k2.layers
    return k2.Sequential(
        [k2.Input((6,), dtype="int32", name="tokens"), L.Embedding(20, 8), L.LSTM(5), L.Dense(2)],
        name="text",
    )


def convs(k2):
    """Layers whose Keras 2 configs hold arguments Keras 3 dropped (groups, an unused kernel_*,
    SpatialDropout's noise_shape) or writes differently (a one-item axis list)."""
    L = k2.layers
    x = k2.Input((8, 8, 3), name="img")
    y = L.SeparableConv2D(4, 3)(x)
    y = L.Conv2DTranspose(2, 3, strides=2)(y)
    y = L.DepthwiseConv2D(3)(y)
    y = L.LayerNormalization()(y)
    y = L.ReLU(max_value=6.0)(y)
    y = L.SpatialDropout2D(0.1)(y)
    return k2.Model(x, L.Flatten()(y), name="convs")


def wrappers(k2):
    """Wrapped layers: Keras 2 writes neither the wrapped LSTM's seed nor Bidirectional's
    backward_layer, which Keras 3 makes with their defaults."""
    L = k2.layers
    x = k2.Input((5, 3), name="steps")
    y = L.Bidirectional(L.LSTM(4, return_sequences=True))(x)
    return k2.Model(x, L.TimeDistributed(L.Dense(2))(y), name="wrappers")


KERAS2_MODELS = (mlp, cnn, two_inputs, nested, text, convs, wrappers)


@pytest.mark.parametrize("make", KERAS2_MODELS, ids=lambda f: f.__name__)
def test_keras2_h5_and_json(make, k2, tmp_path):
    original = make(k2)
    original.save(tmp_path / "model.h5")
    (tmp_path / "model.json").write_text(original.to_json(), encoding="utf-8")
    with h5py.File(tmp_path / "model.h5", "r") as handle:  # really a Keras 2 file
        assert str(handle.attrs["keras_version"]).startswith("2.")
        assert "model_config" in handle.attrs
    text = import_cli(tmp_path / "model.h5", tmp_path / "model.tfs", "--weights")
    assert_same_outputs(original, tfspec.loads(text), tmp_path / "model.weights.h5")
    from_json = import_file(str(tmp_path / "model.json")).text
    assert body(from_json) == body(text)
    # the dict API too: json.loads(model.to_json())
    assert body(import_config(json.loads(original.to_json()), str(tmp_path / "model.json")).text) == body(text)


def test_keras2_texts(k2, tmp_path):
    texts = {}
    for make in KERAS2_MODELS:
        make(k2).save(tmp_path / f"{make.__name__}.h5")
        texts[make.__name__] = import_file(str(tmp_path / f"{make.__name__}.h5")).text
    # float32 numbers Keras 2 wrote come back short; arguments renamed in Keras 3 (alpha)
    assert "model Mlp {" in texts["mlp"]
    assert 'Dense(8, activation="relu", kernel_regularizer=L2(0.001))' in texts["mlp"]
    assert "LeakyReLU(negative_slope=0.2)" in texts["mlp"] and 'kernel_initializer="he_normal"' in texts["mlp"]
    cnn_text = texts["cnn"]
    assert "model ResidualCnn {" in cnn_text and "input image: float32[8, 8, 3]" in cnn_text
    assert "kernel_regularizer=L2(0.0001)" in cnn_text and "MaxNorm(max_value=3.0)" in cnn_text
    assert "glorot_uniform" not in cnn_text  # Keras 2's default initializer config is Keras 3's default
    assert "BatchNormalization(axis=3)" in cnn_text  # Keras 2 wrote axis=[3]: Keras 3 reads 3
    assert "[activation, conv2d] -> Add()" in cnn_text
    pair = texts["two_inputs"]
    assert "input a: float32[4]" in pair and "input b: float32[5]" in pair and "output first, second" in pair
    nested_text = texts["nested"]
    assert "block Tower() {" in nested_text and "layer tower = Tower()" in nested_text  # shared: a block
    assert "a -> tower -> tower_1" in nested_text and "b -> tower -> tower_2" in nested_text
    assert '-> Add() -> Dense(6, activation="relu") -> Dense(2)' in nested_text  # the Sequential, inlined
    assert "tokens -> Embedding(20, 8) -> LSTM(5) -> Dense(2)" in texts["text"]  # no time_major, implementation
    assert "-> SeparableConv2D(4, 3)\n" in texts["convs"] and "-> SpatialDropout2D(0.1)\n" in texts["convs"]


def test_keras2_lambda_is_refused(k2, tmp_path, capsys):
    L = k2.layers
    x = k2.Input((3,), name="x")
    model = k2.Model(x, L.Dense(2)(L.Lambda(lambda t: t * 2, name="double")(x)))
    model.save(tmp_path / "lambda.h5")
    (tmp_path / "lambda.json").write_text(model.to_json(), encoding="utf-8")
    for name in ("lambda.h5", "lambda.json"):
        err = assert_refused(capsys, tmp_path, tmp_path / name)
        assert "E902" in err and "'double'" in err and "Lambda" in err


def test_keras2_weights_only_and_json_weights(k2, tmp_path, capsys):
    model = mlp(k2)
    model.save_weights(tmp_path / "weights.h5")
    err = assert_refused(capsys, tmp_path, tmp_path / "weights.h5")
    assert "E901" in err and "weights only, no model config" in err
    (tmp_path / "m.json").write_text(model.to_json(), encoding="utf-8")
    err = assert_refused(capsys, tmp_path, tmp_path / "m.json")
    assert "E905" in err and "holds no weights" in err


# -- HDF5 files Keras 3 writes -------------------------------------------------------------------


def keras3_models():
    L = keras.layers
    seq = keras.Sequential([keras.Input((5,)), L.Dense(8, activation="relu"), L.Dense(3)], name="mlp3")
    x = keras.Input((8, 8, 3), name="image")
    y = L.BatchNormalization()(L.Conv2D(4, 3, padding="same")(x))
    y = L.Add()([L.Activation("relu")(y), L.Conv2D(4, 1)(x)])
    cnn3 = keras.Model(x, L.Dense(3)(L.GlobalAveragePooling2D()(y)), name="cnn3")
    inner = keras.Sequential([keras.Input((4,)), L.Dense(3)], name="inner")
    a = keras.Input((4,), name="a")
    nested3 = keras.Model(a, L.Dense(2)(inner(a)), name="nested3")
    return [seq, cnn3, nested3]


def test_keras3_h5(tmp_path):
    """Keras 3's legacy saver writes Keras 3 nodes but layers without a module: read as they are."""
    for original in keras3_models():
        path = tmp_path / f"{original.name}.h5"
        original.save(path)
        with h5py.File(path, "r") as handle:
            assert str(handle.attrs["keras_version"]).startswith("3.")
        spec_out = tmp_path / f"{original.name}.tfs"
        text = import_cli(path, spec_out, "--weights")
        assert_same_outputs(original, tfspec.loads(text), tmp_path / f"{original.name}.weights.h5")


# -- refusals ------------------------------------------------------------------------------------


def assert_refused(capsys, tmp_path, model_path):
    target = tmp_path / "out.tfs"
    target.write_text("keep me\n", encoding="utf-8")
    assert main(["import", str(model_path), "-o", str(target), "--weights"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("error[") == 1
    assert target.read_text(encoding="utf-8") == "keep me\n"
    assert not (tmp_path / "out.weights.h5").exists()
    return err


def test_damaged_and_foreign_h5_files(tmp_path, capsys):
    keras3_models()[0].save(tmp_path / "good.h5")
    data = (tmp_path / "good.h5").read_bytes()
    (tmp_path / "cut.h5").write_bytes(data[: len(data) // 3])
    err = assert_refused(capsys, tmp_path, tmp_path / "cut.h5")
    assert "E901" in err and "not a valid HDF5 model file" in err
    (tmp_path / "text.h5").write_text("hello", encoding="utf-8")
    assert "not a valid HDF5 model file" in assert_refused(capsys, tmp_path, tmp_path / "text.h5")
    with h5py.File(tmp_path / "data.h5", "w") as handle:
        handle.create_dataset("x", data=np.zeros(3))
    assert "holds no Keras model" in assert_refused(capsys, tmp_path, tmp_path / "data.h5")
    keras3_models()[0].save_weights(tmp_path / "m.weights.h5")
    assert "weights only" in assert_refused(capsys, tmp_path, tmp_path / "m.weights.h5")
    # an HDF5 file by its signature, whatever its name
    (tmp_path / "model.bin").write_bytes(data)
    assert "model Mlp3 {" in import_file(str(tmp_path / "model.bin")).text
