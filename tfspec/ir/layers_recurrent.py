"""Catalog entries: the recurrent cells, StackedRNNCells and RNN, and ConvLSTM1D/2D/3D.

A cell (SimpleRNNCell, LSTMCell, GRUCell) computes one step from an input and states: it is a value
of RNN(...) or StackedRNNCells([...]), never a layer of a chain (its shape rule refuses it there,
with a hint). RNN's rules walk its cells, feeding each the previous one's units. ConvLSTM reuses
the convolution's shape rule (layers_conv) for one step and the LSTM's state checks (layers_seq).
Registered by layers_more, which imports this module.
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
    PADDING,
    POS_INT,
    REGULARIZER,
    STEPS_MASK,
    VECTOR_INITIALIZER,
    VECTOR_REGULARIZER,
    Arg,
    CallArg,
    ShapeError,
    Type,
    bind_call,
    int_tuple,
    layer,
    layer_type,
)
from .layers_base import (
    SEED,
    UNIT_RATE,
    channels_first,
    fmt,
    last_dim,
    need_rank,
    one_dilation_or_stride,
    spatial,
    tuple_of,
)
from .layers_conv import conv_rule
from .layers_seq import STATEFUL, check_initial_state, rnn_params, state_shapes, step_args
from .values import Call, show

# -- recurrent cells, StackedRNNCells and RNN -----------------------------------------------------------

CELL_GATES = {"SimpleRNNCell": 1, "LSTMCell": 4, "GRUCell": 3}


def cell_args(kind):
    """A cell's arguments in Keras's order (not its layer's: no return_* flags, GRUCell's
    reset_after before seed, no activity_regularizer)."""
    args = step_args(kind != "SimpleRNNCell", kind == "LSTMCell", activity=False)
    if kind == "GRUCell":
        args.append(Arg("reset_after", BOOL, True))
    return tuple(args + [Arg("seed", SEED)])


def not_in_a_chain(kind):
    """A cell computes one step from (input, states): Keras's call needs the states, so a cell
    cannot be a layer of a chain. It is a value of RNN (or StackedRNNCells) only."""

    def rule(ins, a):
        raise ShapeError(
            f"{kind} is a recurrent cell: it computes one step from an input and states, and is not a layer of its own",
            f"run it over the steps with RNN: `x -> RNN({kind}(...)) -> y`"
            if kind != "StackedRNNCells"
            else "pass it to RNN: `RNN(StackedRNNCells([...]))`, or the list itself: `RNN([GRUCell(8), GRUCell(8)])`",
        )

    return rule


def step_rule(kind):
    """Weights of a cell for a step input `ins[0]` (features,): the rule RNN applies to each cell."""
    return rnn_params(CELL_GATES[kind])


CELL_KINDS = tuple(CELL_GATES)
PLAIN_CELL = layer_type(CELL_KINDS, name="recurrent cell")

for _kind in CELL_KINDS:
    layer(
        _kind,
        args=cell_args(_kind),
        shape=not_in_a_chain(_kind),
        params=step_rule(_kind),
        training=True,
        doc=f"one step of {_kind[:-4]}; a value of RNN(...) or StackedRNNCells([...]), not a layer of a chain",
    )


def _cell_list(v):
    if not isinstance(v, (list, tuple)):
        return f"expected a list of cells such as [GRUCell(8), GRUCell(8)], got {show(v)}"
    if not v:
        return "expected at least one cell, got an empty list"
    for item in v:
        err = PLAIN_CELL.check(item)
        if err:
            return err
    return None


def _cell_hint(v):
    items = v if isinstance(v, (list, tuple)) else [v]
    for item in items:
        if isinstance(item, Call) and item.name in ("SimpleRNN", "LSTM", "GRU"):
            return f"RNN takes a cell: {item.name}Cell(...); {item.name}(...) is a whole recurrent layer"
    return None


CELL_LIST = Type("list of cells", _cell_list, hint=_cell_hint)

layer(
    "StackedRNNCells",
    args=(Arg("cells", CELL_LIST, required=True),),
    shape=not_in_a_chain("StackedRNNCells"),
    training=True,
    doc="cells run one after the other at each step; a value of RNN(...), not a layer of a chain",
)

SINGLE_CELL = layer_type(CELL_KINDS + ("StackedRNNCells",), name="recurrent cell")


def _cell_value(v):
    return CELL_LIST.check(v) if isinstance(v, (list, tuple)) else SINGLE_CELL.check(v)


CELL = Type("cell or list of cells", _cell_value, hint=_cell_hint)


def cells_of(value) -> tuple:
    """[(entry, bound values)] of the cells an RNN runs, in order, and whether they are stacked."""
    if isinstance(value, (list, tuple)):
        return [bind_call(c) for c in value], True
    definition, values = bind_call(value)
    if definition.name == "StackedRNNCells":
        return [bind_call(c) for c in values["cells"]], True
    return [(definition, values)], False


def rnn_layer_check(a):
    _, stacked = cells_of(a["cell"])
    if stacked and a["return_state"]:
        # Traced, Keras 3.15 yields a stack's states flat; run eagerly (a subclassed model) it
        # yields each cell's states in a list of its own: the two styles would differ.
        return [
            (
                "return_state=True with stacked cells: Keras 3.15 returns their states flat when the "
                "model is traced and in one list per cell when it runs eagerly",
                "give each cell an RNN of its own to get its states",
                "return_state",
            )
        ]
    return []


def rnn_cells_walk(x, a):
    """[(entry, values, step input shape)] of the RNN's cells, and the last one's units."""
    cells, _ = cells_of(a["cell"])
    walk, features = [], x[-1]
    for definition, values in cells:
        walk.append((definition, values, (features,)))
        features = values["units"]
    return walk, features


def rnn_layer_shape(ins, a):
    (x,) = ins
    need_rank(x, 2, "RNN", "sequences (samples of rank 2: steps, features)")
    last_dim(x, "RNN")
    _, units = rnn_cells_walk(x, a)
    return (x[0], units) if a["return_sequences"] else (units,)


def rnn_layer_params(ins, a, out):
    walk, _ = rnn_cells_walk(ins[0], a)
    total = [0, 0]
    for definition, values, step in walk:
        trainable, frozen = definition.params([step], values, None)
        total[0] += trainable
        total[1] += frozen
    return tuple(total)


def rnn_layer_sizes(ins, a, out):
    walk, _ = rnn_cells_walk(ins[0], a)
    sizes = {}
    for i, (definition, values, step) in enumerate(walk):
        gates, units = CELL_GATES[definition.name], values["units"]
        sizes[f"cell {i + 1}'s kernel"] = (step[0], gates * units)
        sizes[f"cell {i + 1}'s recurrent kernel"] = (units, gates * units)
    return sizes


def rnn_layer_states(ins, a, call, out):
    """A single cell carries its own states (h, and c for an LSTMCell); a stack one state per cell,
    which Keras takes flat only when every cell has one state."""
    cells, stacked = cells_of(a["cell"])
    states = []
    for definition, values in cells:
        own = state_shapes(definition.name[:-4], values["units"])
        if stacked and len(own) > 1 and call.get("initial_state") is not None:
            raise ShapeError(
                "RNN: initial_state for stacked cells with an LSTMCell: Keras takes that cell's [h, c] as a "
                "nested list, which a spec's flat list of tensors cannot give",
                "give the LSTMCell an RNN of its own to start it from states",
            )
        states += own
    check_initial_state("RNN", call.get("initial_state"), states)
    return states if a["return_state"] else []


layer(
    "RNN",
    args=(
        Arg("cell", CELL, required=True),
        Arg("return_sequences", BOOL, False),
        Arg("return_state", BOOL, False),
        Arg("go_backwards", BOOL, False),
        Arg("stateful", STATEFUL, False),
        Arg("unroll", BOOL, False),
        Arg("zero_output_for_mask", BOOL, False),
    ),
    shape=rnn_layer_shape,
    params=rnn_layer_params,
    sizes=rnn_layer_sizes,
    training=True,
    check=rnn_layer_check,
    call_args=(
        CallArg("initial_state", (1, 100), doc="the states to start from: [h, c] for an LSTMCell, one per cell"),
        CallArg("mask", 1, doc="a boolean (steps,) mask: which steps to skip"),
    ),
    call_rule=rnn_layer_states,
    doc="runs a cell over the steps: RNN(LSTMCell(8)), RNN([GRUCell(8), GRUCell(8)]) for stacked cells",
)


# -- ConvLSTM1D/2D/3D ----------------------------------------------------------------------------------


def conv_lstm_args(rank):
    return (
        Arg("filters", POS_INT, required=True),
        Arg("kernel_size", int_tuple(rank), required=True),
        Arg("strides", int_tuple(rank), 1),
        Arg("padding", PADDING, "valid"),
        Arg("data_format", DATA_FORMAT),
        Arg("dilation_rate", int_tuple(rank), 1),
        Arg("activation", ACTIVATION, "tanh"),
        Arg("recurrent_activation", ACTIVATION, "sigmoid"),
        Arg("use_bias", BOOL, True),
        Arg("kernel_initializer", KERNEL_INITIALIZER, "glorot_uniform"),
        Arg("recurrent_initializer", KERNEL_INITIALIZER, "orthogonal"),
        Arg("bias_initializer", VECTOR_INITIALIZER, "zeros"),
        Arg("unit_forget_bias", BOOL, True),
        Arg("kernel_regularizer", KERNEL_REGULARIZER),
        Arg("recurrent_regularizer", KERNEL_REGULARIZER),
        Arg("bias_regularizer", VECTOR_REGULARIZER),
        Arg("activity_regularizer", REGULARIZER),
        Arg("kernel_constraint", CONSTRAINT),
        Arg("recurrent_constraint", CONSTRAINT),
        Arg("bias_constraint", CONSTRAINT),
        Arg("dropout", UNIT_RATE, 0.0),
        Arg("recurrent_dropout", UNIT_RATE, 0.0),
        Arg("seed", SEED),
        Arg("return_sequences", BOOL, False),
        Arg("return_state", BOOL, False),
        Arg("go_backwards", BOOL, False),
        Arg("stateful", STATEFUL, False),
    )


STEP_AXES = {
    1: "(steps, length, channels)",
    2: "(steps, height, width, channels)",
    3: "(steps, depth, height, width, channels)",
}


def conv_lstm_step(rank, kind):
    """The shape of one output step (= of each state), after Keras's checks of the input."""
    step_conv = conv_rule(rank, kind, lambda channels, a: a["filters"])

    def rule(x, a):
        need_rank(x, rank + 2, kind, f"samples of rank {rank + 2} {STEP_AXES[rank]}")
        dims, channels = spatial(x[1:], channels_first(a))
        if None in dims:
            raise ShapeError(
                f"{kind} needs known sizes on the spatial axes of each step, got {fmt(x)}",
                "give the input fixed spatial sizes (the steps may vary)",
            )
        try:
            return step_conv([x[1:]], a)
        except ShapeError as exc:
            raise ShapeError(f"{exc.message} (each step of {fmt(x)})", exc.hint) from None

    return rule


