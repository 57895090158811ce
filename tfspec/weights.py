"""Weights across styles: find each spec layer's Keras layer in a live model of any style,
so weights can be copied layer by layer.

Flat weight lists (`get_weights`) do not line up across styles: a functional model orders
its layers by graph depth, while a subclassed model orders them as its __init__ creates
them, with blocks as single layers. The IR knows every layer, so we map it instead:
sequential by position, subclassing by attribute path, functional by walking the graph
back from the outputs (each Keras tensor remembers the layer call that produced it).
"""

from __future__ import annotations

from .ir.nodes import Graph
from .ir.values import Call, Expr, Ref, substitute


def leaf_nodes(graph: Graph, path=(), rename=None, losses=None):
    """Applications of innermost layers in order, block bodies inlined:
    (path of layer ids, input tensors, output tensor), tensors uniquely renamed. An operation
    (no weights) has the path None and, as a fourth item, its expression with the input tensors
    renamed, so that its inputs can be found in a functional model (operation_inputs).
    `losses`, when given, is filled with {renamed output: [(term, renamed tensor)]}: the loss terms
    (`add_loss`) each body adds by a layer applied to its outputs (see passed_on)."""
    rename = rename if rename is not None else {}
    out = []
    for index, node in enumerate(graph.nodes):
        if node.layer.static:
            continue  # a value, not a tensor
        ins = tuple(rename.get(t, "/".join(path + (t,))) for t in node.tensors())
        result = "/".join(path + (node.output,))
        if node.layer.body is not None:
            body = node.layer.body
            inner = {i.name: t for i, t in zip(body.inputs, ins)}
            sub_path = path + (f"{node.layer.id}#{index}",)
            sub = leaf_nodes(body, sub_path, inner, losses)
            out += sub
            for name, inner_name in zip(node.outputs, body.outputs):  # a block's outputs, each
                rename[name] = inner.get(inner_name, "/".join(sub_path + (inner_name,)))
        elif node.layer.operation:
            tree = expanded(node.layer.expr, graph.shapes)
            out.append((None, ins, result, substitute(tree, {t: Ref(n) for t, n in zip(node.tensors(), ins)})))
            rename[node.output] = result
        else:
            out.append((path + (node.layer.id,), ins, result))
            rename[node.output] = result
            for k, name in enumerate(node.more, 1):  # `out, h, c = LSTM(...)(x)`: the same call
                rename[name] = f"{result}#{k}"
    if losses is not None:
        for term in graph.losses:
            made = rename.get(term.name, "/".join(path + (term.name,)))
            for name in graph.outputs:
                losses.setdefault(rename.get(name, "/".join(path + (name,))), []).append((term.name, made))
    return out


def expanded(tree, shapes: dict):
    """The expression as its printed code computes it: positions(x) written out."""
    from .ir.ops import positions_tree

    if isinstance(tree, Call) and tree.name == "positions":
        (x,) = tree.args
        return positions_tree(expanded(x, shapes))
    if isinstance(tree, (Call, Expr)):
        kind = Call if isinstance(tree, Call) else Expr
        head = tree.name if isinstance(tree, Call) else tree.op
        args = tuple(expanded(a, shapes) for a in tree.args)
        return kind(head, args, tuple((k, expanded(v, shapes)) for k, v in tree.kwargs), tree.span)
    if isinstance(tree, (list, tuple)):
        items = [expanded(v, shapes) for v in tree]
        return items if isinstance(tree, list) else tuple(items)
    return tree


def strip(path) -> tuple:
    """A leaf's layer identity: block application markers (`id#n`) dropped to the block id."""
    return tuple(p.split("#", 1)[0] for p in path)


def functional_layers(model, spec) -> dict:
    """{layer path: keras layer} for a functional model, by walking back from the outputs."""
    rename: dict = {}  # filled by leaf_nodes: a block application's result -> its inner tensor
    terms: dict = {}  # filled by leaf_nodes: the loss terms added at each tensor (see passed_on)
    nodes = leaf_nodes(spec.model, rename=rename, losses=terms)
    tensors = {rename.get(name, name): kt for name, kt in zip(spec.model.outputs, model.outputs)}
    found = {}
    done: set = set()
    again = True
    while again:  # a layer that only a loss term reads is reached once the term's tensor is found
        again = False
        for index, (path, ins, out, *tree) in enumerate(reversed(nodes)):
            if index in done:
                continue
            # a call may be read only through its further results (an encoder's states: `out#1`)
            names = [out] + [f"{out}#{k}" for k in range(1, 5)]
            kt = next((tensors[name] for name in names if name in tensors), None)
            if kt is None:
                continue
            done.add(index)
            for name in names:
                if name in tensors:
                    kt, added = passed_on(tensors[name], terms.get(name, []))
                    tensors[name] = kt
                    for term_tensor, tensor in added:
                        again |= term_tensor not in tensors
                        tensors.setdefault(term_tensor, tensor)
            kt = next(tensors[name] for name in names if name in tensors)
            walk_node(path, ins, out, tree, kt, tensors, found)
    return found


