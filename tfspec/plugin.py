"""What a plugin author writes: catalog entries for layers, losses, metrics and callbacks that Keras
does not ship, as pure Python rules (`tfspec check` stays TensorFlow-free).

A plugin is a module (or an object in one) holding a `Plugin`:

    from tfspec.plugin import POS_INT, Arg, Layer, Plugin, last_dim

    def dense_shape(ins, a):
        return ins[0][:-1] + (a["units"],)

    def dense_params(ins, a, out):
        return (last_dim(ins[0], "Linear") * a["units"] + a["units"], 0)

    PLUGIN = Plugin(
        name="mylayers",                 # how generated code names the module: `mylayers.Linear(8)`
        module="mylayers.keras_layers",  # the module holding the Keras classes
        layers=[Layer("Linear", args=[Arg("units", POS_INT, 32)], shape=dense_shape, params=dense_params)],
    )

It is loaded from an installed package through the entry-point group `tfspec.plugins`
(`[project.entry-points."tfspec.plugins"] mylayers = "mylayers.tfspec_plugin:PLUGIN"`) or named
explicitly (`tfspec --plugin mylayers.tfspec_plugin check ...`, `tfspec.load_plugin(...)`); see
tfspec.plugins. The module named here must not import TensorFlow or Keras: `module` is imported
only by generated code, the runtime and the importer.

Layer entries take the layer catalog's argument types and shape helpers (re-exported below;
tfspec.ir.catalog documents them): `shape(input_shapes, args) -> output shape` works on per-sample
shapes (batch axis left out, None for an unknown size) and raises `ShapeError(message, hint)` for
inputs Keras would refuse; `params(input_shapes, args, output_shape) -> (trainable,
non_trainable)`. Loss, metric and callback entries take the train section's `Setting`s and types.
A callback class follows tfspec.runtime.callbacks.Callback (tfspec's loop does not run Keras
callbacks).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .check.train_catalog import REQUIRED
from .check.train_catalog import Arg as _Setting
from .check.train_types import BOOL as BOOL_SETTING
from .check.train_types import choice as setting_choice
from .check.train_types import either, integer, list_of, number, optional, text
from .ir.catalog import (
    ACTIVATION,
    ANY,
    BOOL,
    CONSTRAINT,
    FLOAT,
    INITIALIZER,
    INT,
    NONE,
    NONNEG_INT,
    POS_INT,
    RATE,
    REGULARIZER,
    STR,
    Arg,
    CallArg,
    ShapeError,
    Type,
    choice,
    float_type,
    int_tuple,
    int_type,
    one_of,
    seq_of,
    unsupported,
)
from .ir.layers_base import fmt, last_dim, need_min_rank, need_rank, same_shape

__all__ = [
    "ACTIVATION",
    "ANY",
    "BOOL",
    "BOOL_SETTING",
    "CONSTRAINT",
    "FLOAT",
    "INITIALIZER",
    "INT",
    "NONE",
    "NONNEG_INT",
    "POS_INT",
    "RATE",
    "REGULARIZER",
    "REQUIRED",
    "STR",
    "Arg",
    "CallArg",
    "Callback",
    "Layer",
    "Loss",
    "Metric",
    "Plugin",
    "Setting",
    "ShapeError",
    "Type",
    "choice",
    "either",
    "float_type",
    "fmt",
    "int_tuple",
    "int_type",
    "integer",
    "last_dim",
    "list_of",
    "need_min_rank",
    "need_rank",
    "number",
    "one_of",
    "optional",
    "same_shape",
    "seq_of",
    "setting_choice",
    "text",
    "unsupported",
]


def _no_params(ins, a, out):
    return (0, 0)


@dataclass(frozen=True)
class Layer:
    """A layer kind: the Keras class `name` in the plugin's module, its constructor arguments in
    order (`Arg`s, as Keras's `__init__` takes them positionally), its shape and parameter rules.
    `inputs` is (least, most) input tensors (most None: any); `training`: call() takes `training`
    (dropout-like layers, augmentation); `positional_inputs`: several inputs are passed as
    separate arguments, not one list; `call_args`/`call_rule` as for tfspec.ir.catalog.LayerDef;
    `dtype(input_dtypes, args) -> output dtype` (None: numbers in, floats out), raising
    ShapeError(..., code="E504") for an input dtype the layer cannot take."""

    name: str
    args: tuple = ()
    shape: object = same_shape
    params: object = _no_params
    inputs: tuple = (1, 1)
    training: bool = False
    doc: str = ""
    check: object = None
    positional_inputs: bool = False
    call_args: tuple = ()
    call_rule: object = None
    dtype: object = None


def Setting(name: str, type, default=REQUIRED, doc: str = ""):  # noqa: N802 - reads like a class
    """An argument of a loss, metric or callback: its train-section type (`number`, `integer`,
    `setting_choice`, `text`, `optional`, `BOOL_SETTING`, ...), its default (REQUIRED: none)."""
    return _Setting(name, type, default, doc)


@dataclass(frozen=True)
class Loss:
    """A loss class `name` of the plugin's module, made as `Loss(**settings)`; called like a Keras
    loss, `loss(y_true, y_pred)` with per-sample values, reduced by the runtime."""

    name: str
    args: tuple = ()
    doc: str = ""


@dataclass(frozen=True)
class Metric:
    """A metric class `name` (a keras.metrics.Metric) of the plugin's module."""

    name: str
    args: tuple = ()
    doc: str = ""


@dataclass(frozen=True)
class Callback:
    """A callback class `name` (a tfspec.runtime.callbacks.Callback) of the plugin's module."""

    name: str
    args: tuple = ()
    doc: str = ""


@dataclass(frozen=True)
class Plugin:
    """What a plugin contributes. `name` is how generated code refers to `module` (`import
    <module> as <name>`), so it is a plain lower-case Python name; `module` holds the Keras
    classes of every entry (imported only where a live model or a Keras object is made)."""

    name: str
    module: str
    layers: tuple = field(default=())
    losses: tuple = field(default=())
    metrics: tuple = field(default=())
    callbacks: tuple = field(default=())
    doc: str = ""
    version: str = ""

    def train_entries(self) -> tuple:
        """(kind, entries) of its train-section entries: losses, metrics, callbacks."""
        return (("loss", self.losses), ("metric", self.metrics), ("callback", self.callbacks))
