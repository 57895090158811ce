"""Generated hypermodels: a spec with a search section prints as KerasTuner's `build_model(hp)`
(tfspec.search.hyper, tfspec.backends.hypermodel), in every style its model allows.

The source is ruff-clean and the same each time. Run, build_model() without `hp`, with a fresh
keras_tuner.HyperParameters and with the hyperparameters fixed at other points builds the model
the spec has at that point: its parameter count is the static summary's of the spec at that
point, and with that model's weights it predicts the same. KerasTuner's RandomSearch searches it.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import tfspec
from tfspec.backends import allowed_styles, generate
from tfspec.frontend.fast import attempt
from tfspec.loader import check_spec
from tfspec.search.point import at_point
from tfspec.summary import summary

from .helpers import as_list, quiet_tensorflow, sample_inputs

SPECS = {
    # values only: in expressions, a string choice, a float on a step grid; the train section's
    # learning rate
    "values": """
search {
    units = choice(16, 32)
    rate = float(0.1, 0.3, step=0.1)
    activation = choice("relu", "tanh")
    lr = float(1e-4, 1e-2, log=true)
}
model Values {
    input x: float32[6]
    x -> Dense(units * 2, activation=activation) -> Dropout(rate) -> Dense(units)
      -> Dense(3, activation="softmax") -> y
    output y
}
train {
    optimizer = Adam(learning_rate=lr)
    loss = SparseCategoricalCrossentropy()
    metrics = [accuracy]
    epochs = 1
    batch = 8
}
""",
    # a block argument, a block repeated by a count, an `if` on a boolean
    "blocks": """
search {
    width = choice(8, 16)
    depth = int(1, 3)
    norm = boolean()
}
block Unit(n) {
    input x
    x -> Dense(n, activation="relu") -> Dense(n) -> y
    output y
}
model Blocks {
    input x: float32[5]
    x -> Unit(width) * depth -> h
    if norm { h -> LayerNormalization() -> h2 } else { h2 = h }
    h2 -> Dense(1) -> y
    output y
}
train {
    optimizer = SGD(learning_rate=0.01)
    loss = mse
    epochs = 1
    batch = 8
}
""",
    # an `if` that changes the graph (no Sequential model at `residual = true`), a repeated layer
    "branchy": """
search {
    residual = boolean()
    depth = int(1, 2)
}
model Branchy {
    input x: float32[4]
    x -> Dense(4) -> h
    h -> Dense(4, activation="relu") * depth -> body
    if residual { [h, body] -> Add() -> merged } else { merged = body }
    merged -> Dense(2) -> y
    output y
}
""",
    # padding masks carried in variables through a block repeated by a count
    "masked": """
search {
    depth = int(1, 2)
    heads = choice(1, 2)
}
block Encoder(heads) {
    input x
    [x, x] -> MultiHeadAttention(num_heads=heads, key_dim=4) -> a
    [x, a] -> Add() -> LayerNormalization() -> y
    output y
}
model Masked {
    input tokens: int32[None]
    tokens -> Embedding(50, 8, mask_zero=True) -> Encoder(heads) * depth
           -> GlobalAveragePooling1D() -> Dense(1, activation="sigmoid") -> p
    output p
}
""",
    # names that Python, Keras, KerasTuner or the generated code use; a hyperparameter that only
    # the train section reads (declared for the tuner, its default in TRAINING)
    "hostile": """
search {
    layers = choice(4, 8)
    keras = int(1, 2)
    hp = boolean()
    self = float(0.1, 0.2)
    Defaults = choice("relu", "tanh")
    batch_size = choice(8, 16)
    _ = choice(1, 2)
}
block training(name=2, _=3) {
    input x
    x -> Dense(name) -> Dense(_) -> y
    output y
}
model build_model {
    input config: float32[3]
    config -> Dense(layers, activation=Defaults) * keras -> kwargs
    if hp { kwargs -> Dropout(self) -> name } else { name = kwargs }
    name -> training(layers, _) * keras -> Dense(2) -> y
    output y
}
train {
    loss = mse
    epochs = 1
    batch = batch_size
}
""",
    # two inputs, three outputs; a value computed from a shape; an `if` on a condition of two;
    # losses and weights per output (compile() takes them as lists); the optimizer's class chosen
    "multi": """
search {
    units = choice(4, 8)
    deep = boolean()
    opt = choice("Adam", "SGD")
    w = float(0.5, 1.0)
}
model Multi {
    input a: float32[3]
    input b: float32[5]
    c = a.shape[-1] * units
    a -> Dense(c) -> ha
    b -> Dense(units) -> hb
    if deep and units > 4 {
        [ha, hb] -> Concatenate() -> Dense(units) -> m
    } else {
        [ha, hb] -> Concatenate() -> m
    }
    m -> Dense(1) -> out1
    m -> Dense(2, activation="softmax") -> out2
    output out1, out2, a
}
train {
    optimizer = opt
    loss = {out1: mse, out2: SparseCategoricalCrossentropy(), a: mse}
    loss_weights = {out1: w, out2: 1.0, a: 0.0}
    epochs = 1
}
""",
    # a loss term scaled by a hyperparameter; an optimizer named by an alias (compile() gets one
    # of a table)
    "lossy": """
