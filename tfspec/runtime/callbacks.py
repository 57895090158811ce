"""Callbacks applied by the training loop (keras.callbacks need model.fit, so these are our own).

User interface: subclass `Callback`; the loop sets `self.loop` (model, optimizer, out_dir, history,
learning_rate, stop_training) before `on_train_begin`. Set `self.loop.stop_training = True` to stop
after the current epoch. Epochs are counted from 0; `logs` holds the epoch's loss, metrics, val_*
entries and lr. On resume `loop.history` already holds the finished epochs.

Paths that the built-in callbacks write (ModelCheckpoint's filepath, TensorBoard's log_dir,
CSVLogger's filename) are relative to the run folder (out_dir, or the working directory without
one) and must stay inside it: absolute paths, '..' and symbolic links leading out are refused,
when the callback is made and again right before each write.
"""

import csv
import math
import os
import warnings

from . import files
from .errors import TrainingError


class CallbackError(TrainingError, ValueError):
    """A callback's settings are wrong (unknown callback or argument, a path outside the run folder)."""


def run_path(loop, path, what):
    """The real path of `path` inside the run folder, checked now (symbolic links resolved)."""
    try:
        return files.inside(loop.out_dir or ".", path, what)
    except files.OutsidePath as exc:
        raise CallbackError(str(exc)) from None


def writable(folder, what, path):
    """Refuse a callback's file whose folder cannot be created or written, naming the part at fault."""
    problem = files.folder_problem(folder)
    if problem:
        raise CallbackError(f"{what} {path!r} cannot be written: {problem}")


def check_path(path, what):
    """Refuse a path that cannot be inside any run folder (absolute, '..', empty), before training."""
    problem = files.path_problem(path, callback=True)
    if problem:
        raise CallbackError(f"{what} {path!r} {problem}")


class Callback:
    loop = None

    def on_train_begin(self, logs=None):
        pass

    def on_epoch_begin(self, epoch, logs=None):
        pass

    def on_epoch_end(self, epoch, logs=None):
        pass

    def on_train_end(self, logs=None):
        pass


class Monitor:
    """Tracks the best value of one logged quantity."""

    MAX_WORDS = ("acc", "auc", "precision", "recall", "f1", "iou")

    def __init__(self, monitor, mode="auto", min_delta=0.0, baseline=None):
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"mode must be auto, min or max, not {mode!r}")
        if mode == "auto":
            mode = "max" if any(w in monitor for w in self.MAX_WORDS) else "min"
        self.monitor, self.sign = monitor, (1.0 if mode == "max" else -1.0)
        self.min_delta = abs(min_delta)
        self.best = baseline if baseline is not None else -self.sign * math.inf
        self._warned = False

    def value(self, logs):
        value = (logs or {}).get(self.monitor)
        if value is None and not self._warned:
            self._warned = True
            warnings.warn(
                f"monitor {self.monitor!r} is not logged (logged: {', '.join(sorted(logs or {}))})", stacklevel=3
            )
        return value

    def improved(self, value):
        """Whether `value` beats the best so far (and record it)."""
        if self.sign * (value - self.best) > self.min_delta:
            self.best = value
            return True
        return False


class EarlyStopping(Callback):
    """Stop when `monitor` stops improving; optionally restore the best epoch's weights at the end."""

    def __init__(
        self,
        monitor="val_loss",
        min_delta=0.0,
        patience=0,
        mode="auto",
        baseline=None,
        restore_best_weights=False,
        start_from_epoch=0,
    ):
        self.track = Monitor(monitor, mode, min_delta, baseline)
        self.patience, self.restore_best_weights = patience, restore_best_weights
        self.start_from_epoch = start_from_epoch
        self.wait, self.best_weights, self.best_epoch = 0, None, None

    def on_train_begin(self, logs=None):
        for epoch, past in enumerate(self.loop.history):  # resume: rebuild wait/best
            self._observe(epoch, past, keep_weights=False)
        if self.loop.history and self._exhausted():  # it had stopped the run that is resumed
            self.loop.stop_training = True

    def _exhausted(self):
        return self.wait >= max(self.patience, 1)

    def _observe(self, epoch, logs, keep_weights):
        value = self.track.value(logs)
        if value is None or epoch < self.start_from_epoch:
            return
        if self.track.improved(value):
            self.wait, self.best_epoch = 0, epoch
            if keep_weights and self.restore_best_weights:
                self.best_weights = [v.numpy() for v in self.loop.model.weights]
        else:
            self.wait += 1

    def on_epoch_end(self, epoch, logs=None):
        self._observe(epoch, logs, keep_weights=True)
        if self._exhausted():
            self.loop.stop_training = True

    def on_train_end(self, logs=None):
        if self.best_weights is not None and self.best_epoch != len(self.loop.history) - 1:
            for variable, value in zip(self.loop.model.weights, self.best_weights):
                variable.assign(value)


