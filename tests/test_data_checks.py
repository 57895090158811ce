"""Data that cannot train is refused before the first step, in one line naming the data, the array,
what is wrong and the fix (issue 10): labels against the outputs and the loss, dtypes, lengths,
file headers and sizes, CSV text, source settings, and memory."""

import csv
import io
import zipfile

import numpy as np
import pytest

pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

from tfspec.runtime import Callback, DataError, TrainingError, csvfile, resources, train_model  # noqa: E402
from tfspec.runtime.data import load_source, split_data  # noqa: E402
from tfspec.runtime.signature import describe, prepare, probe  # noqa: E402

from .test_runtime_support import digits, mlp, training  # noqa: E402

SPARSE = {"class_name": "SparseCategoricalCrossentropy", "config": {}}
CATEGORICAL = {"class_name": "CategoricalCrossentropy", "config": {}}
BINARY = {"class_name": "BinaryCrossentropy", "config": {}}
MSE = {"class_name": "MeanSquaredError", "config": {}}


class Started(Callback):
    """Says whether training began (a DataError must come before)."""

    began = False

    def on_train_begin(self, logs=None):
        self.began = True


def refused(call, *needles, error=DataError):
    """The message of the one-line `error` that `call()` raises; it contains every needle."""
    with pytest.raises(error) as info:
        call()
    text = str(info.value)
    assert "\n" not in text, text
    for needle in needles:
        assert needle in text, f"{needle!r} not in {text!r}"
    return text


def fit(model, data, **changes):
    """train_model for one epoch; `fit.began` then says whether training started."""
    started = Started()
    try:
        return train_model(model, training(**{"epochs": 1, **changes}), data, quiet=True, callbacks=[started])
    finally:
        fit.began = started.began


def refused_fit(model, data, *needles, **changes):
    text = refused(lambda: fit(model, data, **changes), *needles)
    assert not fit.began, "training started before the data were refused"
    return text


def prepared(model, arrays, loss, where="data['train']"):
    """prepare() for a built model, the way the Session calls it."""
    sig = describe(model, {})
    probe(model, sig, np.zeros((1,) + tuple(model.inputs[0].shape[1:]), np.float32))
    return prepare(arrays, sig, {sig.output_names[0]: loss}, "training", where)


def head(units, activation, input_shape=(8, 8)):
    return keras.Sequential(
        [keras.Input(input_shape), keras.layers.Flatten(), keras.layers.Dense(units, activation=activation)]
    )


# ---------------------------------------------------------------- 1. labels against the output and the loss


def test_labels_beyond_a_softmax_are_refused_before_training():
    x, y = digits(200)
    big, negative = y.copy(), y.copy()
    big[5], negative[7] = 15, -1
    refused_fit(mlp(), (x, big), "the training data: y", "up to 15 (16 classes)", "10 units", "Dense(16")
    refused_fit(mlp(), (x, negative), "y holds negative class labels (the lowest is -1)", "relabel", "ignore_class")


def test_one_sigmoid_unit_with_a_sparse_loss_on_digits():
    x, y = digits(200)
    refused_fit(
        head(1, "sigmoid"),
        (x, y),
        "y holds class labels 0..9 (10 classes)",
        "has 1 unit",
        'Dense(10, activation="softmax")',
        "BinaryCrossentropy",
    )


def test_ignore_class_labels_are_not_out_of_range():
    x, y = digits(40)
    y = y.astype(np.int64)
    y[3] = -1
    loss = {"class_name": "SparseCategoricalCrossentropy", "config": {"ignore_class": -1}}
    _, (labels,) = prepared(mlp(), (x, y), loss)
    assert labels.dtype == np.int32 and labels[3] == -1


def test_binary_and_categorical_label_ranges():
    x, y = digits(60)
    text = refused(lambda: prepared(head(1, "sigmoid"), (x, y), BINARY), "data['train']: y holds values from 0 to 9")
    assert "[0, 1]" in text and "SparseCategoricalCrossentropy" in text and "Dense(10" in text
    refused(lambda: prepared(head(1, "sigmoid"), (x, y / 4.5 - 1), BINARY), "rescale them to [0, 1]")
    refused(lambda: prepared(mlp(), (x, np.where(y == 3, 12, y)), CATEGORICAL), "up to 12 (13 classes)", "10 units")
    refused(lambda: prepared(mlp(), (x, np.where(y == 3, -2, y)), CATEGORICAL), "negative class labels")
    # whole-number float labels are class indices too (one-hot for a categorical loss)
    _, (labels,) = prepared(mlp(), (x, y.astype(np.float32)), CATEGORICAL)
    assert labels.shape == (60, 10) and np.array_equal(labels.argmax(1), y)


