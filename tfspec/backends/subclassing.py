"""The subclassing printer: a keras.Model subclass whose layers are made in __init__ and
wired in call(); blocks become keras.layers.Layer subclasses with get_config.

Several inputs are passed to call() as one list, in the order the spec declares them.

Masks: a call() that runs layers one by one only has the masks attached to the tensors it
holds, and MultiHeadAttention removes those of its inputs. So when a model involves masks
(tfspec.ir.masks says which tensors carry one), call() carries them in variables
(`x_mask = self.embedding.compute_mask(tokens)`) and passes them to the layers that use them
(`mask=`, `value_mask=`, and the query's as `attention_mask=`: Keras ignores `query_mask`),
and a block class takes its inputs' masks and defines compute_mask() for its output's.
Models without masks print exactly as before.

A layer whose build() makes tensors rather than weights (LayerDef.prebuild: Normalization with a
given mean and variance) is built right after it is made, with its input's shape
(`self.normalization.build((None, None, None, 3))`): left to Keras, it would be built inside the
graph that traces the model's first call, and its tensors could not be used after.

A hypermodel (tfspec.backends.hypermodel) is a model class written as a block class is: its
hyperparameters are arguments of __init__ (and of get_config), a step repeated `* depth` is a list
of layers applied in a loop, and an `if` on them makes its layers in build().
"""

from __future__ import annotations

from dataclasses import replace

from ..ir.masks import block_masks
from ..ir.nodes import MISSING, Graph
from ..ir.values import names_in
from ..ir.walk import takes_training, used_blocks
from .common import (
    MaskNames,
    Statement,
    constructor,
    from_values,
    input_code,
    inputs_code,
    layer_inputs,
    layer_mask_arguments,
    loop_statement,
    mask_call,
    mask_uses,
    names_code,
    rename_kwargs,
    reserve_names,
    shape_code,
    tensor_var,
    used_statements,
)
from .compiling import compile_model, training_note
from .emitter import (
    MODULE_NAMES,
    Atom,
    Code,
    KeyValue,
    Scope,
    Writer,
    attribute_name,
    call_code,
    class_path,
    expr,
    header,
    imports,
    pystr,
    training_constant,
    unpack_line,
)
from .hypermodel import (
    HP,
    build_function,
    declare,
    defaults_class,
    layer_list,
    loop_variable,
    made_repeatedly,
    repeated,
)
from .legality import made_late, prebuilt
from .losses import loss_class
from .operations import Guards, LocalNames, call_kwargs, operation_value, shapes_of_inputs, targets_code

LOCAL_NAMES = MODULE_NAMES | {"self", "training", "kwargs", "config"}


def generate(spec, hyper=None) -> str:
    """The module; with `hyper` (tfspec.search.hyper.Hypermodel), the model class takes the
    hyperparameters as arguments and build_model(hp) passes it their values."""
    if hyper is not None:
        return generate_hyper(spec, hyper)
    w = Writer()
    header(w, spec, "subclassing", "a Keras model subclass")
    imports(w, [spec.model] + [b.graph for b in used_blocks(spec.model, spec.blocks)])
    blocks = used_blocks(spec.model, spec.blocks)
    # A class is never named like an __init__ parameter (which would hide it there) nor
    # like another class (a model may share its name with a block), and never starts with
    # "_": Keras names a layer after its class, and TensorFlow refuses such a name scope.
    module = Scope(MODULE_NAMES | {p for block in blocks for p in init_parameters(block).values()})
    classes = {}
    for block in blocks:
        classes[block.name] = module.fresh(block.name, public=True)
    model_class = module.fresh(spec.name, public=True)
    add_loss = loss_class(w, spec, module, [spec.model] + [b.graph for b in blocks])  # None: no `add_loss`
    model_masks, masks = block_masks(spec.model, blocks)
    built = prebuilt(spec)[0]  # {None or block name: {layer id: shape}} of the layers built where made
    for block in blocks:
        w.blank(2)
        block_class(w, block, classes, masks, add_loss, built.get(block.name, {}))
    w.blank(2)
    model_class_code(w, spec, model_class, classes, model_masks, masks, add_loss, built.get(None, {}))
    w.blank(2)
    with w.block("def build_model():"):
        reserve_names(w, spec.model)
        w.line(f"model = {model_class}(name={pystr(spec.name)})")
        ins = [Atom(input_code(i)) for i in spec.model.inputs]
        arg = ins[0] if len(ins) == 1 else Code("", ins, open_="[", close="]")
        w.line("# Calling the model once on symbolic inputs creates its weights.")
        w.code(Code("model", [arg]))
        w.line("return model")
    training_constant(w, spec)
    return w.text()


