"""Run folders.

A run folder (`runs/<Model>/`, or `--out`) is data. Besides what people read (model.py, the
generated source; model.keras; history.json/.csv; curves.svg, a picture of the history) and the checkpoints, a finished run holds:

    spec.tfs          the spec text it was trained from, byte for byte
    model.weights.h5  its final weights (Keras weights-only format)
    classes.json      the class names of a CSV file's text labels, {label column: [name of class 0, ...]},
                      when it had some
    adapted.json      the vocabularies and bin boundaries its layers learnt from the training data
                      (tfspec.runtime.adapt), when some did: lists of strings and numbers, never code
    manifest.json     {"format", "model", "style", "spec_sha256", "weights", "base_dir", "data", "seed", ...},
                      written last: a run without it did not finish

`open_run` rebuilds a run from these alone: the manifest is read as JSON, the stored spec must
have the recorded sha256 and pass `tfspec.loads` like any spec, the model is our own generated
code for it, and the weights are loaded with `model.load_weights` (HDF5 data only; no Keras config
is deserialised). No Python file of the folder is imported or executed, and model.keras is not
read at all.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass

RUN_FORMAT = "tfspec-run/1"
RUN_MANIFEST = "manifest.json"
RUN_SPEC = "spec.tfs"
RUN_WEIGHTS = "model.weights.h5"
RUN_SOURCE = "model.py"
RUN_CLASSES = "classes.json"
RUN_ADAPTED = "adapted.json"
MANIFEST_LIMIT = 64 * 1024
DATA_LIMIT = 256 << 20  # bytes of classes.json or adapted.json read at most
READ_ONLY_NOTE = (
    "# tfspec never imports or runs this copy: it is here to be read. `tfspec evaluate` and\n"
    f"# `tfspec export` rebuild the model from {RUN_SPEC} (checked against {RUN_MANIFEST}).\n"
)


class RunFolderError(Exception):
    """A run folder cannot be opened (missing, altered or unreadable files): a one-line message."""


RETRAIN = (
    "train the run again (`tfspec train SPEC --out {folder} --resume` writes its files again from its last "
    "checkpoint, or train without --resume)"
)


def retrain(folder: str) -> str:
    return RETRAIN.format(folder=folder)


def readable_source(source: str) -> str:
    """The generated source as model.py holds it: its header says that nothing runs it."""
    lines = source.splitlines(True)
    header = 0
    while header < len(lines) and lines[header].startswith("#"):
        header += 1
    return "".join(lines[:header]) + READ_ONLY_NOTE + "".join(lines[header:])


# ---- writing a run folder ---------------------------------------------------------------------


def remove_manifest(folder: str) -> None:
    remove_file(folder, RUN_MANIFEST)


def remove_file(folder: str, name: str) -> None:
    try:
        os.remove(os.path.join(folder, name))
    except FileNotFoundError:
        pass


def recorded_data(data, overrides):
    """What the manifest records about the training data when it is not the spec's `data`: a data
    source (e.g. `--data file.npz`), "arrays" (given in Python; not recorded), or None."""
    if data is None:
        data = overrides.get("data")
    if data is None:
        return None
    if isinstance(data, dict) and "source" in data:
        try:
            data = json.loads(json.dumps(data))
        except (TypeError, ValueError):
            return "arrays"
        return data if data_source_problem(data) is None else "arrays"
    return "arrays"


def save_run(out_dir, spec, style, model, *, data=None, overrides=None, base_dir=None, classes=None, adapted=None):
    """Write what `open_run` needs: the weights, the spec text, the class names and adapted state
    (when there are some) and, last, the manifest."""
    from . import __version__
    from .files import write_atomic
    from .runtime.files import save_model, write_failure, write_json

    overrides = overrides or {}
    text = spec.source.encode("utf-8")
    seed = overrides.get("seed")
    manifest = {
        "format": RUN_FORMAT,
        "tfspec": __version__,
        "model": spec.name,
        "style": style,
        "spec": RUN_SPEC,
        "spec_sha256": hashlib.sha256(text).hexdigest(),
        "weights": RUN_WEIGHTS,
        "base_dir": base_dir,
        "data": recorded_data(data, overrides),
        "seed": seed if isinstance(seed, int) and not isinstance(seed, bool) else None,
        "classes": RUN_CLASSES if classes else None,
        "adapted": RUN_ADAPTED if adapted else None,
    }
    name = RUN_WEIGHTS
    try:  # each file atomically; a failure leaves no manifest, so the folder reads as unfinished
        save_model(model, os.path.join(out_dir, name))
        name = RUN_SPEC
        write_atomic(os.path.join(out_dir, name), text)
        for name, content in ((RUN_CLASSES, classes), (RUN_ADAPTED, adapted)):
            if content:
                write_json(os.path.join(out_dir, name), content)
            else:
                remove_file(out_dir, name)  # an older run's
        name = RUN_MANIFEST
        write_json(os.path.join(out_dir, name), manifest)
    except OSError as exc:
        raise write_failure(
            exc, f"{name} in {out_dir}", out_dir, "training finished and its last checkpoint is kept"
        ) from None


# ---- reading a run folder (never executing anything from it) ----------------------------------


@dataclass
class Run:
    folder: str
    spec: object  # the checked Spec rebuilt from spec.tfs
    style: str
    source: str  # our generated source for (spec, style)
    weights: str  # real path of model.weights.h5
    base_dir: str | None  # where the spec's relative data paths were resolved when training
    data: object  # a data source used instead of the spec's, "arrays", or None
    seed: int | None  # a seed override used when training (it chooses the splits)
    classes: dict | None = None  # {label column: class names} of a CSV file's text labels
    adapted: dict | None = None  # the adapted layers' learnt state (tfspec.runtime.adapt.document)

    @property
    def inputs(self):
        """[(name, per-sample shape, dtype)] of the model's inputs."""
        return [(i.name, tuple(i.shape), i.dtype) for i in self.spec.model.inputs]


