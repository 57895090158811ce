"""Catalog entries: recurrent layers, the Bidirectional and TimeDistributed wrappers, attention."""

from __future__ import annotations

import math

from .catalog import (
    ACTIVATION,
    BOOL,
    CONSTRAINT,
    INITIALIZER,
    LAYER,
    NONE,
    POS_INT,
    RATE,
    RECURRENT_LAYER,
    REGULARIZER,
    VECTOR_INITIALIZER,
    VECTOR_REGULARIZER,
    Arg,
    CallArg,
    ShapeError,
    Type,
    bind_call,
    choice,
    layer,
    one_of,
    seq_of,
    unsupported,
)
from .layers_base import SEED, UNIT_RATE, axes_of, fmt, last_dim, need_min_rank, need_rank, weight_args
from .values import show

# -- recurrent layers -----------------------------------------------------------------------------


def _use_cudnn(v):
    if v == "auto" or v is False:
        return None
    if v is True:
        return 'True is not supported: Keras then fails on machines without cuDNN; "auto" uses cuDNN whenever it can'
    return f'expected "auto" or False, got {show(v)}'


USE_CUDNN = Type('"auto" or False', _use_cudnn, {"enum": ["auto", False]})
STATEFUL = unsupported(
    False,
    "a stateful RNN needs a fixed batch size, which a spec does not give",
    name="False (stateful is not supported)",
)


def step_args(gated: bool, forget_bias: bool, activity: bool) -> list:
    """The arguments a recurrent layer and its cell share, in Keras's order: units to
    recurrent_dropout (`forget_bias`: LSTM's unit_forget_bias; `activity`: the layer's
    activity_regularizer, which a cell does not take)."""
    args = [Arg("units", POS_INT, required=True), Arg("activation", ACTIVATION, "tanh")]
    if gated:
        args.append(Arg("recurrent_activation", ACTIVATION, "sigmoid"))
    args += [
        Arg("use_bias", BOOL, True),
        Arg("kernel_initializer", INITIALIZER, "glorot_uniform"),
        Arg("recurrent_initializer", INITIALIZER, "orthogonal"),
        Arg("bias_initializer", VECTOR_INITIALIZER, "zeros"),
    ]
    if forget_bias:
        args.append(Arg("unit_forget_bias", BOOL, True))
    args += [
        Arg("kernel_regularizer", REGULARIZER),
        Arg("recurrent_regularizer", REGULARIZER),
        Arg("bias_regularizer", VECTOR_REGULARIZER),
    ]
    if activity:
        args.append(Arg("activity_regularizer", REGULARIZER))
    return args + [
        Arg("kernel_constraint", CONSTRAINT),
        Arg("recurrent_constraint", CONSTRAINT),
        Arg("bias_constraint", CONSTRAINT),
        Arg("dropout", UNIT_RATE, 0.0),
        Arg("recurrent_dropout", UNIT_RATE, 0.0),
    ]


def rnn_args(kind):
    """The arguments of SimpleRNN/LSTM/GRU in Keras's positional order (they differ!)."""
    gated = kind != "SimpleRNN"
    args = step_args(gated, kind == "LSTM", activity=True)
    tail = [
        Arg("return_sequences", BOOL, False),
        Arg("return_state", BOOL, False),
        Arg("go_backwards", BOOL, False),
        Arg("stateful", STATEFUL, False),
        Arg("unroll", BOOL, False),
    ]
    if not gated:
        return tuple(args + tail + [Arg("seed", SEED)])
    args += [Arg("seed", SEED)] + tail
    if kind == "GRU":
        args.append(Arg("reset_after", BOOL, True))
    return tuple(args + [Arg("use_cudnn", USE_CUDNN, "auto")])


def rnn_shape(kind):
    def rule(ins, a):
        (x,) = ins
        need_rank(x, 2, kind, "sequences (samples of rank 2: steps, features)")
        last_dim(x, kind)
        return (x[0], a["units"]) if a["return_sequences"] else (a["units"],)

    return rule


def rnn_params(gates):
    def rule(ins, a, out):
        features, units = ins[0][-1], a["units"]
        bias = units * gates if a["use_bias"] else 0
        if gates == 3 and a["reset_after"]:
            bias *= 2  # GRU with reset_after keeps separate input and recurrent biases
        return (gates * units * (features + units) + bias, 0)

    return rule


