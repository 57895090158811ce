"""The v2 example specs against the Keras models written by hand in tests/references.py.

For each spec and every style it allows: the compiled model has the reference's parameter counts
(trainable and not), which are also the static summary's, and its output shapes; with the
reference's weights copied in it gives the reference's outputs; it survives a .keras round trip;
and its generated source is formatted and lint-clean. The siamese model is also symmetric.

The reference's weights are copied layer by layer in the order the layers are first called in
one eager forward pass (see `called_owners`): a hand-written model and a generated one need not
create or list their layers in the same order, but both call them in data-flow order.
"""

from __future__ import annotations

import subprocess
import sys
from unittest import mock

import numpy as np
import pytest

from .helpers import quiet_tensorflow, spec_path

quiet_tensorflow()
keras = pytest.importorskip("keras")

import tfspec  # noqa: E402
from tfspec.backends import allowed_styles  # noqa: E402

from . import references  # noqa: E402

NAMES = ["seq2seq", "transformer_classifier", "mobilenetv3_block", "siamese", "inverted_residual", "masked_transformer"]

# Exclusive upper bound of the ids fed to an int input (its Embedding's vocabulary); ids start at 1.
VOCABULARY = {"transformer_classifier": references.VOCAB, "masked_transformer": references.MASKED_VOCAB}
# Lengths given to the None axes of each input, in the spec's input order.
STEPS = {"seq2seq": [5, 7], "masked_transformer": [9]}
# Specs whose int inputs end in padding (id 0) in the first example of each batch.
PADDED = {"masked_transformer"}
SEEDS = (0, 1, 2)
BATCH = 2


def cases():
    """(spec name, style) for every style each spec allows."""
    out = []
    for name in NAMES:
        for style in allowed_styles(tfspec.load(spec_path(name))):
            out.append(pytest.param(name, style, id=f"{name}-{style}"))
    return out


CASES = cases()


class Built:
    """The spec, the reference and the compiled models of one spec, made once per module."""

    def __init__(self):
        self.specs = {}
        self.references = {}
        self.models = {}

    def spec(self, name):
        if name not in self.specs:
            self.specs[name] = tfspec.load(spec_path(name))
        return self.specs[name]

    def reference(self, name):
        if name not in self.references:
            model = references.REFERENCES[name]()
            perturb_constants(model, np.random.default_rng(5))
            self.references[name] = model
        return self.references[name]

    def model(self, name, style):
        if (name, style) not in self.models:
            self.models[name, style] = tfspec.build(self.spec(name), style)
        return self.models[name, style]


@pytest.fixture(scope="module")
def built():
    return Built()


def perturb_constants(model, rng):
    """Move the weights Keras starts as constants (biases, BatchNormalization's gamma, beta and
    moving statistics, LayerNormalization's) off them, so that swapping two such layers, or
    skipping one, changes the outputs. Variances stay positive (1 +- 0.2)."""
    for variable in model.weights:
        value = np.asarray(variable)
        if np.unique(value).size <= 2:
            variable.assign(value + rng.uniform(-0.2, 0.2, value.shape).astype(value.dtype))


def sample_inputs(spec, name, seed):
    """One batch for each input of the spec, in its order: ids in the vocabulary (with trailing
    padding in the first row for the specs in PADDED), floats elsewhere."""
    rng = np.random.default_rng(seed)
    steps = iter(STEPS.get(name, []))
    xs = []
    for inp in spec.model.inputs:
        shape = (BATCH,) + tuple(next(steps) if d is None else d for d in inp.shape)
        if inp.dtype.startswith("int"):
            ids = rng.integers(1, VOCABULARY[name], size=shape).astype(inp.dtype)
            if name in PADDED:
                ids[0, rng.integers(1, shape[1]) :] = 0
            xs.append(ids)
        else:
            xs.append(rng.standard_normal(shape).astype(inp.dtype))
    return xs[0] if len(xs) == 1 else xs


def as_list(y):
    return [np.asarray(t) for t in (y if isinstance(y, (list, tuple)) else [y])]


def weight_counts(model):
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    frozen = sum(int(np.prod(w.shape)) for w in model.non_trainable_weights)
    return trainable, frozen


# -- weight matching ---------------------------------------------------------------------------


def own_weights(layer):
    """The variables a layer creates itself, not through its sublayers, in creation order."""
    return list(layer._trainable_variables) + list(layer._non_trainable_variables)


def called_owners(model, x):
    """The layers owning weights, in the order of their first call in one eager forward pass.

    Every weight of the model must belong to one of them: a weight no call reaches is an error."""
    calls, seen = [], set()
    original = keras.layers.Layer.__call__

    def spy(self, *args, **kwargs):
        if id(self) not in seen:
            seen.add(id(self))
            calls.append(self)
        return original(self, *args, **kwargs)

    with mock.patch.object(keras.layers.Layer, "__call__", spy):
        model(x, training=False)
    owners = [layer for layer in calls if own_weights(layer)]
    reached = {id(w) for layer in owners for w in own_weights(layer)}
    unreached = [w.path for w in model.weights if id(w) not in reached]
    assert not unreached, f"{model.name}: weights no layer call reached: {unreached}"
    return owners


