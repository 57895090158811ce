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
    return value


def has_refs(value, memo: dict) -> bool:
    """Whether `value` holds a Ref anywhere; `memo` (id -> (value, answer)) keeps the answer for
    every container walked, and keeps the container alive so that its id stays its own."""
    if isinstance(value, Ref):
        return True
    if not isinstance(value, (list, tuple, dict, Call)):
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
    if isinstance(value, Call):
        return (*value.args, *(v for _, v in value.kwargs))
    if isinstance(value, (list, tuple)):
        return value
    return ()


def count_items(value, memo: dict) -> int:
    """Values in `value` counted as a tree, as they are printed and bound (every scalar, container
    and call). `memo` (id -> (value, count)) makes parts shared between block instances cost
    nothing again, and keeps each container alive so that its id stays its own."""
    if not isinstance(value, (list, tuple, dict, Call)):
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
    elif isinstance(value, Call):
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
    return repr(value)
