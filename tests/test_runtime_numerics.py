"""Non-finite numbers: refused in the data, caught in training at the step they appear, never saved.

Why the weights are checked and not only the loss: with oneDNN (TensorFlow's default on x86),
Grappler fuses MatMul+BiasAdd+Relu into one oneDNN kernel whose ReLU returns 0 for NaN, so a NaN
weight (or a NaN reaching a Dense layer) leaves the loss finite while the gradients, then the
weights, fill with NaN. The child below runs each case with TF_ENABLE_ONEDNN_OPTS set before
TensorFlow is imported, once with oneDNN on and once off.

python -m tests.test_runtime_numerics nan '{"out": DIR}'     # the child
"""

import json
import os
import re
import subprocess
import sys
import zipfile

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

from tfspec.runtime import Callback, DataError, TrainingError, train_model  # noqa: E402
from tfspec.runtime.data import load_source, split_data  # noqa: E402

from .test_runtime_loop import Poison  # noqa: E402  (one NaN in the first kernel when epoch 2 begins)
from .test_runtime_support import ROOT, digits, env, finish, mlp, training  # noqa: E402

# ------------------------------------------------------------------ training stops (child process)


def sqrt_mlp():
    """sqrt(x) -> Dense(relu) -> Dense(softmax): a negative input is a NaN that meets the fused Dense."""
    keras.utils.set_random_seed(0)
    image = keras.Input((64,))
    root = keras.layers.Activation(tf.sqrt)(image)
    hidden = keras.layers.Dense(32, activation="relu")(root)
    return keras.Model(image, keras.layers.Dense(10, activation="softmax")(hidden))


def checkpoint_summary(folder):
    """(newest checkpoint number or None, whether every float in it is finite, its epoch)."""
    numbers = [int(m.group(1)) for f in os.listdir(folder) if (m := re.match(r"ckpt-(\d+)\.index$", f))]
    if not numbers:
        return None, True, None
    reader = tf.train.load_checkpoint(os.path.join(folder, f"ckpt-{max(numbers)}"))
    finite, epoch = True, None
    for key, dtype in reader.get_variable_to_dtype_map().items():
        if dtype.is_floating:
            finite = finite and bool(np.isfinite(reader.get_tensor(key)).all())
        if key.startswith("epoch/"):
            epoch = int(reader.get_tensor(key))
    return max(numbers), finite, epoch


def stopped(run, out_dir):
    """Run `run(out_dir)`; what the TrainingError said and what the run folder holds."""
    try:
        run(out_dir)
        return {"raised": False}
    except TrainingError as e:
        newest, finite, epoch = checkpoint_summary(os.path.join(out_dir, "checkpoints"))
        return {
            "raised": True,
            "message": str(e),
            "model_saved": os.path.exists(os.path.join(out_dir, "model.keras")),
            "newest": newest,
            "finite": finite,
            "epoch": epoch,
        }


def role_nan(args):
    out = args["out"]
    layer = keras.layers.Dense(3, activation="relu")
    layer.build((None, 5))
    kernel = np.ones((5, 3), np.float32)
    kernel[0, 0] = np.nan
    layer.kernel.assign(kernel)
    fused = tf.function(lambda t: layer(t))(tf.ones((2, 5))).numpy()[0, 0]
    report = {"onednn": os.environ.get("TF_ENABLE_ONEDNN_OPTS"), "relu_of_nan_in_graph": float(fused)}

    def poisoned(folder):
        train_model(mlp(), training(epochs=3, steps_per_call=5), out_dir=folder, quiet=True, callbacks=[Poison()])

    report["poison"] = stopped(poisoned, os.path.join(out, "poison"))

    x, y = digits(320)
    x = x.reshape(320, 64).copy()
    x[200, 5] = -1.0  # finite data; the model's sqrt makes it NaN
    for k in (25, 1):

        def hidden_nan(folder, k=k):
            opts = training(epochs=2, steps_per_call=k, deterministic=True, seed=1)
            train_model(sqrt_mlp(), opts, (x, y), out_dir=folder, quiet=True, checkpoint_every_steps=1)

        report[f"sqrt_{k}"] = stopped(hidden_nan, os.path.join(out, f"sqrt{k}"))

    x, y = digits(640)
    for k in (25, 1):

        def diverging(folder, k=k):
            opts = training(
                epochs=3,
                steps_per_call=k,
                deterministic=True,
                optimizer={"class_name": "SGD", "config": {"learning_rate": 1e10}},
            )
            train_model(mlp(dropout=0), opts, (x, y), out_dir=folder, quiet=True, checkpoint_every_steps=1)

        report[f"diverge_{k}"] = stopped(diverging, os.path.join(out, f"diverge{k}"))
    print("RESULT " + json.dumps(report))


