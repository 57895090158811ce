"""`tfspec.tune`: KerasTuner searches a spec's search section, and the tfspec runtime trains each
trial (the spec at the trial's point, as `concrete_text` writes it).

    result = tfspec.tune("specs/x.tfs", trials=8, algorithm="random")
    result.rows          # one dict per trial, the best first
    result.best_point    # {"units": 128, "lr": 0.0012}
    result.best_text     # the spec at that point (also out_dir/best.tfs)

The output folder (default tune/<Model>/) holds KerasTuner's project (keras_tuner/), one tfspec
run folder per trial (trials/<id>/) with a record of it (trials/<id>.json: point, metrics,
seconds, error), search.json (what was searched, for resume), and at the end results.json,
results.csv and best.tfs.

A trial that fails (a spec the point breaks, a non-finite loss, any error of training) is
recorded FAILED with a one-line error, and the search goes on. `resume=True` continues a search
stopped in the same folder: KerasTuner reloads its oracle, finished trials are kept, a trial
that was running starts again. Distributed (KerasTuner's KERASTUNER_TUNER_ID, _ORACLE_IP,
_ORACLE_PORT): the chief serves the oracle and, once every trial has ended, writes the results;
each worker runs trials and returns the rows of those it ran. The trial records are read from
the folder, so workers on other machines should share it (their errors and times are otherwise
missing from the results; statuses and metrics come through KerasTuner).

TensorFlow and KerasTuner are imported only inside the functions."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import math
import os
import sys
import time
from dataclasses import dataclass, field

from ..files import write_atomic
from .concrete import concrete_text, plain
from .results import (
    best_row,
    error_of,
    read_record,
    record_path,
    row_of_record,
    row_of_trial,
    show,
    sort_rows,
    table,
    write_results,
)

ALGORITHMS = ("random", "bayesian", "hyperband")
INSTALL = "tfspec tune needs KerasTuner: pip install 'tfspec[tune]'"
PROJECT = "keras_tuner"  # KerasTuner's project folder inside the output folder
MANIFEST = "search.json"
MAXIMISED = ("accuracy", "acc", "auc", "precision", "recall", "f1", "fbeta", "iou", "r2")


class NeedsKerasTuner(ModuleNotFoundError):
    """KerasTuner is not installed; the message says how to install it."""


class TuneError(Exception):
    """A search that cannot start or go on: a bad objective, a folder that holds another search."""


def require_keras_tuner():
    """The keras_tuner module, or NeedsKerasTuner (NeedsTensorFlow when TensorFlow is missing)."""
    from ..needs import require

    require("tfspec tune")
    try:
        import keras_tuner
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] == "keras_tuner":
            raise NeedsKerasTuner(INSTALL, name=exc.name) from None
        raise
    return keras_tuner


@dataclass(repr=False)
class TuneResult:
    rows: list  # one dict per trial, sorted by the objective (see tfspec.search.results)
    best_point: dict | None  # None when no trial completed
    best_text: str | None  # the spec at the best point (best.tfs)
    out_dir: str
    objective: str
    direction: str
    files: list = field(default_factory=list)  # the paths written at the end
    spec_path: str = "<string>"
    _best_spec: object = None

    @property
    def best_spec(self):
        """The Spec at the best point (loaded from best_text), or None."""
        if self._best_spec is None and self.best_text is not None:
            from ..loader import loads

            self._best_spec = loads(self.best_text, filename=self.spec_path)
        return self._best_spec

    def __repr__(self) -> str:
        return f"<tfspec.TuneResult {len(self.rows)} trials, best {self.best_point}, out_dir={self.out_dir!r}>"


# ---- the objective ---------------------------------------------------------------------------


def direction_of(name: str) -> str:
    """ "max" for accuracy-like names (accuracy, auc, precision, recall, ...), else "min"."""
    base = name[4:] if name.startswith("val_") else name
    words = base.lower().split("_")
    return "max" if any(word in words for word in MAXIMISED) else "min"


def validated(spec, data, settings: dict) -> bool:
    """Whether training logs val_ values: a validation setting, or data with a validation split."""
    training = {**spec.training, **settings}
    if training.get("validation_split") or training.get("validation_data"):
        return True
    return isinstance(data, dict) and data.get("validation") is not None


def logged_names(spec, with_validation: bool) -> list:
    """The names each epoch's history holds (as tfspec.runtime.session logs them), without lr."""
    from ..check.train_catalog import metric_labels

    outputs = list(spec.model.outputs)
    names = ["loss"] + ([f"{o}_loss" for o in outputs] if len(outputs) > 1 else [])
    names += [term.name for term in spec.model.losses]
    names += [label for _, _, label in metric_labels(outputs, spec.training.get("metrics") or [])]
    return names + (["val_" + n for n in names] if with_validation else [])


