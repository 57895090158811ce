"""The machinery of the one layer catalog: argument types, layer definitions, binding.

Each layer kind is one `LayerDef` (see layers.py): its Keras class, its arguments
(type, default, required), a static output-shape rule and a parameter-count rule.
Validation, shape inference, `summary`, the JSON Schema and the printers all read it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import NamedTuple

from .values import Call, Expr, Ref, show

Shape = tuple  # per-sample shape: ints or None (unknown), batch axis excluded


class ShapeError(Exception):
    """A static shape rule refused its inputs; message, optional hint, and the diagnostic code."""

    def __init__(self, message: str, hint: str | None = None, code: str = "E501"):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.code = code


# -- argument types -------------------------------------------------------------
@dataclass(frozen=True)
class Type:
    """An argument type: `check(value)` returns an error message or None."""

    name: str
    test: Callable = field(compare=False)
    schema: dict = field(default_factory=dict, compare=False)
    # (value) -> a hint for a value the test refused, e.g. the value made valid; or None
    hint: Callable | None = field(default=None, compare=False)

    def check(self, value) -> str | None:
        return self.test(value)


def is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _need(ok: bool, what: str, value) -> str | None:
    return None if ok else f"expected {what}, got {show(value)}"


# TensorFlow indexes the axes and elements of a tensor with int32 in many kernels: no size, and no
# tensor or weight (per sample), may go past this. tfspec.ir.shapes checks the tensors and weights.
MAX_SIZE = 2**31 - 1


def too_big(v) -> str:
    return f"must be ≤ {MAX_SIZE:,} (2**31 - 1, the largest size TensorFlow can index), got {v:,}"


def int_type(minimum=None, maximum=None, name=None) -> Type:
    def test(v):
        if not is_int(v):
            return _need(False, "an integer", v)
        if minimum is not None and v < minimum:
            return f"must be ≥ {minimum}, got {v}"
        if maximum is not None and v > maximum:
            return too_big(v) if maximum == MAX_SIZE else f"must be ≤ {maximum}, got {v}"
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
        ranged = [e for e in errors if e.startswith("must")]
        if len(ranged) == 1:  # of the right type for one of them, but out of its range
            return ranged[0]
        return f"expected {' or '.join(t.name for t in types)}, got {show(v)}"

    return Type(name or " or ".join(t.name for t in types), test)


def int_tuple(n: int | None = None, minimum=1, name=None) -> Type:
    """An int, or a tuple/list of `n` ints (Keras accepts both for kernel sizes, strides, ...),
    each a size: at most MAX_SIZE."""

    def test(v):
        items = v if isinstance(v, (tuple, list)) else (v,)
        if isinstance(v, (tuple, list)) and n is not None and len(v) != n:
            return f"expected an integer or {n} integers, got {show(v)}"
        for item in items:
            if not is_int(item):
                return f"expected an integer or a tuple of integers, got {show(v)}"
            if minimum is not None and item < minimum:
                return f"values must be ≥ {minimum}, got {show(v)}"
            if item > MAX_SIZE:
                return "values " + too_big(item)
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
POS_INT = int_type(minimum=1, maximum=MAX_SIZE, name="positive int")  # sizes: units, filters, ...
NONNEG_INT = int_type(minimum=0, maximum=MAX_SIZE, name="non-negative int")
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
    "linear",
    "relu",
    "relu6",
    "leaky_relu",
    "elu",
    "selu",
    "gelu",
    "silu",
    "swish",
    "mish",
    "sigmoid",
    "hard_sigmoid",
    "hard_silu",
    "hard_swish",
    "softmax",
    "log_softmax",
    "softplus",
    "softsign",
    "tanh",
    "exponential",
    "celu",
    "hard_shrink",
    "hard_tanh",
    "log_sigmoid",
    "soft_shrink",
    "sparse_plus",
    "sparse_sigmoid",
    "sparsemax",
    "squareplus",
    "tanh_shrink",
)
# Not offered: "glu" halves the last axis at run time while Keras's static shape keeps it (a wrong
# summary), and "threshold" needs arguments that a name cannot carry.
ACTIVATION = one_of(NONE, choice(*ACTIVATIONS, name="activation name"), name="activation")

INITIALIZERS = {
    "Zeros": (),
    "Ones": (),
    "Constant": ("value",),
    "RandomNormal": ("mean", "stddev", "seed"),
    "RandomUniform": ("minval", "maxval", "seed"),
    "TruncatedNormal": ("mean", "stddev", "seed"),
    "GlorotUniform": ("seed",),
    "GlorotNormal": ("seed",),
    "HeUniform": ("seed",),
    "HeNormal": ("seed",),
    "LecunUniform": ("seed",),
    "LecunNormal": ("seed",),
    "Orthogonal": ("gain", "seed"),
    "Identity": ("gain",),
    "VarianceScaling": ("scale", "mode", "distribution", "seed"),
}
INITIALIZER_NAMES = (
    "zeros",
    "ones",
    "glorot_uniform",
    "glorot_normal",
    "he_uniform",
    "he_normal",
    "lecun_uniform",
    "lecun_normal",
    "orthogonal",
    "identity",
    "random_normal",
    "random_uniform",
    "truncated_normal",
    "variance_scaling",
    "uniform",
    "normal",
    "one",
    "zero",
)
REGULARIZERS = {"L1": ("l1",), "L2": ("l2",), "L1L2": ("l1", "l2"), "OrthogonalRegularizer": ("factor", "mode")}
CONSTRAINTS = {
    "MaxNorm": ("max_value", "axis"),
    "MinMaxNorm": ("min_value", "max_value", "rate", "axis"),
    "NonNeg": (),
    "UnitNorm": ("axis",),
}


def _penalty(v):
    """Keras's regularizers take a finite factor ≥ 0 (regularizers.validate_float_arg)."""
    if not is_number(v):
        return _need(False, "a number", v)
    if not math.isfinite(v) or v < 0:
        return f"must be a finite number ≥ 0, got {show(v)}"
    return None


