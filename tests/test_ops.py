"""The tensor-operation catalog (tfspec.ir.ops) against real keras.ops (Keras 3.15).

Every operation has a table of cases: operands (per-sample shapes, or Python numbers) and static
arguments. For a valid case the catalog's shape and dtype rules must give what keras.ops gives
when called symbolically on KerasTensors with the batch axis added; an invalid case must raise
ShapeError, and where Keras refuses it too, Keras must raise. A grid of dtypes checks the dtype
rules. `positions` is checked in a functional model, with an Embedding that must train on it.
"""

from __future__ import annotations

import inspect
import os

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
np = pytest.importorskip("numpy")
keras = pytest.importorskip("keras")

from tfspec.ir.catalog import ShapeError  # noqa: E402
from tfspec.ir.ops import (  # noqa: E402
    CONSTANT,
    OPERATORS,
    OPS,
    PY_BOOL,
    PY_INT,
    bind_op,
    constant_dtype,
    index_code,
    lookup_op,
    positions_code,
)

OK, OURS, BOTH = "ok", "ours", "both"  # valid; refused by tfspec only; refused by tfspec and Keras
F = (None, None, None)  # the slice `:`


def case(name, *operands, expect=OK, fill=3, **values):
    """`fill`: the size that unknown (None) sizes take when the case is run on real tensors."""
    return (name, operands, values, expect, fill)


UNARY = (
    "abs negative square sqrt exp log tanh relu relu6 sigmoid silu swish hard_sigmoid hard_silu hard_swish "
    "selu softplus softsign gelu elu leaky_relu logical_not cast"
).split()
BINARY = (
    "add subtract multiply divide floor_divide mod power maximum minimum equal not_equal less less_equal "
    "greater greater_equal logical_and logical_or"
).split()

CASES = []
for _name in UNARY:
    _values = {"dtype": "int32"} if _name == "cast" else {}
    CASES += [case(_name, s, **_values) for s in [(3, 4), (None,), (), (None, None, 8)]]
CASES += [
    case("gelu", (3,), approximate=False),
    case("elu", (3,), alpha=0.5),
    case("leaky_relu", (3,), negative_slope=0.1),
    case("cast", (3, None), dtype="bool"),
    case("cast", (3,), dtype="float16"),
]
for _name in BINARY:
    CASES += [
        case(_name, (3, 4), (3, 4)),
        case(_name, (3, 4), (1, 4)),
        case(_name, (1, 4), (3, 1)),
        case(_name, (None, 4), (3, 4)),
        case(_name, (None, 4), (1, 4)),
        case(_name, (1, None), (None, None)),
        case(_name, (3, 4), 2),
        case(_name, 2.5, (3, 4)),
        case(_name, (), True),
        case(_name, (2, 4), (3, 4), expect=BOTH),
        case(_name, (3, 4), (4,), expect=OURS),  # Keras would broadcast the batch axis against axis 1
    ]
for _name in ("softmax", "log_softmax"):
    CASES += [
        case(_name, (3, 4)),
        case(_name, (3, 4), axis=1),
        case(_name, (None, 4), axis=(1, 2)),
        case(_name, (3, 4), axis=0, expect=OURS),
        case(_name, (3, 4), axis=(0, 1), expect=OURS),
    ]
for _name in ("mean", "sum", "prod", "max", "min"):
    CASES += [
        case(_name, (3, 4), axis=1),
        case(_name, (3, 4), axis=-1),
        case(_name, (None, 4), axis=(1, 2)),
        case(_name, (None, 4), axis=1, keepdims=True),
        case(_name, (3, None, 5), axis=(-1, 1), keepdims=True),
        case(_name, (3, 4), expect=OURS),  # axis None: the batch axis too
        case(_name, (3, 4), axis=0, expect=OURS),
        case(_name, (3, 4), axis=(0, 2), expect=OURS),
        case(_name, (3, 4), axis=(1, -2), expect=OURS),  # the same axis twice
        case(_name, (3, 4), axis=3, expect=BOTH),
    ]
for _name in ("argmax", "argmin"):
    CASES += [
        case(_name, (3, 4), axis=1),
        case(_name, (None, 4), axis=-1, keepdims=True),
        case(_name, (3, 4), expect=OURS),
        case(_name, (3, 4), axis=0, expect=OURS),
    ]
