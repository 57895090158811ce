"""Accuracy on the bundled digits with the settings recommended for specs/digits_*.tfs."""

import pytest

pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

from tfspec.runtime import train_model  # noqa: E402

from .test_runtime_support import training  # noqa: E402

L = keras.layers


def digits_mlp():
    return keras.Sequential([keras.Input((8, 8)), L.Flatten(), L.Dense(128, activation="relu"), L.Dropout(0.1),
                             L.Dense(10, activation="softmax")])


def digits_cnn():
    return keras.Sequential([keras.Input((8, 8, 1)), L.Conv2D(32, 3, padding="same", activation="relu"),
                             L.Conv2D(64, 3, padding="same", activation="relu"), L.MaxPooling2D(2), L.Flatten(),
                             L.Dense(128, activation="relu"), L.Dropout(0.2), L.Dense(10, activation="softmax")])


def test_digits_mlp_reaches_97_percent():
    opts = training(epochs=100, batch_size=64, seed=7,
                    optimizer={"class_name": "Adam", "config": {"learning_rate": 0.002}})
    result = train_model(None, opts, model_fn=digits_mlp, quiet=True)
    assert result.test["accuracy"] >= 0.97 and result.seconds < 60


@pytest.mark.slow
def test_digits_cnn_reaches_98_percent():
    opts = training(epochs=30, batch_size=32, seed=7,
                    optimizer={"class_name": "Adam", "config": {"learning_rate": 0.001}})
    result = train_model(None, opts, model_fn=digits_cnn, quiet=True)  # 8x8 digits reshaped to 8x8x1
    assert result.test["accuracy"] >= 0.98 and result.seconds < 60


def test_jit_compile_switch_trains():
    result = train_model(None, training(epochs=2, jit_compile=True), model_fn=digits_mlp, quiet=True)
    assert result.test["accuracy"] > 0.8 and result.traces == 2
