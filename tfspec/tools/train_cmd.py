"""`tfspec train` and `tfspec evaluate`: the shared runtime from the command line."""

from __future__ import annotations

import json
import os
import sys

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
    from ..check.training import DATASETS

    if text not in DATASETS or text in ("npz", "csv"):
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


def runtime_errors():
    from ..runtime import DataError, TrainingError

    return (DataError, TrainingError)


def cmd_train(args) -> int:
    from ..loader import load
    from ..training import train_run

    spec = load(args.file)
    if spec.training is None:
        raise UsageError(f"{args.file}: the spec has no `train {{ ... }}` section to train with")
    out_dir = args.out or os.path.join("runs", spec.name)
    if args.weights and not (os.path.isfile(args.weights) and args.weights.endswith(".weights.h5")):
        raise UsageError(f"--weights: {args.weights!r} is not a .weights.h5 file")
    overrides = overrides_from(args)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
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
            "history.json, checkpoints/)"
        )
    return 0


def cmd_evaluate(args) -> int:
    """Rebuild the run's model from its stored spec (nothing of the folder is executed) and evaluate it."""
    from ..runs import RunFolderError, build_run, open_run

    try:
        overrides = overrides_from(args)
        run = open_run(args.run_dir)
        data = overrides.pop("data", None)
        if data is None and run.data == "arrays":
            raise RunFolderError(
                f"{args.run_dir!r} was trained on arrays passed to tfspec.train; give --data to evaluate it"
            )
        data = data if data is not None else run.data
        if run.seed is not None:
            overrides.setdefault("seed", run.seed)  # the seed chose the splits
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        from ..runtime import evaluate_model

        model = build_run(run)
        metrics = evaluate_model(model, run.spec.training, data, split=args.split, base_dir=run.base_dir, **overrides)
    except RunFolderError as exc:
        print(f"tfspec: error: {clean(str(exc))}", file=sys.stderr)
        return 1
    except runtime_errors() as exc:
        print(f"tfspec: error: {clean(str(exc))}", file=sys.stderr)
        return 1
    print(json.dumps({k: round(float(v), 6) for k, v in metrics.items()}, indent=2))
    return 0


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
