"""The example plugin's classes in live models: built in both styles that can name tensors,
equal to the same model written by hand in Keras, trained by the runtime with the plugin's loss,
metric and callback, and saved to `.keras` and loaded back."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
np = pytest.importorskip("numpy")
keras = pytest.importorskip("keras")

import tfspec  # noqa: E402

SPEC = """
model Tiny {
    input x: float32[8]
    x -> Linear(4) -> ActivitySparsity(0.5) -> h
    h -> Dense(1, activation="sigmoid") -> y
    output y
}
train {
    optimizer = Adam(1e-2)
    loss = SummedBinaryCrossentropy()
    metrics = [BinaryTruePositives(threshold=0.4)]
    callbacks = [StopAtLoss(1e9)]
    epochs = 5
    batch = 16
}
"""


def hand_written():
    from tfspec_example.layers import ActivitySparsity, Linear

    x = keras.Input((8,))
    h = ActivitySparsity(0.5)(Linear(4)(x))
    return keras.Model(x, keras.layers.Dense(1, activation="sigmoid")(h))


def data(n=64):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 8)).astype("float32")
    return x, (x[:, :1] > 0).astype("float32")


@pytest.mark.parametrize("style", ["functional", "subclassing"])
def test_plugin_layers_match_a_hand_written_model(example_plugin, style):
    model = tfspec.build(tfspec.loads(SPEC), style)
    reference = hand_written()
    assert model.count_params() == reference.count_params() == 8 * 4 + 4 + 5
    reference.set_weights(model.get_weights())
    x, _ = data(8)
    np.testing.assert_allclose(model(x), reference(x), rtol=1e-6)
    # ActivitySparsity's add_loss: 0.5 * sum(h**2), the same in both
    assert len(model.losses) == 1
    np.testing.assert_allclose(float(model.losses[0]), float(reference.losses[0]), rtol=1e-5)


def test_the_runtime_trains_with_the_plugin_loss_metric_and_callback(example_plugin):
    result = tfspec.train(tfspec.loads(SPEC), data=data(), epochs=5, quiet=True)
    assert result.epochs == 1  # StopAtLoss(1e9) stopped after the first epoch
    assert set(result.history) >= {"loss", "binary_true_positives"}
    assert np.isfinite(result.history["loss"][0])


def test_the_objective_is_the_plugin_loss_plus_the_added_penalty(example_plugin):
    frozen = SPEC.replace("Adam(1e-2)", "Adam(0.0)")  # the weights stay as built: the loss can be recomputed
    spec = tfspec.loads(frozen)
    model = tfspec.build(spec, "functional")
    before = [w.copy() for w in model.get_weights()]
    x, y = data()
    result = tfspec.train(spec, model=model, data=(x, y), epochs=1, quiet=True)
    for a, b in zip(before, result.model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    from tfspec_example.layers import SummedBinaryCrossentropy

    pred = model(x)
    per_sample = SummedBinaryCrossentropy().call(keras.ops.convert_to_tensor(y), pred)
    hidden = keras.Model(model.inputs, model.layers[2].output)(x)  # ActivitySparsity's output
    penalty_per_batch = 0.5 * float(keras.ops.sum(keras.ops.square(hidden))) / 4  # 4 batches of 16
    expected = float(keras.ops.mean(per_sample)) + penalty_per_batch
    assert result.history["loss"][0] == pytest.approx(expected, rel=1e-4)


def test_sampling_draws_around_the_mean_with_the_given_spread(example_plugin):
    text = """
    model S {
        input mean: float32[2000]
        input log_var: float32[2000]
        [mean, log_var] -> Sampling(seed=7) -> z
        output z
    }
    """
    model = tfspec.build(tfspec.loads(text), "functional")
    mean = np.full((4, 2000), 3.0, "float32")
    log_var = np.full((4, 2000), np.log(0.25), "float32")
    z = np.asarray(model([mean, log_var]))
    assert abs(z.mean() - 3.0) < 0.05 and abs(z.std() - 0.5) < 0.05


def test_a_model_with_plugin_layers_saves_and_loads_as_keras(example_plugin, tmp_path):
    model = tfspec.build(tfspec.loads(SPEC), "functional")
    path = str(tmp_path / "tiny.keras")
    model.save(path)
    again = keras.saving.load_model(path)
    x, _ = data(4)
    np.testing.assert_allclose(again(x), model(x), rtol=1e-6)
    assert type(again.layers[1]).__name__ == "Linear"


def test_a_saved_model_with_plugin_layers_imports_as_a_spec(example_plugin, tmp_path):
    """`tfspec import` takes a layer of a loaded plugin's module (the installed class, never code
    from the file), nested in a wrapper too, and the spec it writes rebuilds the same model."""
    from tfspec_example.layers import Linear

    from tfspec.cli import main

    x = keras.Input((8,))
    h = Linear(4)(x)
    y = keras.layers.TimeDistributed(Linear(3))(keras.layers.Reshape((2, 2))(h))
    original = keras.Model(x, y)
    path, out = str(tmp_path / "plug.keras"), str(tmp_path / "plug.tfs")
    original.save(path)
    assert main(["import", path, "-o", out, "--weights"]) == 0
    with open(out, encoding="utf-8") as f:
        text = f.read()
    assert "Linear(units=4)" in text and "TimeDistributed(Linear(units=3))" in text
    rebuilt = tfspec.build(tfspec.load(out), "functional")
    rebuilt.set_weights(original.get_weights())
    data = np.random.default_rng(2).normal(size=(3, 8)).astype("float32")
    np.testing.assert_allclose(rebuilt(data), original(data), rtol=1e-6)


def test_without_the_plugin_its_classes_are_custom_code_to_import(example_plugin, no_plugins, tmp_path):
    from tfspec_example.layers import Linear

    from tfspec.cli import main

    x = keras.Input((8,))
    path = str(tmp_path / "plug.keras")
    keras.Model(x, Linear(4)(x)).save(path)
    assert main(["import", path, "-o", str(tmp_path / "plug.tfs")]) == 1