def signature(layer):
    return type(layer).__name__, tuple(tuple(w.shape) for w in own_weights(layer))


def match_layers(source, target, x):
    """Pairs (source layer, target layer): the same class and weight shapes, in first-call order.

    Layers are grouped by class and weight shapes; within a group the k-th called of one model
    pairs with the k-th called of the other (two layers of one group that are not called one after
    the other in data-flow order would be an ambiguity: the output comparison then fails). Any
    difference in the groups (a layer more or less, another shape) fails here, with both lists."""
    groups = {}
    for side, model in enumerate((source, target)):
        for layer in called_owners(model, x):
            groups.setdefault(signature(layer), ([], []))[side].append(layer)
    unequal = {sig: (len(a), len(b)) for sig, (a, b) in groups.items() if len(a) != len(b)}
    assert not unequal, f"layers with weights differ, (class, shapes): (reference, tfspec) counts: {unequal}"
    return [pair for a, b in groups.values() for pair in zip(a, b)]


def copy_matched(source, target, x):
    pairs = match_layers(source, target, x)
    for src, dst in pairs:
        for s, d in zip(own_weights(src), own_weights(dst)):
            d.assign(np.asarray(s))
    return pairs


# -- the tests ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "style"), CASES)
def test_parameter_counts_match_the_reference_and_the_summary(built, name, style):
    spec = built.spec(name)
    summary = tfspec.summary(spec)
    static = (summary.trainable_params, summary.non_trainable_params)
    assert weight_counts(built.reference(name)) == static
    assert weight_counts(built.model(name, style)) == static
    assert sum(static) == references.PARAMS[name]


@pytest.mark.parametrize(("name", "style"), CASES)
def test_inputs_and_output_shapes_match_the_reference(built, name, style):
    spec, reference, model = built.spec(name), built.reference(name), built.model(name, style)
    # The inputs are fed by position: the reference must take them in the spec's order.
    assert [t.name for t in reference.inputs] == [i.name for i in spec.model.inputs]
    x = sample_inputs(spec, name, SEEDS[0])
    ours = as_list(model(x, training=False))
    theirs = as_list(reference(x, training=False))
    assert [a.shape for a in ours] == [b.shape for b in theirs]
    static = [spec.model.shapes[o] for o in spec.model.outputs]
    for got, want in zip(ours, static):
        assert got.shape[0] == BATCH
        assert len(got.shape) == len(want) + 1
        assert all(d is None or d == g for d, g in zip(want, got.shape[1:])), (got.shape, want)


@pytest.mark.parametrize(("name", "style"), CASES)
def test_outputs_equal_the_reference_with_its_weights(built, name, style):
    spec, reference, model = built.spec(name), built.reference(name), built.model(name, style)
    pairs = copy_matched(reference, model, sample_inputs(spec, name, SEEDS[0]))
    paired = [f"{a.path} -> {b.path}" for a, b in pairs]
    for seed in SEEDS:
        x = sample_inputs(spec, name, seed)
        ours = as_list(model(x, training=False))
        theirs = as_list(reference(x, training=False))
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-5, err_msg=f"seed {seed}; layers paired: {paired}")


@pytest.mark.parametrize(("name", "style"), CASES)
def test_keras_file_round_trip(built, name, style, tmp_path):
    spec, model = built.spec(name), built.model(name, style)
    path = tmp_path / f"{name}.{style}.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert weight_counts(loaded) == weight_counts(model)
    for seed in SEEDS[:2]:
        x = sample_inputs(spec, name, seed)
        for a, b in zip(as_list(model(x, training=False)), as_list(loaded(x, training=False))):
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-5)


@pytest.mark.parametrize(("name", "style"), CASES)
def test_generated_source_passes_ruff(built, name, style, tmp_path):
    path = tmp_path / f"{name}_{style}.py"
    path.write_text(tfspec.generate(built.spec(name), style), encoding="utf-8")
    ruff = [sys.executable, "-m", "ruff"]
    fmt = subprocess.run(
        ruff + ["format", "--isolated", "--check", "--diff", str(path)], capture_output=True, text=True
    )
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr
    lint = subprocess.run(ruff + ["check", "--isolated", str(path)], capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout + lint.stderr


@pytest.mark.parametrize("style", allowed_styles(tfspec.load(spec_path("siamese"))))
def test_siamese_is_symmetric(built, style):
    """|a - b| = |b - a|: the two images swapped give the same probability."""
    model = built.model("siamese", style)
    spec = built.spec("siamese")
    outputs = []
    for seed in SEEDS:
        left, right = sample_inputs(spec, "siamese", seed)
        out = np.asarray(model([left, right], training=False))
        np.testing.assert_allclose(np.asarray(model([right, left], training=False)), out, rtol=0, atol=1e-6)
        outputs.append(out)
    assert not np.allclose(outputs[0], outputs[1], atol=1e-6)  # the inputs do count
