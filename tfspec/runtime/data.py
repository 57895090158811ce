"""Training data: sources (arrays, digits, keras.datasets cache, .npz, .csv), splits, preprocessing.

Everything here is numpy; the tf.data pipeline lives in pipeline.py.
"""

import csv
import gzip
import os
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import DataError

IMAGE_SOURCES = ("mnist", "fashion_mnist", "cifar10", "cifar100")
DEFAULT_SCALE = {"digits": 1 / 16, **{name: 1 / 255 for name in IMAGE_SOURCES}}
DEFAULT_TEST_SPLIT = 0.2
DIGITS_FILES = (
    Path(__file__).resolve().parent.parent / "data" / "digits.npz",
    Path(__file__).resolve().parents[2] / "specs" / "data" / "digits.npz",
)
# Files keras.datasets.<name>.load_data() leaves in the cache, relative to <keras home>/datasets.
CACHE_FILES = {
    "mnist": ["mnist.npz"],
    "fashion_mnist": [
        f"fashion-mnist/{f}"
        for f in (
            "train-labels-idx1-ubyte.gz",
            "train-images-idx3-ubyte.gz",
            "t10k-labels-idx1-ubyte.gz",
            "t10k-images-idx3-ubyte.gz",
        )
    ],
    "cifar10": ["cifar-10-batches-py-target/cifar-10-batches-py/test_batch"]
    + [f"cifar-10-batches-py-target/cifar-10-batches-py/data_batch_{i}" for i in range(1, 6)],
    "cifar100": [f"cifar-100-python-target/cifar-100-python/{f}" for f in ("train", "test")],
}


@dataclass
class Splits:
    """Arrays for each split; x and y may be arrays, tuples or dicts of arrays."""

    train: tuple
    validation: tuple = None
    test: tuple = None


# ---------------------------------------------------------------- nested arrays


def num_samples(x):
    if isinstance(x, dict):
        x = next(iter(x.values()))
    elif isinstance(x, (list, tuple)):
        x = x[0]
    return len(x)


