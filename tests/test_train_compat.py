"""Static checks that the train section fits the model (tfspec.check.compat): losses and metrics
against the outputs, and the names callbacks watch against the names a run logs."""

from __future__ import annotations

import numpy as np
import pytest

import tfspec
from tfspec import SpecError


def spec(layers, train, outputs="y"):
    body = "".join(f"    {line}\n" for line in layers)
    return f"model M {{\n    input x: float32[4]\n{body}    output {outputs}\n}}\ntrain {{\n{train}}}\n"


def found(text):
    with pytest.raises(SpecError) as caught:
        tfspec.loads(text)
    return [(d.code, d.span.line, d.message, d.hint) for d in caught.value.diagnostics]


ONE_SIGMOID = ['x -> Dense(1, activation="sigmoid") -> y']
TEN_SOFTMAX = ['x -> Dense(10, activation="softmax") -> y']
TEN_LINEAR = ["x -> Dense(10) -> y"]


@pytest.mark.parametrize(
    "layers,train,code,words",
    [
        (ONE_SIGMOID, "loss = SparseCategoricalCrossentropy()", "E602", "needs one output unit per class"),
        (ONE_SIGMOID, "loss = categorical_crossentropy", "E602", "needs one output unit per class"),
        (TEN_SOFTMAX, "loss = SparseCategoricalCrossentropy(from_logits=True)", "E602", "already applies softmax"),
        (ONE_SIGMOID, "loss = BinaryCrossentropy(from_logits=True)", "E602", "already applies sigmoid"),
        (TEN_LINEAR, "loss = SparseCategoricalCrossentropy()", "E602", "is linear (logits)"),
        (['x -> Dense(1, activation="softmax") -> y'], "loss = mse", "E602", "softmax to 1 unit"),
        (
            ['x -> Dense(10) -> Dropout(0.5) -> Activation("softmax") -> y'],
            "loss = SparseCategoricalCrossentropy(from_logits=True)",
            "E602",
            "already applies softmax",
        ),
        (["x -> Dense(1) -> y"], "loss = mse\n    metrics = [accuracy]", "E604", "a regression"),
        (
            TEN_SOFTMAX,
            "loss = SparseCategoricalCrossentropy()\n    metrics = [SparseTopKCategoricalAccuracy(k=10)]",
            "E604",
            "always 1.0",
        ),
        (TEN_SOFTMAX, "loss = CategoricalCrossentropy()\n    metrics = [Recall(class_id=10)]", "E604", "has 10 units"),
        (
            TEN_SOFTMAX,
            "loss = SparseCategoricalCrossentropy()\n    callbacks = [EarlyStopping()]",
            "E605",
            "no validation",
        ),
        (
            TEN_SOFTMAX,
            'loss = SparseCategoricalCrossentropy()\n    callbacks = [ReduceLROnPlateau(monitor="acc")]',
            "E605",
            "never logged",
        ),
        (
            TEN_SOFTMAX,
            "loss = SparseCategoricalCrossentropy()\n    validation = 0.2\n    metrics = [accuracy]\n"
            '    callbacks = [ModelCheckpoint("m-{val_acc:.2f}.keras")]',
            "E605",
            "filepath names 'val_acc', which is never logged",
        ),
        (TEN_SOFTMAX, "loss = SparseCategoricalCrossentropy()\n    metrics = [AUC()]", "E604", "are class ids"),
        (
            TEN_SOFTMAX,
            "loss = CategoricalCrossentropy()\n    metrics = [SparseCategoricalAccuracy()]",
            "E604",
            "reads class ids",
        ),
        (
            ONE_SIGMOID,
            "loss = BinaryCrossentropy()\n    metrics = [SparseCategoricalAccuracy()]",
            "E604",
            "one output unit per class",
        ),
        (
            TEN_SOFTMAX,
            "optimizer = SGD(learning_rate=ExponentialDecay(0.1, 100, 0.9))\n    loss = SparseCategoricalCrossentropy()\n"
            '    callbacks = [ReduceLROnPlateau(monitor="loss")]',
            "E606",
            "is a schedule",
        ),
        (
            TEN_SOFTMAX,
            "loss = SparseCategoricalCrossentropy()\n"
            '    callbacks = [ModelCheckpoint("best.keras", save_best_only=True)]',
            "E605",
            "ModelCheckpoint monitors 'val_loss'",
        ),
    ],
)
def test_misfits_are_refused_where_they_are_written(layers, train, code, words):
    text = spec(layers, "    " + train + "\n")
    (problem,) = found(text)
    assert problem[0] == code and words in problem[2] and problem[3], problem
    assert problem[1] >= 3


