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
            run.model, run.spec, run.data, run.overrides.get("seed"), run.base_dir, f"the {run.spec.name} model"
        )
    if isinstance(run, (str, os.PathLike)):
        folder = open_run_folder(run)
        require(what)
        from .runs import build_run

        return Target(build_run(folder), folder.spec, folder.data, folder.seed, folder.base_dir, repr(os.fspath(run)))
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
    specs = [tf.TensorSpec((None,) + a.shape[1:], a.dtype) for a in arrays]
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


# ---- input files for `tfspec predict` ----------------------------------------------------------


def data_settings(run) -> dict:
    """The data source the run was trained on ({} when it was given arrays in Python)."""
    data = run.data if run.data is not None else (run.spec.training or {}).get("data")
    if isinstance(data, str) and data != "arrays":
        return {"source": data}
    return data if isinstance(data, dict) else {}


def input_scale(settings: dict):
    """The factor the run's data source scales its inputs by (digits 1/16, mnist 1/255, a `scale`
    setting), or None."""
    from .runtime.data import DEFAULT_SCALE

    return settings.get("scale", DEFAULT_SCALE.get(settings.get("source")))


def read_inputs(path: str, run, *, scale: bool = True):
    """(x, factor): the inputs in an .npz or .csv file, as the run's data source reads its files
    (array and column names, `scale`), and the factor applied (None if none). x is as `predict`
    takes it: an array for one input, else a list in the model's input order."""
    settings = data_settings(run)
    x = read_npz(path, settings, run.inputs) if path.endswith(".npz") else read_csv(path, settings, run.inputs)
    factor = input_scale(settings) if scale else None
    if factor:
        import numpy as np

        scaled = lambda a: a.astype(np.float32) * np.float32(factor) if a.dtype.kind in "fiu" else a  # noqa: E731
        x = [scaled(a) for a in x]
    return (x[0] if len(x) == 1 else x), factor


def read_npz(path: str, settings: dict, inputs) -> list:
    import zipfile

    import numpy as np

    from .runtime.errors import DataError

    names = [name for name, _, _ in inputs]
    key = settings.get("x") if settings.get("source") == "npz" else None
    try:
        loaded = np.load(path, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise DataError(f"{path} holds a single array (.npy), not a .npz file of named arrays")
        with loaded as f:
            members = [m[: -len(".npy")] for m in f.zip.namelist() if m.endswith(".npy")]
            if key is None:
                if len(names) == 1:
                    key = next((k for k in ("x", names[0], "x_test") if k in members), "x")
                else:
                    key = names
            keys = [key] if isinstance(key, str) else list(key.values()) if isinstance(key, dict) else list(key)
            missing = [k for k in keys if k not in members]
            if missing:
                has = f"it has {', '.join(members[:10])}" if members else "it holds no arrays"
                wanted = f"{missing[0]!r}" if len(names) != 1 or missing[0] != "x" else f"'x' or {names[0]!r}"
                raise DataError(f"{path}: no array named {wanted} for the model's inputs ({has})")
            if isinstance(key, dict):
                return [np.asarray(f[key[n]]) for n in names] if set(key) == set(names) else [f[k] for k in keys]
            return [np.asarray(f[k]) for k in keys]
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror or type(exc).__name__}") from None
    except (ValueError, EOFError, zipfile.BadZipFile):
        raise DataError(
            f"cannot read {path}: it is not a .npz file of plain numpy arrays (numpy.savez; pickled objects are refused)"
        ) from None


def read_csv(path: str, settings: dict, inputs) -> list:
    """A CSV file with a header row: the feature columns the run's csv source names (or all but its
    label column, which may be absent). Errors give places, never the file's text."""
    import csv
    import math

    import numpy as np

    from .runtime.errors import DataError

    if len(inputs) != 1:
        names = ", ".join(name for name, _, _ in inputs)
        raise DataError(
            f"{path}: a .csv file holds one input; the model has {len(inputs)} ({names}): give an .npz file"
        )
    name, shape, _ = inputs[0]
    width = math.prod(shape) if shape and None not in shape else None
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = [(line, row) for line, row in enumerate(csv.reader(handle), start=1) if row]
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror or type(exc).__name__}") from None
    except UnicodeDecodeError:
        raise DataError(f"{path}: not a UTF-8 text (CSV) file") from None
    except csv.Error as exc:
        raise DataError(f"{path}: not a readable CSV file ({exc})") from None
    if len(rows) < 2:
        raise DataError(f"{path}: expected a header row and at least one data row")
    (_, header), body = rows[0], rows[1:]
    own = settings if settings.get("source") == "csv" else {}
    labels = own.get("label") or []
    labels = [labels] if isinstance(labels, str) else list(labels)
    features = own.get("features")
    if features:
        missing = [c for c in features if c not in header]
        if missing:
            raise DataError(f"{path}: the header row has no column named {missing[0]!r} (a feature column of the run)")
    else:
        features = [c for c in header if c not in labels]
        if not labels and width is not None and len(features) == width + 1:
            features = features[:-1]  # the label column: the last one, as the run's data source reads it
    if width is not None and len(features) != width:
        raise DataError(
            f"{path}: {len(features)} feature column(s); the model's input {name!r} takes {width} values per sample"
        )
    columns = [header.index(c) for c in features]
    table = np.empty((len(body), len(columns)), dtype=np.float32)
    for i, (line, row) in enumerate(body):
        if len(row) != len(header):
            raise DataError(f"{path}: line {line} has {len(row)} values; the header row has {len(header)} columns")
        for j, column in enumerate(columns):
            try:
                table[i, j] = float(row[column])
            except ValueError:
                raise DataError(f"{path}: line {line}, column {column + 1} is not a number") from None
    return [table]


# ---- writing predictions -----------------------------------------------------------------------


def npz_bytes(outputs: dict) -> bytes:
    """A .npz file (as numpy.savez writes it) of one array per output; any output name may be used."""
    import io
    import zipfile

    import numpy as np

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for name, array in outputs.items():
            with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asarray(array), allow_pickle=False)
    return buffer.getvalue()


def csv_text(outputs: dict) -> str:
    """One row per sample, one column per output unit: name_0, name_1, ... (outputs flattened per sample)."""
    import csv
    import io

    import numpy as np

    flat = {name: np.asarray(a).reshape(len(a), -1) for name, a in outputs.items()}
    header = [f"{name}_{i}" for name, a in flat.items() for i in range(a.shape[1])]
    table = np.concatenate(list(flat.values()), axis=1)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    cell = (lambda v: format(float(v), ".9g")) if table.dtype.kind == "f" else str
    for row in table:
        writer.writerow([cell(v) for v in row])
    return out.getvalue()
