"""Names and limits that Keras and TensorFlow impose on a model, held against real Keras.

A spec that passes `check` must build and train in every style it allows:

- a layer's `name=` names TensorFlow ops and scopes, so it follows TensorFlow's rule for op
  names (no `/`, space, non-ASCII letter or backslash; no leading `_ - >`); check refuses the
  others at the name, and every name it accepts builds, trains and saves in every style;
- an input or a `name=` of the form of Keras's own names (`dense`, `dense_3`, `input_layer`)
  would meet a name Keras gives by itself in a functional or Sequential model: build_model()
  moves Keras's name counters past them first;
- sizes past what TensorFlow indexes with 32-bit integers, and argument values the Keras
  constructors refuse (seeds past 64 bits, VarianceScaling's scale and modes, negative
  regularization factors, Identity or Orthogonal on a vector), are refused by check (those
  checks are in test_semantics.py; here Keras shows that they fail).
"""

from __future__ import annotations

import numpy as np
import pytest

from .helpers import quiet_tensorflow

quiet_tensorflow()
keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

import tfspec  # noqa: E402
from tfspec import SpecError  # noqa: E402
from tfspec.backends import allowed_styles  # noqa: E402
from tfspec.backends.common import auto_name_parts, reserved_prefixes  # noqa: E402
from tfspec.live import load_module  # noqa: E402


def model_text(body: str, inputs: str = "input x: float32[4]") -> str:
    return f"model M {{\n    {inputs}\n    {body}\n    output y\n}}\n"


def built(spec, style, fresh=True):
    """`build_model()` of the generated source; `fresh`: Keras's name counters start from zero,
    as in a new process (the case where an automatic name meets a given one)."""
    if fresh:
        keras.backend.clear_session()
    return load_module(tfspec.generate(spec, style), f"names_{style}").build_model()


def train_step(model, x):
    """One gradient step under tf.function, as the runtime takes it (graph mode: the names of
    scopes are checked there)."""
    optimizer = keras.optimizers.SGD(0.01)

    @tf.function
    def step(x):
        with tf.GradientTape() as tape:
            out = model(x, training=True)
            loss = tf.add_n([tf.reduce_mean(tf.square(o)) for o in tf.nest.flatten(out)])
        optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
        return loss

    return float(step(tf.constant(x)))


def every_style(spec, x, tmp_path=None):
    """Built in every style the spec allows (fresh counters): parameter counts equal the
    summary, layer names are unique, a train step runs; with `tmp_path` each model is saved as
    .keras and .weights.h5 and loaded back."""
    total = tfspec.summary(spec).total_params
    styles = allowed_styles(spec)
    for style in styles:
        model = built(spec, style)
        assert model.count_params() == total, style
        names = [layer.name for layer in model.layers]
        assert len(names) == len(set(names)), (style, names)
        assert np.isfinite(train_step(model, x)), style
        if tmp_path is not None:
            model.save(tmp_path / f"{style}.keras")
            model.save_weights(tmp_path / f"{style}.weights.h5")
            loaded = keras.saving.load_model(tmp_path / f"{style}.keras")
            loaded.load_weights(tmp_path / f"{style}.weights.h5")
            assert loaded.count_params() == total, style
    return styles


# -- layer names -------------------------------------------------------------------------------

REFUSED = {
    "a/b": 'e.g. name="a_b"',
    "a b": 'e.g. name="a_b"',
    "_x": 'e.g. name="x"',
    "-x": 'e.g. name="x"',
    ">x": 'e.g. name="x"',
    "a\\\\b": 'e.g. name="a_b"',  # a backslash, as the spec text writes it
    "é": "use ASCII letters and digits",
    "dense é": 'e.g. name="dense_"',
    "": "write no name= at all",
}