def _file(folder: str, name: str, what: str) -> str:
    """The real path of `name` in the run folder; it must be a regular file that really is there."""
    from .files import OutsidePath, inside

    path = os.path.join(folder, name)
    try:
        real = inside(folder, name, what)
    except OutsidePath:
        raise RunFolderError(f"{path!r} leads outside the run folder (a symbolic link); refusing to read it") from None
    if not os.path.exists(real):
        return None
    if not os.path.isfile(real):
        raise RunFolderError(f"{path!r} is not a regular file")
    return real


def read_manifest(folder: str) -> dict:
    path = os.path.join(folder, RUN_MANIFEST)
    real = _file(folder, RUN_MANIFEST, "the manifest")
    if real is None:
        hint = (
            f"it has {RUN_SOURCE} but no {RUN_MANIFEST}: the run did not finish, or an older tfspec wrote it "
            "(train it again)"
            if os.path.exists(os.path.join(folder, RUN_SOURCE))
            else f"it has no {RUN_MANIFEST} (written by `tfspec train` when a run finishes)"
        )
        raise RunFolderError(f"{folder!r} is not a finished training run: {hint}")
    return _json_file(folder, path, real, MANIFEST_LIMIT, "to be a run manifest", manifest_problem)


def _json_file(folder: str, path: str, real: str, limit: int, too_large: str, problem):
    """The JSON document at `real` (shown as `path`), at most `limit` bytes, checked by `problem`
    (-> what is wrong, or None): a run folder holds data, read as data and judged before use."""
    try:
        with open(real, "rb") as handle:
            raw = handle.read(limit + 1)
    except OSError as exc:
        raise RunFolderError(f"cannot read {path!r}: {exc.strerror or exc}") from None
    if len(raw) > limit:
        raise RunFolderError(f"{path!r} is too large {too_large}; the run folder was altered: {retrain(folder)}")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        what = "is empty" if not raw.strip() else "is not valid JSON (truncated or overwritten)"
        raise RunFolderError(f"{path!r} {what}; the run folder was altered: {retrain(folder)}") from None
    found = problem(data)
    if found:
        raise RunFolderError(f"{path!r}: {found}; the run folder was altered: {retrain(folder)}")
    return data


