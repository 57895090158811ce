"""The Sequential printer: one list of layers; blocks are inlined (legality guarantees a chain).

A hypermodel (tfspec.backends.hypermodel) adds its layers one by one, `model.add(...)`, in the
`if` statements and loops its hyperparameters choose (tfspec.backends.search_legality guarantees
a chain whichever way they go)."""

from __future__ import annotations

from contextlib import nullcontext

from ..ir.nodes import Graph
from ..ir.walk import used_blocks
from .common import constructor, input_code, reserve_names
from .compiling import compile_model, training_note
from .emitter import (
    MODULE_NAMES,
    Atom,
    Code,
    KeyValue,
    Scope,
    Writer,
    call_code,
    class_path,
    expr,
    header,
    imports,
    pystr,
    training_constant,
)
from .hypermodel import (
    HP,
    build_function,
    declare,
    defaults_class,
    inlined,
    loop_variable,
)
from .operations import Guards


def generate(spec, hyper=None) -> str:
    """The module; with `hyper` (tfspec.search.hyper.Hypermodel), build_model(hp) adds the layers
    one by one, in the `if` statements and loops of the hyperparameters (model.add)."""
    if hyper is not None:
        return generate_hyper(spec, hyper)
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


def generate_hyper(spec, hyper) -> str:
    w = Writer()
    header(w, spec, "sequential", "a KerasTuner hypermodel (Keras Sequential)")
    template = hyper.block.graph
    imports(w, [template] + [b.graph for b in used_blocks(template)])
    module = Scope(MODULE_NAMES | {HP})
    defaults = module.fresh("Defaults")
    defaults_class(w, defaults, hyper.space)
    with build_function(w, spec, defaults):
        scope = Scope(module.used | MODULE_NAMES | {HP})
        env = declare(w, hyper, scope)
        reserve_names(w, hyper.spec.model)
        w.line(f"model = keras.Sequential(name={pystr(spec.name)})")
        w.line(f"model.add({input_code(spec.model.inputs[0], with_name=False)})")
        add_layers(w, template.nodes, env, scope)
        compile_model(w, hyper, env)
        w.line("return model")
    training_constant(w, spec, training_note(hyper))
    return w.text()


def add_layers(w: Writer, nodes: list, env: dict, scope: Scope) -> None:
    """`model.add(...)` for each layer of a chain (search_legality.chain_problem), blocks written out,
    under the `if` statements of its nodes and in a loop for `* depth`."""
    guards = Guards(w, env)
    for node in nodes:
        layer = node.layer
        if layer.static or layer.operation:
            continue  # `y = x`: another name for the tensor
        guards.enter(node.guard)
        loop = nullcontext()
        if node.repeat is not None:
            loop = w.block(f"for {loop_variable(scope)} in range({expr(node.repeat, None, env).flat()}):")
        with loop:
            if layer.block is not None:
                add_layers(w, inlined(layer), env, scope)
            else:
                w.code(constructor(layer, env), "model.add(", ")")
    guards.enter(())
