"""Style legality as an IR pass: can this graph be written in a given Keras style?

Sequential needs one input, one output, a linear chain, no shared layers and no loss term
(`add_loss`; blocks are inlined, so their bodies must be linear too). Functional writes blocks as helper
functions, which cannot share one block instance between two applications. Subclassing
can express every graph. Each refusal points at the first construct that prevents it.

Block instances share bodies (a DAG), so each distinct body is judged once; and since the
Sequential style writes every instance out, a model whose blocks multiply (each using the next
twice) is refused there when it would write more than MAX_INLINED items.
"""

from __future__ import annotations

from ..diagnostics import Diagnostic
from ..ir.catalog import REGISTRY
from ..ir.masks import carried_masks
from ..ir.nodes import Graph
from ..ir.values import Call, Expr, Ref, count_items
from ..ir.walk import bodies, fold, used_blocks

STYLES = ("sequential", "functional", "subclassing")
# The most a Sequential model may hold with its blocks written out: layers plus the values in
# their arguments. 1 MiB of spec text written out flat holds under 600,000.
MAX_INLINED = 1_000_000


def problems(spec, style: str) -> list[Diagnostic]:
    if style == "sequential":
        found = sequential_problem(spec.model, top=True) or too_big(spec.model) or no_layer(spec.model)
        return [found] if found else []
    if style == "functional":
        found = shared_block(spec.model) or masked_branches(spec, style)
        return [found] if found else []
    found = inner_shape_query(spec) or unbuildable_layer(spec) or prebuilt(spec)[1] or masked_branches(spec, style)
    return [found] if found else []


def masked_branches(spec, style: str) -> Diagnostic | None:
    """E706: where the style carries the padding masks in variables (always in subclassing; in
    functional once a MultiHeadAttention takes a masked tensor), a block whose `if` branches give
    one tensor different masks (tfspec.ir.masks.Flow.disagreements)."""
    blocks = used_blocks(spec.model, spec.blocks)
    if not any(node.guard for block in blocks for node in block.graph.nodes):
        return None
    infos = carried_masks(spec.model, blocks, style)
    if infos is None:
        return None
    if style == "functional":
        hint = "apply the layer that makes the mask outside the `if`, or give both branches layers that keep it"
    else:
        hint = "use --style functional, or apply the layer that makes the mask outside the `if`"
    for block in blocks:
        found = disagreeing_branches(infos[block.name].flow, style, f"the masks of block {block.name}", hint)
        if found:
            return found
    return None


def disagreeing_branches(flow, style: str, whose: str, hint: str) -> Diagnostic | None:
    """E706 at the first node whose `if` branch gives a tensor another mask, in a body whose masks
    (`whose`) the style carries in variables."""
    if not (flow.any and flow.disagreements):
        return None
    node = flow.disagreements[0]
    message = (
        f"the branches of this `if` give {node.output!r} different padding masks, and the {style} "
        f"style carries {whose} in variables"
    )
    return Diagnostic("E706", message, node.span, hint)


def unbuildable_layer(spec) -> Diagnostic | None:
    """The first layer the catalog says Keras cannot build in a subclassed model
    (LayerDef.not_in_subclassing: a Discretization that learns its bins)."""
    for graph in [spec.model] + [b.graph for b in used_blocks(spec.model, spec.blocks)]:
        for node in graph.nodes:
            layer = node.layer
            definition = REGISTRY.get(layer.kind) if layer.block is None and not layer.operation else None
            refusal = (
                definition.not_in_subclassing(layer.values) if definition and definition.not_in_subclassing else None
            )
            if refusal is not None:
                return Diagnostic("E704", refusal[0], node.span, refusal[1])
    return None


