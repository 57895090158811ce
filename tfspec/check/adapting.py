"""Layers that learn their state from the training data before training (Normalization without
mean/variance, Discretization without bin_boundaries, the lookups and TextVectorization without a
vocabulary): where they may stand, so that `check` passes only what the runtime can adapt.

The rule: such a layer takes a model input directly, in the model itself (not inside a block).
The runtime then adapts it on that input's training split, whatever the style (the data reaching
it is exactly the input's data: nothing computed before it has weights that training would
change). A layer shared by several inputs adapts on all of them; they must then have one shape.
A spec without a train section is not held to the rule (nothing adapts it; the Keras code is
still right for anyone who calls adapt() themselves).
"""

from __future__ import annotations

from ..ir.catalog import lookup

# The arguments that give each layer its state, for the hint (and the rule when the catalog has none).
STATE = {
    "Normalization": ("mean", "variance"),
    "Discretization": ("bin_boundaries",),
    "StringLookup": ("vocabulary",),
    "IntegerLookup": ("vocabulary",),
    "TextVectorization": ("vocabulary",),
}


def adapts(layer) -> bool:
    """Whether an IR layer learns its state from data before training: the catalog's own rule
    (`adapts(values)`), else a missing state argument of a layer named in STATE."""
    if layer.operation or layer.block is not None:
        return False
    definition = lookup(layer.kind)
    rule = getattr(definition, "adapts", None) if definition is not None else None
    if callable(rule):
        return bool(rule(layer.values))
    names = STATE.get(layer.kind)
    return bool(names) and any(layer.values.get(n) is None for n in names)


def _state_hint(kind: str) -> str:
    names = STATE.get(kind)
    if not names:
        return "or give it its state in the spec"
    return "or give it its state: " + " and ".join(f"{n}=..." for n in names)


def adapting_nodes(model) -> list:
    """[(layer, [model input names it takes])] of the model's adapting layers, in creation order
    (a layer shared by several inputs once). Only what `check_adapting` lets through."""
    inputs = {i.name for i in model.inputs}
    found: dict = {}
    for node in model.nodes:
        if adapts(node.layer) and node.inputs and node.inputs[0] in inputs:
            found.setdefault(node.layer.id, (node.layer, []))[1].append(node.inputs[0])
    return [(layer, list(dict.fromkeys(names))) for layer, names in found.values()]


def _bodies(model):
    """(graph, block name or None) of the model and of every distinct block body in it, each once."""
    seen, stack = {id(model)}, [(model, None)]
    while stack:
        graph, name = stack.pop()
        yield graph, name
        for layer in graph.layers:
            body = layer.body
            if body is not None and id(body) not in seen:
                seen.add(id(body))
                stack.append((body, layer.kind))


def _described(graph, tensor: str) -> str:
    """'the output of Dense' (a tensor the chain does not name), or "'h', the output of Dense"."""
    producer = graph.producer(tensor)
    made = f"the output of {producer.layer.kind}" if producer is not None else "a tensor that is not a model input"
    return made if "~" in tensor else f"'{tensor}', {made}"


def check_adapting(model, errors) -> None:
    """Report every adapting layer that does not take a model input directly (E607)."""
    if model is None:
        return
    input_shapes = {i.name: (tuple(i.shape) if i.shape is not None else None, i.dtype) for i in model.inputs}
    for graph, block in _bodies(model):
        shared: dict = {}
        for node in graph.nodes:
            layer = node.layer
            if not adapts(layer):
                continue
            what = f"{layer.kind} learns its state from the training data (the runtime adapts it before training)"
            if block is not None:
                errors.error(
                    "E607",
                    f"{what}, so it must take a model input directly, not stand inside block {block}",
                    node.span,
                    f"apply it to the model's input outside the block, {_state_hint(layer.kind)}",
                )
                continue
            source = node.inputs[0] if node.inputs else None
            if source not in input_shapes or len(node.inputs) != 1:
                made = _described(graph, source) if source else "no model input"
                errors.error(
                    "E607",
                    f"{what}, so it must take a model input directly; here it takes {made}",
                    node.span,
                    f"apply it first, to the input (`input -> {layer.kind}(...) -> ...`), {_state_hint(layer.kind)}",
                )
                continue
            first = shared.setdefault(layer.id, (source, input_shapes[source]))
            if first[1] != input_shapes[source]:
                errors.error(
                    "E607",
                    f"{layer.kind} is shared by inputs '{first[0]}' and '{source}' of different shapes or dtypes, so "
                    "it cannot adapt to both",
                    node.span,
                    "give each input its own layer",
                )


def style_problem(model, style: str) -> str | None:
    """Why the runtime cannot adapt the model in `style`, or None. A subclassed Keras model runs
    its layers once while it is built, before any data is seen, and Discretization refuses to run
    without bin boundaries (the lookups and Normalization run unadapted)."""
    if style != "subclassing":
        return None
    for layer, _ in adapting_nodes(model):
        if layer.kind == "Discretization":
            return (
                f"Discretization {layer.id!r} learns its bin boundaries from the training data, but a subclassed "
                "Keras model runs it when the model is built, before that; train it in the functional style "
                "(--style functional), or give it bin_boundaries=[...]"
            )
    return None