CASES += [
    case("matmul", (3, 4), (4, 5)),
    case("matmul", (3, None), (4, 5), fill=4),
    case("matmul", (None, 3), (3, None)),
    case("matmul", (2, 3, 4), (1, 4, 5)),
    case("matmul", (None, 3, 4), (2, 4, 5), fill=2),
    case("matmul", (2, 3), (4, 5), expect=BOTH),
    case("matmul", (3,), (3, 5), expect=OURS),  # a vector: Keras would contract over the batch axis
    case("matmul", (3, 4), (2, 4, 5), expect=OURS),
    case("matmul", (2, 3, 4), (3, 4, 5), expect=BOTH),
    case("matmul", (3, 4), 2, expect=BOTH),
    case("transpose", (3, 4), axes=(0, 2, 1)),
    case("transpose", (3, 4), axes=(0, -1, -2)),
    case("transpose", (None, 4, 5), axes=(0, 3, 1, 2)),
    case("transpose", (7,), axes=(0, 1)),
    case("transpose", ()),
    case("transpose", (3, 4), expect=OURS),
    case("transpose", (3, 4), axes=(1, 0, 2), expect=OURS),
    case("transpose", (3, 4), axes=(0, 1, 1), expect=OURS),
    case("transpose", (3, 4), axes=(0, 1), expect=BOTH),
    case("transpose", (3, 4), axes=(0, 1, 3), expect=OURS),
    case("reshape", (3, 4), newshape=(-1, 12)),
    case("reshape", (3, 4), newshape=(None, 2, 6), expect=OURS),  # printed as written: -1 for the batch
    case("reshape", (3, 4), newshape=(-1, -1, 2), expect=OURS),  # TensorFlow infers one size only
    case("reshape", (3, 4), newshape=(-1, 2, 2, 3)),
    case("reshape", (12,), newshape=(-1, 1, 12, 1)),
    case("reshape", (3, 4), newshape=(12,), expect=OURS),
    case("reshape", (3, 4), newshape=(-1, 5), expect=OURS),
    case("reshape", (3, 4), newshape=(-1, -1, -1), expect=OURS),
    case("reshape", (3, 4), newshape=(-1, -1, 5), expect=OURS),
    case("reshape", (3, 4), newshape=(-1, 0), expect=OURS),
    case("reshape", (None, 4), newshape=(-1, 4), expect=OURS),  # unknown size: the Reshape layer
    case("expand_dims", (3, 4), axis=1),
    case("expand_dims", (3, 4), axis=-1),
    case("expand_dims", (3, 4), axis=3),
    case("expand_dims", (None, 4), axis=-3),
    case("expand_dims", (), axis=1),
    case("expand_dims", (3, 4), axis=0, expect=OURS),
    case("expand_dims", (3, 4), axis=-4, expect=OURS),
    case("expand_dims", (3, 4), axis=4, expect=BOTH),
    case("squeeze", (1, 4), axis=1),
    case("squeeze", (1, 4, 1), axis=(1, 3)),
    case("squeeze", (None, 1), axis=-1),
    case("squeeze", (1, 4), expect=OURS),  # axis None: tf.squeeze drops a batch axis of 1 too
    case("squeeze", (1, 4), axis=2, expect=BOTH),
    case("squeeze", (None, 4), axis=1, expect=BOTH),
    case("squeeze", (1, 4), axis=0, expect=OURS),
    case("concatenate", (3, 4), (5, 4), axis=1),
    case("concatenate", (3, 4), (3, 2), (3, 1), axis=-1),
    case("concatenate", (None, 4), (3, 4), axis=1),
    case("concatenate", (None, 4), (3, 4), axis=2),
    case("concatenate", (3,), axis=1),
    case("concatenate", (3, 4), (3, 4), axis=0, expect=OURS),
    case("concatenate", (2, 4), (3, 4), axis=2, expect=BOTH),
    case("concatenate", (3, 4), (3,), axis=1, expect=BOTH),
    case("concatenate", (3, 4), 1, axis=1, expect=OURS),
    case("stack", (3, 4), (3, 4), axis=1),
    case("stack", (3, 4), (3, 4), (3, 4), axis=-1),
    case("stack", (3, 4), (3, 4), axis=3),
    case("stack", (None, 4), (3, 4), axis=2),
    case("stack", (3, 4), (3, 4), axis=0, expect=OURS),
    case("stack", (3, 4), (3, 4), axis=-4, expect=OURS),
    case("stack", (2, 4), (3, 4), axis=1, expect=BOTH),
    case("getitem", (3, 4), key=(F, 0)),
    case("getitem", (3, 4), key=(Ellipsis, None)),
    case("getitem", (3, 4), key=(F, (None, None, -1))),
    case("getitem", (None, 4), key=(F, (1, 3, None))),
    case("getitem", (5, 4), key=(F, (1, -1, 2), -1)),
    case("getitem", (3, 4), key=(F, F, 2)),
    case("getitem", (3, 4), key=(Ellipsis, 0)),
    case("getitem", (3, 4), key=(F, None)),
    case("getitem", (3, 4), key=(F, Ellipsis, None, 1)),
    case("getitem", (None, 4), key=(F, 7), fill=9),
    case("getitem", (3, 4), key=()),
    case("getitem", (3, 4), key=(0,), expect=OURS),
    case("getitem", (3, 4), key=((1, None, None),), expect=OURS),
    case("getitem", (3, 4), key=(None,), expect=OURS),
    case("getitem", (3, 4), key=(Ellipsis, 0, 0, 0), expect=OURS),
    case("getitem", (3, 4), key=(F, 5), expect=BOTH),
    case("getitem", (3, 4), key=(F, -4), expect=BOTH),
    case("getitem", (3, 4), key=(F, 0, 0, 0), expect=BOTH),
    case("getitem", (3, 4), key=(F, (None, None, 0)), expect=BOTH),
    case("getitem", (3, 4), key=(Ellipsis, F, Ellipsis), expect=BOTH),
    case("positions", (None,)),
    case("positions", (7,)),
    case("positions", (None, 8), expect=OURS),  # ids only: positions(x[:, :, 0]) for features
    case("positions", (5, 2, 3), expect=OURS),
    case("positions", (), expect=OURS),
]