search {
    units = choice(4, 8)
    beta = float(0.1, 1.0)
    opt = choice("adam", "sgd")
}
model Lossy {
    input x: float32[6]
    x -> Dense(units) -> h
    h -> Dense(2) -> z
    kl = beta * mean(square(z), axis=-1)
    add_loss kl
    z -> Dense(6) -> y
    output y
}
train {
    optimizer = opt
    loss = mse
    epochs = 1
}
""",
}

# an `if` on a hyperparameter where the masks are carried in variables: Python `if`s in the
# hypermodel, the branches keeping the mask alike
SPECS["masked_choice"] = (
    SPECS["masked"]
    .replace("depth = int(1, 2)", "depth = int(1, 2)\n    norm = boolean()")
    .replace(
        "-> GlobalAveragePooling1D()",
        "-> h\n    if norm {\n        h -> LayerNormalization() -> h2\n    } else {\n        h2 = h\n    }\n"
        "    h2 -> GlobalAveragePooling1D()",
    )
)

# points other than the default at which the built model is compared with the spec's
POINTS = {
    "values": [{"units": 32, "rate": 0.3, "activation": "tanh", "lr": 0.01}],
    "blocks": [{"width": 16, "depth": 3, "norm": True}, {"width": 8, "depth": 2, "norm": False}],
    "branchy": [{"residual": True, "depth": 2}],
    "masked": [{"depth": 2, "heads": 2}],
    "masked_choice": [{"depth": 2, "heads": 1, "norm": True}, {"depth": 1, "heads": 2, "norm": False}],
    "hostile": [{"layers": 8, "keras": 2, "hp": True, "Defaults": "tanh", "_": 2}],
    "multi": [{"units": 8, "deep": True, "opt": "SGD"}],
    "lossy": [{"units": 8, "beta": 1.0, "opt": "sgd"}],
}


def load(name: str):
    return tfspec.loads(SPECS[name], f"{name}.tfs")


def concrete(spec, point: dict):
    """The spec at `point`, as `check` loads it there."""
    spans = attempt(spec.source, spec.path)[0][1]
    made = check_spec(at_point(spec.searched, point), spans, spec.source, spec.path)
    assert not isinstance(made, list), made
    return made


CASES = [(name, style) for name in SPECS for style in allowed_styles(load(name))]


def test_the_styles_each_model_allows():
    assert {name: allowed_styles(load(name)) for name in SPECS} == {
        "values": ["sequential", "functional", "subclassing"],
        "blocks": ["sequential", "functional", "subclassing"],
        "branchy": ["functional", "subclassing"],
        "masked": ["functional", "subclassing"],
        "masked_choice": ["functional", "subclassing"],
        "hostile": ["sequential", "functional", "subclassing"],
        "multi": ["functional", "subclassing"],
        "lossy": ["functional", "subclassing"],
    }


def test_a_graph_that_is_a_chain_only_at_some_points_is_no_sequential_model():
    # at its default point (residual = false) it is a chain; the Add is where it stops being one
    with pytest.raises(tfspec.SpecError) as caught:
        generate(load("branchy"), "sequential")
    found = caught.value.diagnostics[0]
    assert (found.code, found.span.line, found.span.column) == ("E701", 10, 32)


def test_an_if_whose_branches_give_different_masks_is_refused_where_masks_are_carried():
    text = SPECS["masked_choice"].replace("h -> LayerNormalization() -> h2", "h -> Masking() -> h2")
    spec = tfspec.loads(text, "masked.tfs")
    assert allowed_styles(spec) == []
    for style in ("functional", "subclassing"):
        with pytest.raises(tfspec.SpecError) as caught:
            generate(spec, style)
        found = caught.value.diagnostics[0]
        assert (found.code, found.span.line, found.span.column) == ("E706", 20, 14)
        assert "'h2' different padding masks" in found.message


def test_the_source_is_ruff_clean_and_deterministic(tmp_path):
    for name, style in CASES:
        source = generate(load(name), style)
        assert source == generate(load(name), style)
        (tmp_path / f"{name}_{style}.py").write_text(source, encoding="utf-8")
    ruff = [sys.executable, "-m", "ruff"]
    fmt = subprocess.run(ruff + ["format", "--isolated", "--check", "--diff", str(tmp_path)], capture_output=True)
    assert fmt.returncode == 0, fmt.stdout.decode() + fmt.stderr.decode()
    lint = subprocess.run(ruff + ["check", "--isolated", str(tmp_path)], capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_hyperparameters_are_declared_once_and_used_by_name():
    source = generate(load("values"), "functional")
    assert 'units = hp.Choice("units", [16, 32])' in source
    assert 'rate = hp.Float("rate", 0.1, 0.3, step=0.1)' in source
    assert 'lr = hp.Float("lr", 0.0001, 0.01, sampling="log")' in source
    assert "layers.Dense(units * 2, activation=activation)(x)" in source
    assert "optimizer=keras.optimizers.Adam(learning_rate=lr)" in source
    assert source.count("hp.Choice(") == 2
    # TRAINING holds the default point, for the tfspec runtime
    assert '"learning_rate": 0.0001' in source and "optimizer (lr)" in source
    blocks = generate(load("blocks"), "functional")
    assert "    for _ in range(depth):\n        h = unit(h, width)\n" in blocks
    assert "    if norm:\n        h2 = layers.LayerNormalization()(h)\n    else:\n        h2 = h\n" in blocks
    sequential = generate(load("blocks"), "sequential")
    assert "    for _ in range(depth):\n        model.add(layers.Dense(width, activation=" in sequential
    subclass = generate(load("blocks"), "subclassing")
    assert "def __init__(self, width=8, depth=1, norm=False, **kwargs):" in subclass
    assert "self.unit = [Unit(self.width) for _ in range(self.depth)]" in subclass
    assert '"width": self.width' in subclass
    assert "model = Blocks(width=width, depth=depth, norm=norm, name=" in subclass
    hostile = generate(load("hostile"), "functional")
    assert (
        '    # read by the train section only: TRAINING holds its default\n    hp.Choice("batch_size", [8, 16])\n'
        in hostile
    )
    assert "    if hp is None:\n        hp = Defaults()\n" in hostile and 'hp_ = hp.Boolean("hp")' in hostile


def test_a_default_differing_from_kerastuners_is_given():
    text = SPECS["blocks"].replace("depth = int(1, 3)", "depth = int(1, 3, default=2)")
    source = generate(tfspec.loads(text, "blocks.tfs"), "functional")
    assert 'depth = hp.Int("depth", 1, 3, default=2)' in source


# -- with Keras and KerasTuner -------------------------------------------------------------------


@pytest.fixture(scope="module")
def kt():
    quiet_tensorflow()
    pytest.importorskip("tensorflow")
    return pytest.importorskip("keras_tuner")


def module_of(source: str):
    from tfspec.live import load_module

    return load_module(source, "tfspec_test_hypermodel")


@pytest.mark.parametrize("name,style", CASES, ids=[f"{n}-{s}" for n, s in CASES])
def test_build_model_is_the_spec_at_each_point(kt, name, style):
    spec = load(name)
    module = module_of(generate(spec, style))
    default = concrete(spec, spec.point)
    assert module.build_model().count_params() == summary(default).total_params
    assert module.build_model(kt.HyperParameters()).count_params() == summary(default).total_params
    for point in POINTS[name]:
        hp = kt.HyperParameters()
        for key, value in point.items():
            hp.Fixed(key, value)
        model = module.build_model(hp)
        at = concrete(spec, {**spec.point, **point})
        assert model.count_params() == summary(at).total_params, point
        reference = module_of(generate(at, style)).build_model()
        model.set_weights(reference.get_weights())
        x = sample_inputs(at, batch=4, ids=(0, 50))  # 0: padding
        for got, want in zip(as_list(model.predict(x, verbose=0)), as_list(reference.predict(x, verbose=0))):
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("style", ["sequential", "functional", "subclassing"])
def test_random_search_tunes_it(kt, style, tmp_path):
    module = module_of(generate(load("values"), style))
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 6)).astype("float32")
    y = rng.integers(0, 3, size=(32,))
    tuner = kt.RandomSearch(
        module.build_model, objective="val_loss", max_trials=2, directory=str(tmp_path), seed=1, overwrite=True
    )
    tuner.search(x, y, epochs=1, batch_size=8, validation_split=0.25, verbose=0)
    assert len(tuner.oracle.trials) == 2
    best = tuner.get_best_hyperparameters(1)[0]
    assert set(best.values) == {"units", "rate", "activation", "lr"}


@pytest.mark.parametrize("style", ["functional", "subclassing"])
def test_the_compiled_model_fits(kt, style):
    rng = np.random.default_rng(0)
    multi = module_of(generate(load("multi"), style)).build_model(kt.HyperParameters())
    a, b = rng.standard_normal((8, 3)).astype("float32"), rng.standard_normal((8, 5)).astype("float32")
    targets = [rng.standard_normal((8, 1)).astype("float32"), rng.integers(0, 2, size=(8,)), a]
    history = multi.fit([a, b], targets, epochs=1, batch_size=4, verbose=0)
    assert np.isfinite(history.history["loss"][-1])
    lossy = module_of(generate(load("lossy"), style)).build_model()
    x = rng.standard_normal((8, 6)).astype("float32")
    assert np.isfinite(lossy.fit(x, x, epochs=1, batch_size=4, verbose=0).history["loss"][-1])
