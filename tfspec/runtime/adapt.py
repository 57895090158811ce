"""Adapting: the layers that learn their state from the training data before training.

Which layers: those of the spec whose catalog entry `adapts` with the values it is given
(Normalization without mean/variance, Discretization without bin_boundaries, StringLookup,
IntegerLookup and TextVectorization without a vocabulary). `check` lets such a layer stand only
where it takes a model input directly (tfspec.check.adapting), so what reaches it is that input's
data, as the model receives it, and the same in every style. The live Keras layer of an IR layer
is found as tfspec.weights finds it to copy weights: sequential by position, functional by
walking the graph back from the outputs, subclassing by attribute.

When: once the data are split and converted, before the model first runs (a Discretization
without boundaries cannot run at all), on the training split only -- never the validation or
test rows, whose values would otherwise leak into the model.

What is kept, and where: Normalization's mean and variance are weights (saved with the others:
checkpoints, model.weights.h5, .keras). Vocabularies and bin boundaries are not variables; they
are kept as data (`state`, JSON: lists of strings or numbers, never code) in the run folder and
beside the checkpoints, and put back with `restore` (set_vocabulary, bin_boundaries). A .keras
file keeps them itself (Keras saves a vocabulary as an asset and bin boundaries in the config).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .errors import DataError

BATCH = 4096  # samples per update when a lookup learns its vocabulary (bounded temporary tensors)
LOOKUPS = ("StringLookup", "IntegerLookup", "TextVectorization")
STATE_FORMAT = "tfspec-adapted/1"


@dataclass
class Adapting:
    """One layer to adapt: `key` names its spec layer ("normalize", the layer id), the same in
    every style and every build; `inputs` are the model inputs it takes."""

    key: str
    kind: str
    layer: object
    inputs: tuple


def find(model, spec, style: str) -> list:
    """[Adapting] of the live `model` built from `spec` in `style` (empty for most models)."""
    from ..check.adapting import adapting_nodes
    from ..weights import layers_by_path

    nodes = adapting_nodes(spec.model)
    if not nodes:
        return []
    live = layers_by_path(model, spec, style)
    found = []
    for layer, inputs in nodes:
        keras_layer = live.get((layer.id,))
        if keras_layer is None:  # a model that is not the spec's (tfspec.train(spec, model=...))
            raise DataError(f"layer {layer.id!r} ({layer.kind}) of the spec is not in the model given to train")
        found.append(Adapting(layer.id, layer.kind, keras_layer, tuple(inputs)))
    return found


def _by_input(x, inputs) -> dict:
    """{input name: array} of prepared inputs x (one array, a tuple in input order, or a dict)."""
    names = [name for name, _, _ in inputs]
    if isinstance(x, dict):
        return dict(x)
    if isinstance(x, (list, tuple)):
        return dict(zip(names, x))
    return {names[0] if names else None: x}


def adapt(targets: list, x, inputs, where="the training data") -> None:
    """Adapt every target on its inputs' arrays in `x` (the prepared training split)."""
    arrays = _by_input(x, inputs)
    for target in targets:
        parts = [arrays[name] for name in target.inputs if name in arrays]
        if not parts:
            raise DataError(f"{where}: no array for input {target.inputs[0]!r}, which {target.key} adapts to")
        data = parts[0] if len(parts) == 1 else np.concatenate(parts)
        try:
            _adapt_one(target, data)
        except (ValueError, TypeError) as e:
            from .signature import _reason

            raise DataError(
                f"{where}: {target.kind} {target.key!r} could not learn its state from input "
                f"{target.inputs[0]!r}: {_reason(e)}"
            ) from None


def _adapt_one(target, data) -> None:
    layer = target.layer
    if target.kind in LOOKUPS:
        import tensorflow as tf

        with tf.device("/cpu:0"):
            layer.adapt(tf.data.Dataset.from_tensor_slices(data).batch(BATCH))
        if not layer.get_vocabulary(include_special_tokens=False):
            raise ValueError("the training data hold no token to learn")
    else:
        layer.adapt(data)


