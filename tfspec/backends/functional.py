"""The functional printer: `build_model()` wires keras.Input tensors through layers;
blocks become helper functions that apply fresh layers to a tensor.

Masks: Keras works a functional model's padding masks out on its symbolic tensors, but at run
time the layers applied to several tensors (merges, attention) read the masks attached to the
run-time tensors, and MultiHeadAttention clears those of its inputs (Keras 3.15), so the
layers after it can see none. In a model where a MultiHeadAttention takes a masked tensor
(tfspec.ir.masks.clearing_node), build_model() and the helpers carry the masks in variables
(`q_mask = embed.compute_mask(question)`, symbolic, so part of the graph) and pass them to
the layers that use them (`mask=`, `value_mask=`, the query's as `attention_mask=`); a helper
takes its inputs' masks as keyword arguments and returns the mask it makes with its output.
Other models print exactly as before.

A hypermodel (tfspec.backends.hypermodel) prints its model body's template inside
build_model(hp), as a helper's body: `if` statements on hyperparameters, `for` loops for steps
repeated `* depth` (a mask the step makes carried into the next round).
"""

from __future__ import annotations

from dataclasses import replace

from ..ir.masks import clearing_node, printed_masks
from ..ir.nodes import MISSING, Graph
from ..ir.walk import used_blocks  # linear: each block template once, however often it is used
from .common import (
    MaskNames,
    Statement,
    block_function_name,
    constructor,
    from_values,
    input_code,
    inputs_code,
    layer_inputs,
    layer_mask_arguments,
    loop_statement,
    mask_call,
    mask_variable,
    names_code,
    positional_inputs,
    rename_kwargs,
    reserve_names,
    takes_masks,
    tensor_var,
)
from .compiling import compile_model, training_note
from .emitter import (
    INDENT,
    MODULE_NAMES,
    WIDTH,
    Atom,
    Code,
    KeyValue,
    Scope,
    Writer,
    call_code,
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
    loop_variable,
    repeated,
)
from .losses import loss_class
from .operations import Guards, LocalNames, call_kwargs, operation_value, targets_code


def generate(spec, hyper=None) -> str:
    """The module; with `hyper` (tfspec.search.hyper.Hypermodel), build_model(hp) writes the model
    body's template with the hyperparameters as variables (tfspec.backends.hypermodel)."""
    w = Writer()
    graph = spec.model if hyper is None else hyper.block.graph
    blocks = used_blocks(graph, spec.blocks)
    what = "a Keras functional model" if hyper is None else "a KerasTuner hypermodel (Keras functional)"
    header(w, spec, "functional", what)
    imports(w, [graph] + [b.graph for b in blocks])
    module = Scope(MODULE_NAMES | ({HP} if hyper else set()))
    functions = {block.name: module.add(block_function_name(block.name)) for block in blocks}
    add_loss = loss_class(w, spec, module, [graph] + [b.graph for b in blocks])  # None: no `add_loss`
    model_masks = helper_masks = None  # or the masks to carry: the model's flow, each helper's
    shaped = spec.model if hyper is None else hyper.spec.model  # read through its instances
    if clearing_node(shaped) is not None:
        model_masks, helper_masks = printed_masks(shaped, used_blocks(shaped))
        if hyper is not None:
            model_masks = helper_masks[hyper.block.name].flow
    signatures = {block.name: Signature(block, module, helper_masks) for block in blocks}
    for block in blocks:
        w.blank(2)
        block_function(w, block, functions, signatures, add_loss)
    if hyper is None:
        w.blank(2)
        with w.block("def build_model():"):
            scope = Scope(module.used | MODULE_NAMES)
            model_body(w, spec, graph, scope, (functions, signatures, add_loss), None, model_masks)
        training_constant(w, spec)
        return w.text()
    defaults = module.fresh("Defaults")
    defaults_class(w, defaults, hyper.space)
    with build_function(w, spec, defaults):
        scope = Scope(module.used | MODULE_NAMES | {HP})
        env = declare(w, hyper, scope)
        model_body(w, spec, graph, scope, (functions, signatures, add_loss), env, model_masks, hyper)
    training_constant(w, spec, training_note(hyper))
    return w.text()


