"""Preprocessing layers and string/int tensors through check, build and real Keras.

Specs that take raw text and categorical strings check, and build in every style that can
express them; the built models agree with the same models written by hand in Keras (parameter
counts, output shapes and dtypes, and the values for given vocabularies, means and boundaries);
a string where numbers belong (and the reverse) is refused at the layer that takes it.
"""

from __future__ import annotations

import numpy as np
import pytest

from .helpers import quiet_tensorflow

quiet_tensorflow()
keras = pytest.importorskip("keras")

import tfspec  # noqa: E402
from tfspec import SpecError  # noqa: E402
from tfspec.backends import allowed_styles  # noqa: E402
from tfspec.ir.catalog import REGISTRY, bind  # noqa: E402
from tfspec.ir.dtypes import layer_dtype  # noqa: E402

from . import catalog_preprocessing  # noqa: E402
from .test_catalog import keras_layer, sample_data, typed  # noqa: E402

L = keras.layers

# -- a mixed tabular model: numbers, categorical strings and integers --------------------------------

TABULAR = """model Tabular {
    input age: float32[1]
    input income: float32[2]
    input city: string[1]
    input tags: string[3]
    input code: int64[1]
    input words: string[]
    age -> Discretization(bin_boundaries=[18.0, 30.0, 60.0], output_mode="one_hot") -> a
    income -> Normalization() -> i
    city -> StringLookup(vocabulary=["paris", "rome", "oslo"], output_mode="one_hot") -> c
    tags -> StringLookup(vocabulary=["x", "y"], output_mode="multi_hot", num_oov_indices=2) -> t
    code -> IntegerLookup(vocabulary=[7, 11, 13], output_mode="one_hot") -> k
    [city, code] -> HashedCrossing(16, output_mode="one_hot") -> cross
    city -> Hashing(8) -> h
    words -> TextVectorization(vocabulary=["good", "bad"], output_mode="count") -> w
    ids = t[:, 0] + 1
    [a, i, c, t, k, cross, w] -> Concatenate() -> Dense(4, activation="relu") -> Dense(1) -> out
    output out, a, i, c, t, k, cross, h, w, ids
}
"""


def tabular_data():
    return [
        np.array([[10.0], [45.0], [70.0]], dtype="float32"),
        np.array([[60.0, 1.0], [50.0, 3.0], [40.0, 7.0]], dtype="float32"),
        np.array([["rome"], ["oslo"], ["lima"]], dtype=object),
        np.array([["x", "q", "x"], ["y", "y", "z"], ["w", "v", "x"]], dtype=object),
        np.array([[11], [5], [13]], dtype="int64"),
        np.array(["good good bad", "Bad!", "nothing"], dtype=object),
    ]


def hand_written_tabular():
    """The same model, written by hand in Keras."""
    age = keras.Input(shape=(1,), name="age")
    income = keras.Input(shape=(2,), name="income")
    city = keras.Input(shape=(1,), dtype="string", name="city")
    tags = keras.Input(shape=(3,), dtype="string", name="tags")
    code = keras.Input(shape=(1,), dtype="int64", name="code")
    words = keras.Input(shape=(), dtype="string", name="words")
    a = L.Discretization(bin_boundaries=[18.0, 30.0, 60.0], output_mode="one_hot")(age)
    i = L.Normalization()(income)
    c = L.StringLookup(vocabulary=["paris", "rome", "oslo"], output_mode="one_hot")(city)
    t = L.StringLookup(vocabulary=["x", "y"], output_mode="multi_hot", num_oov_indices=2)(tags)
    k = L.IntegerLookup(vocabulary=[7, 11, 13], output_mode="one_hot")(code)
    cross = L.HashedCrossing(16, output_mode="one_hot")([city, code])
    h = L.Hashing(8)(city)
    w = L.TextVectorization(vocabulary=["good", "bad"], output_mode="count")(words)
    ids = t[:, 0] + 1
    out = L.Concatenate()([a, i, c, t, k, cross, w])
    out = L.Dense(4, activation="relu")(out)
    out = L.Dense(1)(out)
    return keras.Model([age, income, city, tags, code, words], [out, a, i, c, t, k, cross, h, w, ids])


INCOME = np.array([[60.0, 1.0], [50.0, 3.0], [40.0, 8.0], [50.0, 4.0]], dtype="float32")


def adapted(model):
    """The model with its Normalization adapted to INCOME (what the runtime does before training)."""
    for layer in model._flatten_layers(include_self=False):
        if isinstance(layer, L.Normalization):
            layer.adapt(INCOME)
    return model


