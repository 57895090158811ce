"""Finding what is under a position in a Spec: the layer call, the graph it belongs to, the
section of the text a line is in, and the hyperparameters of a search section."""

from __future__ import annotations

import re

SECTION = re.compile(r"(model|block|train|search)\b")


def contains(span, row: int, col: int) -> bool:
    """Whether 0-based (row, code-point col) lies in `span` (1-based, end exclusive)."""
    if span is None or not span.end_line:
        return False
    here = (row + 1, col + 1)
    return (span.line, span.column) <= here < (span.end_line, span.end_column) or here == (span.line, span.column)


def graphs(spec):
    """The model's graph and each block's template graph."""
    if spec is None:
        return []
    return [spec.model] + [b.graph for b in spec.blocks.values()]


def layer_at(spec, row: int, col: int):
    """(graph, layer, node) of the innermost layer call at the position, or None."""
    best = None
    for graph in graphs(spec):
        outputs = {}
        for node in graph.nodes:
            outputs.setdefault(id(node.layer), node)
        for layer in graph.layers:
            if contains(layer.span, row, col):
                size = (layer.span.end_line - layer.span.line, layer.span.end_column - layer.span.column)
                if best is None or size < best[0]:
                    best = (size, graph, layer, outputs.get(id(layer)))
    return best[1:] if best else None


def shape_text(shape) -> str:
    if shape is None:
        return "unknown"
    return "(" + ", ".join(["batch"] + ["None" if d is None else str(d) for d in shape]) + ")"


def tensor_names(spec) -> list[str]:
    """The model's tensors a user named (not the chain's intermediate `x~1` ones)."""
    if spec is None:
        return []
    names = [i.name for i in spec.model.inputs] + list(spec.model.shapes)
    return list(dict.fromkeys(n for n in names if "~" not in n))


def section(lines: list[str], row: int) -> str | None:
    """The top-level section (`model`, `block`, `train` or `search`) the line `row` is in: the
    keyword of the last unindented line at or above it that starts with one."""
    for i in range(min(row, len(lines) - 1), -1, -1):
        m = SECTION.match(lines[i])
        if m:
            return m.group(1)
    return None


def hypers(spec) -> dict:
    """name -> Hyper for each hyperparameter of the spec's search section ({} without one)."""
    space = getattr(spec, "space", None)
    return {h.name: h for h in space.hypers} if space else {}


def hyper_at(spec, lines: list[str], row: int, name: str):
    """The Hyper that `name` on line `row` means, or None: a name in a block's body is the
    block's own (a block sees hyperparameters only through its parameters)."""
    found = hypers(spec).get(name)
    if found is None or section(lines, row) == "block":
        return None
    return found
