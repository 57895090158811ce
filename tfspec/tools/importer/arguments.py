"""A serialized Keras layer as a spec call: `Dense(10, activation="softmax")`.

Only the arguments that differ from Keras's defaults are written. The defaults are Keras's
own: a reference layer is made from the arguments chosen so far (`from_config`) and its
`get_config()` compared with the file's, so arguments whose default depends on another
(`MaxPooling2D(3)` also sets strides 3) are not written twice. Required arguments are
positional (catalog order), the rest keywords. Initializers, regularizers and constraints
become calls with their non-default arguments (`L2(0.0001)`, `RandomNormal(stddev=0.02)`)
or a name (`"zeros"`) when they are at their defaults. Needs Keras; built-in classes only
(the graph reader has checked every layer class, this module checks every nested object).
"""

from __future__ import annotations

import copy
import json
import math
import re

from ... import plugins
from ...ir.catalog import (
    BASE_ARGS,
    CONSTRAINTS,
    DTYPES,
    INITIALIZER_NAMES,
    INITIALIZERS,
    REGISTRY,
    REGULARIZERS,
    bind,
)
from ...ir.lower import snake
from ...ir.values import Call, show
from .errors import ImportFailure

# Arguments where Keras turns an int into a tuple of equal ints: written back as the int.
WINDOW_ARGS = frozenset(
    {"kernel_size", "strides", "pool_size", "dilation_rate", "size", "output_padding", "padding", "cropping"}
)
# Keys of a serialized object that say nothing about the value.
NOISE_KEYS = frozenset({"shared_object_id", "build_config", "compile_config"})
OBJECTS = (("initializers", INITIALIZERS), ("regularizers", REGULARIZERS), ("constraints", CONSTRAINTS))
# Arguments holding layers: a wrapper's (Bidirectional, TimeDistributed, SpectralNormalization)
# and RNN's cell, StackedRNNCells' cells.
NESTED_LAYERS = ("layer", "backward_layer", "cell", "cells")
# Arguments written even at Keras's default: STFTSpectrogram's default window="hann" needs SciPy,
# which tfspec does not install (nor can the reference layer be made with it).
WRITTEN_ALWAYS = {"STFTSpectrogram": ("window",)}


def layer_class(keras, class_name: str):
    """The Python class of a catalog layer: a loaded plugin's, one Keras keeps outside keras.layers
    in the module its entry names (LayerDef.module: LayerScale), or keras.layers'."""
    definition = REGISTRY.get(class_name)
    if definition is not None and definition.module is not None:
        import importlib

        return getattr(importlib.import_module(definition.module), definition.name)
    return plugins.keras_class("layer", class_name) or getattr(keras.layers, class_name)


# Keras names a layer after its Python class, which for one differs from its exported name.
PYTHON_CLASS = {"GroupQueryAttention": "GroupedQueryAttention"}


def is_auto_name(name: str, class_name: str) -> bool:
    """Whether `name` is one Keras makes up for an unnamed layer (`dense`, `dense_3`)."""
    prefix = snake(PYTHON_CLASS.get(class_name, class_name))
    return re.fullmatch(re.escape(prefix) + r"(_\d+)?", name) is not None


def plain(value):
    """A config value reduced for comparison: tuples as lists, bookkeeping keys and the names of
    nested layers dropped (Bidirectional renames its copies)."""
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        nested_layer = value.get("class_name") in REGISTRY and isinstance(value.get("config"), dict)
        out = {}
        for key, item in value.items():
            if key in NOISE_KEYS:
                continue
            if nested_layer and key == "config":
                item = {k: v for k, v in item.items() if k != "name"}
            out[key] = plain(item)
        return out
    return value


