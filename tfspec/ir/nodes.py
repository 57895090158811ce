"""IR nodes: a model (or block body) is a graph of layer applications in topological order.

Block instances share their bodies: every use of a block with the same arguments and input
shapes points at one checked body (`Layer.body`), so the model is a DAG of graphs rather than
a tree that doubles with each level of nesting. Nodes, layers, graphs and blocks therefore
compare and hash by identity, and their reprs do not descend into bodies."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..diagnostics import Span
from .values import Call


@dataclass
class Input:
    name: str
    shape: tuple | None  # per-sample shape; None inside blocks (taken from the caller)
    dtype: str
    span: Span


@dataclass(eq=False)
class Layer:
    """One layer object. Applied by one Node, or by several when it is shared.

    Or a tensor operation (`expr` set, kind OPERATION): an expression of keras.ops functions
    and operators over its node's input tensors, such as `abs(a - b)`. It holds no weights, is
    made afresh for each node and is not one of Keras's layers (graph.layers leaves it out)."""

    id: str  # a Python identifier, unique in its graph
    kind: str  # catalog layer name, or a block name when `block` is set
    call: Call  # the constructor call as written (block parameters substituted)
    span: Span
    values: dict = field(default_factory=dict)  # every argument, defaults filled in (catalog layers)
    declared: bool = False  # named with `layer NAME = ...`
    block: "Block | None" = field(default=None, repr=False)
    body: "Graph | None" = field(default=None, repr=False)  # a block instance: the block's graph, arguments
    # bound; shared by every instance of the block with the same arguments and input shapes
    uses: int = 0
    expr: object = field(default=None, repr=False)  # a tensor operation: values.Expr / Call over Refs to tensors
    static: bool = False  # an operation that computes a value (`c = x.shape[-1]`), not a tensor
    # The call with the values the body computes put in (`Conv2D(c * 4, 1)` -> `Conv2D(96, 1)`),
    # set by the shape pass for the instance it shapes; None when the call reads none.
    computed: object = field(default=None, repr=False)
    late: bool = False  # the call reads values or expressions computed with the shapes (see computed)

    @property
    def operation(self) -> bool:
        return self.expr is not None


OPERATION = "operation"  # the kind of a Layer that is a tensor operation


@dataclass(eq=False)
class Node:
    """One application of a layer: inputs -> output (tensor names).

    `kwargs` are the call's other arguments, ((name, value), ...): a tensor name, a list of
    tensor names (`initial_state=[h, c]`) or a plain value (`use_causal_mask=True`); `more` the
    names of the further tensors the call yields (`-> out, h, c`: more = ("h", "c"))."""

    layer: Layer
    inputs: tuple
    output: str
    span: Span
    chain: int  # index of the chain statement it came from
    named: bool  # the output is the chain's named result (not an intermediate)
    kwargs: tuple = ()
    more: tuple = ()
    # When the node runs: ((condition, wanted truth), ...) of the `if` statements around it (the
    # conditions are values of the IR, computed with the block's parameters and shapes); () always.
    guard: tuple = ()
    # `-> Dense(units) * depth` in a block template, the count a parameter: the Ref `depth`. The
    # layer is applied that many times, a fresh one each time (instantiate writes them out). None:
    # once (a count written as a number is written out by lowering).
    repeat: object = None

    @property
    def outputs(self) -> tuple:
        return (self.output, *self.more)

    def tensors(self) -> list:
        """Every tensor the node reads: its inputs, then those of its call arguments."""
        found = list(self.inputs)
        for _, value in self.kwargs:
            if isinstance(value, TensorList):
                found.extend(value)
            elif isinstance(value, Tensor):
                found.append(value.name)
        return found


@dataclass(frozen=True)
class Tensor:
    """A tensor name given as a call argument (`mask=m`), as opposed to a plain value."""

    name: str


class TensorList(tuple):
    """Tensor names given together as a call argument (`initial_state=[h, c]`)."""


@dataclass(eq=False)
class LossTerm:
    """`add_loss kl`: keras.ops.mean of the tensor (over the batch and every axis) is added to
    the model's loss, as Keras's add_loss does, and logged under its name. `guard` as a Node's:
    a term inside an `if` is added only when its branch is chosen."""

    name: str  # the tensor, and the name its value is logged under (`kl`, `val_kl`)
    span: Span
    guard: tuple = ()


@dataclass(eq=False)
class Graph:
    name: str
    inputs: list
    layers: list  # Layer, in creation order
    nodes: list  # Node, in topological order
    outputs: list  # tensor names
    span: Span
    output_spans: list = field(default_factory=list)
    shapes: dict = field(default_factory=dict)  # tensor name -> shape (after inference)
    params: dict = field(default_factory=dict)  # layer id -> (trainable, non_trainable)
    values: dict = field(default_factory=dict)  # name -> value computed before the model runs (`c = x.shape[-1]`)
    dtypes: dict = field(default_factory=dict)  # tensor name -> dtype (after inference; "float32" when absent)
    losses: list = field(default_factory=list)  # LossTerm, in the order of the text

    def producer(self, tensor: str) -> Node | None:
        for node in self.nodes:
            if node.output == tensor or tensor in node.more:
                return node
        return None


@dataclass(eq=False)
class Block:
    name: str
    params: list  # (name, default) pairs; default is MISSING when required
    graph: Graph = field(repr=False)  # the template body (values may hold Refs to params)
    span: Span
    spans: dict = field(default_factory=dict, repr=False)
    height: int = 0  # levels of blocks it holds, itself included (1: no block inside); set by lowering
    cache: dict = field(default_factory=dict, repr=False, compare=False)  # facts derived once (tfspec.ir.walk)


class _Missing:
    def __repr__(self):
        return "MISSING"


MISSING = _Missing()


@dataclass
class Spec:
    """A checked spec: the model graph, its blocks and its training settings."""

    path: str
    source: str
    model: Graph
    blocks: dict  # name -> Block, in definition order
    training: dict | None  # the runtime's TRAINING dict (see tfspec.check.training)
    spec: dict = field(repr=False, default_factory=dict)  # the normalised spec
    train_span: Span | None = None
    # A spec with a `search { ... }` section is checked at several points and loaded at its
    # default one: the Space, the point, and the normalised spec as written (names unreplaced).
    space: object = None
    point: dict | None = None
    searched: dict | None = field(repr=False, default=None)
    searched_spans: dict | None = field(repr=False, default=None)

    @property
    def name(self) -> str:
        return self.model.name

    @property
    def digest(self) -> str:
        """A hash of the spec text: a run refuses to resume from a different spec."""
        import hashlib

        return hashlib.sha256(self.source.encode("utf-8")).hexdigest()