def manifest_problem(manifest) -> str | None:
    from .backends import STYLES

    if not isinstance(manifest, dict):
        return "not a JSON object"
    if manifest.get("format") != RUN_FORMAT:
        return f"'format' is not {RUN_FORMAT!r}"
    if manifest.get("style") not in STYLES:
        return f"'style' is not one of {', '.join(STYLES)}"
    if manifest.get("spec") != RUN_SPEC or manifest.get("weights") != RUN_WEIGHTS:
        return f"'spec' and 'weights' must be {RUN_SPEC!r} and {RUN_WEIGHTS!r}"
    digest = manifest.get("spec_sha256")
    if not (isinstance(digest, str) and re.fullmatch(r"[0-9a-f]{64}", digest)):
        return "'spec_sha256' is not a sha256 digest"
    if not isinstance(manifest.get("base_dir"), (str, type(None))):
        return "'base_dir' is not a path"
    data = manifest.get("data")
    if not (data is None or data == "arrays" or data_source_problem(data) is None):
        return "'data' is not a data source"
    seed = manifest.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63):
        return "'seed' is not a non-negative integer"
    for key, name in (("classes", RUN_CLASSES), ("adapted", RUN_ADAPTED)):
        if manifest.get(key) not in (None, name):
            return f"'{key}' is not {name!r}"
    return None


def classes_problem(classes) -> str | None:
    """What makes `classes` (read from classes.json) not {label column: [distinct class names]}."""
    if not isinstance(classes, dict) or not classes:
        return "not a JSON object of label columns"
    for column, names in classes.items():
        if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
            return f"the classes of {column!r} are not a list of names"
        if len(set(names)) != len(names):
            return f"the classes of {column!r} repeat a name"
    return None


def read_json(folder: str, name: str, what: str, problem, limit: int = DATA_LIMIT):
    """The JSON document `name` of a run folder (`what` it is, for messages), judged by `problem`
    (-> what is wrong, or None); None when the folder has no such file."""
    real = _file(folder, name, f"the {what}")
    if real is None:
        return None
    return _json_file(folder, os.path.join(folder, name), real, limit, f"to be a run's {what}", problem)


def _read_data(folder: str, manifest: dict, key: str, name: str, problem):
    """The JSON document `name` the manifest names under `key` (checked by `problem`), or None."""
    if manifest.get(key) is None:
        return None
    data = read_json(folder, name, f"{key} file", problem)
    if data is None:
        raise RunFolderError(f"{os.path.join(folder, name)!r} is missing; {retrain(folder)}")
    return data


def adapted_problem(data) -> str | None:
    """The outline of adapted.json (each layer's entry is checked against the model when it is built)."""
    if not isinstance(data, dict) or not isinstance(data.get("layers"), dict):
        return "not the JSON object tfspec writes"
    return None


# the types of a data source's settings, as the runtime reads them (tfspec.runtime.data)
DATA_TYPES = {
    "path": str,
    "label": (str, list),
    "features": list,
    "x": (str, list, dict),
    "y": (str, list, dict),
    "limit": int,
    "scale": (int, float),
    "test_split": (int, float),
    "label_mode": str,
}


def data_source_problem(data) -> str | None:
    from .check.train_catalog import ENTRIES

    if not isinstance(data, dict) or data.get("source") not in ENTRIES["data"]:
        return "not a data source"
    for key, value in data.items():
        if key == "source":
            continue
        if key not in DATA_TYPES or isinstance(value, bool) or not isinstance(value, DATA_TYPES[key]):
            return f"bad setting {key!r}"
    return None


def open_run(folder) -> Run:
    """Check a run folder and rebuild its spec and source, without TensorFlow; RunFolderError if not."""
    from .backends import generate_model
    from .diagnostics import SpecError
    from .frontend.source import MAX_BYTES
    from .loader import loads

    folder = str(folder)
    if not os.path.isdir(folder):
        raise RunFolderError(f"no such run folder: {folder!r}")
    manifest = read_manifest(folder)
    spec_path = os.path.join(folder, RUN_SPEC)
    real = _file(folder, RUN_SPEC, "the stored spec")
    if real is None:
        raise RunFolderError(
            f"{spec_path!r} is missing: the run's model cannot be rebuilt without its spec; {retrain(folder)}"
        )
    try:
        with open(real, "rb") as handle:
            raw = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise RunFolderError(f"cannot read {spec_path!r}: {exc.strerror or exc}") from None
    if hashlib.sha256(raw).hexdigest() != manifest["spec_sha256"]:
        raise RunFolderError(
            f"{spec_path!r} was altered: its sha256 differs from the one in {RUN_MANIFEST}; "
            "train again, or use `tfspec export SPEC --weights FILE` with a spec you trust"
        )
    try:
        spec = loads(raw, filename=spec_path)
        source = generate_model(spec, manifest["style"])
    except SpecError as exc:
        first = exc.diagnostics[0]
        more = f" (and {len(exc.diagnostics) - 1} more)" if len(exc.diagnostics) > 1 else ""
        raise RunFolderError(
            f"the stored spec does not load: {first.span.path}:{first.span.line}:{first.span.column}: "
            f"error[{first.code}]: {first.message}{more}"
        ) from None
    if spec.training is None:
        raise RunFolderError(f"{spec_path!r} has no `train {{ ... }}` section; it is not a training run's spec")
    weights = _file(folder, RUN_WEIGHTS, "the weights file")
    if weights is None:
        raise RunFolderError(f"{os.path.join(folder, RUN_WEIGHTS)!r} is missing; {retrain(folder)}")
    base_dir = manifest.get("base_dir")
    return Run(
        folder=folder,
        spec=spec,
        style=manifest["style"],
        source=source,
        weights=weights,
        base_dir=base_dir if base_dir and os.path.isdir(base_dir) else None,
        data=manifest.get("data"),
        seed=manifest.get("seed"),
        classes=_read_data(folder, manifest, "classes", RUN_CLASSES, classes_problem),
        adapted=_read_data(folder, manifest, "adapted", RUN_ADAPTED, adapted_problem),
    )


