"""The train catalog is one source of truth: what `check` accepts, the runtime accepts.

The walk takes every argument of every optimizer, schedule, loss, metric and callback with the
catalog's valid sample values (check passes, and the runtime makes the Keras or tfspec object) and
its invalid ones (check refuses at the argument's position, and so does the runtime when handed the
same settings without `check`)."""

from __future__ import annotations

import math

import pytest

import tfspec
from tfspec import SpecError
from tfspec.check import train_catalog as catalog
from tfspec.ir.values import show

MODEL = "model M {{\n    input x: float32[4]\n    x -> Dense(6{act}) -> y\n    output y\n}}\n"
SOFTMAX, LINEAR = ', activation="softmax"', ""

# arguments that need others beside them to mean anything
CONTEXT = {
    ("LearningRateScheduler", "rate"): {"schedule": "exponential"},
    ("LearningRateScheduler", "factor"): {"schedule": "step"},
    ("LearningRateScheduler", "every"): {"schedule": "step"},
    ("LearningRateScheduler", "epochs"): {"schedule": "cosine"},
    ("LearningRateScheduler", "min_lr"): {"schedule": "cosine"},
    ("LearningRateScheduler", "boundaries"): {"schedule": "piecewise", "values": [0.1, 0.01]},
    ("LearningRateScheduler", "values"): {"schedule": "piecewise", "boundaries": [2]},
    ("LearningRateScheduler", "schedule"): {},
    ("PiecewiseConstantDecay", "boundaries"): {"values": [0.1, 0.01]},
    ("PiecewiseConstantDecay", "values"): {"boundaries": [100]},
}


def literal(value) -> str:
    if isinstance(value, float) and math.isinf(value):
        return "1e999"  # the spec has no inf: this literal overflows to it
    if isinstance(value, list):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    return show(value)


def call(entry, config) -> str:
    return f"{entry.name}({', '.join(f'{k}={literal(v)}' for k, v in config.items())})"


def base_config(entry, arg):
    config = {a.name: a.type.good[0] for a in entry.args if a.required and a.name != arg}
    config.update(CONTEXT.get((entry.name, arg), {}))
    if entry.name == "LearningRateScheduler" and arg == "schedule":
        config.pop("schedule", None)
    return config


def spec_text(entry, config) -> str:
    """A spec that uses `entry` with `config`, in a model the entry fits."""
    text = call(entry, config)
    act = LINEAR if config.get("from_logits") is True else SOFTMAX
    train = {"loss": "SparseCategoricalCrossentropy()", "validation": "0.25"}
    if entry.kind == "optimizer":
        train["optimizer"] = text
    elif entry.kind == "schedule":
        train["optimizer"] = f"SGD(learning_rate={text})"
    elif entry.kind == "loss":
        train["loss"] = text
    elif entry.kind == "metric":
        train["metrics"] = f"[{text}]"
        loss = "SparseCategoricalCrossentropy" if sparse(entry) else "CategoricalCrossentropy"
        train["loss"] = f"{loss}(from_logits=True)" if config.get("from_logits") is True else f"{loss}()"
    elif entry.kind == "callback":
        train["callbacks"] = f"[{text}]"
    else:
        train["data"] = text
    body = "".join(f"    {k} = {v}\n" for k, v in train.items())
    return MODEL.format(act=act) + "train {\n" + body + "}\n"


def sparse(entry) -> bool:
    """Whether a metric reads class ids (a sparse loss's labels) rather than one value per unit."""
    return entry.name == "accuracy" or entry.name.startswith("Sparse")


def samples(good: bool):
    for kind in ("optimizer", "schedule", "loss", "metric", "callback", "data"):
        for entry in catalog.KINDS[kind][1]:
            for arg in entry.args:
                values = arg.type.good if good else arg.type.bad
                for value in values:
                    if not good and value is None and not arg.required and arg.default is None:
                        continue  # None means "the default" there
                    yield pytest.param(entry, arg.name, value, id=f"{entry.name}.{arg.name}={value!r}")


GOOD = list(samples(True))
BAD = list(samples(False))


