"""Keras 2 model configs (tf.keras 2.x `to_json()`, the `model_config` of a Keras 2 `.h5` file)
in the Keras 3 form the graph reader reads.

A plain data conversion: nothing is imported or run. What it changes follows what Keras 3's own
legacy loader changes (keras/src/legacy/saving/saving_utils.py `model_from_config`,
keras/src/models/functional.py `deserialize_node`) plus the Keras 2 arguments Keras 3 dropped:

- inbound nodes `[[["layer", node, tensor, {kwargs}], ...]]` -> `{"args": [...], "kwargs": {...}}`
  with `__keras_tensor__` references. Keras 2 counts a nested model's own input->output node as
  node 0, so references to a nested model's outputs are one less in Keras 3;
- `batch_input_shape` -> an InputLayer's `batch_shape` (dropped elsewhere: it only gave the
  input shape, which a Sequential model gets from an InputLayer made for it);
- a one-item `axis` list -> the int (BatchNormalization writes `[3]`);
- dtype strings and Keras 2 `Policy` objects -> Keras 3 `DTypePolicy` objects;
- initializers, regularizers and constraints without a module -> `keras.initializers` etc.,
  with the arguments Keras 3 added at their defaults (GlorotUniform's input_axes); layers
  without a module -> `keras.layers`, models -> Keras 3's own module for them;
- numbers Keras 2 kept as float32 (regularization factors, LeakyReLU's alpha) -> the shortest
  decimal of that float32 (`L2(0.0001)`, not `L2(9.999999747378752e-05)`): the same number to a
  float32 computation;
- Sequential configs of any Keras 2 age: a bare layer list, or layers whose first one carries
  `batch_input_shape` (no InputLayer).
"""

from __future__ import annotations

import functools
import re

MODEL_CLASSES = ("Functional", "Sequential", "Model")
NESTED_LAYERS = ("layer", "backward_layer", "cell")
OBJECT_MODULES = {
    "_initializer": "keras.initializers",
    "_regularizer": "keras.regularizers",
    "_constraint": "keras.constraints",
}
CONSTANT = "_CONSTANT_VALUE"  # Keras 2's marker for a constant in a node's first argument

# Keras 2 arguments that Keras 3 renamed (its layers still take the old name, with a warning).
RENAMED = {"LeakyReLU": {"alpha": "negative_slope"}}
# Keras 2 arguments Keras 3 no longer has, dropped when they have no effect on the model (the value
# given, or ANY value): anything else is kept, and the importer then refuses it by name.
ANY = None
TRANSPOSED = ("Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose")
DEPTHWISE = ("DepthwiseConv1D", "DepthwiseConv2D", "SeparableConv1D", "SeparableConv2D")
RNNS = ("SimpleRNN", "LSTM", "GRU", "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D", "RNN")
DROPPED = {
    **{name: {"groups": 1} for name in TRANSPOSED + DEPTHWISE},
    # Keras 2 SeparableConv writes a kernel_* it never uses (its kernels are depthwise and pointwise)
    **{
        name: {"groups": 1, "kernel_initializer": None, "kernel_regularizer": None, "kernel_constraint": None}
        for name in ("SeparableConv1D", "SeparableConv2D")
    },
    **{name: {"time_major": False, "implementation": None} for name in RNNS},
    **{name: {"implementation": None} for name in ("SimpleRNNCell", "LSTMCell", "GRUCell")},
    "Embedding": {"input_length": None},
    "MultiHeadAttention": {"softmax_robust_masking": False},
    # Keras 3's SpatialDropout takes neither (Keras 2 wrote them at these values) and writes no dtype
    **{
        name: {"trainable": True, "noise_shape": ANY, "dtype": "float32"}
        for name in ("SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D")
    },
    "HashedCrossing": {"trainable": True},
    **{
        name: {"rng_type": None}
        for name in (
            "RandomBrightness",
            "RandomContrast",
            "RandomCrop",
            "RandomFlip",
            "RandomHeight",
            "RandomRotation",
            "RandomTranslation",
            "RandomWidth",
            "RandomZoom",
        )
    },
}
# Keras 3's module for a model class (what its own serializer writes): Keras 3 finds the class by it.
MODEL_MODULES = {"Functional": "keras.src.models.functional", "Model": "keras", "Sequential": "keras"}
# Numbers Keras 2 cast to float32 before writing them: (class, argument) of layers, and the
# arguments of regularizers.
FLOAT32_LAYER_ARGS = {
    "LeakyReLU": ("negative_slope",),
    "ELU": ("alpha",),
    "ReLU": ("max_value", "negative_slope", "threshold"),
}
FLOAT32_OBJECT_ARGS = {"keras.regularizers": ("l1", "l2")}


