"""A CSV data source fed to a model: which columns feed which input (tfspec.check.data_columns,
the rule `check` applies too), each read as numbers or as text, and labels that are numbers or
class names.

An all-numeric selection with numeric labels takes csvfile's fast path (numpy's parser), as it
always has; a column of text (for an input declared as a string) or class names as labels take
the csv module's path. Class names are numbered 0.. in sorted order, or in the order a trained
model recorded (`classes`), so that the same name is always the same class.
"""

import numpy as np

from ..check.data_columns import ColumnProblem, input_columns, label_columns
from . import csvfile
from .errors import DataError


def is_string(dtype):
    """Whether an input's dtype (a spec's "string", or a Keras/TensorFlow dtype) holds text."""
    return dtype is not None and str(getattr(dtype, "name", dtype)) in ("string", "str")


def load(path, label=None, features=None, limit=None, *, inputs=None, classes=None, with_labels=True):
    """((x, y), {label column: class names}) from the CSV file at `path`.

    `inputs`: the model's [(name, shape, dtype)] when known. One input (or unknown): x is every
    feature column side by side, (samples, columns), text for a string input; several inputs: x is
    {input name: its column}. y as csvfile.load_csv gives it, class names numbered (none without
    labels: `with_labels=False`)."""
    header = csvfile.header_of(path)
    labels = label_columns(header, label) if with_labels else []
    csvfile.need_columns(path, header, labels, "label")
    csvfile.need_columns(path, header, features or [], "feature")
    names = [name for name, _, _ in inputs or []]
    try:
        mapping = input_columns(header, labels, features, names)
    except ColumnProblem as e:
        raise DataError(f"{path}: {e.message}; {e.hint}") from None
    strings = {name for name, _, dtype in inputs or [] if is_string(dtype)}
    columns = [c for cols in mapping.values() for c in cols]
    texts = list(dict.fromkeys(c for name, cols in mapping.items() if name in strings for c in cols))
    classes = classes or {}
    row = csvfile.first_row(path) if labels else None
    named = [c for c in labels if c in classes or (row and not csvfile.is_number(row[header.index(c)]))]
    if not texts and not named:  # numbers only: the fast path
        x, y = csvfile.load_csv(path, labels or None, columns, limit, with_labels=bool(labels))
        parts = {name: x[:, [columns.index(c) for c in cols]] for name, cols in mapping.items()}
        return (_inputs(parts, mapping), y), {}
    numbers = [c for c in columns if c not in texts]
    values, lines = csvfile.read_columns(path, numbers, [*texts, *labels], limit)
    parts = {name: np.stack([values[c] for c in cols], axis=1) for name, cols in mapping.items()}
    if len(parts) == 1 and next(iter(mapping)) not in strings:  # one input's features: float32, as the fast path
        parts = {name: a.astype(np.float32) for name, a in parts.items()}
    found, ys = {}, []
    for c in labels:
        ids, names_of = csvfile.labels_of(values[c], path, lines, header.index(c) + 1, c, classes.get(c))
        if names_of is not None:
            found[c] = names_of
        ys.append(ids)
    y = ys[0] if len(ys) == 1 else np.stack(ys, axis=1) if ys else np.zeros((len(lines), 0), np.float32)
    if y.dtype == np.float64:
        y = y.astype(np.int64) if np.all(y == np.round(y)) else y.astype(np.float32)
    return (_inputs(parts, mapping), y), found


def _inputs(parts, mapping):
    """x for the model: one array (samples, columns) for one input, else a tuple of each input's
    column in the model's input order (what every style takes; a subclassed model does not read
    a dict by name)."""
    if len(mapping) == 1:
        return next(iter(parts.values()))
    return tuple(np.ascontiguousarray(parts[name][:, 0]) for name in mapping)
