"""The files of `tfspec predict`: inputs read from an .npz or .csv file the way the run's data
source reads its files (array and column names, `scale`), and predictions written as .npz or .csv.
Numpy only; errors name places, never the files' contents."""

from __future__ import annotations

# ---- input files for `tfspec predict` ----------------------------------------------------------


def data_settings(run) -> dict:
    """The data source the run was trained on ({} when it was given arrays in Python)."""
    data = run.data if run.data is not None else (run.spec.training or {}).get("data")
    if isinstance(data, str) and data != "arrays":
        return {"source": data}
    return data if isinstance(data, dict) else {}


def input_scale(settings: dict):
    """The factor the run's data source scales its inputs by (digits 1/16, mnist 1/255, a `scale`
    setting), or None."""
    from .data import DEFAULT_SCALE

    return settings.get("scale", DEFAULT_SCALE.get(settings.get("source")))


def read_inputs(path: str, run, *, scale: bool = True):
    """(x, factor): the inputs in an .npz or .csv file, as the run's data source reads its files
    (array and column names, `scale`), and the factor applied (None if none). x is as `predict`
    takes it: an array for one input, else a list in the model's input order."""
    settings = data_settings(run)
    x = read_npz(path, settings, run.inputs) if path.endswith(".npz") else read_csv(path, settings, run.inputs)
    factor = input_scale(settings) if scale else None
    if factor:
        import numpy as np

        scaled = lambda a: a.astype(np.float32) * np.float32(factor) if a.dtype.kind in "fiu" else a  # noqa: E731
        x = [scaled(a) for a in x]
    return (x[0] if len(x) == 1 else x), factor


def read_npz(path: str, settings: dict, inputs) -> list:
    import zipfile

    import numpy as np

    from .data import npz_sizes
    from .errors import DataError

    names = [name for name, _, _ in inputs]
    key = settings.get("x") if settings.get("source") == "npz" else None
    try:
        loaded = np.load(path, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise DataError(f"{path} holds a single array (.npy), not a .npz file of named arrays")
        with loaded as f:
            members = [m[: -len(".npy")] for m in f.zip.namelist() if m.endswith(".npy")]
            if key is None:
                if len(names) == 1:
                    key = next((k for k in ("x", names[0], "x_test") if k in members), "x")
                else:
                    key = names
            keys = [key] if isinstance(key, str) else list(key.values()) if isinstance(key, dict) else list(key)
            missing = [k for k in keys if k not in members]
            npz_sizes(f, [k for k in keys if k in members], path)  # headers against sizes, before reading
            if missing:
                has = f"it has {', '.join(members[:10])}" if members else "it holds no arrays"
                wanted = f"{missing[0]!r}" if len(names) != 1 or missing[0] != "x" else f"'x' or {names[0]!r}"
                raise DataError(f"{path}: no array named {wanted} for the model's inputs ({has})")
            if isinstance(key, dict):
                return [np.asarray(f[key[n]]) for n in names] if set(key) == set(names) else [f[k] for k in keys]
            return [np.asarray(f[k]) for k in keys]
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror or type(exc).__name__}") from None
    except (ValueError, EOFError, zipfile.BadZipFile):
        raise DataError(
            f"cannot read {path}: it is not a .npz file of plain numpy arrays (numpy.savez; pickled objects are refused)"
        ) from None


def read_csv(path: str, settings: dict, inputs) -> list:
    """A CSV file with a header row, read by the training loader (tfspec.runtime.csvsource: numpy's
    parser for numbers, sizes checked first): for one input, the feature columns the run's csv
    source names (or all but its label column, which may be absent); for several, the column of
    each input's name. Errors give places, never the file's text."""
    import math

    from .csvsource import load
    from .errors import DataError

    own = settings if settings.get("source") == "csv" else {}
    if len(inputs) != 1:
        (x, _), _ = load(path, features=own.get("features"), inputs=inputs, with_labels=False)
        return list(x)
    name, shape, _ = inputs[0]
    width = math.prod(shape) if shape and None not in shape else None
    header = csv_header(path)
    labels = own.get("label") or []
    labels = [labels] if isinstance(labels, str) else list(labels)
    features = own.get("features")
    if features:
        missing = [c for c in features if c not in header]
        if missing:
            raise DataError(f"{path}: the header row has no column named {missing[0]!r} (a feature column of the run)")
    else:
        features = [c for c in header if c not in labels]
        if not labels and width is not None and len(features) == width + 1:
            features = features[:-1]  # the label column: the last one, as the run's data source reads it
    if width is not None and len(features) != width:
        raise DataError(
            f"{path}: {len(features)} feature column(s); the model's input {name!r} takes {width} values per sample"
        )
    (x, _), _ = load(path, features=features, inputs=inputs, with_labels=False)
    return [x]


def csv_header(path: str) -> list:
    """The names in the header row of a CSV file (the loader judges the rest)."""
    import csv

    from .errors import DataError

    try:
        with open(path, newline="", encoding="utf-8") as handle:
            for row in csv.reader(handle):
                if row:
                    return row
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror or type(exc).__name__}") from None
    except UnicodeDecodeError:
        raise DataError(f"{path}: not a UTF-8 text (CSV) file") from None
    except csv.Error as exc:
        raise DataError(f"{path}: its header row is not valid CSV ({exc})") from None
    raise DataError(f"{path}: expected a header row and at least one data row")


# ---- writing predictions -----------------------------------------------------------------------


def npz_bytes(outputs: dict) -> bytes:
    """A .npz file (as numpy.savez writes it) of one array per output; any output name may be used."""
    import io
    import zipfile

    import numpy as np

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for name, array in outputs.items():
            with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asarray(array), allow_pickle=False)
    return buffer.getvalue()


def class_names(outputs: dict, classes: dict | None) -> dict:
    """{"<output>_class": the most likely class's name per sample} for each output whose classes
    are the run's class names (the label column of its name, or the only one of a one-output model):
    one unit per class (argmax), or one sigmoid unit for two classes (> 0.5)."""
    import numpy as np

    found = {}
    for name, values in outputs.items():
        names = (classes or {}).get(name)
        if names is None and len(outputs) == 1 and len(classes or {}) == 1:
            names = next(iter(classes.values()))
        values = np.asarray(values)
        if not names or values.ndim != 2 or values.dtype.kind != "f":
            continue
        if values.shape[1] == len(names) > 1:
            ids = np.argmax(values, axis=1)
        elif values.shape[1] == 1 and len(names) == 2:
            ids = (values[:, 0] > 0.5).astype(np.int64)
        else:
            continue
        found[f"{name}_class"] = np.asarray(names)[ids]
    return found


def csv_text(outputs: dict) -> str:
    """One row per sample, one column per output unit: name_0, name_1, ... (outputs flattened per
    sample); an array of text (class names) is one column, `name`."""
    import csv
    import io

    import numpy as np

    flat = {name: np.asarray(a).reshape(len(a), -1) for name, a in outputs.items()}
    header = []
    for name, a in flat.items():
        header += [name] if a.dtype.kind in "US" else [f"{name}_{i}" for i in range(a.shape[1])]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    cells = [(lambda v: format(float(v), ".9g")) if a.dtype.kind == "f" else str for a in flat.values()]
    for i in range(len(next(iter(flat.values())))):
        writer.writerow([cell(v) for a, cell in zip(flat.values(), cells) for v in a[i]])
    return out.getvalue()
