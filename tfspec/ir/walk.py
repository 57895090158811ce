"""Walking a checked model without expanding it.

Block instances share their bodies (see tfspec.ir.nodes), so a model whose blocks each use the
next one twice is a DAG of a few graphs standing for an astronomically large tree. Everything
here visits each distinct graph (or block template) once and combines the answers, and none of
it recurses on the nesting depth, so it stays linear in the size of the spec text.

The nesting itself is bounded by lowering (E309): `MAX_BLOCK_DEPTH` levels of blocks inside
blocks. The subclassing style nests one Keras layer call per level, and Keras builds such a
model by recursion: measured with Keras 3.15 on Python 3.11, `build_model()` of a subclassed
model whose blocks nest 130 deep works and 140 deep raises RecursionError (each level costs
about seven Python frames); 32 leaves a margin of four for deeper call stacks (tests, training
under tf.function, saving and loading).
"""

from __future__ import annotations

import gc
from contextlib import contextmanager

from .catalog import REGISTRY

MAX_BLOCK_DEPTH = 32  # levels of blocks inside blocks (E309)


def block_uses(block) -> list:
    """The blocks that `block`'s template uses, in the order of its layers (with repeats)."""
    graph = block.graph
    if graph is None:
        return []
    return [layer.block for layer in graph.layers if layer.block is not None]


def used_blocks(graph, blocks=None) -> list:
    """Blocks reachable from `graph`, callees before callers, each once, in a stable order:
    the order of a depth-first walk over the layers that appends a block after its callees.
    Iterative and linear (each template is walked once)."""
    order: list = []
    done: set = set()
    stack = [(None, iter(graph.layers))]
    while stack:
        block, layers = stack[-1]
        for layer in layers:
            inner = layer.block
            if inner is not None and id(inner) not in done and inner.graph is not None:
                stack.append((inner, iter(inner.graph.layers)))
                break
        else:
            stack.pop()
            if block is not None and id(block) not in done:
                done.add(id(block))
                order.append(block)
    return order


def takes_training(layer) -> bool:
    """Whether calling the layer needs `training=` (Dropout, BatchNormalization, ... or a block
    holding one at any depth). Remembered per block, so a call is O(1) after the first."""
    if layer.operation:
        return False
    if layer.block is None:
        return REGISTRY[layer.kind].training
    block = layer.block
    if "training" not in block.cache:
        for inner in used_blocks(block.graph) + [block]:  # callees first
            if "training" not in inner.cache:
                inner.cache["training"] = any(
                    inner_layer.block.cache["training"]
                    if inner_layer.block is not None
                    else REGISTRY[inner_layer.kind].training
                    for inner_layer in inner.graph.layers
                )
    return block.cache["training"]


def bodies(graph) -> list:
    """Every distinct graph reachable from `graph` through block instances (`layer.body`),
    `graph` last and each body before the graphs holding it. Iterative; each body once."""
    order: list = []
    done: set = set()
    stack = [(graph, iter(graph.layers))]
    while stack:
        current, layers = stack[-1]
        for layer in layers:
            body = layer.body
            if body is not None and id(body) not in done:
                stack.append((body, iter(body.layers)))
                break
        else:
            stack.pop()
            if id(current) not in done:
                done.add(id(current))
                order.append(current)
    return order


def fold(graph, combine) -> dict:
    """{id(graph): answer} for `graph` and every body under it, bottom up: `combine(g, answers)`
    gets the answers of the bodies inside g already computed. One call per distinct graph."""
    answers: dict = {}
    for g in bodies(graph):
        answers[id(g)] = combine(g, answers)
    return answers


@contextmanager
def paused_gc():
    """Pause Python's cyclic garbage collector while a pass makes many small objects that all
    stay alive (a spec's tokens, tree and IR; a summary's rows): each collection would only scan
    them all again. On a 1 MiB spec those scans were about 40% of the time. Reference counting
    still frees whatever is dropped; the collector runs again afterwards.

    What was made meanwhile is then moved to the oldest generation without a scan (gc.freeze
    and gc.unfreeze), as the collector would move the survivors: otherwise its first young
    collection afterwards walks every one of those objects (0.3 s after a 1 MiB spec). Cyclic
    garbage among them is still found, by the next full collection. Skipped when the program has
    frozen objects of its own (unfreezing would thaw them too)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            if gc.get_freeze_count() == 0:
                gc.freeze()
                gc.unfreeze()
            gc.enable()