@pytest.fixture(scope="module")
def tabular():
    spec = tfspec.loads(TABULAR)
    return spec, {style: adapted(tfspec.build(spec, style)) for style in allowed_styles(spec)}


def test_the_tabular_spec_checks_and_builds_in_functional_and_subclassing(tabular):
    spec, models = tabular
    assert sorted(models) == ["functional", "subclassing"]  # several inputs: not Sequential
    source = tfspec.generate(spec, "functional")
    assert 'keras.Input(shape=(), dtype="string", name="words")' in source
    assert 'keras.Input(shape=(1,), dtype="int64", name="code")' in source


def test_the_tabular_model_matches_the_hand_written_one(tabular):
    spec, models = tabular
    hand = adapted(hand_written_tabular())
    summary = tfspec.summary(spec)
    x = tabular_data()
    for style, model in models.items():
        assert model.count_params() == hand.count_params() == summary.total_params, style
        assert summary.non_trainable_params == 2 + 2 + 1  # Normalization's mean, variance and count
        hand.set_weights(model.get_weights())  # the same layers in the same order
        ours, theirs = model(x), hand(x)
        for name, got, want in zip(spec.model.outputs, ours, theirs):
            assert tuple(got.shape) == tuple(want.shape), (style, name)
            assert got.dtype == want.dtype, (style, name)
            np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-6, err_msg=f"{style} {name}")


def test_static_shapes_and_dtypes_are_those_of_the_built_model(tabular):
    spec, models = tabular
    outputs = models["functional"](tabular_data())
    for name, got in zip(spec.model.outputs, outputs):
        assert (3, *spec.model.shapes[name]) == tuple(got.shape), name
        assert spec.model.dtypes.get(name, "float32") == keras.backend.standardize_dtype(got.dtype), name


def test_given_vocabularies_means_and_boundaries_give_these_values(tabular):
    spec, models = tabular
    _, a, i, c, t, k, _, h, w, ids = (np.asarray(v) for v in models["functional"](tabular_data()))
    np.testing.assert_array_equal(a, np.eye(4)[[0, 2, 3]])  # bins: <18, [18, 30), [30, 60), >= 60
    want = (tabular_data()[1] - INCOME.mean(axis=0)) / INCOME.std(axis=0)
    np.testing.assert_allclose(i, want, rtol=1e-5)
    np.testing.assert_array_equal(c, np.eye(4)[[2, 3, 0]])  # [UNK], paris, rome, oslo
    # two OOV indices, then x, y; multi_hot marks each index present in the sample
    assert t.shape == (3, 4) and t[0, 2] == t[1, 3] == t[2, 2] == 1 and t[0, 3] == t[2, 3] == 0
    assert t[0, :2].sum() == 1 and t[1, :2].sum() == 1 and t[2, :2].sum() >= 1
    np.testing.assert_array_equal(k, np.eye(4)[[2, 0, 3]])  # [-1], 7, 11, 13
    assert h.shape == (3, 1) and h.dtype == np.int64 and ((h >= 0) & (h < 8)).all()
    np.testing.assert_array_equal(w, [[0, 2, 1], [0, 0, 1], [1, 0, 0]])  # [UNK], good, bad: counts
    np.testing.assert_array_equal(ids, t[:, 0] + 1)


NORMALIZE = """model N {
    input x: float32[2]
    x -> Normalization(mean=[50.0, 3.0], variance=[100.0, 4.0]) -> y
    output y
}
"""


def test_normalization_with_a_given_mean_and_variance():
    spec = tfspec.loads(NORMALIZE)
    assert allowed_styles(spec) == ["sequential", "functional", "subclassing"]
    x = INCOME
    by_hand = keras.Sequential([keras.Input(shape=(2,)), L.Normalization(mean=[50.0, 3.0], variance=[100.0, 4.0])])
    for style in allowed_styles(spec):
        model = tfspec.build(spec, style)
        assert model.count_params() == 0  # held as constants, not weights
        np.testing.assert_allclose(np.asarray(model(x)), (x - [50.0, 3.0]) / [10.0, 2.0], rtol=1e-6)
        np.testing.assert_array_equal(np.asarray(model(x)), np.asarray(by_hand(x)))