def is_number(v) -> bool:
    return isinstance(v, (int, float))


def keras_key(key):
    return tuple(slice(*item) if isinstance(item, tuple) else item for item in key)


def rule(op, operands, values, dtypes=None):
    """(shape, dtype) by the catalog's rules, the values bound by bind_op."""
    args = (list(operands),) if op.listed else tuple(operands)
    bound = bind_op(op, args, values)
    assert not bound.errors, bound.errors
    dtypes = dtypes or ["float32"] * len(operands)
    shapes = [CONSTANT if is_number(v) else v for v in operands]
    kinds = [constant_dtype(v) if is_number(v) else d for v, d in zip(operands, dtypes, strict=True)]
    return op.shape(shapes, bound.values), op.dtype(kinds, bound.values), bound.values


def keras_run(op, operands, values, dtypes=None):
    """The same operation, called on KerasTensors with the batch axis."""
    dtypes = dtypes or ["float32"] * len(operands)
    xs = [v if is_number(v) else keras.KerasTensor((None, *v), dtype=d) for v, d in zip(operands, dtypes, strict=True)]
    if op.name == "getitem":
        return keras.ops.get_item(xs[0], keras_key(values["key"]))
    if op.name == "positions":
        return eval(positions_code("x"), {"keras": keras, "x": xs[0]})
    function = getattr(keras.ops, op.function)
    return function(xs, **values) if op.listed else function(*xs, **values)


def case_id(c):
    name, operands, values, expect, _ = c
    return f"{name}-{operands}-{values}-{expect}".replace(" ", "")


@pytest.mark.parametrize("c", CASES, ids=[case_id(c) for c in CASES])
def test_case(c):
    name, operands, values, expect, fill = c
    op = lookup_op(name)
    [CONSTANT if is_number(v) else v for v in operands]
    if expect == OK:
        shape, dtype, bound = rule(op, operands, values)
        out = keras_run(op, operands, dict(bound))
        assert out.shape[0] is None, "the batch axis stays first"
        assert tuple(out.shape[1:]) == shape
        assert out.dtype == dtype
        ran = eager_run(op, operands, dict(bound), ["float32"] * len(operands), fill)
        assert ran.shape[0] == 2, "a batch of 2 stays a batch of 2"
        assert all(want in (None, got) for want, got in zip(shape, ran.shape[1:], strict=True)), ran.shape
        return
    with pytest.raises(ShapeError) as err:
        rule(op, operands, values)
    assert err.value.code == "E501"
    assert ("index [" if name == "getitem" else name) in err.value.message
    if expect == BOTH:
        with pytest.raises(Exception):  # noqa: B017  (Keras refuses with ValueError, TypeError or IndexError)
            keras_run(op, operands, values)


