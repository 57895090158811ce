"""What the printers share beyond the emitter: naming tensors, layer constructor calls, and the
code that carries padding masks explicitly (see tfspec.ir.masks)."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from ..ir.catalog import REGISTRY
from ..ir.masks import PER_INPUT_MASKS, QUERY_AS_ATTENTION_MASK, TAKES_MASK
from ..ir.nodes import Layer
from ..ir.ops import OPS
from ..ir.walk import bodies
from ..plugins import LOADED
from .emitter import INDENT, Atom, Code, Conditional, KeyValue, Scope, Writer, call_code, class_path, pystr, snake


def tensor_var(scope: Scope, tensor: str) -> str:
    """Intermediate tensors of a chain (`y~2`) reuse the variable of the chain's result `y`: each
    replaces the one before. The parts of an expression (`y~e1`, `Dense(3)(x) + Dense(3)(-x)`)
    are alive together, so each has a variable of its own (`y_1`)."""
    base, _, rest = tensor.partition("~")
    if rest.startswith("e"):
        if tensor not in scope.names:
            scope.names[tensor] = scope.fresh(tensor.replace("~e", "_"))
        return scope.names[tensor]
    return scope.add(base)


def inputs_code(scope: Scope, names, positional: bool = False) -> str:
    """The argument(s) a layer is applied to: `x`, `[a, b]`, or `a, b` for layers such as
    MultiHeadAttention whose call takes its inputs as separate arguments."""
    names = [tensor_var(scope, n) for n in names]
    if len(names) == 1:
        return names[0]
    return ", ".join(names) if positional else "[" + ", ".join(names) + "]"


def names_code(names: list) -> Code:
    """`x`, or a list `[a, b]` that explodes when it does not fit its line."""
    if len(names) == 1:
        return Atom(names[0])
    return Code("", [Atom(n) for n in names], open_="[", close="]")


def positional_inputs(layer: Layer) -> bool:
    return layer.block is None and getattr(REGISTRY[layer.kind], "positional_inputs", False)


def constructor(layer: Layer, env=None) -> Code:
    """`layers.Kind(args...)` exactly as the spec wrote the call."""
    return call_code(class_path(layer.kind), layer.call.args, layer.call.kwargs, env)


def block_function_name(name: str) -> str:
    return snake(name)


def shape_code(shape) -> str:
    inner = ", ".join("None" if d is None else str(d) for d in shape)
    return f"({inner},)" if len(shape) == 1 else f"({inner})"


def input_code(inp, with_name: bool = True) -> str:
    parts = [f"shape={shape_code(inp.shape)}"]
    if inp.dtype != "float32":
        parts.append(f"dtype={pystr(inp.dtype)}")
    if with_name:
        parts.append(f"name={pystr(inp.name)}")
    return f"keras.Input({', '.join(parts)})"


# -- names Keras gives by itself --------------------------------------------------------------
#
# Keras names what it makes without a name after its class, from one counter per prefix in the
# process (keras.src.utils.naming.uniquify): `dense`, `dense_1`, `dense_2`, ... A functional or
# Sequential model refuses two layers or ops of one name, so an input or a `name=` of that form
# ("dense", "input_layer_2") can meet an automatic name, depending on what the process made
# before. build_model() moves the counter of each such prefix past the names the spec gives
# (`keras.backend.get_uid` advances the same counter), so that no automatic name can be one of them.
#
# The prefixes: catalog layers, the Input of a Sequential model, and the ops that compute masks
# in a functional model (Keras's compute_mask of Embedding, Masking, Attention, Concatenate and
# the merge layers; the query mask the printer expands for MultiHeadAttention).
# And the tensor operations a spec writes: Keras names each after its class, which is the
# function's name but for a few (abs makes an Absolute, swish a Silu; `x[...]` a GetItem).
AUTO_PREFIXES = frozenset(
    {snake(kind) for kind in REGISTRY}
    | {"input_layer"}
    | {"not_equal", "any", "convert_to_tensor", "expand_dims", "logical_or", "concatenate", "ones_like", "zeros_like"}
    | {op.function for op in OPS.values() if op.function}
    | {"absolute", "silu", "hard_silu", "get_item", "cumsum"}
    | {"grouped_query_attention"}  # keras.layers.GroupQueryAttention's class is GroupedQueryAttention
    | {"add_loss"}  # the layer that adds an `add_loss` term (tfspec.backends.losses)
)
# A name numbered past this is not reserved: a process would have to make more than this many
# layers of one kind before Keras named one so (reserving costs a quarter of a microsecond a number).
MAX_RESERVED = 100_000
_NUMBERED = re.compile(r"(.+)_(0|[1-9][0-9]*)\Z")


def auto_name_parts(name: str) -> tuple | None:
    """(prefix, number) when Keras may give `name` by itself: `dense` (dense, 0), `dense_3` (dense, 3)."""
    if auto_prefix(name):
        return name, 0
    numbered = _NUMBERED.match(name)
    if numbered and auto_prefix(numbered.group(1)):
        return numbered.group(1), int(numbered.group(2))
    return None


def auto_prefix(name: str) -> bool:
    """Whether Keras names layers `name`, `name_1`, ...: a built-in kind's or operation's prefix,
    or a plugin layer's (plugins load after this module)."""
    if name in AUTO_PREFIXES:
        return True
    return any(snake(entry.name) == name for item in LOADED.values() for entry in item.plugin.layers)


