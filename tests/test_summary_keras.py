"""`tfspec.summary` against real Keras: parameter counts and output shapes.

The summary is computed statically (no TensorFlow). Here every example spec, and a set
of inline specs covering many layer kinds, is also built as a live Keras model (through
`tfspec.build`, which executes the generated source), and for a few specs by a Keras
construction written by hand in this file. Counts and shapes must agree exactly.

TensorFlow is imported once for the whole module; models are built once (module-scoped).
"""

from __future__ import annotations

import os
from collections import Counter

import pytest

import tfspec
from tfspec.backends import allowed_styles

from .helpers import spec_names, spec_path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
keras = pytest.importorskip("keras")
np = pytest.importorskip("numpy")
layers = keras.layers


# -- measuring a Keras model -----------------------------------------------------------------------


def weight_count(weights) -> int:
    return int(sum(np.prod(w.shape) for w in weights))


def keras_counts(model) -> tuple[int, int, int]:
    return model.count_params(), weight_count(model.trainable_weights), weight_count(model.non_trainable_weights)


def summary_counts(s) -> tuple[int, int, int]:
    return s.total_params, s.trainable_params, s.non_trainable_params


def shape_of(layer) -> tuple:
    """Output shape of a layer's first application (the batch axis first, None); of its first
    result when it yields several (an RNN's output before its states)."""
    output = layer.output
    return tuple((output[0] if isinstance(output, (list, tuple)) else output).shape)


def keras_rows(model) -> Counter:
    """(class, output shape, parameters) of every layer of a functional model but the AddLoss
    layers the printers write for `add_loss` (the summary lists the loss terms on a line of their own)."""
    from tfspec.backends.losses import is_loss_layer

    return Counter(
        (type(layer).__name__, shape_of(layer), layer.count_params())
        for layer in model.layers
        if not is_loss_layer(layer)
    )


def leaf_rows(spec, s) -> Counter:
    """The summary's rows without the rows standing for whole blocks (Keras has no such layer)."""
    return Counter((r.kind, r.shape, r.params) for r in s.rows if r.kind not in spec.blocks and r.kind != "operation")


def output_shapes(model) -> list[tuple]:
    return [tuple(t.shape) for t in model.outputs]


def spec_output_shapes(spec) -> list[tuple]:
    return [(None,) + tuple(spec.model.shapes[name]) for name in spec.model.outputs]


def assert_agrees(spec, model):
    """The static summary of `spec` describes the live Keras `model` exactly."""
    s = tfspec.summary(spec)
    assert summary_counts(s) == keras_counts(model)
    assert spec_output_shapes(spec) == output_shapes(model)
    assert leaf_rows(spec, s) == keras_rows(model)


# -- every example spec ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def built():
    """spec name -> (Spec, keras model built from it by tfspec), built once."""
    out = {}
    for name in spec_names():
        spec = tfspec.load(spec_path(name))
        if "functional" in allowed_styles(spec):  # (a shared block is not a functional model)
            out[name] = (spec, tfspec.build(spec, "functional"))
    return out


@pytest.mark.parametrize("name", spec_names())
def test_every_example_spec_matches_its_keras_model(built, name):
    if name not in built:
        pytest.skip("no functional model: its layers are compared in test_architectures.py")
    spec, model = built[name]
    assert_agrees(spec, model)


# -- hand-written Keras models for a few specs ---------------------------------------------------------


def mnist_mlp():
    image = keras.Input(shape=(28, 28))
    x = layers.Flatten()(image)
    x = layers.Dense(128, activation="relu")(x)
    x = layers.Dropout(0.2)(x)
    probs = layers.Dense(10, activation="softmax")(x)
    return keras.Model(image, probs)


def mnist_cnn():
    image = keras.Input(shape=(28, 28, 1))
    x = layers.Conv2D(32, 3, activation="relu")(image)
    x = layers.Conv2D(64, 3, activation="relu")(x)
    x = layers.Flatten()(x)
    x = layers.Dense(128, activation="relu")(x)
    probs = layers.Dense(10, activation="softmax")(x)
    return keras.Model(image, probs)


def cifar100_cnn():
    image = keras.Input(shape=(32, 32, 3))
    x = layers.Conv2D(16, 3, activation="relu")(image)
    x = layers.MaxPooling2D((2, 2))(x)
    x = layers.Conv2D(32, 3, activation="relu")(x)
    x = layers.MaxPooling2D((2, 2))(x)
    x = layers.Flatten()(x)
    x = layers.Dense(256, activation="relu")(x)
    probs = layers.Dense(100, activation="softmax")(x)
    return keras.Model(image, probs)


