"""Training data: sources (arrays, digits, keras.datasets cache, .npz, .csv), splits, preprocessing.

Everything here is numpy; the tf.data pipeline lives in pipeline.py.
"""

import difflib
import gzip
import numbers
import os
import pickle
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.lib import format as npy_format

from . import csvsource, resources
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


# The settings each source takes (what `check` allows, plus csv's `features` for API users).
@dataclass
class Splits:
    """Arrays for each split; x and y may be arrays, tuples or dicts of arrays. `names`: what
    messages call each split ("data['train']", "/path/train.npz (its test split)"...)."""

    train: tuple
    validation: tuple = None
    test: tuple = None
    names: dict = field(default_factory=dict)
    classes: dict = field(default_factory=dict)  # {label column: class names} of a CSV's text labels

    def name(self, split):
        return self.names.get(split) or f"the {split} data"


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


def named_leaves(nest, role):
    """[(name, array)] of a nest: "x", or "x[0]", "x['image']"... as messages name them."""
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
        for name, a in named_leaves(nest, role):
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


DTYPE_PROBLEMS = {
    "U": "holds text ({dtype}); training needs numbers: map class names to integers 0..K-1, or convert "
    "text that holds numbers with np.asarray({name}, dtype='float32')",
    "S": "holds bytes ({dtype}); training needs numbers: decode and convert them to integers or floats",
    "O": "holds Python objects (dtype object); give a numeric array, e.g. np.asarray({name}, dtype='float32') "
    "(sequences of different lengths need padding to one length first)",
    "c": "holds complex numbers ({dtype}), which cannot train; keep the real part (np.real) or give the real "
    "and imaginary parts as two features",
}


def _as_array(a, where, name):
    try:
        return np.asarray(a)
    except ValueError:  # numpy 2 refuses ragged lists
        raise DataError(
            f"{where}: {name} is a ragged list (its items have different shapes); pad them to one shape and give "
            "a numpy array"
        ) from None


def text_leaves(x, inputs):
    """The names (as named_leaves gives them) of the arrays of `x` that feed an input declared as a
    string (`inputs`: the model's [(name, shape, dtype)]): those may hold text."""
    names = [name for name, _, _ in inputs or []]
    strings = [csvsource.is_string(dtype) for _, _, dtype in inputs or []]
    if isinstance(x, dict):
        return {f"x[{k!r}]" for k in x if k in names and strings[names.index(k)]}
    if isinstance(x, (list, tuple)):
        return {f"x[{i}]" for i in range(min(len(x), len(strings))) if strings[i]}
    return {"x"} if strings == [True] else set()


def check_arrays(arrays, where, inputs=None):
    """Refuse, as given, (x, y) that cannot train, before any split: arrays that are not numbers
    (text, objects, complex; booleans are numbers) -- but text for an input declared as a string
    (`inputs`: the model's [(name, shape, dtype)]) --, no samples, or arrays of different lengths
    (x and y, and every array of a dict or tuple, need one entry per sample)."""
    if arrays is None:
        return
    lengths = []
    text = text_leaves(arrays[0], inputs)
    for role, nest in zip(("x", "y"), arrays):
        leaves = named_leaves(nest, role)
        if not leaves:
            raise DataError(f"{where}: {role} is an empty {type(nest).__name__}; give at least one array")
        for name, a in leaves:
            a = _as_array(a, where, name)
            if a.ndim == 0:
                raise DataError(f"{where}: {name} is a single value; give an array with one entry per sample")
            if name in text and a.dtype.kind in "USO":
                lengths.append((name, len(a)))
                continue  # signature.prepare_x judges each value
            problem = DTYPE_PROBLEMS.get(a.dtype.kind)
            if problem is None and a.dtype.kind not in "biuf":
                problem = "has dtype {dtype}, not numbers; convert it to integers or floats"
            if problem:
                raise DataError(f"{where}: {name} " + problem.format(dtype=a.dtype, name=name.split("[")[0]))
            lengths.append((name, len(a)))
    (first, n), rest = lengths[0], lengths[1:]
    for name, m in rest:
        if m != n:
            raise DataError(
                f"{where}: {first} has {n:,} samples but {name} has {m:,}; every array needs one entry per sample "
                "(the same first dimension)"
            )
    if n == 0:
        raise DataError(f"{where}: there are no samples (x and y have length 0); give at least one")


def check_data(arrays, where, note="", inputs=None):
    """check_arrays, then check_finite: everything that can be said of (x, y) without the model."""
    check_arrays(arrays, where, inputs)
    check_finite(arrays, where, note)


