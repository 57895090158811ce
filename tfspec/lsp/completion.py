"""Completion: argument names inside a call, train settings inside `train`, and otherwise the
layers and operations of the catalog (plugins included), the blocks and the tensors in scope."""

from __future__ import annotations

import re

from lsprotocol import types

from ..check.schema import SCHEMA, expected_hint
from ..ir.catalog import REGISTRY, lookup
from ..ir.explain import default_text
from ..ir.ops import OPS, lookup_op
from .hover import signature
from .lookup import tensor_names
from .positions import UTF16, offset_of

KEYWORDS = ("model", "block", "train", "input", "output", "layer", "if", "else")
SECTION = re.compile(r"^\s*(model|block|train)\b")
CALLEE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*$")


def section(lines: list[str], row: int) -> str | None:
    """The top-level section (`model`, `block` or `train`) the line `row` is in."""
    for i in range(row, -1, -1):
        m = SECTION.match(lines[i])
        if m and not lines[i].startswith((" ", "\t")):
            return m.group(1)
    return None


def open_call(before: str) -> str | None:
    """The name of the call whose `(` is still open at the end of `before`, if any."""
    depth = 0
    for i in range(len(before) - 1, -1, -1):
        ch = before[i]
        if ch in ")]}":
            depth += 1
        elif ch in "([{":
            if depth == 0:
                if ch != "(":
                    return None
                m = CALLEE.search(before[:i])
                return m.group(1) if m else None
            depth -= 1
    return None


def argument_items(name: str) -> list[types.CompletionItem]:
    definition = lookup(name) or lookup_op(name)
    if definition is None:
        return []
    return [
        types.CompletionItem(
            label=f"{a.name}=",
            kind=types.CompletionItemKind.Property,
            detail=f"{a.type.name}, default {default_text(a)}",
            insert_text=f"{a.name}=",
        )
        for a in definition.args
    ]


def train_items() -> list[types.CompletionItem]:
    keys = sorted(SCHEMA["properties"]["train"]["properties"])
    return [
        types.CompletionItem(
            label=key,
            kind=types.CompletionItemKind.Property,
            detail=expected_hint(("train", key)),
            insert_text=f"{key} = ",
        )
        for key in keys
    ]


def general_items(spec) -> list[types.CompletionItem]:
    items = [
        types.CompletionItem(label=name, kind=types.CompletionItemKind.Class, detail=f"layer keras.layers.{name}")
        for name in sorted(REGISTRY)
    ]
    items += [
        types.CompletionItem(label=name, kind=types.CompletionItemKind.Function, detail="tensor operation")
        for name in sorted(OPS)
        if name not in REGISTRY
    ]
    if spec is not None:
        items += [
            types.CompletionItem(label=name, kind=types.CompletionItemKind.Module, detail=signature(block))
            for name, block in spec.blocks.items()
        ]
        items += [
            types.CompletionItem(label=name, kind=types.CompletionItemKind.Variable, detail="tensor")
            for name in tensor_names(spec)
        ]
    items += [types.CompletionItem(label=k, kind=types.CompletionItemKind.Keyword) for k in KEYWORDS]
    return items


def complete(doc, pos: types.Position, encoding: str = UTF16) -> types.CompletionList:
    if not doc.lines:
        return types.CompletionList(is_incomplete=False, items=general_items(doc.spec))
    row, col = offset_of(doc.lines, pos, encoding)
    before = doc.lines[row][:col]
    callee = open_call(before)
    if callee is not None:
        items = argument_items(callee)
    elif section(doc.lines, row) == "train" and "=" not in before:
        items = train_items()
    else:
        items = general_items(doc.spec)
    return types.CompletionList(is_incomplete=False, items=items)
