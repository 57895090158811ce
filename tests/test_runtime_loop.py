"""The training loop: real training, outputs, exact loss accounting, no retracing, model kinds."""

import io
import json
import math
import os

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

from tfspec.runtime import Callback, TrainingError, evaluate_model, train_model  # noqa: E402
from tfspec.runtime.objects import fuse_adam  # noqa: E402

from .test_runtime_support import digits, mlp, training  # noqa: E402

SGD0 = {"class_name": "SGD", "config": {"learning_rate": 0.0}}  # no update: losses can be checked eagerly


def test_trains_digits_and_writes_outputs(tmp_path):
    model = mlp()
    result = train_model(
        model,
        training(epochs=3, validation_split=0.1),
        out_dir=str(tmp_path),
        quiet=True,
        source_text="# generated\n",
        spec_hash="abc",
    )
    assert result.model is model and result.epochs == 3
    assert result.test["accuracy"] > 0.85 and result.history["loss"][2] < result.history["loss"][0]
    assert set(result.history) == {"loss", "accuracy", "val_loss", "val_accuracy", "lr"}
    assert result.traces == 2  # one train function, one evaluation function, each traced once
    saved = json.loads((tmp_path / "history.json").read_text())
    assert saved["epoch"] == [1, 2, 3] and saved["val_accuracy"] == result.history["val_accuracy"]
    assert (tmp_path / "history.csv").read_text().splitlines()[0] == "epoch,accuracy,loss,lr,val_accuracy,val_loss"
    assert (tmp_path / "model.py").read_text() == "# generated\n"
    assert json.loads((tmp_path / "checkpoints" / "run.json").read_text())["spec_hash"] == "abc"
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    x = digits(5)[0]
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".tmp-")]  # atomic writes left nothing


def test_partial_last_batch_and_loss_accounting_are_exact():
    x, y = digits(100)  # batches of 32, 32, 32 and 4
    model = mlp(dropout=0)
    result = train_model(model, training(epochs=1, optimizer=SGD0, steps_per_call=2), (x, y), quiet=True)
    pred = model(x, training=False)
    expected = keras.losses.SparseCategoricalCrossentropy()(y, pred)
    assert result.steps == 4
    assert math.isclose(result.history["loss"][0], float(expected), rel_tol=1e-5)
    accuracy = float(np.mean(np.argmax(pred, axis=1) == y))
    assert math.isclose(result.history["accuracy"][0], accuracy, rel_tol=1e-6)


def test_steps_per_call_does_not_change_the_result():
    x, y = digits(300)
    weights = []
    for k in (1, 7, 25):
        result = train_model(
            mlp(seed=4), training(epochs=2, steps_per_call=k, seed=4, deterministic=True), (x, y), quiet=True
        )
        weights.append(result.model.get_weights())
    for other in weights[1:]:
        for a, b in zip(weights[0], other):
            np.testing.assert_allclose(a, b, atol=1e-6)


def test_regularisation_losses_are_included():
    x, y = digits(64)
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((8, 8)),
            keras.layers.Flatten(),
            keras.layers.Dense(16, activation="relu", kernel_regularizer=keras.regularizers.L2(0.1)),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    result = train_model(model, training(epochs=1, optimizer=SGD0), (x, y), quiet=True)
    data_loss = float(keras.losses.SparseCategoricalCrossentropy()(y, model(x)))
    penalty = float(sum(model.losses))
    assert penalty > 0.1
    assert math.isclose(result.history["loss"][0], data_loss + penalty, rel_tol=1e-5)
    before = model.get_weights()
    train_model(
        model,
        training(epochs=1, optimizer={"class_name": "SGD", "config": {"learning_rate": 0.5}}),
        (np.zeros_like(x), np.zeros_like(y)),
        quiet=True,
    )
    assert np.abs(model.get_weights()[0]).sum() < np.abs(before[0]).sum()  # the penalty shrinks the kernel


def two_output_model():
    keras.utils.set_random_seed(0)
    image = keras.Input((8, 8), name="image")
    hidden = keras.layers.Dense(32, activation="relu")(keras.layers.Flatten()(image))
    digit = keras.layers.Dense(10, activation="softmax", name="digit")(hidden)
    big = keras.layers.Dense(1, activation="sigmoid", name="big")(hidden)
    return keras.Model(image, {"digit": digit, "big": big})