def test_every_op_has_cases():
    covered = {c[0] for c in CASES}
    assert set(OPS) <= covered, set(OPS) - covered
    assert set(OPS) <= {c[0] for c in CASES if c[3] == OK}, "every op has a valid case"


def test_operators_name_ops():
    assert set(OPERATORS) == {
        "+",
        "-",
        "*",
        "/",
        "//",
        "%",
        "neg",
        "==",
        "!=",
        "<",
        "<=",
        ">",
        ">=",
        "and",
        "or",
        "not",
    }
    for op_name in OPERATORS.values():
        assert op_name in OPS
    assert OPS[OPERATORS["neg"]].tensors == OPS[OPERATORS["not"]].tensors == (1, 1)


def test_functions_and_arguments_match_keras():
    """Each function exists in keras.ops and the static arguments are its parameters, in order."""
    for op in OPS.values():
        if op.name == "positions":
            assert op.function == ""  # printed by positions_code
            continue
        function = getattr(keras.ops, op.function)
        params = list(inspect.signature(function).parameters)
        tensors = 1 if op.listed else op.tensors[1]
        assert [a.name for a in op.args] == params[tensors : tensors + len(op.args)], op.name
        for a in op.args:
            default = inspect.signature(function).parameters[a.name].default
            if not a.required and op.name not in (
                "mean",
                "sum",
                "prod",
                "max",
                "min",
                "argmax",
                "argmin",
                "squeeze",
                "transpose",
            ):
                assert a.default == default, (op.name, a.name)


# -- dtypes ----------------------------------------------------------------------------

DTYPES = ["float32", "float16", "bfloat16", "float64", "int32", "int64", "int8", "uint8", "uint16", "int16", "bool"]
CONSTANTS = [2, 2.5, True]


def first_valid(name):
    return next((c[1], c[2]) for c in CASES if c[0] == name and c[3] == OK and all(not is_number(v) for v in c[1]))


def eager_run(op, operands, values, dtypes, fill=3):
    """The operation run on real tensors (a batch of 2, unknown sizes `fill`): what the model does."""
    xs = [
        v if is_number(v) else keras.ops.ones((2, *(d or fill for d in v)), dtype=t)
        for v, t in zip(operands, dtypes, strict=True)
    ]
    if op.name == "getitem":
        return xs[0][keras_key(values["key"])]
    if op.name == "positions":
        return eval(positions_code("x"), {"keras": keras, "x": xs[0]})
    function = getattr(keras.ops, op.function)
    return function(xs, **values) if op.listed else function(*xs, **values)


# Where Keras's symbolic dtype and the dtype it runs with differ. leaky_relu runs on integers but
# gives float32 where Keras says int: refused, as the model would not be what it says. mod with a
# Python number: keras.ops.mod (TensorFlow backend) turns the number into an int32/float32 tensor
# before promoting, so int8 % 2 runs as int32 and float16 % 2.5 as float32; the rule says what
# Keras's symbolic tensors say (int8, float16).
RUNS_THOUGH_REFUSED = {("leaky_relu", d) for d in ("int32", "int64", "int8", "uint8", "uint16", "int16")}


def runs_otherwise(op, operands) -> bool:
    return op.name == "mod" and any(is_number(v) for v in operands)


def check_dtypes(op, operands, values, dtypes):
    """The dtype rule against Keras: symbolic and run; a dtype the rule refuses fails to run."""
    [CONSTANT if is_number(v) else v for v in operands]
    try:
        _, want, bound = rule(op, operands, values, dtypes)
    except ShapeError:
        if (op.name, *dtypes) not in RUNS_THOUGH_REFUSED:
            with pytest.raises(Exception):  # noqa: B017  (TensorFlow's errors vary by op)
                eager_run(op, operands, dict(values), dtypes)
        return
    args = dict(bound)
    assert keras_run(op, operands, args, dtypes).dtype == want, (op.name, dtypes)
    if not runs_otherwise(op, operands):
        ran = keras.backend.standardize_dtype(eager_run(op, operands, args, dtypes).dtype)
        assert ran == want, (op.name, operands, dtypes)


