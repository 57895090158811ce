"""Argument values as the IR holds them: plain Python data plus `Call` for nested calls."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..diagnostics import Span


@dataclass(frozen=True)
class Call:
    """A constructor call written in a spec, e.g. `L2(1e-4)` or `LSTM(64)` inside `Bidirectional`."""

    name: str
    args: tuple = ()
    kwargs: tuple = ()  # ((name, value), ...) in source order
    span: Span | None = field(default=None, compare=False)

    @property
    def kw(self) -> dict:
        return dict(self.kwargs)


@dataclass(frozen=True)
class Ref:
    """A bare name in value position: a block parameter, or a symbol such as `accuracy`."""

    name: str
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Expr:
    """An expression of the v2 language that is not a plain value: an operator (`+`, `==`,
    `neg`, `not`, ... with its operands in `args`), an index (`index`: args = (target, *items)),
    a slice (`slice`: args = (start, stop, step), None where left out), `ellipsis`, an
    attribute (`attr`: args = (target, name)), or an application (`apply`: args = (callee,
    *tensors), kwargs = call arguments), e.g. `LSTM(8)(x, initial_state=[h, c])`."""

    op: str
    args: tuple = ()
    kwargs: tuple = ()
    span: Span | None = field(default=None, compare=False)


# JSON scalars: values that from_json returns as they are (no lookups, no path to build)
_PLAIN = frozenset({int, float, str, bool, type(None)})


def from_json(value, spans=None, where=()):
    """Turn a normalised VALUE into IR values (tuples, Call, Ref). Refs and Calls carry the
    span recorded at their path (`spans`), when there is one."""
    if isinstance(value, list):
        return [v if type(v) in _PLAIN else from_json(v, spans, where + (i,)) for i, v in enumerate(value)]
    if isinstance(value, dict):
        if "tuple" in value:
            return tuple(
                v if type(v) in _PLAIN else from_json(v, spans, where + ("tuple", i))
                for i, v in enumerate(value["tuple"])
            )
        if "ref" in value:
            return Ref(value["ref"], spans.get(where) if spans else None)
        if "dict" in value:
            return {
                k: v if type(v) in _PLAIN else from_json(v, spans, where + ("dict", k))
                for k, v in value["dict"].items()
            }
        if "op" in value:
            args = tuple(from_json(v, spans, where + ("args", i)) for i, v in enumerate(value["args"]))
            return Expr(value["op"], args, (), spans.get(where) if spans else None)
        if "index" in value:
            items = tuple(_subscript(v, spans, where + ("items", i)) for i, v in enumerate(value["items"]))
            target = from_json(value["index"], spans, where + ("index",))
            return Expr("index", (target, *items), (), spans.get(where) if spans else None)
        if "attr" in value:
            target = from_json(value["of"], spans, where + ("of",))
            return Expr("attr", (target, value["attr"]), (), spans.get(where) if spans else None)
        if "apply" in value:
            callee = from_json(value["apply"], spans, where + ("apply",))
            args = tuple(from_json(v, spans, where + ("args", i)) for i, v in enumerate(value["args"]))
            kwargs = tuple((k, from_json(v, spans, where + ("kwargs", k))) for k, v in value["kwargs"].items())
            return Expr("apply", (callee, *args), kwargs, spans.get(where) if spans else None)
        if "call" in value:
            args = tuple(
                v if type(v) in _PLAIN else from_json(v, spans, where + ("args", i))
                for i, v in enumerate(value["args"])
            )
            kwargs = tuple(
                (k, v if type(v) in _PLAIN else from_json(v, spans, where + ("kwargs", k)))
                for k, v in value["kwargs"].items()
            )
            return Call(value["call"], args, kwargs, spans.get(where) if spans else None)
    return value


def _subscript(value, spans, where):
    span = spans.get(where) if spans else None
    if isinstance(value, dict) and "slice" in value:
        parts = tuple(from_json(v, spans, where + ("slice", k)) for k, v in enumerate(value["slice"]))
        return Expr("slice", parts, (), span)
    if isinstance(value, dict) and "ellipsis" in value:
        return Expr("ellipsis", (), (), span)
    return from_json(value, spans, where)


def substitute(value, env: dict, free: dict | None = None):
    """Replace Refs to block parameters with their bound values.

    Parts that hold no Ref are returned as they are (values are never mutated), so a value
    keeps sharing them. `free` caches which parts hold no Ref (id -> bool) across calls on the
    same template values, so that a call whose big literal sits beside a parameter is not
    walked again for every instance of its block."""
    if isinstance(value, Ref):
        return env.get(value.name, value)
    if free is not None and not has_refs(value, free):
        return value
    if isinstance(value, list):
        return [substitute(v, env, free) for v in value]
    if isinstance(value, tuple):
        return tuple(substitute(v, env, free) for v in value)
    if isinstance(value, dict):
        return {k: substitute(v, env, free) for k, v in value.items()}
    if isinstance(value, Call):
        return Call(
            value.name,
            substitute(value.args, env, free),
            tuple((k, substitute(v, env, free)) for k, v in value.kwargs),
            value.span,
        )
    if isinstance(value, Expr):
        return Expr(
            value.op,
            substitute(value.args, env, free),
            tuple((k, substitute(v, env, free)) for k, v in value.kwargs),
            value.span,
        )
    return value


def has_refs(value, memo: dict) -> bool:
    """Whether `value` holds a Ref anywhere; `memo` (id -> (value, answer)) keeps the answer for
    every container walked, and keeps the container alive so that its id stays its own."""
    if isinstance(value, Ref):
        return True
    if not isinstance(value, (list, tuple, dict, Call, Expr)):
        return False
    known = memo.get(id(value))
    if known is not None:
        return known[1]
    answer = any([has_refs(v, memo) for v in parts(value)])  # a list: every part is remembered
    memo[id(value)] = (value, answer)
    return answer


def parts(value) -> tuple | list:
    """The values directly inside a list, tuple, dict or Call (its arguments); () for a scalar."""
    if isinstance(value, dict):
        return list(value.values())
    if isinstance(value, (Call, Expr)):
        return (*value.args, *(v for _, v in value.kwargs))
    if isinstance(value, (list, tuple)):
        return value
    return ()


def names_in(value) -> set:
    """The names (Refs) a value reads, at any depth."""
    found, stack = set(), [value]
    while stack:
        v = stack.pop()
        if isinstance(v, Ref):
            found.add(v.name)
        elif isinstance(v, (list, tuple, dict, Call, Expr)):
            stack.extend(parts(v))
    return found


def count_items(value, memo: dict) -> int:
    """Values in `value` counted as a tree, as they are printed and bound (every scalar, container
    and call). `memo` (id -> (value, count)) makes parts shared between block instances cost
    nothing again, and keeps each container alive so that its id stays its own."""
    if not isinstance(value, (list, tuple, dict, Call, Expr)):
        return 1
    known = memo.get(id(value))
    if known is None:
        known = memo[id(value)] = (value, 1 + sum(count_items(v, memo) for v in parts(value)))
    return known[1]


def measure(value, params: dict | None = None) -> tuple[int, int]:
    """(items, depth) of a value once block parameters are bound: items counts every scalar,
    container and call, depth the brackets around the deepest item. A Ref counts as the
    (items, depth) that `params` gives its parameter, (1, 0) when unknown. Computes with ints,
    so it says how big a value would become without building it."""
    if isinstance(value, Ref):
        return (params or {}).get(value.name, (1, 0))
    if isinstance(value, dict):
        parts = list(value.values())
    elif isinstance(value, (Call, Expr)):
        parts = [*value.args, *(v for _, v in value.kwargs)]
    elif isinstance(value, (list, tuple)):
        parts = value
    else:
        return (1, 0)
    items, depth = 1, 0
    for part in parts:
        n, d = measure(part, params)
        items += n
        depth = max(depth, d)
    return items, depth + 1


def spec_string(text: str) -> str:
    """A .tfs double-quoted string literal for `text` (the parser reads Python escapes)."""
    out = []
    for ch in text:
        if ch in '\\"':
            out.append("\\" + ch)
        elif ch.isprintable():
            out.append(ch)
        else:  # newlines, controls, line separators: as escapes
            out.append(repr(ch)[1:-1])
    return '"' + "".join(out) + '"'


def show(value) -> str:
    """Spec-syntax text of a value, for messages."""
    if isinstance(value, bool):
        return "True" if value else "False"
    if value is None:
        return "None"
    if isinstance(value, str):
        return spec_string(value)
    if isinstance(value, tuple):
        inner = ", ".join(show(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, list):
        return "[" + ", ".join(show(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {show(v)}" for k, v in value.items()) + "}"
    if isinstance(value, Ref):
        return value.name
    if isinstance(value, Call):
        parts = [show(a) for a in value.args] + [f"{k}={show(v)}" for k, v in value.kwargs]
        return f"{value.name}({', '.join(parts)})"
    if isinstance(value, Expr):
        return show_expr(value)
    return repr(value)


# Python's binding strength of each operator (higher binds tighter), for printing parentheses.
PRECEDENCE = {"or": 1, "and": 2, "not": 3, "==": 4, "!=": 4, "<": 4, "<=": 4, ">": 4, ">=": 4}
PRECEDENCE.update({"+": 5, "-": 5, "*": 6, "/": 6, "//": 6, "%": 6, "neg": 7})
POSTFIX = 8


def strength(value) -> int:
    return PRECEDENCE.get(value.op, POSTFIX) if isinstance(value, Expr) else POSTFIX


def operand(text: str, value, least: int) -> str:
    """`text` of an operand, in parentheses when it binds less tightly than `least`."""
    return f"({text})" if strength(value) < least else text


def show_expr(e: "Expr", leaf=None) -> str:
    """Spec-syntax text of an expression; `leaf` (value -> text) prints the other values."""
    leaf = leaf or show
    sub = lambda v: show_expr(v, leaf) if isinstance(v, Expr) else leaf(v)  # noqa: E731
    if e.op in ("neg", "not"):
        (x,) = e.args
        word = "-" if e.op == "neg" else "not "
        return word + operand(sub(x), x, PRECEDENCE[e.op])
    if e.op in PRECEDENCE:
        left, right = e.args
        level = PRECEDENCE[e.op]
        first = level + 1 if level == PRECEDENCE["=="] else level  # comparisons do not chain
        return f"{operand(sub(left), left, first)} {e.op} {operand(sub(right), right, level + 1)}"
    if e.op == "index":
        target, *items = e.args
        return f"{operand(sub(target), target, POSTFIX)}[{', '.join(sub(i) for i in items)}]"
    if e.op == "slice":
        start, stop, step = e.args
        text = ("" if start is None else sub(start)) + ":" + ("" if stop is None else sub(stop))
        return text + ("" if step is None else ":" + sub(step))
    if e.op == "ellipsis":
        return "..."
    if e.op == "attr":
        target, name = e.args
        return f"{operand(sub(target), target, POSTFIX)}.{name}"
    callee, *args = e.args  # apply
    parts = [sub(a) for a in args] + [f"{k}={sub(v)}" for k, v in e.kwargs]
    return f"{operand(sub(callee), callee, POSTFIX)}({', '.join(parts)})"
