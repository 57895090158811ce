"""Go to definition, references and rename for tensors, declared layers, blocks and
hyperparameters.

Names are found in the text (identifiers outside comments and strings, not after a `.` and not
an argument name `name=` inside a call) and resolved against the last good Spec: a tensor or a
declared layer is scoped to the section (model or block) it is in, a block to the whole file.
The train section shares the model's scope, as its losses and metrics name the model's outputs.
The first occurrence in its scope is a name's definition (an input, a `-> name` result, a
`layer name =`), since a spec defines a name before it uses it. A hyperparameter is defined in
the search section, wherever that is in the file, and used in the model and the train section
(a block's body has names of its own).
"""

from __future__ import annotations

import keyword
import re

from lsprotocol import types

from .lookup import hypers
from .positions import UTF16, offset_of, units

TOKEN = re.compile(r"#[^\r\n]*|\"(?:[^\"\\]|\\.)*\"?|'(?:[^'\\]|\\.)*'?|[A-Za-z_][A-Za-z0-9_]*|[()\[\]{}]|==|=|\.|\S")
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
TOP = re.compile(r"(model|block|train|search)\b")
HYPER_SCOPE = ("search", "model", "train")  # the sections where a hyperparameter's name means it


def occurrences(lines: list[str]) -> list[tuple]:
    """(section, row, start, end, name) of every name in the text that may be a reference."""
    found = []
    section, depth, previous = (-1, ""), 0, ""
    for row, line in enumerate(lines):
        if m := TOP.match(line):
            section, depth = (row, m.group(1)), 0
        tokens = list(TOKEN.finditer(line))
        for i, m in enumerate(tokens):
            text = m.group()
            if text in "([":  # not `{`: a body's braces hold statements, not arguments
                depth += 1
            elif text in ")]":
                depth = max(depth - 1, 0)
            elif NAME.fullmatch(text) and previous != "." and not keyword.iskeyword(text):
                after = tokens[i + 1].group() if i + 1 < len(tokens) else ""
                if not (after == "=" and depth > 0):  # an argument name
                    found.append((section, row, m.start(), m.end(), text))
            previous = text
    return found


def scoped_names(spec) -> dict:
    """name -> "tensor" | "layer" for every graph, and the block names."""
    names = {}
    for graph in [spec.model] + [b.graph for b in spec.blocks.values()]:
        names.update((i.name, "tensor") for i in graph.inputs)
        names.update((n.output, "tensor") for n in graph.nodes if "~" not in n.output)
        names.update((name, "tensor") for name in graph.outputs)
        names.update((name, "tensor") for name in graph.values)
        names.update((layer.id, "layer") for layer in graph.layers if layer.declared)
    names.update((name, "block") for name in spec.blocks)
    return names


def references(doc, pos: types.Position, encoding: str = UTF16) -> list[tuple]:
    """Every occurrence of the name at `pos`, the definition first; [] when it is not one of ours."""
    if doc.spec is None or not doc.lines:
        return []
    row, col = offset_of(doc.lines, pos, encoding)
    found = occurrences(doc.lines)
    here = next((o for o in found if o[1] == row and o[2] <= col <= o[3]), None)
    if here is None:
        return []
    if here[0][1] in HYPER_SCOPE and here[4] in hypers(doc.spec):
        uses = [o for o in found if o[4] == here[4] and o[0][1] in HYPER_SCOPE]
        return sorted(uses, key=lambda o: o[0][1] != "search")  # the definition first; stable
    kind = scoped_names(doc.spec).get(here[4])
    if kind is None:
        return []
    if kind == "block":
        return [o for o in found if o[4] == here[4]]
    return [o for o in found if o[4] == here[4] and same_scope(o[0], here[0])]


def same_scope(a: tuple, b: tuple) -> bool:
    """Sections are (first row, keyword); `train` names the model's outputs (`loss = {out: ...}`)."""
    return a == b or {a[1], b[1]} == {"model", "train"}


def to_location(doc, occurrence, encoding: str = UTF16) -> types.Location:
    _, row, start, end, _ = occurrence
    line = doc.lines[row]
    r = types.Range(
        start=types.Position(line=row, character=units(line[:start], encoding)),
        end=types.Position(line=row, character=units(line[:end], encoding)),
    )
    return types.Location(uri=doc.uri, range=r)


def definition(doc, pos: types.Position, encoding: str = UTF16) -> types.Location | None:
    found = references(doc, pos, encoding)
    return to_location(doc, found[0], encoding) if found else None


def all_references(doc, pos: types.Position, encoding: str = UTF16) -> list[types.Location]:
    return [to_location(doc, o, encoding) for o in references(doc, pos, encoding)]


def rename(doc, pos: types.Position, new_name: str, encoding: str = UTF16) -> types.WorkspaceEdit | None:
    """Every occurrence renamed; None when the new name is not a plain identifier or is taken."""
    if not NAME.fullmatch(new_name or "") or keyword.iskeyword(new_name) or "~" in new_name:
        return None
    found = references(doc, pos, encoding)
    if not found or new_name in scoped_names(doc.spec) or new_name in hypers(doc.spec):
        return None
    edits = [types.TextEdit(range=to_location(doc, o, encoding).range, new_text=new_name) for o in found]
    return types.WorkspaceEdit(changes={doc.uri: edits})