# Seeds become int64 tensors (keras.random.SeedGenerator, the initializers' seeds): a larger one
# fails when the layer is built, with "out-of-range integer".
SEED_INT = int_type(minimum=-(2**63), maximum=2**63 - 1, name="64-bit integer")
PENALTY = Type("factor ≥ 0", _penalty)
# The values that the objects' constructors refuse (Keras 3.15: VarianceScaling.__init__,
# regularizers.validate_float_arg, OrthogonalRegularizer's mode), by (class, argument); and seeds.
OBJECT_ARGS = {
    ("VarianceScaling", "scale"): float_type(above=0, name="scale > 0"),
    ("VarianceScaling", "mode"): choice("fan_in", "fan_out", "fan_avg", name="mode"),
    ("VarianceScaling", "distribution"): choice(
        "uniform", "truncated_normal", "untruncated_normal", "normal", name="distribution"
    ),
    ("L1", "l1"): PENALTY,
    ("L2", "l2"): PENALTY,
    ("L1L2", "l1"): PENALTY,
    ("L1L2", "l2"): PENALTY,
    ("OrthogonalRegularizer", "factor"): PENALTY,
    ("OrthogonalRegularizer", "mode"): choice("rows", "columns", name="mode"),
}


def object_argument(cls: str, key: str, value) -> str | None:
    """What Keras refuses in argument `key` of `cls(...)`, or None (a block parameter is checked once bound)."""
    if contains_ref(value):
        return None
    if key == "seed":
        return None if value is None else SEED_INT.check(value)
    kind = OBJECT_ARGS.get((cls, key))
    return None if kind is None else kind.check(value)


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
                    from ..diagnostics import did_you_mean

                    hint = did_you_mean(key, allowed)
                    return f"{v.name} has no argument {key!r}" + (f"; {hint}" if hint else "")
            for value in list(v.args) + [x for _, x in v.kwargs]:
                if not (value is None or isinstance(value, (int, float, str, tuple, list, Ref))):
                    return f"{v.name}: unexpected argument {show(value)}"
            for key, value in list(zip(allowed, v.args)) + list(v.kwargs):
                err = object_argument(v.name, key, value)
                if err:
                    return f"{v.name}: {key} {err}" if err.startswith("must") else f"{v.name}: {key}: {err}"
            return None
        if isinstance(v, str):
            from ..diagnostics import did_you_mean

            hint = did_you_mean(v, tuple(strings) + tuple(classes))
            return f"unknown {name} {v!r}" + (f"; {hint}" if hint else "")
        return f"expected a {name}, got {show(v)}"

    return Type(name, test)