def generate_hyper(spec, hyper) -> str:
    w = Writer()
    header(w, spec, "subclassing", "a KerasTuner hypermodel (Keras model subclass)")
    shaped = hyper.spec.model  # the template applied at the default point: its instances are shaped
    everything = used_blocks(shaped)  # the spec's blocks the model uses, and the model's body last
    blocks = everything[:-1]
    imports(w, [b.graph for b in everything])
    module = Scope(MODULE_NAMES | {HP} | {p for block in everything for p in init_parameters(block).values()})
    classes = {block.name: module.fresh(block.name, public=True) for block in blocks}
    classes[hyper.block.name] = module.fresh(spec.name, public=True)
    add_loss = loss_class(w, spec, module, [b.graph for b in everything])  # None: no `add_loss`
    _, masks = block_masks(shaped, everything)
    built = prebuilt(hyper.spec)[0]
    for block in everything:
        w.blank(2)
        model = spec.name if block is hyper.block else None
        block_class(w, block, classes, masks, add_loss, built.get(block.name, {}), model)
    defaults = module.fresh("Defaults")
    defaults_class(w, defaults, hyper.space)
    with build_function(w, spec, defaults):
        scope = Scope(module.used | MODULE_NAMES | {HP})
        env = declare(w, hyper, scope)
        reserve_names(w, shaped)
        names = init_parameters(hyper.block)
        arguments = [KeyValue(f"{names[p]}=", Atom(env[p])) for p, _ in hyper.block.params]
        arguments.append(KeyValue("name=", Atom(pystr(spec.name))))
        w.code(Code(classes[hyper.block.name], arguments), "model = ")
        ins = [Atom(input_code(i)) for i in spec.model.inputs]
        w.line("# Calling the model once on symbolic inputs creates its weights.")
        w.code(Code("model", [ins[0] if len(ins) == 1 else Code("", ins, open_="[", close="]")]))
        compile_model(w, hyper, env)
        w.line("return model")
    training_constant(w, spec, training_note(hyper))
    return w.text()


def attribute_names(graph: Graph, params=()) -> tuple[dict, dict]:
    """`self.<name>` for each block parameter and each layer: ({param: attr}, {layer id: attr})."""
    return all_attribute_names(graph, params)[:2]


def all_attribute_names(graph: Graph, params=()) -> tuple[dict, dict, list]:
    """attribute_names, and `self.<name>` of the AddLoss layer of each loss term, after those."""
    taken: set = set()
    scope = Scope(LOCAL_NAMES)
    param_attrs = {p: attribute_name(scope.add(p), taken) for p in params}
    attrs = {layer.id: attribute_name(layer.id, taken) for layer in graph.layers}
    return param_attrs, attrs, [attribute_name(f"{term.name}_loss", taken) for term in graph.losses]


def loss_attributes(w: Writer, graph: Graph, add_loss: str, attrs: list) -> None:
    """The AddLoss layer of each loss term (tfspec.backends.losses), made in __init__: it holds no
    weights and needs no shape (one of a branch that is not chosen is never called)."""
    for attr, term in zip(attrs, graph.losses):
        w.line(f"self.{attr} = {add_loss}({pystr(term.name)})")


def add_losses(w: Writer, graph: Graph, scope: Scope, attrs: list, targets: list, env=None) -> None:
    """`y = self.kl_loss(y, kl)` for each loss term, at the end of call(), as the functional style
    applies it (`targets`: the outputs the call returns)."""
    guards = Guards(w, LocalNames(env, scope, graph))
    for attr, term in zip(attrs, graph.losses):
        guards.enter(term.guard)
        w.code(
            Code(f"self.{attr}", [names_code(targets), Atom(tensor_var(scope, term.name))]), f"{', '.join(targets)} = "
        )
    guards.enter(())


def init_parameters(block) -> dict:
    """{spec parameter: Python name} of a block class's __init__ (used by its callers too)."""
    scope = Scope(LOCAL_NAMES)
    return {p: scope.add(p) for p, _ in block.params}