@pytest.mark.parametrize("name", sorted(n for n in OPS if n not in BINARY and n != "matmul"))
def test_dtypes_one_operand(name):
    op = OPS[name]
    operands, values = first_valid(name)
    for dtype in DTYPES:
        dtypes = [dtype] * len(operands)
        if op.listed and len(operands) > 1:
            dtypes[-1] = "int32"  # joined tensors of different dtypes
        check_dtypes(op, operands, values, dtypes)


@pytest.mark.parametrize("name", BINARY + ["matmul"])
def test_dtypes_two_operands(name):
    op = OPS[name]
    shape = (2, 2)
    pairs = [(a, b) for a in DTYPES for b in DTYPES]
    if name != "matmul":
        pairs += [(a, c) for a in DTYPES for c in CONSTANTS]
        pairs += [(c, a) for a in ("float32", "int32", "bool") for c in CONSTANTS]
    for a, b in pairs:
        operands = [a if is_number(a) else shape, b if is_number(b) else shape]
        dtypes = [d if isinstance(d, str) else None for d in (a, b)]
        check_dtypes(op, operands, {}, dtypes)


def test_refused_dtypes():
    """What TensorFlow cannot run is refused, with a hint (Keras's symbolic dtypes let it through)."""
    with pytest.raises(ShapeError) as err:
        OPS["sigmoid"].dtype(["int32"], {})
    assert "float" in err.value.message and "cast" in err.value.hint
    with pytest.raises(ShapeError) as err:
        OPS["add"].dtype(["bool", "bool"], {})
    assert "`or`" in err.value.hint
    with pytest.raises(ShapeError):
        OPS["negative"].dtype(["uint8"], {})
    with pytest.raises(ShapeError):
        OPS["less"].dtype(["bool", PY_BOOL], {})
    assert OPS["equal"].dtype(["bool", "bool"], {}) == "bool"
    assert OPS["add"].dtype(["bool", PY_INT], {}) == "int32"


def test_strings():
    """Operations that compute refuse string tensors; those that move values keep them."""
    with pytest.raises(ShapeError, match="strings"):
        OPS["add"].dtype(["string", "string"], {})
    with pytest.raises(ShapeError, match="strings"):
        OPS["mean"].dtype(["string"], {"axis": 1, "keepdims": False})
    assert OPS["getitem"].dtype(["string"], {"key": (F, 0)}) == "string"
    assert OPS["concatenate"].dtype(["string", "string"], {"axis": 1}) == "string"
    with pytest.raises(ShapeError):
        OPS["concatenate"].dtype(["string", "int32"], {"axis": 1})


# -- binding ---------------------------------------------------------------------------


def test_bind_fills_defaults_and_places_problems():
    mean = OPS["mean"]
    b = bind_op(mean, ("x", 1), {})
    assert not b.errors and b.operands == ("x",) and b.values == {"axis": 1, "keepdims": False}
    b = bind_op(mean, ("x",), {"axis": (1, 2), "keepdims": True})
    assert not b.errors and b.values == {"axis": (1, 2), "keepdims": True}
    b = bind_op(mean, ("x", 1, True, 3), {})
    assert [(e.code, e.where) for e in b.errors] == [("E406", ("args", 3))]
    assert "at most 3 positional" in b.errors[0].message
    b = bind_op(mean, ("x", "wide"), {})
    assert [(e.code, e.where) for e in b.errors] == [("E404", ("args", 1))]
    b = bind_op(mean, ("x",), {"axes": 1})
    assert [(e.code, e.where) for e in b.errors] == [("E402", ("kwargs", "axes"))]
    assert "axis" in (b.errors[0].hint or "")
    b = bind_op(OPS["add"], ("x",), {})
    assert [e.code for e in b.errors] == ["E403"]
    b = bind_op(OPS["add"], ("x", 2), {})
    assert not b.errors and b.operands == ("x", 2) and b.values == {}
    b = bind_op(OPS["cast"], ("x",), {})
    assert [e.code for e in b.errors] == ["E403"]
    b = bind_op(OPS["cast"], ("x", "string"), {})
    assert [(e.code, e.where) for e in b.errors] == [("E404", ("args", 1))]
    b = bind_op(OPS["concatenate"], (["a", "b"],), {"axis": -1})
    assert not b.errors and b.operands == ("a", "b")
    b = bind_op(OPS["concatenate"], (["a", "b"],), {})
    assert [e.code for e in b.errors] == ["E403"]  # axis is required: keras.ops's default is the batch axis
    assert b.errors[0].hint == "e.g. concatenate([a, b], axis=-1)"
    b = bind_op(OPS["concatenate"], ("a", "b"), {"axis": 1})
    assert [(e.code, e.where) for e in b.errors][0] == ("E404", ("args", 0))
    b = bind_op(OPS["getitem"], ("x", (F, Ellipsis, None, 0, (1, None, 2))), {})
    assert not b.errors
    b = bind_op(OPS["getitem"], ("x", (F, 1.5)), {})
    assert [e.code for e in b.errors] == ["E404"]


