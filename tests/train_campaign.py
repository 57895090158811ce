"""The train campaign: `check` passes => `train` trains, or says why in one line.

    python -m tests.train_campaign --count 400      # prints the counts as JSON

Specs are generated over the train catalog (every optimizer, schedule, loss, metric, callback and
data source, with the catalog's valid and invalid argument values, and settings at and beyond
their ranges) and over a corpus of data files, good and broken (labels out of range, one-hot
labels for a sparse loss, strings, complex numbers, short label arrays, an .npz header that claims
23 TiB, Latin-1 and over-long CSV fields...). Each spec goes through `tfspec check`, and when that
passes through `tfspec train --epochs 1`, both run in-process as the command line runs them.

Each one must end in exactly one of: refused by `check` (every error with line and column),
trained, or a one-line `tfspec: error: ...` (exit 1 or 2). Anything else, a traceback above all,
is a failure; tests/test_train_campaign.py runs a seeded sample and asserts there are none.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import random
import re
import struct
import sys
import tempfile
import time
import zipfile

import numpy as np

from tfspec.check import train_catalog as catalog
from tfspec.ir.values import show

N = 48  # samples in each data file: a few steps per epoch

# For each model: the losses and the data that fit it (the generator picks those most of the time,
# so that many specs reach training; the rest is drawn from the whole catalog and corpus).
FITTING = {
    "softmax3": (["SparseCategoricalCrossentropy()", "CategoricalCrossentropy()"], ["good", "csv"]),
    "logits3": (["SparseCategoricalCrossentropy(from_logits=True)"], ["good", "csv"]),
    "sigmoid1": (["BinaryCrossentropy()", "BinaryFocalCrossentropy()"], ["good_binary"]),
    "linear1": (["mse", "mae", "Huber(delta=0.5)", "LogCosh()"], ["good_size"]),
    "two": ([], ["good_two"]),
}
METRICS_THAT_FIT = {
    "softmax3": ["accuracy", "SparseTopKCategoricalAccuracy(k=2)", "SparseCategoricalCrossentropy()"],
    "logits3": ["accuracy", "SparseCategoricalAccuracy()"],
    "sigmoid1": ["accuracy", "AUC()", "Precision()", "Recall(thresholds=0.3)", "BinaryAccuracy(threshold=0.4)"],
    "linear1": ["mae", "mse", "RootMeanSquaredError()", "MeanAbsolutePercentageError()"],
    "two": ["accuracy"],
}
MODELS = {
    "softmax3": (['x -> Dense(8, activation="relu") -> Dense(3, activation="softmax") -> y'], ["y"]),
    "logits3": (["x -> Dense(3) -> y"], ["y"]),
    "sigmoid1": (['x -> Dense(1, activation="sigmoid") -> y'], ["y"]),
    "linear1": (["x -> Dense(1) -> y"], ["y"]),
    "two": (
        [
            'x -> Dense(8, activation="relu") -> h',
            'h -> Dense(3, activation="softmax", name="kind") -> kind',
            'h -> Dense(1, name="size") -> size',
        ],
        ["kind", "size"],
    ),
}


def npy_header_claiming(shape, dtype="<f8") -> bytes:
    """A .npy file whose header claims `shape` but that holds no data."""
    header = f"{{'descr': '{dtype}', 'fortran_order': False, 'shape': {shape!r}, }}".encode()
    header += b" " * (63 - (len(header) + 10) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header


def make_corpus(folder) -> dict:
    """Data files, good and broken; name -> the `data = ...` text of a spec in `folder`."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(N, 4)).astype("float32")
    classes = (x[:, 0] > 0).astype("int64") + (x[:, 1] > 0)
    size = x[:, :1] * 2.0 + 0.5
    binary = (x[:, 0] > 0).astype("float32")

    def npz(name, **arrays):
        np.savez(os.path.join(folder, name), **arrays)

    npz("good.npz", x=x, y=classes, kind=classes, size=size, binary=binary)
    npz("labels15.npz", x=x, y=np.where(classes == 2, 15, classes))
    npz("negative.npz", x=x, y=classes - 1)
    npz("onehot.npz", x=x, y=np.eye(3, dtype="float32")[classes])
    npz("floaty.npz", x=x, y=size[:, 0])
    npz("strings.npz", x=x.astype(str), y=classes)
    npz("complex.npz", x=x.astype("complex64"), y=classes)
    npz("short.npz", x=x, y=classes[:40])
    npz("wide.npz", x=rng.normal(size=(N, 7)).astype("float32"), y=classes)
    npz("nan.npz", x=np.where(x > 1.5, np.nan, x), y=classes)
    npz("empty.npz", x=x[:0], y=classes[:0])
    with zipfile.ZipFile(os.path.join(folder, "huge.npz"), "w") as z:
        z.writestr("x.npy", npy_header_claiming((1 << 42, 784)))  # 23 TiB of float64
        z.writestr("y.npy", npy_header_claiming((1 << 42,), "<i8"))
    with open(os.path.join(folder, "garbage.npz"), "wb") as f:
        f.write(rng.bytes(4096))

    header = "a,b,c,d,label\n"
    rows = "".join(f"{r[0]:.4f},{r[1]:.4f},{r[2]:.4f},{r[3]:.4f},{c}\n" for r, c in zip(x, classes))

    def text(name, content, encoding="utf-8"):
        with open(os.path.join(folder, name), "w", encoding=encoding, newline="") as f:
            f.write(content)

    text("good.csv", header + rows)
    text("latin1.csv", "a,b,c,d\u00e9,label\n" + rows, encoding="latin-1")  # "dé" in Latin-1: not UTF-8
    text("longfield.csv", header + rows + "1,2,3," + "9" * 140_000 + ",0\n")
    text("words.csv", header + rows + "1,2,three,4,0\n")
    text("ragged.csv", header + rows + "1,2,3\n")
    text("nan.csv", header + rows + "1,2,nan,4,0\n")
    text("empty.csv", "")

    return {
        "good": 'npz("good.npz")',
        "good_two": 'npz("good.npz", x="x", y=["kind", "size"])',
        "good_binary": 'npz("good.npz", y="binary")',
        "good_size": 'npz("good.npz", y="size")',
        "labels15": 'npz("labels15.npz")',
        "negative": 'npz("negative.npz")',
        "onehot": 'npz("onehot.npz")',
        "floaty": 'npz("floaty.npz")',
        "strings": 'npz("strings.npz")',
        "complex": 'npz("complex.npz")',
        "short": 'npz("short.npz")',
        "wide": 'npz("wide.npz")',
        "nan": 'npz("nan.npz")',
        "empty": 'npz("empty.npz")',
        "huge": 'npz("huge.npz")',
        "garbage": 'npz("garbage.npz")',
        "missing": 'npz("missing.npz")',
        "no_such_array": 'npz("good.npz", y="labels")',
        "csv": 'csv("good.csv", label="label")',
        "csv_latin1": 'csv("latin1.csv", label="label")',
        "csv_long": 'csv("longfield.csv", label="label")',
        "csv_words": 'csv("words.csv", label="label")',
        "csv_ragged": 'csv("ragged.csv", label="label")',
        "csv_nan": 'csv("nan.csv", label="label")',
        "csv_empty": 'csv("empty.csv", label="label")',
        "csv_no_column": 'csv("good.csv", label="target")',
        "digits": "digits(limit=48)",  # 8x8 images for a 4-wide input: a shape error
        "mnist": "mnist(limit=48)",  # not in the (empty) Keras cache: says how to fetch it
    }


