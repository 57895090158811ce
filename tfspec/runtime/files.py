"""The runtime's atomic writes: JSON, text and Keras models, on top of tfspec.files.

A write that fails raises OSError (h5py's errors are OSErrors too) with no half-written file left;
`write_failure` turns it into the runtime's one-line TrainingError.
"""

import errno
import gc
import json
import math
import os
import sys

import numpy as np

from ..files import (
    OutsidePath,
    atomic_path,
    disk_full,
    folder_problem,
    inside,
    path_problem,
    template_problem,
    write_atomic,
    write_reason,
)
from .errors import TrainingError

__all__ = [
    "OutsidePath",
    "atomic_path",
    "disk_full",
    "folder_problem",
    "inside",
    "path_problem",
    "resume_hint",
    "save_model",
    "template_problem",
    "write_failure",
    "write_json",
    "write_error",
    "write_reason",
    "write_text",
]


def write_text(path, text):
    write_atomic(path, text)


def write_json(path, obj):
    write_atomic(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


class _HeldReports:
    """Reports Python prints about errors nobody can catch, held back while a model file is written.

    When h5py cannot write (disk full), the objects of the failed file report the same failure again
    as they are freed, from Cython's __dealloc__: sys.excepthook prints "Traceback ... RuntimeError:
    Can't decrement id ref count (file write failed ...)" and sys.unraisablehook "Exception ignored
    in ...". The OSError that is raised already says it, so after a failed write they are dropped;
    after a write that succeeded, whatever was held is reported as usual."""

    def __enter__(self):
        self.held, self.hooks = [], (sys.excepthook, sys.unraisablehook)
        sys.excepthook = lambda *args: self.held.append((0, args))
        sys.unraisablehook = lambda unraisable: self.held.append((1, (unraisable,)))
        return self

    def __exit__(self, kind, exc, tb):
        gc.collect()  # free the failed writer's objects now, while their reports are held
        sys.excepthook, sys.unraisablehook = self.hooks
        if kind is None and self.failure is None:
            for hook, args in self.held:
                self.hooks[hook](*args)
        return False

    failure = None


def save_model(model, path):
    """Save a Keras model (`.keras` or `.weights.h5`) atomically; OSError (without the frames of the
    failed writer) when the file cannot be written.

    A `.weights.h5` file is written by HDF5 straight to disk, and HDF5 (in the h5py 3 wheels) can crash
    the process (a segmentation fault in H5Fclose) when the disk fills up under it, or raise a
    RuntimeError from its flush: so the free space is checked first (`check_space`), and such a
    RuntimeError counts as the failed write it is. A `.keras` archive is written through Python's
    zipfile, which raises a plain OSError."""
    suffix = ".weights.h5" if path.endswith(".weights.h5") else ".keras"
    with _HeldReports() as held:
        try:
            with atomic_path(path, suffix=suffix) as tmp:
                if suffix == ".keras":
                    model.save(tmp)
                else:
                    check_space(tmp, weights_file_size(model))
                    model.save_weights(tmp)
        except OSError as exc:
            held.failure = exc.with_traceback(None)  # its traceback holds the h5py objects: free them here
        except RuntimeError as exc:  # h5py: "... (file write failed: ..., errno = 28, ...)"
            if "file write failed" not in str(exc):
                raise
            code = errno.ENOSPC if disk_full(exc) else errno.EIO
            held.failure = OSError(code, os.strerror(code), path)
    if held.failure is not None:
        raise held.failure


def weights_file_size(model):
    """A generous estimate of the bytes of the model's .weights.h5 file: its values, and HDF5's
    headers (a few KiB a variable, measured: about 4.5 KiB)."""
    values = 0
    for variable in model.weights:
        try:
            values += math.prod(variable.shape) * np.dtype(variable.dtype).itemsize
        except TypeError:  # a dtype numpy does not know: count 8 bytes a value
            values += math.prod(variable.shape) * 8
    return values + 16 * 1024 * len(model.weights) + 64 * 1024


def check_space(path, needed):
    """OSError(ENOSPC) when the file system holding `path` has fewer than `needed` bytes free for
    this process (statvfs's f_bavail), before anything is written there."""
    try:
        stat = os.statvfs(os.path.dirname(os.path.abspath(path)))
    except (AttributeError, OSError):  # no statvfs (Windows): HDF5 reports the failure itself
        return
    free = stat.f_bavail * stat.f_frsize
    if free < needed:
        raise OSError(errno.ENOSPC, f"{os.strerror(errno.ENOSPC)} ({free:,} bytes free, {needed:,} needed)", path)


def write_error(exc):
    """Whether `exc` is a failed write: an OSError, or a TensorFlow error of its file system (a path
    not found or not a folder, permission denied, disk full). Other OpErrors (a bad value, memory
    running out) are not, and are left alone."""
    import tensorflow as tf

    if isinstance(exc, OSError):
        return True
    file_system = (tf.errors.NotFoundError, tf.errors.PermissionDeniedError, tf.errors.FailedPreconditionError)
    return isinstance(exc, (*file_system, tf.errors.AlreadyExistsError)) or disk_full(exc)


def resume_hint(out_dir):
    """How to continue a run whose checkpoints are kept."""
    where = f" --out {out_dir}" if out_dir else ""
    return f"`tfspec train SPEC{where} --resume` (or train(..., resume=True)) continues from it"


def write_failure(exc, what, out_dir=None, kept=None):
    """The one-line TrainingError for a write (`what`: "model.keras in runs/x") that failed with
    `exc` (an OSError or a TensorFlow OpError), saying what is kept and what to do."""
    kept_words = f"; {kept}" if kept else ""
    if disk_full(exc):
        fix = "free space, then " + (resume_hint(out_dir) if kept else "train again")
        return TrainingError(f"no space left on device while writing {what}{kept_words}; {fix}")
    return TrainingError(
        f"cannot write {what}: {write_reason(exc)}{kept_words}; check the path and its permissions, or choose "
        "another output folder (--out)"
    )