def test_messages_name_the_op_and_shapes():
    add = OPS["add"]
    with pytest.raises(ShapeError) as err:
        add.shape([(2, 4), (3, 4)], {})
    assert "add" in err.value.message and "(2, 4)" in err.value.message and "(3, 4)" in err.value.message
    with pytest.raises(ShapeError) as err:
        add.shape([(3, 4), (4,)], {})
    assert "expand_dims" in err.value.hint
    with pytest.raises(ShapeError) as err:
        OPS["mean"].shape([(3, 4)], {"axis": None, "keepdims": False})
    assert "batch axis" in err.value.message and "axis=(1, 2)" in err.value.hint
    with pytest.raises(ShapeError) as err:
        OPS["squeeze"].shape([(1, 4, 1)], {"axis": None})
    assert "axis=(1, 3)" in err.value.hint


def test_index_code_prints_the_key():
    x = keras.KerasTensor((None, 5, 4))
    for key in [(F, 0), (Ellipsis, None), (F, (1, -1, 2), -1), (F, (None, None, -1)), (F, None, (None, 2, None))]:
        code = index_code(key)
        out = eval("x" + code, {"x": x})
        assert tuple(out.shape[1:]) == OPS["getitem"].shape([(5, 4)], {"key": key}), code
    assert index_code((F, 0)) == "[:, 0]"
    assert index_code((Ellipsis, None, (1, None, 2))) == "[..., None, 1::2]"


# -- positions ---------------------------------------------------------------------------


def test_positions_in_a_functional_model_train_an_embedding():
    tf = pytest.importorskip("tensorflow")
    tokens = keras.Input((None,), dtype="int32")
    pos = eval(positions_code("tokens"), {"keras": keras, "tokens": tokens})
    assert pos.dtype == "int32" and tuple(pos.shape) == (None, None)
    embed = keras.layers.Embedding(16, 4)
    out = keras.ops.mean(embed(pos), axis=(1, 2))
    model = keras.Model(tokens, [pos, out])
    for length in (5, 9):
        got = np.asarray(model(np.zeros((3, length), "int32"))[0])
        assert (got == np.arange(length)[None, :].repeat(3, 0)).all()
    with tf.GradientTape() as tape:
        _, y = model(np.ones((2, 6), "int32"))
    (grad,) = tape.gradient(y, [embed.embeddings])
    rows = np.abs(np.asarray(tf.convert_to_tensor(grad))).sum(axis=1)
    assert (rows[:6] > 0).all() and (rows[6:] == 0).all()

    assert "ones_like(keras.ops.add(a, b), " in positions_code("keras.ops.add(a, b)")  # an argument: as it is


def test_keras_names_every_operation_with_a_prefix_the_printers_reserve():
    """An input named like an operation (`input mean`) must not meet the name Keras gives the
    operation by itself (build_model() moves the counter of each reserved prefix past it)."""
    from tfspec.backends.common import AUTO_PREFIXES

    x = keras.Input((3, 4))
    for name, op in OPS.items():
        if not op.function:
            continue
        fn = getattr(keras.ops, op.function)
        if op.listed:
            y = fn([x, x], axis=-1)
        elif op.tensors[0] == 2:
            y = fn(x, keras.Input((4, 3)) if name == "matmul" else x)
        elif name in ("mean", "sum", "max", "min", "prod", "argmax", "argmin", "expand_dims", "squeeze"):
            y = fn(keras.Input((1, 4)) if name == "squeeze" else x, 1)
        elif name in ("reshape", "cast", "transpose"):
            y = fn(x, {"reshape": (-1, 12), "cast": "int32", "transpose": (0, 2, 1)}[name])
        elif name == "getitem":
            y = x[:, 0]
        else:
            y = fn(x)
        given = y._keras_history.operation.name
        prefix = given.rsplit("_", 1)[0] if given.rsplit("_", 1)[-1].isdigit() else given
        assert prefix in AUTO_PREFIXES, (name, given)
