"""Printing what the v2 graph statements add: tensor operations as Python expressions over
keras.ops, and the call arguments and several results of a layer's call.

An operation prints as Python would write it with Keras 3 tensors: arithmetic and indexes
with Python's operators (KerasTensor and the backend tensors implement them), functions as
`keras.ops.<name>(...)`, and what Python's own operators cannot do to a tensor (comparisons,
`and`/`or`/`not`) as the keras.ops function of the operator. Every name comes from the scope
(tensors) or the environment (block parameters); every constant through the emitter, so
nothing of the spec's text reaches the code unprinted.
"""

from __future__ import annotations

from ..ir.evaluate import BUILTINS
from ..ir.nodes import Tensor, TensorList
from ..ir.ops import OPERATORS, lookup_op, positions_tree
from ..ir.values import POSTFIX, PRECEDENCE, Call, Expr, Ref, strength
from .common import tensor_var
from .emitter import Atom, Binary, Code, KeyValue, Scope, expr

# operators that Python applies to tensors itself (KerasTensor.__add__ and the like)
PYTHON_OPERATORS = {"+", "-", "*", "/", "//", "%", "neg"}


def reads_tensor(value, tensors) -> bool:
    """Whether a part of an expression is a tensor (reads one, other than through `.shape`)."""
    if isinstance(value, Ref):
        return value.name in tensors
    if isinstance(value, Expr):
        if value.op == "attr":
            return False
        return any(reads_tensor(v, tensors) for v in value.args) or any(
            reads_tensor(v, tensors) for _, v in value.kwargs
        )
    if isinstance(value, Call):
        if value.name in BUILTINS:  # `max(8, c)` on values; an operation when it reads a tensor
            return any(reads_tensor(v, tensors) for v in value.args)
        return True  # an operation: its result is a tensor
    if isinstance(value, (list, tuple)):
        return any(reads_tensor(v, tensors) for v in value)
    return False


def operation_code(tree, names: dict, env=None) -> Code:
    """Python source of an operation's expression, as Code the emitter lays out (a call that
    does not fit is exploded, one argument per line). `names` maps the tensors it reads to their
    variables; `env` block parameters to theirs."""
    tensors = set(names)

    def code(value) -> Code:
        if isinstance(value, Call):
            return function_code(value)
        if isinstance(value, Expr):
            return expression(value)
        if isinstance(value, list):
            return Code("", [code(v) for v in value], open_="[", close="]")
        if isinstance(value, tuple):
            return Code("", [code(v) for v in value], single_comma=True)
        if isinstance(value, Ref) and value.name in names:
            return Atom(names[value.name])
        return expr(value, None, env)

    def function_code(c: Call) -> Code:
        if c.name in BUILTINS and not reads_tensor(c, tensors):
            return expr(c, None, env)  # `max(8, c)`: Python's, on values
        definition = lookup_op(c.name)
        if definition is None:  # a function of positions_tree (cumsum, ones_like)
            function = c.name
        elif definition.name == "positions":
            (x,) = c.args
            return code(positions_tree(x))
        else:
            function = definition.function
        items = [code(a) for a in c.args] + [KeyValue(f"{k}=", code(v)) for k, v in c.kwargs]
        return Code(f"keras.ops.{function}", items)

    def operand_code(value, least: int) -> Code:
        """An operand, in parentheses (flat) when it binds less tightly than `least`."""
        if isinstance(value, Expr) and value.op not in PYTHON_OPERATORS and value.op in PRECEDENCE:
            tensor_form = reads_tensor(value, tensors)
            level = POSTFIX if tensor_form else strength(value)  # keras.ops.equal(...) is a call
        else:
            level = strength(value)
        return Atom(f"({code(value).flat()})") if level < least else code(value)

    def operand(value, least: int) -> str:
        return operand_code(value, least).flat()

    def expression(e: Expr) -> Code:
        if e.op == "attr":
            target, name = e.args
            return Atom(f"{operand(target, POSTFIX)}.{name}")
        if e.op == "index":
            target, *items = e.args
            return Atom(f"{operand(target, POSTFIX)}[{', '.join(subscript(i) for i in items)}]")
        if e.op in PRECEDENCE and e.op not in PYTHON_OPERATORS and reads_tensor(e, tensors):
            function = lookup_op(OPERATORS[e.op]).function
            return Code(f"keras.ops.{function}", [code(a) for a in e.args])
        if e.op in ("neg", "not"):
            (x,) = e.args
            sign = "-" if e.op == "neg" else "not "
            inner = operand_code(x, PRECEDENCE[e.op])
            if type(inner) is Code and inner.items and inner.open:  # `-keras.ops.sum(...)` explodes as the call
                return Code(sign + inner.head, inner.items, inner.tail, inner.open, inner.close, inner.single_comma)
            return Atom(sign + inner.flat())
        left, right = e.args
        level = PRECEDENCE[e.op]
        comparison = level == PRECEDENCE["=="]
        first = level + 1 if comparison else level
        return Binary.join(operand_code(left, first), e.op, operand_code(right, level + 1), chain=not comparison)

    def subscript(item) -> str:
        if isinstance(item, Expr) and item.op == "slice":
            start, stop, step = ("" if p is None else code(p).flat() for p in item.args)
            return f"{start}:{stop}" + (f":{step}" if step else "")
        if isinstance(item, Expr) and item.op == "ellipsis":
            return "..."
        return code(item).flat()

    return code(tree)


