"""Shared helpers of the layer catalog: shape arithmetic, messages, common argument groups.

Shapes are per-sample tuples (batch axis excluded) of ints or None. Keras numbers axes *with*
the batch axis (axis 1 is the first sample axis); `sample_axis` converts.
"""

from __future__ import annotations

from .catalog import (
    CONSTRAINT,
    INITIALIZER,
    INT,
    KERNEL_INITIALIZER,
    KERNEL_REGULARIZER,
    MAX_SIZE,
    NONE,
    POS_INT,
    REGULARIZER,
    SEED_INT,
    VECTOR_INITIALIZER,
    VECTOR_REGULARIZER,
    Arg,
    ShapeError,
    Type,
    float_type,
    int_tuple,
    one_of,
    seq_of,
)
from .values import show

# -- messages ------------------------------------------------------------------------


def fmt(shape) -> str:
    inner = ", ".join("None" if d is None else str(d) for d in shape)
    return f"({inner},)" if len(shape) == 1 else f"({inner})"


def rank_hint(kind, rank, shape):
    if len(shape) == rank - 1:
        axis = "features" if kind in ("SimpleRNN", "LSTM", "GRU") else "channels"
        dims = ", ".join("None" if d is None else str(d) for d in shape)
        return f"add a {axis} axis: Reshape [{dims}] to [{dims}{', ' if dims else ''}1]"
    if len(shape) > rank:
        return "Flatten or Reshape the tensor first"
    return None


def need_rank(shape, rank, kind, what=None):
    if len(shape) != rank:
        raise ShapeError(
            f"{kind} expects {what or f'samples of rank {rank}'}, got shape {fmt(shape)} (rank {len(shape)})",
            rank_hint(kind, rank, shape),
        )


def need_min_rank(shape, rank, kind, what=None):
    if len(shape) < rank:
        raise ShapeError(
            f"{kind} expects {what or f'samples of rank {rank} or more'}, got shape {fmt(shape)} (rank {len(shape)})",
            rank_hint(kind, rank, shape),
        )


def last_dim(shape, kind):
    if not shape:
        raise ShapeError(f"{kind} needs at least one axis, got a scalar per sample", "Reshape the input to [1] first")
    if shape[-1] is None:
        raise ShapeError(
            f"{kind} needs a known size on the last axis, got shape {fmt(shape)}",
            "Flatten of variable-size samples has an unknown size: pool them instead (e.g. GlobalAveragePooling2D)"
            if len(shape) == 1
            else "give the input a fixed size on its last axis",
        )
    return shape[-1]


def spatial_what(rank):
    names = {1: "(steps, channels)", 2: "(height, width, channels)", 3: "(depth, height, width, channels)"}
    return f"samples of rank {rank + 1} {names[rank]}"


# -- arithmetic --------------------------------------------------------------------------


def tuple_of(value, n):
    if isinstance(value, (tuple, list)):
        return tuple(value)
    return (value,) * n


def conv_length(n, kernel, stride, padding, dilation=1):
    """Keras's compute_conv_output_shape / compute_pooling_output_shape for one axis."""
    if n is None:
        return None
    if padding in ("same", "causal"):
        return (n - 1) // stride + 1
    span = (kernel - 1) * dilation + 1
    return (n - span) // stride + 1


def channels_first(a) -> bool:
    return a.get("data_format") == "channels_first"


def spatial(shape, first):
    return (shape[1:], shape[0]) if first else (shape[:-1], shape[-1])


def put_spatial(dims, channels, first):
    return (channels,) + tuple(dims) if first else tuple(dims) + (channels,)


def known_channels(shape, first, kind):
    channels = spatial(shape, first)[1]
    if channels is None:
        raise ShapeError(
            f"{kind} needs a known channels axis ({'first' if first else 'last'}), got {fmt(shape)}",
            "give the input a fixed number of channels",
        )
    return channels


def bias_count(a, units):
    return units if a.get("use_bias", True) else 0


def sample_axis(axis, shape, kind, what="axis"):
    """A Keras axis (batch = 0, negative from the end) -> 0-based index into the per-sample shape."""
    rank = len(shape) + 1
    pos = axis if axis >= 0 else rank + axis
    if pos == 0:
        raise ShapeError(
            f"{kind}: {what} {axis} is the batch axis of samples of shape {fmt(shape)}",
            "sample axes are numbered from 1 (or from -1 at the end)",
        )
    if pos < 0 or pos >= rank:
        raise ShapeError(
            f"{kind}: {what} {axis} is out of range for samples of shape {fmt(shape)} "
            f"(axes 1..{rank - 1} or -1..-{rank - 1})"
        )
    return pos - 1


def axes_of(value):
    return tuple(value) if isinstance(value, (list, tuple)) else (value,)


def sample_axes(axes, shape, kind):
    """Several Keras axes -> distinct per-sample indices (-1 and 2 are the same axis of a rank-2 sample)."""
    out = [sample_axis(ax, shape, kind) for ax in axes]
    if len(set(out)) != len(out):
        raise ShapeError(f"{kind}: axes {show(tuple(axes))} name the same axis twice for samples of shape {fmt(shape)}")
    return out


