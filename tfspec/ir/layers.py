"""The layer catalog: one entry per Keras layer kind.

Each entry gives the Keras class (same name under `keras.layers`), its arguments in
Keras's positional order (type, default, required), the static output-shape rule
and the parameter-count rule. Tests build every entry in real Keras and compare.
"""

from __future__ import annotations

import math

from .catalog import (
    ACTIVATION, ANY, AXIS, BOOL, CONSTRAINT, DATA_FORMAT, FLOAT, INITIALIZER, INT, NONE, PADDING, POS_INT,
    RATE, REGULARIZER, STR, Arg, ShapeError, choice, float_type, int_tuple, layer, one_of, seq_of,
)

# -- shape helpers ---------------------------------------------------------------


def need_rank(shape, rank, kind, what=None):
    if len(shape) != rank:
        raise ShapeError(
            f"{kind} expects {what or f'samples of rank {rank}'}, got shape {fmt(shape)} (rank {len(shape)})",
            rank_hint(kind, rank, shape))


def rank_hint(kind, rank, shape):
    if len(shape) == rank - 1:
        return "add a channels axis to the input, e.g. [28, 28] -> [28, 28, 1], or Reshape first"
    if len(shape) > rank:
        return "Flatten or Reshape the tensor first"
    return None


def fmt(shape) -> str:
    inner = ", ".join("None" if d is None else str(d) for d in shape)
    return f"({inner},)" if len(shape) == 1 else f"({inner})"


def last_dim(shape, kind):
    if not shape:
        raise ShapeError(f"{kind} needs at least one axis, got a scalar per sample")
    if shape[-1] is None:
        raise ShapeError(f"{kind} needs a known last axis, got shape {fmt(shape)}",
                         "give the input a fixed size on its last axis")
    return shape[-1]


def tuple_of(value, n):
    if isinstance(value, (tuple, list)):
        return tuple(value)
    return (value,) * n