def is_keras2(config: dict, version: str | None = None) -> bool:
    """Whether a model config was written by Keras 2 (or 1): by the version the file gives
    (an .h5 file's `keras_version` attribute, the `keras_version` of `to_json()`), else by its
    form (list-form inbound nodes, `batch_input_shape`, dtype strings on layers)."""
    version = version or config.get("keras_version")
    if isinstance(version, str) and re.match(r"\d+\.", version):
        return version.split(".")[0] in ("1", "2")
    return keras2_form(config)


def keras2_form(value) -> bool:
    """Whether any part of the config has a form only Keras 2 writes. Iterative."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
            continue
        if not isinstance(item, dict):
            continue
        config = item.get("config")
        if isinstance(item.get("class_name"), str) and isinstance(config, dict):
            if item["class_name"] != "InputLayer" and isinstance(config.get("dtype"), str):
                return True
            if "batch_input_shape" in config:
                return True
        if item.get("class_name") == "Sequential" and isinstance(config, list):
            return True
        nodes = item.get("inbound_nodes")
        if isinstance(nodes, list) and any(isinstance(node, list) for node in nodes):
            return True
        stack.extend(item.values())
    return False


def upgrade(config: dict, version: str | None = None) -> dict:
    """The config in Keras 3 form when Keras 2 wrote it, else the config itself."""
    return convert(config) if isinstance(config, dict) and is_keras2(config, version) else config


def convert(serialized: dict) -> dict:
    """A Keras 2 model config -> Keras 3 form (a new dict; the argument is not changed)."""
    out = {k: v for k, v in serialized.items() if k not in ("keras_version", "backend")}
    class_name = serialized.get("class_name")
    if class_name in MODEL_MODULES and keras2_module(out.get("module"), "keras"):
        out["module"] = MODEL_MODULES[class_name]
    config = serialized.get("config")
    if class_name == "Sequential" and isinstance(config, list):  # Keras 2.0: the layer list alone
        config = {"name": "sequential", "layers": config}
    if not isinstance(config, dict):
        return out  # malformed: the graph reader says so
    if class_name == "Sequential":
        out["config"] = sequential(config)
    elif class_name in MODEL_CLASSES:
        out["config"] = functional(config)
    return out


def sequential(config: dict) -> dict:
    out = dict(config)
    entries = [layer(e) for e in config.get("layers") or [] if isinstance(e, dict)]
    first = (config.get("layers") or [None])[0]
    if entries and entries[0].get("class_name") != "InputLayer" and isinstance(first, dict):
        shape = (first.get("config") or {}).get("batch_input_shape")
        if isinstance(shape, list) and shape:  # Keras 2 made this InputLayer itself, named so
            name = f"{(first.get('config') or {}).get('name') or 'layer'}_input"
            dtype = (first.get("config") or {}).get("dtype")
            entries.insert(
                0,
                {
                    "class_name": "InputLayer",
                    "module": "keras.layers",
                    "config": {
                        "batch_shape": shape,
                        "dtype": dtype if isinstance(dtype, str) else "float32",
                        "name": name,
                    },
                },
            )
    out["layers"] = entries
    return out


def functional(config: dict) -> dict:
    out = dict(config)
    entries = [e for e in config.get("layers") or [] if isinstance(e, dict)]
    if not isinstance(config.get("layers"), list):
        return out
    names = {entry_name(e) for e in entries}
    models = {entry_name(e) for e in entries if e.get("class_name") in MODEL_CLASSES}
    converted = []
    for entry in entries:
        new = layer(entry)
        nodes = entry.get("inbound_nodes")
        if isinstance(nodes, list):
            new["inbound_nodes"] = [node(n, names, models) for n in nodes]
        converted.append(new)
    out["layers"] = converted
    for key in ("input_layers", "output_layers"):
        if isinstance(config.get(key), list):
            out[key] = endpoints(config[key], models)
    return out


def entry_name(entry: dict):
    return entry.get("name") or (entry.get("config") or {}).get("name")


def endpoints(value: list, models: set) -> list:
    """`[["dense", 0, 0], ...]` (or one such triple) with nested models' node indices shifted."""
    if is_reference(value):
        return shifted(value, models)
    return [shifted(v, models) if is_reference(v) else v for v in value]


