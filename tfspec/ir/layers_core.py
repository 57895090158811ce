"""Catalog entries: core layers, activations, regularisation (dropout/noise), reshaping,
embedding and normalisation. Argument order and defaults follow the Keras 3 `__init__`s."""

from __future__ import annotations

import math

from .catalog import (
    ACTIVATION,
    BASE_ARGS,
    BOOL,
    CONSTRAINT,
    DATA_FORMAT,
    FLOAT,
    INITIALIZER,
    INT,
    NONE,
    POS_INT,
    RATE,
    REGULARIZER,
    VECTOR_INITIALIZER,
    VECTOR_REGULARIZER,
    Arg,
    ShapeError,
    Type,
    float_type,
    is_number,
    layer,
    one_of,
    seq_of,
    unsupported,
)
from .dtypes import keep_dtype
from .layers_base import (
    AXES,
    LORA_ALPHA,
    LORA_RANK,
    NOISE_SHAPE,
    SEED,
    SIZE_OR_MINUS_ONE,
    UNIT_RATE,
    all_checks,
    axes_of,
    bias_count,
    fmt,
    known_sizes,
    last_dim,
    need_rank,
    no_batch_axis,
    norm_weight_args,
    same_shape,
    sample_axes,
    weight_args,
)
from .values import show

# -- core ----------------------------------------------------------------------------------


def dense_shape(ins, a):
    (x,) = ins
    last_dim(x, "Dense")
    return x[:-1] + (a["units"],)


def lora_params(n_in, n_out, a, bias=0):
    """Weights of a (n_in x n_out) kernel, with LoRA the kernel is frozen and two factors train."""
    rank = a.get("lora_rank")
    if rank:
        return (n_in * rank + rank * n_out + bias, n_in * n_out)
    return (n_in * n_out + bias, 0)


def kernel_sizes(n_in, n_out, a, name="kernel") -> dict:
    """A (n_in x n_out) weight, and with LoRA its two factors."""
    rank = a.get("lora_rank")
    sizes = {name: (n_in, n_out)}
    if rank:
        sizes.update({"LoRA factor a": (n_in, rank), "LoRA factor b": (rank, n_out)})
    return sizes


def lora_check(constraint):
    def check(a):
        if a["lora_rank"] and a[constraint] is not None:
            return [
                (
                    f"lora_rank cannot be combined with {constraint} (Keras refuses it)",
                    f"remove {constraint} or lora_rank",
                    "lora_rank",
                )
            ]
        return []

    return check


layer(
    "Dense",
    args=(
        Arg("units", POS_INT, required=True),
        Arg("activation", ACTIVATION),
        Arg("use_bias", BOOL, True),
        *weight_args(),
        Arg("lora_rank", LORA_RANK),
        Arg("lora_alpha", LORA_ALPHA),
    ),
    shape=dense_shape,
    params=lambda ins, a, out: lora_params(ins[0][-1], a["units"], a, bias_count(a, a["units"])),
    sizes=lambda ins, a, out: kernel_sizes(ins[0][-1], a["units"], a),
    check=lora_check("kernel_constraint"),  # training=False: Dense.call takes `training` but ignores it
    doc="fully connected layer on the last axis",
)


def flatten_shape(ins, a):
    (x,) = ins
    if not x:
        return (1,)
    if any(d is None for d in x):
        return (None,)  # Keras keeps going with an unknown size; a following Dense will refuse it
    return (math.prod(x),)


# These move values without computing: any dtype passes, strings too (tfspec.ir.dtypes).
layer("Flatten", args=(Arg("data_format", DATA_FORMAT),), shape=flatten_shape, dtype=keep_dtype)
layer("Identity", shape=same_shape, dtype=keep_dtype)
layer("Masking", args=(Arg("mask_value", FLOAT, 0.0),), shape=same_shape)


def _per_channel(v):
    if is_number(v):
        return None
    if isinstance(v, (list, tuple)) and v and all(is_number(x) for x in v):
        return None
    return f"expected a number or a non-empty list of numbers (one per channel), got {show(v)}"


