"""The functional printer: `build_model()` wires keras.Input tensors through layers;
blocks become helper functions that apply fresh layers to a tensor."""

from __future__ import annotations

from ..ir.nodes import Graph
from .common import (
    block_function_name,
    constructor,
    input_code,
    inputs_code,
    positional_inputs,
    tensor_var,
    used_blocks,
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
    functions = {}
    for block in used_blocks(spec.model, spec.blocks):
        functions[block.name] = module.add(block_function_name(block.name))
    for block in used_blocks(spec.model, spec.blocks):
        w.blank(2)
        block_function(w, block, functions, module)
    w.blank(2)
    with w.block("def build_model():"):
        scope = Scope(module.used | MODULE_NAMES)
        for inp in spec.model.inputs:
            w.line(f"{scope.add(inp.name)} = {input_code(inp)}")
        body(w, spec.model, scope, functions, env=None)
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


def block_function(w: Writer, block, functions, module: Scope) -> None:
    graph = block.graph
    scope = Scope(module.used | MODULE_NAMES)
    params = [scope.add(i.name) for i in graph.inputs]
    env = {}
    for pname, default in block.params:
        env[pname] = scope.add(pname)
        params.append(
            env[pname] if default.__class__.__name__ == "_Missing" else f"{env[pname]}={expr(default).flat()}"
        )
    with w.block(f"def {functions[block.name]}({', '.join(params)}):"):
        w.line(f'"""The {block.name} block: fresh layers applied to the input."""')
        body(w, graph, scope, functions, env)
        w.line(f"return {tensor_var(scope, graph.outputs[0])}")


def body(w: Writer, graph: Graph, scope: Scope, functions, env) -> None:
    declared = {}
    for layer in graph.layers:
        if layer.declared and layer.block is None:
            declared[layer.id] = scope.add(layer.id)
            w.code(constructor(layer, env), f"{declared[layer.id]} = ")
    for node in graph.nodes:
        layer = node.layer
        out = tensor_var(scope, node.output)
        if layer.block is not None:
            args = [tensor_var(scope, t) for t in node.inputs]
            call = call_code(functions[layer.kind], [], [], env)
            call.items = [Atom(a) for a in args] + call_code("", layer.call.args, block_kwargs(layer), env).items
            w.code(call, f"{out} = ")
        elif layer.id in declared:
            w.line(f"{out} = {declared[layer.id]}({inputs_code(scope, node.inputs, positional_inputs(layer))})")
        else:
            w.code(
                constructor(layer, env), f"{out} = ", f"({inputs_code(scope, node.inputs, positional_inputs(layer))})"
            )


def block_kwargs(layer):
    return layer.call.kwargs