def conv_length(n, kernel, stride, padding, dilation=1):
    if n is None:
        return None
    if padding == "same":
        return -(-n // stride)
    if padding == "causal":
        return -(-n // stride)
    span = (kernel - 1) * dilation + 1
    out = (n - span) // stride + 1
    return out


def spatial(shape, channels_first):
    return (shape[1:], shape[0]) if channels_first else (shape[:-1], shape[-1])


def put_spatial(dims, channels, channels_first):
    return (channels,) + tuple(dims) if channels_first else tuple(dims) + (channels,)


def bias_count(a, units):
    return units if a.get("use_bias", True) else 0


# -- common argument groups ---------------------------------------------------------

def weight_args(kernel="kernel"):
    return (
        Arg(f"{kernel}_initializer", INITIALIZER, "glorot_uniform"),
        Arg("bias_initializer", INITIALIZER, "zeros"),
        Arg(f"{kernel}_regularizer", REGULARIZER),
        Arg("bias_regularizer", REGULARIZER),
        Arg("activity_regularizer", REGULARIZER),
        Arg(f"{kernel}_constraint", CONSTRAINT),
        Arg("bias_constraint", CONSTRAINT),
    )


# -- core ------------------------------------------------------------------------------

def dense_shape(ins, a):
    (x,) = ins
    last_dim(x, "Dense")
    return x[:-1] + (a["units"],)


layer("Dense",
      args=(Arg("units", POS_INT, required=True), Arg("activation", ACTIVATION), Arg("use_bias", BOOL, True),
            *weight_args(), Arg("lora_rank", one_of(NONE, POS_INT)), Arg("lora_alpha", one_of(NONE, FLOAT))),
      shape=dense_shape,
      params=lambda ins, a, out: (ins[0][-1] * a["units"] + bias_count(a, a["units"]), 0),
      doc="fully connected layer on the last axis")


def flatten_shape(ins, a):
    (x,) = ins
    if a.get("data_format") == "channels_first" and len(x) > 1:
        pass
    if any(d is None for d in x):
        raise ShapeError(f"Flatten needs fully known sample shapes, got {fmt(x)}",
                         "use GlobalAveragePooling or a fixed input size")
    return (math.prod(x),)


layer("Flatten", args=(Arg("data_format", DATA_FORMAT),), shape=flatten_shape)

layer("Dropout",
      args=(Arg("rate", RATE, required=True), Arg("noise_shape", one_of(NONE, seq_of(one_of(NONE, INT)))),
            Arg("seed", one_of(NONE, INT))),
      shape=lambda ins, a: ins[0], training=True)

layer("Activation", args=(Arg("activation", ACTIVATION, required=True),), shape=lambda ins, a: ins[0])
layer("ReLU",
      args=(Arg("max_value", one_of(NONE, float_type(minimum=0))), Arg("negative_slope", float_type(minimum=0), 0.0),
            Arg("threshold", FLOAT, 0.0)),
      shape=lambda ins, a: ins[0])
layer("LeakyReLU", args=(Arg("negative_slope", float_type(minimum=0), 0.3),), shape=lambda ins, a: ins[0])
layer("Softmax", args=(Arg("axis", AXIS, -1),), shape=lambda ins, a: ins[0])


def reshape_shape(ins, a):
    (x,) = ins
    target = tuple(a["target_shape"])
    if target.count(-1) > 1:
        raise ShapeError("Reshape allows at most one -1 in target_shape")
    known = [d for d in x]
    if any(d is None for d in known):
        return tuple(None if d == -1 else d for d in target)
    total = math.prod(known)
    fixed = math.prod(d for d in target if d != -1)
    if -1 in target:
        if fixed == 0 or total % fixed:
            raise ShapeError(f"cannot reshape {fmt(x)} ({total} values) into {fmt(target)}")
        return tuple(total // fixed if d == -1 else d for d in target)
    if fixed != total:
        raise ShapeError(f"cannot reshape {fmt(x)} ({total} values) into {fmt(target)} ({fixed} values)",
                         "the number of values per sample must stay the same")
    return target


layer("Reshape", args=(Arg("target_shape", seq_of(one_of(POS_INT, choice(-1))), required=True),),
      shape=reshape_shape)


def permute_shape(ins, a):
    (x,) = ins
    dims = tuple(a["dims"])
    if sorted(dims) != list(range(1, len(x) + 1)):
        raise ShapeError(f"Permute dims must be a permutation of 1..{len(x)}, got {dims}",
                         "axes are numbered from 1 (the batch axis is not counted)")
    return tuple(x[d - 1] for d in dims)


layer("Permute", args=(Arg("dims", seq_of(POS_INT), required=True),), shape=permute_shape)


def repeat_vector_shape(ins, a):
    (x,) = ins
    need_rank(x, 1, "RepeatVector", "vectors (rank-1 samples)")
    return (a["n"],) + x


layer("RepeatVector", args=(Arg("n", POS_INT, required=True),), shape=repeat_vector_shape)

layer("Rescaling", args=(Arg("scale", FLOAT, required=True), Arg("offset", FLOAT, 0.0)),
      shape=lambda ins, a: ins[0])


# -- convolution --------------------------------------------------------------------------

def conv_args(rank, filters=True, transpose=False):
    args = []
    if filters:
        args.append(Arg("filters", POS_INT, required=True))
    args += [
        Arg("kernel_size", int_tuple(rank), required=True),
        Arg("strides", int_tuple(rank), 1),
        Arg("padding", choice("valid", "same", "causal") if rank == 1 and not transpose else PADDING, "valid"),
        Arg("data_format", DATA_FORMAT),
        Arg("dilation_rate", int_tuple(rank), 1),
    ]
    return args


def conv_shape_rule(rank, kind, depthwise=False):
    def rule(ins, a):
        (x,) = ins
        need_rank(x, rank + 1, kind, f"samples of rank {rank + 1} (spatial axes + channels)")
        first = a.get("data_format") == "channels_first"
        dims, channels = spatial(x, first)
        if channels is None:
            raise ShapeError(f"{kind} needs a known channels axis, got {fmt(x)}")
        k = tuple_of(a["kernel_size"], rank)
        s = tuple_of(a["strides"], rank)
        d = tuple_of(a["dilation_rate"], rank)
        out = []
        for n, kk, ss, dd in zip(dims, k, s, d):
            length = conv_length(n, kk, ss, a["padding"], dd)
            if length is not None and length < 1:
                raise ShapeError(f"{kind} kernel {fmt(k)} does not fit input {fmt(x)}",
                                 "use padding=\"same\" or a smaller kernel")
            out.append(length)
        if depthwise:
            out_channels = channels * a["depth_multiplier"]
        else:
            out_channels = a["filters"]
            groups = a.get("groups", 1) or 1
            if channels % groups or a["filters"] % groups:
                raise ShapeError(f"{kind}: groups={groups} must divide both input channels ({channels}) "
                                 f"and filters ({a['filters']})")
        return put_spatial(out, out_channels, first)

    return rule


def conv_params(rank):
    def rule(ins, a, out):
        first = a.get("data_format") == "channels_first"
        channels = spatial(ins[0], first)[1]
        k = math.prod(tuple_of(a["kernel_size"], rank))
        groups = a.get("groups", 1) or 1
        return (k * (channels // groups) * a["filters"] + bias_count(a, a["filters"]), 0)

    return rule


for _rank in (1, 2, 3):
    layer(f"Conv{_rank}D",
          args=(*conv_args(_rank), Arg("groups", POS_INT, 1), Arg("activation", ACTIVATION),
                Arg("use_bias", BOOL, True), *weight_args()),
          shape=conv_shape_rule(_rank, f"Conv{_rank}D"), params=conv_params(_rank),
          aliases=(f"Convolution{_rank}D",))


def transpose_length(n, k, s, padding, d=1):
    if n is None:
        return None
    if padding == "same":
        return n * s
    return n * s + max(k - s, 0) if d == 1 else (n - 1) * s + (k - 1) * d + 1


def conv_transpose_rule(rank, kind):
    def rule(ins, a):
        (x,) = ins
        need_rank(x, rank + 1, kind, f"samples of rank {rank + 1} (spatial axes + channels)")
        first = a.get("data_format") == "channels_first"
        dims, channels = spatial(x, first)
        k = tuple_of(a["kernel_size"], rank)
        s = tuple_of(a["strides"], rank)
        d = tuple_of(a["dilation_rate"], rank)
        out = [transpose_length(n, kk, ss, a["padding"], dd) for n, kk, ss, dd in zip(dims, k, s, d)]
        return put_spatial(out, a["filters"], first)

    return rule


for _rank in (1, 2, 3):
    layer(f"Conv{_rank}DTranspose",
          args=(*conv_args(_rank, transpose=True), Arg("activation", ACTIVATION), Arg("use_bias", BOOL, True),
                *weight_args()),
          shape=conv_transpose_rule(_rank, f"Conv{_rank}DTranspose"), params=conv_params(_rank),
          aliases=(f"Convolution{_rank}DTranspose",))


def separable_params(rank):
    def rule(ins, a, out):
        first = a.get("data_format") == "channels_first"
        channels = spatial(ins[0], first)[1]
        k = math.prod(tuple_of(a["kernel_size"], rank))
        mult = a["depth_multiplier"]
        return (k * channels * mult + channels * mult * a["filters"] + bias_count(a, a["filters"]), 0)

    return rule


for _rank in (1, 2):
    layer(f"SeparableConv{_rank}D",
          args=(*conv_args(_rank), Arg("depth_multiplier", POS_INT, 1), Arg("activation", ACTIVATION),
                Arg("use_bias", BOOL, True), Arg("depthwise_initializer", INITIALIZER, "glorot_uniform"),
                Arg("pointwise_initializer", INITIALIZER, "glorot_uniform"), Arg("bias_initializer", INITIALIZER, "zeros"),
                Arg("depthwise_regularizer", REGULARIZER), Arg("pointwise_regularizer", REGULARIZER),
                Arg("bias_regularizer", REGULARIZER), Arg("activity_regularizer", REGULARIZER),
                Arg("depthwise_constraint", CONSTRAINT), Arg("pointwise_constraint", CONSTRAINT),
                Arg("bias_constraint", CONSTRAINT)),
          shape=conv_shape_rule(_rank, f"SeparableConv{_rank}D"), params=separable_params(_rank),
          aliases=(f"SeparableConvolution{_rank}D",))


def depthwise_params(rank):
    def rule(ins, a, out):
        first = a.get("data_format") == "channels_first"
        channels = spatial(ins[0], first)[1]
        k = math.prod(tuple_of(a["kernel_size"], rank))
        mult = a["depth_multiplier"]
        return (k * channels * mult + bias_count(a, channels * mult), 0)

    return rule


for _rank in (1, 2):
    layer(f"DepthwiseConv{_rank}D",
          args=(Arg("kernel_size", int_tuple(_rank), required=True), Arg("strides", int_tuple(_rank), 1),
                Arg("padding", PADDING, "valid"), Arg("depth_multiplier", POS_INT, 1), Arg("data_format", DATA_FORMAT),
                Arg("dilation_rate", int_tuple(_rank), 1), Arg("activation", ACTIVATION), Arg("use_bias", BOOL, True),
                Arg("depthwise_initializer", INITIALIZER, "glorot_uniform"), Arg("bias_initializer", INITIALIZER, "zeros"),
                Arg("depthwise_regularizer", REGULARIZER), Arg("bias_regularizer", REGULARIZER),
                Arg("activity_regularizer", REGULARIZER), Arg("depthwise_constraint", CONSTRAINT),
                Arg("bias_constraint", CONSTRAINT)),
          shape=conv_shape_rule(_rank, f"DepthwiseConv{_rank}D", depthwise=True), params=depthwise_params(_rank))


# -- pooling ----------------------------------------------------------------------------------

def pool_rule(rank, kind):
    def rule(ins, a):
        (x,) = ins
        need_rank(x, rank + 1, kind, f"samples of rank {rank + 1} (spatial axes + channels)")
        first = a.get("data_format") == "channels_first"
        dims, channels = spatial(x, first)
        p = tuple_of(a["pool_size"], rank)
        s = tuple_of(a["strides"] if a["strides"] is not None else a["pool_size"], rank)
        out = []
        for n, pp, ss in zip(dims, p, s):
            length = conv_length(n, pp, ss, a["padding"])
            if length is not None and length < 1:
                raise ShapeError(f"{kind} pool size {fmt(p)} does not fit input {fmt(x)}",
                                 "use a smaller pool_size or padding=\"same\"")
            out.append(length)
        return put_spatial(out, channels, first)

    return rule


for _rank in (1, 2, 3):
    for _op in ("Max", "Average"):
        layer(f"{_op}Pooling{_rank}D",
              args=(Arg("pool_size", int_tuple(_rank), 2), Arg("strides", one_of(NONE, int_tuple(_rank))),
                    Arg("padding", PADDING, "valid"), Arg("data_format", DATA_FORMAT)),
              shape=pool_rule(_rank, f"{_op}Pooling{_rank}D"), aliases=(f"{_op[:3] if _op == 'Max' else 'Avg'}Pool{_rank}D",))


def global_pool_rule(rank, kind):
    def rule(ins, a):
        (x,) = ins
        need_rank(x, rank + 1, kind, f"samples of rank {rank + 1} (spatial axes + channels)")
        first = a.get("data_format") == "channels_first"
        dims, channels = spatial(x, first)
        if a.get("keepdims"):
            return put_spatial([1] * rank, channels, first)
        return (channels,)

    return rule


for _rank in (1, 2, 3):
    for _op in ("Max", "Average"):
        layer(f"Global{_op}Pooling{_rank}D",
              args=(Arg("data_format", DATA_FORMAT), Arg("keepdims", BOOL, False)),
              shape=global_pool_rule(_rank, f"Global{_op}Pooling{_rank}D"),
              aliases=(f"Global{_op[:3] if _op == 'Max' else 'Avg'}Pool{_rank}D",))


# -- padding, upsampling, cropping -------------------------------------------------------------

def pad_pairs(value, rank):
    if isinstance(value, int):
        return ((value, value),) * rank
    out = []
    for item in value:
        out.append(tuple(item) if isinstance(item, (tuple, list)) else (item, item))
    return tuple(out)


def pad_rule(rank, kind, sign):
    def rule(ins, a):
        (x,) = ins
        need_rank(x, rank + 1, kind, f"samples of rank {rank + 1} (spatial axes + channels)")
        first = a.get("data_format") == "channels_first"
        dims, channels = spatial(x, first)
        key = "padding" if sign > 0 else "cropping"
        pairs = pad_pairs(a[key], rank)
        out = []
        for n, (lo, hi) in zip(dims, pairs):
            length = None if n is None else n + sign * (lo + hi)
            if length is not None and length < 1:
                raise ShapeError(f"{kind} removes more than the input {fmt(x)} has")
            out.append(length)
        return put_spatial(out, channels, first)

    return rule


PAD_VALUE = one_of(int_tuple(None, minimum=0), seq_of(int_tuple(2, minimum=0)), name="padding")
for _rank in (1, 2, 3):
    layer(f"ZeroPadding{_rank}D", args=(Arg("padding", PAD_VALUE, 1), Arg("data_format", DATA_FORMAT)),
          shape=pad_rule(_rank, f"ZeroPadding{_rank}D", +1))
    layer(f"Cropping{_rank}D", args=(Arg("cropping", PAD_VALUE, 1), Arg("data_format", DATA_FORMAT)),
          shape=pad_rule(_rank, f"Cropping{_rank}D", -1))


def upsample_rule(rank, kind):
    def rule(ins, a):
        (x,) = ins
        need_rank(x, rank + 1, kind, f"samples of rank {rank + 1} (spatial axes + channels)")
        first = a.get("data_format") == "channels_first"
        dims, channels = spatial(x, first)
        key = "size" if rank == 2 or rank == 3 else "size"
        factors = tuple_of(a[key], rank)
        return put_spatial([None if n is None else n * f for n, f in zip(dims, factors)], channels, first)

    return rule


layer("UpSampling1D", args=(Arg("size", POS_INT, 2),),
      shape=lambda ins, a: (need_rank(ins[0], 2, "UpSampling1D"),
                            (None if ins[0][0] is None else ins[0][0] * a["size"], ins[0][1]))[1])
layer("UpSampling2D", args=(Arg("size", int_tuple(2), (2, 2)), Arg("data_format", DATA_FORMAT),
                            Arg("interpolation", choice("nearest", "bilinear", "bicubic", "lanczos3", "lanczos5", "area"),
                                "nearest")),
      shape=upsample_rule(2, "UpSampling2D"))
layer("UpSampling3D", args=(Arg("size", int_tuple(3), (2, 2, 2)), Arg("data_format", DATA_FORMAT)),
      shape=upsample_rule(3, "UpSampling3D"))


# -- normalisation ------------------------------------------------------------------------------

def norm_axes(x, axis, kind):
    axes = axis if isinstance(axis, (list, tuple)) else (axis,)
    out = []
    for ax in axes:
        rank = len(x) + 1  # with the batch axis
        pos = ax if ax >= 0 else rank + ax
        if pos < 1 or pos >= rank:
            raise ShapeError(f"{kind} axis {ax} is out of range for samples of shape {fmt(x)}")
        if x[pos - 1] is None:
            raise ShapeError(f"{kind} needs a known size on axis {ax}, got {fmt(x)}")
        out.append(x[pos - 1])
    return out


def batchnorm_params(ins, a, out):
    sizes = norm_axes(ins[0], a["axis"], "BatchNormalization")
    n = math.prod(sizes)
    trainable = n * (int(bool(a["center"])) + int(bool(a["scale"])))
    return (trainable, 2 * n)


layer("BatchNormalization",
      args=(Arg("axis", AXIS, -1), Arg("momentum", float_type(minimum=0, maximum=1), 0.99),
            Arg("epsilon", float_type(above=0), 1e-3), Arg("center", BOOL, True), Arg("scale", BOOL, True),
            Arg("beta_initializer", INITIALIZER, "zeros"), Arg("gamma_initializer", INITIALIZER, "ones"),
            Arg("moving_mean_initializer", INITIALIZER, "zeros"), Arg("moving_variance_initializer", INITIALIZER, "ones"),
            Arg("beta_regularizer", REGULARIZER), Arg("gamma_regularizer", REGULARIZER),
            Arg("beta_constraint", CONSTRAINT), Arg("gamma_constraint", CONSTRAINT), Arg("synchronized", BOOL, False)),
      shape=lambda ins, a: (norm_axes(ins[0], a["axis"], "BatchNormalization"), ins[0])[1],
      params=batchnorm_params, training=True)


def layernorm_params(ins, a, out):
    n = math.prod(norm_axes(ins[0], a["axis"], "LayerNormalization"))
    return (n * (int(bool(a["center"])) + int(bool(a["scale"]))), 0)


layer("LayerNormalization",
      args=(Arg("axis", AXIS, -1), Arg("epsilon", float_type(above=0), 1e-3), Arg("center", BOOL, True),
            Arg("scale", BOOL, True), Arg("rms_scaling", BOOL, False),
            Arg("beta_initializer", INITIALIZER, "zeros"), Arg("gamma_initializer", INITIALIZER, "ones"),
            Arg("beta_regularizer", REGULARIZER), Arg("gamma_regularizer", REGULARIZER),
            Arg("beta_constraint", CONSTRAINT), Arg("gamma_constraint", CONSTRAINT)),
      shape=lambda ins, a: (norm_axes(ins[0], a["axis"], "LayerNormalization"), ins[0])[1],
      params=layernorm_params)


# -- embeddings and recurrent layers ------------------------------------------------------------

layer("Embedding",
      args=(Arg("input_dim", POS_INT, required=True), Arg("output_dim", POS_INT, required=True),
            Arg("embeddings_initializer", INITIALIZER, "uniform"), Arg("embeddings_regularizer", REGULARIZER),
            Arg("embeddings_constraint", CONSTRAINT), Arg("mask_zero", BOOL, False), Arg("lora_rank", one_of(NONE, POS_INT)),
            Arg("lora_alpha", one_of(NONE, FLOAT))),
      shape=lambda ins, a: ins[0] + (a["output_dim"],),
      params=lambda ins, a, out: (a["input_dim"] * a["output_dim"], 0))


def rnn_args(kind):
    args = [
        Arg("units", POS_INT, required=True),
        Arg("activation", ACTIVATION, "tanh"),
    ]
    if kind != "SimpleRNN":
        args.append(Arg("recurrent_activation", ACTIVATION, "sigmoid"))
    args += [
        Arg("use_bias", BOOL, True),
        Arg("kernel_initializer", INITIALIZER, "glorot_uniform"),
        Arg("recurrent_initializer", INITIALIZER, "orthogonal"),
        Arg("bias_initializer", INITIALIZER, "zeros"),
    ]
    if kind == "LSTM":
        args.append(Arg("unit_forget_bias", BOOL, True))
    args += [
        Arg("kernel_regularizer", REGULARIZER), Arg("recurrent_regularizer", REGULARIZER),
        Arg("bias_regularizer", REGULARIZER), Arg("activity_regularizer", REGULARIZER),
        Arg("kernel_constraint", CONSTRAINT), Arg("recurrent_constraint", CONSTRAINT), Arg("bias_constraint", CONSTRAINT),
        Arg("dropout", float_type(minimum=0, maximum=1), 0.0), Arg("recurrent_dropout", float_type(minimum=0, maximum=1), 0.0),
        Arg("seed", one_of(NONE, INT)), Arg("return_sequences", BOOL, False),
        Arg("return_state", choice(False, name="False (return_state is not supported)"), False),
        Arg("go_backwards", BOOL, False), Arg("stateful", BOOL, False),
    ]
    if kind == "GRU":
        args.append(Arg("unroll", BOOL, False))
        args.append(Arg("reset_after", BOOL, True))
    else:
        args.append(Arg("unroll", BOOL, False))
    if kind != "SimpleRNN":
        args.append(Arg("use_cudnn", one_of(BOOL, choice("auto")), "auto"))
    return tuple(args)


def rnn_shape(kind):
    def rule(ins, a):
        (x,) = ins
        need_rank(x, 2, kind, "sequences (samples of rank 2: time steps, features)")
        last_dim(x, kind)
        return (x[0], a["units"]) if a["return_sequences"] else (a["units"],)

    return rule


def rnn_params(gates):
    def rule(ins, a, out):
        features, units = ins[0][-1], a["units"]
        bias = units * gates if a.get("use_bias", True) else 0
        if gates == 3 and a.get("reset_after", True) and a.get("use_bias", True):
            bias *= 2
        return (gates * units * (features + units) + bias, 0)

    return rule


layer("SimpleRNN", args=rnn_args("SimpleRNN"), shape=rnn_shape("SimpleRNN"), params=rnn_params(1), training=True)
layer("LSTM", args=rnn_args("LSTM"), shape=rnn_shape("LSTM"), params=rnn_params(4), training=True)
layer("GRU", args=rnn_args("GRU"), shape=rnn_shape("GRU"), params=rnn_params(3), training=True)


# -- merges -------------------------------------------------------------------------------------

def broadcast_merge(kind):
    def rule(ins, a):
        first = ins[0]
        for other in ins[1:]:
            if len(other) != len(first):
                raise ShapeError(f"{kind} needs inputs of equal shape, got {fmt(first)} and {fmt(other)}")
            for d1, d2 in zip(first, other):
                if d1 is not None and d2 is not None and d1 != d2 and 1 not in (d1, d2):
                    raise ShapeError(f"{kind} needs inputs of equal shape, got {fmt(first)} and {fmt(other)}",
                                     "project one side with Dense/Conv to match, or use Concatenate")
        out = []
        for dims in zip(*ins):
            known = [d for d in dims if d is not None and d != 1]
            out.append(known[0] if known else (1 if all(d == 1 for d in dims) else None))
        return tuple(out)

    return rule


for _kind in ("Add", "Multiply", "Average", "Maximum", "Minimum"):
    layer(_kind, shape=broadcast_merge(_kind), inputs=(2, None))
layer("Subtract", shape=broadcast_merge("Subtract"), inputs=(2, 2))


def concat_shape(ins, a):
    rank = len(ins[0])
    axis = a["axis"]
    pos = axis if axis >= 0 else rank + 1 + axis
    if pos < 1 or pos > rank:
        raise ShapeError(f"Concatenate axis {axis} is out of range for samples of shape {fmt(ins[0])}")
    for other in ins[1:]:
        if len(other) != rank:
            raise ShapeError(f"Concatenate needs inputs of equal rank, got {fmt(ins[0])} and {fmt(other)}")
        for i, (d1, d2) in enumerate(zip(ins[0], other)):
            if i != pos - 1 and d1 is not None and d2 is not None and d1 != d2:
                raise ShapeError(f"Concatenate on axis {axis} needs the other axes equal, "
                                 f"got {fmt(ins[0])} and {fmt(other)}")
    sizes = [s[pos - 1] for s in ins]
    joined = None if any(d is None for d in sizes) else sum(sizes)
    out = list(ins[0])
    out[pos - 1] = joined
    return tuple(out)


layer("Concatenate", args=(Arg("axis", INT, -1),), shape=concat_shape, inputs=(2, None))


def dot_shape(ins, a):
    x, y = ins
    axes = a["axes"]
    ax = tuple_of(axes, 2)
    if len(x) != len(y) and not (len(x) == 1 and len(y) == 1):
        pass
    px = ax[0] if ax[0] >= 0 else len(x) + 1 + ax[0]
    py = ax[1] if ax[1] >= 0 else len(y) + 1 + ax[1]
    if not (1 <= px <= len(x)) or not (1 <= py <= len(y)):
        raise ShapeError(f"Dot axes {axes} out of range for {fmt(x)} and {fmt(y)}")
    if x[px - 1] is not None and y[py - 1] is not None and x[px - 1] != y[py - 1]:
        raise ShapeError(f"Dot needs equal sizes on the contracted axes, got {fmt(x)} and {fmt(y)}")
    out = tuple(d for i, d in enumerate(x) if i != px - 1) + tuple(d for i, d in enumerate(y) if i != py - 1)
    return out if out else (1,)


layer("Dot", args=(Arg("axes", int_tuple(2, minimum=None), required=True), Arg("normalize", BOOL, False)),
      shape=dot_shape, inputs=(2, 2))
