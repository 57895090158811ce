"""Argument types of the train catalog (tfspec.check.train_catalog).

Each type knows how to judge a value (a message, or None when it is fine), its JSON Schema, and
sample values: `good` ones that `check` and the runtime both accept and `bad` ones that `check`
refuses. tests/test_train_catalog.py walks every argument of every entry with those samples, so
what `check` accepts is proven to construct in Keras (or in tfspec's runtime).

Values are plain data as the spec gives them (ints, floats, strings, booleans, None, lists and
tuples). `float` arguments take ints too (`learning_rate=1`); `plain` turns them into floats for
Keras, whose optimizers refuse an int learning rate.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from ..ir.values import show


@dataclass(frozen=True)
class ArgType:
    name: str  # what a value must be, in words: "a number > 0"
    judge: Callable = field(compare=False)  # value -> message or None
    good: tuple = ()
    bad: tuple = ()
    schema: dict = field(default_factory=dict, compare=False)
    to_float: bool = False
    item: "ArgType | None" = None  # a list's item type
    kind: str = ""  # the kind of problem it reports ("path": E603), if not type/range

    def check(self, value) -> str | None:
        return self.judge(value)

    def plain(self, value):
        """The value as the runtime hands it to Keras."""
        if self.to_float and _is_number(value):
            return float(value)
        if self.item is not None and isinstance(value, (list, tuple)):
            return [self.item.plain(x) for x in value]
        return value


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _bounds_text(low, high, low_open, high_open) -> str:
    parts = []
    if low is not None:
        parts.append(f"{'>' if low_open else '≥'} {show(low)}")
    if high is not None:
        parts.append(f"{'<' if high_open else '≤'} {show(high)}")
    return " and ".join(parts)


def _range_problem(v, low, high, low_open, high_open) -> str | None:
    """The bound `v` breaks, in words (only that side: `k must be ≥ 1`), or None."""
    if low is not None and (v < low or (low_open and v == low)):
        return f"must be {'>' if low_open else '≥'} {show(low)}, got {show(v)}"
    if high is not None and (v > high or (high_open and v == high)):
        return f"must be {'<' if high_open else '≤'} {show(high)}, got {show(v)}"
    return None


def number(low=None, high=None, *, low_open=False, high_open=False, good=None) -> ArgType:
    """A finite number (ints accepted, handed to Keras as floats) within the bounds."""

    def judge(v):
        if not _is_number(v):
            return f"expected a number, got {show(v)}"
        if not math.isfinite(v):
            return f"must be a finite number, got {show(v)}"
        return _range_problem(v, low, high, low_open, high_open)

    bounds = _bounds_text(low, high, low_open, high_open)
    if good is None:
        good = _samples(low, high, low_open, high_open, integral=False)
    bad = ["x", True, 1e999]
    if low is not None:
        bad.append(low - 1 if not low_open else low)
    if high is not None:
        bad.append(high + 1 if not high_open else high)
    schema = {"type": "number"}
    if low is not None:
        schema["exclusiveMinimum" if low_open else "minimum"] = low
    if high is not None:
        schema["exclusiveMaximum" if high_open else "maximum"] = high
    return ArgType(f"a number {bounds}".strip(), judge, tuple(good), tuple(bad), schema, to_float=True)


def integer(low=None, high=None, *, good=None) -> ArgType:
    def judge(v):
        if not _is_int(v):
            return f"expected an integer, got {show(v)}"
        return _range_problem(v, low, high, False, False)

    # an int32 ceiling is Keras's, not a choice anyone makes: the name leaves it out
    bounds = _bounds_text(low, high if high is not None and high < 2**31 - 1 else None, False, False)
    if good is None:
        good = _samples(low, high, False, False, integral=True)
    bad = ["x", 1.5, True]
    if low is not None:
        bad.append(low - 1)
    if high is not None:
        bad.append(high + 1)
    schema = {"type": "integer"}
    if low is not None:
        schema["minimum"] = low
    if high is not None:
        schema["maximum"] = high
    return ArgType(f"an integer {bounds}".strip(), judge, tuple(good), tuple(bad), schema)


def _samples(low, high, low_open, high_open, integral):
    """A few values inside the bounds: the closed ends and one between."""
    out = []
    if low is not None and not low_open:
        out.append(low)
    if high is not None and not high_open:
        out.append(high)
    if low is not None and high is not None:
        out.append((low + high) // 2 if integral else (low + high) / 2)
    elif low is not None:
        out.append(low + (2 if integral else 0.5))
    elif high is not None:
        out.append(high - (2 if integral else 0.5))
    else:
        out.append(1 if integral else 0.5)
    return [v for i, v in enumerate(out) if v not in out[:i]]


def _bool(v):
    return None if isinstance(v, bool) else f"expected True or False, got {show(v)}"


BOOL = ArgType("True or False", _bool, (True, False), (1, "yes", None), {"type": "boolean"})


def text(*, good=("x",), nonempty=True, length=None) -> ArgType:
    def judge(v):
        if not isinstance(v, str):
            return f"expected a string, got {show(v)}"
        if nonempty and not v:
            return "must not be empty"
        if length is not None and len(v) != length:
            return f"must be {length} character{'s' if length != 1 else ''} long, got {show(v)}"
        return None

    bad = (1, None, True) + (("",) if nonempty else ())
    name = "a string" if length is None else f"a string of {length} character{'s' if length != 1 else ''}"
    return ArgType(name, judge, tuple(good), bad, {"type": "string"})


def choice(*options) -> ArgType:
    def judge(v):
        if isinstance(v, str) and v in options:
            return None
        return f"expected one of {', '.join(show(o) for o in options)}; got {show(v)}"

    return ArgType(
        "one of " + ", ".join(show(o) for o in options),
        judge,
        tuple(options),
        ("nope", 1, None),
        {"enum": list(options)},
    )


def optional(inner: ArgType) -> ArgType:
    """`inner` or None."""

    def judge(v):
        return None if v is None else inner.check(v)

    return ArgType(
        f"{inner.name}, or None",
        judge,
        inner.good + (None,),
        tuple(b for b in inner.bad if b is not None),
        {"anyOf": [inner.schema, {"type": "null"}]},
        to_float=inner.to_float,
        item=inner.item,
    )


def either(*types: ArgType, good=None) -> ArgType:
    def judge(v):
        problems = [t.check(v) for t in types]
        if any(p is None for p in problems):
            return None
        return f"expected {' or '.join(t.name for t in types)}, got {show(v)}"

    good = good if good is not None else tuple(g for t in types for g in t.good[:1])
    bad = tuple(b for t in types for b in t.bad if all(u.check(b) for u in types))
    item = next((t.item for t in types if t.item is not None), None)
    return ArgType(
        " or ".join(t.name for t in types),
        judge,
        good,
        bad,
        {"anyOf": [t.schema for t in types]},
        to_float=any(t.to_float for t in types),
        item=item,
    )


def list_of(item: ArgType, *, min_items=1, increasing=False, good=None) -> ArgType:
    """A list (or tuple) of items; `increasing`: each larger than the one before."""

    def judge(v):
        if not isinstance(v, (list, tuple)):
            return f"expected a list, got {show(v)}"
        if len(v) < min_items:
            return f"needs at least {min_items} item{'s' if min_items != 1 else ''}, got {show(v)}"
        for x in v:
            problem = item.check(x)
            if problem:
                return f"item {show(x)}: {problem}"
        if increasing and any(b <= a for a, b in zip(v, v[1:])):
            return f"must be increasing, got {show(v)}"
        return None

    if good is None:
        good = (list(item.good[:2]) if len(item.good) >= min_items else [item.good[0]] * min_items,)
        if increasing:
            good = ([item.good[0]],)
    bad = ("x", [item.bad[0]] if item.bad else None)
    bad = tuple(b for b in bad if b is not None) + (([],) if min_items else ())
    schema = {"type": "array", "items": item.schema, "minItems": min_items}
    return ArgType(f"a list of {item.name}", judge, tuple(good), bad, schema, item=item)


def run_path(*, good, template=False) -> ArgType:
    """A path the run writes, relative to the run folder and inside it (tfspec.files decides);
    `template`: a ModelCheckpoint file-name template ({epoch}, logged names)."""
    from ..files import path_problem, template_problem

    def judge(v):
        if not isinstance(v, str):
            return f"must be a string, got {show(v)}"
        return path_problem(v, callback=True) or (template_problem(v) if template else None)

    bad = ("", "/abs/x", "../x", 3) + (("m-{0}.keras",) if template else ())
    return ArgType("a path inside the run folder", judge, tuple(good), bad, {"type": "string"}, kind="path")
