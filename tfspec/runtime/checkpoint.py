"""Checkpoints for resuming: tf.train.Checkpoint + CheckpointManager under out_dir/checkpoints.

Each checkpoint holds the model, the optimizer, the dropout/random-generator states, the metric
accumulators and a TrainState (epoch, step in epoch, running sums, history so far), so a resumed
run continues at step granularity. `run.json` beside them records the spec hash, the seed and
what a step means (the batch size, the steps per epoch, the training samples): a resume that
would change one of those is refused, since step N would then be other samples.

A save that fails (disk full, permission denied) leaves no part of itself behind (TensorFlow's
`ckpt-N_temp/` folder, a half-merged `ckpt-N.index`, a `checkpoint.tmp...` state file), keeps the
previous checkpoints and raises a one-line TrainingError.

The folder is written only where it really is inside its parent (the run folder): a `checkpoints`
that is a symbolic link leading out of the run folder is refused before anything is written there.
"""

import contextlib
import glob
import json
import os
import re
import shutil
import warnings

import tensorflow as tf

from . import files
from .errors import CheckpointError

RUN_INFO = "run.json"
ADAPTED = "adapted.json"  # the learnt vocabularies and bin boundaries (tfspec.runtime.adapt), as data
ADAPTED_LIMIT = 256 << 20


class TrainState:
    """Loop counters kept in tf.Variables so they are saved atomically with the weights."""

    def __init__(self, n_outputs):
        with tf.device("/cpu:0"):
            self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False)
            self.step = tf.Variable(0, dtype=tf.int64, trainable=False)
            self.loss_sum = tf.Variable(0.0, dtype=tf.float64, trainable=False)
            self.count = tf.Variable(0.0, dtype=tf.float64, trainable=False)
            self.output_sums = tf.Variable(tf.zeros([n_outputs], tf.float64), trainable=False)
            self.history = tf.Variable("[]", trainable=False)

    def items(self):
        return dict(
            epoch=self.epoch,
            step=self.step,
            loss_sum=self.loss_sum,
            count=self.count,
            output_sums=self.output_sums,
            history=self.history,
        )

    def set(self, epoch, step, loss_sum, count, output_sums, history):
        self.epoch.assign(epoch)
        self.step.assign(step)
        self.loss_sum.assign(loss_sum)
        self.count.assign(count)
        self.output_sums.assign(output_sums)
        self.history.assign(json.dumps(history))

    def get(self):
        return dict(
            epoch=int(self.epoch.numpy()),
            step=int(self.step.numpy()),
            loss_sum=float(self.loss_sum.numpy()),
            count=float(self.count.numpy()),
            output_sums=self.output_sums.numpy(),
            history=json.loads(self.history.numpy().decode()),
        )


def confined(directory, root=None):
    """The real path of a checkpoint folder, refused if it resolves outside `root` (by default its
    parent folder: the run folder)."""
    directory = os.path.normpath(directory)
    root = root or os.path.dirname(directory) or "."
    try:
        return files.inside(root, os.path.relpath(directory, root), "checkpoint folder")
    except files.OutsidePath as e:
        raise CheckpointError(str(e)) from None


def _number(prefix):
    return int(re.search(r"-(\d+)$", prefix).group(1))


class Checkpoints:
    """Save every so often; restore the newest readable checkpoint."""

    def __init__(self, directory, model, optimizer, metrics, state, *, max_to_keep=3, write_dir=None):
        self.directory = directory
        self.write_dir = write_dir or directory  # non-chief workers write to a scratch folder
        rng = [v.value for v in model.non_trainable_variables if "seed_generator" in v.path]
        metric_vars = [v.value for m in metrics for v in m.variables]
        self.ckpt = tf.train.Checkpoint(model=model, optimizer=optimizer, rng=rng, metrics=metric_vars, **state.items())
        self.max_to_keep = max_to_keep
        self.manager = None

    def candidates(self):
        """Checkpoint prefixes in the folder, newest first."""
        prefixes = [p[: -len(".index")] for p in glob.glob(os.path.join(self.directory, "ckpt-*.index"))]
        return sorted(prefixes, key=_number, reverse=True)

    def restore_latest(self):
        """Restore the newest checkpoint that reads back whole (the writer removes unreadable ones)."""
        for prefix in self.candidates():
            try:
                self.ckpt.restore(prefix).assert_existing_objects_matched()
                return prefix
            except Exception as e:  # noqa: BLE001 - TF raises OpError, IndexError, ValueError... on bad files
                warnings.warn(
                    f"checkpoint {prefix} is unreadable ({type(e).__name__}: {e}); falling back to the previous one",
                    stacklevel=2,
                )
                if self.write_dir == self.directory:
                    for path in glob.glob(prefix + ".*"):
                        with contextlib.suppress(OSError):  # not removable: skipped again next time
                            os.remove(path)
        return None

    def save(self, number):
        confined(self.write_dir, os.path.dirname(os.path.normpath(self.directory)) or ".")  # before each write
        before = set(os.listdir(self.write_dir)) if os.path.isdir(self.write_dir) else set()
        try:
            if self.manager is None:
                os.makedirs(self.write_dir, exist_ok=True)
                self.manager = tf.train.CheckpointManager(
                    self.ckpt, self.write_dir, self.max_to_keep, checkpoint_name="ckpt"
                )
            return self.manager.save(checkpoint_number=number)
        except BaseException as exc:  # TF reports ENOSPC as ResourceExhaustedError "...; No space left on device"
            self._remove_partial(number, before)
            if not files.write_error(exc):
                raise
            previous = self.candidates()
            kept = f"the previous checkpoint ({os.path.basename(previous[0])}) is kept" if previous else None
            raise files.write_failure(
                exc, f"checkpoint {number} to {self.write_dir}", os.path.dirname(self.directory), kept
            ) from None

    def _remove_partial(self, number, before):
        """Remove what a failed save of checkpoint `number` left that was not there before it."""
        partial = re.compile(rf"ckpt-{number}(_temp|\.index|\.data-.*)$|checkpoint\.tmp[0-9a-f]+$")
        left = set(os.listdir(self.write_dir)) - before if os.path.isdir(self.write_dir) else set()
        for name in sorted(n for n in left if partial.match(n)):
            path = os.path.join(self.write_dir, name)
            with contextlib.suppress(OSError):  # the error that stopped the save is the one to report
                if os.path.isdir(path) and not os.path.islink(path):
                    shutil.rmtree(path)
                else:
                    os.remove(path)


