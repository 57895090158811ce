"""A Keras model config (Functional or Sequential, nested models included) as a graph of layer
applications, with every class checked before anything is built.

Tensors are keys `(layer name, node index, tensor index)` as Keras's own `keras_history`
writes them; a model's applications are listed in a topological order that follows the
config's layer order (Keras's `model.layers` order).
"""

from __future__ import annotations

import heapq
import re
from dataclasses import dataclass, field

from ... import plugins
from ...ir.catalog import REGISTRY
from ...ir.walk import MAX_BLOCK_DEPTH
from . import operations
from .errors import ImportFailure

MODEL_CLASSES = ("Functional", "Sequential", "Model")
# Call arguments that carry input tensors, in the order tfspec passes them (query, value, key).
TENSOR_KWARGS = ("inputs", "query", "value", "key")
# masks a layer was called with: Keras computes them from the tensors, and so does a model built from the
# spec. Not attention_mask: that may be a causal or other mask of the model's own (an error, not a guess)
MASK_KWARGS = frozenset({"mask", "query_mask", "value_mask", "key_mask"})


@dataclass
class Input:
    name: str
    tensor: tuple
    shape: tuple  # per sample
    dtype: str


@dataclass
class Layer:
    """One layer object: a catalog layer, or a nested model (`model` set)."""

    name: str
    class_name: str
    entry: dict  # the serialized layer: class_name, config, ...
    label: str  # its path for messages: "encoder/dense_2"
    model: "Model | None" = None
    apps: list = field(default_factory=list)
    operation: bool = False  # a keras.ops call or operator (`x + 3.0`): its apps carry `expr`
    written_name: object = None  # the name the spec writes for it ("" for none), once decided
    term: str | None = None  # tfspec's own AddLoss layer: the loss term's name (`add_loss kl`)


@dataclass
class App:
    """One application of a layer: input tensors -> output tensors. `kwargs` are the call's
    other arguments ((name, value), ...), a value a tensor key, a list of them or a plain value;
    an operation's `expr` is its expression over operations.Operand(key)s."""

    layer: Layer
    inputs: list
    outputs: list
    kwargs: list = field(default_factory=list)
    expr: object = None


@dataclass
class Model:
    name: str
    class_name: str
    inputs: list  # Input
    apps: list  # App, topological
    outputs: list  # tensor keys


