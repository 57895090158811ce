"""Callbacks from the spec and the Python callback interface."""

import csv

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from tfspec.runtime import Callback, TrainingError, train_model  # noqa: E402
from tfspec.runtime.callbacks import LearningRateScheduler, from_spec  # noqa: E402

from .test_runtime_support import digits, mlp, training  # noqa: E402


def spec(name, **config):
    return {"class_name": name, "config": config}


class Recorder(Callback):
    def __init__(self):
        self.events, self.weights = [], []

    def on_train_begin(self, logs=None):
        self.events.append("begin")

    def on_epoch_begin(self, epoch, logs=None):
        self.events.append(f"epoch {epoch}")

    def on_epoch_end(self, epoch, logs=None):
        self.events.append(f"end {epoch} {sorted(logs)}")
        self.weights.append(self.loop.model.get_weights())

    def on_train_end(self, logs=None):
        self.events.append("done")


class StopAfter(Callback):
    def on_epoch_end(self, epoch, logs=None):
        if epoch == 1:
            self.loop.stop_training = True


def test_user_callback_hooks_and_stop():
    recorder = Recorder()
    result = train_model(mlp(), training(epochs=5), quiet=True, callbacks=[recorder, StopAfter()])
    assert result.epochs == 2
    assert recorder.events == [
        "begin",
        "epoch 0",
        "end 0 ['accuracy', 'loss', 'lr']",
        "epoch 1",
        "end 1 ['accuracy', 'loss', 'lr']",
        "done",
    ]


def test_early_stopping_restores_the_best_weights():
    x, y = digits(600)
    noisy = np.random.default_rng(0).integers(0, 10, 100)  # random labels: val_loss soon gets worse
    opts = training(
        epochs=30,
        optimizer={"class_name": "Adam", "config": {"learning_rate": 0.05}},
        callbacks=[spec("EarlyStopping", monitor="val_loss", patience=2, restore_best_weights=True)],
    )
    recorder = Recorder()
    result = train_model(
        mlp(), opts, {"train": (x[:500], y[:500]), "validation": (x[500:], noisy)}, quiet=True, callbacks=[recorder]
    )
    losses = result.history["val_loss"]
    best = int(np.argmin(losses))
    assert result.epochs == best + 3 < 30
    for a, b in zip(result.model.get_weights(), recorder.weights[best]):
        np.testing.assert_array_equal(a, b)


def test_reduce_lr_on_plateau_and_scheduler():
    opts = training(epochs=4, callbacks=[spec("ReduceLROnPlateau", monitor="loss", mode="max", factor=0.5, patience=1)])
    lrs = train_model(mlp(), opts, digits(200), quiet=True).history["lr"]
    assert lrs == pytest.approx([0.003, 0.003, 0.0015, 0.00075])  # "max" on a falling loss: never better
    opts = training(epochs=3, callbacks=[spec("LearningRateScheduler", schedule="exponential", rate=0.5)])
    assert train_model(mlp(), opts, digits(200), quiet=True).history["lr"] == pytest.approx([0.003, 0.0015, 0.00075])


def test_named_schedules():
    cases = {
        ("step", (("factor", 0.1), ("every", 2))): [1.0, 1.0, 0.1, 0.1],
        ("cosine", (("epochs", 2),)): [1.0, 0.5, 0.0, 0.0],
        ("piecewise", (("boundaries", (1, 3)), ("values", (1.0, 0.5, 0.25)))): [1.0, 0.5, 0.5, 0.25],
        ("warmup", (("epochs", 2),)): [0.5, 1.0, 1.0, 1.0],
        ("inverse_time", (("rate", 1.0),)): [1.0, 0.5, 1 / 3, 0.25],
    }
    for (name, params), expected in cases.items():
        params = {k: list(v) if isinstance(v, tuple) else v for k, v in params}
        cb = LearningRateScheduler(name, initial=1.0, **params)
        got = [cb.fn(1.0, e, **cb.params) for e in range(4)]
        assert got == pytest.approx(expected), name
    with pytest.raises(ValueError, match="takes"):
        LearningRateScheduler("step", rate=2)
    with pytest.raises(ValueError, match="unknown schedule"):
        LearningRateScheduler("zigzag")


def test_checkpoint_tensorboard_and_csv_files(tmp_path):
    opts = training(
        epochs=3,
        validation_split=0.2,
        callbacks=[
            spec("ModelCheckpoint", save_best_only=True, monitor="val_accuracy"),
            spec("ModelCheckpoint", filepath="weights/e{epoch:02d}.weights.h5", save_weights_only=True),
            spec("TensorBoard", log_dir="tb"),
            spec("CSVLogger", filename="log.csv"),
        ],
    )
    train_model(mlp(), opts, out_dir=str(tmp_path), quiet=True)
    assert (tmp_path / "best.keras").is_file()
    assert sorted(p.name for p in (tmp_path / "weights").iterdir()) == [f"e0{i}.weights.h5" for i in (1, 2, 3)]
    rows = list(csv.DictReader((tmp_path / "log.csv").open()))
    assert [r["epoch"] for r in rows] == ["1", "2", "3"] and "val_accuracy" in rows[0]
    for split in ("train", "validation"):
        events = list((tmp_path / "tb" / split).iterdir())
        assert events
        values = {
            (v.tag, e.step): tf.make_ndarray(v.tensor)
            for e in tf.compat.v1.train.summary_iterator(str(events[0]))
            for v in e.summary.value
        }
        assert {("epoch_loss", 3), ("epoch_accuracy", 1)} <= set(values)
        assert all(
            v.metadata.plugin_data.plugin_name == "scalars"
            for e in tf.compat.v1.train.summary_iterator(str(events[0]))
            for v in e.summary.value
        )


def test_bad_callbacks():
    with pytest.raises(ValueError, match="unknown callback 'Telepathy'"):
        from_spec(spec("Telepathy"))
    with pytest.raises(ValueError, match="EarlyStopping"):
        from_spec(spec("EarlyStopping", patience=1, bogus=True))
    with pytest.raises(ValueError, match="must end in .keras"):
        from_spec(spec("ModelCheckpoint", filepath="model.h5"))
    # ...and TrainingErrors, which `tfspec train` reports in one line (a traceback before)
    for bad in (spec("Telepathy"), spec("ReduceLROnPlateau", factor=2), spec("CSVLogger", filename="/x.csv")):
        with pytest.raises(TrainingError):
            from_spec(bad)
    schedule_opt = {
        "class_name": "Adam",
        "config": {
            "learning_rate": {
                "class_name": "CosineDecay",
                "config": {"initial_learning_rate": 0.01, "decay_steps": 100},
            }
        },
    }
    with pytest.raises(Exception, match="schedule"):
        train_model(mlp(), training(optimizer=schedule_opt, callbacks=[spec("LearningRateScheduler")]), quiet=True)
