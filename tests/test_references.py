"""The hand-written reference models of tests/references.py, against real Keras.

Each one builds, has the parameter count measured for it (keras.io's 718,173 for seq2seq), the
output shapes of its architecture, and runs forward on random data. The two MobileNet blocks are
also compared with the private builders of keras.applications they are transcribed from: same
layers, and the same outputs once the weights are copied. The masked transformer must ignore its
padding: more trailing padding, or other vectors at the padded steps, leave its outputs unchanged.
Each example spec (specs/<name>.tfs) parses and states the count measured here.
"""

from __future__ import annotations

import os
import re

import numpy as np
import pytest

from .helpers import quiet_tensorflow

quiet_tensorflow()
keras = pytest.importorskip("keras")

from . import references  # noqa: E402
from .references import PARAMS, REFERENCES  # noqa: E402

RNG = np.random.default_rng(11)

# Output shapes (batch first) for one batch of 2 of the random inputs below.
SHAPES = {
    "seq2seq": [(2, 7, 93)],
    "transformer_classifier": [(2, 2)],
    "mobilenetv3_block": [(2, 16, 16, 24)],
    "siamese": [(2, 1)],
    "inverted_residual": [(2, 16, 16, 32)],
    "masked_transformer": [(2, 1)],
}

IMAGE_SHAPES = {"mobilenetv3_block": (16, 16, 24), "inverted_residual": (32, 32, 16)}


def random_inputs(name):
    """One batch of 2 for each input: ids below the vocabulary, floats elsewhere."""
    if name == "seq2seq":
        return [RNG.random((2, 5, 71), dtype=np.float32), RNG.random((2, 7, 93), dtype=np.float32)]
    if name == "transformer_classifier":
        return [RNG.integers(0, references.VOCAB, (2, references.MAXLEN), dtype=np.int32)]
    if name == "masked_transformer":
        return [RNG.integers(1, references.MASKED_VOCAB, (2, 9), dtype=np.int32)]
    if name == "siamese":
        return [RNG.random((2, 28, 28, 1), dtype=np.float32) for _ in range(2)]
    return [RNG.random((2, *IMAGE_SHAPES[name]), dtype=np.float32)]


@pytest.fixture(scope="module")
def built():
    return {name: make() for name, make in REFERENCES.items()}


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_builds_with_the_measured_parameter_count(built, name):
    model = built[name]
    assert isinstance(model, keras.Model)
    assert model.count_params() == PARAMS[name]


def test_seq2seq_has_the_count_keras_io_prints():
    assert PARAMS["seq2seq"] == 718_173
    lstm_encoder = 4 * 256 * (71 + 256 + 1)
    lstm_decoder = 4 * 256 * (93 + 256 + 1)
    dense = 256 * 93 + 93
    assert lstm_encoder + lstm_decoder + dense == 718_173


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_forward_pass(built, name):
    model = built[name]
    inputs = random_inputs(name)
    out = model(inputs if len(inputs) > 1 else inputs[0])
    outs = out if isinstance(out, (list, tuple)) else [out]
    assert [tuple(o.shape) for o in outs] == SHAPES[name]
    for o in outs:
        assert np.all(np.isfinite(np.asarray(o)))
    if name in ("transformer_classifier", "seq2seq"):  # softmax rows
        assert np.allclose(np.asarray(outs[0]).sum(axis=-1), 1.0, atol=1e-5)


def test_symbolic_output_shapes(built):
    assert built["seq2seq"].output_shape == (None, None, 93)
    assert built["mobilenetv3_block"].output_shape == (None, 16, 16, 24)
    assert built["inverted_residual"].output_shape == (None, 16, 16, 32)
    assert built["masked_transformer"].output_shape == (None, 1)


def test_siamese_shares_one_encoder(built):
    model = built["siamese"]
    (encoder,) = [layer for layer in model.layers if isinstance(layer, keras.Model)]
    assert encoder.count_params() + 65 == PARAMS["siamese"]  # one encoder's weights, then Dense(1)
    left, right = random_inputs("siamese")
    assert np.allclose(np.asarray(model([left, right])), np.asarray(model([right, left])), atol=1e-6)
    same = np.asarray(model([left, left]))  # |a - a| = 0: only the last bias is left
    assert np.allclose(same, np.asarray(model.layers[-1](np.zeros((2, 64)))), atol=1e-6)


def test_depth_rounds_as_mobilenet():
    assert [references.depth(v) for v in (96, 24.0, 4, 10, 12, 20, 36)] == [96, 24, 8, 16, 16, 24, 40]


