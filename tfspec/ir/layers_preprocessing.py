"""Catalog entries: structured preprocessing layers (Normalization, Discretization,
CategoryEncoding, Hashing, HashedCrossing). The lookups and TextVectorization are in
layers_lookup (imported at the end). Argument order and defaults follow the Keras 3.15 `__init__`s.

These layers turn raw columns into the numbers a model computes with. Several learn state from
the training data before training (Keras's `adapt`): their entry's `adapts(values)` says when,
for the runtime and `explain`. Their output sizes are known from the arguments alone, or refused
(E505) where Keras would size them from what it learns (layers_lookup).

Where Keras's static output shape disagrees with what the layer computes (multi_hot of scalar
samples: Keras counts the whole batch into one row; of samples of rank 2: it counts the wrong
axis), the rules refuse the input instead of modelling either.
"""

from __future__ import annotations

import math

from .catalog import (
    BASE_ARGS,
    BOOL,
    INT,
    MAX_SIZE,
    NONE,
    NONNEG_INT,
    POS_INT,
    STR,
    Arg,
    ShapeError,
    Type,
    choice,
    float_type,
    int_type,
    is_int,
    is_number,
    layer,
    one_of,
    seq_of,
    unsupported,
)
from .dtypes import INTEGERS, float_dtype, numbers_only, refuse
from .layers_base import fmt, sample_axes
from .values import show

# -- shared by the entries here and in layers_lookup ------------------------------------------------

LEARNT_SIZE = "E505"  # a size Keras learns from the data, needed before the model runs
SPARSE = unsupported(False, "sparse outputs are not modelled; the dense output holds the same values")
NAME_DTYPE = tuple(a for a in BASE_ARGS if a.name in ("name", "dtype"))  # classes without `trainable`


def mode_of(a) -> str:
    """output_mode with Keras's aliases resolved ("binary" is multi_hot, "tf-idf" is tf_idf)."""
    return {"binary": "multi_hot", "tf-idf": "tf_idf"}.get(a["output_mode"], a["output_mode"])


def one_hot_shape(x, depth):
    """Keras's one-hot encoding: a last axis of 1 is replaced by the depth, any other is kept."""
    if x and x[-1] == 1:
        return tuple(x[:-1]) + (depth,)
    return tuple(x) + (depth,)


def counted_shape(kind, x, depth, mode):
    """multi_hot / count / tf_idf: one vector of `depth` per sample of rank 1 (a list of values)."""
    if len(x) == 1:
        return (depth,)
    if not x:
        raise ShapeError(
            f"{kind}(output_mode={show(mode)}) on scalar samples counts the whole batch into one vector "
            "(Keras drops the batch axis)",
            "give each sample one axis, e.g. `input c: string[1]` or `int64[1]`",
        )
    raise ShapeError(
        f"{kind}(output_mode={show(mode)}) takes samples of rank 1 (a list of values each), got shape "
        f"{fmt(x)}: for more axes Keras's static shape and what it computes disagree",
        "Flatten or Reshape the samples to one axis first",
    )


def nested_shape(value):
    """The shape of a number or a rectangular nested list of numbers (as numpy sees it), or None."""
    if not isinstance(value, (list, tuple)):
        return ()
    inner = {nested_shape(v) for v in value}
    if len(inner) > 1 or None in inner:
        return None
    return (len(value),) + (inner.pop() if inner else ())


def flat(value):
    if isinstance(value, (list, tuple)):
        for v in value:
            yield from flat(v)
    else:
        yield value


def _stats(v):
    if v is None:
        return None
    if any(not is_number(x) for x in flat(v)):
        return f"expected a number or a list of numbers, got {show(v)}"
    shape = nested_shape(v)
    if shape is None:
        return f"must be a number or a rectangular list of numbers, got {show(v)}"
    if 0 in shape:
        return "must not be empty"
    return None


STATS = Type("number or list of numbers", _stats)


# -- Normalization ---------------------------------------------------------------------------------