def run_child(onednn, out):
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.test_runtime_numerics", "nan", json.dumps({"out": str(out)})],
        cwd=ROOT,
        env=env(TF_ENABLE_ONEDNN_OPTS=onednn),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output = finish(proc, timeout=300)
    return json.loads(next(line for line in output.splitlines() if line.startswith("RESULT "))[7:])


def named_step(message):
    epoch, step = re.search(r"at epoch (\d+), step (\d+)\b", message).groups()
    return int(epoch), int(step)


@pytest.mark.slow
@pytest.mark.parametrize("onednn", ["1", "0"])
def test_non_finite_training_stops_at_the_step_with_onednn_on_and_off(onednn, tmp_path):
    r = run_child(onednn, tmp_path)
    assert r["onednn"] == onednn
    loss_msg, weights_msg = "the loss became ", "the weights became non-finite (NaN/Inf) "

    # a NaN weight set between epochs: stopped at the first step of epoch 2, epoch 1's checkpoint kept
    poison = r["poison"]
    assert poison["raised"] and named_step(poison["message"]) == (2, 1), poison
    if r["relu_of_nan_in_graph"] == 0.0:  # oneDNN's fused kernel hid the NaN: the loss stayed finite
        assert poison["message"].startswith(weights_msg), poison
        assert re.search(r"dense(_\d+)?/kernel: 1 of 4096 values", poison["message"]), poison
    else:
        assert poison["message"].startswith(loss_msg + "nan")
    assert not poison["model_saved"] and poison["epoch"] == 1 and poison["finite"]
    assert "the last good checkpoint, which is kept" in poison["message"]

    # a NaN made inside the model from finite data, and a divergence to inf with finite data: the
    # call of 25 steps stops at the same step as calls of one step, and the newest checkpoint
    # (one per step) is the step before it, finite
    per_epoch = {"sqrt": 10, "diverge": 20}
    for case in ("sqrt", "diverge"):
        many, one = r[f"{case}_25"], r[f"{case}_1"]
        assert many["raised"] and one["raised"], (case, many, one)
        assert named_step(many["message"]) == named_step(one["message"]), (case, many["message"], one["message"])
        epoch, step = named_step(one["message"])
        global_step = (epoch - 1) * per_epoch[case] + step
        for run in (many, one):
            assert not run["model_saved"] and run["finite"], (case, run)
        assert one["newest"] == (global_step - 1 if global_step > 1 else None), (case, one)
        assert many["newest"] is None or many["newest"] < global_step
    assert r["diverge_1"]["message"].startswith(loss_msg)  # SGD at 1e10: the loss overflows


class PoisonRow(Callback):
    """Sets row 1 of the embedding table (looked up by every sample) to NaN when epoch 2 begins."""

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == 1:
            table = self.loop.model.layers[1].embeddings
            values = table.numpy()
            values[1, 2] = np.nan
            table.assign(values)