def operation_value(node, scope: Scope, tensor_var, env) -> Code:
    """The right-hand side an operation node prints: a value (`x.shape[-1] * 4`, Python's) or a
    tensor expression."""
    layer = node.layer
    if layer.static:
        return expr(layer.expr, None, env)
    return operation_code(layer.expr, {t: tensor_var(scope, t) for t in node.inputs}, env)


def call_kwargs(node, scope: Scope, tensor_var, env=None) -> list:
    """The call's keyword arguments as code items: tensors by their variables, values printed."""
    items = []
    for key, value in node.kwargs:
        if isinstance(value, TensorList):
            text = "[" + ", ".join(tensor_var(scope, t) for t in value) + "]"
        elif isinstance(value, Tensor):
            text = tensor_var(scope, value.name)
        else:
            text = expr(value, None, env).flat()
        items.append(KeyValue(f"{key}=", Atom(text)))
    return items


def targets_code(scope: Scope, node, tensor_var) -> str:
    """`out` or `out, h, c`: the variables a call's results go to."""
    return ", ".join(tensor_var(scope, t) for t in node.outputs)


class LocalNames(dict):
    """The Python names of a body's spec names, for printing values: block parameters (`env`),
    then the tensors and values the body makes, by their variables (asked of the scope when
    first printed)."""

    def __init__(self, env, scope: Scope, graph):
        super().__init__(env or {})
        self.scope = scope
        self.known = {n for node in graph.nodes for n in node.outputs} | {i.name for i in graph.inputs}
        self.shapes: dict = {}  # input -> the name of its shape, in build()

    def __contains__(self, name) -> bool:
        return dict.__contains__(self, name) or name in self.known or name.startswith(SHAPE_PREFIX)

    def __getitem__(self, name):
        if dict.__contains__(self, name):
            return dict.__getitem__(self, name)
        if name.startswith(SHAPE_PREFIX):
            return self.shapes[name[len(SHAPE_PREFIX) :]]
        return tensor_var(self.scope, name)


class Guards:
    """Python `if`/`else` around the statements of a body's `if` branches (Node.guard): opened
    and closed as consecutive statements enter and leave the branches."""

    def __init__(self, w, env, written=None):
        self.w = w
        self.env = env
        self.written = written or (lambda condition: condition)  # what build() prints for x.shape
        self.open: list = []  # the (condition, wanted) of each `if` the writer is inside

    def enter(self, guard: tuple) -> None:
        common = 0
        while common < min(len(guard), len(self.open)) and same(guard[common], self.open[common]):
            common += 1
        closed = None
        while len(self.open) > common:
            closed = self.open.pop()
            self.w.level -= 1
        for k, (condition, wanted) in enumerate(guard[common:]):
            if k == 0 and closed is not None and closed[0] is condition and closed[1] and not wanted:
                self.w.line("else:")  # the other branch of the `if` just closed
            else:
                test = expr(self.written(condition), None, self.env).flat()
                self.w.line(f"if {test}:" if wanted else f"if not ({test}):")
            self.w.level += 1
            self.open.append((condition, wanted))


def same(a: tuple, b: tuple) -> bool:
    return a[0] is b[0] and a[1] == b[1]


def shapes_of_inputs(value, shapes: dict):
    """`value` with each `x.shape` of an input `x` read as the name `shapes[x]` (build()'s
    `input_shape`, as Keras passes it)."""
    if isinstance(value, Expr):
        if value.op == "attr" and isinstance(value.args[0], Ref) and value.args[0].name in shapes:
            return Ref(SHAPE_PREFIX + value.args[0].name)
        return Expr(
            value.op,
            tuple(shapes_of_inputs(v, shapes) for v in value.args),
            tuple((k, shapes_of_inputs(v, shapes)) for k, v in value.kwargs),
            value.span,
        )
    if isinstance(value, Call):
        args = tuple(shapes_of_inputs(v, shapes) for v in value.args)
        return Call(value.name, args, tuple((k, shapes_of_inputs(v, shapes)) for k, v in value.kwargs), value.span)
    if isinstance(value, (list, tuple)):
        items = [shapes_of_inputs(v, shapes) for v in value]
        return items if isinstance(value, list) else tuple(items)
    return value


SHAPE_PREFIX = "shape of "  # not a name of the spec: it holds a space