class Reader:
    """Parses one file's config; `where` names the nested model being read, for messages."""

    def __init__(self, path: str):
        self.path = path
        self.notes: list[str] = []
        self.depth = 0  # models inside models being read

    def fail(self, code, message, hint=None):
        raise ImportFailure(self.path, code, message, hint)

    # -- models ------------------------------------------------------------------------
    def model(self, serialized: dict, where: str | None = None) -> Model:
        """`where` is None for the file's model, else the path of the model holding this one."""
        class_name = serialized.get("class_name")
        config = serialized.get("config")
        if not isinstance(config, dict):
            self.fail("E901", f"{where or 'the model'}: malformed config (no 'config' object)")
        name = str(config.get("name") or class_name)
        self.check_model_class(serialized, name, where)
        label = "" if where is None else f"{where}{name}/"
        if self.depth >= MAX_BLOCK_DEPTH:
            self.fail(
                "E904",
                f"{short_path(label)}: models nest more than {MAX_BLOCK_DEPTH} deep inside the model",
                f"a spec's blocks nest at most {MAX_BLOCK_DEPTH} deep; flatten the inner models",
            )
        self.depth += 1
        try:
            if class_name == "Sequential":
                return self.sequential(config, name, label)
            return self.functional(config, name, label)
        finally:
            self.depth -= 1

    def check_model_class(self, serialized, name, where):
        class_name = serialized.get("class_name")
        registered = serialized.get("registered_name")
        if class_name not in MODEL_CLASSES or (registered and registered != class_name):
            self.fail(
                "E902",
                f"{where or 'the file'}: model {name!r} has the class {registered or class_name}, "
                "a subclassed model whose call() is Python code",
                "tfspec imports Functional and Sequential models",
            )

    def sequential(self, config: dict, name: str, where: str) -> Model:
        entries = list(config.get("layers") or [])
        if entries and entries[0].get("class_name") == "InputLayer":
            inp = self.input(entries.pop(0), "inputs")
        elif config.get("build_input_shape"):
            shape = list(config["build_input_shape"])
            inp = self.make_input("inputs", shape, "float32")
        else:
            self.fail(
                "E904",
                f"the Sequential model {where.rstrip('/')!r} has no input shape (it was never built)",
                "build it first, e.g. keras.Sequential([keras.Input((28, 28)), ...])",
            )
        tensor = inp.tensor
        apps = []
        for entry in entries:
            layer = self.layer(entry, where)
            out = (layer.name, 0, 0)
            if layer.model is not None and len(layer.model.outputs) != 1:
                self.fail("E904", f"{where}{layer.name}: a model with several outputs inside a Sequential model")
            app = App(layer, [tensor], [out])
            layer.apps.append(app)
            apps.append(app)
            tensor = out
        if not apps:
            self.fail("E904", f"the Sequential model {where.rstrip('/')!r} has no layers")
        return Model(name, "Sequential", [inp], apps, [tensor])

    def functional(self, config: dict, name: str, where: str) -> Model:
        entries = config.get("layers")
        if not isinstance(entries, list):
            self.fail("E901", f"{where or 'the model'}: malformed Functional config (no layer list)")
        inputs, layers, order = {}, {}, {}
        masks = mask_makers(entries, config.get("output_layers"))
        for i, entry in enumerate(entries):
            lname = entry.get("name") or (entry.get("config") or {}).get("name")
            if not isinstance(lname, str):
                self.fail("E901", f"{where}layer #{i + 1}: malformed config (no name)")
            if lname in masks:
                continue
            if entry.get("class_name") == "InputLayer":
                inputs[lname] = self.input(entry, lname)
            elif loss_term(entry) is not None:
                layers[lname] = Layer(lname, "AddLoss", entry, f"{where}{lname}", term=loss_term(entry))
                order[lname] = i
            elif operations.is_operation(entry):
                layers[lname] = self.operation(dict(entry, name=lname), where)
                order[lname] = i
            else:
                layers[lname] = self.layer(dict(entry, name=lname), where)
                order[lname] = i
        apps = []
        for lname, layer in layers.items():
            nodes = layer.entry.get("inbound_nodes") or []
            for k, node in enumerate(nodes):
                if layer.operation:
                    app = self.operation_app(node, layer, k, where)
                else:
                    tensors, kwargs = self.node_inputs(node, layer, where, masks)
                    outputs = self.result_count(layer, node)
                    app = App(layer, tensors, [(lname, k, j) for j in range(outputs)], kwargs)
                layer.apps.append(app)
                apps.append(app)
        model_inputs = [inputs[key[0]] for key in self.endpoints(config.get("input_layers"), inputs, where, "input")]
        outputs = self.endpoints(config.get("output_layers"), {**inputs, **layers}, where, "output")
        used = {t for app in apps for t in app.inputs} | set(outputs)
        for inp in inputs.values():
            if inp not in model_inputs and inp.tensor in used:
                self.fail("E904", f"{where}{inp.name}: an input layer that is not an input of the model")
        return Model(name, "Functional", model_inputs, self.topological(apps, order, inputs, where), outputs)

    def endpoints(self, value, known, where, what) -> list:
        if not value:
            self.fail("E901", f"{where or 'the model'}: malformed Functional config (no {what} layers)")
        items = [value] if isinstance(value[0], str) else value
        keys = []
        for item in items:
            if not (isinstance(item, list) and len(item) == 3 and item[0] in known):
                self.fail("E901", f"{where or 'the model'}: malformed {what} entry {item!r}")
            keys.append(tuple(item))
        return keys

    def topological(self, apps, order, inputs, where) -> list:
        """Kahn's algorithm; among ready applications the one earliest in the config comes first."""
        produced = {t: app for app in apps for t in app.outputs}
        available = {inp.tensor for inp in inputs.values()}
        waiting = {}
        ready = []
        for n, app in enumerate(apps):
            for t in app.inputs + kwarg_tensors(app.kwargs):
                if t not in produced and t not in available:
                    self.fail("E901", f"{where}{app.layer.name}: its input {t[0]!r} is not in the model")
            needs = {id(produced[t]) for t in app.inputs + kwarg_tensors(app.kwargs) if t in produced}
            waiting[id(app)] = needs
            if not needs:
                heapq.heappush(ready, (order[app.layer.name], app.outputs[0][1], n))
        dependents = {}
        for n, app in enumerate(apps):
            for dep in waiting[id(app)]:
                dependents.setdefault(dep, []).append(n)
        result = []
        while ready:
            _, _, n = heapq.heappop(ready)
            app = apps[n]
            result.append(app)
            for m in dependents.get(id(app), ()):
                waiting[id(apps[m])].discard(id(app))
                if not waiting[id(apps[m])]:
                    heapq.heappush(ready, (order[apps[m].layer.name], apps[m].outputs[0][1], m))
        if len(result) != len(apps):
            self.fail("E901", f"{where or 'the model'}: the layer graph has a cycle")
        return result

    # -- layers ------------------------------------------------------------------------
    def layer(self, entry: dict, where: str) -> Layer:
        config = entry.get("config")
        class_name = entry.get("class_name")
        name = entry.get("name") or (config or {}).get("name") or "?"
        if not isinstance(config, dict) or not isinstance(class_name, str):
            self.fail("E901", f"{where}{name}: malformed layer config")
        self.check_layer_class(entry, name, where)
        layer = Layer(name, class_name, entry, f"{where}{name}")
        if class_name in MODEL_CLASSES:
            layer.model = self.model(entry, where)
        return layer

    def check_layer_class(self, entry, name, where):
        class_name = entry["class_name"]
        registered = entry.get("registered_name")
        module = entry.get("module") or ""
        label = f"{where}{name}"
        if class_name == "Lambda":
            self.fail(
                "E902",
                f"layer {label!r} is a Lambda layer (class Lambda): it holds Python code, which tfspec "
                "neither imports nor runs",
                "replace it with catalog layers before exporting the model",
            )
        if plugins.provides(module, class_name):
            return  # an installed plugin's class: its catalog entry says how to write it
        if (registered and registered != class_name) or (module and not module.startswith("keras")):
            shown = class_name + (f" (registered as {registered})" if registered and registered != class_name else "")
            self.fail(
                "E902",
                f"layer {label!r} has the custom class {shown}; tfspec imports only built-in Keras "
                "layers, and never runs code from a model file",
                "replace it with catalog layers, or write the spec by hand",
            )
        if class_name in MODEL_CLASSES:
            return
        if class_name not in REGISTRY:
            self.fail(
                "E902",
                f"layer {label!r} has the class {class_name}, which is not in tfspec's layer catalog",
                "replace it with catalog layers before exporting the model, or write the spec by hand",
            )

    def node_inputs(self, node, layer: Layer, where, masks: set) -> list:
        if not isinstance(node, dict) or "args" not in node:
            self.fail(
                "E901",
                f"{where}{layer.name}: unsupported inbound node format (a Keras 2 config?)",
                "load the model in Keras 3 and save it again as .keras",
            )
        tensors, call = [], []
        for value in node.get("args") or []:
            tensors += self.tensors(value, layer, where)
        kwargs = node.get("kwargs") or {}
        for key in TENSOR_KWARGS:
            if key in kwargs:
                tensors += self.tensors(kwargs[key], layer, where)
        takes = call_arguments(layer)
        for key, value in kwargs.items():
            if key in TENSOR_KWARGS or value is None or (key == "training" and value is False):
                continue  # Keras records training=False for layers called without it
            if key in MASK_KWARGS and set(references(value)) <= masks:
                continue  # the mask Keras propagates; a model built from the spec propagates it too
            if key == "training" and value is True:
                if not trains_by_default(layer.class_name):  # else Keras wrote its own default
                    self.notes.append(
                        f"layer {where}{layer.name!r} was called with training=True; the spec leaves "
                        "the training mode to the caller"
                    )
                continue
            if key in takes:
                refs = references(value)
                call.append((key, self.call_value(value, layer, where) if refs else value))
                continue
            self.fail(
                "E903",
                f"layer {where}{layer.name!r} ({layer.class_name}) is called with {key}={short(value)}; "
                f"its call takes {', '.join(sorted(takes)) or 'only its input tensors'} in a spec",
            )
        if not tensors:
            self.fail("E904", f"layer {where}{layer.name!r} ({layer.class_name}) is applied to no tensor")
        return tensors, call

    def call_value(self, value, layer, where):
        """A call argument holding tensors: one key, or a list of keys (`initial_state=[h, c]`)."""
        keys = self.tensors(value, layer, where)
        return keys if isinstance(value, (list, tuple)) else keys[0]

    def result_count(self, layer: Layer, node) -> int:
        """How many tensors an application yields: a nested model's outputs; an RNN with
        return_state or attention asked for its scores, as Keras computes it; else one."""
        if layer.model is not None:
            return len(layer.model.outputs)
        config = layer.entry.get("config") or {}
        wrapped = config.get("layer") if isinstance(config.get("layer"), dict) else {}  # Bidirectional's
        states = config.get("return_state") or (wrapped.get("config") or {}).get("return_state")
        if not (states or (node.get("kwargs") or {}).get("return_attention_scores")):
            return 1
        return keras_result_count(layer, node)

    # -- operations --------------------------------------------------------------------
    def operation(self, entry: dict, where: str) -> Layer:
        name = entry["name"]
        if operations.op_name(str(entry.get("class_name"))) is None:
            self.fail(
                "E903",
                f"{where}{name}: the operation {entry.get('class_name')} (keras.ops) has no spec form",
                "the spec's operations: `tfspec schema --catalog` lists them",
            )
        return Layer(name, entry["class_name"], entry, f"{where}{name}", operation=True)

    def operation_app(self, node, layer: Layer, k: int, where: str) -> App:
        if not isinstance(node, dict) or "args" not in node:
            self.fail("E901", f"{where}{layer.name}: unsupported inbound node format")

        def tensor(value):
            if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
                return self.tensors(value, layer, where)[0]
            return None

        try:
            expr = operations.expression(layer.class_name, layer.entry.get("config") or {}, node, tensor)
        except operations.Unsupported as exc:
            self.fail("E903", f"operation {where}{layer.name!r}: {exc}")
        keys = list(dict.fromkeys(operations.operands(expr)))
        if not keys:
            self.fail("E904", f"operation {where}{layer.name!r} ({layer.class_name}) is applied to no tensor")
        return App(layer, keys, [(layer.name, k, 0)], expr=expr)

    def tensors(self, value, layer, where) -> list:
        if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
            history = (value.get("config") or {}).get("keras_history")
            if not (isinstance(history, list) and len(history) == 3):
                self.fail("E901", f"{where}{layer.name}: malformed tensor reference")
            return [tuple(history)]
        if isinstance(value, (list, tuple)):
            return [t for v in value for t in self.tensors(v, layer, where)]
        self.fail(
            "E903",
            f"layer {where}{layer.name!r} ({layer.class_name}) is called with the constant "
            f"{short(value)}; a spec passes only input tensors to a layer",
        )

    # -- inputs ------------------------------------------------------------------------
    def input(self, entry: dict, name: str) -> Input:
        config = entry.get("config") or {}
        shape = config.get("batch_shape") or config.get("batch_input_shape")
        if not isinstance(shape, list) or not shape:
            self.fail("E901", f"input {name!r}: malformed config (no batch_shape)")
        if config.get("sparse") or config.get("ragged"):
            self.fail(
                "E903",
                f"input {name!r} is {'sparse' if config.get('sparse') else 'ragged'}; tfspec inputs are dense tensors",
            )
        dtype = config.get("dtype") or "float32"
        if isinstance(dtype, dict):
            dtype = (dtype.get("config") or {}).get("name", "float32")
        return self.make_input(config.get("name") or name, shape, dtype)

    def make_input(self, name, batch_shape, dtype) -> Input:
        if batch_shape[0] is not None:
            self.notes.append(
                f"input {name!r}: the fixed batch size {batch_shape[0]} is dropped (a spec gives per-sample shapes)"
            )
        shape = tuple(batch_shape[1:])
        if any(d is not None and (not isinstance(d, int) or d < 1) for d in shape):
            self.fail("E903", f"input {name!r} has the shape {list(shape)}; sizes are positive integers or None")
        return Input(name, (name, 0, 0), shape, dtype)