def choose_objective(spec, objective: str | None, data=None, settings: dict | None = None) -> tuple:
    """(name, direction): `objective`, checked against what training logs; by default
    val_accuracy with an accuracy metric and validation, else val_loss, else loss."""
    has_validation = validated(spec, data, settings or {})
    names = logged_names(spec, has_validation)
    if objective is None:
        if has_validation and "val_accuracy" in names:
            objective = "val_accuracy"
        else:
            objective = "val_loss" if has_validation else "loss"
        return objective, direction_of(objective)
    if objective not in names:
        hint = ""
        if objective.startswith("val_") and not has_validation:
            hint = " (the train section has no validation, so no val_ values are logged: add `validation = 0.2`)"
        raise TuneError(
            f"the objective {objective!r} is not logged by this spec's training{hint}; "
            f"it can be one of: {', '.join(names)}"
        )
    return objective, direction_of(objective)


# ---- the search space as KerasTuner's ------------------------------------------------------


def hyperparameters(space, kt):
    """keras_tuner.HyperParameters of a Space."""
    hp = kt.HyperParameters()
    for h in space.hypers:
        sampling = "log" if h.log else "linear"
        if h.kind == "boolean" or (h.kind == "choice" and set(map(type, h.values)) == {bool}):
            if len(h.values) == 1:
                hp.Fixed(h.name, h.values[0])
            else:
                hp.Boolean(h.name, default=h.default)  # hp.Choice would make True and False 1 and 0
        elif h.kind == "choice":
            hp.Choice(h.name, list(h.values), default=h.default)
        elif h.kind == "int":
            hp.Int(h.name, h.low, h.high, step=h.step, sampling=sampling, default=h.default)
        else:
            hp.Float(h.name, h.low, h.high, step=h.step, sampling=sampling, default=h.default)
    return hp


def point_of(space, values: dict) -> dict:
    """The space's point in KerasTuner's values (which also hold Hyperband's tuner/ entries),
    each value of its hyperparameter's type; a float on a step grid without float noise."""
    point = {}
    for h in space.hypers:
        value = plain(values[h.name])
        if h.kind == "boolean" or isinstance(h.default, bool):
            value = bool(value)
        elif h.kind == "choice":
            value = next((v for v in h.values if v == value and type(v) is type(value)), value)
        elif h.kind == "int":
            value = int(value)
        else:
            value = float(value)
            if h.step and not h.log:
                value = round(value, 12)
        point[h.name] = value
    return point