PER_CHANNEL = Type("number or list of numbers", _per_channel)


def rescaling_shape(ins, a):
    """Keras multiplies and adds by broadcasting against the batch: a list must match the last
    axis. A list on a last axis of 1 would broadcast it up, past Keras's own static shape."""
    (x,) = ins
    lengths = {key: len(a[key]) for key in ("scale", "offset") if isinstance(a[key], (list, tuple)) and len(a[key]) > 1}
    for key, n in lengths.items():
        if not x:
            raise ShapeError(
                f"Rescaling: {key} has {n} values (one per channel), the samples are scalars",
                f"give {key} one number",
            )
        if x[-1] is not None and x[-1] != n:
            raise ShapeError(
                f"Rescaling: {key} has {n} values, the samples {fmt(x)} have {x[-1]} on their last (channels) axis",
                f"give {key} one value per channel ({x[-1]}) or one number",
            )
    if len(set(lengths.values())) > 1:
        raise ShapeError(
            f"Rescaling: scale has {lengths['scale']} values and offset {lengths['offset']}: "
            "they cannot both match the channels",
            "give both one value per channel, or one of them a single number",
        )
    return x


layer(
    "Rescaling",
    args=(Arg("scale", PER_CHANNEL, required=True), Arg("offset", PER_CHANNEL, 0.0)),
    shape=rescaling_shape,
    doc="x * scale + offset; scale and offset are numbers or lists with one value per channel (the last axis)",
)


# -- regularisation ---------------------------------------------------------------------------


def noise_shape_rule(kind):
    def rule(ins, a):
        (x,) = ins
        noise = a.get("noise_shape")
        if noise is None:
            return x
        if len(noise) != len(x) + 1:
            raise ShapeError(
                f"{kind}: noise_shape {show(noise)} needs {len(x) + 1} entries for samples of shape "
                f"{fmt(x)}: the batch axis first, then one per sample axis",
                f"e.g. noise_shape={show((None,) + tuple(1 for _ in x[:-1]) + x[-1:])}",
            )
        for n, d in zip(noise[1:], x, strict=True):
            if n is not None and n != 1 and d is not None and n != d:
                raise ShapeError(
                    f"{kind}: noise_shape {show(noise)} does not broadcast to samples of shape {fmt(x)}",
                    "each entry is None, 1 or the size of that axis",
                )
        return x

    return rule


layer(
    "Dropout",
    args=(Arg("rate", RATE, required=True), Arg("noise_shape", NOISE_SHAPE), Arg("seed", SEED)),
    shape=noise_shape_rule("Dropout"),
    training=True,
)
layer(
    "AlphaDropout",
    args=(Arg("rate", RATE, required=True), Arg("noise_shape", NOISE_SHAPE), Arg("seed", SEED)),
    shape=noise_shape_rule("AlphaDropout"),
    training=True,
)
layer("GaussianDropout", args=(Arg("rate", RATE, required=True), Arg("seed", SEED)), shape=same_shape, training=True)
layer(
    "GaussianNoise", args=(Arg("stddev", UNIT_RATE, required=True), Arg("seed", SEED)), shape=same_shape, training=True
)


def spatial_dropout_rule(rank):
    kind = f"SpatialDropout{rank}D"

    def rule(ins, a):
        need_rank(ins[0], rank + 1, kind, f"samples of rank {rank + 1} (spatial axes + channels)")
        return ins[0]

    return rule


# SpatialDropout takes only name and dtype besides its own arguments (no **kwargs, no `trainable`).
_NAME_DTYPE = tuple(a for a in BASE_ARGS if a.name in ("name", "dtype"))
layer(
    "SpatialDropout1D",
    args=(Arg("rate", RATE, required=True), Arg("seed", SEED)),
    shape=spatial_dropout_rule(1),
    training=True,
    base_args=_NAME_DTYPE,
)
for _rank in (2, 3):
    layer(
        f"SpatialDropout{_rank}D",
        args=(Arg("rate", RATE, required=True), Arg("data_format", DATA_FORMAT), Arg("seed", SEED)),
        shape=spatial_dropout_rule(_rank),
        training=True,
        base_args=_NAME_DTYPE,
    )


