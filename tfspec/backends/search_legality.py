"""Style legality of a hypermodel (tfspec.search.hyper): the default point's model passed
tfspec.backends.legality; what a style writes for every point must hold at the others too.

Sequential needs a chain whichever way the `if` statements on hyperparameters go (each way is
tried, blocks written out). Where the printer carries padding masks in variables (tfspec.ir.masks),
it works them out for one body: `if` branches that give a tensor different masks are refused
(E706, as in blocks), and so is a layer repeated `* depth` whose output's mask is neither its
input's nor one it makes (E705).
"""

from __future__ import annotations

import itertools

from ..diagnostics import Diagnostic
from ..ir.masks import carried_masks
from ..ir.values import names_in
from ..ir.walk import used_blocks
from .legality import disagreeing_branches, is_alias, prebuilt, problems

MAX_CONDITIONS = 10  # `if` statements in one body of a Sequential hypermodel (each way is checked)


def hyper_problems(hyper, style: str) -> list[Diagnostic]:
    """What `style` cannot write of a hypermodel whose default point it can write."""
    if style == "sequential":
        found = chain_problem(hyper)
    else:
        found = problems(hyper.spec, style)
        found = found[0] if found else masked_problem(hyper, style) or repeated_prebuilt(hyper, style)
    return [found] if found else []


def chain_problem(hyper) -> Diagnostic | None:
    graph = hyper.block.graph
    if graph.losses:
        term = graph.losses[0]
        return not_sequential(f"add_loss {term.name}: a Sequential model cannot add a loss term", term.span)
    names = set(hyper.space.names)
    return broken_chain(graph.nodes, graph.inputs[0].name, graph.outputs[0], graph.output_spans[0], names)


def broken_chain(nodes: list, start: str, end: str, end_span, names: set) -> Diagnostic | None:
    """The first node that breaks the chain from `start` to `end`, for some way the `if`
    statements of the nodes go; blocks written out (tfspec.backends.hypermodel.inlined). The
    conditions may read the hyperparameters (`names`) only: no tensor is at hand to read a shape."""
    from .hypermodel import inlined

    conditions: list = []
    for node in nodes:
        for condition, _ in node.guard:
            if names_in(condition) - names:
                return not_sequential("a Sequential hypermodel chooses its layers by hyperparameters only", node.span)
            if not any(condition is c for c in conditions):
                conditions.append(condition)
    if len(conditions) > MAX_CONDITIONS:
        return not_sequential(f"more than {MAX_CONDITIONS} `if` statements in one chain", nodes[0].span)
    for truths in itertools.product((True, False), repeat=len(conditions)):
        chosen = dict(zip(map(id, conditions), truths))
        previous, seen = start, set()
        for node in nodes:
            if any(chosen[id(c)] != wanted for c, wanted in node.guard):
                continue
            layer = node.layer
            if is_alias(node) and node.inputs[0] == previous:
                previous = node.output
                continue
            if layer.static or layer.operation:
                what = "a value computed in the model" if layer.static else "a tensor operation"
                return not_sequential(f"{what} cannot be part of a Sequential hypermodel", node.span)
            if node.kwargs or node.more or len(node.inputs) != 1 or node.inputs[0] != previous or layer.id in seen:
                return not_sequential(f"{layer.kind} does not continue the chain of a Sequential model", node.span)
            seen.add(layer.id)
            if layer.block is not None:
                inner = layer.block.graph
                found = None
                if len(inner.inputs) != 1 or len(inner.outputs) != 1 or inner.losses:
                    found = not_sequential(f"block {layer.kind} is not a chain", node.span)
                found = found or broken_chain(inlined(layer), inner.inputs[0].name, inner.outputs[0], inner.span, names)
                if found:
                    message = found.message + f" (block {layer.kind} is written out here)"
                    return Diagnostic(found.code, message, found.span, found.hint)
            previous = node.output
        if previous != end:
            return not_sequential(f"{end!r} is not the end of the chain whichever way its `if` statements go", end_span)
    return None


def not_sequential(message: str, span) -> Diagnostic:
    return Diagnostic("E701", message, span, "use --style functional (or subclassing)")


def masked_problem(hyper, style: str) -> Diagnostic | None:
    """In a model body whose masks the printer carries in variables, `if` branches that give a
    tensor different masks (E706, as in a block), or a layer repeated by a hyperparameter whose
    output's mask is neither its input's nor one it makes (E705)."""
    shaped = hyper.spec.model
    infos = carried_masks(shaped, used_blocks(shaped), style)
    flow = infos[hyper.block.name].flow if infos is not None else None
    if flow is None or not flow.any:
        return None
    hint = "or drop the padding mask (mask_zero)"
    found = disagreeing_branches(
        flow, style, "this model's masks", f"apply the layer that makes the mask outside the `if`, {hint}"
    )
    if found:
        return found
    for node, in_masks, out_mask in flow.nodes:
        kept = out_mask is in_masks[0] or (out_mask is not None and out_mask.node is node)
        if node.repeat is not None and not kept:
            return Diagnostic(
                "E705",
                f"the {style} style carries this model's padding masks in variables, and cannot repeat "
                f"a {node.layer.kind} that drops its input's mask",
                node.span,
                f"repeat the layers before it, {hint}",
            )
    return None


def repeated_prebuilt(hyper, style: str) -> Diagnostic | None:
    """A layer the subclassing style builds where it makes it, repeated by a hyperparameter."""
    if style != "subclassing":
        return None
    built = prebuilt(hyper.spec)[0].get(hyper.block.name, {})
    for node in hyper.block.graph.nodes:
        if node.repeat is not None and built.get(node.layer.id) is not None:
            return Diagnostic(
                "E704",
                f"the subclassing style builds this {node.layer.kind} where it makes it, and cannot for "
                "layers repeated by a hyperparameter",
                node.span,
                "use --style functional, or apply it outside the repetition",
            )
    return None
