"""Block-time values: expressions over numbers, strings, booleans, block parameters and the
static shapes of tensors, computed when a block is used (or the model checked), never executed.

The evaluator walks the IR's values (tfspec.ir.values) and computes, with Python's meaning,
the operators `+ - * / // %`, comparisons, `and`/`or`/`not`, indexes of tuples (`x.shape[-1]`)
and a few builtins on numbers (`max`, `min`, `abs`, `int`, `float`, `round`, `len`). Names come
from an environment (parameters, earlier static names); `x.shape` is a tensor's shape with the
batch axis first (None), as Keras gives it. Nothing else can be reached: there is no attribute
but `.shape`, no call but the builtins, no Python `eval`.
"""

from __future__ import annotations

import math
import operator

from .catalog import ShapeError
from .layers_base import fmt
from .values import Call, Expr, Ref, show

BINARY = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "//": operator.floordiv,
    "%": operator.mod,
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def _number(name):
    def check(*args):
        for a in args:
            if isinstance(a, bool) or not isinstance(a, (int, float)):
                raise TypeError(f"{name} takes numbers, got {show(a)}")

    return check


def _items(name: str, args) -> tuple:
    """max/min's numbers, as Python takes them: two or more, or one tuple or list of them."""
    items = args[0] if len(args) == 1 and isinstance(args[0], (tuple, list)) else args
    if len(args) == 1 and not isinstance(args[0], (tuple, list)):
        raise TypeError(f"{name} takes two numbers or more, or a tuple of them (Python's {name}(3) fails)")
    if not items:
        raise ValueError(f"{name} of no number")
    _number(name)(*items)
    return items


def _max(*args):
    return max(_items("max", args))


def _min(*args):
    return min(_items("min", args))


def _int(x):
    _number("int")(x)
    if isinstance(x, float) and not math.isfinite(x):
        raise ValueError(f"int of {show(x)}")
    return int(x)


def _float(x):
    _number("float")(x)
    return float(x)


def _abs(x):
    _number("abs")(x)
    return abs(x)


def _round(x, digits=None):
    _number("round")(x)
    return round(x) if digits is None else round(x, digits)


def _len(x):
    if not isinstance(x, (tuple, list, str)):
        raise TypeError(f"len takes a tuple, list or string, got {show(x)}")
    return len(x)


# Builtins on known values. `max`, `min` and `abs` are also tensor operations: a call is one of
# these when none of its arguments is a tensor.
BUILTINS = {"max": _max, "min": _min, "int": _int, "float": _float, "abs": _abs, "round": _round, "len": _len}

# The largest number a block-time value may be (a guard against `10 ** 10 ** 10`-like growth: there
# is no power operator, but repeated products could still make huge integers).
LIMIT = 2**63


# The most items (characters of a string, entries of a tuple or list) a computed value may hold.
MAX_VALUE_ITEMS = 100_000


class Unknown(Exception):
    """The value needs something not known yet (a tensor's values, a name not bound)."""


def evaluate(value, env: dict, shapes: dict | None = None):
    """`value` with every expression computed. Refs are looked up in `env`, `.shape` of a tensor
    in `shapes` (per-sample shapes). Raises ShapeError (E410) for an expression that cannot be
    computed (1 / 0, "a" - 1), Unknown when it reads what is not known."""
    if isinstance(value, Ref):
        if value.name in env:
            return env[value.name]
        raise Unknown(value.name)
    if isinstance(value, Expr):
        return expression(value, env, shapes)
    if isinstance(value, Call):
        if value.name in BUILTINS and not value.kwargs:
            args = [evaluate(a, env, shapes) for a in value.args]
            return apply(value.name, BUILTINS[value.name], args, value)
        args = tuple(evaluate(a, env, shapes) for a in value.args)
        kwargs = tuple((k, evaluate(v, env, shapes)) for k, v in value.kwargs)
        return Call(value.name, args, kwargs, value.span)
    if isinstance(value, list):
        return [evaluate(v, env, shapes) for v in value]
    if isinstance(value, tuple):
        return tuple(evaluate(v, env, shapes) for v in value)
    if isinstance(value, dict):
        return {k: evaluate(v, env, shapes) for k, v in value.items()}
    return value


def apply(name, function, args, where):
    try:
        result = function(*args)
    except (TypeError, ValueError, ZeroDivisionError, OverflowError) as exc:
        raise ShapeError(f"cannot compute {show(where)}: {exc}", None, "E410") from None
    return checked(result, where)


def checked(result, where):
    if isinstance(result, int) and not isinstance(result, bool) and abs(result) >= LIMIT:
        raise ShapeError(f"{show(where)} is too large: {result:.3g}", None, "E410")
    if isinstance(result, float) and not math.isfinite(result):
        raise ShapeError(f"{show(where)} is not a finite number", None, "E410")
    return result