# -- activations ------------------------------------------------------------------------------

NONNEG = float_type(minimum=0, name="number ≥ 0")
layer("Activation", args=(Arg("activation", ACTIVATION, required=True),), shape=same_shape)
layer(
    "ReLU",
    args=(Arg("max_value", one_of(NONE, NONNEG)), Arg("negative_slope", NONNEG, 0.0), Arg("threshold", NONNEG, 0.0)),
    shape=same_shape,
)
layer("LeakyReLU", args=(Arg("negative_slope", NONNEG, 0.3),), shape=same_shape)
layer("ELU", args=(Arg("alpha", FLOAT, 1.0),), shape=same_shape)


def softmax_shape(ins, a):
    sample_axes(axes_of(a["axis"]), ins[0], "Softmax")
    return ins[0]


layer("Softmax", args=(Arg("axis", AXES, -1),), shape=softmax_shape, check=no_batch_axis("axis"))


def prelu_alpha_shape(x, a):
    shared = axes_of(a["shared_axes"]) if a["shared_axes"] is not None else ()
    for ax in shared:
        if ax > len(x):
            raise ShapeError(
                f"PReLU: shared axis {ax} is out of range for samples of shape {fmt(x)}",
                f"axes are numbered 1..{len(x)}",
            )
    dims = [1 if i + 1 in shared else d for i, d in enumerate(x)]
    if any(d is None for d in dims):
        raise ShapeError(
            f"PReLU needs known sizes on the axes it does not share, got shape {fmt(x)}",
            "share the variable axes, e.g. shared_axes=(1,) for sequences of variable length",
        )
    return dims


def prelu_shape(ins, a):
    prelu_alpha_shape(ins[0], a)
    return ins[0]


layer(
    "PReLU",
    args=(
        Arg("alpha_initializer", INITIALIZER, "Zeros"),
        Arg("alpha_regularizer", REGULARIZER),
        Arg("alpha_constraint", CONSTRAINT),
        Arg("shared_axes", one_of(NONE, POS_INT, seq_of(POS_INT))),
    ),
    shape=prelu_shape,
    params=lambda ins, a, out: (math.prod(prelu_alpha_shape(ins[0], a)), 0),
)


# -- reshaping --------------------------------------------------------------------------------