def rnn_sizes(gates):
    def rule(ins, a, out):
        units = a["units"]
        return {"kernel": (ins[0][-1], gates * units), "recurrent kernel": (units, gates * units)}

    return rule


def state_shapes(kind: str, units: int) -> list:
    """The states an RNN carries (and yields with return_state=True): h, and c for an LSTM."""
    return [(units,), (units,)] if kind == "LSTM" else [(units,)]


def check_initial_state(kind: str, given, wanted: list) -> None:
    if given is None:
        return
    given = given if isinstance(given, list) else [given]
    if len(given) != len(wanted):
        names = "[h, c]" if len(wanted) == 2 else "[h]" if len(wanted) == 1 else f"{len(wanted)} states"
        raise ShapeError(
            f"{kind} takes {len(wanted)} initial state{'s' if len(wanted) != 1 else ''}, got {len(given)}",
            f"initial_state={names}, each of shape {fmt(wanted[0])}",
        )
    for i, (shape, want) in enumerate(zip(given, wanted)):
        if tuple(shape) != want:
            raise ShapeError(
                f"{kind}: initial state {i + 1} has shape {fmt(shape)}, the layer's state is {fmt(want)}",
                "a state has the layer's units per sample, e.g. the states of an encoder of the same size",
            )


def rnn_states(kind):
    def rule(ins, a, call, out):
        states = state_shapes(kind, a["units"])
        check_initial_state(kind, call.get("initial_state"), states)
        return states if a["return_state"] else []

    return rule


RNN_CALL = (
    CallArg("initial_state", (1, 2), doc="the states to start from: [h, c] for an LSTM, [h] otherwise"),
    CallArg("mask", 1, doc="a boolean (steps,) mask: which steps to skip"),
)

for _kind, _gates in (("SimpleRNN", 1), ("LSTM", 4), ("GRU", 3)):
    layer(
        _kind,
        args=rnn_args(_kind),
        shape=rnn_shape(_kind),
        params=rnn_params(_gates),
        sizes=rnn_sizes(_gates),
        training=True,
        call_args=RNN_CALL,
        call_rule=rnn_states(_kind),
    )


# -- wrappers --------------------------------------------------------------------------------------


def wrapped(kind, call, ins, where=""):
    """The wrapped layer's entry, bound values and output shape; its ShapeErrors name the wrapper."""
    inner, values = bind_call(call)
    try:
        return inner, values, tuple(inner.shape(ins, values))
    except ShapeError as exc:
        hint = None if exc.hint and "Reshape [" in exc.hint else exc.hint  # it would name the inner shape
        raise ShapeError(f"{kind} applies {inner.name} to {where or 'its input'}: {exc.message}", hint) from None


def bidirectional_shape(ins, a):
    _, _, out = wrapped("Bidirectional", a["layer"], ins)
    return out[:-1] + (out[-1] * 2,) if a["merge_mode"] == "concat" else out


def bidirectional_params(ins, a, out):
    inner, values, inner_out = wrapped("Bidirectional", a["layer"], ins)
    trainable, frozen = inner.params(ins, values, inner_out)
    return (2 * trainable, 2 * frozen)  # a forward and a backward copy


def inner_sizes(inner, ins, values, out) -> dict:
    """The wrapped layer's weights and inner tensors, and its output (per step for TimeDistributed)."""
    sizes = {f"wrapped {inner.name}'s output": out}
    if inner.sizes is not None:
        sizes.update((f"wrapped {inner.name}'s {what}", shape) for what, shape in inner.sizes(ins, values, out).items())
    return sizes


def bidirectional_states(ins, a, call, out):
    """With return_state=True on the wrapped layer: the forward states, then the backward ones."""
    inner, values, _ = wrapped("Bidirectional", a["layer"], ins)
    states = state_shapes(inner.name, values["units"])
    check_initial_state("Bidirectional", call.get("initial_state"), states + states)
    return states + states if values["return_state"] else []


def bidirectional_sizes(ins, a, out):
    inner, values, inner_out = wrapped("Bidirectional", a["layer"], ins)
    return inner_sizes(inner, ins, values, inner_out)


def _merge_mode(v):
    if v is None:
        return 'None is not supported: it makes two output tensors; use "concat", "sum", "mul" or "ave"'
    return choice("concat", "sum", "mul", "ave").check(v)


MERGE_MODE = Type("merge mode", _merge_mode, {"enum": ["concat", "sum", "mul", "ave"]})