# Class names work as strings too ("GlorotUniform", "L2"), except Constant, which Keras cannot
# make without its value.
INITIALIZER = object_type(
    "initializer", INITIALIZERS, INITIALIZER_NAMES + tuple(n for n in INITIALIZERS if n != "Constant")
)
REGULARIZER = object_type(
    "regularizer", REGULARIZERS, ("l1", "l2", "l1l2", "orthogonal_regularizer") + tuple(REGULARIZERS)
)
CONSTRAINT = object_type(
    "constraint", CONSTRAINTS, ("max_norm", "non_neg", "unit_norm", "min_max_norm") + tuple(CONSTRAINTS)
)


def not_for(base: Type, refused: dict, weight: str) -> Type:
    """`base` for a weight of a rank some objects cannot take: `refused` maps such an object's
    name (lower case, without `_`) to what it takes; `weight` says what the weight is."""

    def test(v):
        kind = v.name if isinstance(v, Call) else v
        takes = refused.get(kind.replace("_", "").lower()) if isinstance(kind, str) else None
        if takes is not None:
            return f"{show(v)} {takes}, and this weight is {weight}"
        return base.check(v)

    return Type(base.name, test)


# Keras 3.15: Identity fills a matrix only, Orthogonal a tensor of rank 2 or more, and
# OrthogonalRegularizer takes a matrix only (it fails when the losses are gathered, at train
# time). A bias, a normalisation's beta and gamma are vectors; a convolution's or attention's
# kernel has rank 3 or more.
_MATRIX_ONLY = "takes a matrix (rank 2) only"
VECTOR_INITIALIZER = not_for(
    INITIALIZER, {"identity": _MATRIX_ONLY, "orthogonal": "takes a weight of rank 2 or more"}, "a vector"
)
KERNEL_INITIALIZER = not_for(INITIALIZER, {"identity": _MATRIX_ONLY}, "a kernel of rank 3 or more")
VECTOR_REGULARIZER = not_for(REGULARIZER, {"orthogonalregularizer": _MATRIX_ONLY}, "a vector")
KERNEL_REGULARIZER = not_for(REGULARIZER, {"orthogonalregularizer": _MATRIX_ONLY}, "a kernel of rank 3 or more")


# -- layer definitions ------------------------------------------------------------
@dataclass(frozen=True)
class Arg:
    name: str
    type: Type
    default: object = None
    required: bool = False


@dataclass(frozen=True)
class CallArg:
    """An argument of a layer's call (not of its constructor): `LSTM(8)(x, initial_state=[h, c])`.
    `tensors` is how many tensors it takes: 1, or (low, high) for a list; 0 for a plain value
    of `type` (`use_causal_mask=True`)."""

    name: str
    tensors: object = 1
    type: Type | None = None
    doc: str = ""


def steps_mask(kind: str):
    """The rule of a call whose `mask=` covers the input's steps (all axes but the features)."""

    def rule(ins, a, call, out):
        mask = call.get("mask")
        if mask is not None:
            want = tuple(ins[0][:-1])
            if len(mask) != len(want) or any(m is not None and w is not None and m != w for m, w in zip(mask, want)):
                raise ShapeError(
                    f"{kind}: the mask has shape {tuple(mask)}, the input's steps are {want}",
                    "a padding mask has one boolean per step, e.g. `tokens != 0`",
                )
        return []

    return rule


STEPS_MASK = CallArg("mask", 1, doc="a boolean mask of the steps: which ones count")