class Arguments:
    """Turns layer entries into calls; `path` is the model file, for messages."""

    def __init__(self, path: str):
        import keras

        self.keras = keras
        self.path = path
        self.made: dict = {}  # a layer's config, its name left out -> its spec call

    def fail(self, message, hint=None):
        raise ImportFailure(self.path, "E903", message, hint)

    # -- layers ------------------------------------------------------------------------
    def call(self, entry: dict, where: str, wrapped: bool = False) -> Call:
        """The layer's spec call, its name left out (the writer adds the name it keeps). `where`
        names the layer in messages, e.g. "layer 'dense_2' (Dense)". Settings that the wrapper of
        a `wrapped` layer (Bidirectional, TimeDistributed) makes, such as zero_output_for_mask, are
        left to it; it checks the result."""
        class_name = entry["class_name"]
        # Layers of one config but their names (a model's many BatchNormalizations) make one call.
        key = json.dumps(
            [
                class_name,
                plain({k: v for k, v in entry["config"].items() if k != "name"}),
                entry.get("build_config"),
                wrapped,
            ],
            sort_keys=True,
            default=repr,
        )
        if key not in self.made:
            self.made[key] = self.fresh_call(entry, where, wrapped)
        return self.made[key]

    def fresh_call(self, entry: dict, where: str, wrapped: bool) -> Call:
        class_name = entry["class_name"]
        definition = REGISTRY[class_name]
        actual = entry["config"]
        chosen = self.choose(definition, entry, where, strict=not wrapped)
        positional = [a for a in definition.args if a not in BASE_ARGS]
        args, kwargs = [], []
        leading = True
        for a in positional:
            leading = leading and a.required and a.name in chosen
            if leading:
                args.append(self.value(actual[a.name], a.name, where))
            elif a.name in chosen:
                kwargs.append((a.name, self.value(actual[a.name], a.name, where)))
        for a in BASE_ARGS:
            if a.name in chosen:
                kwargs.append((a.name, self.value(actual[a.name], a.name, where)))
        call = Call(class_name, tuple(args), tuple(kwargs))
        errors = bind(definition, call.args, call.kwargs).errors
        if errors:
            self.fail(f"{where}: {errors[0].message}", f"as a spec call it reads {show(call)}")
        if any(a.name in NESTED_LAYERS for a in definition.args):
            self.check_rebuilt(call, actual, where)
        return call

    def check_rebuilt(self, call: Call, actual: dict, where: str) -> None:
        """The layer the call makes has the file's config (names aside)."""
        made = plain(self.instantiate(call).get_config())
        wanted = plain(actual)
        for key in sorted((set(made) | set(wanted)) - {"name"}):
            if not agrees(made.get(key), wanted.get(key), key in wanted):
                self.fail(
                    f"{where}: its {key} cannot be written in a spec so that Keras makes the same layer",
                    f"the spec call {show(call)} gives {key}={show(self.shown(made.get(key)))}",
                )

    def instantiate(self, value):
        """The Keras object of a spec value (catalog layers and objects only)."""
        if isinstance(value, Call):
            args = [self.instantiate(v) for v in value.args]
            kwargs = {k: self.instantiate(v) for k, v in value.kwargs}
            if value.name in REGISTRY:
                return layer_class(self.keras, value.name)(*args, **kwargs)
            module = next(m for m, known in OBJECTS if value.name in known)
            return getattr(getattr(self.keras, module), value.name)(*args, **kwargs)
        if isinstance(value, (tuple, list)):
            return type(value)(self.instantiate(v) for v in value)
        return value

    def choose(self, definition, entry, where, strict=True) -> set:
        """The catalog arguments to write: grown one at a time, in catalog order, until the
        reference layer's config equals the file's."""
        actual = entry["config"]
        names = [a.name for a in definition.args if a.name != "name"]
        chosen = {a.name for a in definition.args if a.required and a.name in actual}
        chosen |= {name for name in WRITTEN_ALWAYS.get(entry["class_name"], ()) if name in actual}
        for key in chosen:
            self.value(actual[key], key, where)  # check nested objects before Keras reads them
        filled_on_build = set()
        while True:
            try:
                differing = self.differing(entry, chosen, where) - filled_on_build
            except ImportFailure:
                # Keras refuses some arguments without others (Normalization's mean without its
                # variance): take the next one the file sets away from its default, and retry.
                together = self.set_apart(entry, chosen, names)
                if not together:
                    raise
                self.value(actual[together[0]], together[0], where)
                chosen.add(together[0])
                continue
            todo = [n for n in names if n in differing and n not in chosen]
            if not todo:
                break
            key = todo[0]
            self.value(actual[key], key, where)
            if entry.get("build_config") and self.same_once_built(entry, chosen, key):
                filled_on_build.add(key)  # e.g. MultiHeadAttention's attention_axes
            else:
                chosen.add(key)
        unknown = sorted(differing - set(names) - {"name"})
        if unknown and strict:
            key = unknown[0]
            self.fail(
                f"{where}: {key}={show(self.shown(actual[key]))} is not Keras's default, and tfspec's catalog "
                f"has no argument {key!r}"
            )
        return chosen

    def set_apart(self, entry, chosen, names) -> list:
        """The catalog arguments not chosen yet whose file values differ from the __init__
        defaults, in catalog order."""
        defaults = init_defaults(layer_class(self.keras, entry["class_name"]))
        actual = entry["config"]
        return [
            n
            for n in names
            if n not in chosen and n in actual and n in defaults and plain(actual[n]) != plain(defaults[n])
        ]

    def differing(self, entry, chosen, where) -> set:
        actual = entry["config"]
        reference = self.reference(entry, chosen, where).get_config()
        missing = object()
        return {
            key
            for key, value in actual.items()
            if key != "name"
            and not (value is None and key not in reference)
            and plain(value) != plain(reference.get(key, missing))
        }

    def reference(self, entry, chosen, where, build=False):
        cls = layer_class(self.keras, entry["class_name"])
        # A from_config may read keys get_config always writes (Rescaling's reads "offset",
        # TextVectorization's "split"): the arguments not chosen go in at their __init__
        # defaults, which makes the same layer as leaving them out.
        config = {key: value for key, value in init_defaults(cls).items() if key in entry["config"]}
        # copies: a from_config may take nested configs apart (RNN's cell: StackedRNNCells pops "cells")
        config.update({key: copy.deepcopy(entry["config"][key]) for key in chosen})
        config["name"] = "reference"
        try:
            layer = cls.from_config(config)
            if build:
                layer.build_from_config(entry["build_config"])
        except Exception as exc:  # noqa: BLE001 - Keras refuses bad arguments with many types
            if build:
                raise
            self.fail(f"{where}: Keras refuses its arguments: {keras_reason(exc)}")
        return layer

    def same_once_built(self, entry, chosen, key) -> bool:
        try:
            built = self.reference(entry, chosen, "", build=True).get_config()
        except Exception:  # noqa: BLE001
            return False
        return plain(built.get(key)) == plain(entry["config"][key])

    # -- values ------------------------------------------------------------------------
    def value(self, value, key: str, where: str):
        """A config value as a spec value; nested objects checked and turned into calls."""
        if isinstance(value, dict):
            if value.get("class_name") == "__numpy__" and isinstance(value.get("config"), dict):
                return self.array(value["config"].get("value"), key, where)
            if "class_name" in value and "config" in value:
                return self.object(value, key, where)
            return {k: self.value(v, key, where) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            items = tuple(self.value(v, key, where) for v in value)
            if key == "cells":
                return list(items)  # StackedRNNCells([GRUCell(4), GRUCell(8)]), as it is written
            return compact(items) if key in WINDOW_ARGS else items
        if isinstance(value, float) and not math.isfinite(value):
            self.fail(f"{where}: {key}={value} cannot be written in a spec")
        return value

    def array(self, value, key: str, where: str):
        """A numpy array Keras serialized (`Rescaling(np.array([...]))`): a number or a flat list
        of numbers is written as one; larger arrays have no spec form."""
        if isinstance(value, bool) or not (
            isinstance(value, (int, float))
            or (isinstance(value, list) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value))
        ):
            self.fail(f"{where}: {key} is an array of rank 2 or more, which a spec cannot write")
        return self.value(value, key, where)

    def object(self, value: dict, key: str, where: str):
        class_name = value["class_name"]
        module = value.get("module") or ""
        registered = value.get("registered_name")
        plugin_layer = key in NESTED_LAYERS and plugins.provides(module, class_name)
        if not plugin_layer and ((registered and registered != class_name) or not module.startswith("keras")):
            raise ImportFailure(
                self.path,
                "E902",
                f"{where}: {key} is the custom object {registered or class_name}; "
                "tfspec imports only built-in Keras objects",
            )
        if key == "dtype" or class_name.endswith("DTypePolicy"):
            return self.dtype(value, where)
        if key in NESTED_LAYERS:
            return self.wrapped(value, key, where)
        for module_name, known in OBJECTS:
            if class_name in known and module.startswith(f"keras.{module_name}"):
                return self.keras_object(value, module_name, known, where, key)
        self.fail(f"{where}: {key} is a {class_name}, which a spec cannot write")

    def dtype(self, value, where):
        name = (value.get("config") or {}).get("name")
        if value["class_name"] not in ("DTypePolicy", "FloatDTypePolicy") or name not in DTYPES:
            self.fail(
                f"{where}: the dtype policy {name or value['class_name']!r} cannot be written in a spec",
                'a spec takes a plain dtype such as "float16"',
            )
        return name

    def wrapped(self, value, key, where):
        class_name = value["class_name"]
        if class_name == "Lambda" or class_name not in REGISTRY:
            raise ImportFailure(
                self.path,
                "E902",
                f"{where} wraps a layer of class {class_name}, which is not in tfspec's layer catalog",
            )
        return self.call(value, f"{where}, wrapped {class_name}", wrapped=True)

    def object_default(self, class_name: str, arg):
        """The default of an argument (a name, or a position) of a nested Keras object (L2's l2);
        fold.MISSING when there is none."""
        from .fold import MISSING

        for module_name, known in OBJECTS:
            if class_name in known:
                names = known[class_name]
                name = names[arg] if isinstance(arg, int) and arg < len(names) else arg
                if not isinstance(name, str):
                    return MISSING
                return getattr(getattr(self.keras, module_name), class_name)().get_config().get(name, MISSING)
        return MISSING

    def keras_object(self, value, module_name, known, where, key):
        class_name = value["class_name"]
        config = value.get("config") or {}
        default = getattr(getattr(self.keras, module_name), class_name)().get_config()
        changed = []
        for name, item in config.items():
            if plain(item) == plain(default.get(name)):
                continue
            if name not in known[class_name]:
                self.fail(
                    f"{where}: {key} {class_name} sets {name}={show(self.shown(item))}, which a spec cannot write"
                )
            changed.append(name)
        changed.sort(key=known[class_name].index)
        values = [(name, self.value(config[name], name, where)) for name in changed]
        shorter = [(name, short_float(v)) for name, v in values]
        if shorter != values and plain(self.instantiate(Call(class_name, (), tuple(shorter))).get_config()) == plain(
            {**default, **config}
        ):
            values = shorter  # L1 keeps its factor as float32: write 1e-05, not 9.999999747378752e-06
        alias = snake(class_name)
        if not values and module_name == "initializers" and alias in INITIALIZER_NAMES:
            return alias
        if len(known[class_name]) == 1 and values:
            return Call(class_name, (values[0][1],))
        return Call(class_name, (), tuple(values))

    def shown(self, value):
        """A raw config value in spec-like form, for messages only."""
        if isinstance(value, list):
            return tuple(self.shown(v) for v in value)
        if isinstance(value, dict):
            return value.get("class_name", "{...}")
        return value