def take(x, index):
    """Index every array of a nest (array, tuple/list, dict) along the first axis."""
    if isinstance(x, dict):
        return {k: v[index] for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return tuple(v[index] for v in x)
    return x[index]


def map_arrays(fn, x):
    if isinstance(x, dict):
        return {k: fn(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return tuple(fn(v) for v in x)
    return fn(x)


# ---------------------------------------------------------------- sources


def keras_cache_dir():
    base = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(base) / "datasets"


def _require_cached(name):
    root = keras_cache_dir()
    missing = [f for f in CACHE_FILES[name] if not (root / f).is_file()]
    if missing:
        raise DataError(
            f"dataset {name!r} is not in the local Keras cache (missing {root / missing[0]}). "
            "tfspec never downloads data while training. On a machine with internet access run "
            f'`python -c "import keras; keras.datasets.{name}.load_data()"` and copy '
            f'{root} here (or set KERAS_HOME), or train on a file instead: data = npz("file.npz").'
        )
    return root


def _load_keras_dataset(name, label_mode="fine"):
    root = _require_cached(name)
    try:
        if name == "mnist":
            with np.load(root / "mnist.npz") as f:
                return (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])
        if name == "fashion_mnist":

            def read(fname, offset):
                with gzip.open(root / "fashion-mnist" / fname, "rb") as f:
                    return np.frombuffer(f.read(), np.uint8, offset=offset)

            y_train, y_test = read("train-labels-idx1-ubyte.gz", 8), read("t10k-labels-idx1-ubyte.gz", 8)
            x_train = read("train-images-idx3-ubyte.gz", 16).reshape(len(y_train), 28, 28)
            x_test = read("t10k-images-idx3-ubyte.gz", 16).reshape(len(y_test), 28, 28)
            return (x_train, y_train), (x_test, y_test)
        folder = root / CACHE_FILES[name][0].rsplit("/", 1)[0]
        if name == "cifar10":
            train = [_cifar_batch(folder / f"data_batch_{i}", b"labels") for i in range(1, 6)]
            x_train = np.concatenate([x for x, _ in train])
            y_train = np.concatenate([y for _, y in train])
            return (x_train, y_train), _cifar_batch(folder / "test_batch", b"labels")
        if label_mode not in ("fine", "coarse"):
            raise DataError(f"cifar100 label_mode must be fine or coarse, not {label_mode!r}")
        key = f"{label_mode}_labels".encode()
        return _cifar_batch(folder / "train", key), _cifar_batch(folder / "test", key)
    except (OSError, ValueError, KeyError, EOFError, pickle.UnpicklingError) as e:
        raise DataError(f"cannot read the cached {name!r} files under {root}: {e}") from e


def _cifar_batch(path, label_key):
    with open(path, "rb") as f:
        d = pickle.load(f, encoding="bytes")
    x = np.asarray(d[b"data"], np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return x, np.asarray(d[label_key], np.uint8)


def _load_digits():
    for path in DIGITS_FILES:
        if path.is_file():
            with np.load(path) as f:
                return (f["x"], f["y"]), None
    raise DataError("the bundled digits data set is missing (tfspec/data/digits.npz)")


def _resolve(path, base_dir):
    p = Path(path)
    if not p.is_absolute() and base_dir is not None:
        p = Path(base_dir) / p
    if not p.is_file():
        raise DataError(f"data file not found: {p}")
    return p


def _npz_pick(f, key, path):
    if isinstance(key, dict):
        return {name: _npz_pick(f, k, path) for name, k in key.items()}
    if isinstance(key, (list, tuple)):
        return tuple(_npz_pick(f, k, path) for k in key)
    if key not in f.files:
        raise DataError(f"{path}: no array named {key!r} (it has {', '.join(f.files)})")
    return f[key]


def _load_npz(spec, base_dir):
    path = _resolve(spec["path"], base_dir)
    try:
        with np.load(path, allow_pickle=False) as f:
            if "x" not in spec and "x_train" in f.files:
                test = (f["x_test"], f["y_test"]) if "x_test" in f.files else None
                return (f["x_train"], f["y_train"]), test
            return (_npz_pick(f, spec.get("x", "x"), path), _npz_pick(f, spec.get("y", "y"), path)), None
    except (OSError, ValueError) as e:
        raise DataError(f"cannot read {path}: {e}") from e


def _load_csv(spec, base_dir):
    path = _resolve(spec["path"], base_dir)
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    if len(rows) < 2:
        raise DataError(f"{path}: expected a header row and at least one data row")
    header, body = rows[0], [r for r in rows[1:] if r]
    labels = spec.get("label", header[-1])
    labels = [labels] if isinstance(labels, str) else list(labels)
    features = spec.get("features") or [c for c in header if c not in labels]
    for col in labels + features:
        if col not in header:
            raise DataError(f"{path}: no column named {col!r} (columns: {', '.join(header)})")
    try:
        table = np.array(body, dtype=np.float64)
    except ValueError as e:
        raise DataError(f"{path}: every value must be numeric ({e})") from e
    column = {name: i for i, name in enumerate(header)}
    x = table[:, [column[c] for c in features]].astype(np.float32)
    y = table[:, [column[c] for c in labels]]
    y = y[:, 0] if len(labels) == 1 else y
    if np.all(y == np.round(y)):
        y = y.astype(np.int64)
    return (x, y.astype(np.float32) if y.dtype.kind == "f" else y), None


def load_source(spec, base_dir=None):
    """Return ((x, y) train-or-all, (x, y) native test or None) for a data-source dict."""
    if isinstance(spec, str):
        spec = {"source": spec}
    source = spec.get("source")
    if source == "digits":
        return _load_digits()
    if source in IMAGE_SOURCES:
        return _load_keras_dataset(source, spec.get("label_mode", "fine"))
    if source == "npz":
        return _load_npz(spec, base_dir)
    if source == "csv":
        return _load_csv(spec, base_dir)
    raise DataError(f"unknown data source {source!r} (digits, mnist, fashion_mnist, cifar10, cifar100, npz, csv)")


# ---------------------------------------------------------------- splits


def _scaled(arrays, scale):
    if arrays is None or not scale:
        return arrays
    x, y = arrays
    return map_arrays(lambda a: a.astype(np.float32) * np.float32(scale), x), y


def _limited(arrays, limit):
    if arrays is None or not limit:
        return arrays
    return take(arrays[0], slice(0, limit)), take(arrays[1], slice(0, limit))


def _split_off(arrays, fraction, rng):
    """Split (x, y) into (rest, held_out) with a seeded shuffle."""
    n = num_samples(arrays[0])
    n_out = int(round(n * fraction))
    if not 0 < n_out < n:
        raise DataError(f"a split of {fraction} leaves no samples on one side of {n}")
    order = rng.permutation(n)
    keep, out = np.sort(order[n_out:]), np.sort(order[:n_out])
    return (take(arrays[0], keep), take(arrays[1], keep)), (take(arrays[0], out), take(arrays[1], out))


def _source_splits(spec, base_dir):
    if isinstance(spec, str):
        spec = {"source": spec}
    train, test = load_source(spec, base_dir)
    scale = spec.get("scale", DEFAULT_SCALE.get(spec.get("source")))
    limit = spec.get("limit")
    return _scaled(_limited(train, limit), scale), _scaled(_limited(test, limit), scale), spec


def _as_pair(value, what):
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return tuple(value)
    raise DataError(f"{what} must be an (x, y) pair of arrays")


def split_data(data, training, base_dir=None):
    """Build train/validation/test arrays from `data` (or training["data"]) and the split settings."""
    data = training.get("data") if data is None else data
    if data is None:
        raise DataError('no training data: give `data` or a "data" entry in the training settings')
    seed = training.get("seed")
    rng = np.random.default_rng(0 if seed is None else seed)
    validation = None
    if isinstance(data, (str, dict)) and (isinstance(data, str) or "source" in data):
        train, test, spec = _source_splits(data, base_dir)
        fraction = spec.get("test_split", DEFAULT_TEST_SPLIT)
        if test is None and fraction:
            train, test = _split_off(train, fraction, rng)
    elif isinstance(data, dict):
        if "train" not in data:
            raise DataError('a data mapping needs a "train" entry')
        train = _as_pair(data["train"], "data['train']")
        validation = data.get("validation") and _as_pair(data["validation"], "data['validation']")
        test = data.get("test") and _as_pair(data["test"], "data['test']")
    else:
        train, test = _as_pair(data, "data"), None
    if training.get("validation_data") is not None:
        validation = validation_arrays(training["validation_data"], base_dir)
    elif training.get("validation_split"):
        train, validation = _split_off(train, training["validation_split"], rng)
    return Splits(train=train, validation=validation, test=test)


def validation_arrays(value, base_dir=None):
    """validation_data: (x, y), or a source (its native test split if it has one, else all of it)."""
    if isinstance(value, (str, dict)):
        train, test, _ = _source_splits(value, base_dir)
        return test if test is not None else train
    return _as_pair(value, "validation_data")