def test_multi_output_losses_weights_and_metrics():
    x, y = digits(400)
    labels = {"digit": y, "big": (y >= 5).astype("float32")}
    opts = training(
        epochs=3,
        outputs=["digit", "big"],
        loss={
            "digit": {"class_name": "SparseCategoricalCrossentropy", "config": {}},
            "big": {"class_name": "BinaryCrossentropy", "config": {}},
        },
        loss_weights={"digit": 1.0, "big": 0.5},
    )
    result = train_model(two_output_model(), opts, {"train": (x, labels)}, quiet=True)
    h = result.history
    assert {"digit_loss", "big_loss", "digit_accuracy", "big_accuracy"} <= set(h)
    for epoch in range(3):
        assert math.isclose(h["loss"][epoch], h["digit_loss"][epoch] + 0.5 * h["big_loss"][epoch], rel_tol=1e-5)
    assert h["big_loss"][-1] < h["big_loss"][0] and h["digit_accuracy"][-1] > 0.6
    only = train_model(
        two_output_model(),
        dict(opts, epochs=1, metrics={"big": [{"class_name": "AUC", "config": {}}]}),
        {"train": (x, [labels["digit"], labels["big"]])},
        quiet=True,
    )
    assert "big_auc" in only.history and "digit_accuracy" not in only.history


class Subclassed(keras.Model):
    def __init__(self):
        super().__init__()
        self.flatten = keras.layers.Flatten()
        self.hidden = keras.layers.Dense(32, activation="relu")
        self.out = keras.layers.Dense(10)

    def call(self, x, training=False):
        return self.out(self.hidden(self.flatten(x)))


def test_subclassed_model_with_logits_and_inputs_key():
    keras.utils.set_random_seed(0)
    model = Subclassed()
    model(np.zeros((1, 64), "float32"))
    opts = training(
        epochs=3,
        inputs=[{"name": "x", "shape": [64], "dtype": "float32"}],
        loss={"class_name": "SparseCategoricalCrossentropy", "config": {"from_logits": True}},
        metrics=[
            {"class_name": "acc", "config": {}},
            {"class_name": "SparseTopKCategoricalAccuracy", "config": {"k": 3}},
        ],
    )
    result = train_model(model, opts, quiet=True)  # digits 8x8 reshaped to the declared 64
    assert result.test["acc"] > 0.8 and result.test["sparse_top_k_categorical_accuracy"] > result.test["acc"]


def test_two_input_model_and_categorical_one_hot():
    keras.utils.set_random_seed(0)
    a, b = keras.Input((32,), name="left"), keras.Input((32,), name="right")
    merged = keras.layers.Concatenate()([a, b])
    model = keras.Model([a, b], keras.layers.Dense(10, activation="softmax")(merged))
    x, y = digits(300)
    flat = x.reshape(300, 64)
    opts = training(epochs=10, loss={"class_name": "CategoricalCrossentropy", "config": {}})
    result = train_model(model, opts, ({"left": flat[:, :32], "right": flat[:, 32:]}, y), quiet=True)
    assert result.history["accuracy"][-1] > 0.7  # "accuracy" resolved to categorical for one-hot labels


def test_schedule_learning_rate_is_logged():
    opts = training(
        epochs=3,
        optimizer={
            "class_name": "Adam",
            "config": {
                "learning_rate": {
                    "class_name": "ExponentialDecay",
                    "config": {"initial_learning_rate": 0.01, "decay_steps": 10, "decay_rate": 0.5},
                }
            },
        },
    )
    lrs = train_model(mlp(), opts, digits(320), quiet=True).history["lr"]
    assert lrs[0] == pytest.approx(0.005) and lrs[1] == pytest.approx(0.0025)  # 10 steps per epoch


class Poison(Callback):
    """Sets one weight of the first Dense kernel to NaN when epoch 2 begins."""

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == 1:
            weights = self.loop.model.get_weights()
            weights[0][0, 0] = np.nan
            self.loop.model.set_weights(weights)


def test_nan_loss_stops_with_a_clear_error_and_keeps_the_checkpoint(tmp_path):
    # With oneDNN (TensorFlow's default on x86) the fused MatMul+BiasAdd+Relu maps the NaN unit to 0
    # and the loss stays finite: the updated weights are checked too (tests/test_runtime_numerics.py
    # runs this with oneDNN on and off).
    model = mlp()
    with pytest.raises(
        TrainingError, match=r"^the (loss became nan|weights became non-finite \(NaN/Inf\)) at epoch 2, step 1\b"
    ):
        train_model(
            model, training(epochs=3, steps_per_call=5), out_dir=str(tmp_path), quiet=True, callbacks=[Poison()]
        )
    assert not (tmp_path / "model.keras").exists()
    reader = tf.train.load_checkpoint(str(tmp_path / "checkpoints"))
    epoch = [k for k in reader.get_variable_to_shape_map() if k.startswith("epoch/")][0]
    assert reader.get_tensor(epoch) == 1  # the checkpoint of epoch 1 is the last one, and finite
    values = [reader.get_tensor(k) for k in reader.get_variable_to_shape_map()]
    assert all(np.isfinite(v).all() for v in values if isinstance(v, np.ndarray) and v.dtype.kind == "f")


def test_evaluate_model_matches_the_test_figures():
    opts = training(epochs=2)
    result = train_model(mlp(), opts, quiet=True)
    again = evaluate_model(result.model, opts)
    assert again == pytest.approx(result.test, rel=1e-6)
    with pytest.raises(TrainingError, match="no 'validation' split"):
        evaluate_model(result.model, opts, split="validation")