def test_sparse_gradients_check_the_rows_they_update():
    from tfspec.runtime.steps import updated_values

    keras.utils.set_random_seed(0)
    tokens = keras.Input((6,), dtype="int32")
    hidden = keras.layers.Flatten()(keras.layers.Embedding(500, 4)(tokens))
    model = keras.Model(
        tokens, keras.layers.Dense(3, activation="softmax")(keras.layers.Dense(8, activation="relu")(hidden))
    )
    x = np.random.default_rng(0).integers(2, 500, (64, 6)).astype(np.int32)
    x[:, 0] = 1  # every sample looks up row 1
    y = np.random.default_rng(1).integers(0, 3, 64).astype(np.int32)
    with tf.GradientTape() as tape:
        loss = keras.losses.SparseCategoricalCrossentropy()(y[:8], model(x[:8]))
    grads = tape.gradient(loss, model.trainable_variables)
    assert isinstance(grads[0], tf.IndexedSlices)  # the table's gradient is sparse
    values = updated_values(model.trainable_variables, grads, [])
    assert values[0].shape == (48, 4) and [v.shape for v in values[1:]] == [
        w.shape for w in model.trainable_variables[1:]
    ]
    with pytest.raises(TrainingError, match=r"at epoch 2, step 1\b"):
        train_model(
            model, training(epochs=3, batch_size=8, steps_per_call=4), (x, y), quiet=True, callbacks=[PoisonRow()]
        )


class Ballast(keras.layers.Layer):
    """Passes its input through; holds two huge but finite numbers (their float32 sum is Inf)."""

    def build(self, input_shape):
        self.big = self.add_weight(shape=(2,), initializer=keras.initializers.Constant(3e38), trainable=False)

    def call(self, x):
        return x


def test_finite_weights_whose_sum_overflows_train_on():
    # each step's quick check (a plain sum) overflows; the exact check clears every such step and
    # the call goes on with the rest of its block: the weights equal those of a model without it
    x, y = digits(300)
    results = []
    for ballast in (False, True):
        keras.utils.set_random_seed(0)
        layers = [keras.Input((8, 8)), keras.layers.Flatten()] + ([Ballast()] if ballast else [])
        layers += [keras.layers.Dense(32, activation="relu"), keras.layers.Dense(10, activation="softmax")]
        result = train_model(
            keras.Sequential(layers), training(epochs=2, deterministic=True, seed=3), (x, y), quiet=True
        )
        assert result.steps == 2 * 10
        results.append(result)
    plain, ballasted = results
    assert ballasted.history["loss"] == pytest.approx(plain.history["loss"], rel=1e-6)
    for a, b in zip(plain.model.trainable_weights, ballasted.model.trainable_weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-6)


class PoisonAtTheEnd(Callback):
    def on_epoch_end(self, epoch, logs=None):
        if epoch == 1:
            weights = self.loop.model.get_weights()
            weights[-1][0] = np.inf
            self.loop.model.set_weights(weights)


def test_weights_made_non_finite_by_a_callback_are_never_saved(tmp_path):
    with pytest.raises(TrainingError, match=r"weights hold non-finite values \(NaN/Inf\) before saving a checkpoint"):
        train_model(mlp(), training(epochs=2), out_dir=str(tmp_path), quiet=True, callbacks=[PoisonAtTheEnd()])
    assert not (tmp_path / "model.keras").exists()
    newest, finite, epoch = checkpoint_summary(tmp_path / "checkpoints")
    assert finite and epoch == 1


def test_non_finite_starting_weights_are_refused(tmp_path):
    model = mlp()
    weights = model.get_weights()
    weights[2][3, 4] = np.nan
    model.set_weights(weights)
    with pytest.raises(TrainingError, match=r"before training: .*dense(_\d+)?/kernel: 1 of 640 values"):
        train_model(model, training(epochs=1), out_dir=str(tmp_path), quiet=True)


# ------------------------------------------------------------------ the data are refused first