@pytest.mark.parametrize("name", list(REFUSED), ids=[ascii(n) for n in REFUSED])
def test_names_tensorflow_refuses_are_refused_at_the_name(name):
    text = model_text(f'x -> Dense(3, name="{name}") -> y')
    with pytest.raises(SpecError) as info:
        tfspec.loads(text)
    (d,) = info.value.diagnostics
    assert d.code == "E405" and d.message.startswith("Dense: name must"), d.message
    assert (d.line, d.column) == (3, text.splitlines()[2].index('"') + 1)
    assert d.hint == REFUSED[name]


def test_names_in_nested_layers_are_checked_too():
    text = model_text('x -> TimeDistributed(Dense(3, name="a b")) -> y', "input x: float32[2, 4]")
    with pytest.raises(SpecError, match=r"E404.*name must be ASCII"):
        tfspec.loads(text)


@pytest.mark.parametrize(
    "name,style",
    [("a b", "functional"), ("é", "sequential"), ("_x", "subclassing"), ("-x", "subclassing"), ("a\\b", "functional")],
)
def test_the_refused_names_do_fail_in_tensorflow(name, style):
    """Each kind of refused name breaks a model of some style (at build, or at a train step)."""
    dense = keras.layers.Dense(3, name=name)
    if style == "sequential":
        model = keras.Sequential([keras.Input(shape=(4,)), dense])
    elif style == "functional":
        x = keras.Input(shape=(4,))
        model = keras.Model(x, dense(x))
    else:

        class M(keras.Model):
            def __init__(self):
                super().__init__()
                self.dense = dense

            def call(self, x):
                return self.dense(x)

        model = M()
    with pytest.raises(Exception, match="scope name|invalid characters|Exception encountered"):
        model(keras.Input(shape=(4,)))
        train_step(model, np.ones((2, 4), "float32"))


def test_keras_refuses_a_slash_in_any_name():
    with pytest.raises(ValueError, match="cannot contain character `/`"):
        keras.layers.Dense(3, name="a/b")


def test_unusual_names_tensorflow_accepts_build_train_and_save_in_every_style(tmp_path):
    long = "n" * 5000
    names = ["a.b", "1x", "a>b-c", ".", "x_", long]
    body = "x -> " + " -> ".join(f'Dense(3, name="{n}")' for n in names) + " -> y"
    spec = tfspec.loads(model_text(body))
    styles = every_style(spec, np.ones((2, 4), "float32"), tmp_path)
    assert set(styles) == {"sequential", "functional", "subclassing"}


# -- names Keras gives by itself ------------------------------------------------------------------


def test_the_forms_of_keras_automatic_names():
    assert auto_name_parts("dense") == ("dense", 0)
    assert auto_name_parts("dense_12") == ("dense", 12)
    assert auto_name_parts("conv2d_transpose_1") == ("conv2d_transpose", 1)
    assert auto_name_parts("input_layer_3") == ("input_layer", 3)
    assert auto_name_parts("dense_01") is None  # Keras never writes a leading zero
    assert auto_name_parts("x") is None and auto_name_parts("dense_x") is None


def test_the_prefixes_are_those_keras_uses():
    """Every catalog layer is named after its Keras class (keras.src.utils.naming.to_snake_case)."""
    from keras.src.utils.naming import to_snake_case

    from tfspec.backends.common import AUTO_PREFIXES
    from tfspec.ir.catalog import REGISTRY
    from tfspec.tools.importer.arguments import layer_class

    for kind in (k for k, d in REGISTRY.items() if d.plugin is None):  # a plugin's: tfspec.backends.common.auto_prefix
        assert to_snake_case(layer_class(keras, kind).__name__) in AUTO_PREFIXES, kind