@dataclass(frozen=True)
class LayerDef:
    name: str  # the spec name, also the class name under keras.layers
    args: tuple  # Arg, in Keras's positional order
    shape: Callable  # (input shapes, bound args) -> output shape; may raise ShapeError
    params: Callable = lambda ins, a, out: (0, 0)  # -> (trainable, non_trainable)
    inputs: tuple = (1, 1)  # (min, max) number of input tensors; max None = any
    training: bool = False  # call() takes a `training` argument
    doc: str = ""
    # (values) -> [(message, hint, argument name or None)]: checks that tie arguments together
    # (e.g. strides > 1 with dilation_rate > 1); run by `bind` once every argument has its type.
    check: Callable | None = None
    # Several inputs are passed as separate positional arguments, `layer(query, value, key)`,
    # not as one list `layer([a, b])` (MultiHeadAttention).
    positional_inputs: bool = False
    # (input shapes, bound args, output shape) -> {what: shape} of the weights and inner tensors
    # (per sample) that can hold more values than the layer's inputs and output: each must stay
    # within MAX_SIZE values (tfspec.ir.shapes). None: nothing bigger than the tensors around it.
    sizes: Callable | None = None
    # The arguments its call takes besides the input tensors (CallArg), and the rule for them:
    # (input shapes, bound args, call arguments, output shape) -> the shapes of the tensors the call
    # yields after the first (an RNN's states, attention scores; [] when it yields one). A call
    # argument arrives as written for a value, as a shape for a tensor, as a list of shapes for
    # several; the rule raises ShapeError for call tensors of the wrong shape.
    call_args: tuple = ()
    call_rule: Callable | None = None
    # The plugin that contributed the entry (tfspec.plugins), or None for a keras.layers class.
    plugin: str | None = None
    # The Python module of a Keras class that keras.layers does not export (the helper layers
    # Keras defines inside keras.src.applications: LayerScale); generated code imports it
    # (tfspec.backends.emitter.class_path). None: keras.layers, or the plugin's module.
    module: str | None = None
    # (input dtypes, bound args) -> the dtype of the output; raises ShapeError (code E504) for an
    # input dtype the layer cannot take. None: numbers in, floats out (tfspec.ir.dtypes).
    dtype: Callable | None = None
    # (bound args) -> whether the layer learns state from the training data before training
    # (Keras's `adapt`): Normalization without mean and variance, a lookup without vocabulary.
    adapts: Callable = lambda a: False
    # (bound args) -> (message, hint) when Keras cannot build the layer in a subclassed model,
    # which it builds by calling it on symbolic inputs (tfspec.backends.legality, E704); or None.
    not_in_subclassing: Callable | None = None
    # (bound args, per-sample input shape) -> the input shape (batch axis first, None for any size)
    # the subclassing style builds the layer with right after making it, or None: Keras builds it
    # on its first call. For a layer whose build() makes tensors rather than weights (Normalization
    # with a given mean and variance): Keras first builds a subclassed model's layers inside the
    # graph that traces its call, and tensors made there cannot be used after
    # (tfspec.backends.subclassing; legality refuses what it cannot build early, E704).
    prebuild: Callable | None = None

    def arg(self, name: str) -> Arg | None:
        return self.by_name.get(name)

    @cached_property
    def by_name(self) -> dict:
        """{argument name: Arg} (the first of a name), made once: `bind` asks for every argument."""
        found: dict = {}
        for a in self.args:
            found.setdefault(a.name, a)
        return found

    @cached_property
    def positional(self) -> tuple:
        """The arguments that may be given by position: all but the BASE_ARGS every layer takes."""
        return tuple(a for a in self.args if a not in BASE_ARGS)

    @property
    def arg_names(self) -> tuple:
        return tuple(a.name for a in self.args)