def apply_function(optimizer, variables):
    return tf.function(lambda grads: optimizer.apply(grads, variables))


def test_fused_adam_matches_keras_adam():
    rng = np.random.default_rng(0)
    start = [rng.normal(size=(20, 7)).astype("float32"), rng.normal(size=(7,)).astype("float32")]
    results = []
    for fused, cls in (
        (False, keras.optimizers.Adam),
        (True, keras.optimizers.Adam),
        (False, keras.optimizers.AdamW),
        (True, keras.optimizers.AdamW),
    ):
        variables = [keras.Variable(w) for w in start]
        optimizer = cls(learning_rate=0.01)
        optimizer.build(variables)
        assert fuse_adam(optimizer) if fused else True
        step = apply_function(optimizer, variables)
        for i in range(30):
            step([tf.constant(np.random.default_rng(i).normal(size=w.shape).astype("float32")) for w in start])
        results.append([v.numpy() for v in variables])
    for plain, fused in (results[:2], results[2:]):
        for a, b in zip(plain, fused):
            np.testing.assert_allclose(a, b, atol=2e-6)
    assert not np.allclose(results[0][0], results[2][0])  # AdamW's weight decay did apply
    assert not fuse_adam(keras.optimizers.Adam(amsgrad=True)) and not fuse_adam(keras.optimizers.SGD())


def test_settings_errors():
    with pytest.raises(TypeError, match="unknown training settings"):
        train_model(mlp(), training(), epochz=1)
    with pytest.raises(TrainingError, match="need a loss"):
        train_model(mlp(), training(loss=None))
    with pytest.raises(ValueError, match="unknown optimizer 'Adamm'"):
        train_model(mlp(), training(optimizer={"class_name": "Adamm", "config": {}}), quiet=True)
    with pytest.raises(TrainingError, match="model_fn"):
        train_model(mlp(), training(distribute="mirrored"), quiet=True)


class TTY(io.StringIO):
    def isatty(self):
        return True


def test_progress_output():
    plain, tty, quiet = io.StringIO(), TTY(), io.StringIO()
    train_model(mlp(), training(epochs=2), stream=plain)
    lines = plain.getvalue().splitlines()
    assert len(lines) == 3 and lines[0].startswith("epoch 1/2") and "loss" in lines[0]
    assert lines[2].startswith("trained 2 epochs") and "test: loss" in lines[2]
    train_model(mlp(), training(epochs=1, steps_per_call=5), stream=tty)
    assert "ETA" in tty.getvalue() and "\r" in tty.getvalue()
    train_model(mlp(), training(epochs=1), stream=quiet, quiet=True)
    assert quiet.getvalue() == ""


def test_metric_resolution_and_stable_names():
    from tfspec.runtime.objects import make_metric

    def metric(name, y_true=(4,), y_pred=(4, 10), loss=None):
        return make_metric({"class_name": name, "config": {}}, y_true, y_pred, loss)

    assert [metric("AUC", y_pred=(4, 1)).name for _ in range(2)] == ["auc", "auc"]  # not auc_1
    assert type(metric("accuracy")).__name__ == "SparseCategoricalAccuracy"
    assert type(metric("acc", (4, 10))).__name__ == "CategoricalAccuracy"
    assert type(metric("accuracy", (4,), (4, 1))).__name__ == "BinaryAccuracy"
    assert (metric("mae", (4, 10)).name, type(metric("mae", (4, 10))).__name__) == ("mae", "MeanAbsoluteError")
    with pytest.raises(ValueError, match="unknown metric 'Telepathy'"):
        metric("Telepathy")


class SeenBatch(keras.layers.Layer):
    """Records the batch size each trace of the model sees (None: not known when tracing)."""

    seen = []

    def call(self, x):
        SeenBatch.seen.append(x.shape[0])
        return x


@pytest.mark.parametrize("rows, seen", [(96, {16}), (100, {16, None})])
def test_full_batches_are_traced_with_their_size(rows, seen):
    """Full batches reach the model with their size known (the graph can rely on it); a last partial
    batch, when the data has one, runs in a second loop traced without it, and every sample counts."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), SeenBatch(), keras.layers.Dense(3, activation="softmax")])
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(rows, 4)).astype("float32"), rng.integers(0, 3, rows).astype("int32")
    SeenBatch.seen = []
    result = train_model(
        model,
        training(epochs=1, batch_size=16, optimizer=SGD0, metrics=[], data=None, steps_per_call=3),
        (x, y),
        quiet=True,
    )
    assert set(SeenBatch.seen) - {1} == seen  # (1: the probe's one sample, before training)
    assert result.steps == math.ceil(rows / 16)
    expected = keras.losses.SparseCategoricalCrossentropy()(y, model(x)).numpy()
    assert result.history["loss"][0] == pytest.approx(float(expected), rel=1e-5)
