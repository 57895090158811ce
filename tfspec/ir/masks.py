"""Padding masks, statically: which tensors of a graph carry a Keras mask, and where it is made.

Keras attaches a mask to a tensor (`Embedding(mask_zero=True)`, `Masking`) and each layer's
`__call__` passes it on, drops it or computes a new one (`compute_mask`). How a model sees
them depends on how it runs its layers:

- A functional model works the masks out once, on its symbolic tensors, and a layer whose
  `call` takes `mask` and is applied to one tensor (LSTM, Bidirectional, GlobalAveragePooling1D)
  has that symbolic mask recorded as an argument of its graph node: at run time it is given
  the mask explicitly. Layers applied to several tensors (attention, merges) read the masks
  attached to the run-time tensors.
- A `call()` that applies layers one after another (a subclassed model, a block class) has
  only the masks attached to the tensors it holds, and those get lost.
  MultiHeadAttention.call clears the masks of its query, value and key tensors in place
  (`backend.set_keras_mask(query, None)`), so a residual `Add` of the same tensor sees no
  mask, and the pooling after it averages over the padding. A Layer subclass that does not
  define compute_mask does not support masking: Keras warns that it "will destroy the mask"
  and a symbolic call of it loses the mask.

- A functional model is hit too once a MultiHeadAttention takes a masked tensor: Keras runs the
  graph on the run-time tensors, MultiHeadAttention clears their masks, and the layers after it
  that read masks from those tensors (merges, attention layers, a second MultiHeadAttention,
  and every layer whose mask Keras did not record in its node) see none.
- MultiHeadAttention.call ignores its `query_mask` argument (it reads the mask attached to the
  query tensor, which may be gone): a query mask has to be given as an `attention_mask`.

So the subclassing printer carries the masks itself, in variables, and gives them to the
layers that use them, and so does the functional printer in a model where a
MultiHeadAttention takes a masked input (`clearing_node`); this module says, from the IR alone
(no TensorFlow), which tensor has which mask. A mask is a `Mask` token: two tensors with the
same token have the same mask (a Dense or a Dropout passes its input's mask on unchanged); a
layer that computes a new mask makes a new token. A token is `maybe` when the mask may be None
at run time (a block parameter decides, or a block input is masked at only some applications).
The rules per layer kind are checked against Keras 3.15 by tests/test_masks.py.

A block template's `if` branches print as Python `if`s around their statements. Where two
branches give one tensor different masks (`Flow.disagreements`), the code after them could not
say which mask variable to read: the styles that carry masks refuse that block (E706).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .catalog import bind_call
from .nodes import Graph, Node
from .values import Call, Ref

# Layers that pass the mask of their (first) input on unchanged.
KEEP = frozenset(
    """
    Activation ELU LeakyReLU PReLU ReLU Softmax Dense Identity Rescaling
    Dropout AlphaDropout GaussianDropout GaussianNoise SpatialDropout1D SpatialDropout2D SpatialDropout3D
    BatchNormalization LayerNormalization GroupNormalization UnitNormalization Normalization
    TimeDistributed MultiHeadAttention Attention AdditiveAttention
    ActivityRegularization GroupQueryAttention
    """.split()
)
# Layers that support masking and end it: their output has no mask.
END = frozenset({"GlobalAveragePooling1D", "Dot"})
RECURRENT = frozenset({"SimpleRNN", "LSTM", "GRU", "RNN", "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D"})
# Elementwise merges: the output mask is the OR of the input masks, or none if one is missing.
ELEMENTWISE = frozenset({"Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"})
# Layers whose call() takes `mask=` (a list of masks for Attention's list of inputs).
TAKES_MASK = frozenset(
    {
        "SimpleRNN",
        "LSTM",
        "GRU",
        "Bidirectional",
        "TimeDistributed",
        "GlobalAveragePooling1D",
        "Softmax",
        "BatchNormalization",
        "Attention",
        "AdditiveAttention",
        "RNN",
        "ConvLSTM1D",
        "ConvLSTM2D",
        "ConvLSTM3D",
    }
)
# MultiHeadAttention takes one mask per input: query_mask, value_mask, key_mask. Keras 3.15
# ignores query_mask (QUERY_AS_ATTENTION_MASK); the printers pass the query's mask as an
# `attention_mask` of shape (batch, steps, 1), as Keras itself expands it.
PER_INPUT_MASKS = {
    "MultiHeadAttention": ("query_mask", "value_mask", "key_mask"),
    "GroupQueryAttention": ("query_mask", "value_mask", "key_mask"),  # uses all three (no quirk)
}
QUERY_AS_ATTENTION_MASK = frozenset({"MultiHeadAttention"})
# Layers whose call() removes the masks attached to the tensors it is given (Keras 3.15:
# MultiHeadAttention.call does `backend.set_keras_mask(query, None)`, and so for value and key).
CLEARS_MASKS = frozenset({"MultiHeadAttention"})
# Every other layer of the catalog does not support masking: Keras drops an incoming mask (and
# warns that the layer "will destroy the mask").


@dataclass(eq=False)
class Mask:
    """One mask value. `node` made it (None for a block's input mask, `index` says which);
    `maybe`: it may be None at run time."""

    node: Node | None = None
    index: int = 0
    maybe: bool = False

    def __repr__(self):
        return f"Mask({self.node.output if self.node else f'input {self.index}'})"


def effect(layer) -> str:
    """What a catalog layer does to masks: 'keep', 'end' (no mask out), 'new' (computes one),
    'maybe' (a block parameter decides: Keras computes it, and it may be None), 'elementwise'
    or 'concat' (merges)."""
    if layer.operation:  # `y = x` names the same tensor again, mask and all; keras.ops drop masks
        return "keep" if isinstance(layer.expr, Ref) and not layer.static else "end"
    kind, values = layer.kind, layer.values
    if kind == "Masking":
        return "new"
    if kind == "Embedding":
        return _flag(values.get("mask_zero"), "new", "end")
    if kind in RECURRENT:
        return _flag(values.get("return_sequences"), "keep", "end")
    if kind == "Bidirectional":
        inner = values.get("layer")
        if not isinstance(inner, Call):
            return "maybe"
        _, inner_values = bind_call(inner)
        return _flag(inner_values.get("return_sequences"), "keep", "end")
    if kind == "SpectralNormalization":
        # Keras calls the wrapped layer itself, whose output keeps the mask when that layer does
        # (Dense); the wrapper adds nothing (an Embedding's mask_zero is refused in it)
        inner = values.get("layer")
        if not isinstance(inner, Call):
            return "maybe"
        return "keep" if bind_call(inner)[0].name in KEEP else "end"
    if kind in ELEMENTWISE:
        return "elementwise"
    if kind == "Concatenate":
        return "concat"
    if kind in KEEP:
        return "keep"
    return "end"  # END, and every layer that does not support masking (it drops the mask)


def _flag(value, yes: str, no: str) -> str:
    if isinstance(value, bool):
        return yes if value else no
    return "maybe"  # a block parameter: Keras decides at run time


def concat_on_last_axis(layer, graph: Graph, node: Node) -> bool:
    axis = layer.values.get("axis", -1)
    if axis == -1:
        return True
    shape = graph.shapes.get(node.inputs[0])
    return isinstance(axis, int) and shape is not None and axis == len(shape)


@dataclass
class Flow:
    """The masks of one graph: {tensor: Mask or None}, and each node's (input masks, output mask)."""

    tensors: dict = field(default_factory=dict)
    nodes: list = field(default_factory=list)  # (node, [Mask|None per input], Mask|None)
    # Nodes of an `if` branch (Node.guard) that give a tensor another mask than its other
    # definition does: a printer carrying masks in variables cannot say which it has afterwards.
    disagreements: list = field(default_factory=list)

    @property
    def any(self) -> bool:
        return any(m is not None for m in self.tensors.values())


def block_graph(layer) -> Graph:
    """The graph to read a block application through: the bound instance when there is one."""
    return layer.body if layer.body is not None else layer.block.graph


def flow(
    graph: Graph,
    input_masks,
    sites=None,
    instance: bool = True,
    walked=None,
    printed: dict | None = None,
    clearing: list | None = None,
) -> Flow:
    """Masks through `graph`, its inputs carrying `input_masks` (Mask or None each).

    `sites`, when given, collects {block name: [(masked, certain) per input]}: whether some
    application of the block is given a masked input, and whether every one is given a mask
    that is never None. Block bodies are read through their bound instance (`instance=True`,
    exact) or their template (parameters unknown: the printer's view); with `printed`
    ({block name: BlockMasks}) a block application's result has the mask its printed helper
    gives: None, one of the inputs' masks, or a new one. `clearing`, when given, collects the
    nodes (in any body) of layers that clear the masks of their masked inputs."""
    walked = {} if walked is None else walked  # (body, which inputs share a mask) -> output's mask
    out = Flow()
    for inp, mask in zip(graph.inputs, input_masks):
        out.tensors[inp.name] = mask
    guards = {inp.name: () for inp in graph.inputs}  # tensor -> the guard of what defined it
    for node in graph.nodes:
        ins = [out.tensors.get(t) for t in node.inputs]
        layer = node.layer
        if layer.block is not None:
            if sites is not None:
                record_site(sites, layer.block.name, ins)
            if printed is not None:
                mask = printed_output(printed[layer.block.name], node, ins)
            else:
                body = block_graph(layer) if instance else layer.block.graph
                mask = block_output(body, node, ins, instance, walked, clearing)
        else:
            if clearing is not None and layer.kind in CLEARS_MASKS and any(m is not None for m in ins):
                clearing.append(node)
            mask = layer_mask(effect(layer), layer, graph, node, ins)
        if node.output in guards and guards[node.output] != node.guard and out.tensors[node.output] is not mask:
            out.disagreements.append(node)
        guards[node.output] = node.guard
        out.tensors[node.output] = mask
        out.nodes.append((node, ins, mask))
    return out


def record_site(sites: dict, name: str, ins: list) -> None:
    here = [(m is not None, m is not None and not m.maybe) for m in ins]
    before = sites.get(name)
    if before is None:
        sites[name] = here
    else:
        sites[name] = [(a or b, c and d) for (a, c), (b, d) in zip(before, here)]


def printed_output(info, node: Node, ins: list):
    output = info.output
    if output is None:
        return None
    if output.node is None:
        return ins[output.index]
    return Mask(node, maybe=output.maybe)


def block_output(body: Graph, node: Node, ins: list, instance: bool, walked: dict, clearing=None):
    """The mask of a block application's result: None, one of `ins`, or a new one (made inside
    the block: the caller asks the block for it). Bodies shared by several applications (and
    nested blocks) are walked once per pattern of input masks."""
    pattern = tuple(None if m is None else (next(i for i, o in enumerate(ins) if o is m), m.maybe) for m in ins)
    key = (id(body), pattern)
    if key not in walked:
        tokens = {p: Mask(None, p[0], p[1]) for p in pattern if p is not None}
        inner = flow(
            body,
            [None if p is None else tokens[p] for p in pattern],
            instance=instance,
            walked=walked,
            clearing=clearing,
        )
        result = inner.tensors.get(body.outputs[0])
        if result is None:
            answer = "none"
        elif result.node is None:
            answer = result.index
        else:
            answer = ("new", result.maybe)
        walked[key] = (body, answer)
    answer = walked[key][1]
    if answer == "none":
        return None
    return Mask(node, maybe=answer[1]) if isinstance(answer, tuple) else ins[answer]


def layer_mask(rule: str, layer, graph: Graph, node: Node, ins: list):
    if rule == "keep":
        return ins[0]
    if rule == "end":
        return None
    if rule in ("new", "maybe"):
        if layer.kind in ("Masking", "Embedding"):
            return Mask(node, maybe=rule == "maybe")
        return None if ins[0] is None else Mask(node, maybe=rule == "maybe" or ins[0].maybe)
    present = [m for m in ins if m is not None]
    if not present:
        return None
    same = len(present) == len(ins) and all(m is present[0] for m in present)
    if rule == "elementwise":
        if len(present) < len(ins):
            return None  # Keras: a merge of masked and unmasked tensors has no mask
        return present[0] if same else Mask(node, maybe=any(m.maybe for m in present))
    # concat: unmasked inputs count as all-valid, so a partly masked concatenation has a mask
    if same and concat_on_last_axis(layer, graph, node):
        return present[0]
    return Mask(node, maybe=all(m.maybe for m in present))


@dataclass
class BlockMasks:
    """How a block class handles masks: which inputs may be masked (at some application), the
    masks through its template body under that assumption, and its output's mask."""

    inputs: list  # Mask (the input may be masked) or None, per input
    flow: Flow
    output: Mask | None

    @property
    def call_takes_mask(self) -> bool:
        """call() takes the masks of the inputs (`mask=`)."""
        return any(m is not None for m in self.inputs)

    @property
    def computes_mask(self) -> bool:
        """The class defines compute_mask(): the mask of its output, so Keras keeps it."""
        return self.call_takes_mask or self.output is not None

    @property
    def returns_mask(self) -> bool:
        """The block makes its output's mask (a functional helper returns it with the output)."""
        return self.output is not None and self.output.node is not None


def block_masks(model: Graph, blocks: list) -> tuple[Flow, dict]:
    """(masks of the model graph, {block name: BlockMasks}) for the printer; `blocks` are the
    blocks the model uses, callees before callers.

    A block class is written once for all its applications, so it assumes an input may be
    masked when any application (in the model, or in another block's template) masks it, and
    that the mask may be None unless every application gives it one."""
    sites: dict = {}
    model_flow = flow(model, [None] * len(model.inputs), sites)
    result = {}
    for block in reversed(blocks):  # callers before callees (blocks are never recursive)
        masked = sites.get(block.name, [(False, False)] * len(block.graph.inputs))
        inputs = [Mask(None, i, maybe=not certain) if any_ else None for i, (any_, certain) in enumerate(masked)]
        body = flow(block.graph, inputs, sites, instance=False)
        result[block.name] = BlockMasks(inputs, body, body.tensors.get(block.graph.outputs[0]))
    return model_flow, result


def clearing_node(model: Graph) -> Node | None:
    """The first layer (at any depth of blocks) that clears the masks of the tensors it is
    given, in a model where it is given a masked one; None when there is none. Keras's
    functional model then reads the wrong masks at run time (tfspec.backends.functional)."""
    found: list = []
    flow(model, [None] * len(model.inputs), clearing=found)
    return found[0] if found else None


def printed_masks(model: Graph, blocks: list) -> tuple[Flow, dict]:
    """The functional printer's view: (masks of the model graph, {block name: BlockMasks}),
    where a block application's result has the mask its helper function gives (see
    `printed_output`): each helper is written once, from its template, callees first."""
    _, infos = block_masks(model, blocks)
    printed: dict = {}
    for block in blocks:
        inputs = infos[block.name].inputs
        body = flow(block.graph, inputs, instance=False, printed=printed)
        printed[block.name] = BlockMasks(inputs, body, body.tensors.get(block.graph.outputs[0]))
    return flow(model, [None] * len(model.inputs), printed=printed), printed


def carried_masks(model: Graph, blocks: list, style: str) -> dict | None:
    """{block name: BlockMasks} as the style's printer carries them in variables: the subclassing
    printer always, the functional one once a MultiHeadAttention takes a masked tensor (else None:
    Keras works the masks out itself)."""
    if style == "subclassing":
        return block_masks(model, blocks)[1]
    return printed_masks(model, blocks)[1] if clearing_node(model) is not None else None