def kept_sizes(x, a) -> list:
    """Sizes of the axes Normalization keeps (one mean per position), in axis order."""
    if a["axis"] is None:
        return []
    axes = a["axis"] if isinstance(a["axis"], (list, tuple)) else (a["axis"],)
    found = sorted(zip(sample_axes(axes, x, "Normalization"), axes))
    for i, axis in found:
        if x[i] is None:
            raise ShapeError(
                f"Normalization needs a known size on axis {axis} (it keeps one mean per position there), "
                f"got shape {fmt(x)}",
                "give that axis a fixed size, or normalise over it with axis=None",
            )
    return [x[i] for i, _ in found]


def normalization_shape(ins, a):
    (x,) = ins
    kept = kept_sizes(x, a)
    stats = nested_shape(a["mean"]) if a["mean"] is not None else ()
    # Keras lines the mean's axes up with the kept axes from the end and broadcasts each.
    for i in range(1, len(stats) + 1):
        if stats[-i] not in (1, kept[-i]):
            raise ShapeError(
                f"Normalization: mean and variance of shape {fmt(stats)} do not fit the sizes {fmt(kept)} "
                f"of the axes it normalises (axis={show(a['axis'])}) of samples {fmt(x)}",
                f"give one value per feature ({kept[-1]} of them) or one for all",
            )
    return x


def normalization_params(ins, a, out):
    if a["mean"] is not None:
        return (0, 0)  # Keras keeps given values as constants, not weights
    return (0, 2 * math.prod(kept_sizes(ins[0], a)) + 1)  # mean, variance, and the count of samples


def normalization_check(a):
    mean, variance = a["mean"], a["variance"]
    if (mean is None) != (variance is None):
        return [
            (
                "mean and variance go together: give both, or neither",
                "leave both out for the runtime to learn them from the training data",
                "mean" if mean is not None else "variance",
            )
        ]
    if mean is None:
        return []
    if nested_shape(mean) != nested_shape(variance):
        return [
            (
                f"mean has shape {fmt(nested_shape(mean))} and variance {fmt(nested_shape(variance))}: "
                "they must have the same shape",
                None,
                "variance",
            )
        ]
    axes = () if a["axis"] is None else a["axis"] if isinstance(a["axis"], (list, tuple)) else (a["axis"],)
    if len(nested_shape(mean)) > len(axes):
        return [
            (
                f"mean and variance have {len(nested_shape(mean))} axes, more than the {len(axes)} "
                f"axes it normalises (axis={show(a['axis'])})",
                "give one value per feature, e.g. mean=[0.5, 1.0, ...]",
                "mean",
            )
        ]
    if any(v < 0 for v in flat(variance)):
        return [("variance must be ≥ 0 (a negative one makes every output NaN)", None, "variance")]
    return []


def normalization_prebuild(a, shape):
    """The shape a subclassed model builds a Normalization with, where it makes it
    (LayerDef.prebuild). Keras 3.15 makes its mean and variance constant tensors in build() (from
    the given ones, or from its mean/variance weights), and left to itself builds the layer inside
    the graph that traces the model's first call: every later call then fails, until adapt() or
    loading weights makes them again. Only the rank and the sizes of the kept axes matter to
    build(), so the other axes are None (any size): a block applied at two image sizes builds it
    the same way."""
    full = (None, *shape)
    axis = a["axis"]
    kept = {d % len(full) for d in (() if axis is None else (axis,) if isinstance(axis, int) else axis)}
    return tuple(full[d] if d in kept else None for d in range(len(full)))


def normalization_dtype(ins, a):
    numbers_only("Normalization", ins)
    return float_dtype(a)


layer(
    "Normalization",
    args=(
        Arg("axis", one_of(NONE, INT, seq_of(INT), name="axis, tuple of axes or None"), -1),
        Arg("mean", one_of(NONE, STATS, name="number or list of numbers")),
        Arg("variance", one_of(NONE, STATS, name="number or list of numbers")),
        Arg("invert", BOOL, False),
    ),
    shape=normalization_shape,
    params=normalization_params,
    check=normalization_check,
    dtype=normalization_dtype,
    adapts=lambda a: a["mean"] is None,
    prebuild=normalization_prebuild,
    doc="(x - mean) / sqrt(variance) per feature. Without mean and variance it learns them from the "
    "training data before training (held as non-trainable weights).",
)