def walk_node(path, ins, out, tree, kt, tensors: dict, found: dict) -> None:
    """Record the Keras layer that made `kt` (the result of leaf node `out`) and its inputs."""
    if path is None:  # an operation: its keras.ops calls, followed back to the tensors it reads
        for name, tensor in operation_inputs(tree[0], kt, set(ins)).items():
            tensors.setdefault(name, tensor)
        return
    history = kt._keras_history
    layer = history.operation
    found.setdefault(path, layer)
    node = layer._inbound_nodes[history.node_index]
    for k, tensor in enumerate(node.output_tensors[1:], 1):  # the call's further results
        tensors.setdefault(f"{out}#{k}", tensor)
    flat = list(node.input_tensors)
    for name, tensor in zip(ins, flat):
        tensors.setdefault(name, tensor)


def passed_on(tensor, terms=()):
    """(the tensor the AddLoss layers (`add_loss`, tfspec.backends.losses) that returned `tensor`
    were given, [(renamed term tensor, its Keras tensor)]): the layers only pass tensors on and are
    no layers of the spec; `terms`, the (term, renamed tensor) that leaf_nodes found added at this
    tensor, names what each layer adds (matched by the term's name, first unused first)."""
    from .backends.losses import is_loss_layer

    free = list(terms)
    added = []
    history = tensor._keras_history
    while is_loss_layer(history.operation):
        node = history.operation._inbound_nodes[history.node_index]
        term = history.operation.term
        match = next((entry for entry in free if entry[0] == term), None)
        if match is not None:
            free.remove(match)
            added.append((match[1], node.input_tensors[-1]))  # the term comes after x
        tensor = node.input_tensors[history.tensor_index]  # x (or one of a list x) comes first
        history = tensor._keras_history
    return tensor, added


def operation_inputs(tree, tensor, names: set) -> dict:
    """{input name: Keras tensor} of an operation whose expression `tree` made `tensor`: the
    expression and Keras's graph of keras.ops calls are walked together (each operator or
    function of the expression is one call, whose tensor arguments are the parts of the
    expression that read a tensor, in order)."""
    from .backends.operations import reads_tensor

    found: dict = {}

    def walk(value, kt) -> None:
        if isinstance(value, Ref) and value.name in names:
            found.setdefault(value.name, kt)
            return
        history = kt._keras_history
        node = history.operation._inbound_nodes[history.node_index]
        parts = value.args if isinstance(value, Expr) else (*value.args, *(v for _, v in value.kwargs))
        flat = []
        for part in parts:
            flat.extend(part if isinstance(part, list) else [part])  # concatenate([a, b])
        tensor_parts = [p for p in flat if reads_tensor(p, names)]
        for part, inner in zip(tensor_parts, node.input_tensors):
            walk(part, inner)

    walk(tree, tensor)
    return found


def subclassing_layers(model, spec) -> dict:
    from .backends.subclassing import attribute_names

    found = {}

    def walk(obj, template, graph, path, params=()):
        """`graph` is the body as shaped for this use (an `if` may leave layers of the template out)."""
        _, attrs = attribute_names(template, params)
        for layer in graph.layers:
            child = getattr(obj, attrs[layer.id])
            if layer.block is not None:
                body = layer.body if layer.body is not None else layer.block.graph
                walk(child, layer.block.graph, body, path + (layer.id,), [p for p, _ in layer.block.params])
            else:
                found[path + (layer.id,)] = child

    walk(model, spec.model, spec.model, ())
    return found


def sequential_layers(model, spec) -> dict:
    paths = [entry[0] for entry in leaf_nodes(spec.model) if entry[0] is not None]
    return dict(zip(paths, model.layers))


def layers_by_path(model, spec, style: str) -> dict:
    """{path of layer ids (block ids first): keras layer}; block applications collapse to one path."""
    if style == "sequential":
        raw = sequential_layers(model, spec)
    elif style == "functional":
        raw = functional_layers(model, spec)
    else:
        return subclassing_layers(model, spec)
    return {strip(path): layer for path, layer in raw.items()}


def copy_weights(spec, source, source_style: str, target, target_style: str) -> None:
    """Copy every layer's weights from `source` into `target` (models of `spec`, any styles)."""
    src = layers_by_path(source, spec, source_style)
    dst = layers_by_path(target, spec, target_style)
    missing = set(src) ^ set(dst)
    if missing:
        raise ValueError(f"the two models do not have the same layers: {sorted(missing)[:5]}")
    for path, layer in src.items():
        dst[path].set_weights(layer.get_weights())
