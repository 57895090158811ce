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

So the subclassing printer carries the masks itself, in variables, and gives them to the
layers that use them; this module says, from the IR alone (no TensorFlow), which tensor has
which mask. A mask is a `Mask` token: two tensors with the same token have the same mask (a
Dense or a Dropout passes its input's mask on unchanged); a layer that computes a new mask
makes a new token. The rules per layer kind are checked against Keras 3.15 by tests/test_masks.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .catalog import bind_call
from .nodes import Graph, Node
from .values import Call

# Layers that pass the mask of their (first) input on unchanged.
KEEP = frozenset(
    """
    Activation ELU LeakyReLU PReLU ReLU Softmax Dense Identity Rescaling
    Dropout AlphaDropout GaussianDropout GaussianNoise SpatialDropout1D SpatialDropout2D SpatialDropout3D
    BatchNormalization LayerNormalization GroupNormalization UnitNormalization
    TimeDistributed MultiHeadAttention Attention AdditiveAttention
    """.split()
)
# Layers that support masking and end it: their output has no mask.
END = frozenset({"GlobalAveragePooling1D", "Dot"})
RECURRENT = frozenset({"SimpleRNN", "LSTM", "GRU"})
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
    }
)
# MultiHeadAttention takes one mask per input: query_mask, value_mask, key_mask.
PER_INPUT_MASKS = {"MultiHeadAttention": ("query_mask", "value_mask", "key_mask")}
# Every other layer of the catalog does not support masking: Keras drops an incoming mask (and
# warns that the layer "will destroy the mask").


@dataclass(eq=False)
class Mask:
    """One mask value. `node` made it (None for a block's input mask, `index` says which)."""

    node: Node | None = None
    index: int = 0

    def __repr__(self):
        return f"Mask({self.node.output if self.node else f'input {self.index}'})"


def effect(layer) -> str:
    """What a catalog layer does to masks: 'keep', 'end' (no mask out), 'new' (computes one;
    also used when a block parameter decides), 'elementwise' or 'concat' (merges)."""
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
            return "new"
        _, inner_values = bind_call(inner)
        return _flag(inner_values.get("return_sequences"), "keep", "end")
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
    return "new"  # a block parameter: Keras decides at run time


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

    @property
    def any(self) -> bool:
        return any(m is not None for m in self.tensors.values())


def block_graph(layer) -> Graph:
    """The graph to read a block application through: the bound instance when there is one."""
    return layer.body if layer.body is not None else layer.block.graph


def flow(graph: Graph, input_masks, sites=None, instance: bool = True, walked=None) -> Flow:
    """Masks through `graph`, its inputs carrying `input_masks` (Mask or None each).

    `sites`, when given, collects {block name: [bool per input]}: whether an application of
    the block is given a masked input. Block bodies are read through their bound instance
    (`instance=True`, exact) or their template (parameters unknown: the printer's view)."""
    walked = {} if walked is None else walked  # (body, which inputs share a mask) -> output's mask
    out = Flow()
    for inp, mask in zip(graph.inputs, input_masks):
        out.tensors[inp.name] = mask
    for node in graph.nodes:
        ins = [out.tensors.get(t) for t in node.inputs]
        layer = node.layer
        if layer.block is not None:
            if sites is not None:
                before = sites.setdefault(layer.block.name, [False] * len(ins))
                sites[layer.block.name] = [a or m is not None for a, m in zip(before, ins)]
            body = block_graph(layer) if instance else layer.block.graph
            mask = block_output(body, node, ins, instance, walked)
        else:
            mask = layer_mask(effect(layer), layer, graph, node, ins)
        out.tensors[node.output] = mask
        out.nodes.append((node, ins, mask))
    return out


def block_output(body: Graph, node: Node, ins: list, instance: bool, walked: dict):
    """The mask of a block application's result: None, one of `ins`, or a new one (made inside
    the block: the caller asks the block for it). Bodies shared by several applications (and
    nested blocks) are walked once per pattern of input masks."""
    pattern = tuple(None if m is None else next(i for i, o in enumerate(ins) if o is m) for m in ins)
    key = (id(body), pattern)
    if key not in walked:
        inner = flow(body, [None if p is None else Mask(None, p) for p in pattern], instance=instance, walked=walked)
        result = inner.tensors.get(body.outputs[0])
        walked[key] = (body, "none" if result is None else result.index if result.node is None else "new")
    answer = walked[key][1]
    if answer == "none":
        return None
    return Mask(node) if answer == "new" else ins[answer]


def layer_mask(rule: str, layer, graph: Graph, node: Node, ins: list):
    if rule == "keep":
        return ins[0]
    if rule == "end":
        return None
    if rule == "new":
        sources = layer.kind in ("Masking", "Embedding")
        return Mask(node) if sources or ins[0] is not None else None
    present = [m for m in ins if m is not None]
    if not present:
        return None
    same = len(present) == len(ins) and all(m is present[0] for m in present)
    if rule == "elementwise":
        if len(present) < len(ins):
            return None  # Keras: a merge of masked and unmasked tensors has no mask
        return present[0] if same else Mask(node)
    # concat: unmasked inputs count as all-valid, so a partly masked concatenation has a mask
    return present[0] if same and concat_on_last_axis(layer, graph, node) else Mask(node)


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


def block_masks(model: Graph, blocks: list) -> tuple[Flow, dict]:
    """(masks of the model graph, {block name: BlockMasks}) for the printer; `blocks` are the
    blocks the model uses, callees before callers.

    A block class is written once for all its applications, so it assumes an input may be
    masked when any application (in the model, or in another block's template) masks it."""
    sites: dict = {}
    model_flow = flow(model, [None] * len(model.inputs), sites)
    result = {}
    for block in reversed(blocks):  # callers before callees (blocks are never recursive)
        masked = sites.get(block.name, [False] * len(block.graph.inputs))
        inputs = [Mask(None, i) if m else None for i, m in enumerate(masked)]
        body = flow(block.graph, inputs, sites, instance=False)
        result[block.name] = BlockMasks(inputs, body, body.tensors.get(block.graph.outputs[0]))
    return model_flow, result
