"""CSV files: a header row, then numbers (load_csv), or columns of text too (read_columns).

Numbers only: the body is parsed by numpy's C parser (`np.loadtxt`) a chunk of lines at a time, straight into
preallocated float32 features and float64 labels (a 73 MB file: ~90 MB/s instead of the csv
module's ~14 MB/s, and a sixth of its extra memory). The csv module is the reference: when numpy
refuses a chunk, that chunk is read again with it, which either finds the first bad line (and the
error names it) or accepts what numpy would not (quoted values, underscores in numbers). Errors
give line numbers, never the file's text. A file whose parsed table cannot fit in memory is
refused before it is read; with `limit`, only about that many rows are read.

With columns of text (an input declared as a string, class names as labels) the csv module reads
the rows (quoted commas, quotes and line breaks inside values), keeping only the columns asked
for; an empty value is a missing one, refused with its line and column, as is a number column's
value that is not a finite number. Which columns feed which input is tfspec.runtime.csvsource's.
"""

import csv
import io
import os
import warnings

import numpy as np

from . import resources
from .errors import DataError

CHUNK = 16 << 20  # bytes of the file parsed at a time
MAX_LINE = 64 << 20  # a longer line is not a row of numbers
SAMPLE = 1 << 20  # bytes read ahead to estimate the number of rows
FIELD_LIMIT = csv.field_size_limit()