def test_arrays_with_nan_or_inf_are_refused_before_training(tmp_path):
    x, y = digits(100)
    x[17, 2, 5], x[40, 0, 0], x[41, 1, 1] = np.nan, np.inf, -np.inf
    with pytest.raises(
        DataError,
        match=re.escape(
            "the training data: x holds 3 non-finite values (NaN/Inf); the first is at sample 17, position (2, 5)"
        ),
    ):
        train_model(mlp(), training(), (x, y), out_dir=str(tmp_path / "run"), quiet=True)
    assert not (tmp_path / "run").exists()  # nothing was trained or written

    good_x, good_y = digits(100)
    bad_y = good_y.astype(np.float32)
    bad_y[7] = np.nan
    with pytest.raises(
        DataError, match=r"^data\['validation'\]: y holds 1 non-finite value \(NaN/Inf\); the first is at sample 7\b"
    ):
        train_model(mlp(), training(), {"train": (good_x, good_y), "validation": (good_x, bad_y)}, quiet=True)
    with pytest.raises(DataError, match=r"^data\['test'\]: x holds"):
        train_model(mlp(), training(), {"train": (good_x, good_y), "test": (x, good_y)}, quiet=True)
    with pytest.raises(DataError, match=r"^validation_data: x holds 3 non-finite"):
        train_model(mlp(), training(validation_data=(x, good_y)), (good_x, good_y), quiet=True)

    flat = good_x.reshape(100, 64).copy()
    flat[60, 40] = np.nan
    with pytest.raises(
        DataError, match=r"x\['right'\] holds 1 non-finite value \(NaN/Inf\); the first is at sample 60, position 8\b"
    ):
        split_data({"train": ({"left": flat[:, :32], "right": flat[:, 32:]}, good_y)}, training())


def test_values_beyond_float32_are_refused():
    x, y = digits(50)
    big = x.astype(np.float64)
    big[3, 4, 4] = 1e300  # finite in float64, Inf once converted to the model's float32
    with pytest.raises(DataError, match=r"^the training split: x holds 1 non-finite value \(NaN/Inf\) once converted"):
        train_model(mlp(), training(), (big, y), quiet=True)


def test_npz_and_csv_files_with_nan_are_refused(tmp_path):
    x, y = digits(60)
    x[33, 1, 2] = np.nan
    np.savez(tmp_path / "nan.npz", x=x, y=y)
    with pytest.raises(
        DataError,
        match=r"nan\.npz: x holds 1 non-finite value \(NaN/Inf\); the first is at sample 33, position \(1, 2\)",
    ):
        train_model(mlp(), training(data={"source": "npz", "path": str(tmp_path / "nan.npz")}), quiet=True)
    clean_x, _ = digits(60)
    np.savez(tmp_path / "split.npz", x_train=clean_x, y_train=y, x_test=x, y_test=y)
    with pytest.raises(DataError, match=r"split\.npz \(its test split\): x holds 1"):
        train_model(mlp(), training(data={"source": "npz", "path": str(tmp_path / "split.npz")}), quiet=True)

    (tmp_path / "nan.csv").write_text("a,b,target\n1,2,0\n3,nan,1\n5,inf,1\n")
    with pytest.raises(DataError, match=r"nan\.csv: 2 values are not finite .*; the first is on line 3, column 2$"):
        load_source({"source": "csv", "path": "nan.csv", "label": "target"}, tmp_path)
    (tmp_path / "huge.csv").write_text("a,target\n1,0\n1e39,1\n")
    with pytest.raises(
        DataError,
        match=r"1 value is not finite \(NaN/Inf, or beyond float32's range\); the first is on line 3, column 1",
    ):
        load_source({"source": "csv", "path": "huge.csv", "label": "target"}, tmp_path)