def make_oracle(kt, algorithm: str, goal: tuple, hp, trials: int, seed, max_epochs: int):
    common = dict(
        objective=kt.Objective(*goal),
        hyperparameters=hp,
        tune_new_entries=False,
        allow_new_entries=False,
        max_retries_per_trial=0,
        max_consecutive_failed_trials=trials + 1,  # a failed trial never stops the search
    )
    if algorithm == "random":
        oracle = kt.oracles.RandomSearchOracle(max_trials=trials, **common)
    elif algorithm == "bayesian":
        try:
            oracle = kt.oracles.BayesianOptimizationOracle(max_trials=trials, **common)
        except ImportError:
            raise TuneError(
                "--algorithm bayesian needs scipy and scikit-learn: pip install 'keras-tuner[bayesian]'"
            ) from None
    else:
        oracle = kt.oracles.HyperbandOracle(max_epochs=max_epochs, factor=3, hyperband_iterations=1, **common)
        oracle.max_trials = trials  # at most `trials` trials, as the other algorithms
    if seed is not None:
        oracle.seed = oracle._seed_state = seed  # KerasTuner takes a seed of 0 for none
    oracle.verbose = 0  # the tuner prints one line per trial instead
    return oracle


# ---- one trial ----------------------------------------------------------------------------


def best_epoch(history: dict, objective: str, direction: str) -> dict:
    """The metrics of the epoch where the objective was best (as KerasTuner reads a History)."""
    values = history.get(objective)
    if not values:
        logged = ", ".join(name for name in history if name != "lr")
        raise TuneError(f"the objective {objective!r} is not in the trial's history; it holds {logged}")
    finite = [(v, i) for i, v in enumerate(values) if isinstance(v, (int, float)) and math.isfinite(v)]
    if not finite:
        raise ValueError(f"{objective} was never finite")
    _, at = (max if direction == "max" else min)(finite)
    return {
        name: float(series[at])
        for name, series in history.items()
        if name != "lr" and isinstance(series, list) and len(series) > at and isinstance(series[at], (int, float))
    }


def one_line(exc: BaseException, limit: int = 300) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[:limit] + " ..."


class Search:
    """What every trial of one search shares."""

    def __init__(self, spec, goal, out_dir, data, settings, trials, stream):
        self.spec, self.out_dir, self.data, self.settings = spec, out_dir, data, settings
        self.objective, self.direction = goal
        self.trials, self.stream = trials, stream
        self.ran: list = []  # the ids of the trials this process ran
        self.ended: set = set()  # the ids of the trials reported so far

    def run(self, trial_id: str, values: dict) -> dict:
        """Train the spec at the trial's point; its metrics, or an exception with a one-line error."""
        from ..loader import loads
        from ..runs import RUN_WEIGHTS
        from ..training import train

        point = point_of(self.spec.space, values)
        folder = os.path.join(self.out_dir, "trials", trial_id)
        settings = dict(self.settings)
        weights = None
        if "tuner/epochs" in values:  # Hyperband: this many epochs in all, maybe after an earlier trial's
            settings["epochs"] = int(values["tuner/epochs"])
            earlier = values.get("tuner/trial_id")
            start = os.path.join(self.out_dir, "trials", str(earlier), RUN_WEIGHTS) if earlier else None
            if start and os.path.isfile(start):
                weights = start
                settings["epochs"] = max(1, settings["epochs"] - int(values.get("tuner/initial_epoch", 0)))
        record = {"trial": trial_id, "point": point, "epochs": settings.get("epochs"), "error": None}
        self.ran.append(trial_id)
        began = time.perf_counter()
        try:
            text = concrete_text(self.spec.source, self.spec.path, point)
            concrete = loads(text, filename=self.spec.path)
            result = train(concrete, data=self.data, out_dir=folder, quiet=True, weights=weights, **settings)
            metrics = best_epoch(result.history, self.objective, self.direction)
        except TuneError:
            raise
        except Exception as exc:
            record.update(error=one_line(exc), seconds=time.perf_counter() - began)
            self.keep(record)
            raise Failed(record["error"]) from None
        record.update(metrics=metrics, seconds=time.perf_counter() - began)
        self.keep(record)
        return metrics

    def keep(self, record: dict) -> None:
        try:
            write_atomic(record_path(self.out_dir, record["trial"]), json.dumps(record, indent=2, default=str) + "\n")
        except OSError:
            pass  # the record adds the seconds and the error to the results; the search goes on

    def report(self, trial, best, done: int | None = None) -> None:
        """One line for a trial that ended."""
        if self.stream is None:
            return
        record = read_record(self.out_dir, trial.trial_id)
        point = point_of(self.spec.space, trial.hyperparameters.values)
        shown = " ".join(f"{name}={show(value)}" for name, value in point.items())
        # the id the results table and trials/<id>/ show, and how many trials have ended
        self.ended.add(trial.trial_id)
        line = f"trial {trial.trial_id} [{done or len(self.ended)}/{self.trials}]  {shown}  "
        value = (record.get("metrics") or {}).get(self.objective, trial.score)
        if trial.status == "COMPLETED" and value is not None:
            line += f"{self.objective} {value:.4f}"
            if best is not None:
                line += f"  (best {best:.4f})"
        else:
            line += f"failed: {record.get('error') or error_of(trial)}"
        seconds = record.get("seconds")
        if isinstance(seconds, (int, float)):
            line += f"  {seconds:.1f} s"
        print(line, file=self.stream, flush=True)