# ---------------------------------------------------------------- 2. label shapes against output shapes


def autoencoder():
    return keras.Sequential(
        [
            keras.Input((8, 8)),
            keras.layers.Flatten(),
            keras.layers.Dense(16, activation="relu"),
            keras.layers.Dense(64),
            keras.layers.Reshape((8, 8)),
        ]
    )


def test_an_autoencoder_trained_on_class_labels():
    text = refused_fit(
        autoencoder(),
        {"source": "digits", "limit": 100},
        "data source 'digits': y has per-sample shape () but output",
        "has shape (8, 8)",
        "y = x",
        'y="x"',
        loss=MSE,
        metrics=[],
    )
    assert "Incompatible shapes" not in text


def test_labels_that_would_broadcast_are_refused():
    x, y = digits(50)
    refused(
        lambda: prepared(mlp(), (x, y[:, None]), MSE),
        "y has per-sample shape (1,) but output",
        "(10,)",
        "SparseCategoricalCrossentropy",
    )
    # a last axis of 1 is what Keras's losses squeeze or expand: fine, given the output's rank
    # (which metrics such as BinaryCrossentropy need)
    _, (labels,) = prepared(head(1, None), (x, y), MSE)
    assert labels.shape == (50, 1)


def test_input_shapes_are_named_before_the_model_is_called():
    x, y = digits(50)
    refused_fit(mlp(), (x.reshape(50, 64)[:, :50], y), "the training data: x has samples of shape (50,)", "(8, 8)")


# ---------------------------------------------------------------- 3. label dtype and form


def test_one_hot_labels_with_a_sparse_loss():
    x, y = digits(50)
    refused(
        lambda: prepared(mlp(), (x, np.eye(10, dtype=np.float32)[y]), SPARSE),
        "data['train']: y looks one-hot",
        "CategoricalCrossentropy",
        "y.argmax(-1)",
    )
    refused(lambda: prepared(mlp(), (x, y + 0.5), SPARSE), "not whole numbers", "MeanSquaredError")


@pytest.mark.parametrize(
    "bad, needle",
    [
        (lambda a: a.astype(str), "holds text"),
        (lambda a: a.astype(bytes), "holds bytes"),
        (lambda a: a.astype(object), "holds Python objects"),
        (lambda a: a.astype(np.complex64), "holds complex numbers"),
        (lambda a: a.astype("datetime64[s]"), "has dtype datetime64[s], not numbers"),
    ],
)
def test_arrays_that_are_not_numbers(bad, needle):
    x, y = digits(30)
    refused(lambda: split_data({"train": (bad(x), y)}, training()), "data['train']: x " + needle)
    refused(lambda: split_data({"train": (x, {"topic": bad(y)})}, training()), "data['train']: y['topic'] " + needle)


def test_ragged_and_scalar_arrays():
    x, y = digits(3)
    refused(lambda: split_data(({"a": [[1.0], [1.0, 2.0], [3.0]]}, y), training()), "x['a'] is a ragged list")
    refused(lambda: split_data((x, np.float32(1)), training()), "y is a single value")


# ---------------------------------------------------------------- 4. lengths


def test_lengths_and_empty_data():
    x, y = digits(200)
    refused_fit(mlp(), (x, y[:150]), "x has 200 samples but y has 150", "one entry per sample")
    refused(
        lambda: split_data({"train": ({"a": x, "b": x[:20]}, y)}, training()),
        "data['train']: x['a'] has 200 samples but x['b'] has 20",
    )
    refused(lambda: split_data({"train": (x[:0], y[:0])}, training()), "there are no samples")
    refused(
        lambda: split_data({"train": (x[:1], y[:1])}, training(validation_split=0.5)),
        "data['train']: validation_split=0.5 of its 1 sample leaves 1 for training and 0 for validation",
    )
    refused(
        lambda: split_data({"source": "digits", "limit": 1}, training()),
        "data source 'digits': test_split=0.2 of its 1 sample",
    )