def literal(value) -> str:
    if isinstance(value, float) and value == float("inf"):
        return "1e999"
    if isinstance(value, list):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    return show(value)


class Generator:
    """Random train sections over the catalog; `bad` is the chance of an invalid value."""

    def __init__(self, rng: random.Random, corpus: dict, bad: float = 0.1):
        self.rng, self.corpus, self.bad = rng, corpus, bad

    def value(self, arg):
        pool = arg.type.bad if arg.type.bad and self.rng.random() < self.bad else arg.type.good
        return self.rng.choice(pool)

    def call(self, entry, most=2) -> str:
        config = {a.name: a.type.good[0] for a in entry.args if a.required}
        optional = [a for a in entry.args if not a.required]
        for arg in self.rng.sample(optional, min(len(optional), self.rng.randint(0, most))):
            config[arg.name] = self.value(arg)
        for arg in entry.args:
            if arg.required and self.rng.random() < self.bad / 3:
                config.pop(arg.name)  # a required argument left out
        if entry.name == "LearningRateScheduler" and self.rng.random() < 0.7:
            config = self.scheduler()
        args = ", ".join(f"{k}={literal(v)}" for k, v in config.items())
        return f"{entry.name}({args})" if args or self.rng.random() < 0.5 else entry.name

    def scheduler(self):
        schedule = self.rng.choice(sorted(catalog.EPOCH_SCHEDULES))
        config = {"schedule": schedule}
        if schedule == "piecewise":
            config.update(boundaries=[1], values=[0.01, 0.001])
        return config

    def pick(self, kind):
        return self.rng.choice(catalog.KINDS[kind][1])

    def optimizer(self) -> str:
        entry = self.pick("optimizer")
        text = self.call(entry)
        if self.rng.random() < 0.25:
            schedule = self.call(self.pick("schedule"))
            text = f"{entry.name}(learning_rate={schedule})"
        return text

    def loss(self, model) -> str:
        outputs = MODELS[model][1]
        if len(outputs) > 1:
            return "{ kind: SparseCategoricalCrossentropy(), size: " + self.call(self.pick("loss"), 1) + " }"
        if self.rng.random() < 0.6:
            return self.rng.choice(FITTING[model][0])
        return self.call(self.pick("loss"), 1)

    def metric(self, model) -> str:
        if self.rng.random() < 0.5:
            return self.rng.choice(METRICS_THAT_FIT[model])
        return self.call(self.pick("metric"), 1)

    def spec(self, model) -> str:
        layers, outputs = MODELS[model]
        train = {"optimizer": self.optimizer(), "loss": self.loss(model)}
        if self.rng.random() < 0.6:
            metrics = ", ".join(self.metric(model) for _ in range(self.rng.randint(1, 2)))
            train["metrics"] = f"[{metrics}]"
        if self.rng.random() < 0.5:
            train["validation"] = self.rng.choice(["0.25", "0.25", "0.5", "1.5", '"good.npz"'])
        if self.rng.random() < 0.5:
            callbacks = ", ".join(self.call(self.pick("callback"), 2) for _ in range(self.rng.randint(1, 2)))
            train["callbacks"] = f"[{callbacks}]"
        for key, kind in catalog.SETTINGS.items():
            if key != "batch_size" and self.rng.random() < 0.25:
                train[key] = literal(self.value(catalog.Arg(key, kind)))
        if self.rng.random() < 0.1:
            train["data"] = self.call(self.pick("data"), 2)
        else:
            fitting = self.rng.random() < 0.5
            name = self.rng.choice(FITTING[model][1] if fitting else sorted(self.corpus))
            if len(outputs) > 1 and name == "good":
                name = "good_two"
            train["data"] = self.corpus[name]
        body = "".join(f"    {line}\n" for line in layers)
        settings = "".join(f"    {k} = {v}\n" for k, v in train.items())
        return f"model M {{\n    input x: float32[4]\n{body}    output {', '.join(outputs)}\n}}\n\ntrain {{\n{settings}}}\n"


