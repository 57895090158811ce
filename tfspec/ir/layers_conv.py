"""Catalog entries: convolutions, pooling, zero padding, cropping and upsampling.

Shape rules follow Keras's compute_conv_output_shape, compute_conv_transpose_output_shape and
compute_pooling_output_shape; argument order follows each class's `__init__`.
"""

from __future__ import annotations

import math

from .catalog import (
    ACTIVATION,
    BOOL,
    CONSTRAINT,
    DATA_FORMAT,
    KERNEL_INITIALIZER,
    KERNEL_REGULARIZER,
    NONE,
    PADDING,
    POS_INT,
    REGULARIZER,
    STEPS_MASK,
    VECTOR_INITIALIZER,
    VECTOR_REGULARIZER,
    Arg,
    ShapeError,
    choice,
    int_tuple,
    layer,
    one_of,
    steps_mask,
)
from .layers_base import (
    all_checks,
    bias_count,
    channels_first,
    conv_length,
    fmt,
    known_channels,
    need_rank,
    one_dilation_or_stride,
    pad_pairs,
    pad_type,
    put_spatial,
    spatial,
    spatial_what,
    tuple_of,
    weight_args,
)
from .values import show

# -- convolution ------------------------------------------------------------------------------


def ones(rank):
    return 1 if rank == 1 else (1,) * rank


def window_args(rank, causal=False):
    """kernel_size, strides, padding (Keras's order, without data_format/dilation_rate)."""
    return (
        Arg("kernel_size", int_tuple(rank), required=True),
        Arg("strides", int_tuple(rank), ones(rank)),
        Arg("padding", choice("valid", "same", "causal", name="padding") if causal else PADDING, "valid"),
    )


def conv_rule(rank, kind, out_channels):
    """Output shape of Conv/SeparableConv/DepthwiseConv; out_channels(in_channels, args)."""

    def rule(ins, a):
        (x,) = ins
        need_rank(x, rank + 1, kind, spatial_what(rank))
        first = channels_first(a)
        dims = spatial(x, first)[0]
        channels = known_channels(x, first, kind)
        k, s, d = (tuple_of(a[key], rank) for key in ("kernel_size", "strides", "dilation_rate"))
        out = []
        for n, kk, ss, dd in zip(dims, k, s, d, strict=True):
            length = conv_length(n, kk, ss, a["padding"], dd)
            if length is not None and length < 1:
                span = f"kernel {show(a['kernel_size'])}" + (
                    f" with dilation {show(a['dilation_rate'])}" if max(d) > 1 else ""
                )
                raise ShapeError(
                    f'{kind}: the {span} does not fit the input {fmt(x)} with padding="valid"',
                    'use padding="same", a smaller kernel or a larger input',
                )
            out.append(length)
        return put_spatial(out, out_channels(channels, a), first)

    return rule


def conv_out_channels(kind):
    def out(channels, a):
        if channels % a["groups"]:
            raise ShapeError(
                f"{kind}: groups={a['groups']} must divide the {channels} input channels",
                "choose groups that divides both the input channels and filters",
            )
        return a["filters"]

    return out


