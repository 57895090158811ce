"""Catalog entries: the rest of keras.layers that a spec can write.

Adaptive pooling, ActivityRegularization, EinsumDense, ReversibleEmbedding, SpectralNormalization,
GroupQueryAttention, and the audio front ends MelSpectrogram and STFTSpectrogram; the recurrent
cells with RNN and StackedRNNCells, and ConvLSTM1D/2D/3D, are in layers_recurrent (imported here). Argument order and defaults follow the Keras
3.15 `__init__`s; the shape rules follow each class's compute_output_shape and build, and refuse
what Keras refuses (or builds and then fails on when the model runs).

Left out of the catalog on purpose (they hold code, files or another framework's modules, which a
spec cannot write): Lambda, Layer, Wrapper, InputLayer, InputSpec, TFSMLayer, JaxLayer, FlaxLayer,
TorchModuleWrapper, Pipeline.
"""

from __future__ import annotations

import math
import re

from . import layers_recurrent  # noqa: F401  (registers the cells, RNN, StackedRNNCells, ConvLSTM)
from .catalog import (
    ACTIVATION,
    BOOL,
    CONSTRAINT,
    DATA_FORMAT,
    INITIALIZER,
    NONE,
    PADDING,
    PENALTY,
    POS_INT,
    REGULARIZER,
    STR,
    Arg,
    CallArg,
    ShapeError,
    Type,
    bind_call,
    choice,
    float_type,
    int_tuple,
    layer,
    layer_type,
    one_of,
    seq_of,
    unsupported,
)
from .dtypes import FLOATS, float_dtype, keep_dtype, numbers_only, refuse
from .layers_base import (
    LORA_ALPHA,
    LORA_RANK,
    SEED,
    UNIT_RATE,
    all_checks,
    axes_of,
    channels_first,
    conv_length,
    fmt,
    last_dim,
    need_rank,
    put_spatial,
    same_shape,
    spatial,
    spatial_what,
    tuple_of,
    weight_args,
)
from .layers_core import lora_check
from .layers_seq import _flash as flash_test
from .layers_seq import differ
from .values import Call, show

# -- dtypes ----------------------------------------------------------------------------------------


def floats_only(kind, why):
    """A layer that computes in floats and refuses other inputs when it runs (`why`)."""

    def rule(ins, a):
        for i, dtype in enumerate(ins):
            if dtype not in FLOATS:
                raise refuse(kind, ins, i, f"floats ({why})", 'cast it first, e.g. `cast(x, "float32")`')
        return float_dtype(a)

    return rule


def numbers_kept(kind):
    """A layer that passes numbers on in their own dtype (an int input stays int)."""

    def rule(ins, a):
        numbers_only(kind, ins)
        return keep_dtype(ins, a)

    return rule


# -- adaptive pooling ------------------------------------------------------------------------------


def adaptive_rule(rank, kind, op):
    def rule(ins, a):
        (x,) = ins
        need_rank(x, rank + 1, kind, spatial_what(rank))
        first = channels_first(a)
        dims, channels = spatial(x, first)
        sizes = tuple_of(a["output_size"], rank)
        for n, o in zip(dims, sizes, strict=True):
            # Keras 3.15's TensorFlow backend pools twice, with windows of ceil(n/o) and one more,
            # both "valid": the larger one does not fit an axis when o is 1 or n is 1, and the
            # model fails when it runs (the static shape is computed without pooling).
            if n is not None and (n == 1 or o == 1):
                window = math.ceil(n / o) + 1
                hint = (
                    f"for one value per channel use Global{op}Pooling{rank}D(keepdims=True)"
                    if o == 1
                    else "pool axes of 2 or more positions"
                )
                raise ShapeError(
                    f"{kind}: pooling an axis of {n} to {o} makes Keras 3.15 (TensorFlow) pool with a window "
                    f"of {window}, which does not fit it; the model fails when it runs (input {fmt(x)})",
                    hint,
                )
        return put_spatial(sizes, channels, first)

    return rule