ADD_LOSS = re.compile(r"tfspec\.[A-Za-z_][A-Za-z0-9_]*>AddLoss\Z")


def loss_term(entry: dict) -> str | None:
    """The term's name when the entry is the AddLoss layer tfspec's generated code defines for
    `add_loss NAME` (registered as tfspec.<model>>AddLoss, config: its term); else None."""
    config = entry.get("config") or {}
    if entry.get("class_name") != "AddLoss" or not ADD_LOSS.match(str(entry.get("registered_name") or "")):
        return None
    term = config.get("term")
    if not (isinstance(term, str) and term.isidentifier() and term.isascii()):
        return None
    if set(config) - {"name", "trainable", "dtype", "term"}:
        return None
    return term


def kwarg_tensors(kwargs) -> list:
    """The tensor keys among a call's other arguments."""
    found = []
    for _, value in kwargs:
        if isinstance(value, tuple):
            found.append(value)
        elif isinstance(value, list):
            found.extend(v for v in value if isinstance(v, tuple))
    return found


def call_arguments(layer: Layer) -> set:
    """The call arguments the catalog lets a spec give this layer (`initial_state`, `mask`, ...)."""
    definition = REGISTRY.get(layer.class_name) if layer.model is None else None
    return {a.name for a in definition.call_args} if definition is not None else set()