class Failed(Exception):
    """A trial's one-line error (made KerasTuner's FailedTrialError by the tuner)."""


def ended_count(oracle) -> int | None:
    """How many trials of the search have ended (None where the oracle is a chief's client)."""
    trials = getattr(oracle, "trials", None)
    if not isinstance(trials, dict):
        return None
    return sum(1 for t in trials.values() if t.status in ("COMPLETED", "FAILED", "INVALID"))


def tuner_class(kt):
    """A KerasTuner tuner whose trials the tfspec runtime trains (made once KerasTuner is imported)."""

    class SpecTuner(kt.engine.base_tuner.BaseTuner):
        search_state: Search = None

        def run_trial(self, trial, *args, **kwargs):
            try:
                return self.search_state.run(trial.trial_id, trial.hyperparameters.values)
            except Failed as exc:
                raise kt.errors.FailedTrialError(str(exc)) from None
            except TuneError as exc:
                raise kt.errors.FatalError(str(exc)) from None

        def on_trial_end(self, trial):
            super().on_trial_end(trial)
            best = self.oracle.get_best_trials(1)
            score = best[0].score if best and best[0].status == "COMPLETED" else None
            self.search_state.report(trial, score, ended_count(self.oracle))

        def save_model(self, trial_id, model, step=0):
            pass  # each trial's run folder holds its weights

        def load_model(self, trial):
            return None

    return SpecTuner


# ---- the search -----------------------------------------------------------------------------


def role() -> str:
    """ "alone", or KerasTuner's distributed "chief" or "worker" (its environment variables)."""
    if "KERASTUNER_ORACLE_IP" not in os.environ:
        return "alone"
    return "chief" if "chief" in os.environ.get("KERASTUNER_TUNER_ID", "") else "worker"


