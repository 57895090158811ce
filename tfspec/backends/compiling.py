"""`model.compile(...)` in a hypermodel's build_model(hp): the train section's optimizer, loss,
loss weights and metrics (tfspec.search.settings) as Keras objects, the hyperparameters they hold
as the variables build_model declares. Written only for what Keras has itself: a plugin's loss or
metric, or a setting that depends on a hyperparameter in a way no Python expression here says,
leaves the model uncompiled, with a comment saying why."""

from __future__ import annotations

import textwrap

from ..check.train_catalog import lookup
from ..ir.values import Ref
from ..search.settings import Table, Unwritable
from .emitter import WIDTH, Atom, Code, KeyValue, Writer, data, expr, pystr

COMPILED = ("optimizer", "loss", "loss_weights", "metrics")  # the TRAINING settings compile() is given


def compiled_names(hyper) -> set:
    """The hyperparameters compile() is given (when it can be written)."""
    if hyper.settings is None:
        return set()
    names = {h.name: h.name for h in hyper.space.hypers}
    items, _ = compile_arguments(hyper.settings, names)
    if items is None:
        return set()
    return {name for key in COMPILED if key in hyper.settings for name in refs(hyper.settings[key])}


def refs(value) -> set:
    """The hyperparameters a setting holds (Refs, or the one that chooses a Table's row)."""
    if isinstance(value, Ref):
        return {value.name}
    if isinstance(value, Table):
        return {value.name}
    if isinstance(value, dict):
        return set().union(*(refs(v) for v in value.values()))
    if isinstance(value, (list, tuple)):
        return set().union(*(refs(v) for v in value))
    return set()


def compile_model(w: Writer, hyper, env: dict, model: str = "model") -> None:
    """`model.compile(...)` from the train section, or a comment saying why there is none."""
    if hyper.settings is None:
        return
    items, reason = compile_arguments(hyper.settings, env)
    if reason is not None:
        for line in textwrap.wrap(f"Not compiled: {reason}.", WIDTH - len(w.indent) - 2):
            w.line(f"# {line}")
        return
    w.code(Code(f"{model}.compile", items))


def compile_arguments(settings: dict, env: dict) -> tuple:
    """(the arguments of compile() as code items, None) or (None, why it cannot be written).
    Settings given per output ({output: ...}) become lists in the order of the model's outputs:
    Keras knows its outputs by the names of the layers that make them, not the spec's."""
    items = []
    for key in COMPILED:
        value = settings.get(key)
        if isinstance(value, Unwritable):
            names = ", ".join(value.names)
            return None, f"the train section's {key} depends on {names} in a way compile() cannot be given"
        if value is None or value == []:
            continue
        try:
            if isinstance(value, Table):  # `{"adam": keras.optimizers.Adam(), ...}[opt]`
                rows = [
                    KeyValue(f"{expr(v).flat()}: ", setting_code(key, per_output(key, x, settings), env))
                    for v, x in value.values
                ]
                code = Code("", rows, f"[{env[value.name]}]", open_="{", close="}")
            else:
                code = setting_code(key, per_output(key, value, settings), env)
        except _Unknown as exc:
            return None, f"{exc.args[0]} is not one of Keras's own"
        items.append(KeyValue(f"{key}=", code))
    return items, None


def per_output(key: str, value, settings: dict):
    """A setting given per output ({output: ...}) as a list in the order of the outputs."""
    if isinstance(value, dict) and "class_name" not in value:
        missing = {"loss": None, "loss_weights": 1.0, "metrics": []}[key]
        return [value.get(name, missing) for name in settings["outputs"]]
    return value


class _Unknown(Exception):
    pass


def setting_code(key: str, value, env: dict) -> Code:
    if key == "optimizer":
        return object_code("optimizer", value, env)
    if key == "loss":
        if isinstance(value, list):  # one per output
            return Code("", [Atom("None") if v is None else object_code("loss", v, env) for v in value], "", "[", "]")
        return object_code("loss", value, env)
    if key == "metrics":
        if value and all(isinstance(v, list) for v in value):  # a list per output
            return Code("", [metrics_code(v, env) for v in value], open_="[", close="]")
        return metrics_code(value, env)
    return value_code(value, env)


MODULES = {"optimizer": "keras.optimizers", "schedule": "keras.optimizers.schedules", "loss": "keras.losses"}
MODULES["metric"] = "keras.metrics"


def object_code(kind: str, value: dict, env: dict) -> Code:
    """`keras.optimizers.Adam(learning_rate=lr)` for {"class_name": "Adam", "config": {...}};
    `keras.optimizers.get({...})` when a hyperparameter chooses the class."""
    name, config = value["class_name"], value.get("config") or {}
    if isinstance(name, Ref):
        return Code(f"{MODULES[kind]}.get", [value_code(value, env)])
    entry = lookup(kind, name)
    if entry is None or entry.plugin is not None:
        raise _Unknown(f"the {kind} {name}")
    items = []
    for key, v in config.items():
        if kind == "optimizer" and key == "learning_rate" and isinstance(v, dict):
            items.append(KeyValue(f"{key}=", object_code("schedule", v, env)))
        else:
            items.append(KeyValue(f"{key}=", value_code(v, env)))
    return Code(f"{MODULES[kind]}.{entry.name}", items)


def metrics_code(metrics: list, env: dict) -> Code:
    items = []
    for metric in metrics:
        name, config = metric["class_name"], metric.get("config") or {}
        if name in ("accuracy", "acc") and not config:
            items.append(Atom(pystr(name)))  # compile picks the accuracy for the labels, as the runtime does
        elif isinstance(name, Ref) or name in ("accuracy", "acc"):
            raise _Unknown(f"the metric {name if isinstance(name, str) else name.name}")
        else:
            items.append(object_code("metric", metric, env))
    return Code("", items, open_="[", close="]")


def mapping(value: dict, item) -> Code:
    return Code("", [KeyValue(pystr(k) + ": ", item(v)) for k, v in value.items()], open_="{", close="}")


def value_code(value, env: dict) -> Code:
    """Plain data (as emitter.data) where a Ref is the variable of its hyperparameter."""
    if isinstance(value, Ref):
        return Atom(env[value.name])
    if isinstance(value, dict):
        return mapping(value, lambda v: value_code(v, env))
    if isinstance(value, (list, tuple)):
        return Code("", [value_code(v, env) for v in value], open_="[", close="]")
    return data(value)


def training_note(hyper) -> list:
    """The comment over TRAINING when train settings use hyperparameters (it holds their defaults)."""
    if not hyper.uses:
        return []
    which = ", ".join(f"{key} ({', '.join(names)})" for key, names in hyper.uses.items())
    text = f"The hyperparameters are at their defaults here: {which}."
    return textwrap.wrap(text, 86, initial_indent="# ", subsequent_indent="# ")