# A layer's name names TensorFlow ops and scopes (`M/<name>/kernel`), so it follows TensorFlow's
# rule for op names (ops.py `_VALID_OP_NAME_REGEX`, node_def_util.cc `IsValidNodeName`): ASCII
# letters, digits and `_ . - >`, not starting with `_ - >` (the root scope of a subclassed model's
# call() takes no more). Keras 3 refuses `/`, the separator of its weight paths; TensorFlow refuses
# the backslash its Python rule lets through. The saving code (.keras, .weights.h5) addresses
# layers by attribute and class, not by name, so it adds no rule of its own.
LAYER_NAME_RULE = re.compile(r"[A-Za-z0-9.][A-Za-z0-9_.>-]*\Z")


def _layer_name(v):
    if not isinstance(v, str):
        return _need(False, "a string", v)
    if not v:
        return "must not be empty: leave `name` out for Keras's automatic name"
    if not LAYER_NAME_RULE.match(v):
        return (
            "must be ASCII letters, digits and '_.->', starting with a letter, a digit or '.' "
            f"(TensorFlow names its ops after it), got {show(v)}"
        )
    return None


def _layer_name_hint(v) -> str | None:
    if not isinstance(v, str):
        return None
    if not v:
        return "write no name= at all"
    fixed = re.sub(r"[^A-Za-z0-9_.>-]+", "_", v).lstrip("_->")
    return f"e.g. name={show(fixed)}" if fixed else "use ASCII letters and digits"


LAYER_NAME = Type("layer name", _layer_name, {"type": "string"}, _layer_name_hint)

# Keyword arguments every Keras layer accepts.
BASE_ARGS = (
    Arg("name", LAYER_NAME),
    Arg("dtype", DTYPE),
    Arg("trainable", BOOL, True),
)

REGISTRY: dict[str, LayerDef] = {}
ALIASES: dict[str, str] = {}


def layer(
    name: str,
    args=(),
    shape=None,
    params=None,
    inputs=(1, 1),
    training=False,
    aliases=(),
    doc="",
    check=None,
    base_args=BASE_ARGS,
    positional_inputs=False,
    sizes=None,
    call_args=(),
    call_rule=None,
    plugin=None,
    dtype=None,
    adapts=None,
    not_in_subclassing=None,
    module=None,
    prebuild=None,
):
    """Register a layer kind in the catalog.

    `base_args` are the keyword arguments the class takes besides its own (a few Keras classes,
    e.g. SpatialDropout1D, take only name and dtype). `trainable=False` is applied to the
    params rule here: every weight of a frozen layer counts as non-trainable.
    """
    definition = LayerDef(
        name,
        tuple(args) + tuple(base_args),
        shape,
        _frozen_aware(params),
        inputs,
        training,
        doc,
        check,
        positional_inputs,
        sizes,
        tuple(call_args),
        call_rule,
        plugin=plugin,
        dtype=dtype,
        adapts=adapts or (lambda a: False),
        not_in_subclassing=not_in_subclassing,
        module=module,
        prebuild=prebuild,
    )
    REGISTRY[name] = definition
    for alias in aliases:
        ALIASES[alias] = name
    return definition


def _frozen_aware(params):
    rule = params or (lambda ins, a, out: (0, 0))

    def counted(ins, a, out):
        trainable, frozen = rule(ins, a, out)
        if a.get("trainable", True) is False:
            return (0, trainable + frozen)
        return (trainable, frozen)

    counted.rule = rule
    return counted


def lookup(name: str) -> LayerDef | None:
    name = ALIASES.get(name, name)
    return REGISTRY.get(name)


def contains_ref(value) -> bool:
    """Whether a value holds a block parameter or an expression anywhere (then it is checked
    once bound and computed)."""
    if isinstance(value, (Ref, Expr)):
        return True
    if isinstance(value, (list, tuple)):
        return any(contains_ref(v) for v in value)
    if isinstance(value, dict):
        return any(contains_ref(v) for v in value.values())
    if isinstance(value, Call):
        return contains_ref(value.args) or any(contains_ref(v) for _, v in value.kwargs)
    return False


def unsupported(default, reason: str, name=None) -> Type:
    """An argument tfspec cannot model: only its default value is accepted."""

    def test(v):
        if v == default and type(v) is type(default):
            return None
        return f"{show(v)} is not supported: {reason}"

    return Type(name or f"only {show(default)}", test, {"const": default})