def prebuilt(spec) -> tuple[dict, Diagnostic | None]:
    """The layers the subclassing style builds right where it makes them (LayerDef.prebuild:
    Normalization), as {None for the model, or a block's name: {layer id: the shape to build it
    with, or None: left to Keras}}; and the first such layer it cannot build so (E704).

    A block class is written once for all its instances, so they must need the same shape; and
    its layers must be made in __init__: a block that makes them in build() (made_late) is
    built inside the graph that traces the model, as Keras would build the layer itself. The model's own build() runs before that graph, so it may. A layer
    that adapts (a Normalization that learns its mean) is left to Keras where it cannot be built
    early, as before: adapting it, or loading its weights, makes its tensors again."""
    owner: dict = {}  # id(instance body) -> its block
    for graph in bodies(spec.model):
        for layer in graph.layers:
            if layer.body is not None:
                owner[id(layer.body)] = layer.block
    wanted: dict = {}  # (block name or None, layer id) -> [(shape, adapts, node), one per instance]
    for graph in bodies(spec.model):
        block = owner.get(id(graph))
        seen = set()
        for node in graph.nodes:
            layer = node.layer
            if layer.operation or layer.block is not None or layer.id in seen:
                continue
            seen.add(layer.id)  # Keras builds a shared layer for its first application
            definition = REGISTRY.get(layer.kind)
            shape = graph.shapes.get(node.inputs[0]) if definition and definition.prebuild and node.inputs else None
            built = definition.prebuild(layer.values, shape) if shape is not None else None
            if built is not None:
                key = (None if block is None else block.name, layer.id)
                wanted.setdefault(key, []).append((built, definition.adapts(layer.values), node))
    found: dict = {}
    blocks = {b.name: b for b in owner.values()}
    for (name, layer_id), uses in wanted.items():
        late = name is not None and made_late(blocks[name].graph)
        shapes = list(dict.fromkeys(shape for shape, _, _ in uses))
        if not late and len(shapes) == 1:
            found.setdefault(name, {})[layer_id] = shapes[0]
            continue
        fixed = [node for _, adapts, node in uses if not adapts]
        if not fixed:
            found.setdefault(name, {})[layer_id] = None
            continue
        kind = fixed[0].layer.kind
        if late:
            message = (
                f"block {name} computes values from shapes, so the subclassing style makes its layers in "
                f"build(), where Keras cannot build this {kind}: it would make its tensors inside the graph "
                "that traces the model, and cannot use them after"
            )
        else:
            message = (
                f"the instances of block {name} need this {kind} built for inputs of different ranks or "
                f"sizes ({shape_text(shapes[0])} and {shape_text(shapes[1])}); the subclassing style builds it "
                "where the block class makes it, one way for all"
            )
        return found, Diagnostic(
            "E704", message, fixed[0].span, "use --style functional, or apply it outside the block"
        )
    return found, None


def shape_text(shape) -> str:
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"


def made_late(graph) -> bool:
    """Whether the subclassing style makes the body's layers in build() rather than __init__:
    when the body computes values from shapes (`c = x.shape[-1]`) or chooses statements with
    `if`, which need the input's shape."""
    return any(node.layer.static or node.guard for node in graph.nodes)


def inner_shape_query(spec) -> Diagnostic | None:
    """A value computed from the shape of a tensor made inside a body (`c = y.shape[-1]`, `y`
    not an input) in a body whose layers the subclassing style makes in build(), where only the
    inputs' shapes are known."""
    graphs = [spec.model] + [b.graph for b in used_blocks(spec.model, spec.blocks)]
    for graph in graphs:
        inputs = {i.name for i in graph.inputs}
        if not any(n.layer.static or n.guard for n in graph.nodes):
            continue
        for node in graph.nodes:
            if node.layer.static or not node.layer.operation:
                value = node.layer.expr if node.layer.static else node.layer.call
                conditions = [condition for condition, _ in node.guard]  # build() tests them too
                inner = [t for t in shape_reads([value, *conditions]) if t not in inputs]
                if inner:
                    return Diagnostic(
                        "E703",
                        f"the subclassing style makes this body's layers in build(), where only the inputs' "
                        f"shapes are known; this reads the shape of {inner[0]!r}, made inside",
                        node.span,
                        "use --style functional, or compute the value from an input's shape",
                    )
    return None


def shape_reads(value) -> list:
    """The tensors whose `.shape` a value reads."""
    found = []
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, Expr):
            if v.op == "attr" and isinstance(v.args[0], Ref):
                found.append(v.args[0].name)
            else:
                stack.extend(v.args)
                stack.extend(x for _, x in v.kwargs)
        elif isinstance(v, Call):
            stack.extend(v.args)
            stack.extend(x for _, x in v.kwargs)
        elif isinstance(v, (list, tuple)):
            stack.extend(v)
    return found


def sequential_problem(graph: Graph, top: bool, memo: dict | None = None) -> Diagnostic | None:
    """The first construct of `graph` a Sequential model cannot hold; each body judged once."""
    memo = {} if memo is None else memo
    if id(graph) not in memo:
        memo[id(graph)] = _sequential_problem(graph, memo)
    return memo[id(graph)]