def layer_attributes(w: Writer, graph: Graph, classes, env, attrs: dict, built=None) -> None:
    counts = made_repeatedly(graph)
    loops = Scope(LOCAL_NAMES | set((env or {}).values()))  # the comprehensions' variable
    for layer in graph.layers:
        if layer.block is not None:
            kwargs = rename_kwargs(layer.call.kwargs, init_parameters(layer.block))
            call = call_code(classes[layer.kind], layer.call.args, kwargs, env)
        else:
            call = constructor(layer, env)
        if id(layer) in counts:  # `* depth`: a list of fresh layers
            call = layer_list(call, counts[id(layer)], env, loops)
        w.code(call, f"self.{attrs[layer.id]} = ")
        build_now(w, layer, attrs, built)


def build_now(w: Writer, layer, attrs: dict, built) -> None:
    """`self.normalization.build((None, 3))` right after making a layer that must be built
    where it is made (tfspec.backends.legality.prebuilt gives the shapes)."""
    if built and built.get(layer.id) is not None:
        w.line(f"self.{attrs[layer.id]}.build({shape_code(built[layer.id])})")


def call_statements(graph: Graph, attrs, flow, masks: dict, names: MaskNames, local: LocalNames) -> list:
    """The statements of call(): each layer applied, with the masks it uses, and each new mask;
    each inside its node's `if` branches (Statement.guard, reading the values its conditions
    read). `local`: the Python names of the block's parameters (`self.bn`) and of its tensors."""
    out, scope = [], local.scope
    live = values_call_reads(graph)
    for node, in_masks, out_mask in flow.nodes:
        if node.layer.static and node.output not in live:
            continue
        conditions = tuple(local[n] for n in guard_names(node) if n in local.known)
        for st in node_flow_statements(node, in_masks, out_mask, scope, attrs, masks, names, local):
            out.append(replace(st, uses=st.uses + conditions, guard=node.guard))
    return out


def node_flow_statements(node, in_masks, out_mask, scope, attrs, masks, names, local) -> list:
    """The statements of one node of call(): its layer applied once, or in a loop."""
    out = []
    if node.repeat is None or node.layer.operation:
        return node_statements(node, in_masks, out_mask, scope, attrs, masks, names, local)
    # `* depth`: the layers of the list, in a loop; a mask the node makes is the next round's
    # input's (search_legality.masked_problem allows no other)
    var, source = tensor_var(scope, node.output), tensor_var(scope, node.inputs[0])
    if source != var:
        out.append(Statement(Atom(source), f"{var} = ", (var,), (source,)))
    if out_mask is not None and out_mask is not in_masks[0]:
        name = names.bind(out_mask, var)
        out.append(Statement(Atom(names.code(in_masks[0])), f"{name} = ", (name,), ()))
        in_masks = [out_mask, *in_masks[1:]]
    looped = replace(node, inputs=(node.output, *node.inputs[1:]))
    each = loop_variable(scope, "layer")
    inner = node_statements(looped, in_masks, out_mask, scope, attrs, masks, names, local, each)
    out.append(loop_statement(f"for {each} in self.{attrs[node.layer.id]}:", inner))
    return out


def node_statements(node, in_masks, out_mask, scope, attrs, masks, names, local, handle=None) -> list:
    """The statements of one node of call(), carrying masks; `handle`: the layer applied, when
    not its attribute."""
    layer = node.layer
    ins = [tensor_var(scope, t) for t in node.inputs]
    if layer.operation:  # an operation makes no mask (as in Keras: keras.ops drop them)
        var = targets_code(scope, node, tensor_var)
        text = operation_value(node, scope, tensor_var, local)
        return [Statement(text, f"{var} = ", tuple(tensor_var(scope, t) for t in node.outputs), tuple(ins))]
    attr = handle or f"self.{attrs[layer.id]}"
    args = layer_inputs(layer, ins) + call_kwargs(node, scope, tensor_var, local)
    given = {key for key, _ in node.kwargs}  # a mask given in the spec is not given twice
    mask_args = [a for a in mask_arguments(layer, in_masks, masks, names) if a.key[:-1] not in given]
    passed = mask_uses(in_masks, names) if mask_args else ()
    extra = [KeyValue("training=", Atom("training"))] if takes_training(layer) else []
    var = targets_code(scope, node, tensor_var)
    value = Statement(
        Code(attr, args + mask_args + extra),
        f"{var} = ",
        tuple(tensor_var(scope, t) for t in node.outputs),
        tuple(ins) + passed,
    )
    made = out_mask is not None and out_mask.node is node
    if not made:
        return [value]
    name = names.bind(out_mask, var)
    code = mask_call(layer, attr, args, in_masks, names)
    previous = () if from_values(layer) else mask_uses(in_masks, names)
    mask = Statement(code, f"{name} = ", (name,), tuple(ins) + previous, is_mask=True)
    # compute_mask reads the layer's inputs: ask before the result replaces one of them
    return [mask, value] if var in ins else [value, mask]