# -- Discretization --------------------------------------------------------------------------------

NUMBERS = seq_of(Type("number", lambda v: None if is_number(v) else f"expected numbers, got {show(v)}"))
ENCODE_MODE = choice("int", "one_hot", "multi_hot", "count", name="output mode")


def discretization_check(a):
    boundaries, bins = a["bin_boundaries"], a["num_bins"]
    if (boundaries is None) == (bins is None):
        return [
            (
                "give bin_boundaries or num_bins" + (", not both" if bins is not None else ""),
                "bin_boundaries=[...] fixes the bins; num_bins=N learns N - 1 boundaries from the training data",
                "num_bins" if bins is not None else None,
            )
        ]
    if boundaries is not None and any(b > c for b, c in zip(boundaries, boundaries[1:])):
        return [("bin_boundaries must be in increasing order", f"e.g. {show(sorted(boundaries))}", "bin_boundaries")]
    return []


def discretization_shape(ins, a):
    (x,) = ins
    mode = a["output_mode"]
    depth = len(a["bin_boundaries"]) + 1 if a["bin_boundaries"] is not None else a["num_bins"]
    if mode == "int":
        return x
    if mode == "one_hot":
        return one_hot_shape(x, depth)
    if not x:  # Keras counts over the first sample axis (for rank 1: the whole sample)
        counted_shape("Discretization", x, depth, mode)
    return tuple(x[1:]) + (depth,)


def discretization_dtype(ins, a):
    numbers_only("Discretization", ins)
    return "int32" if a["output_mode"] == "int" else float_dtype(a)


layer(
    "Discretization",
    args=(
        Arg("bin_boundaries", one_of(NONE, NUMBERS, name="list of numbers")),
        Arg("num_bins", one_of(NONE, NONNEG_INT)),
        Arg("epsilon", float_type(above=0, name="epsilon > 0"), 0.01),
        Arg("output_mode", ENCODE_MODE, "int"),
        Arg("sparse", SPARSE, False),
    ),
    shape=discretization_shape,
    check=discretization_check,
    dtype=discretization_dtype,
    adapts=lambda a: a["bin_boundaries"] is None,
    not_in_subclassing=lambda a: (
        None
        if a["bin_boundaries"] is not None
        else (
            "Keras cannot build a Discretization that learns its bins in a subclassed model: "
            "building the model runs it, and it refuses to run before it has learnt them",
            "use --style functional, or give bin_boundaries=[...]",
        )
    ),
    base_args=NAME_DTYPE,
    doc="the index of the bin each value falls in (int32), or its one-hot / multi-hot / count encoding. "
    "With num_bins instead of bin_boundaries it learns the boundaries (quantiles) from the training data.",
)


# -- CategoryEncoding ------------------------------------------------------------------------------


def category_check(a):
    if a["num_tokens"] is None:
        return [
            (
                "CategoryEncoding needs num_tokens: how many integer values (0 to num_tokens - 1) there are",
                "e.g. num_tokens=10; for values not known beforehand use IntegerLookup",
                None,
            )
        ]
    return []


def category_shape(ins, a):
    (x,) = ins
    mode = mode_of(a)
    if mode == "one_hot":
        return one_hot_shape(x, a["num_tokens"])
    return counted_shape("CategoryEncoding", x, a["num_tokens"], mode)


def category_dtype(ins, a):
    numbers_only("CategoryEncoding", ins)
    return float_dtype(a)


layer(
    "CategoryEncoding",
    args=(
        Arg("num_tokens", one_of(NONE, POS_INT, name="positive int")),
        Arg("output_mode", choice("multi_hot", "one_hot", "count", "binary", name="output mode"), "multi_hot"),
        Arg("sparse", SPARSE, False),
    ),
    shape=category_shape,
    check=category_check,
    dtype=category_dtype,
    doc="one-hot, multi-hot or count encoding of integer values in [0, num_tokens)",
)


# -- Hashing and HashedCrossing ---------------------------------------------------------------------


