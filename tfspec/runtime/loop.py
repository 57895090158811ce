"""train_model / evaluate_model: the epoch loop around the traced steps of a Session.

What can go wrong once training runs is reported as a one-line TrainingError naming the cause,
where (epoch, step, file) and what to do, with the last good checkpoint kept: out of memory
(tf.errors.ResourceExhaustedError, MemoryError) in a train or evaluation call, a batch TensorFlow
refuses (tf.errors.InvalidArgumentError), a write that fails (OSError, a TensorFlow OpError from
its file system: disk full, permission denied) in a checkpoint, a callback or the run's files.
Only those classes are caught; anything else is a bug and keeps its traceback.
"""

import math
import os
import secrets
import time
import warnings
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from ..check.train_catalog import setting_problem
from . import adapt, checkpoint, curves, files
from . import callbacks as callbacks_module
from .distribute import get_strategy, is_chief, worker_rank
from .errors import SettingsError, TrainingError
from .fused_norm import fused_batch_norm
from .graphs import custom_gradients_released
from .objects import make_optimizer
from .progress import Progress
from .session import Session
from .switches import op_determinism, precision_policy

DEFAULTS = {
    "optimizer": {"class_name": "Adam", "config": {}},
    "loss": None,
    "loss_weights": None,
    "metrics": [],
    "epochs": 1,
    "batch_size": 32,
    "validation_split": None,
    "validation_data": None,
    "callbacks": [],
    "data": None,
    "seed": None,
    "distribute": None,
    "precision": None,
    "steps_per_call": 25,
    "jit_compile": False,
    "deterministic": False,
    # optional: the model's inputs and outputs, and checkpoints between epochs
    "inputs": None,
    "outputs": None,
    "checkpoint_every_steps": None,
    # the class names of a CSV file's text labels, {label column: names}, as a trained model knows them
    "classes": None,
}


def settings(training, overrides=None):
    """The training dict with defaults filled in and keyword overrides applied."""
    unknown = sorted(set(overrides or {}) - set(DEFAULTS))
    if unknown:
        raise TypeError(f"unknown training settings {unknown}")
    merged = {**DEFAULTS, **(training or {}), **(overrides or {})}
    if merged["loss"] is None:
        raise TrainingError("training settings need a loss")
    for key in ("epochs", "batch_size", "seed", "steps_per_call"):
        if merged[key] is not None and (problem := setting_problem(key, merged[key])):
            raise SettingsError(f"training setting {problem}")  # what `tfspec check` says of the spec
    split = merged["validation_split"]
    if split is not None and (isinstance(split, bool) or not isinstance(split, (int, float)) or not 0 < split < 1):
        raise SettingsError(f"training setting validation_split must be a number in (0, 1), got {split!r}")
    return merged


@dataclass
class TrainResult:
    model: object
    history: dict  # name -> one value per epoch
    test: dict  # loss and metrics on the test split, or None
    epochs: int
    steps: int  # steps run by this call (not those before a resume)
    seconds: float
    out_dir: str = None
    traces: int = 0  # tf.function traces: 1 train + 1 evaluation when nothing retraced
    classes: dict = None  # {label column: class names} of a CSV file's text labels (id = position)
    adapted: dict = None  # the learnt state of adapted layers that is not weights (adapt.document), or None


class Loop:
    """What callbacks see: the model, optimizer, history so far, and the stop flag."""

    def __init__(self, model, optimizer, out_dir, chief, initial_learning_rate):
        self.model, self.optimizer, self.out_dir = model, optimizer, out_dir
        self.history = []
        self.is_chief = chief
        self.stop_training = False
        self.initial_learning_rate = initial_learning_rate

    @property
    def learning_rate(self):
        return float(np.asarray(self.optimizer.learning_rate))

    @learning_rate.setter
    def learning_rate(self, value):
        try:
            self.optimizer.learning_rate = value
        except TypeError as e:
            raise TrainingError(
                "a callback cannot set the learning rate of an optimizer whose learning_rate is a schedule"
            ) from e

    def path(self, relative):
        """Where a callback may write `relative`: its real path inside the run folder (the working
        directory without one), symbolic links resolved; OutsidePath (a ValueError) otherwise."""
        return files.inside(self.out_dir or ".", relative)


def _seed(opts, info):
    if opts["seed"] is not None:
        return int(opts["seed"])
    if info and info.get("seed") is not None:
        return int(info["seed"])
    return 0 if opts["distribute"] == "multi_worker" else secrets.randbelow(2**31)  # workers must agree


