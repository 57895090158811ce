"""`tfspec train`, `tfspec evaluate` and `tfspec predict`: the shared runtime from the command line.

TensorFlow is imported (quietly: see tfspec.needs) only once everything that can be checked
without it has been checked; without TensorFlow these commands say how to install it (exit 2)."""

from __future__ import annotations

import json
import os
import sys

from .. import threads
from ..cli import UsageError
from ..diagnostics import clean


def data_source(text: str | None, label: str | None):
    """--data: a dataset name (digits, mnist, ...) or a .npz/.csv file."""
    if text is None:
        return None
    if text.endswith(".csv"):
        if not label:
            raise UsageError("--data FILE.csv needs --label COLUMN")
        return {"source": "csv", "path": os.path.abspath(text), "label": label}
    if text.endswith(".npz"):
        return {"source": "npz", "path": os.path.abspath(text)}
    from ..check.train_catalog import ENTRIES

    if text not in ENTRIES["data"] or text in ("npz", "csv"):
        raise UsageError(
            f"--data: unknown dataset {text!r}; use one of digits, mnist, fashion_mnist, cifar10, "
            "cifar100, or a .npz/.csv file"
        )
    return {"source": text}


def overrides_from(args) -> dict:
    out = {}
    for key in ("epochs", "batch_size", "seed", "steps_per_call"):
        value = getattr(args, key, None)
        if value is not None:
            if value < (0 if key == "seed" else 1):
                raise UsageError(f"--{key.replace('_', '-')} must be {'≥ 0' if key == 'seed' else 'positive'}")
            out[key] = value
    if getattr(args, "xla", False):
        out["jit_compile"] = True
    if getattr(args, "deterministic", False):
        out["deterministic"] = True
    source = data_source(args.data, args.label)
    if source is not None:
        out["data"] = source
    return out


def runtime_errors() -> tuple:
    """The runtime's DataError and TrainingError, once it is loaded: until then nothing raises them,
    and matching an exception against them must not import TensorFlow."""
    errors = sys.modules.get("tfspec.runtime.errors")
    return (errors.DataError, errors.TrainingError) if errors else ()


def cmd_train(args) -> int:
    from ..loader import load
    from ..needs import require

    spec = load(args.file)
    if spec.training is None:
        raise UsageError(f"{args.file}: the spec has no `train {{ ... }}` section to train with")
    if spec.space is not None:
        from ..search.space import show_point

        print(
            f"note: {clean(args.file)} has a search section: this trains its default point "
            f"({show_point(spec.point)}); `tfspec tune {clean(args.file)}` searches it",
            file=sys.stderr,
        )
    out_dir = args.out or os.path.join("runs", spec.name)
    if args.weights and not (os.path.isfile(args.weights) and args.weights.endswith(".weights.h5")):
        raise UsageError(f"--weights: {args.weights!r} is not a .weights.h5 file")
    overrides = overrides_from(args)
    if overrides.get("data") is None and spec.training.get("data") is None:
        raise UsageError(
            f"{args.file}: the spec has no `data` setting to train on: give --data FILE.npz (or FILE.csv "
            '--label COLUMN, or a dataset name such as digits), or add `data = npz("FILE.npz")` to its train section'
        )
    require(quiet=True)
    from ..training import train_run

    try:
        train_run(
            spec,
            style=args.style,
            out_dir=out_dir,
            resume=args.resume,
            quiet=args.quiet,
            weights=args.weights,
            **overrides,
        )
    except runtime_errors() as exc:
        print(f"tfspec: error: {clean(str(exc))}", file=sys.stderr)
        return 1
    except ValueError as exc:  # weights that do not fit the model
        if not args.weights:
            raise
        print(f"tfspec: error: cannot load {clean(args.weights)}: {clean(str(exc))}", file=sys.stderr)
        return 1
    if not args.quiet:
        print(
            f"saved to {clean(out_dir)}/ (spec.tfs, model.weights.h5, manifest.json, model.keras, model.py, "
            "history.json, curves.svg, checkpoints/)"
        )
    return 0


def cmd_evaluate(args) -> int:
    """Rebuild the run's model from its stored spec (nothing of the folder is executed) and evaluate it."""
    from ..api import Target, evaluate_target, open_run_folder
    from ..needs import require
    from ..runs import RunFolderError

    if args.batch_size is not None and args.batch_size < 1:
        raise UsageError("--batch-size must be positive")
    try:
        data = data_source(args.data, args.label)
        run = open_run_folder(args.run_dir)
        require(quiet=True)
        threads.apply(threads.choose(run.spec, args.batch_size))
        from ..runs import build_run

        target = Target(build_run(run), run.spec, run.data, run.seed, run.base_dir, repr(args.run_dir), run.classes)
        metrics = evaluate_target(target, data, split=args.split, batch_size=args.batch_size, give="--data")
    except (RunFolderError, *runtime_errors()) as exc:
        print(f"tfspec: error: {clean(str(exc))}", file=sys.stderr)
        return 1
    print(json.dumps({k: round(float(v), 6) for k, v in metrics.items()}, indent=2))
    return 0


