"""Completion: argument names inside a call, train settings inside `train`, the kinds of search
space inside `search`, and otherwise the layers and operations of the catalog (plugins included),
the blocks, the tensors and the hyperparameters in scope."""

from __future__ import annotations

import re

from lsprotocol import types

from ..check.schema import SCHEMA, expected_hint
from ..ir.catalog import REGISTRY, lookup
from ..ir.explain import default_text
from ..ir.ops import OPS, lookup_op
from ..search.space import KEYWORDS as SPACE_KEYWORDS
from .hover import hyper_detail, signature
from .lookup import hypers, section, tensor_names
from .positions import UTF16, offset_of

KEYWORDS = ("model", "block", "train", "search", "input", "output", "layer", "if", "else")
CALLEE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*$")
# the kinds of search space, as snippets (`$1` ... are the editor's tab stops)
SPACES = (
    ("choice", "choice(${1:32}, ${2:64}, ${3:128})", "one of the values listed"),
    ("int", "int(${1:1}, ${2:4})", "a whole number from low to high (step=, log=true, default=)"),
    ("float", "float(${1:1e-4}, ${2:1e-2}, log=${3:true})", "a number from low to high (step=, log=true, default=)"),
    ("boolean", "boolean()", "true or false (default=)"),
)


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


def space_items() -> list[types.CompletionItem]:
    return [
        types.CompletionItem(
            label=kind,
            kind=types.CompletionItemKind.Snippet,
            detail=detail,
            insert_text=snippet,
            insert_text_format=types.InsertTextFormat.Snippet,
        )
        for kind, snippet, detail in SPACES
    ]


def space_argument_items(kind: str) -> list[types.CompletionItem]:
    return [
        types.CompletionItem(label=f"{key}=", kind=types.CompletionItemKind.Property, insert_text=f"{key}=")
        for key in SPACE_KEYWORDS[kind]
    ]


def hyper_items(spec) -> list[types.CompletionItem]:
    """The search section's names, which stand for values in the model and the train section."""
    return [
        types.CompletionItem(label=name, kind=types.CompletionItemKind.Constant, detail=hyper_detail(hyper))
        for name, hyper in hypers(spec).items()
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


def general_items(spec, in_block: bool = False) -> list[types.CompletionItem]:
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
        if not in_block:
            items += hyper_items(spec)
    items += [types.CompletionItem(label=k, kind=types.CompletionItemKind.Keyword) for k in KEYWORDS]
    return items


def complete(doc, pos: types.Position, encoding: str = UTF16) -> types.CompletionList:
    if not doc.lines:
        return types.CompletionList(is_incomplete=False, items=general_items(doc.spec))
    row, col = offset_of(doc.lines, pos, encoding)
    before = doc.lines[row][:col]
    callee = open_call(before)
    where = section(doc.lines, row)
    if where == "search":
        if callee in SPACE_KEYWORDS:
            items = space_argument_items(callee)
        else:  # a name starts the line; after its `=`, a kind of space
            items = space_items() if "=" in before and callee is None else []
    elif callee is not None:
        items = argument_items(callee) + ([] if where == "block" else hyper_items(doc.spec))
    elif where == "train" and "=" not in before:
        items = train_items()
    else:
        items = general_items(doc.spec, in_block=where == "block")
    return types.CompletionList(is_incomplete=False, items=items)
