"""The functional printer: `build_model()` wires keras.Input tensors through layers;
blocks become helper functions that apply fresh layers to a tensor."""

from __future__ import annotations

from ..ir.nodes import MISSING, Graph
from ..ir.walk import used_blocks  # linear: each block template once, however often it is used
from .common import (
    block_function_name,
    constructor,
    input_code,
    inputs_code,
    positional_inputs,
    rename_kwargs,
    tensor_var,
)
from .emitter import (
    MODULE_NAMES,
    Atom,
    Code,
    KeyValue,
    Scope,
    Writer,
    call_code,
    expr,
    header,
    pystr,
    training_constant,
)


def generate(spec) -> str:
    w = Writer()
    header(w, spec, "functional", "a Keras functional model")
    w.line("import keras")
    w.line("from keras import layers")
    module = Scope(MODULE_NAMES)
    blocks = used_blocks(spec.model, spec.blocks)
    functions = {block.name: module.add(block_function_name(block.name)) for block in blocks}
    signatures = {block.name: Signature(block, module) for block in blocks}
    for block in blocks:
        w.blank(2)
        block_function(w, block, functions, signatures)
    w.blank(2)
    with w.block("def build_model():"):
        scope = Scope(module.used | MODULE_NAMES)
        for inp in spec.model.inputs:
            w.line(f"{scope.add(inp.name)} = {input_code(inp)}")
        body(w, spec.model, scope, functions, signatures, env=None)
        ins = inputs_code(scope, [i.name for i in spec.model.inputs])
        outs = inputs_code(scope, spec.model.outputs)
        w.code(
            Code(
                "keras.Model",
                [
                    KeyValue("inputs=", Atom(ins)),
                    KeyValue("outputs=", Atom(outs)),
                    KeyValue("name=", Atom(pystr(spec.name))),
                ],
            ),
            "return ",
        )
    training_constant(w, spec)
    return w.text()


class Signature:
    """A block's helper function: its local names, parameters (inputs first) and their defaults."""

    def __init__(self, block, module: Scope):
        self.scope = Scope(module.used | MODULE_NAMES)
        self.inputs = [self.scope.add(i.name) for i in block.graph.inputs]
        self.params = {p: self.scope.add(p) for p, _ in block.params}  # spec name -> Python name
        self.text = ", ".join(
            self.inputs
            + [self.params[p] if d is MISSING else f"{self.params[p]}={expr(d).flat()}" for p, d in block.params]
        )


def block_function(w: Writer, block, functions, signatures) -> None:
    sig = signatures[block.name]
    with w.block(f"def {functions[block.name]}({sig.text}):"):
        w.line(f'"""The {block.name} block: fresh layers applied to the input."""')
        body(w, block.graph, sig.scope, functions, signatures, sig.params)
        w.line(f"return {tensor_var(sig.scope, block.graph.outputs[0])}")


def body(w: Writer, graph: Graph, scope: Scope, functions, signatures, env) -> None:
    declared = {}
    for layer in graph.layers:
        if layer.declared and layer.block is None:
            declared[layer.id] = scope.add(layer.id)
            w.code(constructor(layer, env), f"{declared[layer.id]} = ")
    for node in graph.nodes:
        layer = node.layer
        out = tensor_var(scope, node.output)
        if layer.block is not None:
            tensors = [Atom(tensor_var(scope, t)) for t in node.inputs]
            kwargs = rename_kwargs(layer.call.kwargs, signatures[layer.kind].params)
            arguments = call_code("", layer.call.args, kwargs, env).items
            w.code(Code(functions[layer.kind], tensors + arguments), f"{out} = ")
        elif layer.id in declared:
            w.line(f"{out} = {declared[layer.id]}({inputs_code(scope, node.inputs, positional_inputs(layer))})")
        else:
            w.code(
                constructor(layer, env), f"{out} = ", f"({inputs_code(scope, node.inputs, positional_inputs(layer))})"
            )