def agrees(made, wanted, given: bool = True) -> bool:
    """Whether a rebuilt config value is the file's. A key the file leaves out (an older Keras
    wrote no `seed`, no `backward_layer`) is Keras's default when the file is loaded: it agrees
    with anything; so does None with a key the rebuilt layer leaves out."""
    if not given:
        return True
    if isinstance(made, dict) and isinstance(wanted, dict):
        return all(agrees(made.get(k), v, k in made or v is not None) for k, v in wanted.items())
    if isinstance(made, list) and isinstance(wanted, list):
        return len(made) == len(wanted) and all(agrees(a, b) for a, b in zip(made, wanted))
    return made == wanted


def init_defaults(cls) -> dict:
    """The arguments of `cls.__init__` that have a default, with it."""
    import inspect

    return {
        p.name: p.default
        for p in inspect.signature(cls.__init__).parameters.values()
        if p.default is not p.empty and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    }


def keras_reason(exc: Exception, limit: int = 160) -> str:
    """Why Keras refused a layer's config, on one line and short: its "Exception encountered: ..."
    sentence, without the "using config={...}" that repeats the file's values (as long as they are)."""
    text = str(exc).strip()
    if "Exception encountered:" in text:
        text = text.split("Exception encountered:", 1)[1]
    text = " ".join(text.split()) or type(exc).__name__
    return text if len(text) <= limit else text[:limit] + " ..."


def compact(items: tuple):
    """(3, 3) -> 3 and ((1, 1), (1, 1)) -> 1: Keras reads the int as the same for every axis."""
    if items and all(isinstance(i, int) and not isinstance(i, bool) for i in items) and len(set(items)) == 1:
        return items[0]
    return items


def short_float(value):
    """The shortest decimal of a float that is exactly a float32 (else the float itself)."""
    if isinstance(value, float) and math.isfinite(value):
        import numpy as np

        if float(np.float32(value)) == value:
            return float(str(np.float32(value)))
    return value
