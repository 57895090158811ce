"""Style legality as an IR pass: can this graph be written in a given Keras style?

Sequential needs one input, one output, a linear chain and no shared layers (blocks are
inlined, so their bodies must be linear too). Functional writes blocks as helper
functions, which cannot share one block instance between two applications. Subclassing
can express every graph. Each refusal points at the first construct that prevents it.
"""

from __future__ import annotations

from ..diagnostics import Diagnostic
from ..ir.nodes import Graph

STYLES = ("sequential", "functional", "subclassing")


def problems(spec, style: str) -> list[Diagnostic]:
    if style == "sequential":
        found = sequential_problem(spec.model, top=True)
        return [found] if found else []
    if style == "functional":
        found = shared_block(spec.model)
        return [found] if found else []
    return []


def sequential_problem(graph: Graph, top: bool) -> Diagnostic | None:
    hint = "use --style functional (or subclassing)"
    if len(graph.inputs) != 1:
        return Diagnostic(
            "E701",
            f"a Sequential model has one input; {graph.name} has {len(graph.inputs)}",
            graph.inputs[1].span if len(graph.inputs) > 1 else graph.span,
            hint,
        )
    if len(graph.outputs) != 1:
        span = graph.output_spans[1] if len(graph.output_spans) > 1 else graph.span
        return Diagnostic(
            "E701", f"a Sequential model has one output; {graph.name} has {len(graph.outputs)}", span, hint
        )
    previous = graph.inputs[0].name
    seen = set()
    for node in graph.nodes:
        if len(node.inputs) != 1:
            return Diagnostic(
                "E701",
                f"{node.layer.kind} merges {len(node.inputs)} tensors; Sequential models are a single chain",
                node.span,
                hint,
            )
        if node.inputs[0] != previous:
            return Diagnostic(
                "E701",
                f"this chain starts from {node.inputs[0]!r}, not from the result of the "
                "layer before it; Sequential models are a single chain",
                node.span,
                hint,
            )
        if node.layer.id in seen:
            return Diagnostic(
                "E701",
                f"layer {node.layer.id!r} is shared (applied more than once); Sequential models cannot share layers",
                node.span,
                hint,
            )
        seen.add(node.layer.id)
        if node.layer.body is not None:
            inner = sequential_problem(node.layer.body, top=False)
            if inner:
                return Diagnostic(
                    inner.code, inner.message + f" (block {node.layer.kind} is inlined here)", inner.span, inner.hint
                )
        previous = node.output
    if graph.outputs[0] != previous:
        return Diagnostic(
            "E701", f"the output {graph.outputs[0]!r} is not the end of the chain", graph.output_spans[0], hint
        )
    return None


def shared_block(graph: Graph) -> Diagnostic | None:
    seen = set()
    for node in graph.nodes:
        layer = node.layer
        if layer.block is not None:
            if layer.id in seen:
                return Diagnostic(
                    "E702",
                    f"block instance {layer.id!r} is applied twice (shared weights); "
                    "functional blocks are helper functions that make new layers on each call",
                    node.span,
                    "use --style subclassing, or share the layers inside the block",
                )
            seen.add(layer.id)
            if layer.body is not None:
                inner = shared_block(layer.body)
                if inner:
                    return inner
    return None


def allowed_styles(spec) -> list[str]:
    return [s for s in STYLES if not problems(spec, s)]