def is_reference(value, names=None) -> bool:
    """A Keras 2 tensor reference: [layer name, node index, tensor index] (+ kwargs in a node)."""
    return (
        isinstance(value, list)
        and len(value) in (3, 4)
        and isinstance(value[0], str)
        and value[0] != CONSTANT
        and all(isinstance(v, int) and not isinstance(v, bool) for v in value[1:3])
        and (len(value) == 3 or isinstance(value[3], dict))
        and (names is None or value[0] in names)
    )


def shifted(reference: list, models: set) -> list:
    name, node_index, tensor_index = reference[:3]
    if name in models and node_index > 0:
        node_index -= 1  # Keras 2's node 0 of a nested model is the model's own
    return [name, node_index, tensor_index]


def tensor(reference: list, models: set) -> dict:
    """A Keras 3 tensor reference. Keras 2 wrote no shape: [] stands in (Keras 3 and the graph
    reader read only keras_history; Keras refuses no shape at all)."""
    return {
        "class_name": "__keras_tensor__",
        "config": {"shape": [], "dtype": None, "keras_history": shifted(reference, models)},
    }


def node(data, names: set, models: set):
    """One Keras 2 inbound node -> {"args": [first argument], "kwargs": {...}}. Keras 2 repeats the
    call's other arguments (kwargs) on every tensor of the first argument; tensors among the
    kwargs are bare references."""
    if not isinstance(data, list):
        return data  # a Keras 3 node already, or malformed: the graph reader says which
    found = []

    def first(value):
        if is_reference(value, names):
            found.append(value[3] if len(value) == 4 else {})
            return tensor(value, models)
        if isinstance(value, list) and len(value) in (3, 4) and value[0] == CONSTANT:
            found.append(value[3] if len(value) == 4 and isinstance(value[3], dict) else {})
            return value[2]
        if isinstance(value, list):
            return [first(v) for v in value]
        if isinstance(value, dict):
            return {k: first(v) for k, v in value.items()}
        return value

    def other(value):
        if is_reference(value, names) and len(value) == 3:
            return tensor(value, models)
        if isinstance(value, list):
            return [other(v) for v in value]
        if isinstance(value, dict):
            return {k: other(v) for k, v in value.items()}
        return value

    argument = first(data)
    if isinstance(argument, list) and len(argument) == 1:
        argument = argument[0]  # Keras 2 wraps a single tensor in a list
    kwargs = other(found[0]) if found else {}
    return {"args": [argument], "kwargs": kwargs}


def layer(entry: dict) -> dict:
    """A layer entry (a nested model's too) with its config in Keras 3 form."""
    class_name = entry.get("class_name")
    if class_name in MODEL_CLASSES:
        return convert(entry)
    out = dict(entry)
    if isinstance(class_name, str) and keras2_module(out.get("module"), "keras.layers"):
        out["module"] = "keras.layers"
    config = entry.get("config")
    if isinstance(config, dict) and isinstance(class_name, str):
        out["config"] = layer_config(class_name, config)
        shapes = {k: config[k] for k in ("query_shape", "value_shape", "key_shape") if config.get(k) is not None}
        if class_name == "MultiHeadAttention" and "query_shape" in shapes and "build_config" not in out:
            out["build_config"] = {"shapes_dict": shapes}  # where Keras 3 keeps the shapes it was built for
    return out