for _rank in (1, 2, 3):
    for _op in ("Average", "Max"):
        _kind = f"Adaptive{_op}Pooling{_rank}D"
        layer(
            _kind,
            args=(Arg("output_size", int_tuple(_rank), required=True), Arg("data_format", DATA_FORMAT)),
            shape=adaptive_rule(_rank, _kind, _op),
            # TensorFlow's average pooling takes floats only; max pooling keeps an int input int
            dtype=floats_only(_kind, "TensorFlow averages floats only") if _op == "Average" else numbers_kept(_kind),
            doc=f"{_op.lower()}-pools each spatial axis to the size output_size gives, whatever the input's",
        )


# -- activity regularization ---------------------------------------------------------------------

layer(
    "ActivityRegularization",
    args=(Arg("l1", PENALTY, 0.0), Arg("l2", PENALTY, 0.0)),
    shape=same_shape,
    dtype=numbers_kept("ActivityRegularization"),
    doc="passes its input on, and adds l1 * sum|x| + l2 * sum x² of it to the training loss",
)


# -- EinsumDense -----------------------------------------------------------------------------------

# Keras's three forms (einsum_dense._analyze_einsum_string), on the equation with "..." as "0":
# no ellipsis, an ellipsis leading input and output, an ellipsis ending them.
EINSUM_FORMS = (
    (re.compile(r"([a-zA-Z]+),([a-zA-Z]+)->([a-zA-Z]+)"), None),
    (re.compile(r"0([a-zA-Z]+),([a-zA-Z]+)->0([a-zA-Z]+)"), "left"),
    (re.compile(r"([a-zA-Z]{2,})0,([a-zA-Z]+)->([a-zA-Z]+)0"), "right"),
)


def parse_equation(equation: str):
    """(input letters, kernel letters, output letters, where "..." is: None | "left" | "right"),
    or None. Keras matches a prefix only; the whole equation must match here, as einsum reads it all."""
    text = equation.replace("...", "0")
    for pattern, side in EINSUM_FORMS:
        found = pattern.fullmatch(text)
        if found:
            return found.group(1), found.group(2), found.group(3), side
    return None


def einsum_check(a):
    equation = a["equation"]
    parsed = parse_equation(equation)
    if parsed is None:
        return [
            (
                f"equation {show(equation)} is not of a form Keras reads",
                'write "ab,bc->ac", "...b,bc->...c" or "abc...,cd->abd..." (letters only, one comma, one ->)',
                "equation",
            )
        ]
    inputs, kernel, outputs, side = parsed
    out = []
    twice = sorted({c for c in outputs if outputs.count(c) > 1})
    if twice:
        out.append((f"equation {show(equation)}: the output names axis {twice[0]!r} twice", None, "equation"))
    for c in outputs:
        if c not in inputs and c not in kernel:
            out.append(
                (
                    f"equation {show(equation)}: output axis {c!r} is neither an input nor a kernel axis",
                    None,
                    "equation",
                )
            )
    for c in kernel:
        if c not in inputs and c not in outputs:
            out.append(
                (
                    f"equation {show(equation)}: kernel axis {c!r} is neither an input nor an output axis",
                    "every kernel axis takes its size from the input or from output_shape",
                    "equation",
                )
            )
    bias = a["bias_axes"]
    if bias is not None:
        if not bias:
            out.append(("bias_axes is empty", "leave it out (None) for no bias", "bias_axes"))
        for c in bias:
            if c not in outputs:
                out.append((f"bias axis {c!r} is not an axis of the output {outputs!r}", None, "bias_axes"))
    return out


