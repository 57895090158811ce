"""Training data: sources (arrays, digits, keras.datasets cache, .npz, .csv), splits, preprocessing.

Everything here is numpy; the tf.data pipeline lives in pipeline.py.
"""

import csv
import gzip
import os
import pickle
import zipfile
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


def _named_leaves(nest, role):
    if isinstance(nest, dict):
        return [(f"{role}[{k!r}]", v) for k, v in nest.items()]
    if isinstance(nest, (list, tuple)):
        return [(f"{role}[{i}]", v) for i, v in enumerate(nest)]
    return [(role, nest)]


def _non_finite(a, chunk=1 << 22):
    """(number of non-finite values in `a`, index of the first), reading it in chunks of samples."""
    if a.ndim == 0:
        return (0, ()) if np.isfinite(a) else (1, ())
    rows = max(1, chunk // max(1, int(np.prod(a.shape[1:]))))
    count, first = 0, None
    for start in range(0, len(a), rows):
        bad = ~np.isfinite(a[start : start + rows])
        n = int(np.count_nonzero(bad))
        if n and first is None:
            index = np.unravel_index(int(np.argmax(bad)), bad.shape)
            first = (start + int(index[0]),) + tuple(int(i) for i in index[1:])
        count += n
    return count, first


def check_finite(arrays, where, note=""):
    """Refuse (x, y) holding NaN or Inf: a DataError with the count and the first place, never values."""
    if arrays is None:
        return
    for role, nest in zip(("x", "y"), arrays):
        for name, a in _named_leaves(nest, role):
            a = np.asarray(a)
            if a.dtype.kind not in "fc":
                continue  # integers, booleans, strings: nothing non-finite
            count, first = _non_finite(a)
            if not count:
                continue
            place = f"sample {first[0]}" if first else "its only value"
            if len(first) == 2:
                place += f", position {first[1]}"
            elif len(first) > 2:
                place += f", position {first[1:]}"
            values = "1 non-finite value" if count == 1 else f"{count} non-finite values"
            raise DataError(
                f"{where}: {name} holds {values} (NaN/Inf){note}; the first is at {place} "
                "(indices from 0); clean or drop those samples before training"
            )


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


def _npz_arrays(f):
    """Names of the arrays in an open .npz (members written by numpy.savez), and whether that is all."""
    members = f.zip.namelist()
    arrays = [m[: -len(".npy")] for m in members if m.endswith(".npy")]
    return arrays, len(arrays) == len(members)


def _npz_pick(f, key, path):
    if isinstance(key, dict):
        return {name: _npz_pick(f, k, path) for name, k in key.items()}
    if isinstance(key, (list, tuple)):
        return tuple(_npz_pick(f, k, path) for k in key)
    arrays, only_arrays = _npz_arrays(f)
    if key not in arrays:
        # the names of a numpy.savez file are its keys; those of another zip are its contents
        count = f"{len(arrays)} array{'s' if len(arrays) != 1 else ''} in it"
        listing = f" (it has {', '.join(arrays)})" if only_arrays and arrays else f" ({count})"
        raise DataError(f"{path}: no array named {key!r}{listing}")
    return f[key]


def _load_npz(spec, base_dir):
    path = _resolve(spec["path"], base_dir)
    try:
        loaded = np.load(path, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise DataError(f"{path} holds a single array (.npy), not a .npz file of named arrays")
        with loaded as f:
            arrays, _ = _npz_arrays(f)
            if "x" not in spec and "x_train" in arrays:
                pick = lambda key: _npz_pick(f, key, path)  # noqa: E731
                test = (pick("x_test"), pick("y_test")) if "x_test" in arrays else None
                return (pick("x_train"), pick("y_train")), test
            return (_npz_pick(f, spec.get("x", "x"), path), _npz_pick(f, spec.get("y", "y"), path)), None
    except OSError as e:
        raise DataError(f"cannot read {path}: {e.strerror or type(e).__name__}") from e
    except (ValueError, EOFError, zipfile.BadZipFile) as e:
        # numpy's messages may quote the file (a .npy header): say what is wrong, not what is there
        raise DataError(
            f"cannot read {path}: it is not a .npz file of plain numpy arrays (numpy.savez; pickled objects "
            "are refused)"
        ) from e


def _load_csv(spec, base_dir):
    """A CSV file with a header row. Errors give counts and places, never the file's text."""
    path = _resolve(spec["path"], base_dir)
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = [(line, row) for line, row in enumerate(csv.reader(f), start=1) if row]
    except UnicodeDecodeError as e:
        raise DataError(f"{path}: not a UTF-8 text (CSV) file") from e
    except csv.Error as e:
        raise DataError(f"{path}: not a readable CSV file ({e})") from e
    if len(rows) < 2:
        raise DataError(f"{path}: expected a header row and at least one data row")
    (_, header), body = rows[0], rows[1:]
    labels = spec.get("label", header[-1])
    labels = [labels] if isinstance(labels, str) else list(labels)
    features = spec.get("features") or [c for c in header if c not in labels]
    for kind, names in (("label", labels), ("feature", features)):
        missing = [c for c in names if c not in header]
        if missing:
            raise DataError(
                f"{path}: the header row has {len(header)} column{'s' if len(header) != 1 else ''} and none is "
                f"named {missing[0]!r} (the {kind} column asked for)"
            )
    for line, row in body:
        if len(row) != len(header):
            raise DataError(f"{path}: line {line} has {len(row)} values; the header row has {len(header)} columns")
    try:
        table = np.array([row for _, row in body], dtype=np.float64)
    except ValueError:
        line, column = _first_non_number(body)
        raise DataError(f"{path}: every value must be numeric; line {line}, column {column} is not a number") from None
    with np.errstate(over="ignore"):
        bad = ~np.isfinite(table.astype(np.float32))  # what trains: float32 (1e39 is Inf there)
    if bad.any():
        row, column = np.argwhere(bad)[0]
        raise DataError(
            f"{path}: {_count(int(bad.sum()), 'value')} not finite (NaN/Inf, or beyond float32's range); "
            f"the first is on line {body[row][0]}, column {column + 1}"
        )
    column = {name: i for i, name in enumerate(header)}
    x = table[:, [column[c] for c in features]].astype(np.float32)
    y = table[:, [column[c] for c in labels]]
    y = y[:, 0] if len(labels) == 1 else y
    if np.all(y == np.round(y)):
        y = y.astype(np.int64)
    return (x, y.astype(np.float32) if y.dtype.kind == "f" else y), None


def _first_non_number(body):
    """(line, 1-based column) of the first cell float() refuses."""
    for line, row in body:
        for column, cell in enumerate(row, start=1):
            try:
                float(cell)
            except ValueError:
                return line, column
    return body[0][0], 1  # pragma: no cover - numpy refused what float() accepts


def _count(n, noun):
    return f"1 {noun} is" if n == 1 else f"{n} {noun}s are"


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


def _source_name(spec):
    return str(spec["path"]) if spec.get("path") is not None else f"data source {spec.get('source')!r}"


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
    # every array is checked for NaN/Inf as given, before any split, so that indices are the user's
    if isinstance(data, (str, dict)) and (isinstance(data, str) or "source" in data):
        train, test, spec = _source_splits(data, base_dir)
        check_finite(train, _source_name(spec))
        check_finite(test, f"{_source_name(spec)} (its test split)")
        fraction = spec.get("test_split", DEFAULT_TEST_SPLIT)
        if test is None and fraction:
            train, test = _split_off(train, fraction, rng)
    elif isinstance(data, dict):
        if "train" not in data:
            raise DataError('a data mapping needs a "train" entry')
        train = _as_pair(data["train"], "data['train']")
        validation = data.get("validation") and _as_pair(data["validation"], "data['validation']")
        test = data.get("test") and _as_pair(data["test"], "data['test']")
        for name, arrays in (("train", train), ("validation", validation), ("test", test)):
            check_finite(arrays, f"data[{name!r}]")
    else:
        train, test = _as_pair(data, "data"), None
        check_finite(train, "the training data")
    if training.get("validation_data") is not None:
        validation = validation_arrays(training["validation_data"], base_dir)
        check_finite(validation, "validation_data")
    elif training.get("validation_split"):
        train, validation = _split_off(train, training["validation_split"], rng)
    return Splits(train=train, validation=validation, test=test)


def validation_arrays(value, base_dir=None):
    """validation_data: (x, y), or a source (its native test split if it has one, else all of it)."""
    if isinstance(value, (str, dict)):
        train, test, _ = _source_splits(value, base_dir)
        return test if test is not None else train
    return _as_pair(value, "validation_data")