class ModelCheckpoint(Callback):
    """Save the model (`.keras`) or weights (`.weights.h5`) each epoch or when `monitor` improves.

    `filepath` is relative to out_dir and may hold `{epoch}` and any logged name, e.g.
    "model-{epoch:03d}-{val_loss:.3f}.keras".
    """

    def __init__(self, filepath=None, monitor="val_loss", mode="auto", save_best_only=False, save_weights_only=False):
        suffix = ".weights.h5" if save_weights_only else ".keras"
        self.filepath = filepath or ("best" + suffix if save_best_only else "model-{epoch:03d}" + suffix)
        check_path(self.filepath, "ModelCheckpoint filepath")
        problem = files.template_problem(self.filepath)
        if problem:
            raise CallbackError(f"ModelCheckpoint filepath {self.filepath!r} {problem}")
        if not self.filepath.endswith(suffix):
            raise CallbackError(f"ModelCheckpoint filepath must end with {suffix}: {self.filepath!r}")
        self.track = Monitor(monitor, mode)
        self.save_best_only = save_best_only

    def check_writable(self):
        """Refuse, before the run folder changes, a filepath whose folder cannot be written."""
        folder = os.path.dirname(self.filepath)
        if self.loop.is_chief and "{" not in folder:
            target = run_path(self.loop, folder, "ModelCheckpoint filepath") if folder else (self.loop.out_dir or ".")
            writable(target, "ModelCheckpoint filepath", self.filepath)

    def on_train_begin(self, logs=None):
        folder = os.path.dirname(self.filepath)
        if self.loop.is_chief and folder and "{" not in folder:
            run_path(self.loop, folder, "ModelCheckpoint filepath")  # refuse before the first epoch
        for past in self.loop.history:
            if self.track.value(past) is not None:
                self.track.improved(self.track.value(past))

    def on_epoch_end(self, epoch, logs=None):
        if self.save_best_only:
            value = self.track.value(logs)
            if value is None or not self.track.improved(value):
                return
        if self.loop.is_chief:
            files.save_model(self.loop.model, run_path(self.loop, self.name(epoch, logs), "ModelCheckpoint filepath"))

    def name(self, epoch, logs):
        """The file name for this epoch: the template filled with the epoch (from 1) and the logs."""
        values = {k: v for k, v in (logs or {}).items() if k != "epoch"}
        try:
            return self.filepath.format(**values, epoch=epoch + 1)
        except KeyError as exc:
            raise CallbackError(
                f"ModelCheckpoint filepath {self.filepath!r} names {exc.args[0]!r}, which is not logged "
                f"(logged: epoch, {', '.join(sorted(values))})"
            ) from None
        except (ValueError, IndexError) as exc:
            raise CallbackError(f"ModelCheckpoint filepath {self.filepath!r} cannot be filled in: {exc}") from None


class ReduceLROnPlateau(Callback):
    """Multiply the learning rate by `factor` after `patience` epochs without improvement."""

    def __init__(
        self, monitor="val_loss", factor=0.1, patience=10, mode="auto", min_delta=1e-4, cooldown=0, min_lr=0.0
    ):
        if not 0 < factor < 1:
            raise ValueError("ReduceLROnPlateau factor must be in (0, 1)")
        self.track = Monitor(monitor, mode, min_delta)
        self.factor, self.patience, self.cooldown, self.min_lr = factor, patience, cooldown, min_lr
        self.wait, self.cooling = 0, 0

    def on_train_begin(self, logs=None):
        for past in self.loop.history:  # resume: the lr itself comes back with the optimizer
            self._step(past)

    def _step(self, logs):
        """Advance the plateau counters; True when the lr should drop now."""
        value = self.track.value(logs)
        if value is None:
            return False
        if self.cooling > 0:
            self.cooling -= 1
            self.wait = 0
        if self.track.improved(value):
            self.wait = 0
        elif self.cooling == 0:
            self.wait += 1
            if self.wait >= self.patience:
                self.wait, self.cooling = 0, self.cooldown
                return True
        return False

    def on_epoch_end(self, epoch, logs=None):
        if self._step(logs):
            lr = self.loop.learning_rate
            if lr > self.min_lr:
                self.loop.learning_rate = max(lr * self.factor, self.min_lr)