def _refused_object(kind, what, rank, initializer, regularizer):
    """Keras's Identity fills a matrix only, Orthogonal a weight of rank 2 or more, and
    OrthogonalRegularizer takes a matrix only: an EinsumDense's weights have any rank."""

    def key(v):
        name = v.name if isinstance(v, Call) else v
        return name.replace("_", "").lower() if isinstance(name, str) else None

    problem = None
    if key(initializer) == "identity" and rank != 2:
        problem = "the Identity initializer fills a matrix (rank 2) only"
    elif key(initializer) == "orthogonal" and rank < 2:
        problem = "the Orthogonal initializer fills a weight of rank 2 or more only"
    elif key(regularizer) == "orthogonalregularizer" and rank != 2:
        problem = "OrthogonalRegularizer takes a matrix (rank 2) only"
    if problem:
        raise ShapeError(f"{kind}: {problem}, and its {what} has rank {rank}", "choose another initializer")


def einsum_layout(x, a):
    """Keras's reading of the equation for samples `x` (its _analyze_split_string, batch axis
    None): (input, kernel, output letters, the full input and output shapes, the letters'
    positions in them), with its refusals and the cases where its static shape is wrong."""
    kind = "EinsumDense"
    parsed = parse_equation(a["equation"])
    if parsed is None:
        raise ShapeError(f"{kind}: equation {show(a['equation'])} is not of a form Keras reads")
    inputs, kernel, outputs, side = parsed
    full = (None,) + tuple(x)
    elided = len(full) - len(inputs)  # the axes "..." stands for
    if elided < 0 or (side is None and elided):
        raise ShapeError(
            f"{kind}: the equation {show(a['equation'])} names {len(inputs)} input axes (the batch axis "
            f"first{', plus the axes ...' if side else ''}), the input has {len(full)} with the batch axis: "
            f"{fmt(x)} per sample",
            'use "..." for the axes the equation does not name, e.g. "...b,bc->...c"',
        )
    partial = list(axes_of(a["output_shape"]))
    batch_named = side != "left" or elided == 0  # the equation's first input letter is the batch axis
    want = len(outputs) - (1 if batch_named else 0)
    if len(partial) != want:
        raise ShapeError(
            f"{kind}: output_shape {show(a['output_shape'])} has {len(partial)} "
            f"entr{'y' if len(partial) == 1 else 'ies'}; the output {outputs!r} of the equation needs "
            f"{want} (its axes{' after the batch axis' if batch_named else ''})",
            "give one size per output axis, None for an axis the input shares",
        )
    if batch_named and (inputs[0] in kernel or outputs.find(inputs[0]) != 0):
        raise ShapeError(
            f"{kind}: {inputs[0]!r}, the batch axis (the input's first), must be the output's first axis "
            f"and no kernel axis in {show(a['equation'])}"
        )
    out = [None] + partial
    if side == "left" and elided > 1:
        middle = list(full[1:elided])
        if middle != middle[::-1]:
            # Keras inserts them one by one at position 1, so its static shape has them reversed
            raise ShapeError(
                f"{kind}: Keras 3.15 gives the axes '...' stands for ({fmt(middle)}) in reverse order "
                f"in its output shape, and layers after it are built for the wrong shape",
                "Reshape so that '...' stands for the batch axis and one more, or name the axes in the equation",
            )
        out[1:1] = middle
    elif side == "right" and elided > 0:
        out += list(full[len(full) - elided :])
    shift = elided if side == "left" else 0
    in_index = {c: i + shift - (len(full) if side == "left" else 0) for i, c in enumerate(inputs)}
    out_index = {c: i + shift for i, c in enumerate(outputs)}
    for c in sorted(set(inputs)):
        sizes = {full[i + shift - (len(full) if side == "left" else 0)] for i, d in enumerate(inputs) if d == c}
        if inputs.count(c) > 1 and (len(sizes) > 1 or None in sizes):
            # einsum takes the diagonal of the axes a letter names twice: they need one known size
            raise ShapeError(
                f"{kind}: the equation names input axis {c!r} {inputs.count(c)} times: einsum takes the "
                f"diagonal of those axes, which needs them of one known size (input {fmt(x)}, batch axis first)"
            )
    for c in inputs:
        if c in out_index:
            given, size = out[out_index[c]], full[in_index[c]]
            if given is not None and given != size:
                raise ShapeError(
                    f"{kind}: output_shape gives axis {c!r} the size {given}, the input has "
                    f"{'no fixed size' if size is None else size} there (input {fmt(x)})",
                    "write None in output_shape for an axis the output shares with the input",
                )
    return inputs, kernel, outputs, full, out, in_index, out_index