def conv_lstm_shape(rank, kind):
    step = conv_lstm_step(rank, kind)

    def rule(ins, a):
        out = step(ins[0], a)
        return (ins[0][0],) + out if a["return_sequences"] else out

    return rule


def conv_lstm_params(rank):
    def rule(ins, a, out):
        channels = spatial(ins[0][1:], channels_first(a))[1]
        k, f = math.prod(tuple_of(a["kernel_size"], rank)), a["filters"]
        return (k * (channels + f) * 4 * f + (4 * f if a["use_bias"] else 0), 0)

    return rule


def conv_lstm_sizes(rank):
    def rule(ins, a, out):
        channels = spatial(ins[0][1:], channels_first(a))[1]
        window, f = tuple_of(a["kernel_size"], rank), a["filters"]
        return {"kernel": window + (channels, 4 * f), "recurrent kernel": window + (f, 4 * f)}

    return rule


def conv_lstm_states(rank, kind):
    step = conv_lstm_step(rank, kind)

    def rule(ins, a, call, out):
        state = step(ins[0], a)
        check_initial_state(kind, call.get("initial_state"), [state, state])
        return [state, state] if a["return_state"] else []

    return rule


for _rank in (1, 2, 3):
    _kind = f"ConvLSTM{_rank}D"
    layer(
        _kind,
        args=conv_lstm_args(_rank),
        shape=conv_lstm_shape(_rank, _kind),
        params=conv_lstm_params(_rank),
        sizes=conv_lstm_sizes(_rank),
        training=True,
        check=one_dilation_or_stride,
        call_args=(
            CallArg("initial_state", (2, 2), doc="[h, c], each of the shape of one output step"),
            STEPS_MASK,
        ),
        call_rule=conv_lstm_states(_rank, _kind),
        doc=f"an LSTM whose input and recurrent transforms are {_rank}D convolutions; steps on axis 1",
    )
