"""Keras operations of a functional config as the spec's tensor expressions.

A functional model built with keras.ops calls or Python operators on tensors (`x + 3.0`,
`keras.ops.mean(x, axis=1)`, `x[:, 0]`) records each as an entry of module `keras.src.ops.*`
whose config holds the static arguments and whose node holds the operands, tensors and numbers.
Each becomes an expression of the spec (tfspec.ir.values.Expr and Call over `Operand`s), printed
with the spec's own expression printer: `a + 3.0`, `mean(x, axis=1)`, `x[:, 0]`. An operation
whose result only one other operation reads is folded into it (`relu6(x + 3.0) / 6.0`), and
Keras's form of `positions(x)` (cumsum of ones_like, minus 1) reads as `positions(x)` again.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...ir.lower import snake
from ...ir.ops import OPERATORS, OPS
from ...ir.values import Call, Expr, show, show_expr

# Keras op classes whose snake_case name is not the spec's operation.
RENAMED = {"Absolute": "abs", "TrueDivide": "divide", "GetItem": "getitem", "Swish": "silu", "HardSwish": "hard_silu"}
# The two parts of `positions(x)`: not operations of the spec on their own.
POSITION_PARTS = ("ones_like", "cumsum")
SYMBOL = {name: symbol for symbol, name in OPERATORS.items()}  # "add" -> "+", "negative" -> "neg"


def op_name(class_name: str) -> str | None:
    """The spec operation of a Keras op class (`Relu6` -> `relu6`), None when there is none."""
    name = RENAMED.get(class_name) or snake(class_name)
    return name if name in OPS or name in POSITION_PARTS else None


def is_operation(entry: dict) -> bool:
    return str(entry.get("module") or "").startswith("keras.src.ops")


@dataclass(frozen=True)
class Operand:
    """A tensor inside an expression: its key in the imported graph."""

    key: tuple


class Unsupported(ValueError):
    """An operation or argument with no spec form; the message says which."""


def expression(class_name: str, config: dict, node: dict, tensor) -> object:
    """The spec expression of one operation. `tensor(value)` turns a serialized tensor reference
    into its key (None for anything else)."""
    name = op_name(class_name)
    if name is None:
        raise Unsupported(f"the operation {class_name} has no spec form (see `tfspec explain` for the operations)")

    def operand(value):
        key = tensor(value)
        if key is not None:
            return Operand(key)
        if isinstance(value, list):
            return [operand(v) for v in value]
        if isinstance(value, dict):
            raise Unsupported(
                f"{class_name} is given {value.get('class_name', 'an object')}, which a spec cannot write"
            )
        return value

    raw = list(node.get("args") or [])
    kwargs = {k: static_value(v) for k, v in (node.get("kwargs") or {}).items()}
    static = {k: static_value(v) for k, v in config.items() if k != "name"}
    if name == "getitem":
        if len(raw) != 2 or kwargs:
            raise Unsupported("GetItem takes a tensor and an index")
        items = raw[1] if isinstance(raw[1], list) else [raw[1]]
        return Expr("index", (operand(raw[0]), *(index_item(i) for i in items)))
    args = [operand(v) for v in raw]
    if name in POSITION_PARTS:
        return Call(name, tuple(args), tuple(sorted(static.items())))
    if name in SYMBOL and len(args) == 2 and not kwargs and not static:
        return Expr(SYMBOL[name], tuple(args))
    if name in ("negative", "logical_not") and len(args) == 1 and not kwargs and not static:
        return Expr(SYMBOL[name], tuple(args))
    definition = OPS[name]
    known = [a.name for a in definition.args]
    # arguments keras.ops has and the spec's operation has not, left at keras.ops's default None
    # (min's and max's initial, prod's dtype), say nothing
    values = {k: v for k, v in {**static, **kwargs}.items() if k in known or v is not None}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise Unsupported(
            f"{class_name} sets {unknown[0]}={values[unknown[0]]!r}, which the spec's {name} does not take"
        )
    given = [(k, static_value(values[k])) for k in known if k in values]
    defaults = {a.name: a.default for a in definition.args if not a.required}
    given = [(k, v) for k, v in given if k not in defaults or v != defaults[k]]
    operands = tuple(args[0]) if definition.listed and len(args) == 1 and isinstance(args[0], list) else tuple(args)
    if definition.listed:
        operands = (list(operands),)
    return Call(name, operands, tuple(given))


def static_value(value):
    """A static argument as the spec writes it: lists as tuples (`axis=(1, 2)`), a dtype
    policy as its dtype's name."""
    if isinstance(value, list):
        return tuple(static_value(v) for v in value)
    if isinstance(value, dict) and str(value.get("class_name", "")).endswith("DTypePolicy"):
        return (value.get("config") or {}).get("name")
    if isinstance(value, dict):
        raise Unsupported(f"an argument {value.get('class_name', 'object')!r} has no spec form")
    return value


