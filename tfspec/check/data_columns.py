"""Which columns of a CSV file feed which model input: one rule, read by `check` (from the file's
header row, when the file is there) and by the runtime when it loads the file.

- A model with one input takes every feature column (all but the label columns, or `features`),
  side by side, as it always has.
- A model with several inputs takes one column per input, by name: the input `island` reads the
  column `island`. Other columns are not read. With `features`, an input's column must be one of them.

Pure Python: no numpy, no TensorFlow (this is the compile path).
"""

from __future__ import annotations

import csv
import os

HEADER_LIMIT = 1 << 20  # bytes of a header row `check` reads at most


class ColumnProblem(Exception):
    """The columns of a CSV file do not fit the model's inputs: a message and a hint."""

    def __init__(self, message: str, hint: str, input_name: str | None = None):
        super().__init__(message)
        self.message, self.hint, self.input_name = message, hint, input_name


def label_columns(header: list, label) -> list:
    """The label column names: `label` (a name or a list), by default the last column."""
    if isinstance(label, str):
        return [label]
    if label:
        return list(label)
    return header[-1:]


def input_columns(header: list, labels: list, features, inputs: list) -> dict:
    """{input name: [column names]} for `inputs` (names, in the model's order; [] or [None] when
    unknown), or a ColumnProblem naming the first input without its column."""
    available = list(features) if features else [c for c in header if c not in labels]
    if len(inputs) <= 1:
        return {inputs[0] if inputs else None: available}
    found = {}
    for name in inputs:
        if name in labels:
            raise ColumnProblem(
                f"input {name!r} is named like a label column of the file",
                "rename the input, or choose other label columns with label=",
                name,
            )
        if features and name not in features:
            raise ColumnProblem(
                f"input {name!r} reads the column of its name (a model with several inputs reads one column per "
                "input, by name), which features= leaves out",
                f"add {name!r} to features, or leave features out",
                name,
            )
        if name not in header:
            # the hint does not list the columns: messages never quote a data file's text
            raise ColumnProblem(
                f"input {name!r} has no column of its name in the file (a model with several inputs reads "
                "one column per input, by name)",
                f"name each input like its column (the header row has {len(header)} column"
                f"{'s' if len(header) != 1 else ''}), or rename the column",
                name,
            )
        found[name] = [name]
    return found


def header_row(path: str) -> list | None:
    """The names in the header row of a CSV file (its first line that is not empty, as the runtime
    reads it), or None when that cannot be read (missing, not UTF-8, too long): `check` then says
    nothing and the runtime names the problem."""
    if not os.path.isfile(path):
        return None  # missing, a folder, a pipe (which would block)
    try:
        with open(path, "rb") as handle:
            raw = handle.read(HEADER_LIMIT)
    except (OSError, ValueError):  # missing, a folder, unreadable; a NUL byte in the path
        return None
    lines = raw.split(b"\n")
    for i, line in enumerate(lines):
        if not line.strip(b"\r"):
            continue
        if i == len(lines) - 1 and len(raw) == HEADER_LIMIT:
            return None  # cut short
        try:
            text = line.decode("utf-8-sig" if i == 0 else "utf-8").rstrip("\r")
            return next(csv.reader([text]))
        except (UnicodeDecodeError, csv.Error, StopIteration):
            return None
    return None


def spec_file(spec_path: str, data_path: str) -> str | None:
    """Where the runtime looks for a data file named in a spec (relative to the spec's folder), or
    None for a spec that is not a file."""
    if os.path.isabs(data_path):
        return data_path
    if not spec_path or spec_path.startswith("<") or not os.path.isfile(spec_path):
        return None
    return os.path.join(os.path.dirname(os.path.abspath(spec_path)), data_path)


def check_columns(checker, training: dict, model) -> None:
    """E608 where a CSV source's columns cannot feed the model's inputs: from the file's header row
    when the file is there, else from `features` alone (`checker`: the TrainingChecker)."""
    names = [i.name for i in model.inputs]
    for key, where in (("data", ("train", "data")), ("validation_data", ("train", "validation"))):
        source = training.get(key)
        if not isinstance(source, dict) or source.get("source") != "csv" or len(names) < 2:
            continue
        path, label, features = source.get("path"), source.get("label"), source.get("features")
        file = spec_file(checker.path, path) if isinstance(path, str) else None
        header = header_row(file) if file else None
        if header is None and not features:
            continue  # nothing known yet: the runtime reads the file and says
        if header is None:
            labels = [label] if isinstance(label, str) else list(label or [])
            header = list(features) + labels
        else:
            labels = label_columns(header, label)
        try:
            input_columns(header, labels, features, names)
        except ColumnProblem as e:
            checker.error("E608", f"{path}: {e.message}", where, e.hint)