def load_csv(path, label=None, features=None, limit=None, *, with_labels=True):
    """(x float32 (n, features), y (n,) or (n, labels): int64 when every label is a whole number,
    else float32) from the CSV file at `path`; `label` defaults to the last column; at most `limit` rows.
    `with_labels=False` reads only the feature columns (all of them by default; y has no columns)."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        header, header_line = _header(f, path)
        labels = [label] if isinstance(label, str) else list(label) if label else [header[-1]]
        labels = labels if with_labels else []
        features = list(features) if features else [c for c in header if c not in labels]
        need_columns(path, header, labels, "label")
        need_columns(path, header, features, "feature")
        column = {name: i for i, name in enumerate(header)}
        reader = _Body(f, path, header_line, len(header), [column[c] for c in features], [column[c] for c in labels])
        x, y = reader.read(limit, reader.check_memory(size, limit))
    y = y[:, 0] if len(labels) == 1 else y
    if np.all(y == np.round(y)):
        return x, y.astype(np.int64)
    with np.errstate(over="ignore"):
        return x, y.astype(np.float32)


def need_columns(path, header, names, kind):
    """Refuse `names` (the `kind` columns asked for) that the header row does not have."""
    missing = [c for c in names if c not in header]
    if missing:
        raise DataError(
            f"{path}: the header row has {len(header)} column{'s' if len(header) != 1 else ''} and none is named "
            f"{missing[0]!r} (the {kind} column asked for)"
        )


def _header(f, path):
    """The header row (the first line that is not empty) and its line number."""
    line = 0
    while True:
        raw, line = _line(f, path, line + 1), line + 1
        if not raw:
            raise DataError(f"{path}: expected a header row and at least one data row")
        if raw.strip(b"\r\n"):
            break
    text = _decode(raw, path, line, "utf-8-sig" if line == 1 else "utf-8")
    try:
        return next(csv.reader([text.rstrip("\r\n")])), line
    except csv.Error as e:
        raise _csv_error(e, path, line) from None


def _line(f, path, number):
    raw = f.readline(MAX_LINE + 1)
    if len(raw) > MAX_LINE:
        raise DataError(
            f"{path}: line {number} is over {MAX_LINE >> 20} MiB long: not a table of numbers (a CSV file needs "
            "a header row and one line per sample)"
        )
    return raw


def _decode(data, path, first_line, encoding="utf-8"):
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as e:
        line = first_line + data.count(b"\n", 0, e.start)
        byte = e.start - data.rfind(b"\n", 0, e.start)  # 1-based, within its line
        utf16 = first_line == 1 and data[:2] in (b"\xff\xfe", b"\xfe\xff")  # Excel's "Unicode text"
        source, name = ("utf-16", "UTF-16") if utf16 else ("latin1", "Latin-1")
        raise DataError(
            f"{path}: not a UTF-8 text (CSV) file: line {line} has a byte that is not UTF-8 (byte {byte} of the "
            f"line); save it again as UTF-8, e.g. `iconv -f {source} -t utf-8 {os.path.basename(path)} > utf8.csv` "
            f"for a {name} file"
        ) from None


def _csv_error(e, path, line):
    if "field larger than field limit" in str(e):
        return DataError(
            f"{path}: line {line} has a field over {FIELD_LIMIT:,} characters (the csv module's limit): not a "
            "table of numbers; check that values are separated by commas and that quotes are closed"
        )
    return DataError(f"{path}: line {line} is not valid CSV ({e}); values are separated by commas, one row a line")


class _Body:
    """The rows after the header: memory estimate, then a chunked parse into preallocated arrays."""

    def __init__(self, f, path, header_line, n_columns, x_columns, y_columns):
        self.f, self.path, self.n_columns = f, path, n_columns
        self.x_columns, self.y_columns = x_columns, y_columns
        self.start, self.first_line = f.tell(), header_line + 1
        self.bad, self.first_bad = 0, None  # non-finite values, and (line, column) of the first
        self.chunk = CHUNK

    def check_memory(self, size, limit):
        """Refuse, from the file's size and its first rows, a table that cannot fit in memory; returns
        the estimated number of rows (exact for a file shorter than the sample)."""
        sample = self.f.read(SAMPLE)
        self.f.seek(self.start)
        if not sample:
            raise DataError(f"{self.path}: expected a header row and at least one data row")
        if len(sample) == SAMPLE:  # part of the file: rows in proportion to its size
            sample = sample[: sample.rfind(b"\n") + 1] or sample
            row_bytes = len(sample) / max(1, sample.count(b"\n"))
            rows = int((size - self.start) / row_bytes)
        else:
            rows = max(sample.count(b"\n"), sample.count(b"\r")) + (not sample.endswith((b"\n", b"\r")))
            row_bytes = len(sample) / max(1, rows)
        if limit and limit < rows:  # read about as much of the file as the rows asked for
            self.chunk = min(CHUNK, max(1 << 16, int(2 * limit * row_bytes)))
            rows = limit
        per_row = 4 * len(self.x_columns) + 16 * len(self.y_columns)  # float32 x; float64 y, then its final dtype
        resources.require_memory(
            rows * per_row + 6 * min(self.chunk, size),  # the arrays, and a chunk's text, lines and values
            f"{self.path}: this {resources.gib(size)} CSV file (about {rows:,} rows of {self.n_columns} columns), "
            "parsed,",
            "read fewer rows with limit=N, or save the arrays once as an .npz file (numpy.savez; compact dtypes such "
            "as uint8 features stay small), which loads without parsing",
        )
        return rows

    def read(self, limit, rows):
        """Parse the body, chunk by chunk, into arrays sized for `rows` (grown if there are more)."""
        capacity = rows + rows // 8 + 1024
        capacity = min(capacity, limit) if limit else capacity
        x = np.empty((capacity, len(self.x_columns)), np.float32)
        y = np.empty((capacity, len(self.y_columns)), np.float64)
        x_take, y_take = _columns(self.x_columns), _columns(self.y_columns)
        filled, line = 0, self.first_line
        while not limit or filled < limit:
            data = self.f.read(self.chunk)
            if not data:
                break
            breaks = data.count(b"\n")
            if not data.endswith(b"\n"):  # finish the last line
                rest = _line(self.f, self.path, line + breaks)
                data, breaks = data + rest, breaks + rest.endswith(b"\n")
            text = _decode(data, self.path, line)
            block = self._parse(text, line)
            if limit:
                block = block[: limit - filled]
            end = filled + len(block)
            if end > capacity:  # more rows than estimated (short lines further on)
                capacity = max(end, capacity + capacity // 2)
                capacity = min(capacity, limit) if limit else capacity
                x.resize((capacity, x.shape[1]), refcheck=False)
                y.resize((capacity, y.shape[1]), refcheck=False)
            with np.errstate(over="ignore"):  # beyond float32's range: counted below
                x[filled:end] = block[:, x_take]
            y[filled:end] = block[:, y_take]
            self._count_non_finite(x[filled:end], y[filled:end], text, line)
            filled, line = end, line + breaks
        if not filled:
            raise DataError(f"{self.path}: expected a header row and at least one data row")
        if self.bad:
            where = "on line {}, column {}".format(*self.first_bad)
            raise DataError(
                f"{self.path}: {self.bad} value{' is' if self.bad == 1 else 's are'} not finite (NaN/Inf, or beyond "
                f"float32's range); the first is {where}"
            )
        if filled < capacity:  # give back what the estimate reserved, in place
            x.resize((filled, x.shape[1]), refcheck=False)
            y.resize((filled, y.shape[1]), refcheck=False)
        return x, y

    def _parse(self, text, line):
        """A chunk's rows as float64 (rows, columns), by numpy if it can, else by the csv module."""
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # "input contained no data" for a chunk of blank lines
                block = np.loadtxt(
                    text.split("\n"), delimiter=",", dtype=np.float64, comments=None, ndmin=2, quotechar='"'
                )
            if block.size == 0:
                return block.reshape(0, self.n_columns)
            if block.shape[1] == self.n_columns:
                return block
        except ValueError:
            pass
        return self._parse_slowly(text, line)[0]

    def _parse_slowly(self, text, first_line):
        """(values, line of each row) with the csv module and float(); a DataError at the first bad line."""
        reader = csv.reader(io.StringIO(text, newline=""))
        values, lines = [], []
        try:
            for row in reader:
                if not row:
                    continue
                line = first_line + reader.line_num - 1
                if len(row) != self.n_columns:
                    raise DataError(
                        f"{self.path}: line {line} has {len(row)} values; the header row has {self.n_columns} columns"
                    )
                try:
                    values.append([float(cell) for cell in row])
                except ValueError:
                    column = next(i for i, cell in enumerate(row, start=1) if not is_number(cell))
                    what = "is empty (a missing value)" if not row[column - 1].strip() else "is not a number"
                    raise DataError(
                        f"{self.path}: fill in or drop rows with missing values, and give a column of text to a "
                        "model input of its name declared as a string (input name: string[1]); the other columns "
                        f"are read as numbers: every value must be numeric; line {line}, column {column} {what}"
                    ) from None
                lines.append(line)
        except csv.Error as e:
            raise _csv_error(e, self.path, first_line + reader.line_num - 1) from None
        return np.array(values, np.float64).reshape(-1, self.n_columns), lines

    def _count_non_finite(self, x, y, text, line):
        """Add up the values that are not finite in float32 (what trains); the first one's line is
        found by reading its chunk again with the csv module."""
        with np.errstate(over="ignore"):
            y = y.astype(np.float32)
        if np.isfinite(x).all() and np.isfinite(y).all():
            return
        bad = np.concatenate([~np.isfinite(x), ~np.isfinite(y)], axis=1)
        self.bad += int(np.count_nonzero(bad))
        if self.first_bad is None:
            row = int(np.argmax(bad.any(axis=1)))
            columns = np.array(self.x_columns + self.y_columns)
            _, lines = self._parse_slowly(text, line)
            self.first_bad = (lines[row], int(columns[bad[row]].min()) + 1)


