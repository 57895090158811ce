"""The machinery of the one layer catalog: argument types, layer definitions, binding.

Each layer kind is one `LayerDef` (see layers.py): its Keras class, its arguments
(type, default, required), a static output-shape rule and a parameter-count rule.
Validation, shape inference, `summary`, the JSON Schema and the printers all read it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from .values import Call, Ref, show

Shape = tuple  # per-sample shape: ints or None (unknown), batch axis excluded


class ShapeError(Exception):
    """A static shape rule refused its inputs; message and optional hint."""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint


# -- argument types -------------------------------------------------------------
@dataclass(frozen=True)
class Type:
    """An argument type: `check(value)` returns an error message or None."""

    name: str
    test: Callable = field(compare=False)
    schema: dict = field(default_factory=dict, compare=False)

    def check(self, value) -> str | None:
        return self.test(value)


def is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _need(ok: bool, what: str, value) -> str | None:
    return None if ok else f"expected {what}, got {show(value)}"


def int_type(minimum=None, maximum=None, name=None) -> Type:
    def test(v):
        if not is_int(v):
            return _need(False, "an integer", v)
        if minimum is not None and v < minimum:
            return f"must be ≥ {minimum}, got {v}"
        if maximum is not None and v > maximum:
            return f"must be ≤ {maximum}, got {v}"
        return None

    schema = {"type": "integer"}
    if minimum is not None:
        schema["minimum"] = minimum
    return Type(name or "int", test, schema)


def float_type(minimum=None, maximum=None, below=None, above=None, name=None) -> Type:
    def test(v):
        if not is_number(v):
            return _need(False, "a number", v)
        if minimum is not None and v < minimum:
            return f"must be ≥ {minimum}, got {show(v)}"
        if maximum is not None and v > maximum:
            return f"must be ≤ {maximum}, got {show(v)}"
        if below is not None and v >= below:
            return f"must be < {below}, got {show(v)}"
        if above is not None and v <= above:
            return f"must be > {above}, got {show(v)}"
        return None

    return Type(name or "float", test, {"type": "number"})


def choice(*options, name=None) -> Type:
    def test(v):
        if v in options and type(v) is type(next(o for o in options if o == v)):
            return None
        return f"expected one of {', '.join(show(o) for o in options)}; got {show(v)}"

    return Type(name or "choice", test, {"enum": list(options)})


def one_of(*types: Type, name=None) -> Type:
    def test(v):
        errors = [t.check(v) for t in types]
        if any(e is None for e in errors):
            return None
        return f"expected {' or '.join(t.name for t in types)}, got {show(v)}"

    return Type(name or " or ".join(t.name for t in types), test)


def int_tuple(n: int | None = None, minimum=1, name=None) -> Type:
    """An int, or a tuple/list of `n` ints (Keras accepts both for kernel sizes, strides, ...)."""

    def test(v):
        items = v if isinstance(v, (tuple, list)) else (v,)
        if isinstance(v, (tuple, list)) and n is not None and len(v) != n:
            return f"expected an integer or {n} integers, got {show(v)}"
        for item in items:
            if not is_int(item):
                return f"expected an integer or a tuple of integers, got {show(v)}"
            if minimum is not None and item < minimum:
                return f"values must be ≥ {minimum}, got {show(v)}"
        return None

    return Type(name or "int or tuple", test)


def seq_of(item: Type, name=None, allow_single=False) -> Type:
    def test(v):
        if not isinstance(v, (tuple, list)):
            if allow_single:
                return item.check(v)
            return f"expected a tuple, got {show(v)}"
        for x in v:
            err = item.check(x)
            if err:
                return err
        return None

    return Type(name or f"tuple of {item.name}", test)


def _bool(v):
    return _need(isinstance(v, bool), "True or False", v)


def _str(v):
    return _need(isinstance(v, str), "a string", v)


def _any(v):
    return None


INT = int_type()
POS_INT = int_type(minimum=1, name="positive int")
NONNEG_INT = int_type(minimum=0, name="non-negative int")
FLOAT = float_type()
RATE = float_type(minimum=0, below=1, name="rate in [0, 1)")
BOOL = Type("bool", _bool, {"type": "boolean"})
STR = Type("string", _str, {"type": "string"})
ANY = Type("any", _any)
NONE = Type("None", lambda v: _need(v is None, "None", v), {"type": "null"})
AXIS = one_of(INT, seq_of(INT), name="axis")
PADDING = choice("valid", "same", name="padding")
PADDING_CAUSAL = choice("valid", "same", "causal", name="padding")
DATA_FORMAT = one_of(NONE, choice("channels_last", "channels_first"), name="data format")
DTYPES = ("float16", "bfloat16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool", "string")
DTYPE = one_of(NONE, choice(*DTYPES), name="dtype")

ACTIVATIONS = (
    "linear", "relu", "relu6", "leaky_relu", "elu", "selu", "gelu", "silu", "swish", "mish", "sigmoid",
    "hard_sigmoid", "hard_silu", "hard_swish", "softmax", "log_softmax", "softplus", "softsign", "tanh",
    "exponential",
)
ACTIVATION = one_of(NONE, choice(*ACTIVATIONS, name="activation name"), name="activation")

INITIALIZERS = {
    "Zeros": (), "Ones": (), "Constant": ("value",), "RandomNormal": ("mean", "stddev", "seed"),
    "RandomUniform": ("minval", "maxval", "seed"), "TruncatedNormal": ("mean", "stddev", "seed"),
    "GlorotUniform": ("seed",), "GlorotNormal": ("seed",), "HeUniform": ("seed",), "HeNormal": ("seed",),
    "LecunUniform": ("seed",), "LecunNormal": ("seed",), "Orthogonal": ("gain", "seed"),
    "Identity": ("gain",), "VarianceScaling": ("scale", "mode", "distribution", "seed"),
}
INITIALIZER_NAMES = (
    "zeros", "ones", "glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "lecun_uniform",
    "lecun_normal", "orthogonal", "identity", "random_normal", "random_uniform", "truncated_normal",
    "variance_scaling",
)
REGULARIZERS = {"L1": ("l1",), "L2": ("l2",), "L1L2": ("l1", "l2"), "OrthogonalRegularizer": ("factor", "mode")}
CONSTRAINTS = {"MaxNorm": ("max_value", "axis"), "MinMaxNorm": ("min_value", "max_value", "rate", "axis"),
               "NonNeg": (), "UnitNorm": ("axis",)}


def object_type(name: str, classes: dict, strings: tuple = ()) -> Type:
    """None, a known string alias, or a call to one of `classes` with known arguments."""

    def test(v):
        if v is None or (isinstance(v, str) and v in strings):
            return None
        if isinstance(v, Call):
            if v.name not in classes:
                return f"unknown {name} {v.name!r}; known: {', '.join(sorted(classes))}"
            allowed = classes[v.name]
            if len(v.args) > len(allowed):
                return f"{v.name} takes at most {len(allowed)} positional arguments"
            for key, _ in v.kwargs:
                if key not in allowed:
                    return f"{v.name} has no argument {key!r}"
            return None
        if isinstance(v, str):
            return f"unknown {name} {v!r}"
        return f"expected a {name}, got {show(v)}"

    return Type(name, test)


INITIALIZER = object_type("initializer", INITIALIZERS, INITIALIZER_NAMES)
REGULARIZER = object_type("regularizer", REGULARIZERS, ("l1", "l2", "l1_l2"))
CONSTRAINT = object_type("constraint", CONSTRAINTS, ("max_norm", "non_neg", "unit_norm", "min_max_norm"))


# -- layer definitions ------------------------------------------------------------
@dataclass(frozen=True)
class Arg:
    name: str
    type: Type
    default: object = None
    required: bool = False


@dataclass(frozen=True)
class LayerDef:
    name: str  # the spec name, also the class name under keras.layers
    args: tuple  # Arg, in Keras's positional order
    shape: Callable  # (input shapes, bound args) -> output shape; may raise ShapeError
    params: Callable = lambda ins, a, out: (0, 0)  # -> (trainable, non_trainable)
    inputs: tuple = (1, 1)  # (min, max) number of input tensors; max None = any
    training: bool = False  # call() takes a `training` argument
    doc: str = ""

    def arg(self, name: str) -> Arg | None:
        for a in self.args:
            if a.name == name:
                return a
        return None

    @property
    def arg_names(self) -> tuple:
        return tuple(a.name for a in self.args)


# Keyword arguments every Keras layer accepts.
BASE_ARGS = (
    Arg("name", STR),
    Arg("dtype", DTYPE),
    Arg("trainable", BOOL, True),
)

REGISTRY: dict[str, LayerDef] = {}
ALIASES: dict[str, str] = {}


def layer(name: str, args=(), shape=None, params=None, inputs=(1, 1), training=False, aliases=(), doc=""):
    """Register a layer kind in the catalog."""
    definition = LayerDef(name, tuple(args) + BASE_ARGS, shape, params or (lambda ins, a, out: (0, 0)),
                          inputs, training, doc)
    REGISTRY[name] = definition
    for alias in aliases:
        ALIASES[alias] = name
    return definition


def lookup(name: str) -> LayerDef | None:
    name = ALIASES.get(name, name)
    return REGISTRY.get(name)


@dataclass
class Bound:
    """The result of binding a call's arguments to a LayerDef."""

    values: dict  # every argument, defaults filled in
    given: dict  # only the arguments the spec gave, by name
    errors: list  # (message, hint, where) where = ("args", i) | ("kwargs", name) | None