def mask_arguments(layer, in_masks, masks: dict, names: MaskNames) -> list:
    """`mask=...` for a block class given masked inputs, or a catalog layer's mask arguments."""
    if layer.block is None:
        return layer_mask_arguments(layer, in_masks, names)
    if all(m is None for m in in_masks) or not masks[layer.kind].call_takes_mask:
        return []
    if len(in_masks) == 1:
        return [KeyValue("mask=", Atom(names.code(in_masks[0])))]
    return [KeyValue("mask=", Code("", [Atom(names.code(m)) for m in in_masks], open_="[", close="]"))]


def write_statements(w: Writer, statements, guards: Guards, training: bool = True) -> None:
    """The statements, each inside its `if` branches; without `training=training` when not training."""
    for st in statements:
        guards.enter(st.guard)
        code = st.code
        if not training:
            code = Code(code.head, [i for i in code.items if i.flat() != "training=training"], code.tail)
        w.code(code, st.prefix)
    guards.enter(())


def needed(statements, names: tuple) -> list:
    """The statements that `names` depend on (a backward slice), in order."""
    wanted, keep = set(names), []
    for st in reversed(statements):
        if wanted & set(st.defines):
            keep.append(st)
            wanted -= set(st.defines)
            wanted |= set(st.uses)
    return list(reversed(keep))


def values_call_reads(graph: Graph) -> set:
    """The values (`c = ...` nodes) call() prints: those its conditions, operations and call
    arguments read, directly or through other values."""
    read = set()
    for node in graph.nodes:
        if node.layer.static:
            continue
        read |= guard_names(node) | set(node.tensors())
        if node.layer.operation:
            read |= names_in(node.layer.expr)
        read |= {name for _, value in node.kwargs for name in names_in(value)}
    for term in graph.losses:  # the conditions of `add_loss` statements inside `if`s
        read |= guard_names(term)
    return live_values(graph, read)


def live_values(graph: Graph, read: set) -> set:
    """The values (`c = ...` nodes) that statements reading the names `read` need, directly or
    through other values: a method prints only those (ruff refuses an unused local)."""
    static = {node.output: node for node in graph.nodes if node.layer.static}
    live, stack = set(), [n for n in read if n in static]
    while stack:
        name = stack.pop()
        if name not in live:
            live.add(name)
            node = static[name]
            stack.extend(n for n in names_in(node.layer.expr) | guard_names(node) if n in static)
    return live


def guard_names(node) -> set:
    return set().union(*(names_in(c) for c, _ in node.guard)) if node.guard else set()


def build_method(w: Writer, graph: Graph, classes, env: dict, attrs: dict, built=None) -> None:
    """build(input_shape): the values the body computes from shapes, then the layers (those of
    the `if` branches the values choose). A value reads the input's shape, `input_shape`; one that
    reads the shape of a tensor made inside is refused by the legality pass (tfspec.backends.legality)."""
    scope = Scope(LOCAL_NAMES | {"input_shape"})
    ins = [i.name for i in graph.inputs]
    shapes = {name: "input_shape" if len(ins) == 1 else f"input_shape[{k}]" for k, name in enumerate(ins)}
    local = LocalNames(env, scope, graph)
    local.shapes = shapes
    shapes = {name: name for name in ins}  # (shapes_of_inputs names each input's shape)
    guards = Guards(w, local, lambda condition: shapes_of_inputs(condition, shapes))
    made = set()
    counts = made_repeatedly(graph)
    makers = [n for n in graph.nodes if not n.layer.operation]
    live = live_values(graph, set().union(*(names_in(n.layer.call) | guard_names(n) for n in makers)))
    with w.block("def build(self, input_shape):"):
        for node in graph.nodes:
            layer = node.layer
            if layer.static:
                if node.output not in live:
                    continue
                guards.enter(node.guard)
                w.code(expr(shapes_of_inputs(layer.expr, shapes), None, local), f"{tensor_var(scope, node.output)} = ")
            elif not layer.operation and layer.id not in made:
                guards.enter(node.guard)
                made.add(layer.id)
                written = shapes_of_inputs(layer.call, shapes)
                if layer.block is not None:
                    kwargs = rename_kwargs(written.kwargs, init_parameters(layer.block))
                    call = call_code(classes[layer.kind], written.args, kwargs, local)
                else:
                    call = call_code(class_path(layer.kind), written.args, written.kwargs, local)
                if id(layer) in counts:  # `* depth`: a list of fresh layers
                    call = layer_list(call, counts[id(layer)], local, scope)
                w.code(call, f"self.{attrs[layer.id]} = ")
                build_now(w, layer, attrs, built)
        guards.enter(())
        w.line("super().build(input_shape)")