def einsum_weights(x, a):
    """(kernel shape, bias shape or None, output shape) of an EinsumDense on samples `x`."""
    kind = "EinsumDense"
    inputs, kernel, outputs, full, out, in_index, out_index = einsum_layout(x, a)
    kernel_shape = tuple(out[out_index[c]] if c in out_index else full[in_index[c]] for c in kernel)
    for c, size in zip(kernel, kernel_shape, strict=True):
        if size is None:
            raise ShapeError(
                f"{kind}: kernel axis {c!r} has no known size (input {fmt(x)}, output_shape {show(a['output_shape'])})",
                "give that axis a size in output_shape, or the input a fixed size there",
            )
    bias_shape = None
    axes = a["bias_axes"]
    if axes is not None:
        # from the first bias axis of the output to its end, 1 on the axes without a bias (and on
        # those a trailing "..." stands for)
        first = min(outputs.find(c) for c in axes)
        bias_shape = tuple(out[out_index[c]] if c in axes else 1 for c in outputs[first:])
        bias_shape += (1,) * (len(out) - 1 - out_index[outputs[-1]])
        if None in bias_shape:
            raise ShapeError(
                f"{kind}: the bias on axes {axes!r} has no known size: {fmt(bias_shape)}",
                "give the output a fixed size on the bias axes",
            )
    _refused_object(kind, "kernel", len(kernel_shape), a["kernel_initializer"], a["kernel_regularizer"])
    if bias_shape is not None:
        _refused_object(kind, "bias", len(bias_shape), a["bias_initializer"], a["bias_regularizer"])
    return kernel_shape, bias_shape, tuple(out[1:])


def einsum_params(ins, a, out):
    kernel, bias, _ = einsum_weights(ins[0], a)
    bias_count = math.prod(bias) if bias is not None else 0
    rank = a["lora_rank"]
    if rank:  # the kernel is frozen; two factors, kernel[:-1] x rank and rank x kernel[-1], train
        return (math.prod(kernel[:-1]) * rank + rank * kernel[-1] + bias_count, math.prod(kernel))
    return (math.prod(kernel) + bias_count, 0)


def einsum_sizes(ins, a, out):
    kernel, _, _ = einsum_weights(ins[0], a)
    sizes = {"kernel": kernel}
    if a["lora_rank"]:
        sizes.update({"LoRA factor a": kernel[:-1] + (a["lora_rank"],), "LoRA factor b": (a["lora_rank"], kernel[-1])})
    return sizes


layer(
    "EinsumDense",
    args=(
        Arg("equation", STR, required=True),
        Arg("output_shape", one_of(POS_INT, seq_of(one_of(NONE, POS_INT)), name="output shape"), required=True),
        Arg("activation", ACTIVATION),
        Arg("bias_axes", one_of(NONE, STR, name="bias axes (output letters)")),
        Arg("kernel_initializer", INITIALIZER, "glorot_uniform"),
        Arg("bias_initializer", INITIALIZER, "zeros"),
        Arg("kernel_regularizer", REGULARIZER),
        Arg("bias_regularizer", REGULARIZER),
        Arg("kernel_constraint", CONSTRAINT),
        Arg("bias_constraint", CONSTRAINT),
        Arg("lora_rank", LORA_RANK),
        Arg("lora_alpha", LORA_ALPHA),
    ),
    shape=lambda ins, a: einsum_weights(ins[0], a)[2],
    params=einsum_params,
    sizes=einsum_sizes,
    training=True,  # its call takes `training` (and ignores it)
    check=all_checks(einsum_check, lora_check("kernel_constraint")),
    doc='a dense layer written as an einsum: EinsumDense("abc,cd->abd", output_shape=(None, 64), bias_axes="d")',
)