def bind(definition: LayerDef, args, kwargs) -> Bound:
    values = {a.name: a.default for a in definition.args}
    given, errors = {}, []
    positional = [a for a in definition.args if a not in BASE_ARGS]
    for i, value in enumerate(args):
        if i >= len(positional):
            errors.append((f"{definition.name} takes at most {len(positional)} positional arguments, got {len(args)}",
                           "pass the rest by keyword", ("args", i)))
            break
        given[positional[i].name] = (value, ("args", i))
    for key, value in kwargs:
        if definition.arg(key) is None:
            from ..diagnostics import did_you_mean

            errors.append((f"{definition.name} has no argument {key!r}",
                           did_you_mean(key, definition.arg_names), ("kwargs", key)))
            continue
        if key in given:
            errors.append((f"argument {key!r} of {definition.name} is given twice", None, ("kwargs", key)))
            continue
        given[key] = (value, ("kwargs", key))
    for a in definition.args:
        if a.required and a.name not in given:
            errors.append((f"{definition.name} needs the argument {a.name!r}",
                           f"e.g. {definition.name}({a.name}=...)", None))
    for key, (value, where) in given.items():
        if isinstance(value, Ref):
            continue  # a block parameter: checked when the block is used
        err = definition.arg(key).type.check(value)
        if err:
            errors.append((f"{definition.name}: {key} {err}" if err.startswith("must") else f"{definition.name}: {key}: {err}",
                           None, where))
    values.update({k: v for k, (v, _) in given.items()})
    return Bound(values, {k: v for k, (v, _) in given.items()}, errors)