def given_names(graph) -> list:
    """The names a model gives its inputs and layers (`name=`, in block instances too)."""
    names = [inp.name for inp in graph.inputs]
    for body in bodies(graph):
        for layer in body.layers:
            name = layer.values.get("name") if layer.block is None else None
            if isinstance(name, str):
                names.append(name)
    return names


def reserved_prefixes(graph) -> dict:
    """{prefix: the largest number taken} for the names given that Keras might also give."""
    taken: dict = {}
    for name in given_names(graph):
        parts = auto_name_parts(name)
        if parts is not None and parts[1] <= MAX_RESERVED:
            taken[parts[0]] = max(taken.get(parts[0], 0), parts[1])
    return taken


def reserve_names(w: Writer, graph) -> None:
    """The first lines of build_model(): move Keras's name counters past the names the spec gives
    (nothing for a model whose names are not of Keras's form)."""
    taken = reserved_prefixes(graph)
    if not taken:
        return
    w.line("# Keras names what it makes from a counter per kind (dense, dense_1, ...). Names")
    w.line("# in the spec have that form: move the counters past them, so that no name Keras")
    w.line("# gives by itself can be one of them.")
    for prefix in sorted(taken):
        with w.block(f"while keras.backend.get_uid({pystr(prefix)}) <= {taken[prefix]}:"):
            w.line("pass")


def rename_kwargs(kwargs, names: dict) -> tuple:
    """Keyword arguments of a block call, named as the generated function or class names them
    (a block parameter that would clash with generated code is renamed there)."""
    return tuple((names.get(key, key), value) for key, value in kwargs)


# -- masks carried explicitly ---------------------------------------------------------------


@dataclass
class Statement:
    """One line of generated code: `prefix + code`, the variables it assigns and those it reads;
    `guard`: the `if` branches it is inside (its node's Node.guard)."""

    code: Code
    prefix: str
    defines: tuple
    uses: tuple
    is_mask: bool = False
    guard: tuple = ()


def mask_variable(tensor: str) -> str:
    """The name wanted for the mask of the tensor held by `tensor`: `x_mask` (`_mask` for `_`)."""
    return f"{tensor}mask" if tensor.endswith("_") else f"{tensor}_mask"


class MaskNames:
    """Python names of the mask variables of one function (`<tensor>_mask`), given by the
    function's Scope like every other name, so they clash with nothing there."""

    def __init__(self, scope: Scope):
        self.scope = scope
        self.names: dict = {}  # id(Mask) -> name

    def bind(self, mask, tensor: str) -> str:
        """A new variable for `mask`, the mask of the tensor held by variable `tensor` (the one it
        has, when it has one: a loop binds the mask it makes before its statements)."""
        if id(mask) in self.names:
            return self.names[id(mask)]
        return self.name(mask, self.scope.fresh(mask_variable(tensor)))

    def name(self, mask, name: str) -> str:
        """`mask` is held by `name` (a parameter)."""
        self.names[id(mask)] = name
        return name

    def code(self, mask) -> str:
        return "None" if mask is None else self.names[id(mask)]