def build_run(run: Run, weights: str | None = None):
    """The run's model: our generated code for its spec, with its weights (or `weights`) loaded."""
    from .live import load_module

    module = load_module(run.source, f"tfspec_run_{run.spec.name}_{run.style}")
    try:
        model = module.build_model()
    except Exception as exc:  # noqa: BLE001 - Keras refuses some things `check` lets through (e.g. names)
        raise RunFolderError(f"the stored spec's model cannot be built: {type(exc).__name__}: {brief(exc)}") from None
    restore_adapted(run, model)
    path = weights or run.weights
    fix = retrain(run.folder) if weights is None else "give a .weights.h5 file saved from this model"
    problem = weights_file_problem(path)
    if problem:
        raise RunFolderError(f"the weights in {path!r} do not fit the model of the stored spec: {problem}; {fix}")
    try:
        model.load_weights(path)
    except Exception as exc:  # noqa: BLE001 - h5py and Keras raise many kinds; each is a bad file
        raise RunFolderError(
            f"the weights in {path!r} do not fit the model of the stored spec ({type(exc).__name__}: {brief(exc)})"
        ) from None
    return model


def restore_adapted(run: Run, model) -> None:
    """Put the vocabularies and bin boundaries the run's layers learnt back into `model` (as data)."""
    from .runtime import adapt
    from .runtime.errors import DataError

    try:
        targets = adapt.find(model, run.spec, run.style)
    except DataError as exc:
        raise RunFolderError(str(exc)) from None
    if not any(t.kind != "Normalization" for t in targets):
        return  # nothing learnt that is not a weight
    path = os.path.join(run.folder, RUN_ADAPTED)
    if run.adapted is None:
        raise RunFolderError(
            f"{RUN_MANIFEST} names no {RUN_ADAPTED}, but the model's layers learnt vocabularies or bin boundaries "
            f"from the training data; the run folder was altered: {retrain(run.folder)}"
        )
    problem = adapt.state_problem(run.adapted, targets)
    if problem:
        raise RunFolderError(f"{path!r}: {problem}; the run folder was altered: {retrain(run.folder)}")
    try:
        adapt.restore(targets, run.adapted)
    except (ValueError, TypeError) as exc:  # Keras refuses a vocabulary (max_tokens, reserved tokens)
        raise RunFolderError(f"{path!r} does not fit the model: {brief(exc)}; {retrain(run.folder)}") from None


def weights_file_problem(path: str) -> str | None:
    """What makes `path` no weights file at all (empty, not HDF5, an HDF5 file cut short or damaged),
    in words, or None; Keras's own error for such a file names neither the file nor the cause."""
    import h5py

    try:
        if os.path.getsize(path) == 0:
            return "the file is empty"
        if not h5py.is_hdf5(path):
            return "the file is not an HDF5 weights file (damaged or overwritten)"
        with h5py.File(path, "r"):
            pass
    except OSError as exc:  # h5py's errors for a file it cannot open
        return f"the file is damaged ({brief(exc, 160)})"
    return None


def brief(exc: Exception, limit: int = 300) -> str:
    """An exception's text on one line, cut to a readable length."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", " ".join(str(exc).split()))  # Keras colours its messages
    return text if len(text) <= limit else text[:limit] + " ..."


def load_run(folder):
    """The trained keras.Model of a run folder, rebuilt from its stored spec (see the module docstring)."""
    return build_run(open_run(folder))