# ---------------------------------------------------------------- source settings


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _names(value):
    """Array or column names: a name, a list/tuple of names, or (npz) a dict of them."""
    if isinstance(value, str):
        return True
    if isinstance(value, dict):
        return bool(value) and all(isinstance(k, str) and _names(v) for k, v in value.items())
    return isinstance(value, (list, tuple)) and bool(value) and all(_names(v) for v in value)


def check_source(spec):
    """Refuse a data-source dict whose settings cannot work, with the train catalog's judgement
    (what `tfspec check` says of the spec; the API never passes through `check`). Beyond the spec
    language, a path may be a PathLike and npz's x/y a dict of array names."""
    from ..check import train_catalog as catalog

    source = spec.get("source")
    entry = catalog.lookup("data", source) if isinstance(source, str) else None
    if entry is None:
        raise DataError(f"unknown data source {source!r} ({', '.join(catalog.ENTRIES['data'])})")
    config = {k: v for k, v in spec.items() if k != "source"}
    if isinstance(config.get("path"), os.PathLike):
        config["path"] = os.fspath(config["path"])
    for key in ("x", "y"):
        if source == "npz" and isinstance(config.get(key), dict) and _names(config[key]):
            config.pop(key)  # {input name: array name}: judged by _names
    for key, _, message in catalog.problems(entry, config)[:1]:
        close = difflib.get_close_matches(str(key), entry.arg_names, n=1) if key not in entry.arg_names else []
        hint = f"; did you mean {close[0]!r}?" if close else ""
        message = message.removeprefix(f"{entry.name}: ")
        raise DataError(f"data source {source!r}: {message}{hint}")


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
                npz_sizes(f, ["x_train", "y_train", "x_test", "y_test"], root / "mnist.npz")
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


def _npz_keys(key):
    """The array names of an x/y setting: a name, a tuple/list or a dict of them."""
    if isinstance(key, dict):
        return [k for v in key.values() for k in _npz_keys(v)]
    if isinstance(key, (list, tuple)):
        return [k for v in key for k in _npz_keys(v)]
    return [key]


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


def _npy_header(fp):
    """(shape, dtype) from the .npy header at the start of `fp`."""
    version = npy_format.read_magic(fp)
    if version == (1, 0):
        shape, _, dtype = npy_format.read_array_header_1_0(fp)
    elif version == (2, 0):
        shape, _, dtype = npy_format.read_array_header_2_0(fp)
    else:  # 3.0: a 2.0 header in UTF-8; numpy has no public reader for it
        shape, _, dtype = npy_format._read_array_header(fp, version)
    return shape, dtype


def npz_sizes(f, keys, path):
    """Check the named members of an open .npz before numpy allocates them: each header's shape and
    dtype against the bytes the member holds (a header that claims more is a damaged file) and all
    of them together against the memory available. Returns the bytes they will take."""
    total, largest = 0, None
    names = set(f.zip.namelist())
    for key in dict.fromkeys(keys):
        member = f"{key}.npy"
        if member not in names:
            continue  # _npz_pick names what is missing
        info = f.zip.getinfo(member)
        with f.zip.open(info) as fp:
            shape, dtype = _npy_header(fp)
            data = info.file_size - fp.tell()
        if dtype.hasobject:
            raise DataError(f"{path}: array {key!r} holds Python objects (pickled); only plain numpy arrays are read")
        nbytes = resources.array_bytes(shape, dtype.itemsize)
        if nbytes > data:
            raise DataError(
                f"{path}: array {key!r} is damaged: its header says shape {tuple(shape)} of {dtype} "
                f"({resources.gib(nbytes)}) but the file holds {data:,} bytes of it; write the file again "
                "(numpy.savez)"
            )
        total += nbytes
        if largest is None or nbytes > largest[1]:
            largest = (key, nbytes, tuple(shape), dtype)
    if largest is not None:
        key, nbytes, shape, dtype = largest
        what = f"{path}: array {key!r} (shape {shape}, {dtype})"
        if total > nbytes:
            what = f"{path}: its arrays (the largest {key!r}, shape {shape}, {dtype})"
        resources.require_memory(
            total,
            what,
            "use a smaller file (fewer samples, or a compact dtype such as uint8 for pixels), or a machine with "
            "more memory",
        )
    return total