def layer_mask_arguments(layer: Layer, in_masks, names: MaskNames) -> list:
    """The mask arguments of a catalog layer applied to tensors with masks `in_masks`: `mask=`
    (a list of masks for a list of inputs) for a layer whose call() takes it, and
    MultiHeadAttention's `value_mask=`/`key_mask=` and its query's mask as an `attention_mask`
    (Keras 3.15 ignores `query_mask`: it reads the mask attached to the query tensor)."""
    if all(m is None for m in in_masks) or not takes_masks(layer):
        return []
    if layer.kind in PER_INPUT_MASKS:
        out = []
        for key, m in zip(PER_INPUT_MASKS[layer.kind], in_masks):
            if m is None or (key == "query_mask" and layer.kind in QUERY_AS_ATTENTION_MASK):
                continue
            out.append(KeyValue(f"{key}=", Atom(names.code(m))))
        if layer.kind in QUERY_AS_ATTENTION_MASK and in_masks[0] is not None:
            out.append(KeyValue("attention_mask=", query_attention_mask(in_masks[0], names)))
        return out
    if len(in_masks) == 1:
        return [KeyValue("mask=", Atom(names.code(in_masks[0])))]
    return [KeyValue("mask=", Code("", [Atom(names.code(m)) for m in in_masks], open_="[", close="]"))]


def takes_masks(layer: Layer) -> bool:
    """A catalog layer whose call() takes the masks of its inputs as arguments."""
    return layer.block is None and (layer.kind in TAKES_MASK or layer.kind in PER_INPUT_MASKS)


def query_attention_mask(mask, names: MaskNames) -> Code:
    """The query's mask (batch, steps) as an attention mask (batch, steps, 1), the way
    MultiHeadAttention expands it; None stays None when the mask may be missing."""
    name = names.code(mask)
    expanded = Code("keras.ops.expand_dims", [Atom(name), Atom("-1")])
    return Conditional(Atom("None"), f"{name} is None", expanded) if mask.maybe else expanded


def mask_uses(in_masks, names: MaskNames) -> tuple:
    """The mask variables read by a call given `in_masks`."""
    return tuple(names.code(m) for m in in_masks if m is not None)


def from_values(layer: Layer) -> bool:
    """A layer that makes a mask from its input's values alone (Embedding, Masking)."""
    return layer.block is None and layer.kind in ("Embedding", "Masking")


def mask_call(layer: Layer, handle: str, args: list, in_masks, names: MaskNames) -> Code:
    """`<handle>.compute_mask(...)`: Keras's own rule for the mask this layer makes."""
    if from_values(layer):
        return Code(f"{handle}.compute_mask", args)
    inputs = args[0] if len(args) == 1 else Code("", args, open_="[", close="]")
    if all(m is None for m in in_masks):
        return Code(f"{handle}.compute_mask", [inputs])
    if len(in_masks) == 1:
        previous = Atom(names.code(in_masks[0]))
    else:
        previous = Code("", [Atom(names.code(m)) for m in in_masks], open_="[", close="]")
    return Code(f"{handle}.compute_mask", [inputs, previous])


def layer_inputs(layer: Layer, ins: list) -> list:
    """The input argument(s) of a layer call as code: `x`, `q, v` (positional) or `[a, b]`."""
    if len(ins) == 1:
        return [Atom(ins[0])]
    if positional_inputs(layer):
        return [Atom(i) for i in ins]
    return [Code("", [Atom(i) for i in ins], open_="[", close="]")]


def used_statements(statements, live=None) -> list:
    """Every statement but the mask computations that no later statement reads (in a loop, nor
    its next round)."""
    keep, live = [], set() if live is None else live
    for st in reversed(statements):
        if isinstance(st.code, Loop):
            inner = st.code.statements
            st = replace(st, code=Loop(st.code.header, used_statements(inner, live | set(st.uses))))
            live |= set(st.uses)
            keep.append(st)
        elif not st.is_mask or set(st.defines) & live:
            keep.append(st)
            live |= set(st.uses)
    return list(reversed(keep))


class Loop(Code):
    """`for ...:` and the statements it repeats, written as one statement of a body."""

    def __init__(self, header: str, statements: list):
        super().__init__(header, ())
        self.header, self.statements = header, statements

    def lines(self, indent, prefix="", suffix=""):
        out = [f"{indent}{self.header}"]
        for st in self.statements:
            out += st.code.lines(indent + INDENT, st.prefix)
        return out


def loop_statement(header: str, statements: list) -> Statement:
    defines = tuple(name for st in statements for name in st.defines)
    uses = tuple(name for st in statements for name in st.uses)
    return Statement(Loop(header, statements), "", defines, uses)