def refresh(targets: list) -> None:
    """After a checkpoint restored the weights: Normalization computes with constants it takes from
    its mean/variance weights when they change through Keras (adapt, load_weights), not when a
    tf.train.Checkpoint assigns them; take them again."""
    for target in targets:
        if target.kind == "Normalization":
            target.layer.finalize_state()


# ---- the state kept as data -----------------------------------------------------------------------


def state(targets: list) -> dict:
    """{key: {"kind", and "vocabulary" (+ "idf_weights") or "bin_boundaries"}} for the targets whose
    state is not a weight: plain JSON data."""
    out = {}
    for target in targets:
        layer = target.layer
        if target.kind in LOOKUPS:
            vocabulary = layer.get_vocabulary(include_special_tokens=False)
            entry = {"kind": target.kind, "vocabulary": [_plain(v) for v in vocabulary]}
            weights = _idf_weights(layer, len(vocabulary))
            if weights is not None:
                entry["idf_weights"] = weights
            out[target.key] = entry
        elif target.kind == "Discretization":
            out[target.key] = {"kind": target.kind, "bin_boundaries": [float(b) for b in layer.bin_boundaries]}
    return out


def _plain(token):
    if isinstance(token, bytes):
        return token.decode("utf-8")
    if isinstance(token, np.generic):
        return token.item()
    return token


def _idf_weights(layer, n):
    """The tf-idf weights of the learnt tokens (Keras pads them in front for the OOV tokens), or None."""
    lookup = getattr(layer, "_lookup_layer", layer)
    if getattr(lookup, "output_mode", None) not in ("tf_idf", "tf-idf"):
        return None
    weights = np.asarray(lookup.idf_weights_const).reshape(-1)
    start = lookup._token_start_index()
    return [float(w) for w in weights[start : start + n]]


def state_problem(data, targets: list) -> str | None:
    """What makes `data` (read from JSON) not the state of `targets`, in words, or None."""
    if not isinstance(data, dict) or data.get("format") != STATE_FORMAT or not isinstance(data.get("layers"), dict):
        return f"not a {STATE_FORMAT!r} object"
    layers = data["layers"]
    for target in targets:
        if target.kind not in LOOKUPS and target.kind != "Discretization":
            continue
        entry = layers.get(target.key)
        if not isinstance(entry, dict) or entry.get("kind") != target.kind:
            return f"no state for layer {target.key!r} ({target.kind})"
        problem = _entry_problem(entry, target)
        if problem:
            return f"layer {target.key!r}: {problem}"
    return None


def _entry_problem(entry, target) -> str | None:
    def numbers(values):
        return isinstance(values, list) and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in values
        )

    if target.kind == "Discretization":
        return None if numbers(entry.get("bin_boundaries")) else "bin_boundaries is not a list of numbers"
    vocabulary = entry.get("vocabulary")
    token = int if target.kind == "IntegerLookup" else str
    if not isinstance(vocabulary, list) or not vocabulary:
        return "vocabulary is not a non-empty list"
    if not all(isinstance(v, token) and not isinstance(v, bool) for v in vocabulary):
        return f"vocabulary holds something that is not a{'n integer' if token is int else ' string'}"
    if len(set(vocabulary)) != len(vocabulary):
        return "vocabulary repeats a token"
    if "idf_weights" in entry and not (numbers(entry["idf_weights"]) and len(entry["idf_weights"]) == len(vocabulary)):
        return "idf_weights is not one number per token"
    return None


def document(targets: list) -> dict:
    """The JSON document of the targets' state (see `state`)."""
    return {"format": STATE_FORMAT, "layers": state(targets)}


def restore(targets: list, data: dict) -> None:
    """Put back the state `document` wrote (checked with `state_problem` first)."""
    layers = data["layers"]
    for target in targets:
        entry = layers.get(target.key)
        if entry is None:
            continue
        if target.kind == "Discretization":
            target.layer.bin_boundaries = [float(b) for b in entry["bin_boundaries"]]
        elif target.kind in LOOKUPS:
            weights = entry.get("idf_weights")
            target.layer.set_vocabulary(entry["vocabulary"], idf_weights=weights)
