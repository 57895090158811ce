"""`tfspec export`: a trained run (or a spec, with optional weights) as a .keras file, a TensorFlow
SavedModel folder or a .tflite file.

A run folder is read as data (see tfspec.runs): the model is rebuilt from the run's stored
spec.tfs (checked against its manifest, then by `tfspec.loads`) and its model.weights.h5 is loaded
into it. Nothing in the folder is imported or executed, and its model.keras is not read.

Everything that can be checked without TensorFlow (paths, suffixes, the spec itself) is checked
first; TensorFlow is imported only once the inputs look right. Outputs are written in a temporary
folder beside the target and moved into place, so a failed export leaves any previous output as it was.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from contextlib import contextmanager

from ..cli import UsageError
from ..diagnostics import clean

FORMATS = ("keras", "savedmodel", "tflite")
STYLES = ("sequential", "functional", "subclassing")


class ExportError(Exception):
    """The export could not be done (missing files, unloadable model, failed conversion): exit 1."""


def default_output(source: str, fmt: str) -> str:
    """Beside the run folder or spec file: NAME.keras, NAME_savedmodel/ or NAME.tflite."""
    base = os.path.abspath(source) if os.path.isdir(source) else os.path.splitext(source)[0]
    return base + {"keras": ".keras", "savedmodel": "_savedmodel", "tflite": ".tflite"}[fmt]


def check_output(path: str, fmt: str) -> None:
    if fmt == "keras" and not path.endswith(".keras"):
        raise UsageError(f"-o {path!r}: a Keras model file must end in .keras")
    if fmt != "savedmodel":
        if os.path.isdir(path):
            raise UsageError(f"-o {path!r} is a folder; give a file name")
        return
    if os.path.exists(path) and not os.path.isdir(path):
        raise UsageError(f"-o {path!r} is a file; a SavedModel is a folder")
    if os.path.isdir(path) and os.listdir(path) and not os.path.isfile(os.path.join(path, "saved_model.pb")):
        raise UsageError(f"-o {path!r} is a folder that is not a SavedModel; refusing to replace it")


def check_weights(path: str | None) -> None:
    if path is None:
        return
    if not path.endswith(".weights.h5"):
        raise UsageError(f"--weights {path!r}: expected a Keras weights file ending in .weights.h5")
    if not os.path.isfile(path):
        raise ExportError(f"no such weights file: {path!r}")


# ---- with TensorFlow -------------------------------------------------------------------------


def load_run(run, weights: str | None):
    """The run's model (our code for its stored spec) with its weights, or `weights` if given."""
    from ..runs import RunFolderError, build_run

    try:
        return build_run(run, weights), run.inputs
    except RunFolderError as exc:
        raise ExportError(str(exc)) from None


def load_spec(spec, style: str, weights: str | None):
    from ..live import module_for

    module = module_for(spec, style)
    model = module.build_model()
    if weights is None:
        print("tfspec: note: no --weights given; exporting freshly initialised weights", file=sys.stderr)
    else:
        load_weights(model, weights)
    return model, [(i.name, tuple(i.shape), i.dtype) for i in spec.model.inputs]


def load_weights(model, path: str) -> None:
    try:
        model.load_weights(path)
    except Exception as exc:  # noqa: BLE001
        raise ExportError(
            f"cannot load weights from {path!r} into the model: {type(exc).__name__}: {brief(exc)}"
        ) from None


def signature(inputs, batch=None):
    """The serving signature: one argument (a tensor, or a list of them for several inputs)."""
    if not inputs:
        return None
    import tensorflow as tf

    specs = [tf.TensorSpec((batch,) + tuple(shape), dtype, name=name) for name, shape, dtype in inputs]
    return specs if len(specs) == 1 else [specs]


@contextmanager
def scratch_beside(path: str):
    """A fresh temporary folder beside `path` (same file system, so os.replace is atomic), removed after."""
    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)
    scratch = tempfile.mkdtemp(prefix="." + os.path.basename(os.path.normpath(path)) + ".", suffix=".tmp", dir=parent)
    try:
        yield scratch
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def replace_folder(new: str, target: str) -> None:
    """Move the folder `new` to `target`, replacing an older one only once the new one is complete."""
    if not os.path.exists(target):
        os.replace(new, target)
        return
    old = new + ".old"
    os.replace(target, old)
    try:
        os.replace(new, target)
    except OSError:
        os.replace(old, target)
        raise
    shutil.rmtree(old, ignore_errors=True)


def save_savedmodel(model, inputs, path: str, batch=None) -> None:
    model.export(path, format="tf_saved_model", verbose=False, input_signature=signature(inputs, batch))