def train_model(
    model,
    training,
    data=None,
    *,
    out_dir=None,
    resume=False,
    quiet=False,
    spec_hash=None,
    source_text=None,
    callbacks=(),
    model_fn=None,
    base_dir=None,
    stream=None,
    adapting=None,
    **overrides,
):
    """Train a built keras.Model, or the one `model_fn()` builds inside the strategy scope.

    `training` is the spec's training dict; `data` is (x, y), {"train": (x, y), "validation": ...,
    "test": ...}, a data-source dict, or None for training["data"] (relative paths against
    `base_dir`); keyword overrides replace training keys (epochs=1, checkpoint_every_steps=50...).
    With `out_dir`: checkpoints/ every epoch, then model.keras, history.json/.csv, curves.svg and model.py
    (`source_text`). `resume=True` continues from the newest checkpoint there. `adapting`: model ->
    [tfspec.runtime.adapt.Adapting], the layers that learn their state from the training split
    before the first step. Returns a TrainResult.
    """
    opts = settings(training, overrides)
    if out_dir:
        check_out_dir(out_dir)
    strategy = get_strategy(opts["distribute"])  # before any other op (multi-worker needs it first)
    ckpt_dir = os.path.join(out_dir, "checkpoints") if out_dir else None
    info = checkpoint.read_run_info(ckpt_dir) if (ckpt_dir and resume) else None
    checkpoint.check_resumable(info, spec_hash, ckpt_dir, batch_size=opts["batch_size"])
    seed = _seed(opts, info)
    if opts["seed"] is not None:
        keras.utils.set_random_seed(seed)
    with precision_policy(opts["precision"]), op_determinism(opts["deterministic"]):
        if model_fn is not None:
            with strategy.scope():
                model = model_fn()
        elif opts["distribute"]:
            raise TrainingError("distributed training builds the model inside the strategy scope: pass model_fn")
        if model is None:
            raise TrainingError("train_model needs a model or a model_fn")
        if opts["precision"] and model.dtype_policy.name != opts["precision"]:
            raise TrainingError(
                f"precision {opts['precision']}: the model was built with the "
                f"{model.dtype_policy.name} policy; pass model_fn so it is built under the policy"
            )
        with strategy.scope():
            optimizer = make_optimizer(opts["optimizer"], opts["precision"])
        # Keras's own call again afterwards; the training's traced graphs freed (tfspec.runtime.graphs)
        with fused_batch_norm(model, enabled=not opts["distribute"]), custom_gradients_released():
            session = prepared_session(model, opts, data, base_dir, strategy, optimizer, adapting)
            trainer = Trainer(session, seed, out_dir=out_dir, quiet=quiet, stream=stream, callbacks=callbacks)
            return trainer.run(resume=resume, spec_hash=spec_hash, source_text=source_text, info=info)


def check_out_dir(out_dir):
    """Refuse a run folder that cannot be written (a file, under a file, read-only, no permission)
    before anything is loaded or trained."""
    problem = files.folder_problem(os.path.join(out_dir, "checkpoints"))
    if problem:
        raise TrainingError(f"cannot write the run folder {out_dir!r}: {problem}; choose another output folder (--out)")


# A train or evaluation call that runs out of memory: TensorFlow's allocator, or numpy on the host.
OUT_OF_MEMORY = (tf.errors.ResourceExhaustedError, MemoryError)


def out_of_memory(where, batch_size, exc):
    reason = "numpy could not allocate an array" if isinstance(exc, MemoryError) else files.write_reason(exc, 160)
    return TrainingError(
        f"out of memory {where} with batch_size {batch_size} ({reason}); use a smaller batch_size (--batch-size) "
        "without --resume, or a smaller model"
    )


def prepared_session(model, opts, data, base_dir, strategy, optimizer=None, adapting=None):
    """The Session, or a TrainingError when its arrays do not fit in memory."""
    try:
        return Session(model, opts, data, base_dir, strategy, optimizer, adapting)
    except OUT_OF_MEMORY as exc:
        raise out_of_memory("while preparing the data and the model", opts["batch_size"], exc) from None


