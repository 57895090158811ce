"""Semantic tokens: layers and blocks, operations, tensors, argument names, hyperparameters and
the kinds of their spaces, keywords, dtypes, strings, numbers and comments, classified with the
catalog and the last good Spec."""

from __future__ import annotations

import re

from lsprotocol import types

from ..ir.catalog import REGISTRY
from ..ir.ops import OPS
from ..search.space import KINDS as SPACE_KINDS
from .lookup import SECTION, hypers
from .navigation import scoped_names
from .positions import UTF16, units

LEGEND = ["keyword", "class", "function", "variable", "parameter", "string", "number", "comment", "type"]
KIND = {name: i for i, name in enumerate(LEGEND)}
KEYWORDS = {"model", "block", "train", "search", "input", "output", "layer", "if", "else", "and", "or", "not"}
CONSTANTS = {"True", "False", "None", "true", "false"}
DTYPES = {"float16", "bfloat16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool", "string"}
TOKEN = re.compile(
    r"(?P<comment>#[^\r\n]*)|(?P<string>\"(?:[^\"\\]|\\.)*\"?|'(?:[^'\\]|\\.)*'?)"
    r"|(?P<number>\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<open>[(\[])|(?P<close>[)\]])|(?P<other>\S)"
)


def classify(name: str, after: str, depth: int, names: dict, where: str | None = None) -> str | None:
    """The kind of the name `name` followed by `after`, `depth` brackets deep, in the section `where`."""
    if name in KEYWORDS or name in CONSTANTS:
        return "keyword"
    if name in DTYPES:
        return "type"
    if after == "=" and depth > 0:
        return "parameter"
    if where == "search" and name in SPACE_KINDS and after == "(":
        return "function"
    if names.get(name) == "hyper":
        return "parameter"
    if names.get(name) == "block" or (name in REGISTRY and after != "="):
        return "class"
    if names.get(name) in ("tensor", "layer"):
        return "variable"
    if name in OPS:
        return "function"
    return None


def tokens(doc) -> list[tuple]:
    """(row, start, end, kind) in code points, in order."""
    in_block = scoped_names(doc.spec) if doc.spec is not None else {}
    # outside the blocks, the search section's names mean its hyperparameters (a block's body
    # sees them only through its parameters)
    elsewhere = {**in_block, **dict.fromkeys(hypers(doc.spec), "hyper")}
    out, depth, where = [], 0, None
    for row, line in enumerate(doc.lines):
        if top := SECTION.match(line):
            where = top.group(1)
        found = list(TOKEN.finditer(line))
        for i, m in enumerate(found):
            group = m.lastgroup
            if group == "open":
                depth += 1
            elif group == "close":
                depth = max(depth - 1, 0)
            elif group in ("comment", "string", "number"):
                out.append((row, m.start(), m.end(), group))
            elif group == "name":
                after = found[i + 1].group() if i + 1 < len(found) else ""
                names = in_block if where == "block" else elsewhere
                kind = classify(m.group(), after, depth, names, where)
                if kind is not None:
                    out.append((row, m.start(), m.end(), kind))
    return out


def semantic_tokens(doc, encoding: str = UTF16) -> types.SemanticTokens:
    """The tokens in LSP's relative encoding: line delta, start delta, length, kind, modifiers."""
    data, last_row, last_start = [], 0, 0
    for row, start, end, kind in tokens(doc):
        line = doc.lines[row]
        begin = units(line[:start], encoding)
        if row != last_row:
            last_start = 0
        data += [row - last_row, begin - last_start, units(line[start:end], encoding), KIND[kind], 0]
        last_row, last_start = row, begin
    return types.SemanticTokens(data=data)
