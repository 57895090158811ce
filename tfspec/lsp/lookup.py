"""Finding what is under a position in a Spec: the layer call, the graph it belongs to."""

from __future__ import annotations


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