def keras_result_count(layer: Layer, node) -> int:
    """The tensors Keras's layer yields for this call: the layer made from its config and called
    on symbolic tensors of the recorded shapes (nothing runs)."""
    import keras

    from .arguments import layer_class

    def symbolic(value):
        if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
            c = value.get("config") or {}
            return keras.KerasTensor(tuple(c.get("shape") or ()), dtype=c.get("dtype") or "float32")
        if isinstance(value, list):
            return [symbolic(v) for v in value]
        if isinstance(value, dict):
            return {k: symbolic(v) for k, v in value.items()}
        return value

    try:
        made = layer_class(keras, layer.class_name).from_config(dict(layer.entry["config"]))
        out = made(*symbolic(node.get("args") or []), **symbolic(node.get("kwargs") or {}))
    except Exception:  # noqa: BLE001 - refused later, with the arguments, by the writer
        return 1
    return len(keras.tree.flatten(out))


def trains_by_default(class_name: str) -> bool:
    """Whether the class's call() defaults to training=True (the image augmentation layers):
    Keras then records training=True for every call that did not pass it."""
    import inspect

    import keras

    cls = getattr(keras.layers, class_name, None)
    parameter = inspect.signature(cls.call).parameters.get("training") if cls is not None else None
    return parameter is not None and parameter.default is True