# ---------------------------------------------------------------- 5. .npz headers and sizes


def npy(shape, dtype="<f4", data=b""):
    from numpy.lib import format as npy_format

    buf = io.BytesIO()
    npy_format.write_array_header_1_0(buf, {"descr": dtype, "fortran_order": False, "shape": shape})
    return buf.getvalue() + data


def test_an_npz_header_that_claims_23_tib_is_a_damaged_file(tmp_path):
    with zipfile.ZipFile(tmp_path / "huge.npz", "w") as z:
        z.writestr("x.npy", npy((100000, 100000, 640)))
        z.writestr("y.npy", npy((10,), "<i8", np.arange(10).tobytes()))
    refused(
        lambda: load_source({"source": "npz", "path": "huge.npz"}, tmp_path),
        "huge.npz: array 'x' is damaged",
        "(100000, 100000, 640)",
        "23,841.9 GiB",
        "write the file again",
    )


def test_an_npz_too_big_for_memory_is_refused_before_reading(tmp_path, monkeypatch):
    np.savez(tmp_path / "big.npz", x=np.zeros((300, 1000), np.float32), y=np.zeros(300))
    monkeypatch.setenv("TFSPEC_AVAILABLE_MEMORY", "1M")
    refused(
        lambda: load_source({"source": "npz", "path": "big.npz"}, tmp_path),
        "big.npz: its arrays (the largest 'x', shape (300, 1000), float32) needs 0.00 GiB",
        "but 0.00 GiB is available",
        "smaller file",
    )
    monkeypatch.setenv("TFSPEC_AVAILABLE_MEMORY", "64M")
    (x, _), _ = load_source({"source": "npz", "path": "big.npz"}, tmp_path)
    assert x.shape == (300, 1000)


def test_converting_big_arrays_is_guarded(monkeypatch):
    x, y = digits(100)
    monkeypatch.setenv("TFSPEC_AVAILABLE_MEMORY", "20K")  # 100x8x8 float32 is 25.6 KB
    refused(
        lambda: prepared(mlp(), ((x * 16).astype(np.uint8), y), SPARSE),
        "data['train']: x converted to float32 needs",
        "is available",
    )
    refused(lambda: split_data({"source": "digits", "limit": 100}, training()), "x as float32 (scaled by 0.0625)")


# ---------------------------------------------------------------- 6. CSV


def test_latin1_csv_names_the_line_and_the_fix(tmp_path):
    (tmp_path / "latin.csv").write_bytes("a,b,target\n1,2,0\n3,4,1\n5,6,caf\xe9\n".encode("latin-1"))
    refused(
        lambda: load_source({"source": "csv", "path": "latin.csv", "label": "target"}, tmp_path),
        "latin.csv: not a UTF-8 text (CSV) file: line 4",
        "iconv -f latin1 -t utf-8",
    )
    (tmp_path / "excel.csv").write_bytes("a,target\n1,0\n".encode("utf-16"))  # Excel's "Unicode text"
    refused(lambda: load_source({"source": "csv", "path": "excel.csv"}, tmp_path), "line 1", "iconv -f utf-16")


def test_a_field_over_the_csv_limit_names_the_line(tmp_path):
    (tmp_path / "field.csv").write_text("a,b,target\n1,2,0\n3," + "x" * 140_000 + ",1\n")
    refused(
        lambda: load_source({"source": "csv", "path": "field.csv", "label": "target"}, tmp_path),
        "field.csv: line 3 has a field over 131,072 characters",
    )


def test_a_csv_too_big_for_memory_is_refused_before_parsing(tmp_path, monkeypatch):
    rows = "\n".join(f"{i},{i % 7},{i % 2}" for i in range(20000))
    (tmp_path / "big.csv").write_text("a,b,target\n" + rows + "\n")
    monkeypatch.setenv("TFSPEC_AVAILABLE_MEMORY", "300K")  # 20,000 rows of float32 + float64: 480 KB
    monkeypatch.setattr(csvfile, "_Body", BodyThatMustNotRead, raising=True)
    refused(
        lambda: load_source({"source": "csv", "path": "big.csv", "label": "target"}, tmp_path),
        "big.csv: this 0.00 GiB CSV file (about 20,000 rows of 3 columns), parsed, needs",
        "limit=N",
        ".npz",
    )


