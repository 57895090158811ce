"""BatchNormalization trained through TensorFlow's fused kernel: the same outputs, gradients and moving
statistics as Keras's own call, only where that holds, and Keras's call back after training."""

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

from tfspec.runtime import loop as loop_module  # noqa: E402
from tfspec.runtime import train_model  # noqa: E402
from tfspec.runtime.fused_norm import eligible, fused_batch_norm  # noqa: E402


def normalised(layer, x):
    """Output, gradients (x, gamma, beta) of sum(y**3), and the moving statistics after one
    training call of `layer` on `x`."""
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x, training=True)
        loss = tf.reduce_sum(tf.cast(y, tf.float32) ** 3)
    sources = [x] + [w for w in (getattr(layer, "gamma", None), getattr(layer, "beta", None)) if w is not None]
    grads = tape.gradient(loss, sources)
    return [y.numpy(), *[g.numpy() for g in grads], layer.moving_mean.numpy(), layer.moving_variance.numpy()]


@pytest.mark.parametrize(
    "shape, options",
    [
        ((8, 5, 6, 4), {}),  # after a convolution: the kernel's own layout
        ((16, 7), {"momentum": 0.9}),  # after a Dense layer: rank 2, reshaped for the kernel
        ((4, 9, 3), {"center": False, "scale": False, "epsilon": 0.01}),  # a sequence, no gamma or beta
        ((1, 1, 1, 5), {}),  # one value per channel: a variance of 0 (Keras's, not the kernel's NaN)
    ],
)
def test_fused_matches_keras(shape, options):
    rng = np.random.default_rng(0)
    x = tf.constant(rng.normal(2.0, 3.0, shape).astype("float32"))
    moving = rng.normal(size=shape[-1]).astype("float32"), rng.uniform(0.5, 2.0, shape[-1]).astype("float32")
    results = []
    for fuse in (False, True):
        layer = keras.layers.BatchNormalization(**options)
        layer.build(shape)
        layer.moving_mean.assign(moving[0])
        layer.moving_variance.assign(moving[1])
        if fuse:
            holder = keras.Sequential([layer])
            with fused_batch_norm(holder) as count:
                assert count == 1 and "call" in vars(layer)
                results.append(normalised(layer, x))
            assert "call" not in vars(layer)  # Keras's own call again
        else:
            results.append(normalised(layer, x))
    for keras_value, fused_value in zip(*results):
        np.testing.assert_allclose(fused_value, keras_value, rtol=1e-4, atol=1e-4 * np.abs(keras_value).max())


def test_only_the_same_computation_is_fused():
    assert eligible(keras.layers.BatchNormalization())
    assert not eligible(keras.layers.BatchNormalization(renorm=True))
    assert not eligible(keras.layers.BatchNormalization(synchronized=True))

    class Mine(keras.layers.BatchNormalization):
        pass

    assert not eligible(Mine())
    # another axis, inference, a mask, float64 (which Keras normalises in float64): Keras's own call
    values = np.random.default_rng(1).normal(size=(6, 3, 4))
    for layer_options, call_options in (
        ({"axis": 1}, {"training": True}),
        ({}, {"training": False}),
        ({}, {"training": True, "mask": tf.constant([[True, True, False]] * 6)}),
        ({"dtype": "float64"}, {"training": True}),
    ):
        x = tf.constant(values, layer_options.get("dtype", "float32"))
        plain, fused = (
            keras.layers.BatchNormalization(**layer_options),
            keras.layers.BatchNormalization(**layer_options),
        )
        plain.build(x.shape)
        fused.build(x.shape)
        expected = plain(x, **call_options).numpy()
        with fused_batch_norm(keras.Sequential([fused])):
            got = fused(x, **call_options).numpy()
        np.testing.assert_array_equal(got, expected)


def test_training_with_fused_norm_matches_keras_call(monkeypatch):
    """A convolutional model with BatchNormalization trains with the same losses and weights
    (SGD: no sign-amplified noise) whether the runtime fuses its normalisations or not."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(96, 6, 6, 2)).astype("float32")
    y = rng.integers(0, 3, 96).astype("int32")

    def model():
        keras.utils.set_random_seed(0)
        inputs = keras.Input((6, 6, 2))
        h = keras.layers.Conv2D(4, 3, use_bias=False)(inputs)
        h = keras.layers.BatchNormalization()(h)
        h = keras.layers.ReLU()(keras.layers.Flatten()(h))
        h = keras.layers.Dense(8)(h)
        h = keras.layers.BatchNormalization(center=False)(h)
        return keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(h))

    settings = {
        "optimizer": {"class_name": "SGD", "config": {"learning_rate": 0.05, "momentum": 0.9}},
        "loss": {"class_name": "SparseCategoricalCrossentropy", "config": {}},
        "metrics": [],
        "epochs": 3,
        "batch_size": 16,
        "seed": 0,
    }
    fused = train_model(None, settings, (x, y), model_fn=model, quiet=True)
    assert all("call" not in vars(layer) for layer in fused.model._flatten_layers())
    monkeypatch.setattr(loop_module, "fused_batch_norm", lambda model, enabled=True: fused_batch_norm(model, False))
    plain = train_model(None, settings, (x, y), model_fn=model, quiet=True)
    np.testing.assert_allclose(fused.history["loss"], plain.history["loss"], rtol=1e-4)
    for a, b in zip(fused.model.get_weights(), plain.model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-4)
