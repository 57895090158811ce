"""One spec, three styles, provably the same model (real Keras).

For every spec in specs/ and every style that can express it: equal parameter counts
(also equal to the static summary), equal layer configurations, identical outputs once
the weights of the functional model are copied in layer by layer (tfspec.weights), and a
.keras round trip."""

from __future__ import annotations

import json
import traceback

import numpy as np
import pytest

from .helpers import as_list, quiet_tensorflow, sample_inputs, spec_names, spec_path

quiet_tensorflow()
keras = pytest.importorskip("keras")

import tfspec  # noqa: E402
from tfspec.backends import allowed_styles  # noqa: E402
from tfspec.weights import copy_weights  # noqa: E402


def leaf_configs(model):
    """Configs of the innermost layers (blocks flattened), names dropped, as a sorted list."""
    out = []
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if layer._flatten_layers(include_self=False, recursive=False):
            continue  # a container (block layer or nested model): its leaves are listed
        if isinstance(layer, keras.layers.InputLayer):
            continue
        config = layer.get_config()
        config.pop("name", None)
        out.append(json.dumps({"class": type(layer).__name__, **config}, sort_keys=True, default=str))
    return sorted(out)


def adapted(spec, style, model):
    """The model with its layers that learn from data (a vocabulary, a mean) adapted on a sample,
    as the runtime adapts them before training: an unadapted lookup cannot run."""
    from tfspec.runtime import adapt

    targets = adapt.find(model, spec, style)
    if targets:
        x = sample_inputs(spec, batch=6, seed=2)
        inputs = [(i.name, i.shape, i.dtype) for i in spec.model.inputs]
        adapt.adapt(targets, tuple(x) if isinstance(x, list) else x, inputs)
    return model


@pytest.fixture(scope="module", params=spec_names())
def built(request):
    spec = tfspec.load(spec_path(request.param))
    models = {style: adapted(spec, style, tfspec.build(spec, style)) for style in allowed_styles(spec)}
    return spec, models


def test_parameter_counts_match_the_static_summary(built):
    spec, models = built
    summary = tfspec.summary(spec)
    for style, model in models.items():
        trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
        frozen = sum(int(np.prod(w.shape)) for w in model.non_trainable_weights)
        assert (trainable, frozen) == (summary.trainable_params, summary.non_trainable_params), style


def test_layer_configurations_match(built):
    _, models = built
    configs = {style: leaf_configs(m) for style, m in models.items()}
    reference = configs["functional"] if "functional" in configs else next(iter(configs.values()))
    for style, config in configs.items():
        assert config == reference, style


def same_draws(model):
    """The model with the state of every random-number generator of its layers set to one value,
    so that a layer that draws at inference (the VAE's Sampling) draws the same numbers in every
    model and on every call: its outputs can then be compared like any other's."""
    for layer in model._flatten_layers(include_self=True):
        for generator in getattr(layer, "_seed_generators", ()):
            generator.state.assign(keras.ops.convert_to_tensor([1234, 0], dtype=generator.state.dtype))
    return model


def test_outputs_match_after_copying_weights(built):
    spec, models = built
    x = sample_inputs(spec)
    source_style = "functional" if "functional" in models else next(iter(models))
    source = models[source_style]
    reference = as_list(same_draws(source)(x, training=False))
    for style, model in models.items():
        copy_weights(spec, source, source_style, model, style)
        got = as_list(same_draws(model)(x, training=False))
        assert len(got) == len(reference)
        for a, b in zip(got, reference):
            assert a.shape == b.shape
            assert np.max(np.abs(a - b)) <= 1e-6, style


def test_keras_file_round_trip(built, tmp_path):
    spec, models = built
    x = sample_inputs(spec, seed=1)
    for style, model in models.items():
        path = tmp_path / f"{style}.keras"
        model.save(path)
        loaded = keras.saving.load_model(path)
        for a, b in zip(as_list(same_draws(model)(x, training=False)), as_list(same_draws(loaded)(x, training=False))):
            assert np.max(np.abs(a - b)) <= 1e-6, style


def test_tracebacks_show_generated_lines():
    spec = tfspec.load(spec_path("mnist_mlp"))
    model = tfspec.build(spec, "subclassing")
    try:
        model(np.zeros((1, 5, 5), dtype="float32"))  # wrong input size: fails inside call()
    except Exception as exc:  # noqa: BLE001 - any Keras error will do
        text = "".join(traceback.format_exception(exc))
        assert "<tfspec:tfspec_MnistMLP_subclassing>" in text
        assert "probs = self.dense(probs)" in text  # the generated line that failed
    else:
        pytest.fail("a wrong input shape should fail")


def test_block_parameters_renamed_in_generated_code_still_work_by_keyword(tmp_path):
    """A block parameter called `layers` clashes with `from keras import layers`: the generated
    code renames it, and keyword arguments and get_config/from_config follow the new name."""
    spec = tfspec.loads(
        """
block Stack(layers, rate=0.1) {
    input x
    x -> Dense(layers, activation="relu") -> Dropout(rate) -> y
    output y
}
model M {
    input a: [6]
    a -> Stack(layers=8, rate=0.2) -> h
    h -> Stack(4) -> out
    output out
}
"""
    )
    x = sample_inputs(spec)
    models = {style: tfspec.build(spec, style) for style in allowed_styles(spec)}
    assert set(models) == {"sequential", "functional", "subclassing"}
    reference = as_list(models["functional"](x, training=False))
    for style, model in models.items():
        copy_weights(spec, models["functional"], "functional", model, style)
        assert np.max(np.abs(as_list(model(x, training=False))[0] - reference[0])) <= 1e-6
    path = tmp_path / "m.keras"
    models["subclassing"].save(path)
    loaded = keras.saving.load_model(path)
    assert np.max(np.abs(as_list(loaded(x, training=False))[0] - reference[0])) <= 1e-6