def short_path(label: str) -> str:
    """A model path for messages, its middle left out when it is long: "a/b/.../y/z"."""
    parts = label.rstrip("/").split("/")
    return "/".join(parts) if len(parts) <= 5 else "/".join(parts[:2] + ["..."] + parts[-2:])


def short(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def references(value) -> list:
    """Names of the layers whose tensors a node argument refers to."""
    if isinstance(value, dict):
        if value.get("class_name") == "__keras_tensor__":
            return [((value.get("config") or {}).get("keras_history") or [None])[0]]
        return [name for v in value.values() for name in references(v)]
    if isinstance(value, list):
        return [name for v in value for name in references(v)]
    return []


def mask_makers(entries: list, outputs) -> set:
    """The operations that only compute masks: Keras writes the masks it propagates from
    Embedding(mask_zero=True) or Masking into a functional config as ops (NotEqual, Any)
    passed as `mask=`. A model built from the spec propagates the same masks by itself."""
    if not any(
        e.get("class_name") == "Masking"
        or (e.get("class_name") == "Embedding" and (e.get("config") or {}).get("mask_zero"))
        for e in entries
    ):
        return set()
    ops = {e.get("name") for e in entries if (e.get("module") or "").startswith("keras.src.ops")}
    ops -= set(
        references(
            [
                {"class_name": "__keras_tensor__", "config": {"keras_history": o}}
                for o in (outputs if outputs and isinstance(outputs[0], list) else [outputs])
            ]
        )
    )
    uses = []  # (producer, consumer) where the consumer reads the tensor as data, not as its mask
    for e in entries:
        for node in e.get("inbound_nodes") or []:
            if isinstance(node, dict):
                data = [node.get("args"), {k: v for k, v in (node.get("kwargs") or {}).items() if k not in MASK_KWARGS}]
                uses += [(name, e.get("name")) for name in references(data)]
    changed = True
    while changed:
        kept = {producer for producer, consumer in uses if producer in ops and consumer not in ops}
        changed = bool(kept)
        ops -= kept
    return ops