def call_body(w: Writer, graph: Graph, scope: Scope, attrs, env=None) -> None:
    """call() of a model or block without masks."""
    env = LocalNames(env, scope, graph)
    guards = Guards(w, env)
    live = values_call_reads(graph)
    for node in graph.nodes:
        layer = node.layer
        if layer.static and node.output not in live:
            continue
        guards.enter(node.guard)
        out = targets_code(scope, node, tensor_var)
        if layer.operation:
            w.code(operation_value(node, scope, tensor_var, env), f"{out} = ")
            continue
        made = f"self.{attrs[layer.id]}"
        with repeated(w, scope, node, env, tensor_var, made if node.repeat is not None else None) as (node, each):
            args = layer_inputs(layer, [tensor_var(scope, t) for t in node.inputs])
            args += call_kwargs(node, scope, tensor_var, env)
            if takes_training(layer):
                args.append(KeyValue("training=", Atom("training")))
            w.code(Code(each or made, args), f"{out} = ")
    guards.enter(())


def block_class(w: Writer, block, classes, masks: dict, add_loss=None, built=None, model: str | None = None) -> None:
    """A block's class; with `model` (its name), the model of a hypermodel (tfspec.search.hyper),
    a keras.Model whose __init__ takes the hyperparameters as a block's takes its parameters."""
    graph = block.graph
    info = masks[block.name]
    w.line('@keras.saving.register_keras_serializable(package="tfspec")')
    with w.block(f"class {classes[block.name]}({'keras.Model' if model else 'keras.layers.Layer'}):"):
        if model:
            w.line(f'"""The {model} model; its hyperparameters are arguments."""')
        else:
            w.line(f'"""The {block.name} block."""')
        w.blank()
        env = init_parameters(block)
        params = [env[p] if default is MISSING else f"{env[p]}={expr(default).flat()}" for p, default in block.params]
        param_attrs, attrs, loss_attrs = all_attribute_names(graph, [p for p, _ in block.params])
        late = made_late(graph)
        with w.function("__init__", ["self", *params, "**kwargs"]):
            w.line("super().__init__(**kwargs)")
            for pname, _ in block.params:
                w.line(f"self.{param_attrs[pname]} = {env[pname]}")
            if not late:
                layer_attributes(w, graph, classes, env, attrs, built)
            loss_attributes(w, graph, add_loss, loss_attrs)
        w.blank()
        if late:
            build_method(w, graph, classes, {p: f"self.{a}" for p, a in param_attrs.items()}, attrs)
            w.blank()
        self_params = {p: f"self.{a}" for p, a in param_attrs.items()}
        if info.flow.any:
            masked_block_methods(w, graph, attrs, info, masks, (loss_attrs, self_params), model is None)
        else:
            call_scope = Scope(LOCAL_NAMES)
            ins = [call_scope.add(i.name) for i in graph.inputs]
            with w.block(f"def call(self, {ins[0] if len(ins) == 1 else 'inputs'}, training=None):"):
                if len(ins) > 1:
                    unpack_line(w, ins, "inputs")
                call_body(w, graph, call_scope, attrs, self_params)
                outputs = [tensor_var(call_scope, t) for t in graph.outputs]
                add_losses(w, graph, call_scope, loss_attrs, outputs, self_params)
                w.line(f"return {', '.join(outputs)}")
        w.blank()
        with w.block("def get_config(self):"):
            w.line("config = super().get_config()")
            if block.params:
                items = [KeyValue(pystr(env[p]) + ": ", Atom(f"self.{param_attrs[p]}")) for p, _ in block.params]
                w.code(Code("config.update", [Code("", items, open_="{", close="}")]))
            w.line("return config")