COLLISIONS = {
    "an input named like a layer": model_text("dense -> Dense(3) -> Dense(2) -> y", "input dense: float32[4]"),
    "a name= like another layer's": model_text('x -> Dense(3, name="dense") -> Dense(2) -> y'),
    "a numbered name": model_text('x -> Dense(3, name="dense_1") -> Dense(2) -> Dense(2) -> y'),
    "the Sequential input's name": model_text('x -> Dense(3, name="input_layer") -> y'),
    "a block used twice": (
        "block B(n) {\n    input t\n    t -> Dense(n) -> u\n    output u\n}\n"
        + model_text("dense_1 -> B(4) -> B(4) -> Dense(2) -> y", "input dense_1: float32[4]")
    ),
    "conv layers": model_text(
        'x -> Reshape([4, 1]) -> Conv1D(2, 2, name="conv1d_1") -> Conv1D(2, 2) -> Conv1D(2, 2) -> Flatten() -> y'
    ),
}


@pytest.mark.parametrize("text", list(COLLISIONS.values()), ids=list(COLLISIONS))
def test_given_names_never_meet_keras_automatic_names(text):
    spec = tfspec.loads(text)
    assert reserved_prefixes(spec.model)
    every_style(spec, np.ones((2, 4), "float32"))


def test_keras_alone_fails_on_these_names():
    """What the reservation prevents: Keras's functional model with an input named `dense`."""
    keras.backend.clear_session()
    x = keras.Input(shape=(4,), name="dense")
    with pytest.raises(ValueError, match="used 2 times"):
        keras.Model(x, keras.layers.Dense(3)(x))


def test_a_counter_already_past_zero():
    """In a process that made Dense layers before, the names Keras would give next are
    dense_3, dense_4, ...: an input named dense_3 is reserved as well."""
    spec = tfspec.loads(model_text("dense_3 -> Dense(3) -> Dense(2) -> y", "input dense_3: float32[4]"))
    keras.backend.clear_session()
    for _ in range(3):
        keras.layers.Dense(1)
    model = built(spec, "functional", fresh=False)
    assert [layer.name for layer in model.layers] == ["dense_3", "dense_4", "dense_5"]


def test_masked_functional_model_with_an_input_named_like_a_keras_op():
    """The masks a functional model carries are computed by Keras ops (not_equal, expand_dims),
    which Keras names like layers; an input may carry one of those names."""
    text = (
        "model M {\n    input not_equal: int32[None]\n    input expand_dims: int32[None]\n"
        "    layer embed = Embedding(30, 8, mask_zero=True)\n"
        "    not_equal -> embed -> q\n    expand_dims -> embed -> p\n"
        "    [q, p] -> MultiHeadAttention(num_heads=2, key_dim=4) -> a\n"
        "    [q, a] -> Add() -> s\n    s -> GlobalAveragePooling1D() -> y\n    output y\n}\n"
    )
    spec = tfspec.loads(text)
    assert "keras.ops.expand_dims" in tfspec.generate(spec, "functional")
    x = np.array([[1, 2, 0, 0], [3, 4, 5, 0]], "int32")
    for style in allowed_styles(spec):
        model = built(spec, style)
        assert model.count_params() == tfspec.summary(spec).total_params
        assert np.isfinite(np.asarray(model([x, x]))).all()


def test_every_op_a_masked_functional_model_makes_has_a_reserved_prefix():
    """Masks make ops in a functional model, named by Keras like layers: their prefixes are known."""
    text = (
        "model M {\n    input t: int32[None]\n    input f: float32[None, 3]\n"
        "    t -> Embedding(30, 8, mask_zero=True) -> e\n    f -> Masking() -> Dense(8) -> m\n"
        "    [e, m] -> Attention() -> a\n    [e, a] -> Concatenate() -> c\n"
        "    [e, e] -> MultiHeadAttention(num_heads=2, key_dim=4) -> h\n    [e, h] -> Add() -> s\n"
        "    [c, s] -> Concatenate() -> cs\n    cs -> GlobalAveragePooling1D() -> y\n    output y\n}\n"
    )
    model = built(tfspec.loads(text), "functional")
    ops = [op.name for op in model.operations if not isinstance(op, keras.layers.Layer)]
    assert ops and all(auto_name_parts(name) for name in ops), ops