SCHEDULES = {
    # name: (lr for epoch e from the initial lr, parameters with defaults)
    "exponential": (lambda lr0, e, rate: lr0 * rate**e, {"rate": 0.9}),
    "step": (lambda lr0, e, factor, every: lr0 * factor ** (e // every), {"factor": 0.5, "every": 10}),
    "cosine": (
        lambda lr0, e, epochs, min_lr: (
            min_lr + (lr0 - min_lr) * 0.5 * (1 + math.cos(math.pi * min(e, epochs) / epochs))
        ),
        {"epochs": 10, "min_lr": 0.0},
    ),
    "inverse_time": (lambda lr0, e, rate: lr0 / (1 + rate * e), {"rate": 0.5}),
    "piecewise": (
        lambda lr0, e, boundaries, values: values[sum(e >= b for b in boundaries)],
        {"boundaries": [], "values": None},
    ),
    "warmup": (lambda lr0, e, epochs: lr0 * min(1.0, (e + 1) / epochs), {"epochs": 5}),
}


class LearningRateScheduler(Callback):
    """Set the learning rate at the start of each epoch from a named schedule.

    schedule: exponential (rate), step (factor, every), cosine (epochs, min_lr),
    inverse_time (rate), piecewise (boundaries: epochs, values: lrs), warmup (epochs).
    The initial lr is the optimizer's as configured in the spec (or `initial`).
    """

    def __init__(self, schedule="exponential", initial=None, **params):
        if schedule not in SCHEDULES:
            raise ValueError(f"unknown schedule {schedule!r} (one of {', '.join(SCHEDULES)})")
        self.fn, defaults = SCHEDULES[schedule]
        unknown = set(params) - set(defaults)
        if unknown:
            raise ValueError(f"schedule {schedule!r} takes {sorted(defaults)}, not {sorted(unknown)}")
        self.params = {**defaults, **params}
        if schedule == "piecewise" and len(self.params["values"] or []) != len(self.params["boundaries"]) + 1:
            raise ValueError("piecewise schedule needs one more value than boundaries")
        self.initial = initial

    def on_epoch_begin(self, epoch, logs=None):
        initial = self.loop.initial_learning_rate if self.initial is None else self.initial
        self.loop.learning_rate = float(self.fn(initial, epoch, **self.params))


class TensorBoard(Callback):
    """Per-epoch scalars, <log_dir>/train and <log_dir>/validation, as TensorBoard's "scalars".

    Written with tf.summary.write and the scalars plugin's metadata, which needs no tensorboard
    package (tf.summary.scalar does). A log_dir that cannot be created or written (a file in the
    way, a read-only folder) is refused before the run folder changes (`check_writable`, called by
    the loop), and a write that fails later (disk full) is a one-line error naming the folder.
    """

    SPLITS = ("train", "validation")

    def __init__(self, log_dir="logs"):
        check_path(log_dir, "TensorBoard log_dir")
        self.log_dir = log_dir
        self.writers = {}

    def folders(self):
        """{split: real path} of the folders the event files go to, inside the run folder."""
        return {
            name: run_path(self.loop, os.path.join(self.log_dir, name), "TensorBoard log_dir") for name in self.SPLITS
        }

    def check_writable(self):
        """Refuse a log_dir whose folders cannot be created or written, naming the path and why."""
        if self.loop.is_chief:
            run_path(self.loop, self.log_dir, "TensorBoard log_dir")
            for folder in self.folders().values():
                problem = files.folder_problem(folder)
                if problem:
                    raise CallbackError(f"TensorBoard log_dir {self.log_dir!r} cannot be written: {problem}")

    def _failed(self, exc, doing):
        return CallbackError(
            f"TensorBoard could not {doing} in {self.log_dir!r}: {files.write_reason(exc)}; "
            + ("free space" if files.disk_full(exc) else "check the folder")
            + " (or remove the TensorBoard callback)"
        )

    def on_train_begin(self, logs=None):
        import tensorflow as tf
        from tensorflow.core.framework import summary_pb2

        self._tf = tf
        self._metadata = summary_pb2.SummaryMetadata(
            plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars")
        ).SerializeToString()
        if self.loop.is_chief:
            self.check_writable()
            try:
                self.writers = {name: tf.summary.create_file_writer(path) for name, path in self.folders().items()}
            except tf.errors.OpError as exc:  # the folder went away or became unwritable since the check
                raise self._failed(exc, "create its event files") from None

    def on_epoch_end(self, epoch, logs=None):
        try:
            for key, value in (logs or {}).items():
                split, name = ("validation", key[4:]) if key.startswith("val_") else ("train", key)
                if split in self.writers:
                    with self.writers[split].as_default():
                        self._tf.summary.write(
                            "epoch_" + name,
                            self._tf.constant(value, self._tf.float32),
                            step=epoch + 1,
                            metadata=self._metadata,
                        )
            for writer in self.writers.values():
                writer.flush()
        except self._tf.errors.OpError as exc:
            raise self._failed(exc, f"write the scalars of epoch {epoch + 1}") from None

    def on_train_end(self, logs=None):
        try:
            for writer in self.writers.values():
                writer.close()
        except self._tf.errors.OpError as exc:
            raise self._failed(exc, "close its event files") from None


class CSVLogger(Callback):
    """Write the history as CSV after each epoch (rewritten whole, atomically)."""

    def __init__(self, filename="history.csv", separator=","):
        check_path(filename, "CSVLogger filename")
        self.filename, self.separator = filename, separator

    def check_writable(self):
        """Refuse, before the run folder changes, a filename whose folder cannot be written."""
        if self.loop.is_chief:
            path = run_path(self.loop, self.filename, "CSVLogger filename")
            writable(os.path.dirname(path) or ".", "CSVLogger filename", self.filename)
            if os.path.isdir(path):
                raise CallbackError(f"CSVLogger filename {self.filename!r} is a folder, not a file")

    def on_train_begin(self, logs=None):
        if self.loop.is_chief:
            run_path(self.loop, self.filename, "CSVLogger filename")  # refuse before the first epoch

    def on_epoch_end(self, epoch, logs=None):
        if self.loop.is_chief:
            path = run_path(self.loop, self.filename, "CSVLogger filename")
            write_history_csv(path, self.loop.history + [logs], self.separator)


def write_history_csv(path, history, separator=","):
    """One row per epoch (numbered from 1), one column per logged name."""
    keys = sorted({k for row in history for k in row})
    with files.atomic_path(path) as tmp:
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f, delimiter=separator)
            writer.writerow(["epoch"] + keys)
            for epoch, row in enumerate(history, 1):
                writer.writerow([epoch] + ["" if row.get(k) is None else row[k] for k in keys])


BUILTIN = {
    cls.__name__: cls
    for cls in (EarlyStopping, ModelCheckpoint, ReduceLROnPlateau, LearningRateScheduler, TensorBoard, CSVLogger)
}


def from_spec(spec):
    """A callback from {"class_name", "config"}, judged by the train catalog first (as `check` does)."""
    from ..check import train_catalog as catalog

    name = spec.get("class_name") if isinstance(spec, dict) else None
    entry = catalog.lookup("callback", name) if isinstance(name, str) else None
    if entry is None or (name not in BUILTIN and entry.plugin is None):
        raise CallbackError(f"unknown callback {name!r} (one of {', '.join(sorted(BUILTIN))})")
    cls = BUILTIN.get(name)
    if entry.plugin is not None:
        from ..plugins import PluginError, keras_class

        try:
            cls = keras_class("callback", name)
        except PluginError as exc:
            raise CallbackError(str(exc)) from None
    config = dict(spec.get("config") or {})
    found = catalog.problems(entry, config)
    if found:
        raise CallbackError(found[0][2])
    try:
        return cls(**catalog.plain_config(entry, config))
    except CallbackError:
        raise
    except (TypeError, ValueError) as e:
        raise CallbackError(f"callback {name}: {e}") from e