# -- ReversibleEmbedding ------------------------------------------------------------------------------

FLOAT_DTYPE = one_of(NONE, choice("float16", "bfloat16", "float32", "float64", name="float dtype"), name="dtype")

layer(
    "ReversibleEmbedding",
    args=(
        Arg("input_dim", POS_INT, required=True),
        Arg("output_dim", POS_INT, required=True),
        Arg("tie_weights", BOOL, True),
        Arg("embeddings_initializer", INITIALIZER, "uniform"),
        Arg("embeddings_regularizer", REGULARIZER),
        Arg("embeddings_constraint", CONSTRAINT),
        Arg(
            "mask_zero",
            unsupported(
                False,
                "ReversibleEmbedding attaches its mask inside call(), where tfspec does not follow it; "
                "use Embedding(mask_zero=True)",
            ),
            False,
        ),
        Arg("reverse_dtype", FLOAT_DTYPE),
        Arg("logit_soft_cap", one_of(NONE, float_type(above=0), name="soft cap > 0")),
    ),
    shape=lambda ins, a: ins[0] + (a["output_dim"],),
    params=lambda ins, a, out: (a["input_dim"] * a["output_dim"] * (1 if a["tie_weights"] else 2), 0),
    sizes=lambda ins, a, out: {"embeddings": (a["input_dim"], a["output_dim"])},
    doc="an Embedding whose reverse call (not offered: it changes the output's shape) projects back to the vocabulary",
)


# -- SpectralNormalization -------------------------------------------------------------------------

# The layers whose weight SpectralNormalization normalises (their `kernel` or `embeddings`
# attribute), and which entry of their `sizes` rule that weight is: its last axis sizes the
# normaliser's vector u. Keras refuses any other layer ("has no attribute 'kernel' nor 'embeddings'").
SPECTRAL_KERNEL = {
    "Dense": "kernel",
    "EinsumDense": "kernel",
    "Conv1D": "kernel",
    "Conv2D": "kernel",
    "Conv3D": "kernel",
    "Conv1DTranspose": "kernel",
    "Conv2DTranspose": "kernel",
    "Conv3DTranspose": "kernel",
    "DepthwiseConv1D": "depthwise kernel",
    "DepthwiseConv2D": "depthwise kernel",
    "Embedding": "embeddings",
    "ReversibleEmbedding": "embeddings",
}


def spectral_inner(ins, a):
    inner, values = bind_call(a["layer"])
    try:
        out = tuple(inner.shape(ins, values))
    except ShapeError as exc:
        raise ShapeError(f"SpectralNormalization applies {inner.name} to its input: {exc.message}", exc.hint) from None
    return inner, values, out


def spectral_params(ins, a, out):
    inner, values, inner_out = spectral_inner(ins, a)
    trainable, frozen = inner.params(ins, values, inner_out)
    kernel = inner.sizes(ins, values, inner_out)[SPECTRAL_KERNEL[inner.name]]
    return (trainable, frozen + kernel[-1])  # vector u: (1, kernel's last axis), not trainable


def spectral_sizes(ins, a, out):
    inner, values, inner_out = spectral_inner(ins, a)
    return inner.sizes(ins, values, inner_out)