def class_names(model):
    return [type(layer).__name__ for layer in model.layers]


def same_after_copy(ours, theirs, x):
    theirs.set_weights(ours.get_weights())
    return np.allclose(np.asarray(ours(x, training=False)), np.asarray(theirs(x, training=False)), atol=1e-5)


def test_mobilenetv3_block_is_the_applications_block(built):
    m3 = pytest.importorskip("keras.src.applications.mobilenet_v3")
    inputs = keras.Input((16, 16, 24))
    outputs = m3._inverted_res_block(inputs, 4, 24, 3, 1, 0.25, m3.hard_swish, block_id=1)
    theirs = keras.Model(inputs, outputs)
    ours = built["mobilenetv3_block"]
    assert class_names(ours) == class_names(theirs)
    assert theirs.count_params() == PARAMS["mobilenetv3_block"]
    assert same_after_copy(ours, theirs, random_inputs("mobilenetv3_block")[0])


def test_inverted_residual_is_the_applications_block(built):
    m2 = pytest.importorskip("keras.src.applications.mobilenet_v2")
    inputs = keras.Input((32, 32, 16))
    x = m2._inverted_res_block(inputs, expansion=6, stride=2, alpha=1.0, filters=24, block_id=1)
    x = m2._inverted_res_block(x, expansion=6, stride=1, alpha=1.0, filters=24, block_id=2)
    outputs = m2._inverted_res_block(x, expansion=6, stride=1, alpha=1.0, filters=32, block_id=3)
    theirs = keras.Model(inputs, outputs)
    ours = built["inverted_residual"]
    assert class_names(ours) == class_names(theirs)
    assert class_names(ours).count("Add") == 1  # only the middle block keeps its shape
    assert same_after_copy(ours, theirs, random_inputs("inverted_residual")[0])


def padded(rows, length):
    out = np.zeros((len(rows), length), dtype=np.int32)
    for i, row in enumerate(rows):
        out[i, : len(row)] = row
    return out


def test_masked_transformer_ignores_the_padding(built):
    model = built["masked_transformer"]
    rows = [RNG.integers(1, references.MASKED_VOCAB, n) for n in (3, 7, 12)]
    short = np.asarray(model(padded(rows, 12)))
    longer = np.asarray(model(padded(rows, 40)))
    assert np.allclose(short, longer, atol=1e-6)  # more padding, same outputs

    # Other vectors at the padded steps: the padding id's row and the positions only padding uses.
    embeddings = {layer.input_dim: layer for layer in model.layers if isinstance(layer, keras.layers.Embedding)}
    token_embedding = embeddings[references.MASKED_VOCAB]
    position_embedding = embeddings[references.MASKED_POSITIONS]
    tokens = token_embedding.embeddings.numpy()
    where = position_embedding.embeddings.numpy()
    tokens[0] = RNG.normal(size=tokens.shape[1]) * 10
    where[12:] = RNG.normal(size=where[12:].shape) * 10
    token_embedding.embeddings.assign(tokens)
    position_embedding.embeddings.assign(where)
    assert np.allclose(np.asarray(model(padded(rows, 40))), short, atol=1e-6)

    # The true steps do count.
    rows[0][1] = rows[0][1] % (references.MASKED_VOCAB - 1) + 1
    assert not np.allclose(np.asarray(model(padded(rows, 12)))[0], short[0], atol=1e-6)


def test_masked_transformer_alone_equals_padded(built):
    """Each example alone (no padding at all) gives what it gives inside a padded batch."""
    model = built["masked_transformer"]
    rows = [RNG.integers(1, references.MASKED_VOCAB, n) for n in (2, 9)]
    batch = np.asarray(model(padded(rows, 9)))
    for i, row in enumerate(rows):
        alone = np.asarray(model(np.asarray([row], dtype=np.int32)))
        assert np.allclose(alone[0], batch[i], atol=1e-5)


SPECS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "specs")


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_spec_parses_and_states_the_reference_count(name):
    """specs/<name>.tfs is written in the v2 language and its header gives the measured count."""
    from tfspec.frontend.normalise import normalise
    from tfspec.frontend.parser import parse

    path = os.path.join(SPECS, f"{name}.tfs")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    spec, _ = normalise(parse(text, path), path, text)
    assert spec["model"]["body"]["outputs"]
    stated = re.search(r"^# Parameters: ([0-9,]+)", text, re.MULTILINE)
    assert stated is not None, f"{name}.tfs does not state its parameter count"
    assert int(stated.group(1).replace(",", "")) == PARAMS[name]