def bidirectional_check(a):
    if bind_call(a["layer"])[1]["go_backwards"]:
        return [
            (
                "the wrapped layer must not set go_backwards=True: Bidirectional makes the backward copy itself",
                None,
                "layer",
            )
        ]
    return []


layer(
    "Bidirectional",
    args=(
        Arg("layer", RECURRENT_LAYER, required=True),
        Arg("merge_mode", MERGE_MODE, "concat"),
        Arg("weights", unsupported(None, "initial weights cannot be written in a spec")),
        Arg("backward_layer", unsupported(None, "the backward copy is made from `layer`")),
    ),
    shape=bidirectional_shape,
    params=bidirectional_params,
    sizes=bidirectional_sizes,
    training=True,
    check=bidirectional_check,
    call_args=(
        CallArg("initial_state", (2, 4), doc="the forward states, then the backward ones"),
        CallArg("mask", 1, doc="a boolean (steps,) mask"),
    ),
    call_rule=bidirectional_states,
    doc="runs a recurrent layer forwards and backwards; merge_mode=None (two outputs) is not supported",
)


def time_distributed_inner(ins, a):
    (x,) = ins
    need_min_rank(x, 2, "TimeDistributed", "samples of rank 2 or more (steps first)")
    inner, values, out = wrapped("TimeDistributed", a["layer"], [x[1:]], f"each step of {fmt(x)}")
    return inner, values, x[1:], out


def time_distributed_shape(ins, a):
    _, _, _, out = time_distributed_inner(ins, a)
    return (ins[0][0],) + out


def time_distributed_params(ins, a, out):
    inner, values, step, step_out = time_distributed_inner(ins, a)
    return inner.params([step], values, step_out)


def time_distributed_sizes(ins, a, out):
    inner, values, step, step_out = time_distributed_inner(ins, a)
    return inner_sizes(inner, [step], values, step_out)


layer(
    "TimeDistributed",
    args=(Arg("layer", LAYER, required=True),),
    shape=time_distributed_shape,
    params=time_distributed_params,
    sizes=time_distributed_sizes,
    training=True,
    doc="applies a layer to every step (axis 1) of its input",
)


# -- attention --------------------------------------------------------------------------------------


def qvk(kind, ins):
    """query, value, key (key defaults to value), each a sequence of features."""
    q, v = ins[0], ins[1]
    k = ins[2] if len(ins) > 2 else v
    for name, shape in (("query", q), ("value", v), ("key", k)):
        need_min_rank(shape, 2, kind, f"{name} samples of rank 2 or more (steps, features)")
    return q, v, k


def differ(d1, d2):
    return d1 is not None and d2 is not None and d1 != d2


def attention_check(kind, ins):
    q, v, k = qvk(kind, ins)
    if not len(q) == len(v) == len(k):
        raise ShapeError(
            f"{kind} needs query, value and key of the same rank, got "
            f"{', '.join(fmt(s) for s in (q, v, k)[: len(ins)])}"
        )
    for i, dims in enumerate(zip(q[:-2], v[:-2], k[:-2], strict=True)):
        known = {d for d in dims if d is not None}
        if len(known) > 1:
            raise ShapeError(
                f"{kind}: query, value and key must agree on axis {i + 1}, got "
                f"{', '.join(fmt(s) for s in (q, v, k)[: len(ins)])}"
            )
    if differ(k[-2], v[-2]):
        raise ShapeError(f"{kind}: key and value need the same number of steps, got value {fmt(v)} and key {fmt(k)}")
    if differ(q[-1], k[-1]):
        raise ShapeError(
            f"{kind}: query and key need the same feature size, got query {fmt(q)} and key {fmt(k)}",
            "project one of them with Dense first, or use MultiHeadAttention",
        )
    return q, v, k


def attention_shape(kind):
    def rule(ins, a):
        q, v, _ = attention_check(kind, ins)
        return q[:-1] + v[-1:]

    return rule


def attention_sizes(kind):
    """The scores: one per query step and key step (and, for AdditiveAttention, feature)."""

    def rule(ins, a, out):
        q, v, _ = attention_check(kind, ins)
        scores = q[:-1] + (v[-2],)
        return {"attention scores": scores + (q[-1],) if kind == "AdditiveAttention" else scores}

    return rule


