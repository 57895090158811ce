"""IR nodes: a model (or block body) is a graph of layer applications in topological order."""

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


@dataclass
class Layer:
    """One layer object. Applied by one Node, or by several when it is shared."""

    id: str  # a Python identifier, unique in its graph
    kind: str  # catalog layer name, or a block name when `block` is set
    call: Call  # the constructor call as written (block parameters substituted)
    span: Span
    values: dict = field(default_factory=dict)  # every argument, defaults filled in (catalog layers)
    declared: bool = False  # named with `layer NAME = ...`
    block: "Block | None" = None
    body: "Graph | None" = None  # a block instance: the block's graph with its arguments bound
    uses: int = 0


@dataclass
class Node:
    """One application of a layer: inputs -> output (tensor names)."""

    layer: Layer
    inputs: tuple
    output: str
    span: Span
    chain: int  # index of the chain statement it came from
    named: bool  # the output is the chain's named result (not an intermediate)


@dataclass
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

    def producer(self, tensor: str) -> Node | None:
        for node in self.nodes:
            if node.output == tensor:
                return node
        return None


@dataclass
class Block:
    name: str
    params: list  # (name, default) pairs; default is MISSING when required
    graph: Graph  # the template body (values may hold Refs to params)
    span: Span
    spans: dict = field(default_factory=dict, repr=False)


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

    @property
    def name(self) -> str:
        return self.model.name

    @property
    def digest(self) -> str:
        """A hash of the spec text: a run refuses to resume from a different spec."""
        import hashlib

        return hashlib.sha256(self.source.encode("utf-8")).hexdigest()