def test_subclassing_builds_normalization_with_a_given_mean_where_it_makes_it():
    """Left to Keras, a subclassed model builds the layer inside the graph that traces its first
    call, and its mean and variance tensors are out of scope after (shown below by hand); the
    subclassing style builds it in __init__ with its input's shape (tests/test_subclassing_prebuild.py
    for blocks, saving and the cases it refuses)."""
    spec = tfspec.loads(NORMALIZE)
    assert "self.normalization.build((None, 2))" in tfspec.generate(spec, "subclassing")
    model = tfspec.build(spec, "subclassing")
    np.testing.assert_allclose(np.asarray(model(INCOME)), (INCOME - [50.0, 3.0]) / [10.0, 2.0], rtol=1e-6)

    class Subclassed(keras.Model):  # what the subclassing style would write without the build line
        def __init__(self):
            super().__init__()
            self.norm = L.Normalization(mean=[50.0, 3.0], variance=[100.0, 4.0])

        def call(self, x):
            return self.norm(x)

    model = Subclassed()
    model(keras.Input(shape=(2,)))
    with pytest.raises(Exception, match="out of scope"):
        model(INCOME)


def test_subclassing_refuses_a_discretization_that_learns_its_bins_where_keras_fails():
    text = "model D { input x: float32[3] x -> Discretization(num_bins=4) -> y output y }"
    spec = tfspec.loads(text)
    assert allowed_styles(spec) == ["sequential", "functional"]
    with pytest.raises(SpecError) as info:
        tfspec.generate(spec, "subclassing")
    (found,) = info.value.diagnostics
    assert found.code == "E704" and "learns its bins" in found.message

    class Subclassed(keras.Model):  # what the subclassing style would write
        def __init__(self):
            super().__init__()
            self.bins = L.Discretization(num_bins=4)

        def call(self, x):
            return self.bins(x)

    with pytest.raises(Exception):  # noqa: B017 - Keras's own refusal, whatever its type
        Subclassed()(keras.Input(shape=(3,)))
    given = tfspec.loads(text.replace("num_bins=4", "bin_boundaries=[0.0, 1.0]"))
    assert allowed_styles(given) == ["sequential", "functional", "subclassing"]


# -- a raw-text classifier: every style ---------------------------------------------------------------

TEXT = """model Sentiment {
    input review: string[]
    review -> TextVectorization(vocabulary=["great", "awful", "fine"], output_sequence_length=6)
      -> Embedding(5, 8, mask_zero=True)
      -> GlobalAveragePooling1D()
      -> Dense(2, activation="softmax")
      -> probs
    output probs
}
"""


def test_the_text_classifier_builds_in_every_style_and_matches_keras():
    spec = tfspec.loads(TEXT)
    assert allowed_styles(spec) == ["sequential", "functional", "subclassing"]
    hand = keras.Sequential(
        [
            keras.Input(shape=(), dtype="string"),
            L.TextVectorization(vocabulary=["great", "awful", "fine"], output_sequence_length=6),
            L.Embedding(5, 8, mask_zero=True),
            L.GlobalAveragePooling1D(),
            L.Dense(2, activation="softmax"),
        ]
    )
    x = np.array(["Great, just great!", "awful", "it was FINE and great", "no words we know"], dtype=object)
    for style in allowed_styles(spec):
        model = tfspec.build(spec, style)
        assert model.count_params() == hand.count_params() == 5 * 8 + 8 * 2 + 2, style
        hand.set_weights(model.get_weights())
        got = model(x)
        assert tuple(got.shape) == (4, 2) and keras.backend.standardize_dtype(got.dtype) == "float32", style
        np.testing.assert_allclose(np.asarray(got), np.asarray(hand(x)), rtol=1e-6, err_msg=style)


def test_text_vectorization_indices_in_a_built_model():
    spec = tfspec.loads(
        "model T {\n    input t: string[]\n"
        '    t -> TextVectorization(vocabulary=["a", "b"], output_sequence_length=4) -> ids\n'
        "    output ids\n}\n"
    )
    for style in allowed_styles(spec):
        got = tfspec.build(spec, style)(np.array(["a b c", "B, a. a a a"], dtype=object))
        assert keras.backend.standardize_dtype(got.dtype) == "int64"
        np.testing.assert_array_equal(np.asarray(got), [[2, 3, 1, 0], [3, 2, 2, 2]])  # 0 pads, 1 unknown


# -- adapting layers ---------------------------------------------------------------------------------


def adapting_cases():
    return [c for c in catalog_preprocessing.CASES if c[0] != "Hashing" and c[0] != "HashedCrossing"]