def reshape_shape(ins, a):
    """Keras's compute_reshape_output_shape on the per-sample shape."""
    (x,) = ins
    target = tuple(a["target_shape"])
    if None in x:
        return tuple(None if d == -1 else d for d in target)
    total = math.prod(x)
    if -1 in target:
        fixed = math.prod(d for d in target if d != -1)
        if total % fixed:
            raise ShapeError(
                f"Reshape cannot fit {fmt(x)} ({total} values) into {fmt(target)}: {total} is not a multiple of {fixed}"
            )
        return tuple(total // fixed if d == -1 else d for d in target)
    if math.prod(target) != total:
        raise ShapeError(
            f"Reshape cannot turn {fmt(x)} ({total} values) into {fmt(target)} ({math.prod(target)} values)",
            "the number of values per sample must stay the same",
        )
    return target


def reshape_check(a):
    if list(a["target_shape"]).count(-1) > 1:
        return [("target_shape may hold at most one -1", None, "target_shape")]
    return []


layer(
    "Reshape",
    args=(Arg("target_shape", seq_of(SIZE_OR_MINUS_ONE), required=True),),
    shape=reshape_shape,
    dtype=keep_dtype,
    check=reshape_check,
)


def permute_check(a):
    dims = list(a["dims"])
    if sorted(dims) != list(range(1, len(dims) + 1)):
        return [
            (
                f"dims {show(a['dims'])} must be a permutation of 1..{len(dims)}",
                "axes are numbered from 1 (the batch axis is not counted)",
                "dims",
            )
        ]
    return []


def permute_shape(ins, a):
    (x,) = ins
    dims = tuple(a["dims"])
    need_rank(x, len(dims), "Permute", f"samples of rank {len(dims)} (dims={show(dims)})")
    return tuple(x[d - 1] for d in dims)


layer(
    "Permute",
    args=(Arg("dims", seq_of(POS_INT), required=True),),
    shape=permute_shape,
    check=permute_check,
    dtype=keep_dtype,
)


def repeat_vector_shape(ins, a):
    (x,) = ins
    need_rank(x, 1, "RepeatVector", "vectors (rank-1 samples)")
    return (a["n"],) + x


layer("RepeatVector", args=(Arg("n", POS_INT, required=True),), shape=repeat_vector_shape, dtype=keep_dtype)


# -- embedding ----------------------------------------------------------------------------------

layer(
    "Embedding",
    args=(
        Arg("input_dim", POS_INT, required=True),
        Arg("output_dim", POS_INT, required=True),
        Arg("embeddings_initializer", INITIALIZER, "uniform"),
        Arg("embeddings_regularizer", REGULARIZER),
        Arg("embeddings_constraint", CONSTRAINT),
        Arg("mask_zero", BOOL, False),
        Arg("weights", unsupported(None, "initial weights cannot be written in a spec; use embeddings_initializer")),
        Arg("lora_rank", LORA_RANK),
        Arg("lora_alpha", LORA_ALPHA),
    ),
    shape=lambda ins, a: ins[0] + (a["output_dim"],),
    params=lambda ins, a, out: lora_params(a["input_dim"], a["output_dim"], a),
    sizes=lambda ins, a, out: kernel_sizes(a["input_dim"], a["output_dim"], a, "embeddings"),
    check=lora_check("embeddings_constraint"),
)


# -- normalisation --------------------------------------------------------------------------------


def centred_scaled(a):
    return int(bool(a["center"])) + int(bool(a["scale"]))


def norm_shape(kind):
    def rule(ins, a):
        known_sizes(ins[0], axes_of(a["axis"]), kind)
        return ins[0]

    return rule


def batchnorm_params(ins, a, out):
    (n,) = known_sizes(ins[0], (a["axis"],), "BatchNormalization")
    return (n * centred_scaled(a), n * (5 if a["renorm"] else 2))


def renorm_clipping_test(v):
    if v is None:
        return None
    if not isinstance(v, dict) or set(v) - {"rmax", "rmin", "dmax"}:
        return f"expected None or a dict with keys rmax, rmin, dmax; got {show(v)}"
    for key, value in v.items():
        if not (isinstance(value, (int, float)) and not isinstance(value, bool)):
            return f"{key} must be a number, got {show(value)}"
    if v.get("rmax") is not None and v.get("rmin") is not None and v["rmax"] < v["rmin"]:
        return f"rmax must be ≥ rmin, got {show(v)}"
    if v.get("dmax", 0) < 0:
        return f"dmax must be ≥ 0, got {show(v)}"
    return None


MOMENTUM = float_type(minimum=0, maximum=1, name="momentum in [0, 1]")
EPSILON = float_type(above=0, name="epsilon > 0")
layer(
    "BatchNormalization",
    args=(
        Arg("axis", INT, -1),
        Arg("momentum", MOMENTUM, 0.99),
        Arg("epsilon", EPSILON, 1e-3),
        Arg("center", BOOL, True),
        Arg("scale", BOOL, True),
        Arg("beta_initializer", VECTOR_INITIALIZER, "zeros"),
        Arg("gamma_initializer", VECTOR_INITIALIZER, "ones"),
        Arg("moving_mean_initializer", VECTOR_INITIALIZER, "zeros"),
        Arg("moving_variance_initializer", VECTOR_INITIALIZER, "ones"),
        Arg("beta_regularizer", VECTOR_REGULARIZER),
        Arg("gamma_regularizer", VECTOR_REGULARIZER),
        Arg("beta_constraint", CONSTRAINT),
        Arg("gamma_constraint", CONSTRAINT),
        Arg("renorm", BOOL, False),
        Arg("renorm_clipping", Type("renorm clipping", renorm_clipping_test)),
        Arg("renorm_momentum", MOMENTUM, 0.99),
        Arg("synchronized", BOOL, False),
    ),
    shape=norm_shape("BatchNormalization"),
    params=batchnorm_params,
    training=True,
    check=no_batch_axis("axis"),
)


def distinct_axes(a):
    axes = axes_of(a["axis"])
    if len(set(axes)) != len(axes):
        return [(f"axis {show(a['axis'])} lists an axis twice", None, "axis")]
    return []


def layernorm_params(ins, a, out):
    return (math.prod(known_sizes(ins[0], axes_of(a["axis"]), "LayerNormalization")) * centred_scaled(a), 0)


layer(
    "LayerNormalization",
    args=(
        Arg("axis", AXES, -1),
        Arg("epsilon", EPSILON, 1e-3),
        Arg("center", BOOL, True),
        Arg("scale", BOOL, True),
        *norm_weight_args(),
    ),
    shape=norm_shape("LayerNormalization"),
    params=layernorm_params,
    check=all_checks(no_batch_axis("axis"), distinct_axes),
)


def group_size(ins, a):
    (dim,) = known_sizes(ins[0], (a["axis"],), "GroupNormalization")
    groups = dim if a["groups"] == -1 else a["groups"]
    if groups > dim or dim % groups:
        raise ShapeError(
            f"GroupNormalization: groups={a['groups']} must divide the {dim} channels on axis "
            f"{a['axis']} of {fmt(ins[0])}",
            "pick a divisor of the channel count, or groups=-1",
        )
    return dim


layer(
    "GroupNormalization",
    args=(
        Arg("groups", SIZE_OR_MINUS_ONE, 32),
        Arg("axis", INT, -1),
        Arg("epsilon", EPSILON, 1e-3),
        Arg("center", BOOL, True),
        Arg("scale", BOOL, True),
        *norm_weight_args(),
    ),
    shape=lambda ins, a: (group_size(ins, a), ins[0])[1],
    params=lambda ins, a, out: (group_size(ins, a) * centred_scaled(a), 0),
    check=no_batch_axis("axis"),
)


def unit_norm_shape(ins, a):
    sample_axes(axes_of(a["axis"]), ins[0], "UnitNormalization")
    return ins[0]


layer(
    "UnitNormalization",
    args=(Arg("axis", AXES, -1),),
    shape=unit_norm_shape,
    check=all_checks(no_batch_axis("axis"), distinct_axes),
)


def rms_norm_shape(ins, a):
    """Keras sizes the scale by the axes in sorted order and multiplies it in by broadcasting, so
    only the trailing axes (e.g. -1, or (-2, -1)) work at run time."""
    (x,) = ins
    axes = sorted(axes_of(a["axis"]))
    known_sizes(x, axes, "RMSNormalization")
    if sample_axes(axes, x, "RMSNormalization") != list(range(len(x) - len(axes), len(x))):
        raise ShapeError(
            f"RMSNormalization: axis {show(a['axis'])} of samples {fmt(x)} must be the last "
            f"{len(axes)} ax{'is' if len(axes) == 1 else 'es'} (Keras broadcasts its scale from the end)",
            "use axis=-1, or axis=(-2, -1) for the last two axes",
        )
    return x


layer(
    "RMSNormalization",
    args=(Arg("axis", AXES, -1), Arg("epsilon", EPSILON, 1e-6)),
    shape=rms_norm_shape,
    params=lambda ins, a, out: (math.prod(known_sizes(ins[0], axes_of(a["axis"]), "RMSNormalization")), 0),
    check=all_checks(no_batch_axis("axis"), distinct_axes),
)