def spectral_check(a):
    _, values = bind_call(a["layer"])
    out = []
    if values.get("lora_rank"):
        out.append(
            (
                "the wrapped layer must not use lora_rank: Keras cannot write the normalised kernel into a LoRA layer",
                "remove lora_rank",
                "layer",
            )
        )
    if values.get("mask_zero"):
        # the wrapped Embedding attaches its mask inside the wrapper's call, where tfspec's mask
        # rules (tfspec.ir.masks) do not follow it
        out.append(
            (
                "the wrapped Embedding must not use mask_zero=True: tfspec does not follow a mask made inside a wrapper",
                "mask the tokens with Masking or Embedding(mask_zero=True) outside SpectralNormalization",
                "layer",
            )
        )
    return out


layer(
    "SpectralNormalization",
    args=(
        Arg("layer", layer_type(tuple(SPECTRAL_KERNEL), name="layer with a kernel"), required=True),
        Arg("power_iterations", POS_INT, 1),
    ),
    shape=lambda ins, a: spectral_inner(ins, a)[2],
    params=spectral_params,
    sizes=spectral_sizes,
    training=True,
    check=spectral_check,
    # Keras casts the wrapped layer's output to the input's dtype: an int input (an Embedding's
    # token ids) would cut the output to integers.
    dtype=floats_only("SpectralNormalization", "it casts its output to its input's dtype"),
    doc="divides a layer's kernel by its largest singular value (estimated by power iteration) when training",
)


# -- GroupQueryAttention ------------------------------------------------------------------------------


def gqa_check_args(a):
    if a["num_query_heads"] % a["num_key_value_heads"]:
        return [
            (
                f"num_query_heads={a['num_query_heads']} must be divisible by "
                f"num_key_value_heads={a['num_key_value_heads']}",
                "each key/value head serves the same number of query heads",
                "num_key_value_heads",
            )
        ]
    return []


def gqa_inputs(ins):
    """query, value, key (key defaults to value), as Keras 3.15 checks them: sequences of known
    features, query and value of one feature size, value and key of the same steps."""
    kind = "GroupQueryAttention"
    q, v = ins[0], ins[1]
    k = ins[2] if len(ins) > 2 else v
    for name, shape in (("query", q), ("value", v), ("key", k)):
        need_rank(shape, 2, kind, f"{name} sequences (samples of rank 2: steps, features)")
        last_dim(shape, f"{kind} ({name})")
    if q[-1] != v[-1]:
        raise ShapeError(
            f"{kind}: query and value need the same feature size, got query {fmt(q)} and value {fmt(v)}",
            "project one of them with Dense first",
        )
    if v[0] != k[0]:  # Keras compares the shapes as they are: None and 6 differ
        raise ShapeError(f"{kind}: value and key need the same number of steps, got value {fmt(v)} and key {fmt(k)}")
    return q, v, k


def gqa_params(ins, a, out):
    q, v, k = gqa_inputs(ins)
    d, hq, hkv = a["head_dim"], a["num_query_heads"], a["num_key_value_heads"]
    bias = 1 if a["use_bias"] else 0
    count = (q[-1] + bias) * hq * d + (k[-1] + bias) * hkv * d + (v[-1] + bias) * hkv * d
    count += hq * d * q[-1] + bias * q[-1]  # the output projection back to the query's features
    if a["use_gate"]:
        count += (q[-1] + bias) * hq * d
    return (count, 0)


def gqa_sizes(ins, a, out):
    q, v, k = gqa_inputs(ins)
    d, hq, hkv = a["head_dim"], a["num_query_heads"], a["num_key_value_heads"]
    return {
        "query kernel": (q[-1], hq, d),
        "key kernel": (k[-1], hkv, d),
        "value kernel": (v[-1], hkv, d),
        "output kernel": (hq, d, q[-1]),
        "projected query": (q[0], hq, d),
        "attention scores": (hq, q[0], k[0]),
    }