class BodyThatMustNotRead(csvfile._Body):
    def read(self, limit, rows):
        raise AssertionError("the file was parsed before its size was checked")


def reference(text, labels):
    """What the csv module and float() make of a CSV text (the slow path of old)."""
    rows = [row for row in csv.reader(io.StringIO(text.lstrip("\ufeff"), newline="")) if row]
    header, body = rows[0], np.array([[float(c) for c in row] for row in rows[1:]])
    index = [header.index(c) for c in labels]
    return body[:, [i for i in range(len(header)) if i not in index]].astype(np.float32), body[:, index]


def test_chunked_fast_parse_equals_the_csv_module(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    lines = [",".join(f"{v:.5g}" for v in row) for row in rng.normal(size=(300, 4))]
    lines[10] = '"1.5", 2 ,3e2,-4'  # quoted and spaced values
    lines[20] = "1_0,2,3,4"  # numpy refuses, float() accepts: that chunk is read by the csv module
    lines.insert(40, "")  # a blank line
    text = "\ufeffa,b,c,target\r\n" + "\r\n".join(lines) + "\r\n"
    (tmp_path / "t.csv").write_text(text, newline="")
    monkeypatch.setattr(csvfile, "CHUNK", 256)  # many chunks, lines cut at chunk ends
    monkeypatch.setattr(csvfile, "SAMPLE", 128)  # a wrong row estimate: the arrays grow
    x, y = csvfile.load_csv(str(tmp_path / "t.csv"), "target")
    want_x, want_y = reference(text, ["target"])
    assert x.dtype == np.float32 and np.array_equal(x, want_x) and np.allclose(y, want_y[:, 0])
    x5, _ = csvfile.load_csv(str(tmp_path / "t.csv"), "target", limit=5)
    assert np.array_equal(x5, want_x[:5])
    # errors far into the file name their line (the chunk's lines are counted)
    broken = text.replace("\r\n" + lines[250] + "\r\n", "\r\n1,2,nope,4\r\n")
    (tmp_path / "bad.csv").write_text(broken, newline="")
    line = broken.count("\n", 0, broken.index("nope")) + 1
    refused(lambda: csvfile.load_csv(str(tmp_path / "bad.csv"), "target"), f"line {line}, column 3 is not a number")
    inf = text.replace("\r\n" + lines[200] + "\r\n", "\r\n1,2,3,1e39\r\n")
    (tmp_path / "inf.csv").write_text(inf, newline="")
    line = inf.count("\n", 0, inf.index("1e39")) + 1
    refused(lambda: csvfile.load_csv(str(tmp_path / "inf.csv"), "target"), f"the first is on line {line}, column 4")


# ---------------------------------------------------------------- 7. source settings


@pytest.mark.parametrize(
    "spec, needles",
    [
        ({"limit": -5}, ("data source 'digits': limit must be ≥ 1, got -5",)),
        ({"limit": 0}, ("limit must be ≥ 1",)),
        ({"limit": 2.5}, ("limit must be an integer",)),
        ({"limit": True}, ("limit must be an integer",)),
        ({"scale": "x"}, ('scale must be a number, got "x"',)),
        ({"scale": 0}, ("scale must be > 0",)),
        ({"scale": float("inf")}, ("scale must be a finite number",)),
        ({"test_split": 1.5}, ("test_split must be < 1, got 1.5",)),
        ({"test_split": -0.1}, ("test_split must be ≥ 0",)),
        ({"lmit": 5}, ("digits has no argument 'lmit'; did you mean 'limit'?",)),
        ({"source": "cifar100", "label_mode": "medium"}, ('label_mode must be one of "fine", "coarse"',)),
        ({"source": "npz"}, ("npz needs 'path'",)),
        ({"source": "csv", "path": "a.csv", "label": 3}, ("label must be a string or a list of",)),
    ],
)
def test_source_settings_are_checked_at_run_time(spec, needles):
    spec = {"source": "digits", **spec}
    refused(lambda: split_data(spec, training()), f"data source {spec['source']!r}: ", *needles)


# ---------------------------------------------------------------- 8. resources


def test_optimizer_slots_follow_keras():
    assert resources.optimizer_slots("Adam") == 2 and resources.optimizer_slots("adamw") == 2
    assert resources.optimizer_slots({"class_name": "Adam", "config": {"amsgrad": True}}) == 3
    assert resources.optimizer_slots("SGD") == 0 and resources.optimizer_slots("SGD", {"momentum": 0.9}) == 1
    assert resources.optimizer_slots("RMSprop") == 1
    assert resources.optimizer_slots("RMSprop", {"momentum": 0.9, "centered": True}) == 3
    assert resources.optimizer_slots("Adagrad") == 1 and resources.optimizer_slots("Nadam") == 2
    # the slots Keras really builds
    for name, config in (("Adam", {}), ("SGD", {}), ("SGD", {"momentum": 0.9}), ("RMSprop", {"centered": True})):
        optimizer = getattr(keras.optimizers, name)(**config)
        weights = [keras.Variable(np.zeros((3, 4), np.float32))]
        optimizer.build(weights)
        slots = sum(int(np.prod(v.shape)) for v in optimizer.variables if len(v.shape)) // 12
        assert slots == resources.optimizer_slots(name, config), name


def test_a_model_too_big_to_train_is_a_training_error(monkeypatch):
    monkeypatch.setenv("TFSPEC_AVAILABLE_MEMORY", "16GiB")
    params = 64 * 2147483648 + 2147483648  # Flatten() -> Dense(2147483648) on 8x8 digits
    text = refused(
        lambda: resources.require_training_memory(params, "Adam"),
        "the model has 139,586,437,120 parameters",
        "with Adam needs at least 2,080.0 GiB (weights, gradients and 2 optimizer slots, float32)",
        "but 16.0 GiB of memory is available",
        "fewer units",
        error=TrainingError,
    )
    assert "SGD without momentum" in text
    resources.require_training_memory(10_000_000, {"class_name": "Adam", "config": {}})  # 160 MB: fine
    assert resources.training_bytes(1000, "SGD") == 8000


def test_available_memory_is_read_and_can_be_overridden(monkeypatch):
    monkeypatch.delenv("TFSPEC_AVAILABLE_MEMORY", raising=False)
    available = resources.available_memory()
    assert available is None or available > 0  # None: the system does not say
    for text, value in (("2GiB", 2 << 30), ("512M", 512 << 20), ("1000", 1000), ("1.5k", 1536)):
        monkeypatch.setenv("TFSPEC_AVAILABLE_MEMORY", text)
        assert resources.available_memory() == value, text


# ---------------------------------------------------------------- what is fine still trains


def test_valid_edge_cases_still_train():
    x, y = digits(256)
    # boolean inputs, and a (n, 1) column of integer labels with a sparse loss
    result = fit(mlp(), (x > 0.5, y[:, None].astype(np.uint8)), batch_size=64)
    assert not np.isnan(result.history["loss"][0]) and fit.began
    # labels 0.0/1.0 as floats with BinaryCrossentropy, and a one-hot y with CategoricalCrossentropy
    inputs = keras.Input((8, 8), name="image")
    flat = keras.layers.Flatten()(inputs)
    model = keras.Model(
        inputs,
        {
            "odd": keras.layers.Dense(1, activation="sigmoid", name="odd")(flat),
            "digit": keras.layers.Dense(10, activation="softmax", name="digit")(flat),
        },
    )
    labels = {"odd": (y % 2).astype(np.float32), "digit": np.eye(10, dtype=np.float32)[y]}
    result = fit(model, (x, labels), loss={"odd": BINARY, "digit": CATEGORICAL}, metrics=[], batch_size=64)
    assert all(np.isfinite(v[0]) for v in result.history.values())


class Unbuilt(keras.Model):
    """A subclassed model: no input signature until called, so the data meet its layers first."""

    def __init__(self):
        super().__init__()
        self.reshape = keras.layers.Reshape((8, 8))
        self.flatten = keras.layers.Flatten()
        self.dense = keras.layers.Dense(10, activation="softmax")

    def call(self, x):
        return self.dense(self.flatten(self.reshape(x)))


def test_a_model_without_an_input_signature_is_probed_for_data_errors():
    x, y = digits(50)
    refused_fit(
        Unbuilt(),
        (x.reshape(50, 64)[:, :50], y),
        "the training data: calling the model on one sample of the data failed (per-sample shapes: x (50,))",
        "Reshape: The total size of the tensor must be unchanged",
        "check that x matches the model's inputs",
    )