def conv_params(rank, grouped=True):
    def rule(ins, a, out):
        channels = spatial(ins[0], channels_first(a))[1]
        k = math.prod(tuple_of(a["kernel_size"], rank))
        groups = a.get("groups", 1) if grouped else 1
        return (k * (channels // groups) * a["filters"] + bias_count(a, a["filters"]), 0)

    return rule


def conv_sizes(rank, transposed=False):
    """The kernel: the window, then (input channels per group, filters); a transposed
    convolution's is (filters, input channels)."""

    def rule(ins, a, out):
        channels = spatial(ins[0], channels_first(a))[1]
        window = tuple_of(a["kernel_size"], rank)
        if transposed:
            return {"kernel": window + (a["filters"], channels)}
        return {"kernel": window + (channels // a.get("groups", 1), a["filters"])}

    return rule


def separable_sizes(rank):
    def rule(ins, a, out):
        channels = spatial(ins[0], channels_first(a))[1]
        mult = a["depth_multiplier"]
        window = tuple_of(a["kernel_size"], rank)
        sizes = {"depthwise kernel": window + (channels, mult)}
        if "filters" in a:
            sizes["pointwise kernel"] = (1,) * rank + (channels * mult, a["filters"])
        return sizes

    return rule


def groups_check(a):
    if a["filters"] % a["groups"]:
        return [(f"filters={a['filters']} must be divisible by groups={a['groups']}", None, "groups")]
    return []


for _rank in (1, 2, 3):
    _kind = f"Conv{_rank}D"
    layer(
        _kind,
        args=(
            Arg("filters", POS_INT, required=True),
            *window_args(_rank, causal=_rank == 1),
            Arg("data_format", DATA_FORMAT),
            Arg("dilation_rate", int_tuple(_rank), ones(_rank)),
            Arg("groups", POS_INT, 1),
            Arg("activation", ACTIVATION),
            Arg("use_bias", BOOL, True),
            *weight_args(matrix=False),
        ),
        shape=conv_rule(_rank, _kind, conv_out_channels(_kind)),
        params=conv_params(_rank),
        sizes=conv_sizes(_rank),
        check=all_checks(one_dilation_or_stride, groups_check),
        aliases=(f"Convolution{_rank}D",),
    )


def transpose_length(n, k, s, padding, output_padding, d):
    """Keras's _get_output_shape_given_tf_padding."""
    if n is None:
        return None
    k = (k - 1) * d + 1
    if padding == "valid":
        extra = max(k, s) - k if output_padding is None else output_padding
        return (n - 1) * s + k + extra
    return n * s if output_padding is None else (n - 1) * s + k % 2 + output_padding


def conv_transpose_rule(rank, kind):
    def rule(ins, a):
        (x,) = ins
        need_rank(x, rank + 1, kind, spatial_what(rank))
        first = channels_first(a)
        dims = spatial(x, first)[0]
        known_channels(x, first, kind)
        k, s, d = (tuple_of(a[key], rank) for key in ("kernel_size", "strides", "dilation_rate"))
        op = (None,) * rank if a["output_padding"] is None else tuple_of(a["output_padding"], rank)
        out = [
            transpose_length(n, kk, ss, a["padding"], oo, dd)
            for n, kk, ss, oo, dd in zip(dims, k, s, op, d, strict=True)
        ]
        return put_spatial(out, a["filters"], first)

    return rule


def output_padding_check(rank):
    def check(a):
        if a["output_padding"] is None:
            return []
        op, s = tuple_of(a["output_padding"], rank), tuple_of(a["strides"], rank)
        if any(o >= ss for o, ss in zip(op, s, strict=True)):
            return [
                (
                    f"output_padding {show(a['output_padding'])} must be smaller than strides {show(a['strides'])}",
                    None,
                    "output_padding",
                )
            ]
        return []

    return check


for _rank in (1, 2, 3):
    _kind = f"Conv{_rank}DTranspose"
    _op = Arg("output_padding", one_of(NONE, int_tuple(_rank, minimum=0)))
    _df = Arg("data_format", DATA_FORMAT)
    layer(
        _kind,
        args=(
            Arg("filters", POS_INT, required=True),
            *window_args(_rank),
            *((_df, _op) if _rank == 3 else (_op, _df)),  # Keras swaps them in Conv3DTranspose
            Arg("dilation_rate", int_tuple(_rank), ones(_rank)),
            Arg("activation", ACTIVATION),
            Arg("use_bias", BOOL, True),
            *weight_args(matrix=False),
        ),
        shape=conv_transpose_rule(_rank, _kind),
        params=conv_params(_rank, grouped=False),
        sizes=conv_sizes(_rank, transposed=True),
        check=all_checks(one_dilation_or_stride, output_padding_check(_rank)),
        aliases=(f"Convolution{_rank}DTranspose",),
    )


def separable_params(rank):
    def rule(ins, a, out):
        channels = spatial(ins[0], channels_first(a))[1]
        k = math.prod(tuple_of(a["kernel_size"], rank))
        mult = a["depth_multiplier"]
        return (k * channels * mult + channels * mult * a["filters"] + bias_count(a, a["filters"]), 0)

    return rule


for _rank in (1, 2):
    _kind = f"SeparableConv{_rank}D"
    layer(
        _kind,
        args=(
            Arg("filters", POS_INT, required=True),
            *window_args(_rank),
            Arg("data_format", DATA_FORMAT),
            Arg("dilation_rate", int_tuple(_rank), ones(_rank)),
            Arg("depth_multiplier", POS_INT, 1),
            Arg("activation", ACTIVATION),
            Arg("use_bias", BOOL, True),
            Arg("depthwise_initializer", KERNEL_INITIALIZER, "glorot_uniform"),
            Arg("pointwise_initializer", KERNEL_INITIALIZER, "glorot_uniform"),
            Arg("bias_initializer", VECTOR_INITIALIZER, "zeros"),
            Arg("depthwise_regularizer", KERNEL_REGULARIZER),
            Arg("pointwise_regularizer", KERNEL_REGULARIZER),
            Arg("bias_regularizer", VECTOR_REGULARIZER),
            Arg("activity_regularizer", REGULARIZER),
            Arg("depthwise_constraint", CONSTRAINT),
            Arg("pointwise_constraint", CONSTRAINT),
            Arg("bias_constraint", CONSTRAINT),
        ),
        shape=conv_rule(_rank, _kind, lambda c, a: a["filters"]),
        params=separable_params(_rank),
        sizes=separable_sizes(_rank),
        aliases=(f"SeparableConvolution{_rank}D",),
    )


def depthwise_params(rank):
    def rule(ins, a, out):
        channels = spatial(ins[0], channels_first(a))[1]
        k = math.prod(tuple_of(a["kernel_size"], rank))
        n = channels * a["depth_multiplier"]
        return (k * n + bias_count(a, n), 0)

    return rule


for _rank in (1, 2):
    _kind = f"DepthwiseConv{_rank}D"
    layer(
        _kind,
        args=(
            *window_args(_rank),
            Arg("depth_multiplier", POS_INT, 1),
            Arg("data_format", DATA_FORMAT),
            Arg("dilation_rate", int_tuple(_rank), ones(_rank)),
            Arg("activation", ACTIVATION),
            Arg("use_bias", BOOL, True),
            Arg("depthwise_initializer", KERNEL_INITIALIZER, "glorot_uniform"),
            Arg("bias_initializer", VECTOR_INITIALIZER, "zeros"),
            Arg("depthwise_regularizer", KERNEL_REGULARIZER),
            Arg("bias_regularizer", VECTOR_REGULARIZER),
            Arg("activity_regularizer", REGULARIZER),
            Arg("depthwise_constraint", CONSTRAINT),
            Arg("bias_constraint", CONSTRAINT),
        ),
        shape=conv_rule(_rank, _kind, lambda c, a: c * a["depth_multiplier"]),
        params=depthwise_params(_rank),
        sizes=separable_sizes(_rank),
    )


# -- pooling ----------------------------------------------------------------------------------------


def pool_rule(rank, kind):
    def rule(ins, a):
        (x,) = ins
        need_rank(x, rank + 1, kind, spatial_what(rank))
        first = channels_first(a)
        dims, channels = spatial(x, first)
        p = tuple_of(a["pool_size"], rank)
        s = tuple_of(a["strides"] if a["strides"] is not None else a["pool_size"], rank)
        out = []
        for n, pp, ss in zip(dims, p, s, strict=True):
            length = conv_length(n, pp, ss, a["padding"])
            if length is not None and length < 1:
                raise ShapeError(
                    f"{kind}: pool_size {show(a['pool_size'])} does not fit the input {fmt(x)}",
                    'use a smaller pool_size or padding="same"',
                )
            out.append(length)
        return put_spatial(out, channels, first)

    return rule


for _rank in (1, 2, 3):
    for _op, _short in (("Max", "Max"), ("Average", "Avg")):
        _kind = f"{_op}Pooling{_rank}D"
        _pool = (
            Arg("pool_size", int_tuple(_rank), 2 if _rank == 1 else (2,) * _rank)
            if _op == "Max"
            else Arg("pool_size", int_tuple(_rank), required=True)
        )  # Keras gives AveragePooling no default
        layer(
            _kind,
            args=(
                _pool,
                Arg("strides", one_of(NONE, int_tuple(_rank))),
                Arg("padding", PADDING, "valid"),
                Arg("data_format", DATA_FORMAT),
            ),
            shape=pool_rule(_rank, _kind),
            aliases=(f"{_short}Pool{_rank}D",),
        )


def global_pool_rule(rank, kind):
    def rule(ins, a):
        (x,) = ins
        need_rank(x, rank + 1, kind, spatial_what(rank))
        first = channels_first(a)
        channels = spatial(x, first)[1]
        if a["keepdims"]:
            return put_spatial([1] * rank, channels, first)
        return (channels,)

    return rule


for _rank in (1, 2, 3):
    for _op, _short in (("Max", "Max"), ("Average", "Avg")):
        _kind = f"Global{_op}Pooling{_rank}D"
        layer(
            _kind,
            args=(Arg("data_format", DATA_FORMAT), Arg("keepdims", BOOL, False)),
            shape=global_pool_rule(_rank, _kind),
            aliases=(f"Global{_short}Pool{_rank}D",),
            # Keras 3.15: only GlobalAveragePooling1D's call takes a mask (the mean of the true steps)
            call_args=(STEPS_MASK,) if _kind == "GlobalAveragePooling1D" else (),
            call_rule=steps_mask(_kind) if _kind == "GlobalAveragePooling1D" else None,
        )


# -- padding, cropping, upsampling ---------------------------------------------------------------


def pad_rule(rank, kind, sign):
    key = "padding" if sign > 0 else "cropping"

    def rule(ins, a):
        (x,) = ins
        need_rank(x, rank + 1, kind, spatial_what(rank))
        first = channels_first(a)
        dims, channels = spatial(x, first)
        out = []
        for n, (lo, hi) in zip(dims, pad_pairs(a[key], rank), strict=True):
            length = None if n is None else n + sign * (lo + hi)
            if length is not None and length < 1:
                raise ShapeError(
                    f"{kind}: cropping {show(a[key])} removes all of the input {fmt(x)}",
                    "crop less than the size of each spatial axis",
                )
            out.append(length)
        return put_spatial(out, channels, first)

    return rule


_PAD_DEFAULTS = {1: 1, 2: (1, 1), 3: ((1, 1), (1, 1), (1, 1))}
_CROP_DEFAULTS = {1: (1, 1), 2: ((0, 0), (0, 0)), 3: ((1, 1), (1, 1), (1, 1))}
for _rank in (1, 2, 3):
    layer(
        f"ZeroPadding{_rank}D",
        args=(Arg("padding", pad_type(_rank, "padding"), _PAD_DEFAULTS[_rank]), Arg("data_format", DATA_FORMAT)),
        shape=pad_rule(_rank, f"ZeroPadding{_rank}D", +1),
    )
    _crop = (Arg("cropping", pad_type(_rank, "cropping"), _CROP_DEFAULTS[_rank]),)
    layer(
        f"Cropping{_rank}D",  # Keras's Cropping1D has no data_format
        args=_crop + ((Arg("data_format", DATA_FORMAT),) if _rank > 1 else ()),
        shape=pad_rule(_rank, f"Cropping{_rank}D", -1),
    )


def upsample_rule(rank, kind):
    def rule(ins, a):
        (x,) = ins
        need_rank(x, rank + 1, kind, spatial_what(rank))
        first = channels_first(a)
        dims, channels = spatial(x, first)
        factors = tuple_of(a["size"], rank)
        out = [None if n is None else n * f for n, f in zip(dims, factors, strict=True)]
        return put_spatial(out, channels, first)

    return rule


layer("UpSampling1D", args=(Arg("size", POS_INT, 2),), shape=upsample_rule(1, "UpSampling1D"))
layer(
    "UpSampling2D",
    args=(
        Arg("size", int_tuple(2), (2, 2)),
        Arg("data_format", DATA_FORMAT),
        Arg(
            "interpolation",
            choice("nearest", "bilinear", "bicubic", "lanczos3", "lanczos5", "area", name="interpolation"),
            "nearest",
        ),
    ),
    shape=upsample_rule(2, "UpSampling2D"),
)
layer(
    "UpSampling3D",
    args=(Arg("size", int_tuple(3), (2, 2, 2)), Arg("data_format", DATA_FORMAT)),
    shape=upsample_rule(3, "UpSampling3D"),
)