def refused_batch(exc):
    """The reason of an InvalidArgumentError raised in a traced step, on one line: TensorFlow's own
    sentence ("Received a label value of 12 which is outside the valid range of [0, 10)") without the
    node and stack lines around it, nor the batch's values it may list."""
    for line in exc.message.splitlines():
        line = line.strip()
        if line and not line.startswith(("Graph execution error", "Detected at node", "File ", "[[", "{{")):
            return files.write_reason(ValueError(line.split("  ")[0].rstrip(".")), 200)
    return type(exc).__name__


class Trainer:
    """The epoch loop: calls, running sums, checkpoints, callbacks, progress, outputs."""

    def __init__(self, session, seed, *, out_dir, quiet, stream, callbacks):
        self.session, self.opts, self.seed, self.out_dir = session, session.opts, seed, out_dir
        self.chief = is_chief(session.strategy)
        self.n_sums = session.steps.sums_size  # the running sums of the outputs' losses and the loss terms
        self.loop = Loop(
            session.model, session.optimizer, out_dir, self.chief, float(np.asarray(session.optimizer.learning_rate))
        )
        self.callbacks = [callbacks_module.from_spec(s) for s in self.opts["callbacks"] or []] + list(callbacks)
        self.pipeline = session.pipeline("train")
        self.per_epoch = session.steps_for(self.pipeline.size)
        self.progress = Progress(self.opts["epochs"], self.per_epoch, quiet=quiet or not self.chief, stream=stream)
        self.state = checkpoint.TrainState(self.n_sums)
        self.state.set(0, 0, 0.0, 0.0, np.zeros(self.n_sums), [])
        self.checkpoints = None

    def step_meaning(self):
        """What a step means in this run, kept in run.json: a resume must not change it."""
        return {
            "batch_size": self.opts["batch_size"],
            "steps_per_epoch": self.per_epoch,
            "train_samples": self.pipeline.size,
        }

    def _open_checkpoints(self, resume, spec_hash, info):
        """Restore the newest readable checkpoint when resuming, else start a fresh folder."""
        folder = os.path.join(self.out_dir, "checkpoints")
        if resume:
            checkpoint.check_resumable(info, None, folder, **self.step_meaning())
        task, index = worker_rank(self.session.strategy)
        scratch = None if self.chief else os.path.join(folder, f".worker-{task}-{index}")
        self.checkpoints = checkpoint.Checkpoints(
            folder,
            self.session.model,
            self.session.optimizer,
            [m for _, m in self.session.metrics],
            self.state,
            write_dir=scratch,
        )
        restored = resume and self.checkpoints.restore_latest()
        adapted = self.session.adapted
        if restored and adapted:  # the state the checkpoints were trained with, not this call's data's
            checkpoint.restore_adapted(folder, adapted)
        try:
            if not restored and self.chief:
                checkpoint.clear(folder)
            if self.chief:
                checkpoint.write_run_info(folder, {"spec_hash": spec_hash, "seed": self.seed, **self.step_meaning()})
                if adapted and not restored:
                    checkpoint.write_adapted(folder, adapted)
        except OSError as exc:
            kept = "the checkpoints are kept" if restored else None
            raise files.write_failure(exc, f"the checkpoints folder {folder}", self.out_dir, kept) from None

    def _save(self, epoch, step, sums):
        self._require_finite("saving a checkpoint")
        self.state.set(epoch, step, *sums, self.loop.history)
        self.checkpoints.save(self.global_step)

    def _kept(self):
        return (
            "nothing was saved after the last good checkpoint, which is kept"
            if self.checkpoints and self.checkpoints.candidates()
            else "nothing was saved"
        )

    def _out_of_memory(self, where, exc):
        error = out_of_memory(where, self.opts["batch_size"], exc)
        return TrainingError(f"{error}; training stopped ({self._kept()})")

    def _call(self, hook, *args, when=""):
        """Call `hook` of every callback; a file it cannot write (an OSError, or a TensorFlow file
        system error: files.write_error) stops training with a one-line TrainingError."""
        for cb in self.callbacks:
            try:
                getattr(cb, hook)(*args)
            except (OSError, tf.errors.OpError) as exc:
                if not files.write_error(exc):
                    raise
                name = (exc.filename2 or exc.filename) if isinstance(exc, OSError) else None  # os.replace: the target
                what = repr(str(name)) if name else "its files"
                raise files.write_failure(
                    exc, f"{what} for the {type(cb).__name__} callback{when}", self.out_dir, self._stopped()
                ) from None

    def _stopped(self):
        """ "training stopped; <what a resume continues from>", or None when no checkpoint is kept."""
        if self.checkpoints and self.checkpoints.candidates():
            return "training stopped; the last checkpoint is kept"
        return None

    def _diverged(self, out, epoch, step):
        """The TrainingError for a call that stopped at a non-finite loss or weight (`step`: that step)."""
        where = f"at epoch {epoch + 1}, step {step}"
        loss = float(out["last_loss"])  # that step's loss times its batch size
        if not math.isfinite(loss):
            return TrainingError(f"the loss became {loss} {where}; training stopped ({self._kept()})")
        return TrainingError(
            f"the weights became non-finite (NaN/Inf) {where} while the loss stayed finite: "
            f"{describe_non_finite(self.session.steps.non_finite_variables())}; training stopped ({self._kept()})"
        )

    def _require_finite(self, before):
        """Refuse to go on (save, train) with weights that hold NaN/Inf, e.g. set by a callback."""
        bad = self.session.steps.non_finite_variables()
        if bad:
            raise TrainingError(
                f"the model's weights hold non-finite values (NaN/Inf) before {before}: "
                f"{describe_non_finite(bad)}; training stopped ({self._kept()})"
            )

    def run(self, resume, spec_hash, source_text, info=None):
        for cb in self.callbacks:
            cb.loop = self.loop
            check = getattr(cb, "check_writable", None)  # before the run folder changes (TensorBoard's log_dir)
            if check is not None:
                check()
        if self.out_dir:
            self._open_checkpoints(resume, spec_hash, info)
        start = self.state.get()
        self.loop.history = start["history"]
        if start["epoch"] or start["step"]:
            self.progress.message(f"resuming at epoch {start['epoch'] + 1}, step {start['step']}")
        self._call("on_train_begin", {}, when=" as training began")
        self._require_finite("training")
        self.iterator = self.session.train_iterator(self.pipeline, self.seed, start["epoch"], start["step"])
        self.global_step, self.steps_run = start["epoch"] * self.per_epoch + start["step"], 0
        started = time.perf_counter()
        epoch = start["epoch"]
        while epoch < self.opts["epochs"] and not self.loop.stop_training:
            if epoch == start["epoch"] and start["step"]:
                self._epoch(epoch, start["step"], (start["loss_sum"], start["count"], start["output_sums"]))
            else:
                self._epoch(epoch, 0, (0.0, 0.0, np.zeros(self.n_sums)))
            epoch += 1
        self._call("on_train_end", {}, when=" as training ended")
        test = self._evaluate("test", "") if self.session.test is not None else None
        seconds = time.perf_counter() - started
        self.progress.summary(len(self.loop.history), seconds, self.steps_run, test)
        if self.out_dir and self.chief:
            self._require_finite("saving the model")
            write_outputs(self.out_dir, self.session.model, self.loop.history, source_text)
            self.progress.message(f"curves: {os.path.join(self.out_dir, curves.FILE)}")
        if self.checkpoints and not self.chief:
            checkpoint.clear(self.checkpoints.write_dir)
        return TrainResult(
            model=self.session.model,
            history=history_dict(self.loop.history),
            test=test,
            epochs=len(self.loop.history),
            steps=self.steps_run,
            seconds=seconds,
            out_dir=self.out_dir,
            traces=self.session.steps.trace_count(),
            classes=self.session.classes or None,
            adapted=adapt.document(self.session.adapted) if self.session.adapted else None,
        )

    def _epoch(self, epoch, step, sums):
        """One epoch from `step`, with running (loss sum, sample count, per-output sums) `sums`."""
        steps, every, k = self.session.steps, self.opts["checkpoint_every_steps"], self.opts["steps_per_call"]
        loss_sum, count, output_sums = sums
        if not step:
            steps.reset_metrics()
        self._call("on_epoch_begin", epoch, {}, when=f" as epoch {epoch + 1} began")
        self.progress.epoch_begin(epoch, step)
        out = {}
        while step < self.per_epoch:
            try:
                out = steps.train(self.iterator, min(k, self.per_epoch - step))
            except OUT_OF_MEMORY as exc:
                raise self._out_of_memory(f"at epoch {epoch + 1}, step {step + 1}", exc) from None
            except tf.errors.InvalidArgumentError as exc:
                raise TrainingError(
                    f"TensorFlow refused a training batch at epoch {epoch + 1}, step {step + 1}: "
                    f"{refused_batch(exc)}; check the data against the model (labels, shapes); "
                    f"training stopped ({self._kept()})"
                ) from exc
            done = int(out["steps"])
            step, self.global_step, self.steps_run = step + done, self.global_step + done, self.steps_run + done
            if not out["finite"]:
                raise self._diverged(out, epoch, step)
            loss_sum, count = loss_sum + float(out["loss_sum"]), count + float(out["count"])
            output_sums = output_sums + out["output_sums"]
            self.progress.update(step, self.session.logs(out, loss_sum, count, output_sums))
            if (
                self.checkpoints
                and every
                and step < self.per_epoch
                and self.global_step // every > (self.global_step - done) // every
            ):
                self._save(epoch, step, (loss_sum, count, output_sums))
        logs = self.session.logs(out, loss_sum, count, output_sums)
        if self.session.validation is not None:
            logs.update(self._evaluate("validation", f" after epoch {epoch + 1}"))
        logs["lr"] = self.loop.learning_rate
        self._call("on_epoch_end", epoch, logs, when=f" at the end of epoch {epoch + 1}")
        self.loop.history.append(logs)
        self.progress.epoch_end(logs)
        if self.checkpoints:
            self._save(epoch + 1, 0, (0.0, 0.0, np.zeros(self.n_sums)))

    def _evaluate(self, split, when):
        try:
            return self.session.evaluate(split, prefix="val_" if split == "validation" else "")
        except OUT_OF_MEMORY as exc:
            raise self._out_of_memory(f"evaluating the {split} split{when}", exc) from None