def test_a_spec_with_ordinary_names_reserves_nothing():
    spec = tfspec.loads(model_text('x -> Dense(3, name="hidden") -> Dense(2) -> y'))
    assert not reserved_prefixes(spec.model)
    assert all("get_uid" not in tfspec.generate(spec, s) for s in allowed_styles(spec))


def test_training_with_the_runtime(tmp_path):
    """The shared runtime trains a model whose names are both unusual and Keras-like."""
    text = model_text(
        'dense -> Dense(3, name="a.b") -> Dense(3) -> Dense(2, name="dense_2") -> y', "input dense: float32[4]"
    )
    text += "train {\n    loss = mse\n    epochs = 1\n}\n"
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(16, 4)).astype("float32"), rng.normal(size=(16, 2)).astype("float32")
    keras.backend.clear_session()
    trained = tfspec.train(tfspec.loads(text), style="functional", data=(x, y), batch_size=8, out_dir=str(tmp_path))
    history = getattr(trained, "history", trained)
    assert np.isfinite(history["loss"][-1])


# -- argument values the Keras constructors refuse (check refuses them: test_semantics.py) ----------


def losses(layer, shape):
    """The regularization losses of a layer applied once (Keras computes them when asked)."""
    layer(np.ones(shape, "float32"))
    return [float(x) for x in layer.losses]


@pytest.mark.parametrize(
    "make",
    [
        lambda: keras.layers.Dropout(0.5, seed=2**63)(np.ones((2, 4), "float32"), training=True),
        lambda: keras.initializers.RandomNormal(seed=-(2**63) - 1)((2, 2)),
        lambda: keras.initializers.VarianceScaling(scale=0.0),
        lambda: keras.initializers.VarianceScaling(mode="fan"),
        lambda: keras.initializers.VarianceScaling(distribution="gauss"),
        lambda: keras.regularizers.L2(-0.1),
        lambda: keras.regularizers.L1L2(l1=float("inf")),
        lambda: keras.regularizers.OrthogonalRegularizer(mode="row"),
        lambda: keras.layers.Dense(3, bias_initializer="orthogonal")(np.ones((2, 4), "float32")),
        lambda: keras.layers.BatchNormalization(gamma_initializer="identity")(np.ones((2, 4), "float32")),
        lambda: keras.layers.Conv1D(2, 2, kernel_initializer="identity")(np.ones((2, 4, 1), "float32")),
        lambda: losses(keras.layers.Dense(3, bias_regularizer="orthogonal_regularizer"), (2, 4)),
        lambda: losses(keras.layers.Conv1D(2, 2, kernel_regularizer="orthogonal_regularizer"), (2, 4, 1)),
    ],
    ids=[
        "seed",
        "initializer seed",
        "scale",
        "mode",
        "distribution",
        "l2",
        "l1 inf",
        "orthogonal mode",
        "bias orthogonal",
        "gamma identity",
        "conv identity",
        "bias orthogonal regularizer",
        "conv orthogonal regularizer",
    ],
)
def test_keras_refuses_these_argument_values(make):
    with pytest.raises((ValueError, TypeError)):
        make()


def test_the_values_at_the_edge_build_in_every_style():
    body = (
        "x -> Dropout(0.5, seed=9223372036854775807) "
        '-> Dense(3, kernel_initializer=VarianceScaling(2.0, "fan_avg", "uniform", -9223372036854775808), '
        'kernel_regularizer=OrthogonalRegularizer(0.1, "columns"), bias_regularizer=L1L2(0.0, 0.2)) '
        '-> Dense(3, kernel_initializer="identity") -> Reshape([3, 1]) '
        '-> Conv1D(2, 2, kernel_initializer="orthogonal") -> Flatten() -> y'
    )
    spec = tfspec.loads(model_text(body))
    every_style(spec, np.ones((2, 4), "float32"))
