"""Accuracy on the bundled digits: the example specs, trained as written, in every style."""

import pytest

pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

import tfspec  # noqa: E402
from tfspec.backends import allowed_styles  # noqa: E402
from tfspec.runtime import train_model  # noqa: E402
from tfspec.training import train_run  # noqa: E402

from .helpers import spec_path  # noqa: E402
from .test_runtime_support import training  # noqa: E402

L = keras.layers


def digits_mlp():
    return keras.Sequential(
        [
            keras.Input((8, 8)),
            L.Flatten(),
            L.Dense(128, activation="relu"),
            L.Dropout(0.1),
            L.Dense(10, activation="softmax"),
        ]
    )


def test_the_example_specs_train_in_every_style():
    """specs/digits_mlp.tfs >= 0.97 and specs/digits_cnn.tfs >= 0.98 test accuracy, each style,
    with the settings written in the specs (the time it takes is reported in the README)."""
    for name, target in (("digits_mlp", 0.97), ("digits_cnn", 0.98)):
        spec = tfspec.load(spec_path(name))
        assert allowed_styles(spec) == ["sequential", "functional", "subclassing"]
        for style in allowed_styles(spec):
            result = train_run(spec, style=style, quiet=True)
            assert result.test["accuracy"] >= target, (name, style, result.test)


def test_jit_compile_switch_trains():
    result = train_model(None, training(epochs=2, jit_compile=True), model_fn=digits_mlp, quiet=True)
    assert result.test["accuracy"] > 0.8 and result.traces == 2