def cmd_predict(args) -> int:
    """Rebuild the run's model from its stored spec and write its outputs for the inputs in --data."""
    from ..api import Target, open_run_folder, predict_target
    from ..files import write_atomic
    from ..needs import require
    from ..runs import RunFolderError

    if not args.data.endswith((".npz", ".csv")):
        raise UsageError(f"--data {args.data!r}: give a .npz or .csv file of inputs")
    if args.output and not args.output.endswith((".npz", ".csv")):
        raise UsageError(f"-o {args.output!r}: predictions are written as .npz or .csv; end the name in one of them")
    if args.output and os.path.isdir(args.output):
        raise UsageError(f"-o {args.output!r} is a folder; give a file name")
    if args.batch_size < 1:
        raise UsageError("--batch-size must be positive")
    try:
        run = open_run_folder(args.run_dir)
        if not os.path.isfile(args.data):
            print(f"tfspec: error: no such file: {clean(args.data)}", file=sys.stderr)
            return 1
        require(quiet=True)  # before anything of tfspec.runtime, which imports TensorFlow
        threads.apply(threads.choose(run.spec, getattr(args, "batch_size", None)))
        from ..runs import build_run
        from ..runtime.predict_files import class_names, csv_text, npz_bytes, read_inputs

        x, factor = read_inputs(args.data, run, scale=not args.no_scale)
        target = Target(build_run(run), run.spec, run.data, run.seed, run.base_dir, repr(args.run_dir), run.classes)
        outputs = predict_target(target, x, batch_size=args.batch_size)
        named = class_names(outputs, run.classes)  # the class names the run's labels had
    except (RunFolderError, *runtime_errors()) as exc:
        print(f"tfspec: error: {clean(str(exc))}", file=sys.stderr)
        return 1
    samples = len(next(iter(outputs.values())))
    scaled = f", inputs scaled by {factor:g} as the run's data source scales them" if factor else ""
    if args.output:
        both = {**outputs, **named}
        data = npz_bytes(both) if args.output.endswith(".npz") else csv_text(both)
        try:
            write_atomic(args.output, data)
        except OSError as exc:
            print(f"tfspec: error: cannot write {clean(args.output)}: {exc.strerror or exc}", file=sys.stderr)
            return 1
        print(f"wrote the predictions for {samples} samples to {clean(args.output)}{scaled}")
        return 0
    print(f"predicted {samples} samples{scaled}")
    for name, values in outputs.items():
        print(f"  {name}: {preview(values)}")
    for name, values in named.items():
        print(f"  {name}: {' '.join(clean(str(v)) for v in values[:10])}")
    print("write them with -o FILE.npz (one array per output) or -o FILE.csv")
    return 0


def preview(values, count: int = 10) -> str:
    """Shape and dtype, and the first few predictions: classes for a probability vector, else values."""
    import numpy as np

    head = f"shape {tuple(values.shape)} {values.dtype}"
    if values.ndim == 2 and values.shape[1] > 1:
        classes = " ".join(str(int(c)) for c in np.argmax(values[:count], axis=1))
        return f"{head}; most likely class of the first {min(count, len(values))}: {classes}"
    flat = values.reshape(len(values), -1)
    if flat.shape[1] == 1:
        shown = " ".join(f"{float(v):.4g}" for v in flat[:count, 0])
        return f"{head}; the first {min(count, len(values))}: {shown}"
    return head


def register(sub) -> None:
    p = sub.add_parser("train", help="train a spec with the shared GradientTape runtime")
    p.add_argument("file", metavar="SPEC")
    p.add_argument("--style", default="functional", choices=["sequential", "functional", "subclassing"])
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", type=int, dest="batch_size")
    p.add_argument("--data", help="dataset name (digits, mnist, ...) or a .npz/.csv file")
    p.add_argument("--label", help="label column of a --data .csv file")
    p.add_argument("--out", metavar="DIR", help="run folder (default runs/<model>/)")
    p.add_argument("--resume", action="store_true", help="continue from the run's latest checkpoint")
    p.add_argument("--weights", metavar="FILE", help="start from these weights (.weights.h5, e.g. from tfspec import)")
    p.add_argument("--seed", type=int)
    p.add_argument("--steps-per-call", type=int, dest="steps_per_call", help="train steps per tf.function call")
    p.add_argument("--xla", action="store_true", help="compile the train step with XLA")
    p.add_argument("--deterministic", action="store_true", help="deterministic TensorFlow ops")
    p.add_argument("-q", "--quiet", action="store_true")
    p.set_defaults(run=cmd_train)

    p = sub.add_parser(
        "evaluate", help="evaluate a saved run on its test split (or another), rebuilt from its stored spec"
    )
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--split", default="test", choices=["train", "validation", "test"])
    p.add_argument("--data", help="dataset name or a .npz/.csv file")
    p.add_argument("--label", help="label column of a --data .csv file")
    p.add_argument("--batch-size", type=int, dest="batch_size")
    p.set_defaults(run=cmd_evaluate)

    p = sub.add_parser(
        "predict",
        help="a saved run's predictions for the inputs in a .npz or .csv file",
        description="Rebuild the run's model from its stored spec and weights (nothing in the folder is run) and "
        "predict. Inputs are read as the run's data source reads its files: the .npz array `x` (or the names the "
        "spec gives, or arrays named like the model's inputs), the .csv feature columns (a label column is ignored); "
        "they are scaled as the data source scales them (digits 1/16, mnist 1/255, its `scale` setting).",
    )
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--data", required=True, metavar="FILE", help="inputs: a .npz or .csv file")
    p.add_argument(
        "-o", "--output", metavar="FILE", help="write the predictions (atomically) as .npz or .csv; else a summary"
    )
    p.add_argument(
        "--batch-size", type=int, dest="batch_size", default=256, metavar="N", help="samples per call (default 256)"
    )
    p.add_argument("--no-scale", action="store_true", help="feed the inputs as stored, without the data source's scale")
    p.set_defaults(run=cmd_predict)
