"""Static shape inference and parameter counting through a whole graph (blocks included)."""

from __future__ import annotations

from ..diagnostics import Collector
from .catalog import REGISTRY, ShapeError
from .layers import fmt
from .lower import instantiate
from .nodes import Graph


def infer(graph: Graph, errors: Collector, input_shapes=None, context: str = "") -> None:
    """Fill graph.shapes and graph.params; report shape errors (E501/E502) to `errors`."""
    shapes = graph.shapes
    given = input_shapes if input_shapes is not None else [i.shape for i in graph.inputs]
    for inp, shape in zip(graph.inputs, given):
        shapes[inp.name] = tuple(shape) if shape is not None else None
    for node in graph.nodes:
        ins = [shapes.get(t) for t in node.inputs]
        if any(s is None for s in ins):
            continue  # an earlier error already explains this
        layer = node.layer
        try:
            if layer.block is not None:
                out, params = infer_block(layer, ins, errors, node)
            else:
                definition = REGISTRY[layer.kind]
                out = tuple(definition.shape(ins, layer.values))
                params = definition.params(ins, layer.values, out)
        except ShapeError as exc:
            errors.error("E501", exc.message + context, node.span, exc.hint)
            continue
        except Exception as exc:  # noqa: BLE001 - a rule fed values it cannot use: report, never crash
            errors.error("E500", f"cannot infer the output shape of {layer.kind}: {exc}{context}", node.span)
            continue
        if out is None:
            continue
        if layer.id in graph.params and graph.params[layer.id] != params:
            errors.error(
                "E502",
                f"shared layer {layer.id!r} is applied to inputs of another shape "
                f"({', '.join(fmt(s) for s in ins)}) than at its first use{context}",
                node.span,
                "a shared layer needs the same input shape everywhere it is applied",
            )
            continue
        graph.params.setdefault(layer.id, tuple(params))
        shapes[node.output] = out


def infer_block(layer, ins, errors: Collector, node):
    """Shapes through one application of a block instance; returns (output shape, params)."""
    context = f" (in block {layer.kind} used at line {node.span.line})"
    before = len(errors.items)
    if layer.body is None:
        layer.body = instantiate(layer.block, layer.values, errors, node.span)
        body = layer.body
    else:  # a shared block applied again: check it on a fresh copy
        body = instantiate(layer.block, layer.values, errors, node.span)
    # When its arguments are wrong (already reported), a shape rule may fail on them in ways
    # that say nothing new (E500 on a string where an int belongs): infer quietly then, so
    # that the chain after it is still checked when a shape does come out.
    bad_arguments = len(errors.items) > before
    sink = Collector(errors.path) if bad_arguments else errors
    before = len(sink.items)
    infer(body, sink, ins, context)
    if len(sink.items) > before:
        return None, (0, 0)
    out = body.shapes.get(body.outputs[0]) if body.outputs else None
    if bad_arguments:
        plausible = out is not None and all(d is None or (type(d) is int and d >= 0) for d in out)
        return (out if plausible else None), (0, 0)
    trainable = sum(p[0] for p in body.params.values())
    frozen = sum(p[1] for p in body.params.values())
    return out, (trainable, frozen)


def totals(graph: Graph) -> tuple[int, int]:
    return (sum(p[0] for p in graph.params.values()), sum(p[1] for p in graph.params.values()))
