"""The hyperparameters of a `search { ... }` section, checked, and the points worth checking.

    search {
        units   = choice(64, 128, 256)            # one of the values (numbers, strings or booleans)
        depth   = int(1, 3)                       # a whole number from 1 to 3; step=, log=true
        rate    = float(0.1, 0.5, step=0.1)       # a number from 0.1 to 0.5; step=, log=true
        lr      = float(1e-4, 1e-2, log=true)
        batchnorm = boolean()
    }

Each may take `default=`; otherwise the default is KerasTuner's: the first choice, the low end
of a range, False. A name means one hyperparameter wherever the model, a block argument, a
repetition count or the train section uses it."""

from __future__ import annotations

import itertools
import keyword
import math
from dataclasses import dataclass

from ..diagnostics import Collector, Span

KINDS = ("choice", "int", "float", "boolean")
EXAMPLES = {
    "choice": "choice(32, 64, 128)",
    "int": "int(1, 4)",
    "float": "float(1e-4, 1e-2, log=true)",
    "boolean": "boolean()",
}
KEYWORDS = {"choice": ("default",), "int": ("step", "log", "default"), "float": ("step", "log", "default")}
KEYWORDS["boolean"] = ("default",)
MAX_CHOICES = 64


@dataclass(frozen=True)
class Hyper:
    """One hyperparameter: `values` for a choice; `low`, `high`, `step`, `log` for a range."""

    name: str
    kind: str
    default: object
    span: Span
    values: tuple = ()
    low: float = 0
    high: float = 0
    step: float | None = None
    log: bool = False

    def finite(self) -> tuple | None:
        """Every value it can take, in order; None for a float range without a step."""
        if self.kind == "choice":
            return self.values
        if self.kind == "boolean":
            return (False, True)
        if self.kind == "int":
            if self.log and self.step:  # KerasTuner's log step is a factor
                out, v = [], self.low
                factor = self.step
                while v <= self.high:
                    out.append(v)
                    v *= factor
                return tuple(out)
            return tuple(range(self.low, self.high + 1, self.step or 1))
        if self.step is None:
            return None
        count = int(math.floor((self.high - self.low) / self.step + 1e-9)) + 1
        return tuple(round(self.low + k * self.step, 12) for k in range(count))

    def ends(self) -> tuple:
        """The values worth checking statically: every choice, or the two ends of a range."""
        values = self.finite()
        if values is not None and (self.kind in ("choice", "boolean") or len(values) <= 2):
            return values
        if values is not None:
            return (values[0], values[-1])
        return (self.low, self.high)

    def describe(self) -> str:
        if self.kind == "choice":
            return "choice(" + ", ".join(_show(v) for v in self.values) + ")"
        if self.kind == "boolean":
            return "boolean()"
        extra = (f", step={_show(self.step)}" if self.step is not None else "") + (", log=true" if self.log else "")
        return f"{self.kind}({_show(self.low)}, {_show(self.high)}{extra})"


@dataclass(frozen=True)
class Space:
    hypers: tuple  # Hyper, in the order of the text

    def __bool__(self) -> bool:
        return bool(self.hypers)

    @property
    def names(self) -> tuple:
        return tuple(h.name for h in self.hypers)

    def get(self, name: str) -> Hyper | None:
        for h in self.hypers:
            if h.name == name:
                return h
        return None

    def default(self) -> dict:
        return {h.name: h.default for h in self.hypers}

    def size(self) -> int | None:
        """The number of points, or None when a float range makes it unbounded."""
        total = 1
        for h in self.hypers:
            values = h.finite()
            if values is None:
                return None
            total *= len(values)
        return total

    def every_point(self, limit: int) -> list | None:
        """All the points when there are at most `limit` of them (a float range counts its ends)."""
        total = 1
        for h in self.hypers:
            total *= len(h.finite() or h.ends())
            if total > limit:
                return None
        names = self.names
        return [
            dict(zip(names, values)) for values in itertools.product(*(h.finite() or h.ends() for h in self.hypers))
        ]

    def check_points(self) -> list:
        """The points `check` lowers: the default; each hyperparameter at each of its choices or
        range ends with the others at their defaults; and the corners where every numeric range
        is at its low end, and at its high end (widths and depths that grow together)."""
        base = self.default()
        points = [base]
        for h in self.hypers:
            for value in h.ends():
                if value != base[h.name] or type(value) is not type(base[h.name]):
                    points.append({**base, h.name: value})
        for pick in (min, max):
            corner = dict(base)
            for h in self.hypers:
                numbers = [v for v in h.ends() if isinstance(v, (int, float)) and not isinstance(v, bool)]
                if numbers and len(numbers) == len(h.ends()):
                    corner[h.name] = pick(numbers)
            points.append(corner)
        unique = []
        for p in points:
            if p not in unique:
                unique.append(p)
        return unique