@pytest.mark.parametrize("name,shapes,args,kwargs", adapting_cases())
def test_adapts_says_which_layers_need_the_training_data(name, shapes, args, kwargs):
    """A layer that `adapts` cannot run (or, Normalization, only runs as the identity) before
    Keras's adapt(); one that does not runs as it is."""
    definition = REGISTRY[name]
    values = bind(definition, tuple(args), tuple(kwargs.items())).values
    data = [sample_data(s, batch=4) for s in shapes]
    layer = keras_layer(name, args, kwargs)
    if not definition.adapts(values):
        layer(data[0])
        return
    if name == "Normalization":
        np.testing.assert_allclose(np.asarray(layer(data[0])), data[0], rtol=1e-6)
        layer.adapt(data[0])
        assert not np.allclose(np.asarray(layer(data[0])), data[0])
        return
    with pytest.raises(Exception):  # noqa: B017 - a table not initialised, no boundaries: any error
        layer(data[0])
    layer.adapt(data[0])
    layer(data[0])


def test_adapting_layers_in_a_spec():
    spec = tfspec.loads(
        "model A {\n    input n: float32[3]\n    input t: string[]\n"
        "    n -> Normalization() -> a\n"
        "    n -> Normalization(mean=0.0, variance=1.0) -> b\n"
        "    t -> TextVectorization(max_tokens=50, output_sequence_length=4) -> c\n"
        '    t -> TextVectorization(vocabulary=["x"]) -> d\n'
        "    output a, b, c, d\n}\n"
    )
    learns = {layer.id: REGISTRY[layer.kind].adapts(layer.values) for layer in spec.model.layers}
    assert learns == {
        "normalization": True,
        "normalization_1": False,
        "text_vectorization": True,
        "text_vectorization_1": False,
    }
    assert spec.model.params["normalization"] == (0, 7)  # mean, variance (3 each) and the count
    built = tfspec.build(spec, "functional")
    assert [layer.count_params() for layer in built.layers if isinstance(layer, L.Normalization)] == [7, 0]


# -- what is refused, and where ------------------------------------------------------------------------


def diagnostics(text: str):
    with pytest.raises(SpecError) as info:
        tfspec.loads(text)
    return info.value.diagnostics


def at(text: str, needle: str) -> tuple[int, int]:
    index = text.index(needle)
    return text.count("\n", 0, index) + 1, index - (text.rfind("\n", 0, index) + 1) + 1


@pytest.mark.parametrize(
    "line,needle,message",
    [
        ("    t -> Dense(4) -> y", "Dense(4)", "Dense takes numbers, but its input is a string tensor"),
        ("    t -> Embedding(10, 4) -> y", "Embedding(10, 4)", "Embedding takes numbers"),
        ("    t -> Conv1D(2, 1) -> y", "Conv1D(2, 1)", "Conv1D takes numbers"),
        ("    t -> Normalization() -> y", "Normalization()", "Normalization takes numbers"),
        ("    y = t * 2", "t * 2", "multiply computes with numbers, not strings"),
        ("    k -> StringLookup() -> y", "StringLookup()", "StringLookup takes strings, but its input is an int64"),
        ("    k -> TextVectorization() -> y", "TextVectorization()", "TextVectorization takes strings"),
        ("    t -> IntegerLookup() -> y", "IntegerLookup()", "IntegerLookup takes numbers"),
        ("    [t, n] -> HashedCrossing(4) -> y", "HashedCrossing(4)", "its input 2 is a float32 tensor"),
    ],
)
def test_dtype_errors_point_at_the_layer(line, needle, message):
    text = (
        "model M {\n    input t: string[3, 1]\n    input k: int64[3, 1]\n    input n: float32[3, 1]\n"
        + line
        + "\n    output y, t, k, n\n}\n"
    )
    found = [d for d in diagnostics(text) if d.code == "E504"]
    assert len(found) == 1 and message in found[0].message
    assert (found[0].span.line, found[0].span.column) == at(text, needle)
    assert found[0].hint


def test_keras_refuses_what_the_dtype_rules_refuse():
    """The refusals above fail in Keras too, when the layer runs."""
    strings = np.array([["a"], ["b"]], dtype=object)
    for layer in (L.Dense(2), L.Embedding(4, 2), L.Normalization(mean=0.0, variance=1.0)):
        with pytest.raises(Exception):  # noqa: B017
            layer(strings)
    with pytest.raises(Exception):  # noqa: B017
        L.StringLookup(vocabulary=["a"])(np.array([[1], [2]], dtype="int64"))
    with pytest.raises(Exception):  # noqa: B017
        L.HashedCrossing(4)([strings, np.array([[1.5], [2.5]], dtype="float32")])