def _columns(indices):
    """A slice for consecutive column indices (a view, no gather), else the list."""
    if indices and indices == list(range(indices[0], indices[-1] + 1)):
        return slice(indices[0], indices[-1] + 1)
    return indices


def is_number(cell):
    try:
        float(cell)
    except ValueError:
        return False
    return True


# ---------------------------------------------------------------- columns of text


def header_of(path):
    """The names in the header row of the CSV file at `path`."""
    with open(path, "rb") as f:
        return _header(f, path)[0]


def first_row(path):
    """The first data row (a list of strings; a quoted value may span lines), or None when the file
    has none."""
    with open(path, "rb") as f:
        header, header_line = _header(f, path)
        cells, _ = _rows(f, path, header_line, len(header), range(len(header)), 1)
    return cells[0] if cells else None


def read_columns(path, numbers=(), texts=(), limit=None):
    """({column: array}, [line of each row]): the named columns of a CSV file, read with the csv
    module (quoted values, commas and line breaks inside them): float64 for `numbers`, object arrays
    of str for `texts`; at most `limit` rows. Every value read must be there (an empty one is a
    missing value) and every number finite: a DataError names the line and column of the first that
    is not, never the file's text."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        header, header_line = _header(f, path)
        column = {name: i for i, name in enumerate(header)}
        wanted = list(dict.fromkeys([*numbers, *texts]))
        missing = [c for c in wanted if c not in column]
        if missing:
            raise DataError(f"{path}: the header row has no column named {missing[0]!r}")
        start = f.tell()
        sample = f.read(SAMPLE)
        rows = max(1, sample.count(b"\n")) * max(1, (size - start) // max(1, len(sample)))
        rows = min(rows, limit) if limit else rows
        resources.require_memory(
            3 * (size - start) + rows * (len(wanted) * 64 + 8),  # the text, one str or float per value
            f"{path}: this {resources.gib(size)} CSV file (about {rows:,} rows of {len(header)} columns), read as "
            "text,",
            "read fewer rows with limit=N",
        )
        f.seek(start)
        cells, lines = _rows(f, path, header_line, len(header), [column[c] for c in wanted], limit)
    if not lines:
        raise DataError(f"{path}: expected a header row and at least one data row")
    out = {}
    for k, name in enumerate(wanted):
        values = [row[k] for row in cells]
        number = column[name] + 1
        if name in texts:
            empty = next((i for i, v in enumerate(values) if not v), None)
            if empty is not None:
                raise DataError(_missing(path, lines[empty], number, name))
            out[name] = np.array(values, dtype=object)
        else:
            out[name] = _numbers(values, path, lines, number, name)
    return out, lines


def _rows(f, path, header_line, n_columns, indices, limit):
    """([row of the wanted values], [first line of each row]) from the body of an open file."""
    stream = io.TextIOWrapper(f, encoding="utf-8", newline="")
    reader = csv.reader(stream)
    cells, lines, done = [], [], header_line
    try:
        for row in reader:
            first, done = done + 1, header_line + reader.line_num
            if not row:
                continue  # a blank line
            if len(row) != n_columns:
                raise DataError(f"{path}: line {first} has {len(row)} values; the header row has {n_columns} columns")
            cells.append([row[i] for i in indices])
            lines.append(first)
            if limit and len(lines) >= limit:
                break
    except csv.Error as e:
        raise _csv_error(e, path, header_line + reader.line_num) from None
    except UnicodeDecodeError:
        f.seek(0)
        _bad_byte(f, path)
    finally:
        stream.detach()
    return cells, lines


def _bad_byte(f, path):
    """Raise the DataError that names the line of the first byte that is not UTF-8."""
    line = 1
    while data := f.read(CHUNK):
        if not data.endswith(b"\n"):
            data += f.readline()
        _decode(data, path, line, "utf-8-sig" if line == 1 else "utf-8")
        line += data.count(b"\n")
    raise DataError(f"{path}: not a UTF-8 text (CSV) file")


def _missing(path, line, number, name):
    return (
        f"{path}: line {line}, column {number} ({name!r}) is empty (a missing value); fill in or drop such rows "
        "before training"
    )


TEXT_HINT = "a column of text feeds a model input of its name declared as a string (input name: string[1])"


def _numbers(values, path, lines, number, name, hint=TEXT_HINT):
    """float64 of the strings `values` of one column; a DataError at the first that is not a finite number."""
    try:
        out = np.array(values, dtype=np.float64)
    except ValueError:
        out = None
    if out is None or not np.isfinite(out).all():
        for i, v in enumerate(values):
            if not v.strip():
                raise DataError(_missing(path, lines[i], number, name))
            if not is_number(v):
                raise DataError(f"{path}: line {lines[i]}, column {number} ({name!r}) is not a number; {hint}")
            if not np.isfinite(float(v)):
                raise DataError(
                    f"{path}: line {lines[i]}, column {number} ({name!r}) is not finite (NaN/Inf); clean or drop "
                    "such rows before training"
                )
    return out


# ---------------------------------------------------------------- labels


def labels_of(values, path, lines, number, name, classes=None):
    """(labels, class names or None) of one label column read as text: numbers when its first
    value is one (int64 when all are whole, else float32), else class names, numbered 0.. in sorted
    order (or in the order of `classes`, the names a trained model knows)."""
    if classes is None and len(values) and is_number(values[0]):
        hint = "the first row's label is a number, so every label must be one (or all of them class names)"
        y = _numbers(values, path, lines, number, name, hint)
        return (y.astype(np.int64) if np.all(y == np.round(y)) else y.astype(np.float32)), None
    for i, v in enumerate(values):
        if not v:
            raise DataError(_missing(path, lines[i], number, name))
    names = sorted(set(values)) if classes is None else list(classes)
    index = {v: i for i, v in enumerate(names)}
    ids = np.fromiter((index.get(v, -1) for v in values), np.int64, len(values))
    if classes is not None and (ids < 0).any():
        i = int(np.argmax(ids < 0))
        shown = ", ".join(map(str, names[:10])) + (" ..." if len(names) > 10 else "")
        raise DataError(
            f"{path}: line {lines[i]}, column {number} ({name!r}) holds a class the model was not trained on "
            f"(it knows {len(names)}: {shown})"
        )
    return ids, names