def shared_embedding():
    text_a = keras.Input(shape=(None,), dtype="int32")
    text_b = keras.Input(shape=(None,), dtype="int32")
    embed = layers.Embedding(1000, 128)
    pred_a = layers.Dense(1, activation="sigmoid")(embed(text_a))
    pred_b = layers.Dense(1, activation="sigmoid")(embed(text_b))
    return keras.Model([text_a, text_b], [pred_a, pred_b])


def perceptron():
    pixels = keras.Input(shape=(784,))
    probs = layers.Dense(10, kernel_initializer="zeros", activation="softmax")(pixels)
    return keras.Model(pixels, probs)


HAND_WRITTEN = {
    "mnist_mlp": mnist_mlp,
    "mnist_cnn": mnist_cnn,
    "cifar100_cnn": cifar100_cnn,
    "shared_embedding": shared_embedding,
    "perceptron": perceptron,
}


@pytest.mark.parametrize("name", sorted(HAND_WRITTEN))
def test_hand_written_keras_models_agree_with_the_summary(built, name):
    spec, generated = built[name]
    model = HAND_WRITTEN[name]()
    s = tfspec.summary(spec)
    assert summary_counts(s) == keras_counts(model) == keras_counts(generated)
    assert spec_output_shapes(spec) == output_shapes(model)
    # layer by layer, in order: the summary rows are the hand-written layers
    assert [(r.kind, r.shape, r.params) for r in s.rows] == [
        (type(layer).__name__, shape_of(layer), layer.count_params()) for layer in model.layers
    ]


def test_the_known_totals_of_the_example_specs(built):
    """Anchors that do not depend on Keras: these numbers are in the tutorials."""
    totals = {name: tfspec.summary(spec).total_params for name, (spec, _) in built.items()}
    assert totals["mnist_mlp"] == 101_770
    assert totals["mnist_cnn"] == 4_738_826  # 320 + 18,496 + 4,718,720 + 1,290
    assert totals["perceptron"] == 7_850
    assert totals["shared_embedding"] == 128_000 + 129 + 129


# -- inline specs over many layer kinds -----------------------------------------------------------------


