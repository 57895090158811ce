"""Weights across styles: find each spec layer's Keras layer in a live model of any style,
so weights can be copied layer by layer.

Flat weight lists (`get_weights`) do not line up across styles: a functional model orders
its layers by graph depth, while a subclassed model orders them as its __init__ creates
them, with blocks as single layers. The IR knows every layer, so we map it instead:
sequential by position, subclassing by attribute path, functional by walking the graph
back from the outputs (each Keras tensor remembers the layer call that produced it).
"""

from __future__ import annotations

from .ir.nodes import Graph


def leaf_nodes(graph: Graph, path=(), rename=None):
    """Applications of innermost layers in order, block bodies inlined:
    (path of layer ids, input tensors, output tensor), tensors uniquely renamed."""
    rename = rename if rename is not None else {}
    out = []
    for index, node in enumerate(graph.nodes):
        ins = tuple(rename.get(t, "/".join(path + (t,))) for t in node.inputs)
        result = "/".join(path + (node.output,))
        if node.layer.body is not None:
            body = node.layer.body
            inner = {i.name: t for i, t in zip(body.inputs, ins)}
            sub_path = path + (f"{node.layer.id}#{index}",)
            sub = leaf_nodes(body, sub_path, inner)
            out += sub
            rename[node.output] = inner.get(body.outputs[0], "/".join(sub_path + (body.outputs[0],)))
        else:
            out.append((path + (node.layer.id,), ins, result))
            rename[node.output] = result
    return out


def strip(path) -> tuple:
    """A leaf's layer identity: block application markers (`id#n`) dropped to the block id."""
    return tuple(p.split("#", 1)[0] for p in path)


def functional_layers(model, spec) -> dict:
    """{layer path: keras layer} for a functional model, by walking back from the outputs."""
    rename: dict = {}  # filled by leaf_nodes: a block application's result -> its inner tensor
    nodes = leaf_nodes(spec.model, rename=rename)
    tensors = {rename.get(name, name): kt for name, kt in zip(spec.model.outputs, model.outputs)}
    found = {}
    for path, ins, out in reversed(nodes):
        kt = tensors.get(out)
        if kt is None:
            continue
        history = kt._keras_history
        layer = history.operation
        found.setdefault(path, layer)
        node = layer._inbound_nodes[history.node_index]
        for name, tensor in zip(ins, node.input_tensors):
            tensors.setdefault(name, tensor)
    return found


def subclassing_layers(model, spec) -> dict:
    from .backends.subclassing import attribute_names

    found = {}

    def walk(obj, graph, path, params=()):
        _, attrs = attribute_names(graph, params)
        for layer in graph.layers:
            child = getattr(obj, attrs[layer.id])
            if layer.block is not None:
                walk(child, layer.block.graph, path + (layer.id,), [p for p, _ in layer.block.params])
            else:
                found[path + (layer.id,)] = child

    walk(model, spec.model, ())
    return found


def sequential_layers(model, spec) -> dict:
    paths = [path for path, _, _ in leaf_nodes(spec.model)]
    return dict(zip(paths, model.layers))


def layers_by_path(model, spec, style: str) -> dict:
    """{path of layer ids (block ids first): keras layer}; block applications collapse to one path."""
    if style == "sequential":
        raw = sequential_layers(model, spec)
    elif style == "functional":
        raw = functional_layers(model, spec)
    else:
        return subclassing_layers(model, spec)
    return {strip(path): layer for path, layer in raw.items()}


def copy_weights(spec, source, source_style: str, target, target_style: str) -> None:
    """Copy every layer's weights from `source` into `target` (models of `spec`, any styles)."""
    src = layers_by_path(source, spec, source_style)
    dst = layers_by_path(target, spec, target_style)
    missing = set(src) ^ set(dst)
    if missing:
        raise ValueError(f"the two models do not have the same layers: {sorted(missing)[:5]}")
    for path, layer in src.items():
        dst[path].set_weights(layer.get_weights())
