"""A point of a search space written back as spec text: the spec without its search section,
each use of a hyperparameter's name in the model and the train section replaced by the point's
value, written as a .tfs literal. `tfspec tune` writes its best point so (best.tfs).

The text is edited in place, at the spans of the names replaced, so its comments and layout are
kept. The search section becomes comment lines: the point, an optional note, and the section as
it was written, commented out. Blocks are not touched (they see hyperparameters only through
their arguments). No TensorFlow here."""

from __future__ import annotations

import json
import math
import numbers
import os

from ..diagnostics import Collector, SpecError
from ..loader import parse, prepared
from .point import at_point
from .space import read_space


def concrete_text(text: str, path: str, point: dict, note: str | None = None, moved_to: str | None = None) -> str:
    """`text` (a spec with a search section) at `point`, as a spec with no search section.
    `moved_to`: the folder the text will be written to; the relative paths of its data files
    (`npz("...")`, `csv("...")` in `data` and `validation`) are then made relative to it."""
    text = prepared(text, path)
    spec, spans = parse(text, path)
    if "search" not in spec:
        raise ValueError(f"{path}: the spec has no search section")
    errors = Collector(path)
    space = read_space(spec["search"], spans, path, errors)
    if errors:
        raise SpecError(errors.items, text)
    missing = [name for name in space.names if name not in point]
    if missing:
        raise ValueError(f"the point gives no value for {', '.join(missing)}")
    point = {name: plain(point[name]) for name in space.names}
    lowered = at_point(spec, point)
    places: list = []
    for key in ("model", "train"):
        _replaced(spec.get(key), lowered.get(key), (key,), places)
    starts = _line_starts(text)
    edits = []
    for where, value in places:
        span = spans.get(where)
        if span is None:
            raise ValueError(f"{path}: no source position for the value at {where}")
        words = literal(value)
        if words.startswith("-") and where[-1] != "repeat":
            words = f"({words})"  # `-units` must not read as `--5`
        edits.append((_offset(starts, span.line, span.column), _offset(starts, span.end_line, span.end_column), words))
    if moved_to is not None:
        for where, value in list(_data_paths(lowered.get("train") or {})):
            if not os.path.isabs(value):
                moved = os.path.relpath(os.path.join(os.path.dirname(os.path.abspath(path)), value), moved_to)
                span = spans.get(where)
                if span is not None and moved != value:
                    begin = _offset(starts, span.line, span.column)
                    edits.append((begin, _offset(starts, span.end_line, span.end_column), literal(moved)))
                    _put(lowered, where, moved)  # what the text must read back as
    section = spans[("search",)]
    begin, end = _offset(starts, section.line, section.column), _offset(starts, section.end_line, section.end_column)
    edits.append((begin, end, _comment_block(text, begin, end, point, note)))
    out = text
    last = len(text) + 1
    for begin, end, words in sorted(edits, reverse=True):
        if end > last:
            raise ValueError(f"{path}: overlapping replacements")  # pragma: no cover - spans do not overlap
        out = out[:begin] + words + out[end:]
        last = begin
    _verify(out, path, lowered)
    return out


def _put(spec: dict, where: tuple, value) -> None:
    """Set the value at `where` in a copy-on-write way: `lowered` shares its parts with `spec`."""
    train = spec["train"] = dict(spec["train"])
    setting = train[where[1]] = dict(train[where[1]])
    if where[2] == "args":
        setting["args"] = [value, *setting["args"][1:]]
    else:
        setting["kwargs"] = {**setting["kwargs"], "path": value}


def _data_paths(train: dict):
    """(path in the spec, value) of each file path a data source of the train section names."""
    for setting in ("data", "validation"):
        value = train.get(setting)
        if isinstance(value, dict) and value.get("call") in ("npz", "csv"):
            if value["args"] and isinstance(value["args"][0], str):
                yield ("train", setting, "args", 0), value["args"][0]
            if isinstance(value["kwargs"].get("path"), str):
                yield ("train", setting, "kwargs", "path"), value["kwargs"]["path"]


def literal(value) -> str:
    """`value` written as a .tfs constant: true/false, a whole number, a float that reads back
    exactly, a double-quoted string."""
    value = plain(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value!r} cannot be written in a spec")
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # its escapes are Python's, which .tfs strings read
    raise TypeError(f"a hyperparameter's value is a number, a string or a boolean, not {type(value).__name__}")


def plain(value):
    """A Python bool, int, float or str for numpy's scalars (what KerasTuner may hand back)."""
    if isinstance(value, (bool, int, float, str)):
        return value
    if type(value).__module__ == "numpy" and hasattr(value, "item"):
        return value.item()  # numpy's bool_, integer and floating scalars as Python's
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    return value


def _replaced(before, after, where: tuple, found: list) -> None:
    """(path, value) of every name that at_point replaced: where `before` holds {"ref": name}
    and `after` the value put there."""
    if isinstance(before, dict):
        if "ref" in before and len(before) == 1:
            if after != before:
                found.append((where, after))
            return
        if isinstance(after, dict):
            for key, value in before.items():
                if key in after:
                    _replaced(value, after[key], where + (key,), found)
    elif isinstance(before, list) and isinstance(after, list):
        for i, (b, a) in enumerate(zip(before, after)):
            _replaced(b, a, where + (i,), found)


def _line_starts(text: str) -> list:
    starts = [0]
    for i, char in enumerate(text):
        if char == "\n":
            starts.append(i + 1)
    return starts


def _offset(starts: list, line: int, column: int) -> int:
    return starts[line - 1] + column - 1


def _comment_block(text: str, begin: int, end: int, point: dict, note: str | None) -> str:
    """The comment lines that stand where the search section was."""
    shown = ", ".join(f"{name} = {literal(value)}" for name, value in point.items())
    lines = [f"# tuned by tfspec tune: {shown}"]
    lines += [f"# {line}".rstrip() for line in (note.splitlines() if note else ())]
    lines.append("# the search space it came from:")
    lines += [f"# {line}".rstrip() for line in text[begin:end].split("\n")]
    line_start = text.rfind("\n", 0, begin) + 1
    before = text[line_start:begin]
    indent = before if not before.strip() else ""
    block = ("\n" + indent).join(lines)
    if before.strip():  # something precedes the section on its first line
        block = "\n" + block
    line_end = text.find("\n", end)
    after = text[end : len(text) if line_end < 0 else line_end].strip()
    if after and not after.startswith("#"):  # something follows it on its last line
        block += "\n"
    return block


def _verify(out: str, path: str, lowered: dict) -> None:
    """The text written must read back as the spec at the point: a check of this module."""
    spec, _ = parse(out, path)
    if spec != lowered:
        raise ValueError(f"{path}: the spec written at the point does not read back as that point (a tfspec bug)")