POSITIONED = re.compile(r"^.+:\d+:\d+: error\[E\d{3}\]: ")


def run_cli(argv) -> tuple:
    """(exit status, stderr text, the exception that escaped main or None), as `tfspec` runs."""
    from tfspec.cli import main

    err, out = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            status = main(argv)
        return status, err.getvalue(), None
    except BaseException as exc:  # noqa: BLE001 - a traceback is what the campaign counts
        return None, err.getvalue(), exc


def one_case(path, out_dir) -> tuple:
    """(outcome, detail) for one spec file."""
    status, err, exc = run_cli(["check", "-q", path])
    if exc is not None:
        return "traceback", f"check: {type(exc).__name__}: {exc}"
    if status == 1:
        errors = [line for line in err.splitlines() if " error[E" in line]
        if errors and all(POSITIONED.match(line) for line in errors):
            return "refused", errors[0].split(" error[", 1)[1][:4]
        return "unpositioned", err[:300]
    if status != 0:
        return "unexpected", f"check exit {status}: {err[:300]}"
    status, err, exc = run_cli(["train", path, "--out", out_dir, "--epochs", "1", "-q"])
    if exc is not None:
        return "traceback", f"train: {type(exc).__name__}: {str(exc)[:300]}"
    lines = [line for line in err.splitlines() if line.strip()]
    if status == 0:
        return "trained", ""
    if status in (1, 2) and len(lines) == 1 and lines[0].startswith("tfspec: error: ") and "Traceback" not in err:
        return "error", lines[0][len("tfspec: error: ") :][:160]
    return "untidy", f"exit {status}: {err[-600:]}"