def test_strings_pass_through_a_block_and_back():
    text = """block Encode(words) {
    input x
    x -> Reshape([1]) -> StringLookup(vocabulary=words, output_mode="one_hot") -> y
    output y
}

block Bad() {
    input x
    x -> Dense(2) -> y
    output y
}

model M {
    input c: string[]
    c -> Encode(["a", "b"]) -> e
    c -> Bad() -> z
    output e, z
}
"""
    (found,) = diagnostics(text)
    assert found.code == "E504" and "Dense takes numbers" in found.message and "in block Bad" in found.message
    spec = tfspec.loads(text.replace("    c -> Bad() -> z\n", "").replace("output e, z", "output e"))
    assert spec.model.shapes["e"] == (3,) and spec.model.dtypes["e"] == "int64"
    got = tfspec.build(spec, "functional")(np.array(["b", "zz"], dtype=object))
    np.testing.assert_array_equal(np.asarray(got), [[0, 0, 1], [1, 0, 0]])


def test_an_encoding_sized_by_a_vocabulary_still_to_learn_is_refused_with_the_way_out():
    text = 'model M {\n    input c: string[1]\n    c -> StringLookup(output_mode="one_hot") -> Dense(2) -> y\n    output y\n}\n'
    (found,) = diagnostics(text)
    assert found.code == "E505" and "pad_to_max_tokens=True" in found.hint
    assert (found.span.line, found.span.column) == at(text, "StringLookup")
    fixed = text.replace('output_mode="one_hot"', 'max_tokens=20, pad_to_max_tokens=True, output_mode="one_hot"')
    assert tfspec.loads(fixed).model.shapes["y"] == (2,)


def test_a_vocabulary_file_is_refused_with_the_inline_list_as_the_way_out():
    text = 'model M {\n    input c: string[1]\n    c -> StringLookup(vocabulary="vocab.txt") -> y\n    output y\n}\n'
    (found,) = diagnostics(text)
    assert found.code == "E404" and "file" in found.message and "inline" in found.hint


@pytest.mark.parametrize("name,shapes,args,kwargs", catalog_preprocessing.CASES)
def test_dtype_rules_accept_the_catalog_cases(name, shapes, args, kwargs):
    """Every case Keras runs (tests/test_catalog.py) has input dtypes the rules accept."""
    definition = REGISTRY[name]
    values = bind(definition, tuple(args), tuple(kwargs.items())).values
    assert layer_dtype(definition, [typed(s)[1] for s in shapes], values)


# Inputs for which Keras's static output shape is not the shape of what it computes: the catalog
# refuses them rather than model either.
DISAGREES = [
    ("CategoryEncoding", [((), "int32")], (4,), {}),
    ("CategoryEncoding", [((2, 3), "int32")], (4, "count"), {}),
    ("Discretization", [()], ([0.5],), {"output_mode": "multi_hot"}),
    ("Hashing", [((), "string")], (5,), {"output_mode": "one_hot"}),
    ("Hashing", [((3,), "string")], (5,), {"output_mode": "one_hot"}),
    ("StringLookup", [((), "string")], (), {"vocabulary": ["a"], "output_mode": "multi_hot"}),
    ("IntegerLookup", [((2, 3), "int64")], (), {"vocabulary": [1, 2], "output_mode": "count"}),
    ("TextVectorization", [((1,), "string")], (), {"vocabulary": ["a"], "output_mode": "multi_hot"}),
    ("TextVectorization", [((), "string")], (), {"vocabulary": ["a"], "split": None}),
    (
        "TextVectorization",
        [((3,), "string")],
        (),
        {"vocabulary": ["a"], "split": None, "output_mode": "one_hot", "ngrams": 2},
    ),
]


@pytest.mark.parametrize("name,shapes,args,kwargs", DISAGREES)
def test_refused_where_keras_static_shape_is_not_what_it_computes(name, shapes, args, kwargs):
    from tfspec.ir.catalog import ShapeError

    definition = REGISTRY[name]
    values = bind(definition, tuple(args), tuple(kwargs.items())).values
    with pytest.raises(ShapeError) as info:
        definition.shape([typed(s)[0] for s in shapes], values)
    assert name in info.value.message and info.value.hint
    symbolic = keras_layer(name, args, kwargs)(*[keras.Input(shape=s, dtype=d) for s, d in map(typed, shapes)])
    batch = 5  # no size of these cases
    computed = tuple(keras_layer(name, args, kwargs)(*[sample_data(s, batch=batch) for s in shapes]).shape)
    if computed[:1] == (batch,):  # the batch is kept: the static shape says something else
        assert (None, *computed[1:]) != tuple(symbolic.shape)
    # else the batch axis is gone: Keras counted the whole batch into one output
