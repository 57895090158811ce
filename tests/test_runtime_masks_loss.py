"""The runtime's loss equals Keras's `fit`: masked outputs, regularisation, several outputs with loss weights.

Each case starts a model and a copy of it from identical weights, takes one SGD step on the same
batch with `model.fit` (shuffle off) and with the runtime, and compares the step's loss, the
metrics and the weight updates. Keras reduces a masked loss over the valid values only
(keras/src/losses/loss.py `apply_mask`: each valid value weighs total/valid), and its metrics
take the mask as sample weights.

python -m tests.test_runtime_masks_loss mirrored     # the child of the distributed test
"""

import json
import sys

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

from tfspec.runtime import evaluate_model, train_model  # noqa: E402

from .test_runtime_support import digits, finish, training  # noqa: E402

T, VOCAB, CLASSES = 12, 50, 5
TOLERANCE = 1e-5


def padded_sequences(n, seed=0):
    """Token ids padded with 0 to T (lengths 2..T) and per-step labels (those on padding are noise)."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(2, T + 1, n)
    x = np.zeros((n, T), np.int32)
    for i, length in enumerate(lengths):
        x[i, :length] = rng.integers(1, VOCAB, length)
    y = rng.integers(0, CLASSES, (n, T)).astype(np.int32)
    return x, y, lengths


def masked_tagger(seed=0):
    keras.utils.set_random_seed(seed)
    tokens = keras.Input((T,), dtype="int32", name="tokens")
    hidden = keras.layers.Embedding(VOCAB, 8, mask_zero=True)(tokens)
    return keras.Model(tokens, keras.layers.Dense(CLASSES, activation="softmax", name="tags")(hidden))


def masked_regressor(seed=0):
    """A masked LSTM sequence output with MSE: values are per-step means over the last axis."""
    keras.utils.set_random_seed(seed)
    tokens = keras.Input((T,), dtype="int32")
    hidden = keras.layers.Embedding(VOCAB, 8, mask_zero=True)(tokens)
    hidden = keras.layers.LSTM(6, return_sequences=True)(hidden)
    return keras.Model(tokens, keras.layers.Dense(3)(hidden))


def regularised_mlp(seed=0):
    keras.utils.set_random_seed(seed)
    image = keras.Input((8, 8))
    hidden = keras.layers.Dense(32, activation="relu", kernel_regularizer=keras.regularizers.L2(0.01))(
        keras.layers.Flatten()(image)
    )
    return keras.Model(image, keras.layers.Dense(10, activation="softmax")(hidden))


def two_outputs(seed=0):
    """A masked sequence output and an unmasked one (the mask is consumed by the pooling)."""
    keras.utils.set_random_seed(seed)
    tokens = keras.Input((T,), dtype="int32", name="tokens")
    hidden = keras.layers.Embedding(VOCAB, 8, mask_zero=True)(tokens)
    tags = keras.layers.Dense(CLASSES, activation="softmax", name="tags")(hidden)
    pooled = keras.layers.GlobalAveragePooling1D()(hidden)
    long = keras.layers.Dense(1, activation="sigmoid", name="long")(pooled)
    return keras.Model(tokens, {"tags": tags, "long": long})


def spec(name):
    return {"class_name": name, "config": {}}


def one_step_both_ways(build, x, y, loss, metrics=(), loss_weights=None, lr=0.5, jit_compile=False):
    """(fit's history, runtime's history, fit's weight updates, runtime's weight updates, the two models)."""
    reference = build()
    start = [w.copy() for w in reference.get_weights()]
    n = len(x)
    keras_loss = (
        {k: getattr(keras.losses, v["class_name"])() for k, v in loss.items()}
        if "class_name" not in loss
        else (getattr(keras.losses, loss["class_name"])())
    )
    keras_metrics = (
        {k: [m["class_name"] for m in v] for k, v in metrics.items()}
        if isinstance(metrics, dict)
        else [m["class_name"] for m in metrics]
    )
    reference.compile(
        optimizer=keras.optimizers.SGD(lr), loss=keras_loss, loss_weights=loss_weights, metrics=keras_metrics
    )
    fit = reference.fit(x, y, batch_size=n, epochs=1, shuffle=False, verbose=0).history
    fit_updates = [after - before for after, before in zip(reference.get_weights(), start)]

    model = build()
    for a, b in zip(model.get_weights(), start):
        np.testing.assert_array_equal(a, b)
    opts = training(
        epochs=1,
        batch_size=n,
        optimizer={"class_name": "SGD", "config": {"learning_rate": lr}},
        loss=loss,
        loss_weights=loss_weights,
        metrics=metrics,
        outputs=list(loss) if "class_name" not in loss else None,
        jit_compile=jit_compile,
    )
    result = train_model(model, opts, {"train": (x, y)}, quiet=True)
    updates = [after - before for after, before in zip(model.get_weights(), start)]
    return fit, result.history, fit_updates, updates, reference, model


def assert_same_step(fit, mine, fit_updates, updates, keys):
    for key in keys:
        assert abs(mine[key][0] - fit[key][0]) <= TOLERANCE, (key, mine[key][0], fit[key][0])
    assert len(updates) == len(fit_updates)
    assert max(float(np.abs(u).max()) for u in fit_updates) > 1e-2  # the step moved the weights: a real test
    for ours, theirs in zip(updates, fit_updates):
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=TOLERANCE)


def test_masked_output_matches_fit_when_compiled_with_xla():
    x, y, _ = padded_sequences(48)
    fit, mine, fit_updates, updates, *_ = one_step_both_ways(
        masked_tagger, x, y, spec("SparseCategoricalCrossentropy"), metrics=[spec("accuracy")], jit_compile=True
    )
    assert_same_step(fit, mine, fit_updates, updates, ["loss", "accuracy"])  # the masks survive the compiled step


def test_masked_sequence_output_matches_fit():
    x, y, lengths = padded_sequences(48)
    assert lengths.sum() / x.size < 0.75  # a quarter or more is padding: dividing by all steps would show
    fit, mine, fit_updates, updates, reference, model = one_step_both_ways(
        masked_tagger, x, y, spec("SparseCategoricalCrossentropy"), metrics=[spec("accuracy")]
    )
    assert_same_step(fit, mine, fit_updates, updates, ["loss", "accuracy"])
    # evaluation in batches of 16 (each with its own number of valid steps) weighs them like Keras
    x_val, y_val, _ = padded_sequences(40, seed=9)
    theirs = reference.evaluate(x_val, y_val, batch_size=16, verbose=0, return_dict=True)
    opts = training(batch_size=16, metrics=[spec("accuracy")], steps_per_call=2)
    ours = evaluate_model(model, opts, {"train": (x, y), "test": (x_val, y_val)}, split="test")
    assert ours == pytest.approx(theirs, abs=TOLERANCE)
    # the metric counts valid steps only (Keras passes the mask as sample weights)
    model = masked_tagger()
    pred = np.asarray(model(x)).argmax(-1)
    valid = x != 0
    assert abs(mine["accuracy"][0] - float((pred == y)[valid].mean())) <= 1e-6


def test_masked_lstm_regression_matches_fit():
    x, _, _ = padded_sequences(40, seed=1)
    y = np.random.default_rng(2).normal(size=(40, T, 3)).astype(np.float32)
    fit, mine, fit_updates, updates, *_ = one_step_both_ways(
        masked_regressor, x, y, spec("MeanSquaredError"), metrics=[spec("mae")], lr=1.0
    )
    assert_same_step(fit, mine, fit_updates, updates, ["loss", "mae"])


def test_unmasked_model_with_regularisation_matches_fit():
    x, y = digits(64)
    fit, mine, fit_updates, updates, *_ = one_step_both_ways(
        regularised_mlp, x, y, spec("SparseCategoricalCrossentropy"), metrics=[spec("accuracy")]
    )
    assert_same_step(fit, mine, fit_updates, updates, ["loss", "accuracy"])


def test_two_outputs_with_loss_weights_match_fit():
    x, y, lengths = padded_sequences(48, seed=3)
    labels = {"tags": y, "long": (lengths > T // 2).astype(np.float32)}
    loss = {"tags": spec("SparseCategoricalCrossentropy"), "long": spec("BinaryCrossentropy")}
    fit, mine, fit_updates, updates, *_ = one_step_both_ways(
        two_outputs,
        x,
        labels,
        loss,
        metrics={"tags": [spec("accuracy")], "long": [spec("accuracy")]},
        loss_weights={"tags": 0.7, "long": 2.0},
    )
    assert_same_step(fit, mine, fit_updates, updates, ["loss", "tags_loss", "long_loss", "tags_accuracy"])
    assert abs(mine["loss"][0] - (0.7 * mine["tags_loss"][0] + 2.0 * mine["long_loss"][0])) <= TOLERANCE


def test_fully_masked_batch_gives_zero_loss_like_keras():
    x, y, _ = padded_sequences(8)
    x[:] = 0  # nothing valid: Keras's divide_no_nan makes the loss 0, not NaN
    model = masked_tagger()
    keras_loss = keras.losses.SparseCategoricalCrossentropy()(y, model(x))
    result = train_model(
        model, training(epochs=1, batch_size=8, optimizer={"class_name": "SGD", "config": {}}), (x, y), quiet=True
    )
    assert float(keras_loss) == 0.0 and result.history["loss"] == [0.0]


def test_loss_reductions_follow_keras():
    x, y, _ = padded_sequences(32, seed=4)
    for reduction in ("sum", "mean_with_sample_weight"):
        loss = {"class_name": "SparseCategoricalCrossentropy", "config": {"reduction": reduction}}
        model = masked_tagger()
        expected = float(keras.losses.SparseCategoricalCrossentropy(reduction=reduction)(y, model(x)))
        result = train_model(
            model,
            training(
                epochs=1, batch_size=32, loss=loss, optimizer={"class_name": "SGD", "config": {"learning_rate": 0.0}}
            ),
            (x, y),
            quiet=True,
        )
        assert abs(result.history["loss"][0] - expected) <= TOLERANCE * max(1.0, abs(expected)), reduction
    with pytest.raises(ValueError, match="reduction must be one of"):
        train_model(
            masked_tagger(),
            training(loss={"class_name": "SparseCategoricalCrossentropy", "config": {"reduction": None}}),
            (x, y),
            quiet=True,
        )


@pytest.mark.slow
def test_masked_loss_on_two_replicas_matches_one_device():
    # 75 samples, global batches of 16: the last batch of 11 is split 6/5 with different numbers of
    # valid steps on each replica; the loss must still be the global batch's (divided once)
    out = finish(_child_masked(), timeout=240)
    result = json.loads(next(line for line in out.splitlines() if line.startswith("RESULT "))[7:])
    for mode in ("mirrored", "mirrored_jit"):
        assert result["max_diff"][mode] < 1e-5, (mode, result)
        np.testing.assert_allclose(result["history"][mode]["loss"], result["history"]["single"]["loss"], rtol=1e-5)
        np.testing.assert_allclose(
            result["history"][mode]["accuracy"], result["history"]["single"]["accuracy"], rtol=1e-5
        )


def _child_masked():
    import subprocess

    from .test_runtime_support import ROOT, env

    return subprocess.Popen(
        [sys.executable, "-m", "tests.test_runtime_masks_loss", "mirrored"],
        cwd=ROOT,
        env=env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def role_mirrored():
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    x, y, _ = padded_sequences(75, seed=5)
    weights, histories = {}, {}
    for mode, distribute, jit in (
        ("single", None, False),
        ("mirrored", "mirrored", False),
        ("mirrored_jit", "mirrored", True),
    ):
        opts = training(
            epochs=2,
            batch_size=16,
            seed=1,
            distribute=distribute,
            jit_compile=jit,
            optimizer={"class_name": "SGD", "config": {"learning_rate": 0.5, "momentum": 0.9}},
        )
        result = train_model(None, opts, {"train": (x, y)}, model_fn=masked_tagger, quiet=True)
        weights[mode], histories[mode] = result.model.get_weights(), result.history
    diff = {
        mode: max(float(np.max(np.abs(a - b))) for a, b in zip(weights[mode], weights["single"]))
        for mode in ("mirrored", "mirrored_jit")
    }
    print("RESULT " + json.dumps({"max_diff": diff, "history": histories}))


if __name__ == "__main__":
    {"mirrored": role_mirrored}[sys.argv[1]]()