def index_item(item):
    if isinstance(item, dict):
        kind = item.get("class_name")
        if kind == "__slice__":
            c = item.get("config") or {}
            return Expr("slice", (c.get("start"), c.get("stop"), c.get("step")))
        if kind == "__ellipsis__":
            return Expr("ellipsis")
        raise Unsupported(f"an index item {kind!r} has no spec form")
    if isinstance(item, dict) or isinstance(item, list):
        raise Unsupported("an index that is a tensor has no spec form")
    return item


def positions(value):
    """`cumsum(ones_like(x, dtype="int32"), axis=1) - 1` as `positions(x)`; else the value."""
    if not (isinstance(value, Expr) and value.op == "-" and value.args[1] == 1):
        return value
    total = value.args[0]
    if not (isinstance(total, Call) and total.name == "cumsum" and dict(total.kwargs) == {"axis": 1, "dtype": None}):
        return value
    ones = total.args[0] if len(total.args) == 1 else None
    if isinstance(ones, Call) and ones.name == "ones_like" and dict(ones.kwargs) == {"dtype": "int32"}:
        return Call("positions", ones.args)
    return value


def substitute(value, replace):
    """`value` with each Operand put through `replace` (Operand -> value)."""
    if isinstance(value, Operand):
        return replace(value)
    if isinstance(value, Expr):
        return Expr(value.op, tuple(substitute(a, replace) for a in value.args), value.kwargs)
    if isinstance(value, Call):
        return Call(value.name, tuple(substitute(a, replace) for a in value.args), value.kwargs)
    if isinstance(value, list):
        return [substitute(v, replace) for v in value]
    return value


def operands(value) -> list:
    """The tensor keys an expression reads, in the order they are written."""
    found = []

    def visit(v):
        if isinstance(v, Operand):
            found.append(v.key)
        elif isinstance(v, (Expr, Call)):
            for a in v.args:
                visit(a)
        elif isinstance(v, list):
            for a in v:
                visit(a)

    visit(value)
    return found


def unresolved(value) -> str | None:
    """The name of a part of `positions` left in the expression (no spec form), if any."""
    if isinstance(value, Call) and value.name in POSITION_PARTS:
        return value.name
    for a in value.args if isinstance(value, (Expr, Call)) else value if isinstance(value, list) else ():
        found = unresolved(a)
        if found:
            return found
    return None


def text(value, name) -> str:
    """Spec text of an expression; `name(key)` names each tensor."""

    def leaf(v) -> str:
        if isinstance(v, Operand):
            return name(v.key)
        if isinstance(v, Call):
            parts = [leaf(a) if not isinstance(a, Expr) else show_expr(a, leaf) for a in v.args]
            parts += [f"{k}={show(a)}" for k, a in v.kwargs]
            return f"{v.name}({', '.join(parts)})"
        if isinstance(v, list):
            return "[" + ", ".join(leaf(a) if not isinstance(a, Expr) else show_expr(a, leaf) for a in v) + "]"
        return show(v)

    return show_expr(value, leaf) if isinstance(value, Expr) else leaf(value)