def searched_digest(spec) -> str:
    """A hash of the normalised spec with its search section: comments and layout may change."""
    text = json.dumps(spec.searched, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def holds_tuner_state(out_dir) -> bool:
    """Whether KerasTuner's project folder holds a search's state (the oracle or a trial). A
    worker started before its chief makes the folder empty: that is no search yet."""
    try:
        names = os.listdir(os.path.join(out_dir, PROJECT))
    except OSError:
        return False
    return any(name == "oracle.json" or name.startswith("trial_") for name in names)


def prepare_folder(out_dir, spec, algorithm, objective, resume, stream):
    """Refuse a folder holding another search (unless resuming it); the objective to use."""
    manifest_path = os.path.join(out_dir, MANIFEST)
    started = os.path.exists(manifest_path) or holds_tuner_state(out_dir)
    if started and not resume:
        raise TuneError(
            f"{out_dir} already holds a search: continue it with --resume (resume=True), "
            "or give another output folder (--out DIR)"
        )
    if not started:
        if resume and stream is not None:
            print(f"nothing to resume in {out_dir}: starting a new search", file=stream, flush=True)
        return objective
    try:
        with open(manifest_path, encoding="utf-8") as handle:
            manifest = json.load(handle)
    except (OSError, ValueError):
        raise TuneError(f"cannot resume: {manifest_path} is missing or damaged; start a new search elsewhere") from None
    if manifest.get("searched") != searched_digest(spec):
        raise TuneError(
            f"cannot resume: the search in {out_dir} was made from another spec (or another search section)"
        )
    if manifest.get("algorithm") != algorithm:
        raise TuneError(f"cannot resume: the search in {out_dir} used --algorithm {manifest.get('algorithm')}")
    if objective is not None and objective != manifest.get("objective"):
        raise TuneError(f"cannot resume: the search in {out_dir} optimises {manifest.get('objective')}")
    return manifest.get("objective")


def tune(
    spec,
    *,
    trials: int = 10,
    objective: str | None = None,
    algorithm: str = "random",
    out_dir=None,
    resume: bool = False,
    data=None,
    seed: int | None = None,
    epochs: int | None = None,
    quiet: bool = True,
    stream=None,
    **overrides,
) -> TuneResult:
    """Search the spec's search section with KerasTuner, training each trial with the tfspec
    runtime; see the module docstring. Progress (one line per trial) goes to `stream`, or to
    stderr when `quiet` is False."""
    from ..ir.nodes import Spec
    from ..loader import load
    from ..training import NoTrainingSection

    if not isinstance(spec, Spec):
        spec = load(spec)
    if spec.space is None:
        raise TuneError(f"{spec.path}: the spec has no search section to tune; `tfspec train` trains it as it is")
    if spec.training is None:
        raise NoTrainingSection(f"{spec.path}: the spec has no `train {{ ... }}` section")
    if algorithm not in ALGORITHMS:
        raise TuneError(f"unknown algorithm {algorithm!r}; use one of {', '.join(ALGORITHMS)}")
    if not isinstance(trials, int) or trials < 1:
        raise TuneError("trials must be a positive whole number")
    if stream is None and not quiet:
        stream = sys.stderr
    out_dir = str(out_dir or os.path.join("tune", spec.name))
    settings = dict(overrides)
    if epochs is not None:
        settings["epochs"] = epochs
    if seed is not None:
        settings["seed"] = seed
    where = role()
    if where != "worker":
        objective = prepare_folder(out_dir, spec, algorithm, objective, resume, stream)
    goal = choose_objective(spec, objective, data, settings)
    kt = require_keras_tuner()
    max_epochs = int(settings.get("epochs") or spec.training.get("epochs") or 1)
    oracle = make_oracle(kt, algorithm, goal, hyperparameters(spec.space, kt), trials, seed, max_epochs)
    if where != "worker":
        manifest = {"spec": spec.path, "searched": searched_digest(spec), "algorithm": algorithm, "objective": goal[0]}
        write_atomic(os.path.join(out_dir, MANIFEST), json.dumps(manifest, indent=2) + "\n")
    state = Search(spec, goal, out_dir, data, settings, trials, stream)
    tuner = _make_tuner(kt, oracle, out_dir, state)
    if stream is not None:
        _say_start(tuner.oracle, out_dir, where, trials, stream)
    try:
        with _quiet():
            tuner.search()
    except kt.errors.FatalError as exc:
        raise TuneError(str(exc)) from None
    if where == "worker":  # the rows of the trials it ran; the chief writes the results
        rows = sort_rows([row_of_record(read_record(out_dir, trial_id)) for trial_id in state.ran], *goal)
        return _result(spec, rows, goal, out_dir, [])
    rows = [
        row_of_trial(t, point_of(spec.space, t.hyperparameters.values), out_dir) for t in tuner.oracle.trials.values()
    ]
    rows = sort_rows(rows, *goal)
    if len(rows) < trials and stream is not None:
        print(f"the search ended after {_count(len(rows))}: KerasTuner found no other point", file=stream, flush=True)
    return _finish(spec, rows, goal, algorithm, out_dir)


def _make_tuner(kt, oracle, out_dir, state):
    cls = tuner_class(kt)
    with contextlib.redirect_stdout(io.StringIO()):  # "Reloading Tuner from ..."
        tuner = cls(oracle, directory=out_dir, project_name=PROJECT, overwrite=False)
    tuner.search_state = state
    return tuner


def _count(n: int) -> str:
    return f"{n} trial" if n == 1 else f"{n} trials"


@contextlib.contextmanager
def _quiet():
    """While the search runs: no traceback printed for each failed trial (KerasTuner's DEBUG; the
    trial's line says its error), and no TensorFlow warnings that tf.functions are "retracing"
    (each trial traces its own model's steps: expected here)."""
    config = sys.modules.get("keras_tuner.src.config")  # where KerasTuner 1.4 keeps DEBUG
    logger = logging.getLogger("tensorflow")
    level, debug = logger.level, getattr(config, "DEBUG", None)
    logger.setLevel(max(level, logging.ERROR))
    if config is not None:
        config.DEBUG = False
    try:
        yield
    finally:
        logger.setLevel(level)
        if config is not None:
            config.DEBUG = debug


def _say_start(oracle, out_dir, where, trials, stream) -> None:
    address = f"{os.environ.get('KERASTUNER_ORACLE_IP')}:{os.environ.get('KERASTUNER_ORACLE_PORT')}"
    if where == "worker":  # it waits for the chief without a word otherwise
        print(
            f"running trials for the search served at {address} (waiting for it if it has not started)",
            file=stream,
            flush=True,
        )
        return
    done = sum(1 for t in oracle.trials.values() if t.status in ("COMPLETED", "FAILED"))
    if done:
        left = max(0, trials - done)
        print(f"resuming the search in {out_dir}: {_count(done)} done, {left} to go", file=stream, flush=True)
    if where == "chief":
        print(f"serving the search at {address}; the workers run the trials", file=stream, flush=True)


def _finish(spec, rows, goal, algorithm, out_dir) -> TuneResult:
    """results.json, results.csv and best.tfs (atomically); the TuneResult."""
    objective, direction = goal
    best = best_row(rows, objective)
    best_point = {name: best[name] for name in spec.space.names} if best else None
    about = {
        "spec": spec.path,
        "model": spec.name,
        "algorithm": algorithm,
        "objective": {"name": objective, "direction": direction},
        "best": {"trial": best["trial"], "point": best_point, "value": best[objective]} if best else None,
    }
    files = write_results(out_dir, rows, spec.space.names, about)
    result = _result(spec, rows, goal, out_dir, files)
    if result.best_text is not None:
        path = os.path.join(out_dir, "best.tfs")
        write_atomic(path, result.best_text)
        files.append(path)
    return result


def _result(spec, rows, goal, out_dir, files) -> TuneResult:
    """The TuneResult of sorted rows, with the spec at the best point (noted with its value)."""
    objective = goal[0]
    best = best_row(rows, objective)
    best_point = best_text = None
    if best is not None:
        best_point = {name: best[name] for name in spec.space.names}
        done = sum(1 for row in rows if row["status"] == "COMPLETED")
        note = f"{objective} = {best[objective]:.6g}: the best of {done} completed trials (trial {best['trial']})"
        best_text = concrete_text(spec.source, spec.path, best_point, note=note, moved_to=out_dir)
    # best.tfs lives in out_dir: its data paths were made relative to it, and it loads from there
    return TuneResult(rows, best_point, best_text, out_dir, goal[0], goal[1], files, os.path.join(out_dir, "best.tfs"))


__all__ = ["TuneError", "TuneResult", "NeedsKerasTuner", "tune", "choose_objective", "table"]