def model_body(w: Writer, spec, graph: Graph, scope: Scope, printed, env, model_masks, hyper=None) -> None:
    """The body of build_model(): its inputs, the graph, and the model made (and compiled)."""
    functions, signatures, add_loss = printed
    reserve_names(w, spec.model if hyper is None else hyper.spec.model)
    for inp in spec.model.inputs:
        w.line(f"{scope.add(inp.name)} = {input_code(inp)}")
    if model_masks is None:
        body(w, graph, scope, functions, signatures, env)
    else:
        masked_body(w, graph, scope, functions, signatures, env, model_masks, MaskNames(scope))
    ins = names_code([tensor_var(scope, i.name) for i in spec.model.inputs])
    outs = names_code([tensor_var(scope, t) for t in graph.outputs])
    if graph.losses:  # applied to the first output, in a variable of its own if it is an input
        first = tensor_var(scope, graph.outputs[0])
        if graph.outputs[0] in {i.name for i in spec.model.inputs}:
            first = scope.fresh(f"{first}_out")
            w.line(f"{first} = {tensor_var(scope, graph.outputs[0])}")
        add_losses(w, graph, scope, add_loss, [first], env)
        rest = [tensor_var(scope, t) for t in graph.outputs[1:]]
        outs = names_code([first, *rest])
    made = Code(
        "keras.Model",
        [KeyValue("inputs=", ins), KeyValue("outputs=", outs), KeyValue("name=", Atom(pystr(spec.name)))],
    )
    if hyper is None or hyper.settings is None:
        w.code(made, "return ")
        return
    w.code(made, "model = ")
    compile_model(w, hyper, env)
    w.line("return model")


class Signature:
    """A block's helper function: its local names, parameters (inputs first) and their defaults,
    and, when masks are carried, a keyword-only parameter for each input that may be masked."""

    def __init__(self, block, module: Scope, masks: dict | None = None):
        self.scope = Scope(module.used | MODULE_NAMES)
        self.inputs = [self.scope.add(i.name) for i in block.graph.inputs]
        self.params = {p: self.scope.add(p) for p, _ in block.params}  # spec name -> Python name
        parts = self.inputs + [
            self.params[p] if d is MISSING else f"{self.params[p]}={expr(d).flat()}" for p, d in block.params
        ]
        self.info = masks[block.name] if masks is not None and masks[block.name].flow.any else None
        self.masks = {}  # input index -> Python name of its mask parameter
        if self.info is not None:
            for i, (var, mask) in enumerate(zip(self.inputs, self.info.inputs)):
                if mask is not None:
                    self.masks[i] = self.scope.fresh(mask_variable(var))
        if self.masks:
            parts += ["*"] + list(self.masks.values())
        self.parts = parts


def block_function(w: Writer, block, functions, signatures, add_loss=None) -> None:
    sig = signatures[block.name]
    returned = sig.info.output if sig.info is not None and sig.info.returns_mask else None
    with w.function(functions[block.name], sig.parts):
        what = "; returns the output and its mask" if returned is not None else ""
        w.line(f'"""The {block.name} block: fresh layers applied to the input{what}."""')
        if sig.info is None:
            body(w, block.graph, sig.scope, functions, signatures, sig.params)
            outputs = [tensor_var(sig.scope, t) for t in block.graph.outputs]
            add_losses(w, block.graph, sig.scope, add_loss, outputs, sig.params)
            w.line(f"return {', '.join(outputs)}")
            return
        names = MaskNames(sig.scope)
        for i, name in sig.masks.items():
            names.name(sig.info.inputs[i], name)
        masked_body(w, block.graph, sig.scope, functions, signatures, sig.params, sig.info.flow, names, returned)
        output = tensor_var(sig.scope, block.graph.outputs[0])
        add_losses(w, block.graph, sig.scope, add_loss, [output], sig.params)  # (it keeps the mask)
        line = f"return {output}" if returned is None else f"return {output}, {names.code(returned)}"
        if len(w.indent + line) <= WIDTH or returned is None:
            w.line(line)
        else:  # as ruff lays a long tuple out: in parentheses, one per line
            w.code(Code("return ", [Atom(output), Atom(names.code(returned))], open_="(", close=")", explode=True))


def body(w: Writer, graph: Graph, scope: Scope, functions, signatures, env) -> None:
    declared = declared_layers(w, graph, scope, env)
    env = LocalNames(env, scope, graph)
    guards = Guards(w, env)
    for node in graph.nodes:
        guards.enter(node.guard)
        with repeated(w, scope, node, env, tensor_var) as (node, _):
            statement(w, node, scope, functions, signatures, env, declared)
    guards.enter(())