@contextmanager
def quiet_stderr():
    """Silence output written straight to file descriptor 2 (the TFLite converter's MLIR diagnostics)."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def tflite_model(model, inputs, scratch: str) -> bytes:
    """TFLite bytes converted from a SavedModel. Recurrent layers cannot be lowered to TFLite's
    built-in ops with a variable batch size, so when that fails the batch is fixed at 1."""
    import tensorflow as tf

    def convert(batch):
        saved = os.path.join(scratch, f"saved_model_{batch or 'any'}")
        save_savedmodel(model, inputs, saved, batch)
        with quiet_stderr():
            return tf.lite.TFLiteConverter.from_saved_model(saved).convert()

    try:
        return convert(None)
    except Exception as first:  # noqa: BLE001 - tf.lite's ConverterError is not public API
        if not inputs:
            raise
        try:
            data = convert(1)
        except Exception:  # noqa: BLE001
            raise first from None
    print(
        "tfspec: note: TFLite cannot run this model with a variable batch size; "
        "the .tflite file takes one sample per call (batch size 1)",
        file=sys.stderr,
    )
    return data


def export(model, inputs, fmt: str, output: str) -> None:
    """Write `model` to `output` in `fmt`; the previous output stays until the new one is complete."""
    with scratch_beside(output) as scratch:
        if fmt == "keras":
            tmp = os.path.join(scratch, "model.keras")
            model.save(tmp)
            os.replace(tmp, output)
        elif fmt == "savedmodel":
            tmp = os.path.join(scratch, "saved_model")
            save_savedmodel(model, inputs, tmp)
            replace_folder(tmp, output)
        else:
            data = tflite_model(model, inputs, scratch)
            tmp = os.path.join(scratch, "model.tflite")
            with open(tmp, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, output)


def run(args) -> int:
    from ..needs import require

    source = args.source
    is_run = os.path.isdir(source)
    if is_run and args.style:
        raise UsageError("--style applies to a spec; a run folder's manifest fixes its style")
    if not is_run and not os.path.isfile(source) and not source.endswith(".tfs"):
        return fail(f"no such run folder or spec file: {source!r}")
    output = args.output or default_output(source, args.format)
    check_output(output, args.format)
    try:
        check_weights(args.weights)
        if is_run:
            folder = open_run_folder(source)  # fail on a bad folder before TensorFlow loads
        else:
            spec, style = spec_and_style(source, args.style)
        require(quiet=True)  # NeedsTensorFlow without it (exit 2); its start-up lines filtered
        model, inputs = load_run(folder, args.weights) if is_run else load_spec(spec, style, args.weights)
        try:
            export(model, inputs, args.format, output)
        except OSError as exc:
            raise ExportError(f"cannot write {output!r}: {exc.strerror or exc}") from None
        except Exception as exc:  # noqa: BLE001 - a failed conversion is reported, not a traceback
            raise ExportError(f"exporting to {args.format} failed: {type(exc).__name__}: {brief(exc)}") from None
    except ExportError as exc:
        return fail(str(exc))
    print(f"exported {args.format} to {output}")
    return 0


def open_run_folder(path: str):
    from ..runs import RunFolderError, open_run

    try:
        return open_run(path)
    except RunFolderError as exc:
        raise ExportError(str(exc)) from None


def spec_and_style(path: str, style: str | None):
    """The checked spec and the style to build it in; SpecError (rendered by the CLI) if either fails."""
    from ..backends import allowed_styles, generate
    from ..loader import load

    spec = load(path)
    if style is None:
        allowed = allowed_styles(spec)
        style = "functional" if "functional" in allowed or not allowed else allowed[0]
    generate(spec, style)
    return spec, style


def brief(exc: Exception, limit: int = 800) -> str:
    """An exception's text cut to a readable length (converter errors run to pages)."""
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[:limit] + " ..."


def fail(message: str) -> int:
    print(f"tfspec: error: {clean(message)}", file=sys.stderr)
    return 1


def register(subparsers) -> None:
    p = subparsers.add_parser("export", help="export a trained run or a spec as .keras, SavedModel or .tflite")
    p.add_argument("source", metavar="RUN_OR_SPEC", help="a run folder (from `tfspec train`) or a .tfs spec")
    p.add_argument(
        "--format",
        required=True,
        choices=FORMATS,
        help="keras (.keras file), savedmodel (a folder) or tflite (.tflite file)",
    )
    p.add_argument(
        "-o",
        "--output",
        metavar="PATH",
        help="where to write (default: beside the input, NAME.keras, NAME_savedmodel/ or NAME.tflite)",
    )
    p.add_argument("--weights", metavar="FILE", help="a .weights.h5 file to load before exporting")
    p.add_argument("--style", choices=STYLES, help="Keras style to build a spec in (default: functional)")
    p.set_defaults(run=run)
