"""The subclassing printer: a keras.Model subclass whose layers are made in __init__ and
wired in call(); blocks become keras.layers.Layer subclasses with get_config.

Several inputs are passed to call() as one list, in the order the spec declares them.

Masks: a functional model works out the padding masks once, on its symbolic tensors, and gives
each layer the mask it needs; a call() that runs layers one by one only has the masks attached
to the tensors it holds, and MultiHeadAttention removes those of its inputs. So when a model
involves masks (tfspec.ir.masks says which tensors carry one), call() carries them in variables
(`x_mask = self.embedding.compute_mask(tokens)`) and passes them to the layers that use them
(`mask=`, `value_mask=`), and a block class takes its inputs' masks and defines compute_mask()
for its output's. Models without masks print exactly as before.
"""

from __future__ import annotations

import keyword
from dataclasses import dataclass

from ..ir.masks import PER_INPUT_MASKS, TAKES_MASK, block_masks
from ..ir.nodes import MISSING, Graph
from ..ir.walk import takes_training, used_blocks
from .common import (
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
    blocks = used_blocks(spec.model, spec.blocks)
    # A class is never named like an __init__ parameter (which would hide it there) nor
    # like another class (a model may share its name with a block), and never starts with
    # "_": Keras names a layer after its class, and TensorFlow refuses such a name scope.
    module = Scope(MODULE_NAMES | {p for block in blocks for p in init_parameters(block).values()})
    classes = {}
    for block in blocks:
        classes[block.name] = module.fresh(block.name, public=True)
    model_class = module.fresh(spec.name, public=True)
    model_masks, masks = block_masks(spec.model, blocks)
    for block in blocks:
        w.blank(2)
        block_class(w, block, classes, masks)
    w.blank(2)
    model_class_code(w, spec, model_class, classes, model_masks, masks)
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


@dataclass
class Statement:
    """One line of call(): `prefix + code`, the variables it assigns and those it reads."""

    code: Code
    prefix: str
    defines: tuple
    uses: tuple
    is_mask: bool = False


class MaskNames:
    """Python names of the mask variables of one call(): `<tensor>_mask`, never clashing."""

    def __init__(self, scope: Scope):
        self.scope = scope
        self.names: dict = {}  # id(Mask) -> name

    def bind(self, mask, wanted: str) -> str:
        name = wanted
        n = 1
        while name in self.scope.used or name in self.scope.reserved or keyword.iskeyword(name):
            n += 1
            name = f"{wanted}_{n}"
        self.scope.used.add(name)
        self.names[id(mask)] = name
        return name

    def code(self, mask) -> str:
        return "None" if mask is None else self.names[id(mask)]


def call_statements(graph: Graph, scope: Scope, attrs, flow, masks: dict, names: MaskNames) -> list:
    """The statements of call(): each layer applied, with the masks it uses, and each new mask."""
    out = []
    for node, in_masks, out_mask in flow.nodes:
        layer = node.layer
        attr = f"self.{attrs[layer.id]}"
        ins = [tensor_var(scope, t) for t in node.inputs]
        if len(ins) == 1:
            args = [Atom(ins[0])]
        elif positional_inputs(layer):
            args = [Atom(i) for i in ins]
        else:
            args = [Code("", [Atom(i) for i in ins], open_="[", close="]")]
        mask_args = mask_arguments(layer, in_masks, masks, names)
        passed = tuple(names.code(m) for m in in_masks if m is not None) if mask_args else ()
        extra = [KeyValue("training=", Atom("training"))] if takes_training(layer) else []
        var = tensor_var(scope, node.output)
        value = Statement(Code(attr, args + mask_args + extra), f"{var} = ", (var,), tuple(ins) + passed)
        made = out_mask is not None and out_mask.node is node
        if not made:
            out.append(value)
            continue
        name = names.bind(out_mask, f"{var}_mask")
        code = mask_call(layer, attr, args, in_masks, names)
        previous = () if from_values(layer) else tuple(names.code(m) for m in in_masks if m is not None)
        mask = Statement(code, f"{name} = ", (name,), tuple(ins) + previous, is_mask=True)
        # compute_mask reads the layer's inputs: ask before the result replaces one of them
        out += [mask, value] if var in ins else [value, mask]
    return out


def used_in_call(statements) -> list:
    """Every layer call, and the masks that some later statement reads (a mask needed only by
    compute_mask() is worked out there)."""
    keep, live = [], set()
    for st in reversed(statements):
        if not st.is_mask or set(st.defines) & live:
            keep.append(st)
            live |= set(st.uses)
    return list(reversed(keep))


def mask_arguments(layer, in_masks, masks: dict, names: MaskNames) -> list:
    """`mask=...` (or MultiHeadAttention's `query_mask=...`) for a layer given masked inputs."""
    if all(m is None for m in in_masks):
        return []
    if layer.block is not None:
        if not masks[layer.kind].call_takes_mask:
            return []
    elif layer.kind in PER_INPUT_MASKS:
        keys = PER_INPUT_MASKS[layer.kind]
        return [KeyValue(f"{k}=", Atom(names.code(m))) for k, m in zip(keys, in_masks) if m is not None]
    elif layer.kind not in TAKES_MASK:
        return []
    if len(in_masks) == 1:
        return [KeyValue("mask=", Atom(names.code(in_masks[0])))]
    return [KeyValue("mask=", Code("", [Atom(names.code(m)) for m in in_masks], open_="[", close="]"))]


def from_values(layer) -> bool:
    """A layer that makes a mask from its input's values alone (Embedding, Masking)."""
    return layer.block is None and layer.kind in ("Embedding", "Masking")


def mask_call(layer, attr: str, args: list, in_masks, names: MaskNames) -> Code:
    """`self.<layer>.compute_mask(...)`: Keras's own rule for the mask this layer makes."""
    if from_values(layer):
        return Code(f"{attr}.compute_mask", args)
    inputs = args[0] if len(args) == 1 else Code("", args, open_="[", close="]")
    if all(m is None for m in in_masks):
        return Code(f"{attr}.compute_mask", [inputs])
    if len(in_masks) == 1:
        previous = Atom(names.code(in_masks[0]))
    else:
        previous = Code("", [Atom(names.code(m)) for m in in_masks], open_="[", close="]")
    return Code(f"{attr}.compute_mask", [inputs, previous])


def write_statements(w: Writer, statements, training: bool = True) -> None:
    for st in statements:
        code = st.code
        if not training:
            code = Code(code.head, [i for i in code.items if i.flat() != "training=training"], code.tail)
        w.code(code, st.prefix)


def needed(statements, names: tuple) -> list:
    """The statements that `names` depend on (a backward slice), in order."""
    wanted, keep = set(names), []
    for st in reversed(statements):
        if wanted & set(st.defines):
            keep.append(st)
            wanted -= set(st.defines)
            wanted |= set(st.uses)
    return list(reversed(keep))


def call_body(w: Writer, graph: Graph, scope: Scope, attrs) -> None:
    """call() of a model or block without masks."""
    for node in graph.nodes:
        layer = node.layer
        out = tensor_var(scope, node.output)
        extra = ", training=training" if takes_training(layer) else ""
        args = inputs_code(scope, node.inputs, positional_inputs(layer))
        w.line(f"{out} = self.{attrs[layer.id]}({args}{extra})")


def block_class(w: Writer, block, classes, masks: dict) -> None:
    graph = block.graph
    info = masks[block.name]
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
        if info.flow.any:
            masked_block_methods(w, graph, attrs, info, masks)
        else:
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


def masked_block_methods(w: Writer, graph: Graph, attrs, info, masks: dict) -> None:
    """call() carrying masks and, when the block passes a mask on or makes one, compute_mask()."""
    scope = Scope(LOCAL_NAMES | {"mask"})  # Keras passes the inputs' masks as `mask`
    ins = [scope.add(i.name) for i in graph.inputs]
    arg = ins[0] if len(ins) == 1 else "inputs"
    names = MaskNames(scope)
    for var, mask in zip(ins, info.inputs):
        if mask is not None:
            if len(ins) == 1:
                names.names[id(mask)] = "mask"
            else:
                names.bind(mask, f"{var}_mask")
    unpack = f"{', '.join(names.code(m) if m is not None else '_' for m in info.inputs)} = mask"
    statements = call_statements(graph, scope, attrs, info.flow, masks, names)
    output = tensor_var(scope, graph.outputs[0])
    takes = ", mask=None" if info.call_takes_mask else ""
    with w.block(f"def call(self, {arg}{takes}, training=None):"):
        if len(ins) > 1:
            w.line(f"{', '.join(ins)} = inputs")
            if info.call_takes_mask:
                w.line(unpack)
        write_statements(w, used_in_call(statements))
        w.line(f"return {output}")
    if not info.computes_mask:
        return
    w.blank()
    with w.block(f"def compute_mask(self, {arg}, mask=None):"):
        if info.output is None or info.output.node is None:  # no mask, or one of the inputs'
            if len(ins) > 1 and info.output is not None:
                w.line(unpack)
            w.line(f"return {names.code(info.output)}")
            return
        # The mask is made inside the block: the steps it depends on, without training.
        body = needed(statements, (names.code(info.output),))
        reads = {u for st in body for u in st.uses}
        if len(ins) > 1 and reads & set(ins):
            w.line(f"{', '.join(ins)} = inputs")
        if len(ins) > 1 and reads & {names.code(m) for m in info.inputs if m is not None}:
            w.line(unpack)
        write_statements(w, body, training=False)
        w.line(f"return {names.code(info.output)}")


def model_class_code(w: Writer, spec, name: str, classes, flow, masks: dict) -> None:
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
            if flow.any:
                statements = call_statements(graph, scope, attrs, flow, masks, MaskNames(scope))
                write_statements(w, used_in_call(statements))
            else:
                call_body(w, graph, scope, attrs)
            w.line(f"return {inputs_code(scope, graph.outputs)}")