def attention_call(kind):
    """Attention's call: a mask per input, and with return_attention_scores the scores too."""

    def rule(ins, a, call, out):
        q, v, _ = attention_check(kind, ins)
        masks = call.get("mask")
        if masks is not None:
            for name, shape, mask in zip(("query", "value"), (q, v), masks):
                if tuple(mask) != shape[:-1] and None not in mask + shape[:-1]:
                    raise ShapeError(f"{kind}: the {name} mask has shape {fmt(mask)}, the {name} has {fmt(shape)}")
        return [q[:-1] + (v[-2],)] if call.get("return_attention_scores") else []

    return rule


def attention_call_args():
    return (
        CallArg("mask", (2, 2), doc="[query mask, value mask], booleans (steps,)"),
        CallArg("return_attention_scores", 0, BOOL, "also yield the scores (query steps, value steps)"),
        CallArg("use_causal_mask", 0, BOOL, "each query step attends to the steps up to its own"),
    )


layer(
    "Attention",
    args=(
        Arg("use_scale", BOOL, False),
        Arg("score_mode", choice("dot", "concat", name="score mode"), "dot"),
        Arg("dropout", UNIT_RATE, 0.0),
        Arg("seed", SEED),
    ),
    shape=attention_shape("Attention"),
    sizes=attention_sizes("Attention"),
    call_args=attention_call_args(),
    call_rule=attention_call("Attention"),
    params=lambda ins, a, out: (int(a["use_scale"]) + int(a["score_mode"] == "concat"), 0),
    inputs=(2, 3),
    training=True,
    doc="dot-product attention; inputs [query, value] or [query, value, key]",
)


def additive_params(ins, a, out):
    if not a["use_scale"]:
        return (0, 0)
    return (last_dim(ins[0], "AdditiveAttention (its scale is sized by the query's last axis)"), 0)


layer(
    "AdditiveAttention",
    args=(Arg("use_scale", BOOL, True), Arg("dropout", UNIT_RATE, 0.0)),
    shape=attention_shape("AdditiveAttention"),
    sizes=attention_sizes("AdditiveAttention"),
    call_args=attention_call_args(),
    call_rule=attention_call("AdditiveAttention"),
    params=additive_params,
    inputs=(2, 3),
    training=True,
    doc="Bahdanau-style attention; inputs [query, value] or [query, value, key]",
)


def mha_check(kind, ins, a):
    q, v, k = qvk(kind, ins)
    if v[:-1] != k[:-1]:
        raise ShapeError(
            f"{kind}: value and key must agree on every axis but the last, got value {fmt(v)} and key {fmt(k)}"
        )
    if len(q) != len(v):
        raise ShapeError(f"{kind} needs query and value of the same rank, got query {fmt(q)} and value {fmt(v)}")
    for name, shape in (("query", q), ("value", v), ("key", k)):
        last_dim(shape, f"{kind} ({name})")
    rank = len(q)
    attended = axes_of(a["attention_axes"]) if a["attention_axes"] is not None else tuple(range(1, rank))
    for ax in attended:
        if ax >= rank:
            raise ShapeError(
                f"{kind}: attention axis {ax} is out of range for query {fmt(q)}",
                f"attention axes are the sample axes before the features: 1..{rank - 1}",
            )
    for ax in range(1, rank):
        if ax not in attended and differ(q[ax - 1], v[ax - 1]):
            raise ShapeError(
                f"{kind}: query and value must agree on axis {ax}, which is not attended over; "
                f"got query {fmt(q)} and value {fmt(v)}"
            )
    return q, v, k


def mha_output(a, q):
    shape = a["output_shape"]
    return tuple(axes_of(shape)) if shape else (q[-1],)


def mha_shape(ins, a):
    q, _, _ = mha_check("MultiHeadAttention", ins, a)
    return q[:-1] + mha_output(a, q)


def mha_params(ins, a, out):
    q, v, k = mha_check("MultiHeadAttention", ins, a)
    heads, key_dim = a["num_heads"], a["key_dim"]
    value_dim = a["value_dim"] or key_dim
    bias = bool(a["use_bias"])
    out_size = math.prod(mha_output(a, q))
    count = (q[-1] + k[-1]) * heads * key_dim + v[-1] * heads * value_dim + heads * value_dim * out_size
    count += bias * (2 * heads * key_dim + heads * value_dim + out_size)
    if a["use_gate"]:
        count += q[-1] * heads * value_dim + bias * heads * value_dim
    return (count, 0)