def campaign(count: int, seed: int = 0, folder=None, verbose=False) -> dict:
    """Run `count` generated specs; the counts of each outcome, and the failures in full."""
    rng = random.Random(seed)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with tempfile.TemporaryDirectory() as tmp:
        folder = folder or tmp
        os.environ["KERAS_HOME"] = os.path.join(folder, "keras-home")  # an empty cache: nothing to fetch
        corpus = make_corpus(folder)
        generator = Generator(rng, corpus)
        counts, failures, codes, errors = {}, [], {}, {}
        started = time.perf_counter()
        for i in range(count):
            model = rng.choice(sorted(MODELS))
            text = generator.spec(model)
            path = os.path.join(folder, f"spec{i}.tfs")
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
            outcome, detail = one_case(path, os.path.join(folder, "runs", str(i)))
            counts[outcome] = counts.get(outcome, 0) + 1
            if verbose and outcome == "error":
                print(f"spec{i}: {detail}", file=sys.stderr)
                if detail.startswith("TensorFlow refused"):
                    print(text, file=sys.stderr)
            if outcome == "refused":
                codes[detail] = codes.get(detail, 0) + 1
            elif outcome == "error":
                key = re.sub(r"\d+", "N", detail.replace(folder, ""))[:70]
                errors[key] = errors.get(key, 0) + 1
            elif outcome != "trained":
                failures.append({"spec": text, "outcome": outcome, "detail": detail})
        return {
            "specs": count,
            "refused_by_check": counts.get("refused", 0),
            "trained": counts.get("trained", 0),
            "one_line_errors": counts.get("error", 0),
            "tracebacks": counts.get("traceback", 0),
            "other_failures": sum(
                v for k, v in counts.items() if k not in ("refused", "trained", "error", "traceback")
            ),
            "check_codes": dict(sorted(codes.items())),
            "runtime_errors": dict(sorted(errors.items(), key=lambda kv: -kv[1])),
            "seconds": round(time.perf_counter() - started, 1),
            "failures": failures,
        }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("-v", "--verbose", action="store_true", help="print each runtime error")
    args = parser.parse_args(argv)
    report = campaign(args.count, args.seed, verbose=args.verbose)
    failures = report.pop("failures")
    print(json.dumps(report, indent=2))
    for failure in failures[:10]:
        print("\n--- " + failure["outcome"] + ": " + failure["detail"] + "\n" + failure["spec"], file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