def known_sizes(shape, axes, kind):
    """Sizes of `shape` on Keras `axes`, which must be known (they size a weight)."""
    sizes = []
    for ax, i in zip(axes, sample_axes(axes, shape, kind), strict=True):
        if shape[i] is None:
            raise ShapeError(
                f"{kind} needs a known size on axis {ax}, got shape {fmt(shape)}", "give that axis a fixed size"
            )
        sizes.append(shape[i])
    return sizes


def same_shape(ins, a):
    return ins[0]


def no_batch_axis(*names):
    """A `check`: the named axis arguments must not be 0 (the batch axis)."""

    def check(a):
        out = []
        for name in names:
            if a[name] is not None and 0 in axes_of(a[name]):
                out.append(
                    (f"{name}=0 is the batch axis", "sample axes are numbered from 1 (or from -1 at the end)", name)
                )
        return out

    return check


def all_checks(*checks):
    checks = [c for c in checks if c is not None]

    def check(a):
        return [item for c in checks for item in c(a)]

    return check


def one_dilation_or_stride(a):
    """Keras's Conv and ConvTranspose refuse strides > 1 together with dilation_rate > 1."""
    if max(axes_of(a["strides"])) > 1 and max(axes_of(a["dilation_rate"])) > 1:
        return [
            (
                f"strides={show(a['strides'])} with dilation_rate={show(a['dilation_rate'])}: "
                "Keras does not support strides > 1 together with dilation_rate > 1",
                "use strides or dilation_rate, not both",
                "dilation_rate",
            )
        ]
    return []


# -- argument types and groups -----------------------------------------------------------

SEED = Type("seed (None or a 64-bit integer)", lambda v: None if v is None else SEED_INT.check(v))
AXES = one_of(INT, seq_of(INT), name="axis or tuple of axes")
UNIT_RATE = float_type(minimum=0, maximum=1, name="rate in [0, 1]")
NOISE_SHAPE = one_of(NONE, seq_of(one_of(NONE, POS_INT)), name="noise shape")
LORA_RANK = one_of(NONE, POS_INT, name="LoRA rank")


def _size_or_minus_one(v):
    if v == -1 and not isinstance(v, bool):
        return None
    err = POS_INT.check(v)
    return f"must be -1 or from 1 to {MAX_SIZE:,}, got {v}" if err and err.startswith("must") else err


# A size, or -1 for "whatever is left" (Reshape's target_shape, GroupNormalization's groups).
SIZE_OR_MINUS_ONE = Type("positive int or -1", _size_or_minus_one)
LORA_ALPHA = one_of(NONE, float_type(above=0), name="LoRA alpha")


def weight_args(kernel="kernel", matrix=True):
    """The initializer/regularizer/constraint arguments, in Dense/Conv order (`matrix`: the
    kernel has rank 2; a convolution's or attention's has more)."""
    return (
        Arg(f"{kernel}_initializer", INITIALIZER if matrix else KERNEL_INITIALIZER, "glorot_uniform"),
        Arg("bias_initializer", VECTOR_INITIALIZER, "zeros"),
        Arg(f"{kernel}_regularizer", REGULARIZER if matrix else KERNEL_REGULARIZER),
        Arg("bias_regularizer", VECTOR_REGULARIZER),
        Arg("activity_regularizer", REGULARIZER),
        Arg(f"{kernel}_constraint", CONSTRAINT),
        Arg("bias_constraint", CONSTRAINT),
    )


def norm_weight_args():
    """beta/gamma initializers, regularizers, constraints (the normalisation layers' order)."""
    return (
        Arg("beta_initializer", VECTOR_INITIALIZER, "zeros"),
        Arg("gamma_initializer", VECTOR_INITIALIZER, "ones"),
        Arg("beta_regularizer", VECTOR_REGULARIZER),
        Arg("gamma_regularizer", VECTOR_REGULARIZER),
        Arg("beta_constraint", CONSTRAINT),
        Arg("gamma_constraint", CONSTRAINT),
    )


def pad_type(rank, name) -> Type:
    """Keras padding/cropping values: an int, or one entry per spatial axis (an int or a (lo, hi) pair).
    For rank 1 the value is an int or one (lo, hi) pair."""
    pair = int_tuple(2, minimum=0)
    if rank == 1:
        return one_of(int_tuple(2, minimum=0), name=f"{name} (an int or a (left, right) pair)")

    def test(v):
        if isinstance(v, (tuple, list)):
            if len(v) != rank:
                return f"expected an integer or {rank} entries (one per spatial axis), got {show(v)}"
            for item in v:
                err = pair.check(item)
                if err:
                    return f"each entry is an integer or a (before, after) pair of integers ≥ 0, got {show(v)}"
            return None
        return int_tuple(None, minimum=0).check(v)

    return Type(f"{name} (an int or {rank} entries)", test)


def pad_pairs(value, rank):
    """A padding/cropping value -> ((lo, hi), ...) per spatial axis."""
    if isinstance(value, int):
        return ((value, value),) * rank
    if rank == 1:
        return (tuple(value),)
    return tuple(tuple(item) if isinstance(item, (tuple, list)) else (item, item) for item in value)