def test_the_walk_is_broad():
    entries = sum(len(entries) for _, entries in catalog.KINDS.values())
    assert entries >= 60 and len(GOOD) >= 250 and len(BAD) >= 300, (entries, len(GOOD), len(BAD))


def runtime_object(entry, config):
    """Make what the runtime makes of `entry` with `config` (TensorFlow imported here only)."""
    from tfspec.runtime import callbacks, objects

    spec = {"class_name": entry.name, "config": config}
    if entry.kind == "optimizer":
        return objects.make_optimizer(spec)
    if entry.kind == "schedule":
        schedule = objects.make_schedule(spec)
        assert math.isfinite(float(schedule(0))) and math.isfinite(float(schedule(10_000)))
        return schedule
    if entry.kind == "loss":
        return objects.make_loss(spec)
    if entry.kind == "metric":
        labels = (4,) if sparse(entry) else (4, 6)
        return objects.make_metric(spec, labels, (4, 6), {"class_name": "SparseCategoricalCrossentropy", "config": {}})
    if entry.kind == "callback":
        return callbacks.from_spec(spec)
    from tfspec.runtime.data import check_source  # the settings; tests/test_data_checks.py reads real files

    check_source({"source": entry.name, **config})
    return entry


@pytest.mark.parametrize("entry,arg,value", GOOD)
def test_check_and_the_runtime_accept_every_valid_value(entry, arg, value):
    config = {**base_config(entry, arg), arg: value}
    if (entry.name, arg, value) == ("LearningRateScheduler", "schedule", "piecewise"):
        config["values"] = [0.1]  # no boundaries: one value
    spec = tfspec.loads(spec_text(entry, config))
    assert runtime_object(entry, lowered(spec, entry)) is not None


def lowered(spec, entry):
    """The entry's config as `check` lowered it into the TRAINING dict."""
    training = spec.training
    if entry.kind == "data":
        return {k: v for k, v in training["data"].items() if k != "source"}
    if entry.kind == "optimizer":
        made = training["optimizer"]
    elif entry.kind == "schedule":
        made = training["optimizer"]["config"]["learning_rate"]
    elif entry.kind == "loss":
        made = training["loss"]
    elif entry.kind == "metric":
        made = training["metrics"][0]
    else:
        made = training["callbacks"][0]
    return dict(made["config"])


@pytest.mark.parametrize("entry,arg,value", BAD)
def test_check_and_the_runtime_refuse_every_invalid_value(entry, arg, value):
    config = {**base_config(entry, arg), arg: value}
    text = spec_text(entry, config)
    with pytest.raises(SpecError) as caught:
        tfspec.loads(text)
    found = caught.value.diagnostics
    assert {d.code for d in found} <= {"E404", "E405", "E603"}, [d.render(text) for d in found]
    # the error points at the argument's value (its line, at or after the `arg=`)
    line = next(i for i, row in enumerate(text.splitlines(), 1) if f"{arg}=" in row)
    column = text.splitlines()[line - 1].index(f"{arg}=") + 1
    assert any(d.span.line == line and d.span.column >= column for d in found), found
    assert any(arg in d.message for d in found)
    from tfspec.runtime.errors import DataError, TrainingError

    with pytest.raises((TrainingError, DataError, ValueError)) as refused:
        runtime_object(entry, {**base_config(entry, arg), arg: value})
    assert arg in str(refused.value)


