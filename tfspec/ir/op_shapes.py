"""Static shapes of tensor operations: an operation node's expression (tfspec.ir.lower_expr)
evaluated over the shapes of the tensors it reads.

Each part of the expression is either a tensor (its per-sample shape and dtype) or a static
value (a number, a bool, a string, a tuple such as `x.shape`): static parts are computed here,
as Python would compute them when the generated code runs (`x.shape[-1] * 4`), and tensor parts
follow the rules of the operation catalog (tfspec.ir.ops).
"""

from __future__ import annotations

from dataclasses import dataclass

from .catalog import ShapeError
from .evaluate import BUILTINS, index, operate
from .evaluate import apply as builtin_apply
from .layers_base import fmt
from .ops import CONSTANT, OPERATORS, bind_op, constant_dtype, lookup_op
from .values import Call, Expr, Ref


@dataclass(frozen=True)
class Shaped:
    """A tensor part of an expression: its per-sample shape and dtype."""

    shape: tuple
    dtype: str


def expression_shape(tree, shapes: dict, dtypes: dict, values: dict | None = None) -> Shaped:
    """The shape and dtype of what an operation node computes; ShapeError when it cannot.
    `values` holds the names computed before the model runs (block parameters, `c = ...`)."""
    result = evaluate(tree, shapes, dtypes, values or {})
    if not isinstance(result, Shaped):
        raise ShapeError("this expression computes no tensor", "a tensor operation reads at least one tensor")
    return result


def evaluate(value, shapes: dict, dtypes: dict, values: dict):
    if isinstance(value, Ref):
        if value.name in values:
            return values[value.name]
        shape = shapes[value.name]
        return Shaped(tuple(shape), dtypes.get(value.name, "float32"))
    if isinstance(value, (list, tuple)):
        items = [evaluate(v, shapes, dtypes, values) for v in value]
        return items if isinstance(value, list) else tuple(items)
    if isinstance(value, Call):
        return call(value, shapes, dtypes, values)
    if isinstance(value, Expr):
        return expr(value, shapes, dtypes, values)
    return value


def static(value, what: str):
    if isinstance(value, Shaped):
        raise ShapeError(f"{what} must be known before the model runs, not a tensor")
    return value


def expr(e: Expr, shapes: dict, dtypes: dict, values: dict):
    if e.op == "attr":  # `x.shape`: the shape with the batch axis, as Keras gives it
        target, _ = e.args
        return (None, *shapes[target.name])
    if e.op in ("slice", "ellipsis"):
        raise ShapeError("a slice is written inside an index: `x[1:3]`")
    if e.op == "index":
        target, *items = e.args
        base = evaluate(target, shapes, dtypes, values)
        parts = [subscript(i, shapes, dtypes, values) for i in items]
        if isinstance(base, Shaped):
            key = tuple((p.start, p.stop, p.step) if isinstance(p, slice) else p for p in parts)
            return apply_op("getitem", [base], {"key": key})
        return index(base, parts)  # `x.shape[-1]`: a value
    args = [evaluate(a, shapes, dtypes, values) for a in e.args]
    if not any(isinstance(a, Shaped) for a in args):
        return operate(e.op, args, e)  # `c * 4`: a value
    return apply_op(OPERATORS[e.op], args, {})


def subscript(item, shapes, dtypes, values):
    if isinstance(item, Expr) and item.op == "slice":
        start, stop, step = (
            None if p is None else static(evaluate(p, shapes, dtypes, values), "a slice bound") for p in item.args
        )
        return slice(start, stop, step)
    if isinstance(item, Expr) and item.op == "ellipsis":
        return Ellipsis
    return static(evaluate(item, shapes, dtypes, values), "an index")


def show_static(value) -> str:
    if isinstance(value, tuple) and all(v is None or isinstance(v, int) for v in value):
        return fmt(value)
    return repr(value)


def call(c: Call, shapes: dict, dtypes: dict, values: dict):
    definition = lookup_op(c.name)
    args = tuple(evaluate(a, shapes, dtypes, values) for a in c.args)
    kwargs = tuple((k, evaluate(v, shapes, dtypes, values)) for k, v in c.kwargs)
    if c.name in BUILTINS and not c.kwargs and not any(isinstance(a, Shaped) for a in args):
        return builtin(c, args)  # `max(8, c)`: on values, Python's
    bound = bind_op(definition, args, kwargs)
    if bound.errors:
        problem = bound.errors[0]
        raise ShapeError(f"{c.name}: {problem.message}", problem.hint, problem.code)
    for name, value in bound.values.items():
        static(value, f"the argument {name!r} of {c.name}")
    operands = list(bound.operands)
    if not any(isinstance(o, Shaped) for o in operands):
        raise ShapeError(f"{c.name} computes from a tensor; none is given", f"e.g. `{c.name}(x)`")
    return run_rule(definition, operands, bound.values)


def builtin(c: Call, args) -> object:
    return builtin_apply(c.name, BUILTINS[c.name], list(args), c)


def apply_op(name: str, operands: list, values: dict):
    """An operator (`a + b`) or an index (`x[0]`): the operation it stands for."""
    definition = lookup_op(name)
    placeholders = tuple(operands) if not definition.listed else (list(operands),)
    bound = bind_op(definition, placeholders, tuple(values.items()))
    if bound.errors:
        problem = bound.errors[0]
        raise ShapeError(f"{name}: {problem.message}", problem.hint, problem.code)
    return run_rule(definition, operands, bound.values)


def run_rule(definition, operands: list, values: dict) -> Shaped:
    for operand in operands:
        if not isinstance(operand, (Shaped, int, float, bool)):
            raise ShapeError(
                f"{definition.name} computes with tensors and numbers, got {show_static(operand)}",
                "a string or a tuple is no operand of a tensor operation",
            )
    shapes = [o.shape if isinstance(o, Shaped) else CONSTANT for o in operands]
    dtypes = [o.dtype if isinstance(o, Shaped) else constant_dtype(o) for o in operands]
    shape = tuple(definition.shape(shapes, values))
    return Shaped(shape, definition.dtype(dtypes, values))
