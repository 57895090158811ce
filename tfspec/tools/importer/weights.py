"""Carrying a Keras model's weights over to the models built from its imported spec.

Layers are paired by position in one canonical walk of the dataflow graph -- depth first from
the outputs, inputs in call order, nested models (Keras) and blocks (spec) entered, tensor
operations (keras.ops calls, which hold no weights) walked through -- which is the same walk
whichever way the graph is packaged, so the file's model and the spec's IR pair up layer by
layer. tfspec.weights then finds each spec layer in a model built in any style.

The weights file is one `.weights.h5` that loads into every style the spec allows: each
style's layout (Keras addresses weights by object path, and the styles package layers
differently) is saved and the layouts are merged; every style is then loaded back from the
merged file and checked against the original weights. Keras saves a functional model's layers
as `layers/<class>_<n>`, numbered in its `layers` order, and a subclassed model's under their
attribute names, but those that sort after `layers` again as `layers/<class>_<n>`, numbered in
the order it creates them: the writer keeps each class's layers in Keras's order
(writer.statements_of) so that the two numberings agree. They cannot agree where a subclassed
model holds blocks (it numbers only the layers it holds itself, a functional model all of them):
that style then gets a file of its own (weights_files).
"""

from __future__ import annotations

import os
import tempfile

from ...backends.legality import allowed_styles
from ...backends.losses import is_loss_layer
from .errors import ImportFailure
from .graph import TENSOR_KWARGS
from .source import first_line


def post_order(roots: list, resolve) -> list:
    """Leaves in depth-first post-order. `resolve(item)` -> None (a model input) or
    (key, leaf, input items); a key seen before is not walked again."""
    order, seen = [], set()
    stack = [(item, False) for item in reversed(roots)]
    while stack:
        item, done = stack.pop()
        if done:
            order.append(item)
            continue
        found = resolve(item)
        if found is None:
            continue
        key, leaf, inputs = found
        if key in seen:
            continue
        seen.add(key)
        stack.append((leaf, True))
        stack.extend((x, False) for x in reversed(inputs))
    return order


# -- Keras models ------------------------------------------------------------------------------


def keras_tensors(value) -> list:
    if hasattr(value, "_keras_history"):
        return [value]
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in keras_tensors(v)]
    if isinstance(value, dict):
        return [t for v in value.values() for t in keras_tensors(v)]
    return []


def node_inputs(node) -> list:
    """A node's input tensors in call order: positional arguments, then query, value, key."""
    tensors = keras_tensors(node.arguments.args)
    for key in TENSOR_KWARGS:
        tensors += keras_tensors(node.arguments.kwargs.get(key))
    for key, value in node.arguments.kwargs.items():  # initial_state=, attention_mask=, ...
        if key not in TENSOR_KWARGS:
            tensors += keras_tensors(value)
    return tensors


def keras_leaves(model) -> list:
    import keras

    def resolve(item):
        tensor, scope, inputs = item
        while True:
            if id(tensor) in inputs:
                tensor, scope, inputs = inputs[id(tensor)]
                continue
            operation, node_index, tensor_index = tensor._keras_history
            if operation is None or isinstance(operation, keras.layers.InputLayer):
                return None
            node = operation._inbound_nodes[node_index]
            if isinstance(operation, keras.Model):  # a nested model: walk its graph
                outer = [(t, scope, inputs) for t in node_inputs(node)]
                inputs = {id(t): o for t, o in zip(operation.inputs, outer)}
                scope = scope + (id(node),)
                tensor = operation.outputs[tensor_index]
                continue
            return (scope + (id(node),), operation, [(t, scope, inputs) for t in node_inputs(node)])

    leaves = post_order([(t, (), {}) for t in model.outputs], resolve)
    # operations hold no weights, nor does tfspec's AddLoss (`add_loss` in the spec, no node of it)
    return [leaf for leaf in leaves if isinstance(leaf, keras.layers.Layer) and not is_loss_layer(leaf)]


# -- the spec's IR -----------------------------------------------------------------------------


def ir_leaves(graph) -> list:
    """(path, IR layer) of every leaf application; a path is the ids of the block instances
    around the layer, then its own id (the keys of tfspec.weights.layers_by_path)."""
    producers = {}

    def producer(g, name):
        if id(g) not in producers:
            producers[id(g)] = {out: node for node in g.nodes for out in node.outputs}
        return producers[id(g)].get(name)

    def resolve(item):
        name, g, scope, path, inputs = item
        while True:
            if name in inputs:
                name, g, scope, path, inputs = inputs[name]
                continue
            node = producer(g, name)
            if node is None:
                return None
            layer = node.layer
            if layer.block is not None:
                body = layer.body
                outer = [(t, g, scope, path, inputs) for t in node.inputs]
                inputs = {i.name: o for i, o in zip(body.inputs, outer)}
                scope, path = scope + (id(node),), path + (layer.id,)
                name, g = body.outputs[0], body
                continue
            leaf = (path + (layer.id,), layer)
            return (scope + (id(node),), leaf, [(t, g, scope, path, inputs) for t in node.tensors()])

    leaves = post_order([(t, graph, (), (), {}) for t in graph.outputs], resolve)
    return [(path, layer) for path, layer in leaves if not layer.operation]  # operations hold no weights


