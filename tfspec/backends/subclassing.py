"""The subclassing printer: a keras.Model subclass whose layers are made in __init__ and
wired in call(); blocks become keras.layers.Layer subclasses with get_config.

Several inputs are passed to call() as one list, in the order the spec declares them.
"""

from __future__ import annotations

from ..ir.nodes import MISSING, Graph
from .common import (
    constructor,
    input_code,
    inputs_code,
    positional_inputs,
    rename_kwargs,
    takes_training,
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
    attribute_name,
    call_code,
    expr,
    header,
    pystr,
    training_constant,
)

LOCAL_NAMES = MODULE_NAMES | {"self", "training", "kwargs", "config"}


def generate(spec) -> str:
    w = Writer()
    header(w, spec, "subclassing", "a Keras model subclass")
    w.line("import keras")
    w.line("from keras import layers")
    module = Scope(MODULE_NAMES)
    classes = {}
    for block in used_blocks(spec.model, spec.blocks):
        classes[block.name] = module.add(block.name)
    model_class = module.add(spec.name)
    for block in used_blocks(spec.model, spec.blocks):
        w.blank(2)
        block_class(w, block, classes)
    w.blank(2)
    model_class_code(w, spec, model_class, classes)
    w.blank(2)
    with w.block("def build_model():"):
        w.line(f"model = {model_class}(name={pystr(spec.name)})")
        ins = [Atom(input_code(i)) for i in spec.model.inputs]
        arg = ins[0] if len(ins) == 1 else Code("", ins, open_="[", close="]")
        w.line("# Calling the model once on symbolic inputs creates its weights.")
        w.code(Code("model", [arg]))
        w.line("return model")
    training_constant(w, spec)
    return w.text()


def attribute_names(graph: Graph, params=()) -> tuple[dict, dict]:
    """`self.<name>` for each block parameter and each layer: ({param: attr}, {layer id: attr})."""
    taken: set = set()
    scope = Scope(LOCAL_NAMES)
    param_attrs = {p: attribute_name(scope.add(p), taken) for p in params}
    return param_attrs, {layer.id: attribute_name(layer.id, taken) for layer in graph.layers}


def init_parameters(block) -> dict:
    """{spec parameter: Python name} of a block class's __init__ (used by its callers too)."""
    scope = Scope(LOCAL_NAMES)
    return {p: scope.add(p) for p, _ in block.params}


def layer_attributes(w: Writer, graph: Graph, classes, env, attrs: dict) -> None:
    for layer in graph.layers:
        if layer.block is not None:
            kwargs = rename_kwargs(layer.call.kwargs, init_parameters(layer.block))
            call = call_code(classes[layer.kind], layer.call.args, kwargs, env)
        else:
            call = constructor(layer, env)
        w.code(call, f"self.{attrs[layer.id]} = ")


def call_body(w: Writer, graph: Graph, scope: Scope, attrs) -> None:
    for node in graph.nodes:
        layer = node.layer
        out = tensor_var(scope, node.output)
        extra = ", training=training" if takes_training(layer) else ""
        args = inputs_code(scope, node.inputs, positional_inputs(layer))
        w.line(f"{out} = self.{attrs[layer.id]}({args}{extra})")


def block_class(w: Writer, block, classes) -> None:
    graph = block.graph
    w.line('@keras.saving.register_keras_serializable(package="tfspec")')
    with w.block(f"class {classes[block.name]}(keras.layers.Layer):"):
        w.line(f'"""The {block.name} block."""')
        w.blank()
        env = init_parameters(block)
        params = [env[p] if default is MISSING else f"{env[p]}={expr(default).flat()}" for p, default in block.params]
        param_attrs, attrs = attribute_names(graph, [p for p, _ in block.params])
        with w.block(f"def __init__({', '.join(['self', *params, '**kwargs'])}):"):
            w.line("super().__init__(**kwargs)")
            for pname, _ in block.params:
                w.line(f"self.{param_attrs[pname]} = {env[pname]}")
            layer_attributes(w, graph, classes, env, attrs)
        w.blank()
        call_scope = Scope(LOCAL_NAMES)
        ins = [call_scope.add(i.name) for i in graph.inputs]
        with w.block(f"def call(self, {ins[0] if len(ins) == 1 else 'inputs'}, training=None):"):
            if len(ins) > 1:
                w.line(f"{', '.join(ins)} = inputs")
            call_body(w, graph, call_scope, attrs)
            w.line(f"return {tensor_var(call_scope, graph.outputs[0])}")
        w.blank()
        with w.block("def get_config(self):"):
            w.line("config = super().get_config()")
            if block.params:
                items = [KeyValue(pystr(env[p]) + ": ", Atom(f"self.{param_attrs[p]}")) for p, _ in block.params]
                w.code(Code("config.update", [Code("", items, open_="{", close="}")]))
            w.line("return config")


def model_class_code(w: Writer, spec, name: str, classes) -> None:
    graph = spec.model
    w.line('@keras.saving.register_keras_serializable(package="tfspec")')
    with w.block(f"class {name}(keras.Model):"):
        _, attrs = attribute_names(graph)
        with w.block("def __init__(self, **kwargs):"):
            w.line("super().__init__(**kwargs)")
            layer_attributes(w, graph, classes, None, attrs)
        w.blank()
        scope = Scope(LOCAL_NAMES)
        ins = [scope.add(i.name) for i in graph.inputs]
        with w.block(f"def call(self, {ins[0] if len(ins) == 1 else 'inputs'}, training=None):"):
            if len(ins) > 1:
                w.line(f"{', '.join(ins)} = inputs")
            call_body(w, graph, scope, attrs)
            w.line(f"return {inputs_code(scope, graph.outputs)}")