def layer_type(kinds=None, single_input=True, name="layer") -> Type:
    """A nested layer call such as `LSTM(64)`, itself bound and checked against its own entry."""

    def test(v):
        if not isinstance(v, Call):
            return f"expected a layer call such as {(kinds or ('Dense',))[0]}(...), got {show(v)}"
        definition = lookup(v.name)
        if definition is None:
            from ..diagnostics import did_you_mean

            hint = did_you_mean(v.name, sorted(kinds or set(REGISTRY) | set(ALIASES)))
            return f"unknown layer {v.name!r}" + (f"; {hint}" if hint else "")
        if kinds and definition.name not in kinds:
            return f"expected one of {', '.join(kinds)}, got {v.name}"
        if single_input and definition.inputs != (1, 1):
            return f"{v.name} takes several inputs and cannot be wrapped"
        bound = bind(definition, v.args, v.kwargs)
        if bound.errors:
            return f"in {v.name}(...): {bound.errors[0].message}"
        return None

    return Type(name, test)


LAYER = layer_type()
RECURRENT_LAYER = layer_type(("SimpleRNN", "LSTM", "GRU"), name="recurrent layer")


def bind_call(call: Call) -> tuple:
    """(LayerDef, values) of a nested layer call that `layer_type` accepted."""
    definition = lookup(call.name)
    return definition, bind(definition, call.args, call.kwargs).values


class BindError(NamedTuple):
    """One argument problem: its diagnostic code, message, hint, and where in the call it is:
    ("args", i) | ("kwargs", name) | None (the call as a whole)."""

    code: str
    message: str
    hint: str | None
    where: tuple | None


@dataclass
class Bound:
    """The result of binding a call's arguments to a LayerDef."""

    values: dict  # every argument, defaults filled in
    given: dict  # only the arguments the spec gave, by name
    errors: list  # BindError


def bind(definition: LayerDef, args, kwargs) -> Bound:
    values = {a.name: a.default for a in definition.args}
    given, errors = {}, []
    positional = definition.positional
    for i, value in enumerate(args):
        if i >= len(positional):
            errors.append(
                BindError(
                    "E406",
                    f"{definition.name} takes at most {len(positional)} positional arguments, got {len(args)}",
                    "pass the rest by keyword",
                    ("args", i),
                )
            )
            break
        given[positional[i].name] = (value, ("args", i))
    for key, value in kwargs:
        if definition.arg(key) is None:
            from ..diagnostics import did_you_mean

            errors.append(
                BindError(
                    "E402",
                    f"{definition.name} has no argument {key!r}",
                    did_you_mean(key, definition.arg_names),
                    ("kwargs", key),
                )
            )
            continue
        if key in given:
            errors.append(
                BindError("E402", f"argument {key!r} of {definition.name} is given twice", None, ("kwargs", key))
            )
            continue
        given[key] = (value, ("kwargs", key))
    for a in definition.args:
        if a.required and a.name not in given:
            errors.append(
                BindError(
                    "E403",
                    f"{definition.name} needs the argument {a.name!r}",
                    f"e.g. {definition.name}({a.name}=...)",
                    None,
                )
            )
    for key, (value, where) in given.items():
        if contains_ref(value):
            continue  # a block parameter: checked when the block is used
        kind = definition.arg(key).type
        err = kind.check(value)
        if err:
            ranged = err.startswith("must")  # a value of the right type out of its range
            errors.append(
                BindError(
                    "E405" if ranged else "E404",
                    f"{definition.name}: {key} {err}" if ranged else f"{definition.name}: {key}: {err}",
                    kind.hint(value) if kind.hint is not None else None,
                    where,
                )
            )
    values.update({k: v for k, (v, _) in given.items()})
    if definition.check is not None and not errors and not any(contains_ref(v) for v, _ in given.values()):
        for message, hint, key in definition.check(values):
            where = given[key][1] if key in given else None
            errors.append(BindError("E405", f"{definition.name}: {message}", hint, where))
    return Bound(values, {k: v for k, (v, _) in given.items()}, errors)