def _show(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return repr(value)


def show_point(point: dict) -> str:
    return ", ".join(f"{name} = {_show(value)}" for name, value in point.items())


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def read_space(search: dict | None, spans: dict, path: str, errors: Collector) -> Space:
    """The Space of a normalised `search` section; E801 for each hyperparameter that is not one."""
    hypers = []
    for name, value in (search or {}).items():
        at = ("search", name)
        span = spans.get(at + ("@name",)) or spans.get(at) or Span(path, 1, 1)
        hyper = _hyper(name, value, at, span, spans, path, errors)
        if hyper is not None:
            hypers.append(hyper)
    return Space(tuple(hypers))


# names a hyperparameter cannot have: Python's keywords and constants, tfspec's statement words
NOT_NAMES = frozenset(keyword.kwlist) | {"True", "False", "None", "true", "false"}
NOT_NAMES |= {"model", "block", "train", "search", "input", "output", "layer", "add_loss"}


def _hyper(name, value, at, span, spans, path, errors: Collector) -> Hyper | None:
    def bad(message, where=at, hint=None):
        errors.error("E801", message, spans.get(where) or span, hint)

    if name in NOT_NAMES or name.startswith("__"):
        errors.error("E307", f"{name!r} cannot name a hyperparameter", span, f"rename it, e.g. {name.strip('_')}_")
        return None

    if not (isinstance(value, dict) and "call" in value and value["call"] in KINDS):
        bad(
            f"search {name!r} is not a search space",
            hint="write one of " + ", ".join(f"`{name} = {e}`" for e in EXAMPLES.values()),
        )
        return None
    kind, args, kwargs = value["call"], value["args"], value["kwargs"]
    for key in kwargs:
        if key not in KEYWORDS[kind]:
            allowed = ", ".join(KEYWORDS[kind])
            bad(f"{kind}() takes no argument {key!r}", at + ("kwargs", key), f"it takes {allowed}")
            return None
    constants = list(enumerate(args)) + [(k, v) for k, v in kwargs.items()]
    for key, v in constants:
        where = at + (("args", key) if isinstance(key, int) else ("kwargs", key))
        if not (v is None or isinstance(v, (bool, int, float, str))):
            bad(f"the arguments of {kind}() are constants", where, "write a number, a string, true or false")
            return None
    default = kwargs.get("default")
    has_default = "default" in kwargs
    if kind == "boolean":
        if args:
            bad("boolean() takes no values", at + ("args", 0), "write `boolean()` or `boolean(default=true)`")
            return None
        if has_default and not isinstance(default, bool):
            bad("the default of boolean() is true or false", at + ("kwargs", "default"))
            return None
        return Hyper(name, kind, bool(default) if has_default else False, span)
    if kind == "choice":
        if not args:
            bad("choice() needs at least one value", hint=f"e.g. `{name} = choice(32, 64)`")
            return None
        kinds = {("number" if _number(v) else type(v).__name__) for v in args}
        if None in args or len(kinds) > 1:
            bad(
                "the values of a choice are all numbers, all strings or all booleans",
                hint="KerasTuner's hp.Choice takes values of one type",
            )
            return None
        if len(set(args)) != len(args) or len(args) > MAX_CHOICES:
            bad(
                "a choice lists each value once"
                if len(args) <= MAX_CHOICES
                else f"a choice holds at most {MAX_CHOICES} values"
            )
            return None
        if kinds == {"number"} and any(isinstance(v, float) for v in args):
            args = [float(v) for v in args]  # hp.Choice keeps one type: 1 and 0.5 are both floats
        if has_default and default not in args:
            bad("the default of a choice is one of its values", at + ("kwargs", "default"))
            return None
        return Hyper(name, kind, default if has_default else args[0], span, values=tuple(args))
    # int / float ranges
    if len(args) != 2 or not all(_number(v) for v in args):
        bad(f"{kind}() takes its low and high ends", hint=f"e.g. `{name} = {EXAMPLES[kind]}`")
        return None
    low, high = args
    step, log = kwargs.get("step"), kwargs.get("log", False)
    if kind == "int" and not (isinstance(low, int) and isinstance(high, int)):
        bad("the ends of int() are whole numbers", at + ("args", 0), f"or write `{name} = float({low}, {high})`")
        return None
    if not low < high:
        bad(f"the low end of {kind}() is below its high end", at + ("args", 0), f"here {low} >= {high}")
        return None
    if not isinstance(log, bool):
        bad("log is true or false", at + ("kwargs", "log"))
        return None
    if log and low <= 0:
        bad("a log range starts above 0", at + ("args", 0), "e.g. `float(1e-4, 1e-1, log=true)`")
        return None
    if step is not None:
        if not _number(step) or step <= 0 or (kind == "int" and not isinstance(step, int)):
            bad(
                f"the step of {kind}() is a positive {'whole ' if kind == 'int' else ''}number", at + ("kwargs", "step")
            )
            return None
        if log and step <= 1:
            bad(
                "the step of a log range is a factor above 1",
                at + ("kwargs", "step"),
                "e.g. `int(16, 256, step=2, log=true)`",
            )
            return None
    if kind == "float":
        low, high = float(low), float(high)
        step = float(step) if step is not None else None
    hyper = Hyper(name, kind, low, span, low=low, high=high, step=step, log=log)
    if has_default:
        values = hyper.finite()
        inside = _number(default) and low <= default <= high and (kind == "float" or isinstance(default, int))
        if not inside or (values is not None and default not in values):
            bad(f"the default of {kind}() is one of the values it can take", at + ("kwargs", "default"))
            return None
        hyper = Hyper(
            name, kind, float(default) if kind == "float" else default, span, low=low, high=high, step=step, log=log
        )
    return hyper