INLINE = {
    "conv2d_strides_padding": """
        model M {
            input image: float32[32, 30, 3]
            image -> Conv2D(8, 3, strides=2, padding="same", activation="relu")
                  -> Conv2D(16, (5, 3), strides=(1, 2), padding="valid")
                  -> Conv2D(4, 3, dilation_rate=2, use_bias=False)
                  -> SeparableConv2D(8, 3, padding="same", depth_multiplier=2)
                  -> DepthwiseConv2D(3, depth_multiplier=2, padding="same")
                  -> Conv2DTranspose(6, 3, strides=2, padding="same")
                  -> Conv2DTranspose(3, (2, 4), strides=(1, 2))
                  -> y
            output y
        }""",
    "pooling_padding_resizing": """
        model M {
            input image: float32[28, 28, 3]
            image -> ZeroPadding2D(2)
                  -> MaxPooling2D(3, strides=2, padding="same")
                  -> AveragePooling2D((2, 2))
                  -> Cropping2D(((1, 0), (2, 1)))
                  -> UpSampling2D((2, 3))
                  -> MaxPooling2D()
                  -> a
            a -> GlobalMaxPooling2D() -> g1
            a -> GlobalAveragePooling2D() -> g2
            [g1, g2] -> Concatenate() -> Dense(5) -> y
            output y
        }""",
    "conv1d_and_pooling1d": """
        model M {
            input seq: float32[100, 8]
            seq -> Conv1D(16, 5, padding="causal", activation="relu")
                -> MaxPooling1D(2)
                -> Conv1D(8, 3, strides=2)
                -> AveragePooling1D(pool_size=3, strides=1, padding="same")
                -> UpSampling1D(2)
                -> ZeroPadding1D((1, 2))
                -> Cropping1D(1)
                -> SeparableConv1D(4, 3)
                -> GlobalAveragePooling1D()
                -> Dense(3)
                -> y
            output y
        }""",
    "conv3d": """
        model M {
            input volume: float32[8, 8, 8, 2]
            volume -> Conv3D(4, 3, padding="same") -> MaxPooling3D(2) -> Conv3D(2, (1, 2, 3))
                   -> GlobalAveragePooling3D() -> y
            output y
        }""",
    "recurrent": """
        model M {
            input tokens: int32[20]
            tokens -> Embedding(500, 16, mask_zero=True)
                   -> LSTM(32, return_sequences=True)
                   -> GRU(16, return_sequences=True)
                   -> SimpleRNN(8, return_sequences=True)
                   -> Bidirectional(LSTM(8, return_sequences=True))
                   -> Bidirectional(GRU(4), merge_mode="sum")
                   -> Dense(1, activation="sigmoid")
                   -> y
            output y
        }""",
    "variable_length_sequences": """
        model M {
            input tokens: int32[None]
            tokens -> Embedding(100, 8) -> LSTM(6, return_sequences=True) -> TimeDistributed(Dense(4)) -> s
            s -> GlobalMaxPooling1D() -> RepeatVector(3) -> GRU(5) -> y
            output y
        }""",
    "normalisation_and_activations": """
        model M {
            input x: float32[10]
            x -> Dense(16)
              -> BatchNormalization()
              -> ReLU()
              -> Dense(16, use_bias=False)
              -> BatchNormalization(center=False, scale=False)
              -> LeakyReLU()
              -> LayerNormalization()
              -> PReLU()
              -> Dense(8)
              -> Activation("tanh")
              -> ELU()
              -> Softmax()
              -> GaussianNoise(0.1)
              -> Dropout(0.2)
              -> UnitNormalization()
              -> y
            output y
        }""",
    "merges": """
        model M {
            input a: float32[8]
            input b: float32[8]
            [a, b] -> Add() -> s
            [a, b] -> Subtract() -> d
            [a, b] -> Multiply() -> m
            [a, b, s] -> Average() -> v
            [a, b] -> Maximum() -> hi
            [a, b] -> Minimum() -> lo
            [a, b] -> Dot(axes=1) -> dot
            [s, d, m, v, hi, lo, dot] -> Concatenate() -> joined
            joined -> Dense(4) -> y
            output y
        }""",
    "reshape_and_permute": """
        model M {
            input x: float32[24]
            x -> Reshape((4, 6)) -> Permute((2, 1)) -> Reshape((-1, 2)) -> Conv1D(3, 2) -> Flatten() -> Dense(2) -> y
            output y
        }""",
    "blocks_with_repetition": """
        block ConvBN(filters, kernel=3) {
            input x
            x -> Conv2D(filters, kernel, padding="same", use_bias=False) -> BatchNormalization() -> ReLU() -> y
            output y
        }
        block Residual(filters) {
            input x
            x -> ConvBN(filters) * 2 -> h
            [x, h] -> Add() -> y
            output y
        }
        model M {
            input image: float32[16, 16, 3]
            image -> ConvBN(8, kernel=5) -> Residual(8) * 3 -> MaxPooling2D() -> ConvBN(16) -> GlobalAveragePooling2D()
                  -> Dense(10, activation="softmax") -> y
            output y
        }""",
    "shared_layers": """
        model M {
            input left: float32[12]
            input right: float32[12]
            layer encode = Dense(6, activation="relu")
            layer norm = LayerNormalization()
            left -> encode -> norm -> l
            right -> encode -> norm -> r
            [l, r] -> Subtract() -> diff
            [l, r, diff] -> Concatenate() -> Dense(1) -> y
            output y
        }""",
    "frozen_layers": """
        model M {
            input x: float32[5]
            x -> Dense(7, trainable=False) -> BatchNormalization() -> Dense(3) -> BatchNormalization(trainable=False)
              -> y
            output y
        }""",
    "several_outputs": """
        model M {
            input image: float32[8, 8, 1]
            input meta: float32[3]
            image -> Conv2D(4, 3) -> Flatten() -> f
            [f, meta] -> Concatenate() -> Dense(16) -> h
            h -> Dense(10, activation="softmax") -> digit
            h -> Dense(1) -> size
            meta -> Dense(2) -> aux
            output digit, size, aux
        }""",
    "attention": """
        model M {
            input q: float32[6, 16]
            input v: float32[9, 16]
            [q, v] -> MultiHeadAttention(num_heads=2, key_dim=8) -> a
            [q, v] -> Attention() -> b
            [a, b] -> Add() -> LayerNormalization() -> GlobalAveragePooling1D() -> y
            output y
        }""",
}


@pytest.fixture(scope="module")
def inline_built():
    out = {}
    for name, text in INLINE.items():
        spec = tfspec.loads(text, filename=f"<{name}>")
        out[name] = (spec, tfspec.build(spec, "functional"))
    return out


@pytest.mark.parametrize("name", list(INLINE))
def test_inline_specs_match_their_keras_models(inline_built, name):
    spec, model = inline_built[name]
    assert_agrees(spec, model)