def _load_npz(spec, base_dir):
    path = _resolve(spec["path"], base_dir)
    try:
        loaded = np.load(path, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise DataError(f"{path} holds a single array (.npy), not a .npz file of named arrays")
        with loaded as f:
            arrays, _ = _npz_arrays(f)
            pick = lambda key: _npz_pick(f, key, path)  # noqa: E731
            if "x" not in spec and "x_train" in arrays:
                keys = ["x_train", "y_train"] + (["x_test", "y_test"] if "x_test" in arrays else [])
                npz_sizes(f, keys, path)
                test = (pick("x_test"), pick("y_test")) if "x_test" in arrays else None
                return (pick("x_train"), pick("y_train")), test
            x, y = spec.get("x", "x"), spec.get("y", "y")
            if y == x:  # an autoencoder's target is its input: one array, scaled like it (`_scaled`)
                npz_sizes(f, _npz_keys(x), path)
                inputs = pick(x)
                return (inputs, inputs), None
            npz_sizes(f, _npz_keys(x) + _npz_keys(y), path)
            return (pick(x), pick(y)), None
    except OSError as e:
        raise DataError(f"cannot read {path}: {e.strerror or type(e).__name__}") from e
    except (ValueError, EOFError, zipfile.BadZipFile) as e:
        # numpy's messages may quote the file (a .npy header): say what is wrong, not what is there
        raise DataError(
            f"cannot read {path}: it is not a .npz file of plain numpy arrays (numpy.savez; pickled objects "
            "are refused)"
        ) from e


def _load_csv(spec, base_dir, inputs=None, classes=None, found=None):
    """A CSV file with a header row (csvsource.py), its columns fed to `inputs` by name; class names
    of text labels numbered as `classes` says, else in sorted order, and put in `found`. Errors give
    counts and places, never the file's text."""
    path = _resolve(spec["path"], base_dir)
    try:
        arrays, names = csvsource.load(
            path, spec.get("label"), spec.get("features"), spec.get("limit"), inputs=inputs, classes=classes
        )
    except OSError as e:
        raise DataError(f"cannot read {path}: {e.strerror or type(e).__name__}") from e
    if found is not None:
        found.update(names)
    return arrays, None


def load_source(spec, base_dir=None, inputs=None, classes=None, found=None):
    """Return ((x, y) train-or-all, (x, y) native test or None) for a data-source dict. A CSV file
    feeds `inputs` (the model's [(name, shape, dtype)], when known) by column name; the class names
    of its text labels go in `found` (a dict), numbered as `classes` says when given."""
    if isinstance(spec, str):
        spec = {"source": spec}
    check_source(spec)
    source = spec.get("source")
    if source == "digits":
        return _load_digits()
    if source in IMAGE_SOURCES:
        return _load_keras_dataset(source, spec.get("label_mode", "fine"))
    if source == "npz":
        return _load_npz(spec, base_dir)
    return _load_csv(spec, base_dir, inputs, classes, found)


# ---------------------------------------------------------------- splits


def _scaled(arrays, scale, where):
    """x as float32 times `scale` (one float32 copy per array, scaled in place)."""
    if arrays is None or not scale:
        return arrays
    x, y = arrays
    resources.require_memory(
        sum(np.asarray(a).size * 4 for _, a in named_leaves(x, "x")),
        f"{where}: x as float32 (scaled by {scale:g})",
        "train on fewer samples with limit=N, or on a machine with more memory",
    )

    def scale_one(a):
        if np.asarray(a).dtype.kind not in "biuf":
            return a  # text, for an input declared as a string
        out = np.asarray(a).astype(np.float32)
        out *= np.float32(scale)
        return out

    scaled = map_arrays(scale_one, x)
    return scaled, (scaled if y is x else y)  # y is x: the target is the (scaled) input


def _limited(arrays, limit):
    if arrays is None or not limit:
        return arrays
    x = take(arrays[0], slice(0, limit))
    return x, (x if arrays[1] is arrays[0] else take(arrays[1], slice(0, limit)))


def _split_off(arrays, fraction, rng, setting="validation_split", where="the training data"):
    """Split (x, y) into (rest, held_out) with a seeded shuffle."""
    if not (_is_real(fraction) and 0 < fraction < 1):
        raise DataError(f"{setting} must be a fraction of the samples between 0 and 1, not {fraction!r}")
    n = num_samples(arrays[0])
    n_out = int(round(n * fraction))
    if not 0 < n_out < n:
        held = "validation" if setting == "validation_split" else "testing"
        raise DataError(
            f"{where}: {setting}={fraction:g} of its {n:,} sample{'s' if n != 1 else ''} leaves {n - n_out} for "
            f"training and {n_out} for {held}; each side needs at least one sample: give more samples, or a "
            f"{setting} that leaves some on both sides"
        )
    order = rng.permutation(n)
    keep, out = np.sort(order[n_out:]), np.sort(order[:n_out])
    return (take(arrays[0], keep), take(arrays[1], keep)), (take(arrays[0], out), take(arrays[1], out))


def _source_splits(spec, base_dir, inputs=None, classes=None, found=None):
    """(train, native test or None, spec): loaded, limited, checked for dtypes and lengths, scaled."""
    if isinstance(spec, str):
        spec = {"source": spec}
    train, test = load_source(spec, base_dir, inputs, classes, found)
    name, limit = _source_name(spec), spec.get("limit")
    train, test = _limited(train, limit), _limited(test, limit)
    check_arrays(train, name, inputs)
    check_arrays(test, f"{name} (its test split)", inputs)
    scale = spec.get("scale", DEFAULT_SCALE.get(spec.get("source")))
    return _scaled(train, scale, name), _scaled(test, scale, f"{name} (its test split)"), spec


def _source_name(spec):
    return str(spec["path"]) if spec.get("path") is not None else f"data source {spec.get('source')!r}"


def _is_source(data):
    return isinstance(data, str) or (isinstance(data, dict) and "source" in data)


def _as_pair(value, what):
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return tuple(value)
    raise DataError(f"{what} must be an (x, y) pair of arrays")


def split_data(data, training, base_dir=None, inputs=None):
    """Build train/validation/test arrays from `data` (or training["data"]) and the split settings.

    `inputs`: the model's [(name, shape, dtype)] when known: a CSV file's columns feed them by name,
    and arrays for an input declared as a string may hold text. Class names of a CSV's text labels
    are numbered as training["classes"] says ({label column: names}), else in sorted order
    (Splits.classes). Every array is checked as given, before any split, so that sample indices are
    the user's: numbers (check_arrays), the same number of samples everywhere, no NaN/Inf (check_finite)."""
    data = training.get("data") if data is None else data
    if data is None:
        raise DataError('no training data: give `data` or a "data" entry in the training settings')
    seed = training.get("seed")
    rng = np.random.default_rng(0 if seed is None else seed)
    validation = None
    classes = dict(training.get("classes") or {})
    if _is_source(data):
        train, test, spec = _source_splits(data, base_dir, inputs, classes or None, classes)
        name = _source_name(spec)
        names = {"train": name, "validation": f"{name} (its validation split)", "test": f"{name} (its test split)"}
        check_finite(train, name)
        check_finite(test, names["test"])
        fraction = spec.get("test_split", DEFAULT_TEST_SPLIT)
        if test is None and fraction:
            train, test = _split_off(train, fraction, rng, "test_split", name)
    elif isinstance(data, dict):
        if "train" not in data:
            raise DataError('a data mapping needs a "train" entry')
        names = {split: f"data[{split!r}]" for split in ("train", "validation", "test")}
        train = _as_pair(data["train"], names["train"])
        validation = data.get("validation") and _as_pair(data["validation"], names["validation"])
        test = data.get("test") and _as_pair(data["test"], names["test"])
        for split, arrays in (("train", train), ("validation", validation), ("test", test)):
            check_data(arrays, names[split], inputs=inputs)
        if validation is None:
            names["validation"] = "data['train'] (its validation split)"
    else:
        train, test = _as_pair(data, "data"), None
        names = {"train": "the training data", "validation": "the training data (its validation split)"}
        check_data(train, names["train"], inputs=inputs)
    if training.get("validation_data") is not None:
        # a CSV's class names are numbered as the training data's
        validation, names["validation"] = _validation(training["validation_data"], base_dir, inputs, classes)
        check_finite(validation, names["validation"])
    elif training.get("validation_split"):
        train, validation = _split_off(train, training["validation_split"], rng, "validation_split", names["train"])
    return Splits(train=train, validation=validation, test=test, names=names, classes=classes)


def _validation(value, base_dir, inputs=None, classes=None):
    """(arrays, name) of validation_data, checked for dtypes and lengths."""
    if _is_source(value):
        found = {}
        train, test, spec = _source_splits(value, base_dir, inputs, classes or None, found)
        name = _source_name(spec)
        unnamed = sorted(set(found) - set(classes or {}))
        if unnamed and classes is not None and classes:
            raise DataError(f"{name}: label column {unnamed[0]!r} holds class names, but the training data's do not")
        if test is not None:
            return test, f"{name} (its test split, the validation_data)"
        return train, f"{name} (the validation_data)"
    arrays = _as_pair(value, "validation_data")
    check_arrays(arrays, "validation_data", inputs)
    return arrays, "validation_data"


def validation_arrays(value, base_dir=None, inputs=None):
    """validation_data: (x, y), or a source (its native test split if it has one, else all of it)."""
    return _validation(value, base_dir, inputs)[0]