def statement(w: Writer, node, scope: Scope, functions, signatures, env, declared: dict) -> None:
    """The line that applies a node's layer, block or operation."""
    layer = node.layer
    out = targets_code(scope, node, tensor_var)
    if layer.operation:
        w.code(operation_value(node, scope, tensor_var, env), f"{out} = ")
    elif layer.block is not None:
        tensors = [Atom(tensor_var(scope, t)) for t in node.inputs]
        kwargs = rename_kwargs(layer.call.kwargs, signatures[layer.kind].params)
        arguments = call_code("", layer.call.args, kwargs, env).items
        w.code(Code(functions[layer.kind], tensors + arguments), f"{out} = ")
    elif node.kwargs:
        args = layer_inputs(layer, [tensor_var(scope, t) for t in node.inputs])
        args += call_kwargs(node, scope, tensor_var, env)
        handle = declared.get(layer.id) or constructor(layer, env).flat()
        w.code(Code(handle, args), f"{out} = ")
    elif layer.id in declared:
        w.line(f"{out} = {declared[layer.id]}({inputs_code(scope, node.inputs, positional_inputs(layer))})")
    else:
        w.code(constructor(layer, env), f"{out} = ", f"({inputs_code(scope, node.inputs, positional_inputs(layer))})")


def add_losses(w: Writer, graph: Graph, scope: Scope, add_loss, targets: list, env) -> None:
    """`y = AddLoss("kl")(y, kl)` for each loss term of the body (tfspec.backends.losses): applied
    to the tensors the body returns (`targets`), it is part of the model whichever the caller uses."""
    if not graph.losses:
        return
    guards = Guards(w, LocalNames(env, scope, graph))
    for term in graph.losses:
        guards.enter(term.guard)
        made = Code(f"{add_loss}({pystr(term.name)})", [names_code(targets), Atom(tensor_var(scope, term.name))])
        w.code(made, f"{', '.join(targets)} = ")
    guards.enter(())


def declared_layers(w: Writer, graph: Graph, scope: Scope, env) -> dict:
    """The layers the spec declares (`layer embed = ...`, shared): one variable each."""
    declared = {}
    for layer in graph.layers:
        if layer.declared and layer.block is None:
            declared[layer.id] = scope.add(layer.id)
            w.code(constructor(layer, env), f"{declared[layer.id]} = ")
    return declared


# -- masks carried explicitly ----------------------------------------------------------------


def passed_masks(node, in_masks, signatures) -> list:
    """The masks a node's call is given: a helper's masked parameters, a layer's mask arguments."""
    layer = node.layer
    if layer.block is not None:
        sig = signatures[layer.kind]
        return [m for i, m in enumerate(in_masks) if i in sig.masks and m is not None]
    return [m for m in in_masks if m is not None] if takes_masks(layer) else []


def live_masks(flow, signatures, returned) -> set:
    """ids of the masks that generated code reads: those passed to a call, those a helper
    returns, and those that a mask read later is computed from."""
    live = set() if returned is None else {id(returned)}
    for node, in_masks, out_mask in reversed(flow.nodes):
        for m in passed_masks(node, in_masks, signatures):
            live.add(id(m))
        made = out_mask is not None and out_mask.node is node and node.layer.block is None
        if made and id(out_mask) in live and not from_values(node.layer):
            live |= {id(m) for m in in_masks if m is not None}
    return live


def masked_body(w: Writer, graph: Graph, scope: Scope, functions, signatures, env, flow, names, returned=None):
    """The body of build_model() or of a helper, carrying masks (see the module docstring)."""
    declared = declared_layers(w, graph, scope, env)
    live = live_masks(flow, signatures, returned)
    env = LocalNames(env, scope, graph)  # the parameters, and the values the body computes
    guards = Guards(w, env)
    for st in masked_statements(graph, scope, functions, signatures, env, flow, names, declared, live):
        guards.enter(st.guard)
        if len(st.defines) > 1 and len(f"{w.indent}{st.prefix}(") > WIDTH:
            # targets too long for one line: ruff puts them in parentheses, one per line
            w.line("(")
            for target in st.defines:
                w.line(f"{INDENT}{target},")
            w.code(st.code, ") = ")
        else:
            w.code(st.code, st.prefix)
    guards.enter(())