def layer_config(class_name: str, config: dict) -> dict:
    out = {}
    for key, value in config.items():
        key = RENAMED.get(class_name, {}).get(key, key)
        if key == "batch_input_shape":
            if class_name == "InputLayer":
                out["batch_shape"] = value
            continue
        if key in ("query_shape", "value_shape", "key_shape") and class_name == "MultiHeadAttention":
            continue
        dropped = DROPPED.get(class_name, {})
        if key in dropped and (dropped[key] is ANY or dropped[key] == value):
            continue
        if key == "axis" and isinstance(value, list) and len(value) == 1 and isinstance(value[0], (int, float)):
            value = int(value[0])  # as Keras 3's legacy loader does
        elif key == "dtype" and class_name != "InputLayer":
            value = dtype_policy(value)
        elif key in NESTED_LAYERS and isinstance(value, dict) and "class_name" in value:
            value = layer(value)
        elif key == "cells" and isinstance(value, list):
            value = [layer(v) if isinstance(v, dict) else v for v in value]
        elif isinstance(value, dict) and "class_name" in value:
            value = keras_object(key, value)
        elif key in FLOAT32_LAYER_ARGS.get(class_name, ()):
            value = short_float32(value)
        out[key] = value
    return out


def keras2_module(module, keras3: str) -> bool:
    """Whether `module` is none, or a Keras 2 module to replace by Keras 3's `keras3`: tf-keras
    writes "tf_keras.src.engine.functional" for a nested Functional model. Other modules (a custom
    class's) are kept, for the graph reader to refuse."""
    if not module:
        return True
    return module != keras3 and (module == "tf_keras" or module.startswith(("tf_keras.", "keras.src.engine.")))


def keras_object(key: str, value: dict) -> dict:
    """An initializer, regularizer or constraint (by the argument's name: kernel_initializer, ...)
    in Keras 3 form; any other object as it is."""
    module = next((m for suffix, m in OBJECT_MODULES.items() if key.endswith(suffix)), None)
    if module is None or not isinstance(value.get("config"), dict):
        return value
    if value.get("module") != module and not keras2_module(value.get("module"), module):
        return value
    class_name = value["class_name"]
    config = {
        k: short_float32(v) if k in FLOAT32_OBJECT_ARGS.get(module, ()) else v for k, v in value["config"].items()
    }
    config = {**object_defaults(module, class_name), **config}
    return {"module": module, **value, "config": config, "registered_name": value.get("registered_name")}


@functools.cache
def object_defaults(module: str, class_name: str) -> dict:
    """The config of a Keras 3 object made with no arguments ({} when it cannot be): what Keras 3
    gives the arguments a Keras 2 config has no key for (they did not exist then). Public Keras API."""
    import keras

    cls = getattr(getattr(keras, module.split(".")[1], None), class_name, None)
    try:
        return dict(cls().get_config()) if isinstance(cls, type) else {}
    except Exception:  # noqa: BLE001 - a class that needs arguments: nothing to fill in
        return {}


def short_float32(value):
    """The shortest decimal that is the same float32 as `value` (a float Keras 2 cast to float32)."""
    if not isinstance(value, float):
        return value
    import numpy as np

    single = np.float32(value)
    return float(str(single)) if np.isfinite(single) and float(single) == value else value


def dtype_policy(value):
    """A Keras 2 layer dtype ("float32", or a Policy object for mixed precision) -> Keras 3's
    DTypePolicy object; anything else as it is."""
    name = value
    if isinstance(value, dict) and value.get("class_name") == "Policy":
        name = (value.get("config") or {}).get("name")
    if not isinstance(name, str):
        return value
    return {"module": "keras", "class_name": "DTypePolicy", "config": {"name": name}, "registered_name": None}