def expression(e: Expr, env: dict, shapes):
    if e.op == "attr":
        target, name = e.args
        if name != "shape" or not isinstance(target, Ref) or shapes is None or target.name not in shapes:
            raise Unknown(show(e))
        shape = shapes[target.name]
        if shape is None:
            raise Unknown(target.name)
        return (None, *shape)
    if e.op == "index":
        target, *items = e.args
        return index(evaluate(target, env, shapes), [subscript(i, env, shapes) for i in items])
    if e.op == "and":
        left = evaluate(e.args[0], env, shapes)
        return left and evaluate(e.args[1], env, shapes)
    if e.op == "or":
        left = evaluate(e.args[0], env, shapes)
        return left or evaluate(e.args[1], env, shapes)
    return operate(e.op, [evaluate(a, env, shapes) for a in e.args], e)


def index(base, keys: list):
    """A known value indexed (`x.shape[-1]`, `(8, 16)[0]`), with Python's meaning."""
    if len(keys) != 1 or not isinstance(base, (tuple, list, str)):
        raise ShapeError(f"cannot index {show(base)} with {', '.join(map(str, keys))}", None, "E410")
    try:
        return base[keys[0]]
    except (IndexError, TypeError) as exc:
        shown = fmt(base) if isinstance(base, tuple) else show(base)
        raise ShapeError(f"cannot index {shown} with {keys[0]!r}: {exc}", None, "E410") from None


def operate(op: str, args: list, e):
    """Python's meaning of an operator on known values; `e` (the expression) for messages."""
    if op == "not":
        return not args[0]
    if op == "and":
        return args[0] and args[1]
    if op == "or":
        return args[0] or args[1]
    if op == "neg":
        if isinstance(args[0], bool) or not isinstance(args[0], (int, float)):
            raise ShapeError(f"cannot compute {show(e)}: {show(args[0])} is not a number", None, "E410")
        return apply("neg", operator.neg, args, e)
    if op in BINARY:
        sized = [a for a in args if isinstance(a, (str, tuple, list))]
        if sized and op in ("*", "+"):  # repetition and joining: the result's size, before it is made
            counts = [a if isinstance(a, int) and not isinstance(a, bool) else len(a) for a in args]
            size = counts[0] * counts[1] if op == "*" else sum(counts)
            if size > MAX_VALUE_ITEMS:
                raise ShapeError(
                    f"{show(e)} would hold {size:,} items (the limit is {MAX_VALUE_ITEMS:,})",
                    "a value computed in a spec is small: sizes, widths, names",
                    "E410",
                )
        if sized and op in ("%", "-", "/", "//"):
            raise ShapeError(f"cannot compute {show(e)}: {op} takes numbers", None, "E410")
        if op in ("/", "//", "%") and args[1] == 0 and not isinstance(args[1], bool):
            raise ShapeError(f"{show(e)} divides by zero", None, "E410")
        if op in ("+", "-", "*", "/", "//", "%", "<", "<=", ">", ">="):
            for a in args:
                if a is None or isinstance(a, (list, dict, Call)):
                    raise ShapeError(f"cannot compute {show(e)}: {show(a)} is not a number", None, "E410")
        return apply(op, BINARY[op], args, e)
    raise ShapeError(f"{show(e)} cannot be computed before the model runs", None, "E410")


def subscript(item, env, shapes):
    if isinstance(item, Expr) and item.op == "slice":
        return slice(*(None if p is None else evaluate(p, env, shapes) for p in item.args))
    if isinstance(item, Expr) and item.op == "ellipsis":
        return Ellipsis
    return evaluate(item, env, shapes)


def holds_expression(value) -> bool:
    """Whether a value holds an expression or a name still to be computed."""
    if isinstance(value, (Expr, Ref)):
        return True
    if isinstance(value, Call):
        return any(holds_expression(v) for v in value.args) or any(holds_expression(v) for _, v in value.kwargs)
    if isinstance(value, (list, tuple)):
        return any(holds_expression(v) for v in value)
    if isinstance(value, dict):
        return any(holds_expression(v) for v in value.values())
    return False


def fold(value, env: dict | None = None, shapes=None):
    """`value` with the expressions that can be computed now computed; the rest kept."""
    try:
        return evaluate(value, env or {}, shapes)
    except Unknown:
        pass
    if isinstance(value, list):
        return [fold(v, env, shapes) for v in value]
    if isinstance(value, tuple):
        return tuple(fold(v, env, shapes) for v in value)
    if isinstance(value, (Call, Expr)):
        kind = Call if isinstance(value, Call) else Expr
        head = value.name if isinstance(value, Call) else value.op
        return kind(
            head,
            tuple(fold(v, env, shapes) for v in value.args),
            tuple((k, fold(v, env, shapes)) for k, v in value.kwargs),
            value.span,
        )
    return value