def masked_statements(graph, scope, functions, signatures, env, flow, names, declared, live) -> list:
    out = []
    context = (scope, functions, signatures, env, names, declared, live)
    for node, in_masks, out_mask in flow.nodes:
        made = node_statements if node.repeat is None else repeated_statements
        out += [replace(st, guard=node.guard) for st in made(node, in_masks, out_mask, context)]
    return out


def repeated_statements(node, in_masks, out_mask, context) -> list:
    """A node applied `* depth` times, carrying masks: `y = x` (and its mask) before the loop;
    a mask the node makes is the next round's input's (search_legality.masked_problem allows no other)."""
    scope, _, _, env, names, _, live = context
    var, source = tensor_var(scope, node.output), tensor_var(scope, node.inputs[0])
    before = [] if source == var else [Statement(Atom(source), f"{var} = ", (var,), (source,))]
    if out_mask is not None and out_mask is not in_masks[0]:
        live.add(id(out_mask))
        name = names.bind(out_mask, var)
        before.append(Statement(Atom(names.code(in_masks[0])), f"{name} = ", (name,), ()))
        in_masks = [out_mask, *in_masks[1:]]
    looped = replace(node, inputs=(node.output, *node.inputs[1:]))
    header = f"for {loop_variable(scope)} in range({expr(node.repeat, None, env).flat()}):"
    return before + [loop_statement(header, node_statements(looped, in_masks, out_mask, context))]


def node_statements(node, in_masks, out_mask, context) -> list:
    """The statements of one node, carrying masks."""
    scope, functions, signatures, env, names, declared, live = context
    out = []
    layer = node.layer
    ins = [tensor_var(scope, t) for t in node.inputs]
    var = targets_code(scope, node, tensor_var)
    made = out_mask is not None and out_mask.node is node
    if layer.operation:  # an operation makes no mask (as in Keras: keras.ops drop them)
        text = operation_value(node, scope, tensor_var, env)
        out.append(Statement(text, f"{var} = ", tuple(tensor_var(scope, t) for t in node.outputs), tuple(ins)))
        return out
    if layer.block is not None:
        sig = signatures[layer.kind]
        kwargs = rename_kwargs(layer.call.kwargs, sig.params)
        arguments = call_code("", layer.call.args, kwargs, env).items
        mask_kwargs = [KeyValue(f"{name}=", Atom(names.code(in_masks[i]))) for i, name in sig.masks.items()]
        code = Code(functions[layer.kind], [Atom(i) for i in ins] + arguments + mask_kwargs)
        prefix, defines = f"{var} = ", (var,)
        if made:  # the helper returns the mask it makes
            name = names.bind(out_mask, var)
            prefix, defines = f"{var}, {name} = ", (var, name)
        out.append(Statement(code, prefix, defines, tuple(ins)))
        return out
    args = layer_inputs(layer, ins) + call_kwargs(node, scope, tensor_var, env)
    given = {key for key, _ in node.kwargs}  # a mask given in the spec is not given twice
    mask_args = [a for a in layer_mask_arguments(layer, in_masks, names) if a.key[:-1] not in given]
    handle = declared.get(layer.id)
    if handle is None and mask_args and len(f"{INDENT}{var} = {constructor(layer, env).flat()}(") > WIDTH:
        handle = scope.fresh(layer.id)  # too long to call in place with its masks
    if handle is None and made and id(out_mask) in live:
        handle = scope.fresh(layer.id)  # compute_mask is asked of it
    if handle is not None and layer.id not in declared:
        out.append(Statement(constructor(layer, env), f"{handle} = ", (handle,), ()))
        declared[layer.id] = handle
    if handle is not None:
        value = Code(handle, args + mask_args)
    elif mask_args:
        value = Code(constructor(layer, env).flat(), args + mask_args)
    else:
        value = constructor(layer, env)
        value.tail = f"({inputs_code(scope, node.inputs, positional_inputs(layer))})"
    statement = Statement(value, f"{var} = ", (var,), tuple(ins))
    if not (made and id(out_mask) in live):
        out.append(statement)
        return out
    name = names.bind(out_mask, var)
    mask = Statement(mask_call(layer, handle, args, in_masks, names), f"{name} = ", (name,), tuple(ins))
    # compute_mask reads the layer's inputs: ask before the result replaces one of them
    out += [mask, statement] if var in ins else [statement, mask]
    return out