def origins(spec, source) -> dict:
    """{layer path in the spec: the Keras layer of `source` it was imported from}."""
    ir = ir_leaves(spec.model)
    found = keras_leaves(source)
    if len(found) != len(ir):
        raise ValueError(f"the model applies {len(found)} layers, the spec {len(ir)}")
    origin = {}
    for (path, layer), keras_layer in zip(ir, found):
        if origin.setdefault(path, keras_layer) is not keras_layer or type(keras_layer).__name__ != layer.kind:
            raise ValueError(f"layer {'/'.join(path)!r} ({layer.kind}) does not pair with {keras_layer.name!r}")
    return origin


def matching(source, spec, target, style: str) -> list:
    """(layer of `source`, layer of `target`) pairs; `target` is built from `spec` in `style`."""
    from ...weights import layers_by_path

    origin = origins(spec, source)
    built = layers_by_path(target, spec, style)
    if set(built) != set(origin):
        raise ValueError(f"the {style} model's layers do not match the spec's: {sorted(set(built) ^ set(origin))[:3]}")
    return [(origin[path], layer) for path, layer in built.items()]


def copy_weights(source, spec, target, style: str) -> None:
    """Set the weights of `target` (built from `spec` in `style`) to those of `source` (the
    Keras model the spec was imported from)."""
    for old, new in matching(source, spec, target, style):
        weights = old.get_weights()
        shapes = [tuple(w.shape) for w in new.get_weights()]
        if [tuple(w.shape) for w in weights] != shapes:
            raise ValueError(f"layer {old.name!r}: weight shapes {[w.shape for w in weights]} do not fit {shapes}")
        new.set_weights(weights)
        if type(new).__name__ == "Normalization" and new.built:
            new.finalize_state()  # its mean and variance tensors are made from the weights just set


# -- the weights file -----------------------------------------------------------------------------


def weights_files(source, spec, path: str) -> dict:
    """{"": bytes of a `.weights.h5` for every allowed style of `spec`}, or, when Keras lays the
    weights of a style out so that a path means another layer than in the others (a subclassed
    model numbers the layers it holds itself, `layers/conv2d_3`, while a functional one numbers
    all of them, those of the blocks too), that style's own file as well: {"": ..., style: ...}.
    Every file is loaded back into its styles and checked against `source`'s weights."""
    from ...live import build

    styles = allowed_styles(spec)
    with tempfile.TemporaryDirectory(prefix="tfspec-import-") as folder:
        saved = {}
        for style in styles:
            model = build(spec, style)
            try:
                copy_weights(source, spec, model, style)
            except ValueError as exc:
                raise ImportFailure(path, "E905", f"the weights do not fit the {style} model: {exc}") from None
            saved[style] = os.path.join(folder, f"{style}.weights.h5")
            model.save_weights(saved[style])
        groups = {"": [styles[0]]}  # the first style's file, and each style whose layout joins it
        for style in styles[1:]:
            trial = os.path.join(folder, "trial.weights.h5")
            joins = merge([saved[s] for s in groups[""]] + [saved[style]], trial) is None
            groups["" if joins else style] = groups[""] + [style] if joins else [style]
        files = {}
        for key, members in groups.items():
            target = os.path.join(folder, f"out{key}.weights.h5")
            merge([saved[s] for s in members], target)
            for style in members:
                check_loads(source, spec, style, target, path)
            with open(target, "rb") as handle:
                files[key] = handle.read()
        return files


def merge(files: list, target: str) -> str | None:
    """Union of the groups and datasets of `files`; the path of a dataset that two files give
    different values, if any."""
    import h5py
    import numpy as np

    def visit(src, dst):
        for key, value in src.attrs.items():
            dst.attrs.setdefault(key, value)
        for name, item in src.items():
            if isinstance(item, h5py.Group):
                found = visit(item, dst.require_group(name))
                if found:
                    return found
            elif name in dst:
                if not np.array_equal(dst[name][()], item[()]):
                    return item.name
            else:
                src.copy(item, dst, name=name)
        return None

    with h5py.File(target, "w") as out:
        for file in files:
            with h5py.File(file, "r") as src:
                found = visit(src, out)
                if found:
                    return found
    return None


def check_loads(source, spec, style, weights_path, path) -> None:
    import numpy as np

    from ...live import build

    model = build(spec, style)
    try:
        model.load_weights(weights_path)
    except Exception as exc:  # noqa: BLE001 - Keras reports a mismatch with several types
        raise ImportFailure(
            path, "E905", f"the {style} model cannot load the weights file: {first_line(exc)}"
        ) from None
    for old, new in matching(source, spec, model, style):
        if not all(np.array_equal(a, b) for a, b in zip(old.get_weights(), new.get_weights(), strict=True)):
            raise ImportFailure(
                path,
                "E905",
                f"the {style} model loads other weights than {old.name!r}'s from the "
                "weights file (its layers are laid out differently)",
            )