def gqa_call(ins, a, call, out):
    q, v, k = gqa_inputs(ins)
    mask = call.get("attention_mask")
    if mask is not None:
        want = (q[0], k[0])
        if len(mask) != 2 or any(differ(m, w) for m, w in zip(mask, want)):
            raise ShapeError(
                f"GroupQueryAttention: the attention mask has shape {fmt(mask)}, it needs {fmt(want)} "
                "(query steps, key steps)",
                "a padding mask of the keys becomes (query steps, key steps) with expand_dims and a comparison",
            )
    return [(a["num_query_heads"], q[0], k[0])] if call.get("return_attention_scores") else []


layer(
    "GroupQueryAttention",
    args=(
        Arg("head_dim", POS_INT, required=True),
        Arg("num_query_heads", POS_INT, required=True),
        Arg("num_key_value_heads", POS_INT, required=True),
        Arg("dropout", UNIT_RATE, 0.0),
        Arg("use_bias", BOOL, True),
        Arg("sliding_window", one_of(NONE, POS_INT)),
        Arg("flash_attention", Type("None or False", flash_test)),
        *weight_args(matrix=False),
        Arg("use_gate", BOOL, False),
        Arg("seed", SEED),
    ),
    shape=lambda ins, a: gqa_inputs(ins)[0],
    params=gqa_params,
    sizes=gqa_sizes,
    inputs=(2, 3),
    training=True,
    positional_inputs=True,
    check=gqa_check_args,
    call_args=(
        CallArg("attention_mask", 1, doc="a boolean (query steps, key steps) mask: which keys each query sees"),
        CallArg("return_attention_scores", 0, BOOL, "also yield the scores (query heads, query steps, key steps)"),
        CallArg("use_causal_mask", 0, BOOL, "each query step attends to the steps up to its own"),
    ),
    call_rule=gqa_call,
    doc="attention with fewer key/value heads than query heads; inputs [query, value] or [query, value, key]",
)


# -- audio: MelSpectrogram, STFTSpectrogram ---------------------------------------------------------------


def mel_check(a):
    length = a["sequence_length"] or a["fft_length"]
    if length > a["fft_length"]:
        return [
            (
                f"sequence_length={length} must not exceed fft_length={a['fft_length']}",
                None,
                "sequence_length",
            )
        ]
    return []


