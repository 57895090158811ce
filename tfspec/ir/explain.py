"""`tfspec explain NAME` for the model's vocabulary: a layer of the catalog (its constructor
arguments, what its call takes, what it yields) or a tensor operation (tfspec.ir.ops). Read
from the same tables that check, shape and print specs, so it cannot drift from them."""

from __future__ import annotations

from .catalog import lookup
from .ops import OPERATORS, lookup_op
from .values import show

SYMBOLS = {op: name for op, name in OPERATORS.items()}


def default_text(arg) -> str:
    if arg.required:
        return "required"
    return f"`{show(arg.default)}`"


def describe_layer(definition) -> str:
    lines = [f"### {definition.name} (layer)", ""]
    if definition.doc:
        lines += [definition.doc, ""]
    if definition.plugin is not None:
        from ..plugins import plugin_of

        lines += [
            f"From the plugin `{definition.plugin}` (Keras class in `{plugin_of(definition.plugin).module}`).",
            "",
        ]
    low, high = definition.inputs
    takes = f"{low}" if low == high else f"{low} or more" if high is None else f"{low} to {high}"
    lines += [f"Applied to {takes} tensor{'s' if high != 1 else ''}: `x -> {definition.name}(...) -> y`.", ""]
    lines += ["| argument | type | default |", "|---|---|---|"]
    lines += [f"| `{a.name}` | {a.type.name} | {default_text(a)} |" for a in definition.args]
    lines.append("")
    if definition.call_args:
        lines += [
            f"Its call takes (`{definition.name}(...)(x, name=...)`, or in a chain "
            f"`x -> {definition.name}(...)(name=...) -> y`):",
            "",
            "| call argument | takes | |",
            "|---|---|---|",
        ]
        for c in definition.call_args:
            if c.tensors == 0:
                takes = c.type.name if c.type is not None else "a value"
            elif isinstance(c.tensors, tuple):
                takes = f"a list of {c.tensors[0]} to {c.tensors[1]} tensors"
            else:
                takes = "a tensor"
            lines.append(f"| `{c.name}` | {takes} | {c.doc} |")
        lines.append("")
    if definition.call_rule is not None and definition.name in ("LSTM", "GRU", "SimpleRNN", "Bidirectional"):
        lines += [
            "With `return_state=True` it yields its states after its output: `out, h, c = LSTM(8, return_state=True)(x)`.",
            "",
        ]
    elif any(c.name == "return_attention_scores" for c in definition.call_args):
        lines += ["With `return_attention_scores=True` it yields the scores after its output: `out, scores = ...`.", ""]
    return "\n".join(lines)


def describe_op(op) -> str:
    symbol = [s for s, name in SYMBOLS.items() if name == op.name]
    lines = [f"### {op.name} (tensor operation)", ""]
    if op.doc:
        lines += [op.doc, ""]
    printed = (
        "computed from the positions of the input's steps" if op.name == "positions" else f"`keras.ops.{op.function}`"
    )
    lines += [f"Printed as {printed}" + (f"; written with the operator `{symbol[0]}`." if symbol else "."), ""]
    low, high = op.tensors
    operands = "a list of tensors" if op.listed else (f"{low}" if low == high else f"{low} or more") + " operand(s)"
    lines += [f"Takes {operands} first" + (", numbers allowed" if op.constants and not op.listed else "") + ".", ""]
    if op.args:
        lines += ["| argument | type | default |", "|---|---|---|"]
        lines += [f"| `{a.name}` | {a.type.name} | {default_text(a)} |" for a in op.args]
        lines.append("")
    return "\n".join(lines)


def describe(name: str) -> str | None:
    """The entries named `name` (a layer, an operation, or both: `abs`), or None."""
    found = []
    definition = lookup(name)
    if definition is not None:
        found.append(describe_layer(definition))
    op = lookup_op(name) or lookup_op(OPERATORS.get(name, ""))
    if op is not None:
        found.append(describe_op(op))
    return "\n".join(found) if found else None