def mha_sizes(ins, a, out):
    """The projection kernels, and the scores: per head, one per attended query and key position."""
    q, v, k = mha_check("MultiHeadAttention", ins, a)
    heads, key_dim = a["num_heads"], a["key_dim"]
    value_dim = a["value_dim"] or key_dim
    rank = len(q)
    attended = axes_of(a["attention_axes"]) if a["attention_axes"] is not None else tuple(range(1, rank))
    batch_like = tuple(q[ax - 1] for ax in range(1, rank) if ax not in attended)
    scores = batch_like + (heads,) + tuple(q[ax - 1] for ax in attended) + tuple(k[ax - 1] for ax in attended)
    return {
        "query kernel": (q[-1], heads, key_dim),
        "key kernel": (k[-1], heads, key_dim),
        "value kernel": (v[-1], heads, value_dim),
        "output kernel": (heads, value_dim) + mha_output(a, q),
        "projected query": q[:-1] + (heads, key_dim),
        "projected value": v[:-1] + (heads, value_dim),
        "attention scores": scores,
    }


def mha_call(ins, a, call, out):
    """The attention mask must cover (query steps, key steps); the scores are per head."""
    q, v, k = mha_check("MultiHeadAttention", ins, a)
    mask = call.get("attention_mask")
    scores = mha_sizes(ins, a, out)["attention scores"]
    if mask is not None:
        want = tuple(q[:-1]) + tuple(k[:-1])
        if len(mask) != len(want) or any(differ(m, w) for m, w in zip(mask, want)):
            raise ShapeError(
                f"MultiHeadAttention: the attention mask has shape {fmt(mask)}, it needs {fmt(want)} "
                "(query steps, key steps)",
                "a padding mask of the keys becomes (query steps, key steps) with expand_dims and a comparison",
            )
    if call.get("return_attention_scores") and differ(q[-2], k[-2]):
        # Keras 3.15 gives the scores the query's length on both last axes (a symbolic shape of
        # (heads, Tq, Tq)); a layer built on them is made for the wrong size and fails when run.
        raise ShapeError(
            f"MultiHeadAttention: with query and key of different lengths ({q[-2]} and {k[-2]}), Keras 3.15 "
            "gives the attention scores a wrong shape, and layers applied to them fail when the model runs",
            "return the scores when query and key have the same length, or leave return_attention_scores out",
        )
    return [scores] if call.get("return_attention_scores") else []


def mha_args_check(a):
    if a["attention_axes"] is not None and not axes_of(a["attention_axes"]):
        return [
            (
                "attention_axes=() attends over no axis",
                "leave it out to attend over every sample axis",
                "attention_axes",
            )
        ]
    return []


def _flash(v):
    if v is None or v is False:
        return None
    if v is True:
        return "True is not supported: Keras refuses it without a flash-attention capable GPU backend"
    return f"expected None or False, got {show(v)}"


layer(
    "MultiHeadAttention",
    args=(
        Arg("num_heads", POS_INT, required=True),
        Arg("key_dim", POS_INT, required=True),
        Arg("value_dim", one_of(NONE, POS_INT)),
        Arg("dropout", RATE, 0.0),
        Arg("use_bias", BOOL, True),
        Arg("output_shape", one_of(NONE, POS_INT, seq_of(POS_INT), name="output shape")),
        Arg("attention_axes", one_of(NONE, POS_INT, seq_of(POS_INT), name="attention axes (1 = first sample axis)")),
        Arg("sliding_window", one_of(NONE, POS_INT)),
        Arg("flash_attention", Type("None or False", _flash)),
        *weight_args(matrix=False),
        Arg("use_gate", BOOL, False),
        Arg("seed", SEED),
    ),
    shape=mha_shape,
    params=mha_params,
    sizes=mha_sizes,
    inputs=(2, 3),
    training=True,
    positional_inputs=True,
    check=mha_args_check,
    call_args=(
        CallArg("attention_mask", 1, doc="a boolean (query steps, key steps) mask: which keys each query sees"),
        CallArg("return_attention_scores", 0, BOOL, "also yield the scores (heads, query steps, key steps)"),
        CallArg("use_causal_mask", 0, BOOL, "each query step attends to the steps up to its own"),
    ),
    call_rule=mha_call,
    doc="multi-head attention; inputs [query, value] or [query, value, key] (call order query, value, key)",
)