def read_run_info(directory):
    path = os.path.join(directory, RUN_INFO)
    if not os.path.exists(path):
        return None
    try:
        with open(path, encoding="utf-8") as f:
            info = json.load(f)
    except OSError as e:
        raise CheckpointError(
            f"cannot resume: cannot read {path}: {files.write_reason(e)}; check its permissions, or train without "
            "--resume to start the run again"
        ) from None
    except ValueError:
        info = None
    whole = lambda v: v is None or (isinstance(v, int) and not isinstance(v, bool))  # noqa: E731
    if not isinstance(info, dict) or not all(whole(info.get(k)) for k in ("seed", *STEP_MEANING)):
        raise CheckpointError(
            f"cannot resume: {path} is damaged (not the JSON object tfspec writes); train without --resume to "
            "start the run again"
        )
    return info


def write_run_info(directory, info):
    files.write_json(os.path.join(confined(directory), RUN_INFO), info)


def write_adapted(directory, targets):
    """The adapted layers' learnt state beside the checkpoints, once, before the first step."""
    from .adapt import document

    files.write_json(os.path.join(confined(directory), ADAPTED), document(targets))


def read_json(path, limit, what):
    """A JSON document of at most `limit` bytes, or a message saying why not (never its text)."""
    try:
        with open(path, "rb") as f:
            raw = f.read(limit + 1)
    except OSError as e:
        return None, f"cannot read {path}: {files.write_reason(e)}"
    if len(raw) > limit:
        return None, f"{path} is too large to be {what}"
    try:
        return json.loads(raw.decode("utf-8")), None
    except (UnicodeDecodeError, ValueError):
        return None, f"{path} is not valid JSON (truncated or overwritten)"


def restore_adapted(directory, targets):
    """Put back the state the checkpoints were trained with (a resume), and let Normalization take
    its restored mean and variance (tfspec.runtime.adapt.refresh)."""
    from .adapt import refresh, restore, state_problem

    path = os.path.join(directory, ADAPTED)
    data, problem = read_json(path, ADAPTED_LIMIT, "the adapted layers' state")
    if problem is None:
        problem = state_problem(data, targets)
        problem = problem and f"{path}: {problem}"
    if problem:
        raise CheckpointError(
            f"cannot resume: {problem}; the checkpoints' vocabularies are lost: train without --resume to start "
            "the run again"
        )
    restore(targets, data)
    refresh(targets)


# What a step of a run means: resuming with another value would run other samples at step N.
STEP_MEANING = {
    "batch_size": ("the batch size", "--batch-size {}"),
    "steps_per_epoch": ("the steps per epoch", "the same training data"),
    "train_samples": ("the number of training samples", "the same training data"),
}


def check_resumable(info, spec_hash, directory, **now):
    """Refuse to resume from checkpoints made from another spec, or whose steps meant other samples
    (`now`: this call's batch_size, steps_per_epoch, train_samples; a key the run.json of an older
    tfspec lacks is not checked). `epochs` may change: a run can be extended."""
    if info and spec_hash is not None and info.get("spec_hash") not in (None, spec_hash):
        raise CheckpointError(
            f"cannot resume from {directory}: its checkpoints were made from another spec "
            f"(spec hash {info.get('spec_hash')}, this spec {spec_hash}); use a new output folder "
            "or train without resume"
        )
    for key, value in now.items():
        was = (info or {}).get(key)
        if was is not None and value is not None and was != value:
            words, same = STEP_MEANING[key]
            raise CheckpointError(
                f"cannot resume from {directory}: the run was trained with {words} {was}, this call has {value}, "
                f"so its step positions would mean other samples; resume with {same.format(was)}, or start a "
                "new run without --resume"
            )


def clear(directory):
    if os.path.isdir(directory):
        shutil.rmtree(confined(directory))
