"""Using a trained model: `tfspec.evaluate` and `tfspec.predict`, and the `tfspec evaluate` /
`tfspec predict` commands built on them.

A trained model is given as one of
  - the result of `tfspec.train` (its model, spec, data and seed),
  - a run folder written by `tfspec train` / `tfspec.train(out_dir=...)`: rebuilt from its stored
    spec and weights by tfspec.runs (nothing in the folder is imported or executed),
  - a keras.Model, with `spec=` (a Spec or a .tfs path) for its training settings.

    metrics = tfspec.evaluate("runs/DigitsMLP")                 # {"loss": ..., "accuracy": ...}
    probs = tfspec.predict(result, x)                           # numpy; a dict for several outputs
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from .runs import RunFolderError

RUNS_LISTED = 8


@dataclass
class Target:
    """A trained model and what using it as it was trained needs."""

    model: object
    spec: object  # the Spec, or None for a bare keras.Model
    data: object = None  # the data it was trained on when not the spec's own: a source, arrays, "arrays"
    seed: int | None = None  # the training seed (it chose the splits)
    base_dir: str | None = None  # where the spec's relative data paths are resolved
    where: str = "the model"  # for messages
    classes: dict | None = None  # {label column: class names} the model was trained with (CSV text labels)


# ---- run folders -------------------------------------------------------------------------------


def open_run_folder(path):
    """tfspec.runs.open_run, with a message that says what to give when `path` is no run folder."""
    from .runs import open_run

    path = os.fspath(path)
    if os.path.isfile(path) and path.endswith(".tfs"):
        raise RunFolderError(
            f"{path!r} is a spec, not a run folder: train it first (`tfspec train {path}` writes runs/<model>/), "
            f"then give that folder{runs_in('runs', hint=False)}"
        )
    if os.path.isfile(path):
        raise RunFolderError(
            f"{path!r} is a file, not a run folder (the folder `tfspec train` writes){runs_in('runs')}"
        )
    if not os.path.isdir(path):
        parent = os.path.dirname(os.path.normpath(path))
        raise RunFolderError(f"no such run folder: {path!r}{runs_in(parent if os.path.isdir(parent) else 'runs')}")
    return open_run(path)


def runs_in(parent: str, hint: bool = True) -> str:
    """'; the runs in runs/ are: A, B' for the finished runs in `parent`; when there are none, a hint
    (or nothing)."""
    try:
        names = sorted(
            name
            for name in os.listdir(parent)
            if os.path.isfile(os.path.join(parent, name, "manifest.json")) and not name.startswith(".")
        )
    except OSError:
        names = []
    shown = parent.rstrip("/\\") + "/"
    if not names:
        if not hint:
            return ""
        return f"; there are no finished runs in {shown} (`tfspec train SPEC` writes runs/<model>/)"
    more = f" and {len(names) - RUNS_LISTED} more" if len(names) > RUNS_LISTED else ""
    return f"; the runs in {shown} are: {', '.join(names[:RUNS_LISTED])}{more}"


def target_of(run, spec=None, what: str = "tfspec.evaluate") -> Target:
    """The trained model `run` stands for (see the module docstring)."""
    from .needs import require
    from .training import Trained

    if isinstance(run, Trained):
        return Target(
            run.model,
            run.spec,
            run.data,
            run.overrides.get("seed"),
            run.base_dir,
            f"the {run.spec.name} model",
            run.classes,
        )
    if isinstance(run, (str, os.PathLike)):
        folder = open_run_folder(run)
        require(what)
        from .runs import build_run

        model = build_run(folder)
        return Target(
            model, folder.spec, folder.data, folder.seed, folder.base_dir, repr(os.fspath(run)), folder.classes
        )
    require(what)
    import keras

    if isinstance(run, keras.Model):
        spec = load_spec(spec) if spec is not None else None
        base_dir = (
            os.path.dirname(os.path.abspath(spec.path)) if spec is not None and os.path.exists(spec.path) else None
        )
        return Target(run, spec, base_dir=base_dir, where=f"model {run.name!r}")
    raise TypeError(
        f"{what} takes the result of tfspec.train, a run folder or a keras.Model (with spec=), not {type(run).__name__}"
    )


def load_spec(spec):
    from .ir.nodes import Spec
    from .loader import load

    return spec if isinstance(spec, Spec) else load(spec)


# ---- evaluate ----------------------------------------------------------------------------------


def evaluate(run, data=None, *, split: str = "test", spec=None, batch_size: int | None = None, seed=None) -> dict:
    """Loss and metrics of a trained model on one split ("test", "validation" or "train").

    `run`: the result of tfspec.train, a run folder, or a keras.Model with `spec=` (whose training
    settings give the loss and metrics). `data`: `(x, y)` arrays, a {"train", "validation", "test"}
    mapping or a data source; by default the data the model was trained on, split as training
    split it (same seed). Returns {"loss": float, "accuracy": float, ...}."""
    target = target_of(run, spec, "tfspec.evaluate")
    return evaluate_target(target, data, split=split, batch_size=batch_size, seed=seed, give="data=")


def evaluate_target(target: Target, data=None, *, split="test", batch_size=None, seed=None, give="data=") -> dict:
    from .runtime import evaluate_model

    if target.spec is None or target.spec.training is None:
        raise ValueError(
            f"{target.where} has no training settings (loss, metrics) to evaluate with: give spec= "
            "(a spec with a `train { ... }` section)"
        )
    if data is None:
        data = target.data
    if isinstance(data, str) and data == "arrays":
        raise RunFolderError(f"{target.where} was trained on arrays passed to tfspec.train; give {give} to evaluate it")
    overrides = {}
    seed = seed if seed is not None else target.seed
    if seed is not None:
        overrides["seed"] = seed
    if batch_size is not None:
        overrides["batch_size"] = batch_size
    if target.classes:
        overrides["classes"] = target.classes  # class names numbered as when it was trained
    metrics = evaluate_model(
        target.model, target.spec.training, data, split=split, base_dir=target.base_dir, **overrides
    )
    return {name: float(value) for name, value in metrics.items()}


# ---- predict -----------------------------------------------------------------------------------


def predict(run, x, *, spec=None, batch_size: int = 256):
    """The model's outputs for inputs `x`, as numpy arrays: one array for a model with one output,
    else a dict {output name: array}.

    `run`: as for `evaluate` (`spec=` is optional for a keras.Model; it names inputs and outputs).
    `x`: an array for a model with one input; for several, a list in the spec's input order or a
    dict by input name. `x` is fed as the model takes it: no data-source scaling is applied (the
    `tfspec predict` command scales files as the run's data source does)."""
    target = target_of(run, spec, "tfspec.predict")
    outputs = predict_target(target, x, batch_size=batch_size)
    return next(iter(outputs.values())) if len(outputs) == 1 else outputs


def signature_of(target: Target):
    from .runtime.signature import describe

    training = target.spec.training if target.spec is not None and target.spec.training else {}
    if target.spec is not None and not training:
        model = target.spec.model
        training = {
            "inputs": [{"name": i.name, "shape": list(i.shape), "dtype": i.dtype} for i in model.inputs],
            "outputs": list(model.outputs),
        }
    return describe(target.model, training)


def ordered_inputs(x, sig) -> list:
    """`x` as a list in the model's input order."""
    from .runtime.errors import DataError

    names = [name for name, _, _ in sig.inputs]
    if isinstance(x, dict):
        missing = [n for n in names if n not in x]
        extra = sorted(set(x) - set(names))
        if not names or missing or extra:
            wanted = ", ".join(names) or "unknown"
            raise DataError(f"the inputs given ({', '.join(map(str, x))}) are not the model's inputs ({wanted})")
        return [x[n] for n in names]
    if isinstance(x, (list, tuple)) and len(names) != 1:
        return list(x)
    return [x]


def predict_target(target: Target, x, *, batch_size: int = 256) -> dict:
    """{output name: array} for inputs `x` (see `predict`), batch by batch with one traced function."""
    import numpy as np
    import tensorflow as tf

    from .runtime.errors import DataError
    from .runtime.signature import prepare_x

    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, not {batch_size!r}")
    sig = signature_of(target)
    arrays = list(prepare_x(tuple(ordered_inputs(x, sig)), sig, where="the inputs"))
    sizes = {len(a) for a in arrays}
    if len(sizes) != 1:
        raise DataError(f"the input arrays hold different numbers of samples ({', '.join(map(str, sorted(sizes)))})")
    n = sizes.pop()
    if n == 0:
        raise DataError("no samples to predict")
    for (name, _, _), a in zip(sig.inputs or [(None, None, None)] * len(arrays), arrays):
        refuse_non_finite(a, f"input {name!r}" if name else "the input")
    specs = [tf.TensorSpec((None,) + a.shape[1:], tf.string if a.dtype.kind in "USO" else a.dtype) for a in arrays]
    single = len(arrays) == 1 and (len(sig.inputs) <= 1)
    model = target.model

    @tf.function(input_signature=specs, reduce_retracing=True)
    def step(*batch):
        return model(batch[0] if single else list(batch), training=False)

    names, parts = None, []
    for start in range(0, n, batch_size):
        try:
            out = step(*(a[start : start + batch_size] for a in arrays))
        except tf.errors.InvalidArgumentError as exc:  # e.g. token ids beyond an Embedding's vocabulary
            raise DataError(
                f"the model cannot run on the inputs (samples {start} to {min(start + batch_size, n) - 1}): "
                f"{op_error(exc.message)}"
            ) from None
        names, values = output_parts(out, sig)
        parts.append([np.asarray(v) for v in values])
    return {name: np.concatenate([p[i] for p in parts]) for i, name in enumerate(names)}


def op_error(message: str) -> str:
    """The line of a TensorFlow op error that says what is wrong, without the graph's traceback
    ("indices[0,2] = 5000 is not in [0, 1000)")."""
    import re

    from .runs import brief

    lines = []
    for line in message.splitlines():
        line = re.sub(r"\{\{function_node [^}]*\}\}|\[\[\{\{node .*|\[Op:[^\]]*\]", "", line).strip()
        if line and not line.startswith(("File ", "Detected at node", "Graph execution error", "defined at")):
            lines.append(line)
    return brief(Exception(lines[-1] if lines else message))


def output_parts(out, sig):
    """(names, tensors) of one model call's outputs, named as the spec names them."""
    wanted = list(sig.output_names or [])
    if isinstance(out, dict):
        names = [n for n in wanted if n in out] or list(out)
        return names, [out[n] for n in names]
    if isinstance(out, (list, tuple)):
        names = wanted if len(wanted) == len(out) else [f"output_{i + 1}" for i in range(len(out))]
        return names, list(out)
    return (wanted[:1] or ["output"]), [out]


def refuse_non_finite(a, what: str) -> None:
    """NaN or Inf in an input would only give NaN predictions: say where the first one is."""
    import numpy as np

    from .runtime.errors import DataError

    if a.dtype.kind not in "fc":
        return
    bad = ~np.isfinite(a.reshape(len(a), -1)).all(axis=1)
    if bad.any():
        raise DataError(
            f"{what}: {int(bad.sum())} sample(s) hold NaN or Inf; the first is sample {int(np.argmax(bad))} "
            "(from 0); clean or drop them"
        )
