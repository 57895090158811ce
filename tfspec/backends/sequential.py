"""The Sequential printer: one list of layers; blocks are inlined (legality guarantees a chain)."""

from __future__ import annotations

from ..ir.nodes import Graph
from .common import constructor, input_code, reserve_names
from .emitter import (
    Atom,
    Code,
    KeyValue,
    Writer,
    call_code,
    class_path,
    header,
    imports,
    pystr,
    training_constant,
)


def generate(spec) -> str:
    w = Writer()
    header(w, spec, "sequential", "a Keras Sequential model")
    imports(w, [spec.model])
    w.blank(2)
    items = [Atom(input_code(spec.model.inputs[0], with_name=False))]
    items += chain_layers(spec.model)
    with w.block("def build_model():"):
        reserve_names(w, spec.model)
        w.code(
            Code(
                "keras.Sequential",
                [Code("", items, open_="[", close="]", explode=True), KeyValue("name=", Atom(pystr(spec.name)))],
                explode=True,
            ),
            "return ",
        )
    training_constant(w, spec)
    return w.text()


def chain_layers(graph: Graph) -> list:
    out = []
    for node in graph.nodes:
        layer = node.layer
        if layer.static or layer.operation:
            continue  # a value computed from shapes (its uses are printed computed), or `y = x` (legality)
        if layer.body is not None:
            out += chain_layers(layer.body)  # the block instance, parameters bound
        elif layer.computed is not None:
            out.append(call_code(class_path(layer.kind), layer.computed.args, layer.computed.kwargs))
        else:
            out.append(constructor(layer))
    return out