def test_a_block_row_adds_up_the_rows_nested_under_it(inline_built):
    spec, model = inline_built["blocks_with_repetition"]
    rows = tfspec.summary(spec).rows
    assert [r.kind for r in rows if r.depth == 0].count("Residual") == 3
    for i, row in enumerate(rows):
        if row.kind not in spec.blocks:
            continue
        children = []
        for below in rows[i + 1 :]:
            if below.depth <= row.depth:
                break
            if below.depth == row.depth + 1:
                children.append(below)
        assert children, row
        assert row.params == sum(c.params for c in children)
        assert row.trainable == sum(c.trainable for c in children)
        assert row.shape == children[-1].shape  # a block's output is its last layer's
    assert sum(1 for layer in model.layers if type(layer).__name__ == "Conv2D") == 1 + 3 * 2 + 1


def test_shared_layers_are_one_keras_layer(inline_built):
    spec, model = inline_built["shared_layers"]
    dense = [layer for layer in model.layers if type(layer).__name__ == "Dense"]
    assert len(dense) == 2  # encode (shared) and the head
    rows = {r.name: r for r in tfspec.summary(spec).rows}
    assert rows["encode"].shared == 2 and rows["norm"].shared == 2


def test_frozen_weights_count_as_non_trainable(inline_built):
    spec, model = inline_built["frozen_layers"]
    s = tfspec.summary(spec)
    # Dense(7) frozen: 5*7+7; BN(7): 2*7 moving stats; BN(3) frozen: all 4*3
    assert s.non_trainable_params == (5 * 7 + 7) + 2 * 7 + 4 * 3
    assert keras_counts(model)[2] == s.non_trainable_params


def test_the_live_model_runs_on_data_of_the_declared_shape(inline_built):
    """A forward pass: the static output shapes are the shapes of real outputs."""
    spec, model = inline_built["several_outputs"]
    batch = [np.zeros((2,) + tuple(i.shape), dtype=i.dtype) for i in spec.model.inputs]
    outputs = model(batch)
    assert [tuple(o.shape) for o in outputs] == [(2,) + s[1:] for s in spec_output_shapes(spec)]


# -- random specs: whatever `check` accepts, Keras builds, with the summary's numbers -------------------


def random_specs(count: int, seed: int = 11, attempts: int = 4000):
    """Chains of 1-4 random layers with random arguments; only the ones tfspec accepts."""
    import random

    from tfspec.ir.catalog import REGISTRY

    rng = random.Random(seed)
    values = [
        "0",
        "1",
        "2",
        "3",
        "-1",
        "0.5",
        "1.5",
        "None",
        "True",
        "False",
        '"same"',
        '"valid"',
        '"relu"',
        "(2, 2)",
        "(1, 2, 3)",
        "[2]",
        "()",
        "(0,)",
        "(None, 4)",
        '"x"',
        "L2(0.1)",
        "LSTM(4)",
        "Dense(2)",
        "(-1,)",
        "((1, 1), (1, 1))",
        "64",
    ]
    shapes = ["[8]", "[None]", "[6, 8]", "[None, 8]", "[8, 8, 3]", "[4, 4, 4, 2]", "int32[10]", "[1]"]
    kinds = sorted(REGISTRY)
    found = []
    for _ in range(attempts):
        steps = []
        for _ in range(rng.randint(1, 4)):
            kind = rng.choice(kinds)
            own = [a for a in REGISTRY[kind].args if a.name not in ("name", "dtype", "trainable")]
            args = [rng.choice(values) for _ in own[: rng.randint(0, min(3, len(own)))]]
            if own and rng.random() < 0.5:
                args.append(f"{rng.choice(own).name}={rng.choice(values)}")
            steps.append(f"{kind}({', '.join(args)})")
        shape = rng.choice(shapes)
        source = "[x, z]" if rng.random() < 0.3 else "x"
        text = f"model M {{ input x: {shape} input z: {shape} {source} -> {' -> '.join(steps)} -> y output y }}"
        if source == "x":
            text = text.replace(f" input z: {shape}", "")
        try:
            found.append((text, tfspec.loads(text)))
        except tfspec.SpecError:
            continue
        if len(found) == count:
            break
    return found


def test_random_specs_that_check_build_in_keras_with_the_same_numbers():
    specs = random_specs(40)
    assert len(specs) == 40
    for text, spec in specs:
        try:
            model = tfspec.build(spec, "functional")
        except Exception as exc:  # noqa: BLE001 - any failure is the finding
            pytest.fail(f"tfspec check accepts it but Keras cannot build it:\n{text}\n{type(exc).__name__}: {exc}")
        try:
            assert_agrees(spec, model)
        except AssertionError as exc:
            raise AssertionError(f"summary and Keras disagree on:\n{text}") from exc