def _salt(v):
    if v is None:
        return None
    values = v if isinstance(v, (list, tuple)) else (v,)
    if (isinstance(v, (list, tuple)) and len(v) != 2) or not all(is_int(s) for s in values):
        return f"expected None, an integer or a pair of integers, got {show(v)}"
    if any(not 0 <= s < 2**64 for s in values):
        return f"must be from 0 to 2**64 - 1, got {show(v)}"
    return None


SALT = Type("salt (an integer or a pair)", _salt)  # the key of Keras's strong (SipHash) hashing


def hashing_check(a):
    if a["output_mode"] == "int" and a["dtype"] not in (None, "int32", "int64"):
        return [
            (
                f"output_mode='int' yields bin indices: dtype must be 'int32' or 'int64', got {show(a['dtype'])}",
                None,
                "dtype",
            )
        ]
    return []


def hashing_shape(ins, a):
    (x,) = ins
    mode, bins = a["output_mode"], a["num_bins"]
    if mode == "int":
        return x
    if mode == "one_hot":
        if not x or x[-1] != 1:
            raise ShapeError(
                f"Hashing(output_mode='one_hot') takes samples whose last axis is 1, got shape {fmt(x)}: "
                "for others Keras's static shape and what it computes disagree",
                "give one value per sample a last axis of 1 (`input c: string[1]`), or hash to "
                "output_mode='int' and one-hot encode with CategoryEncoding",
            )
        return tuple(x[:-1]) + (bins,)
    return counted_shape("Hashing", x, bins, mode)


def hashing_dtype(ins, a):
    if a["dtype"] is not None:
        return a["dtype"]
    return "int64" if a["output_mode"] == "int" else "float32"


layer(
    "Hashing",
    args=(
        Arg("num_bins", POS_INT, required=True),
        Arg("mask_value", one_of(NONE, STR, INT, name="string, integer or None")),
        Arg("salt", SALT),
        Arg("output_mode", ENCODE_MODE, "int"),
        Arg("sparse", SPARSE, False),
    ),
    shape=hashing_shape,
    check=hashing_check,
    dtype=hashing_dtype,
    doc="hashes strings or numbers into num_bins bins (int64 bin indices, or their one-hot / multi-hot / count "
    "encoding); nothing to learn",
)


def crossing_check(a):
    if a["output_mode"] == "one_hot" and a["num_bins"] < 1:
        return [("output_mode='one_hot' needs num_bins ≥ 1", None, "num_bins")]
    return []


def crossing_shape(ins, a):
    first, second = ins
    if first != second or first not in ((), (1,)):
        raise ShapeError(
            f"HashedCrossing crosses one value per sample of each input: it takes two inputs of shape () or "
            f"(1,), the same for both, got {fmt(first)} and {fmt(second)}",
            "cross two categorical columns, e.g. `input a: string[1]` and `input b: int64[1]`",
        )
    return first if a["output_mode"] == "int" else (a["num_bins"],)


def crossing_dtype(ins, a):
    for i, dtype in enumerate(ins):
        if dtype != "string" and dtype not in INTEGERS:
            raise refuse(
                "HashedCrossing",
                ins,
                i,
                "strings or integers",
                "cast a float column to integers, or bucket it with Discretization first",
            )
    if a["dtype"] is not None:
        return a["dtype"]
    return "int64" if a["output_mode"] == "int" else "float32"


layer(
    "HashedCrossing",
    args=(
        Arg("num_bins", int_type(minimum=0, maximum=MAX_SIZE, name="non-negative int"), required=True),
        Arg("output_mode", choice("int", "one_hot", name="output mode"), "int"),
        Arg("sparse", SPARSE, False),
    ),
    shape=crossing_shape,
    inputs=(2, 2),
    check=crossing_check,
    dtype=crossing_dtype,
    base_args=NAME_DTYPE,
    doc="hashes the pair of values of two categorical inputs into num_bins bins (a feature cross); "
    "num_bins=0 keeps the raw 64-bit hash",
)


from . import layers_lookup  # noqa: E402,F401  (registers the lookups and TextVectorization)