@pytest.mark.parametrize(
    "setting,words",
    [
        ('optimizer = Adam(learning_rate="fast")', 'learning_rate must be a number, got "fast"'),
        ("optimizer = Adam(learning_rate=-1.0)", "learning_rate must be ≥ 0, got -1.0"),
        (
            "optimizer = SGD(learning_rate=ExponentialDecay(0.1, decay_steps=0, decay_rate=0.9))",
            "decay_steps must be ≥ 1",
        ),
        ("metrics = [TopKCategoricalAccuracy(k=-3)]", "k must be ≥ 1, got -3"),
        ("callbacks = [ReduceLROnPlateau(factor=2.0)]", "factor must be < 1, got 2.0"),
        ('callbacks = [ReduceLROnPlateau(factor="x")]', 'factor must be a number, got "x"'),
        ('callbacks = [LearningRateScheduler(schedule="bogus")]', 'schedule must be one of "exponential"'),
        ("callbacks = [ModelCheckpoint(max_to_keep=3)]", "ModelCheckpoint has no argument 'max_to_keep'"),
        ("callbacks = [ModelCheckpoint(every_n_steps=5)]", "ModelCheckpoint has no argument 'every_n_steps'"),
        ("epochs = 99999999999999999999", "'epochs' must be ≤ 1000000"),
        ("seed = 99999999999999999999", "'seed' must be ≤ 4294967295"),
        ('data = digits(scale="x")', 'scale must be a number, got "x"'),
        ("data = digits(limit=-5)", "limit must be ≥ 1, got -5"),
        (
            "metrics = [sparse_top_k_categorical_accuracy(k=6)]",
            "SparseTopKCategoricalAccuracy(k=6) on output 'y' of 6 units is always 1.0",
        ),
        ('callbacks = [LearningRateScheduler(schedule="step", rate=0.5)]', "takes factor, every, not rate"),
        ("optimizer = Adam(clipnorm=1.0, clipvalue=0.5)", "only one of clipnorm, clipvalue and global_clipnorm"),
    ],
)
def test_what_users_met_is_refused_by_check(setting, words):
    text = MODEL.format(act=SOFTMAX) + f"train {{\n    loss = SparseCategoricalCrossentropy()\n    {setting}\n}}\n"
    with pytest.raises(SpecError) as caught:
        tfspec.loads(text)
    (found,) = caught.value.diagnostics
    assert words in found.message and found.span.line == 8, found


def test_aliases_resolve_to_what_keras_has():
    from tfspec.runtime import objects

    for kind in catalog.KINDS:
        for alias, name in catalog.ALIASES[kind].items():
            assert catalog.lookup(kind, alias).name == name
    # every metric alias makes a metric logged under the alias (`top_k_accuracy` failed in train before)
    for alias, name in catalog.ALIASES["metric"].items():
        labels = (4,) if sparse(catalog.lookup("metric", name)) else (4, 6)
        metric = objects.make_metric({"class_name": alias, "config": {}}, labels, (4, 6), None)
        assert metric.name == alias


def test_the_runtime_refuses_settings_check_would_refuse():
    from tfspec.runtime.errors import SettingsError
    from tfspec.runtime.loop import settings

    training = {"loss": {"class_name": "MeanSquaredError", "config": {}}}
    for key, value in (("epochs", 10**20), ("seed", -1), ("batch_size", 0), ("steps_per_call", 10**6)):
        with pytest.raises(SettingsError, match=key):
            settings(training, {key: value})
    with pytest.raises(SettingsError, match="validation_split"):
        settings(training, {"validation_split": 1.5})


def test_lr_scheduler_names_match_the_runtime():
    from tfspec.runtime.callbacks import SCHEDULES

    assert set(SCHEDULES) == set(catalog.EPOCH_SCHEDULES)
    for name, (_, defaults) in SCHEDULES.items():
        assert set(defaults) == set(catalog.EPOCH_SCHEDULES[name]), name


def test_explain_prints_an_entry_and_the_docs_are_the_catalog(capsys):
    from pathlib import Path

    from tfspec.cli import main

    assert main(["explain", "ReduceLROnPlateau"]) == 0
    out = capsys.readouterr().out
    assert "### ReduceLROnPlateau (callback)" in out and "| `factor` | a number > 0 and < 1 | 0.1 |" in out
    assert main(["explain", "Adamm"]) == 2
    assert "did you mean Adam" in capsys.readouterr().err
    docs = Path(__file__).resolve().parent.parent / "docs" / "train-catalog.md"
    assert docs.read_text(encoding="utf-8") == catalog.markdown(), (
        "run: tfspec explain --catalog > docs/train-catalog.md"
    )


def test_the_schema_takes_the_settings_ranges_from_the_catalog():
    from tfspec.check.schema import TRAIN

    for key, kind in catalog.SETTINGS.items():
        assert TRAIN["properties"][key] == kind.schema
    assert TRAIN["properties"]["seed"]["maximum"] == 2**32 - 1
