"""`tfspec tune`: search a spec's search section with KerasTuner, each trial trained by the
tfspec runtime (see tfspec.search.tune). One line per trial on stderr; at the end a table of the
trials, best first, and the files written.

Exit codes as `tfspec train`: 0 when a trial completed, 1 for spec errors, training errors and a
search where every trial failed, 2 for usage errors (a spec without a search section, a bad
objective, a folder holding another search) and a missing TensorFlow or KerasTuner."""

from __future__ import annotations

import os
import sys

from ..cli import UsageError
from ..diagnostics import clean
from .train_cmd import data_source, runtime_errors


def cmd_tune(args) -> int:
    from ..loader import load
    from ..needs import require

    spec = load(args.file)
    if spec.space is None:
        raise UsageError(
            f"{args.file}: the spec has no search section, so there is nothing to tune; `tfspec train` trains it"
        )
    if spec.training is None:
        raise UsageError(f"{args.file}: the spec has no `train {{ ... }}` section to train the trials with")
    for name in ("trials", "epochs", "batch_size"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise UsageError(f"--{name.replace('_', '-')} must be positive")
    data = data_source(args.data, args.label)
    if data is None and spec.training.get("data") is None:
        raise UsageError(
            f"{args.file}: the spec has no `data` setting to train on: give --data FILE.npz (or FILE.csv "
            "--label COLUMN, or a dataset name such as digits)"
        )
    overrides = {"batch_size": args.batch_size} if args.batch_size else {}
    require(quiet=True)
    from ..search.tune import NeedsKerasTuner, TuneError, tune

    try:
        result = tune(
            spec,
            trials=args.trials,
            objective=args.objective,
            algorithm=args.algorithm,
            out_dir=args.out,
            resume=args.resume,
            data=data,
            seed=args.seed,
            epochs=args.epochs,
            stream=None if args.quiet else sys.stderr,
            **overrides,
        )
    except (NeedsKerasTuner, TuneError) as exc:
        print(f"tfspec: error: {clean(str(exc))}", file=sys.stderr)
        return 2
    except runtime_errors() as exc:
        print(f"tfspec: error: {clean(str(exc))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("tfspec: interrupted; run the same command with --resume to continue the search", file=sys.stderr)
        return 130
    return report(result, spec)


def report(result, spec) -> int:
    from ..search.results import table

    if not result.rows:
        print("no trial ran")
        return 1
    for line in table(result.rows, spec.space.names, result.objective).splitlines():
        print(clean(line))
    if result.files:
        print("wrote " + ", ".join(clean(shown(path)) for path in result.files))
    if result.best_point is None:
        print("every trial failed", file=sys.stderr)
        return 1
    return 0


def shown(path: str) -> str:
    """A path relative to the current folder when it is inside it."""
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative


def register(sub) -> None:
    p = sub.add_parser(
        "tune",
        help="search a spec's search section with KerasTuner (each trial trained by the runtime)",
        description="Search the hyperparameters of the spec's `search { ... }` section: KerasTuner picks the "
        "points, the tfspec runtime trains each. Writes DIR/results.json, results.csv (best first) and best.tfs "
        "(the spec at the best point). Distributed: set KERASTUNER_TUNER_ID (chief, tuner0, ...), "
        "KERASTUNER_ORACLE_IP and KERASTUNER_ORACLE_PORT, and run the same command in each process.",
    )
    p.add_argument("file", metavar="SPEC")
    p.add_argument("--trials", type=int, default=10, metavar="N", help="trials to run in all (default 10)")
    p.add_argument(
        "--objective",
        metavar="NAME",
        help="the logged value to optimise (val_loss, val_accuracy, loss, ...); default val_accuracy with an "
        "accuracy metric and validation, else val_loss, else loss",
    )
    p.add_argument("--algorithm", default="random", choices=["random", "bayesian", "hyperband"])
    p.add_argument("--out", metavar="DIR", help="output folder (default tune/<model>/)")
    p.add_argument("--resume", action="store_true", help="continue the search stopped in the output folder")
    p.add_argument("--epochs", type=int, metavar="N", help="epochs per trial (hyperband: the most a trial gets)")
    p.add_argument("--batch-size", type=int, dest="batch_size", metavar="N")
    p.add_argument("--seed", type=int, metavar="N", help="the search's seed, and each trial's training seed")
    p.add_argument("--data", help="dataset name (digits, mnist, ...) or a .npz/.csv file")
    p.add_argument("--label", help="label column of a --data .csv file")
    p.add_argument("-q", "--quiet", action="store_true", help="no line per trial")
    p.set_defaults(run=cmd_tune)