@pytest.mark.slow
def test_cli_refuses_an_npz_with_a_nan_and_exits_non_zero(tmp_path):
    x, y = digits(200)
    x[120, 3, 3] = np.nan
    np.savez(tmp_path / "poisoned.npz", x=x, y=y)
    proc = subprocess.run(
        [sys.executable, "-m", "tfspec", "train", os.path.join(ROOT, "specs", "digits_mlp.tfs")]
        + ["--data", str(tmp_path / "poisoned.npz"), "--epochs", "1", "--out", str(tmp_path / "run"), "--quiet"],
        cwd=ROOT,
        env=env(),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode != 0, proc.stdout + proc.stderr
    assert "x holds 1 non-finite value (NaN/Inf); the first is at sample 120, position (3, 3)" in proc.stderr
    assert not (tmp_path / "run" / "model.keras").exists()


# ------------------------------------------------------------------ messages never show file contents

SECRET = "s3cr3t-token"


def message_of(spec, base_dir):
    with pytest.raises(DataError) as info:
        load_source(spec, base_dir)
    assert SECRET not in str(info.value), str(info.value)
    return str(info.value)


def test_csv_errors_never_echo_the_file(tmp_path):
    (tmp_path / "passwd").write_text(f"root:x:0:0:{SECRET}:/root:/bin/bash\ndaemon:x:1:1:{SECRET}:/usr/sbin\n")
    text = message_of({"source": "csv", "path": "passwd", "label": "root"}, tmp_path)
    assert text.endswith("the header row has 1 column and none is named 'root' (the label column asked for)")
    (tmp_path / "cells.csv").write_text(f"a,b\n1,2\n3,{SECRET}\n")
    assert message_of({"source": "csv", "path": "cells.csv", "label": "b"}, tmp_path).endswith(
        "every value must be numeric; line 3, column 2 is not a number"
    )
    (tmp_path / "ragged.csv").write_text(f"a,b\n1,2,{SECRET}\n")
    assert "line 2 has 3 values; the header row has 2 columns" in message_of(
        {"source": "csv", "path": "ragged.csv", "label": "b"}, tmp_path
    )
    (tmp_path / "features.csv").write_text(f"{SECRET},b\n1,2\n")
    assert "none is named 'f'" in message_of(
        {"source": "csv", "path": "features.csv", "label": "b", "features": ["f"]}, tmp_path
    )
    (tmp_path / "binary.csv").write_bytes(b"\xff\xfe" + SECRET.encode() + b"\x00\x81")
    assert "not a UTF-8 text (CSV) file" in message_of({"source": "csv", "path": "binary.csv"}, tmp_path)


@pytest.mark.skipif(not os.path.isfile("/etc/passwd"), reason="no /etc/passwd here")
def test_csv_of_etc_passwd_names_no_line_of_it():
    with pytest.raises(DataError) as info:
        load_source({"source": "csv", "path": "/etc/passwd", "label": "root"})
    text = str(info.value)
    with open("/etc/passwd", encoding="utf-8", errors="replace") as f:
        lines = [line.strip() for line in f if line.strip()]
    assert not any(line in text or line.split(",")[0] in text for line in lines), text
    assert "none is named 'root'" in text


def test_npz_errors_never_echo_the_file(tmp_path):
    (tmp_path / "text.npz").write_text(f"{SECRET}\n")
    assert "not a .npz file of plain numpy arrays" in message_of({"source": "npz", "path": "text.npz"}, tmp_path)
    with zipfile.ZipFile(tmp_path / "other.npz", "w") as z:  # a zip, not written by numpy.savez
        z.writestr(f"{SECRET}.txt", SECRET)
        z.writestr("x.npy", b"")
    assert "(1 array in it)" in message_of({"source": "npz", "path": "other.npz", "x": "features"}, tmp_path)
    np.save(tmp_path / "single.npy", np.zeros(3))
    os.replace(tmp_path / "single.npy", tmp_path / "single.npz")
    assert "holds a single array (.npy)" in message_of({"source": "npz", "path": "single.npz"}, tmp_path)
    np.savez(tmp_path / "ok.npz", features=np.zeros((2, 2)), labels=np.zeros(2))
    assert message_of({"source": "npz", "path": "ok.npz"}, tmp_path).endswith(
        "no array named 'x' (it has features, labels)"
    )  # a numpy.savez file's names are its keys, listed


if __name__ == "__main__":
    {"nan": role_nan}[sys.argv[1]](json.loads(sys.argv[2]))