def describe_non_finite(bad, limit=3):
    """'dense/kernel: 12 of 8192 values' for the first few of [(path, count, size)]."""
    parts = [f"{path}: {count} of {size} values" for path, count, size in bad[:limit]]
    more = len(bad) - limit
    if not parts:
        return "no variable holds one any more"
    return ", ".join(parts) + (f" and {more} more variable{'s' if more > 1 else ''}" if more > 0 else "")


def history_dict(history):
    """[{name: value}] per epoch -> {name: [value per epoch]}."""
    keys = []
    for row in history:
        keys += [k for k in row if k not in keys]
    return {k: [row.get(k) for row in history] for k in keys}


def write_outputs(out_dir, model, history, source_text):
    """history.json/.csv, curves.svg, model.py and model.keras, each written atomically; a write that fails is a
    one-line TrainingError (the final checkpoint is kept: a resume writes them again)."""
    finite = lambda v: v if v is not None and math.isfinite(v) else None  # noqa: E731 - JSON has no NaN
    name = "history.json"
    try:
        files.write_json(
            os.path.join(out_dir, name),
            {
                "epoch": list(range(1, len(history) + 1)),
                **{k: [finite(v) for v in vs] for k, vs in history_dict(history).items()},
            },
        )
        name = "history.csv"
        callbacks_module.write_history_csv(os.path.join(out_dir, name), history)
        name = curves.FILE  # a picture of history.json, drawn again on resume with every epoch
        curves.write(os.path.join(out_dir, name), history_dict(history), f"training curves: {model.name}")
        if source_text is not None:
            name = "model.py"
            files.write_text(os.path.join(out_dir, name), source_text)
        name = "model.keras"
        try:
            files.save_model(model, os.path.join(out_dir, name))
        except (NotImplementedError, TypeError, ValueError) as e:
            warnings.warn(f"cannot save the whole model ({e}); saving its weights as model.weights.h5", stacklevel=2)
            name = "model.weights.h5"
            files.save_model(model, os.path.join(out_dir, name))
    except OSError as exc:
        raise files.write_failure(
            exc, f"{name} in {out_dir}", out_dir, "training finished and its last checkpoint is kept"
        ) from None


def evaluate_model(model, training, data=None, *, split="test", base_dir=None, **overrides):
    """Loss and metrics of `model` on one split ("test", "validation" or "train") of the data."""
    opts = settings(training, overrides)
    opts["distribute"] = None
    session = prepared_session(model, opts, data, base_dir, tf.distribute.get_strategy())
    if split not in ("train", "validation", "test") or getattr(session, split) is None:
        raise TrainingError(f"the data has no {split!r} split")
    try:
        return session.evaluate(split)
    except OUT_OF_MEMORY as exc:
        raise out_of_memory(f"evaluating the {split} split", opts["batch_size"], exc) from None