def _sequential_problem(graph: Graph, memo: dict) -> Diagnostic | None:
    hint = "use --style functional (or subclassing)"
    if len(graph.inputs) != 1:
        return Diagnostic(
            "E701",
            f"a Sequential model has one input; {graph.name} has {len(graph.inputs)}",
            graph.inputs[1].span if len(graph.inputs) > 1 else graph.span,
            hint,
        )
    if len(graph.outputs) != 1:
        span = graph.output_spans[1] if len(graph.output_spans) > 1 else graph.span
        return Diagnostic(
            "E701", f"a Sequential model has one output; {graph.name} has {len(graph.outputs)}", span, hint
        )
    if graph.losses:
        return Diagnostic(
            "E701",
            f"add_loss {graph.losses[0].name}: a Sequential model cannot add a loss term "
            "(it names no tensor and has no call() to add one in)",
            graph.losses[0].span,
            hint,
        )
    previous = graph.inputs[0].name
    seen = set()
    nodes = [n for n in graph.nodes if not n.layer.static]  # values computed from shapes are not layers
    for node in nodes:
        if is_alias(node) and node.inputs[0] == previous:  # `y = x`: another name, no layer
            previous = node.output
            continue
        if node.layer.operation:
            return Diagnostic(
                "E701",
                "a tensor operation cannot be a layer of a Sequential model",
                node.span,
                hint,
            )
        if node.kwargs or node.more:
            what = "is called with arguments besides its input" if node.kwargs else "yields several tensors"
            return Diagnostic(
                "E701", f"{node.layer.kind} {what}; a Sequential model only chains layers", node.span, hint
            )
        if len(node.inputs) != 1:
            return Diagnostic(
                "E701",
                f"{node.layer.kind} merges {len(node.inputs)} tensors; Sequential models are a single chain",
                node.span,
                hint,
            )
        if node.inputs[0] != previous:
            return Diagnostic(
                "E701",
                f"this chain starts from {node.inputs[0]!r}, not from the result of the "
                "layer before it; Sequential models are a single chain",
                node.span,
                hint,
            )
        if node.layer.id in seen:
            return Diagnostic(
                "E701",
                f"layer {node.layer.id!r} is shared (applied more than once); Sequential models cannot share layers",
                node.span,
                hint,
            )
        seen.add(node.layer.id)
        if node.layer.body is not None:
            inner = sequential_problem(node.layer.body, top=False, memo=memo)
            if inner:
                return Diagnostic(
                    inner.code, inner.message + f" (block {node.layer.kind} is inlined here)", inner.span, inner.hint
                )
        previous = node.output
    if graph.outputs[0] != previous:
        return Diagnostic(
            "E701", f"the output {graph.outputs[0]!r} is not the end of the chain", graph.output_spans[0], hint
        )
    return None


def no_layer(graph: Graph) -> Diagnostic | None:
    """A model of no layer at all (`y = x`): Keras never builds a Sequential holding only its input."""
    if has_layer(graph):
        return None
    span = graph.output_spans[0] if graph.output_spans else graph.span
    return Diagnostic(
        "E701", f"{graph.name} holds no layer, and a Sequential model needs one", span, "use --style functional"
    )


def has_layer(graph: Graph) -> bool:
    return any(
        (n.layer.body is not None and has_layer(n.layer.body)) or (n.layer.body is None and not n.layer.operation)
        for n in graph.nodes
    )


def is_alias(node) -> bool:
    """`outputs = projected`: an operation that only names a tensor again."""
    return node.layer.operation and isinstance(node.layer.expr, Ref)


def shared_block(graph: Graph, memo: dict | None = None) -> Diagnostic | None:
    """A block instance applied twice (the functional style cannot share one); each body once."""
    memo = {} if memo is None else memo
    if id(graph) in memo:
        return memo[id(graph)]
    found = None
    seen = set()
    for node in graph.nodes:
        layer = node.layer
        if layer.block is not None:
            if layer.id in seen:
                found = Diagnostic(
                    "E702",
                    f"block instance {layer.id!r} is applied twice (shared weights); "
                    "functional blocks are helper functions that make new layers on each call",
                    node.span,
                    "use --style subclassing, or share the layers inside the block",
                )
                break
            seen.add(layer.id)
            if layer.body is not None:
                found = shared_block(layer.body, memo)
                if found:
                    break
    memo[id(graph)] = found
    return found


def too_big(graph: Graph) -> Diagnostic | None:
    """E701 when writing every block instance out would make an enormous Sequential model:
    (layers, items) are summed once per distinct body, as exact integers."""

    memo: dict = {}

    def size(g, inner):
        layers = values = 0
        for node in g.nodes:
            if node.layer.body is not None:
                n, v = inner[id(node.layer.body)]
                layers, values = layers + n, values + v
            else:
                layers, values = layers + 1, values + count_items(node.layer.call, memo)
        return layers, values

    sizes = fold(graph, size)
    layers, values = sizes[id(graph)]
    if values <= MAX_INLINED:
        return None
    biggest = max(
        (node for node in graph.nodes if node.layer.body is not None),
        key=lambda node: sizes[id(node.layer.body)][1],
        default=None,
    )
    return Diagnostic(
        "E701",
        f"a Sequential model writes every block out, and this model's blocks multiply: it would "
        f"hold {layers:,} layers ({values:,} items with their arguments; the limit is {MAX_INLINED:,})",
        biggest.span if biggest is not None else graph.span,
        "use --style functional (blocks become helper functions) or subclassing",
    )


def allowed_styles(spec) -> list[str]:
    styles = [s for s in STYLES if not problems(spec, s)]
    if getattr(spec, "searched", None) is not None and styles:  # a hypermodel: at its other points too
        from ..search.hyper import hypermodel
        from .search_legality import hyper_problems

        hyper = hypermodel(spec)
        styles = [s for s in styles if not hyper_problems(hyper, s)]
    return styles