@pytest.mark.parametrize(
    "layers,train",
    [
        (ONE_SIGMOID, "loss = BinaryCrossentropy()\n    metrics = [accuracy, AUC()]"),
        (["x -> Dense(1) -> y"], "loss = BinaryCrossentropy(from_logits=True)\n    metrics = [AUC(from_logits=True)]"),
        (TEN_LINEAR, "loss = SparseCategoricalCrossentropy(from_logits=True)\n    metrics = [accuracy]"),
        (TEN_SOFTMAX, "loss = SparseCategoricalCrossentropy()\n    metrics = [SparseTopKCategoricalAccuracy(k=3)]"),
        (["x -> Dense(1) -> y"], "loss = mse\n    metrics = [mae, RootMeanSquaredError()]"),
        (
            TEN_SOFTMAX,
            "loss = SparseCategoricalCrossentropy()\n    validation = 0.2\n    metrics = [accuracy]\n"
            '    callbacks = [EarlyStopping(monitor="val_accuracy"), ModelCheckpoint("m-{epoch}-{val_loss:.2f}.keras"), '
            'ReduceLROnPlateau(monitor="lr")]',
        ),
        (TEN_SOFTMAX, 'loss = SparseCategoricalCrossentropy()\n    callbacks = [EarlyStopping(monitor="loss")]'),
        # an output whose activation cannot be told (a merge): no opinion
        (
            ["x -> Dense(10) -> a", "x -> Dense(10) -> b", "[a, b] -> Add() -> y"],
            "loss = SparseCategoricalCrossentropy()",
        ),
    ],
)
def test_what_fits_passes(layers, train):
    tfspec.loads(spec(layers, "    " + train + "\n"))


def test_several_outputs_log_prefixed_names():
    layers = ['x -> Dense(3, activation="softmax", name="kind") -> kind', 'x -> Dense(1, name="size") -> size']
    train = (
        "    loss = { kind: SparseCategoricalCrossentropy(), size: mse }\n"
        "    metrics = { kind: [accuracy], size: [mae] }\n    validation = 0.2\n"
        '    callbacks = [EarlyStopping(monitor="val_kind_accuracy"), ReduceLROnPlateau(monitor="size_loss")]\n'
    )
    tfspec.loads(spec(layers, train, outputs="kind, size"))
    bad = train.replace("val_kind_accuracy", "val_accuracy")
    ((code, _, message, hint),) = found(spec(layers, bad, outputs="kind, size"))
    assert code == "E605" and "val_accuracy" in message and "val_kind_accuracy" in hint


def test_the_logged_names_check_knows_are_those_a_run_logs():
    """The names `check` judges monitors by are the names a real run's history holds."""
    from tfspec.check.compat import Compat
    from tfspec.check.training import TrainingChecker
    from tfspec.diagnostics import Collector
    from tfspec.training import train_run

    layers = ['x -> Dense(3, activation="softmax", name="kind") -> kind', 'x -> Dense(1, name="size") -> size']
    train = (
        "    loss = { kind: SparseCategoricalCrossentropy(), size: mse }\n"
        "    metrics = { kind: [accuracy, SparseTopKCategoricalAccuracy(k=2)], size: [mae, mse] }\n"
        "    validation = 0.25\n    epochs = 1\n"
    )
    loaded = tfspec.loads(spec(layers, train, outputs="kind, size"))
    checker = TrainingChecker({}, {}, "<string>", Collector("<string>"), loaded.model)
    expected, _ = Compat(checker, loaded.model).logged(loaded.training)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 4)).astype("float32")
    y = {"kind": rng.integers(0, 3, 16), "size": rng.normal(size=(16, 1)).astype("float32")}
    result = train_run(loaded, data=(x, y), quiet=True)
    assert set(result.history) == set(expected)


def test_the_runtime_refuses_a_metric_that_reads_labels_in_another_form():
    """API users skip `check`: the runtime judges the real label arrays the same way."""
    from tfspec.runtime.errors import SettingsError
    from tfspec.runtime.objects import make_metric

    for name, labels in (
        ("AUC", (8,)),
        ("SparseCategoricalAccuracy", (8, 3)),
        ("SparseTopKCategoricalAccuracy", (8, 1)),
    ):
        with pytest.raises(SettingsError, match=f"metric {name}: "):
            make_metric({"class_name": name, "config": {}}, labels, (1, 3) if labels != (8, 1) else (1, 1), None)
    assert make_metric({"class_name": "AUC", "config": {}}, (8, 3), (1, 3), None).name == "auc"


def test_what_check_refuses_really_fails_in_keras():
    """The premise of E602's first rule: Keras cannot train a sparse loss on one sigmoid unit."""
    import keras

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(loss="sparse_categorical_crossentropy")
    x, y = np.zeros((8, 4), "float32"), np.arange(8) % 3
    with pytest.raises(Exception, match="valid range"):
        model.fit(x, y, epochs=1, verbose=0)
