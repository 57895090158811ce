"""CSV sources: a header row, then numbers.

The body is parsed by numpy's C parser (`np.loadtxt`) a chunk of lines at a time, straight into
preallocated float32 features and float64 labels (a 73 MB file: ~90 MB/s instead of the csv
module's ~14 MB/s, and a sixth of its extra memory). The csv module is the reference: when numpy
refuses a chunk, that chunk is read again with it, which either finds the first bad line (and the
error names it) or accepts what numpy would not (quoted values, underscores in numbers). Errors
give line numbers, never the file's text. A file whose parsed table cannot fit in memory is
refused before it is read; with `limit`, only about that many rows are read.
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
        for kind, names in (("label", labels), ("feature", features)):
            missing = [c for c in names if c not in header]
            if missing:
                raise DataError(
                    f"{path}: the header row has {len(header)} column{'s' if len(header) != 1 else ''} and none "
                    f"is named {missing[0]!r} (the {kind} column asked for)"
                )
        column = {name: i for i, name in enumerate(header)}
        reader = _Body(f, path, header_line, len(header), [column[c] for c in features], [column[c] for c in labels])
        x, y = reader.read(limit, reader.check_memory(size, limit))
    y = y[:, 0] if len(labels) == 1 else y
    if np.all(y == np.round(y)):
        return x, y.astype(np.int64)
    with np.errstate(over="ignore"):
        return x, y.astype(np.float32)


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
                    column = next(i for i, cell in enumerate(row, start=1) if not _is_number(cell))
                    raise DataError(
                        f"{self.path}: encode text columns as numbers before training: every value must be "
                        f"numeric; line {line}, column {column} is not a number"
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


def _is_number(cell):
    try:
        float(cell)
    except ValueError:
        return False
    return True