def mel_shape(ins, a):
    kind = "MelSpectrogram"
    (x,) = ins
    need_rank(x, 1, kind, "signals (samples of rank 1: the audio samples)")
    n, stride, fft = x[0], a["sequence_stride"], a["fft_length"]
    if n is None:
        return (a["num_mel_bins"], None)
    if n <= fft // 2:
        raise ShapeError(
            f"{kind}: a signal of {n} samples is too short for fft_length={fft}: it is padded by reflection "
            f"with {fft // 2} samples on each side, which needs more than {fft // 2}",
            "use a smaller fft_length or a longer signal",
        )
    frames = (n + stride + 1) // stride  # Keras 3.15's compute_output_shape
    made = (n + 2 * (fft // 2) - fft) // stride + 1  # what its stft makes
    if frames != made:
        raise ShapeError(
            f"{kind}: Keras 3.15 gives {frames} frames to a signal of {n} samples (sequence_stride={stride}, "
            f"fft_length={fft}), its STFT makes {made}; layers after it would be built for the wrong size",
            "make the signal one sample longer or shorter, or choose another sequence_stride",
        )
    return (a["num_mel_bins"], frames)


layer(
    "MelSpectrogram",
    args=(
        Arg("fft_length", POS_INT, 2048),
        Arg("sequence_stride", POS_INT, 512),
        Arg("sequence_length", one_of(NONE, POS_INT)),
        Arg("window", one_of(NONE, choice("hann", "hamming"), name="window"), "hann"),
        Arg("sampling_rate", float_type(above=0, name="sampling rate > 0"), 16000),
        Arg("num_mel_bins", POS_INT, 128),
        Arg("min_freq", float_type(minimum=0, name="frequency ≥ 0"), 20.0),
        Arg("max_freq", one_of(NONE, float_type(above=0), name="frequency > 0")),
        Arg("power_to_db", BOOL, True),
        Arg("top_db", float_type(minimum=0, name="number ≥ 0"), 80.0),
        Arg("mag_exp", float_type(above=0, name="number > 0"), 2.0),
        Arg("min_power", float_type(above=0, name="number > 0"), 1e-10),
        Arg("ref_power", float_type(above=0, name="number > 0"), 1.0),
    ),
    shape=mel_shape,
    check=mel_check,
    doc="the mel-scale spectrogram of a signal: (num_mel_bins, frames) per sample",
)

STFT_MODES = ("log", "magnitude", "psd", "real", "imag", "angle", "stft")


def stft_check(a):
    out = []
    if isinstance(a["window"], str):
        # STFTSpectrogram makes a named window with scipy.signal.get_window (in __init__), and
        # tfspec does not depend on SciPy: without it the layer cannot be made.
        out.append(
            (
                f"window={show(a['window'])} (the default) needs SciPy, which tfspec does not install",
                "write window=None (a rectangular window)",
                "window",
            )
        )
    step = a["frame_step"]
    if step is not None and step > a["frame_length"]:
        out.append((f"frame_step={step} must not exceed frame_length={a['frame_length']}", None, "frame_step"))
    if step is None and a["frame_length"] < 2:
        out.append(("frame_length=1 makes the default frame_step (frame_length // 2) 0", "give frame_step=1", None))
    if a["fft_length"] is not None and a["fft_length"] < a["frame_length"]:
        out.append(
            (f"fft_length={a['fft_length']} must not be less than frame_length={a['frame_length']}", None, "fft_length")
        )
    return out


def stft_bins(a):
    fft = a["fft_length"] or 2 ** math.ceil(math.log2(a["frame_length"]))
    return fft // 2 + 1


def stft_shape(ins, a):
    kind = "STFTSpectrogram"
    (x,) = ins
    need_rank(x, 2, kind, "signals (samples of rank 2: time, channels)")
    first = channels_first(a)
    (time,), channels = spatial(x, first)
    if channels is None:
        raise ShapeError(f"{kind} needs a known number of channels, got {fmt(x)}", "give the input fixed channels")
    step = a["frame_step"] or a["frame_length"] // 2
    frames = conv_length(time, a["frame_length"], step, a["padding"])
    if frames is not None and frames < 1:
        raise ShapeError(
            f'{kind}: frame_length={a["frame_length"]} does not fit a signal of {time} samples with padding="valid"',
            'use padding="same", a shorter frame or a longer signal',
        )
    freq = stft_bins(a) * (2 if a["mode"] == "stft" else 1)
    if a["expand_dims"]:
        return (channels, frames, freq) if first else (frames, freq, channels)
    return (freq * channels, frames) if first else (frames, freq * channels)


def stft_params(ins, a, out):
    kernels = 1 if a["mode"] in ("real", "imag") else 2  # a real and an imaginary kernel, or one
    return (kernels * a["frame_length"] * stft_bins(a), 0)


layer(
    "STFTSpectrogram",
    args=(
        Arg("mode", choice(*STFT_MODES, name="mode"), "log"),
        Arg("frame_length", POS_INT, 256),
        Arg("frame_step", one_of(NONE, POS_INT)),
        Arg("fft_length", one_of(NONE, POS_INT)),
        Arg("window", one_of(NONE, STR, name="window"), "hann"),
        Arg("periodic", BOOL, False),
        Arg("scaling", one_of(NONE, choice("density", "spectrum"), name="scaling"), "density"),
        Arg("padding", PADDING, "valid"),
        Arg("expand_dims", BOOL, False),
        Arg("data_format", DATA_FORMAT),
    ),
    shape=stft_shape,
    params=stft_params,
    check=stft_check,
    dtype=floats_only("STFTSpectrogram", "Keras refuses other inputs"),
    doc="the short-time Fourier transform of each channel, computed by a (trainable) convolution",
)