def masked_block_methods(w: Writer, graph: Graph, attrs, info, masks: dict, losses=((), None), masking=True) -> None:
    """call() carrying masks and, when the block passes a mask on or makes one (and `masking`:
    not for a model, which Keras does not ask), compute_mask()."""
    scope = Scope(LOCAL_NAMES | {"mask"})  # Keras passes the inputs' masks as `mask`
    ins = [scope.add(i.name) for i in graph.inputs]
    arg = ins[0] if len(ins) == 1 else "inputs"
    names = MaskNames(scope)
    for var, mask in zip(ins, info.inputs):
        if mask is not None:
            if len(ins) == 1:
                names.name(mask, "mask")
            else:
                names.bind(mask, var)
    local = LocalNames(losses[1], scope, graph)
    statements = call_statements(graph, attrs, info.flow, masks, names, local)
    guards = Guards(w, local)
    output = tensor_var(scope, graph.outputs[0])
    takes = ", mask=None" if info.call_takes_mask else ""
    with w.block(f"def call(self, {arg}{takes}, training=None):"):
        if len(ins) > 1:
            unpack_line(w, ins, "inputs")
            if info.call_takes_mask:
                unpack_masks(w, info, names)
        write_statements(w, used_statements(statements), guards)
        add_losses(w, graph, scope, losses[0], [output], losses[1])  # (the AddLoss keeps the mask)
        w.line(f"return {output}")
    if not (info.computes_mask and masking):
        return
    w.blank()
    with w.block(f"def compute_mask(self, {arg}, mask=None):"):
        if info.output is None:
            w.line("return None")
        elif info.output.node is None:  # one of the inputs' masks
            w.line("return mask" if len(ins) == 1 else f"return mask[{info.output.index}]")
        else:
            # The mask is made inside the block: the steps it depends on, without training.
            body = needed(statements, (names.code(info.output),))
            reads = {u for st in body for u in st.uses}
            if len(ins) > 1 and reads & set(ins):
                unpack_line(w, ins, "inputs")
            if len(ins) > 1 and reads & {names.code(m) for m in info.inputs if m is not None}:
                unpack_masks(w, info, names)
            write_statements(w, body, guards, training=False)
            w.line(f"return {names.code(info.output)}")


def unpack_masks(w: Writer, info, names: MaskNames) -> None:
    """The masks of a block's inputs, from the list Keras passes as `mask` (no throwaway
    variable: `_` may be the name of an input)."""
    masked = [(i, names.code(m)) for i, m in enumerate(info.inputs) if m is not None]
    if len(masked) == len(info.inputs):
        w.line(f"{', '.join(name for _, name in masked)} = mask")
    else:
        for i, name in masked:
            w.line(f"{name} = mask[{i}]")


def model_class_code(w: Writer, spec, name: str, classes, flow, masks: dict, add_loss=None, built=None) -> None:
    graph = spec.model
    w.line('@keras.saving.register_keras_serializable(package="tfspec")')
    with w.block(f"class {name}(keras.Model):"):
        _, attrs, loss_attrs = all_attribute_names(graph)
        late = made_late(graph)
        with w.block("def __init__(self, **kwargs):"):
            w.line("super().__init__(**kwargs)")
            if not late:
                layer_attributes(w, graph, classes, None, attrs, built)
            loss_attributes(w, graph, add_loss, loss_attrs)
        w.blank()
        if late:
            build_method(w, graph, classes, {}, attrs, built)
            w.blank()
        scope = Scope(LOCAL_NAMES)
        ins = [scope.add(i.name) for i in graph.inputs]
        with w.block(f"def call(self, {ins[0] if len(ins) == 1 else 'inputs'}, training=None):"):
            if len(ins) > 1:
                unpack_line(w, ins, "inputs")
            if flow.any:
                local = LocalNames(None, scope, graph)
                statements = call_statements(graph, attrs, flow, masks, MaskNames(scope), local)
                write_statements(w, used_statements(statements), Guards(w, local))
            else:
                call_body(w, graph, scope, attrs)
            if graph.losses:  # applied to the first output, as in the functional style
                add_losses(w, graph, scope, loss_attrs, [tensor_var(scope, graph.outputs[0])])
            w.line(f"return {inputs_code(scope, graph.outputs)}")
