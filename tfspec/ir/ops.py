"""The catalog of tensor operations that spec expressions may use: `abs(a - b)`, `mean(x, axis=1)`,
`x[:, 0]`, `positions(x)`.

Each operation is one `OpDef`: the keras.ops function it prints as, how many tensor operands it
takes (given first), its static arguments (catalog `Arg`s, in keras.ops's positional order), and
two static rules: the per-sample output shape and the output dtype. tests/test_ops.py compares
every rule with real Keras 3.15.

Shapes here are per sample, as everywhere in the IR (the batch axis left out, None for an unknown
size). Axis arguments count the batch axis, as keras.ops does: axis 1 is the first sample axis,
-1 the last. The rules refuse whatever would reduce, move, reshape, slice (other than `:`) or
join along the batch axis: a model that mixes its samples would train and predict wrongly with
no error at all. For the same reason the defaults that mean "every axis" (`mean(x)`,
`squeeze(x)`, `transpose(x)`) are refused: they take in the batch axis too (tf.squeeze drops it
when a batch holds one sample). keras.ops.concatenate and keras.ops.stack default to axis 0, the
batch axis, so here their `axis` is required, and printed as given.

An operand that is a Python number rather than a tensor (`x * 2`) has the shape CONSTANT (it
broadcasts like a scalar and is never batched) and the dtype `constant_dtype(value)` (a weak
type: `int32 tensor * 2` stays int32, as in Keras).

Printing: an operation prints as `keras.ops.<function>(operands..., arguments...)`, operands in
one list when `listed`, arguments as written. Two print otherwise: `getitem` as `x[...]`, and
`positions`, which has no keras.ops function, as `positions_tree(x)` computes it.

Dtypes follow Keras 3's promotion (keras.backend.result_type) for the common dtypes: bool,
int8..int64, uint8..uint32, float16, bfloat16, float32, float64 (uint64's odd cases are not
modelled). Keras's symbolic dtypes let through some that TensorFlow cannot run; the dtype rules
refuse those (ShapeError), with a hint to cast: the float activations (sigmoid, softmax, gelu,
...) on integers or bool, arithmetic and ordering on two bools, negative of unsigned integers,
True/False with a bfloat16 tensor in arithmetic, and strings in every operation that computes
with values.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .catalog import (
    AXIS,
    BOOL,
    DTYPES,
    FLOAT,
    INT,
    NONE,
    Arg,
    BindError,
    Bound,
    LayerDef,
    ShapeError,
    Type,
    bind,
    choice,
    is_int,
    one_of,
    seq_of,
)
from .dtypes import DTYPE_MISMATCH, TO_NUMBERS
from .layers_base import fmt, sample_axes
from .layers_merge import concatenated
from .values import Call, Expr, Ref, show, show_expr


class _Constant:
    """The shape of an operand that is a Python number: a scalar that is not batched."""

    def __repr__(self):
        return "CONSTANT"


CONSTANT = _Constant()

# The dtypes of Python numbers as operands: weak types, which take the other operand's dtype.
PY_BOOL, PY_INT, PY_FLOAT = "python bool", "python int", "python float"


def constant_dtype(value) -> str:
    """The dtype marker of a Python number given as an operand."""
    if isinstance(value, bool):
        return PY_BOOL
    return PY_INT if isinstance(value, int) else PY_FLOAT


@dataclass(frozen=True)
class OpDef:
    name: str  # the spec name
    function: str  # printed as keras.ops.<function>; "" for positions (see positions_code)
    tensors: tuple  # (min, max) tensor operands, given first and positionally; max None = any
    args: tuple  # Arg: the static arguments after the tensors, in keras.ops's positional order
    shape: Callable  # (operand shapes, values) -> per-sample output shape; may raise ShapeError
    dtype: Callable  # (operand dtypes, values) -> output dtype; may raise ShapeError (strings)
    listed: bool = False  # operands are passed as one list: keras.ops.concatenate([a, b], axis=-1)
    doc: str = ""
    constants: bool = True  # an operand may be a Python number (CONSTANT)


OPS: dict[str, OpDef] = {}

# A spec operator -> the operation it stands for.
OPERATORS = {
    "+": "add",
    "-": "subtract",
    "*": "multiply",
    "/": "divide",
    "//": "floor_divide",
    "%": "mod",
    "neg": "negative",
    "==": "equal",
    "!=": "not_equal",
    "<": "less",
    "<=": "less_equal",
    ">": "greater",
    ">=": "greater_equal",
    "and": "logical_and",
    "or": "logical_or",
    "not": "logical_not",
}


def lookup_op(name: str) -> OpDef | None:
    return OPS.get(name)


def _op(name, shape, dtype, args=(), tensors=(1, 1), function=None, listed=False, constants=True, doc=""):
    assert listed or tensors[1] is not None, "operands beyond a fixed number go in one list"
    OPS[name] = OpDef(
        name, function if function is not None else name, tensors, tuple(args), shape, dtype, listed, doc, constants
    )


# -- binding ------------------------------------------------------------------------------


@dataclass
class OpBound(Bound):
    """`Bound` (values of the static arguments, defaults filled; given; errors) plus the operands."""

    operands: tuple = ()


def operand_count(op: OpDef) -> int:
    """How many positional arguments of a call are operands: the list for a listed op."""
    return 1 if op.listed else op.tensors[1]


def bind_op(op: OpDef, args, kwargs) -> OpBound:
    """Bind a call `name(args..., k=v, ...)` as the spec wrote it: the operands come first (one
    list when `op.listed`), then the static arguments. The problems are catalog.BindErrors, placed
    at the call's ("args", i) / ("kwargs", name), as `catalog.bind` places them for layers."""
    n = operand_count(op)
    errors: list = []
    operands = tuple(args[:n])
    low = op.tensors[0]
    if op.listed:
        if not operands:
            errors.append(
                BindError("E403", f"{op.name} needs a list of tensors", f"e.g. {op.name}([a, b], axis=-1)", None)
            )
            operands = ()
        elif not isinstance(operands[0], (list, tuple)):
            errors.append(
                BindError(
                    "E404", f"{op.name} takes its tensors as one list", f"e.g. {op.name}([a, b], axis=-1)", ("args", 0)
                )
            )
            operands = ()
        else:
            operands = tuple(operands[0])
            if len(operands) < low:
                errors.append(
                    BindError(
                        "E404",
                        f"{op.name} needs at least {low} tensor{'s' * (low > 1)}, got {len(operands)}",
                        None,
                        ("args", 0),
                    )
                )
    elif len(operands) < low:
        example = ", ".join("xyz"[i] for i in range(low))
        errors.append(
            BindError(
                "E403",
                f"{op.name} takes {low} operand{'s' * (low > 1)}, got {len(operands)}",
                f"e.g. {op.name}({example})",
                None,
            )
        )
    static = tuple(args[n:])
    if len(static) > len(op.args):
        errors.append(
            BindError(
                "E406",
                f"{op.name} takes at most {n + len(op.args)} positional arguments, got {len(args)}",
                "pass the rest by keyword" if op.args else None,
                ("args", n + len(op.args)),
            )
        )
        static = static[: len(op.args)]
    bound = bind(_as_layer(op), static, tuple(kwargs.items()) if isinstance(kwargs, dict) else tuple(kwargs))
    for e in bound.errors:
        where = e.where
        if where is not None and where[0] == "args":
            where = ("args", where[1] + n)
        hint = f"e.g. {EXAMPLES[op.name]}" if e.code == "E403" and op.name in EXAMPLES else e.hint
        errors.append(BindError(e.code, e.message, hint, where))
    return OpBound(bound.values, bound.given, errors, operands)


# Calls that show a required argument, for hints.
EXAMPLES = {
    "reshape": "reshape(x, (-1, 12))",
    "expand_dims": "expand_dims(x, axis=1)",
    "concatenate": "concatenate([a, b], axis=-1)",
    "stack": "stack([a, b], axis=1)",
    "cast": 'cast(x, "float32")',
    "getitem": "x[:, 0]",
}


def _as_layer(op: OpDef) -> LayerDef:
    """The LayerDef that catalog.bind needs: only the static arguments, all positional."""
    return LayerDef(op.name, op.args, op.shape)


# -- shape helpers ------------------------------------------------------------------------


def _tensor_shapes(name, shapes, constants=True):
    tensors = [s for s in shapes if s is not CONSTANT]
    assert tensors, f"{name}: at least one operand is a tensor"
    if not constants and len(tensors) != len(shapes):
        raise ShapeError(f"{name} takes tensors only, not numbers", "multiply scales a tensor by a number")
    return tensors


def _samples(shape) -> str:
    return f"samples of shape {fmt(shape)}"


def broadcast_pair(name, a, b):
    """Two per-sample shapes broadcast. They must have the same rank: Keras aligns shapes at
    their ends, so a rank difference would line the batch axis up against a sample axis."""
    if len(a) != len(b):
        raise ShapeError(
            f"{name}: operands of different rank, {_samples(a)} and {fmt(b)}",
            f"give the smaller one leading size-1 axes, once per missing axis: expand_dims(y, axis=1) makes "
            f"{fmt(min(a, b, key=len))} into {fmt((1, *min(a, b, key=len)))}",
        )
    out = []
    for i, (x, y) in enumerate(zip(a, b, strict=True)):
        if x is not None and y is not None and x != y and 1 not in (x, y):
            raise ShapeError(
                f"{name}: cannot broadcast {_samples(a)} and {fmt(b)}: axis {i + 1} has sizes {x} and {y}",
                "on each axis the sizes must be equal, or one of them 1",
            )
        # 1 gives way to the other size; so does an unknown size, except to 1 (it may be the 1)
        out.append(y if x == 1 or (x is None and y != 1) else x)
    return tuple(out)


def _elementwise(name):
    def rule(shapes, a):
        tensors = _tensor_shapes(name, shapes)
        out = tensors[0]
        for other in tensors[1:]:
            out = broadcast_pair(name, out, other)
        return out

    return rule


def _unary(shapes, a):
    return shapes[0]


def _axes_rule(name):
    """softmax/log_softmax: the shape stays; the axes must be sample axes."""

    def rule(shapes, a):
        shape = shapes[0]
        axes = a["axis"] if isinstance(a["axis"], (tuple, list)) else (a["axis"],)
        sample_axes(axes, shape, name)
        return shape

    return rule


def _all_axes_hint(name, shape, single):
    if not shape:
        return f"{name} of one number per sample changes nothing: leave it out"
    axes = tuple(range(1, len(shape) + 1))
    return f"name the sample axes, e.g. {name}(x, axis={show(-1 if single else axes[0] if len(axes) == 1 else axes)})"


def _reduction(name, single=False):
    """mean, sum, ...: the sample axes `axis` removed (kept as 1 with keepdims). `single`: one axis only (argmax)."""

    def rule(shapes, a):
        shape = shapes[0]
        axis = a["axis"]
        if axis is None:
            raise ShapeError(
                f"{name} without axis takes in the batch axis too ({_samples(shape)})",
                _all_axes_hint(name, shape, single),
            )
        axes = tuple(axis) if isinstance(axis, (tuple, list)) else (axis,)
        gone = set(sample_axes(axes, shape, name))
        if a["keepdims"]:
            return tuple(1 if i in gone else d for i, d in enumerate(shape))
        return tuple(d for i, d in enumerate(shape) if i not in gone)

    return rule


def matmul_shape(shapes, a):
    x, y = _tensor_shapes("matmul", shapes, constants=False)
    for s in (x, y):
        if len(s) < 2:
            raise ShapeError(
                f"matmul needs matrices per sample (rank 2 or more), got {_samples(s)}: "
                "a vector would be multiplied along the batch axis",
                f"make it a matrix with expand_dims, e.g. expand_dims(v, axis={len(s) + 1}) for a column",
            )
    if len(x) != len(y):
        raise ShapeError(
            f"matmul: operands of different rank, {_samples(x)} and {fmt(y)}",
            "give the smaller one size-1 axes with expand_dims (axis 1) so that the batch axes line up",
        )
    if x[-1] is not None and y[-2] is not None and x[-1] != y[-2]:
        raise ShapeError(
            f"matmul: inner sizes differ: {_samples(x)} @ {fmt(y)} multiplies {x[-1]} columns by {y[-2]} rows",
            "the last axis of the first must match the second-to-last axis of the second; transpose one of them?",
        )
    return broadcast_pair("matmul", x[:-2], y[:-2]) + (x[-2], y[-1])


def transpose_shape(shapes, a):
    shape = shapes[0]
    full = (None, *shape)
    axes = a["axes"]
    if axes is None:
        if not shape:
            return shape
        reverse = (0, *range(len(shape), 0, -1))
        raise ShapeError(
            f"transpose without axes reverses every axis, the batch axis too ({_samples(shape)})",
            f"give the axes, the batch axis first: e.g. transpose(x, axes={show(reverse)})",
        )
    if len(axes) != len(full):
        raise ShapeError(
            f"transpose: axes {show(tuple(axes))} name {len(axes)} axes, {_samples(shape)} have {len(full)} with the batch axis",
            f"list every axis once, the batch axis 0 first, e.g. axes={show(tuple(range(len(full))))}",
        )
    seen = []
    for ax in axes:
        pos = ax if ax >= 0 else ax + len(full)
        if not 0 <= pos < len(full):
            raise ShapeError(f"transpose: axis {ax} is out of range for {_samples(shape)} (axes 0..{len(full) - 1})")
        seen.append(pos)
    if sorted(seen) != list(range(len(full))):
        raise ShapeError(f"transpose: axes {show(tuple(axes))} must name every axis once ({_samples(shape)})")
    if seen[0] != 0:
        raise ShapeError(
            f"transpose: axes {show(tuple(axes))} move the batch axis",
            "keep the batch axis first: axes=(0, ...)",
        )
    return tuple(full[p] for p in seen[1:])


def reshape_shape(shapes, a):
    """The new shape counts the batch axis and is printed as written: (-1, sizes...). TensorFlow
    infers one size (-1) only, and the batch entry takes it, so the other sizes are numbers; the
    samples' size must be known, or the batch -1 would silently take in part of each sample (the
    Reshape layer keeps the batch size instead)."""
    shape = shapes[0]
    newshape = tuple(a["newshape"])
    if not newshape or newshape[0] != -1:
        raise ShapeError(
            f"reshape: the new shape {show(newshape)} counts the batch axis: its first entry must be -1",
            f"e.g. reshape(x, {show((-1, *newshape[1:]) if newshape else (-1,))})",
        )
    rest = newshape[1:]
    if any(d is None or d < 1 for d in rest):
        raise ShapeError(
            f"reshape: the sizes after the batch entry must be numbers ≥ 1, got {show(newshape)}",
            "TensorFlow infers one size, the batch's: write the others out",
        )
    if None in shape:
        raise ShapeError(
            f"reshape of {_samples(shape)}: their size is unknown, so the batch entry -1 would take in part of each sample",
            f"use the Reshape layer, which keeps the batch size: Reshape({show(rest)})",
        )
    size = _product(shape)
    fixed = _product(rest)
    if size != fixed:
        raise ShapeError(
            f"reshape: {_samples(shape)} hold {size} values, the new shape {show(newshape)} holds {fixed} per sample",
            "the sizes after the batch entry must multiply to the same number",
        )
    return rest


def _product(sizes):
    out = 1
    for d in sizes:
        out *= d
    return out


def _new_axis(name, axis, rank, shape):
    """An axis of the output, which has one axis more than the input (full rank `rank`): its
    0-based index in the per-sample output shape."""
    pos = axis if axis >= 0 else axis + rank + 1
    if not 0 <= pos <= rank:
        raise ShapeError(f"{name}: axis {axis} is out of range for {_samples(shape)} (new axes -{rank + 1}..{rank})")
    if pos == 0:
        raise ShapeError(
            f"{name}: axis {axis} puts the new axis before the batch axis ({_samples(shape)})",
            "new sample axes are numbered from 1 (or from -1 at the end)",
        )
    return pos - 1


def expand_dims_shape(shapes, a):
    shape = shapes[0]
    i = _new_axis("expand_dims", a["axis"], len(shape) + 1, shape)
    return shape[:i] + (1,) + shape[i:]


def squeeze_shape(shapes, a):
    shape = shapes[0]
    if a["axis"] is None:
        ones = tuple(i + 1 for i, d in enumerate(shape) if d == 1)
        hint = (
            f"name the axes, e.g. squeeze(x, axis={show(ones[0] if len(ones) == 1 else ones)})"
            if ones
            else "these samples have no axis of size 1"
        )
        raise ShapeError(
            f"squeeze without axis would drop the batch axis too when a batch holds one sample ({_samples(shape)})",
            hint,
        )
    axes = tuple(a["axis"]) if isinstance(a["axis"], (tuple, list)) else (a["axis"],)
    gone = sample_axes(axes, shape, "squeeze")
    for ax, i in zip(axes, gone, strict=True):
        if shape[i] != 1:
            size = "an unknown size" if shape[i] is None else f"size {shape[i]}"
            raise ShapeError(
                f"squeeze: axis {ax} has {size}, not 1 ({_samples(shape)})", "only an axis of size 1 can be squeezed"
            )
    return tuple(d for i, d in enumerate(shape) if i not in gone)


def _same_rank(name, tensors):
    first = tensors[0]
    for other in tensors[1:]:
        if len(other) != len(first):
            raise ShapeError(
                f"{name} needs tensors of equal rank, got {', '.join(fmt(s) for s in tensors)}",
                "expand_dims or reshape one of them first",
            )
    return first


def _tensors_only(name, shapes):
    return _tensor_shapes(name, shapes, constants=False)


def concatenate_shape(shapes, a):
    return concatenated("concatenate", _tensors_only("concatenate", shapes), a["axis"])


def stack_shape(shapes, a):
    tensors = _tensors_only("stack", shapes)
    first = _same_rank("stack", tensors)
    for i in range(len(first)):
        if len({s[i] for s in tensors if s[i] is not None}) > 1:
            raise ShapeError(
                f"stack needs tensors of equal shape, got {', '.join(fmt(s) for s in tensors)}",
                "concatenate joins tensors that differ on one axis",
            )
    i = _new_axis("stack", a["axis"], len(first) + 1, first)
    return first[:i] + (len(tensors),) + first[i:]


def positions_shape(shapes, a):
    shape = shapes[0]
    if len(shape) != 1:
        raise ShapeError(
            f"positions counts the steps of a sequence of ids (samples of rank 1), got {_samples(shape)}",
            "take one feature first, e.g. positions(x[:, :, 0])" if shape else "positions count along axis 1",
        )
    return (shape[0],)


# -- getitem ------------------------------------------------------------------------------

FULL = (None, None, None)  # the slice `:`


def index_item(item):
    """An index item in the form the rules use: an int, None (a new axis), Ellipsis, or a slice
    as a (start, stop, step) tuple. The IR's Expr("slice")/Expr("ellipsis") are taken too."""
    kind = getattr(item, "op", None)
    if kind == "slice":
        return tuple(item.args)
    if kind == "ellipsis":
        return Ellipsis
    return tuple(item) if isinstance(item, list) else item


def _later(v) -> bool:
    """A block parameter or an expression of them: checked once the block is bound."""
    return isinstance(v, Ref) or hasattr(v, "op")


def _slice_part(p):
    return p is None or is_int(p) or _later(p)


def _key(v):
    if not isinstance(v, (tuple, list)):
        return f"expected a tuple of index items, got {show(v)}"
    for raw in v:
        item = index_item(raw)
        if item is None or item is Ellipsis or is_int(item) or _later(item):
            continue
        if isinstance(item, tuple) and len(item) == 3 and all(_slice_part(p) for p in item):
            continue
        return f"an index item is an integer, a slice, ... or None, got {show(raw)}"
    return None


KEY = Type("index", _key)


def _is_full(item) -> bool:
    return isinstance(item, tuple) and item[0] is None and item[1] is None and item[2] in (None, 1)


# TensorFlow's strided slice keeps its masks (new axes, shrinks, ...) in 32-bit integers.
MAX_INDEX_ITEMS = 31


def getitem_shape(shapes, a):
    """x[key], as Keras's GetItem computes it, on the shape with the batch axis: the batch axis
    takes `:` only, and no new axis (None) may come before it."""
    shape = shapes[0]
    items = [index_item(i) for i in a["key"]]
    full = (None, *shape)
    shown = _samples(shape)
    code = index_code(items)

    def refuse(message, hint=None):
        raise ShapeError(f"index {code}: {message}", hint)

    if items.count(Ellipsis) > 1:
        refuse(f"an index takes one `...` at most, got {items.count(Ellipsis)}")
    if len(items) > MAX_INDEX_ITEMS:
        refuse(f"{len(items)} index items: TensorFlow's strided slice takes at most {MAX_INDEX_ITEMS}")
    for item in items:
        for part in item if isinstance(item, tuple) else (item,):
            if is_int(part) and not -(2**63) <= part < 2**63:
                refuse(f"{part} does not fit TensorFlow's 64-bit indices")
    if Ellipsis not in items:
        items.append(Ellipsis)
    taking = sum(1 for i in items if i is not None and i is not Ellipsis)
    if taking > len(full):
        refuse(
            f"{taking} indices for {shown}, which have {len(full)} axes with the batch axis",
            "the first index is the batch axis: write `:` for it, e.g. x[:, 0]",
        )
    out, pos, batch = [], 0, False
    for item in items:
        if item is Ellipsis:
            n = len(full) - taking
            out.extend(full[pos : pos + n])
            batch = batch or (pos == 0 and n > 0)
            pos += n
            continue
        if item is None:
            if not batch:
                refuse(
                    f"a new axis (None) before the batch axis would move it ({shown})",
                    "index the batch axis with `:` first, e.g. x[:, None]",
                )
            out.append(1)
            continue
        size = full[pos]
        if pos == 0:
            if not _is_full(item):
                refuse(
                    f"the first index is the batch axis: only `:` can index it, got {show_item(item)} ({shown})",
                    f"index the sample axes after it, e.g. x[:, {show_item(item)}]",
                )
            out.append(None)
            batch = True
        elif isinstance(item, tuple):
            start, stop, step = item
            if step == 0:
                refuse(f"a slice step cannot be zero, got {show_item(item)}")
            taken = None if size is None else len(range(*slice(start, stop, step).indices(size)))
            if taken == 0:
                refuse(f"{show_item(item)} selects nothing on axis {pos}, of size {size} ({shown})")
            out.append(taken)
        elif size is not None and not -size <= item < size:
            refuse(
                f"{item} is out of range on axis {pos}, of size {size} ({shown})",
                f"indices on that axis go from 0 to {size - 1} (or -1 to -{size})",
            )
        pos += 1
    return tuple(out[1:])


def show_item(item) -> str:
    if item is Ellipsis:
        return "..."
    if isinstance(item, tuple):
        start, stop, step = ("" if p is None else str(p) for p in item)
        return f"{start}:{stop}" + (f":{step}" if step else "")
    return "None" if item is None else str(item)


def index_code(key) -> str:
    """The Python subscript of `getitem`'s key, e.g. `[:, 0]` (items are ints and None only)."""
    return "[" + ", ".join(show_item(index_item(i)) for i in key) + "]"


def positions_tree(x):
    """What `positions(x)` computes, as an expression of keras.ops functions (Calls, printed
    `keras.ops.<name>`) over `x`, whose samples are sequences of rank 1: the int32 positions
    0..T-1 along axis 1, for each sample. Built from x itself (`ones_like`), so it stays in the
    functional graph and follows each batch's own length."""
    ones = Call("ones_like", (x,), (("dtype", "int32"),))
    return Expr("-", (Call("cumsum", (ones,), (("axis", 1),)), 1))


def positions_code(tensor_code: str) -> str:
    """`positions(x)` as Python source, `x` written `tensor_code` (an argument: as it is)."""

    def leaf(value) -> str:
        if isinstance(value, Ref):
            return tensor_code
        if isinstance(value, Call):
            parts = [leaf(a) if not isinstance(a, Expr) else show_expr(a, leaf) for a in value.args]
            parts += [f"{k}={show(v)}" for k, v in value.kwargs]
            return f"keras.ops.{value.name}({', '.join(parts)})"
        return show(value)

    return show_expr(positions_tree(Ref("x")), leaf)


# -- dtypes -------------------------------------------------------------------------------

FLOATS = ("float16", "bfloat16", "float32", "float64")
_BITS = {"int8": 8, "int16": 16, "int32": 32, "int64": 64, "uint8": 8, "uint16": 16, "uint32": 32, "uint64": 64}
_WEAK = (PY_BOOL, PY_INT, PY_FLOAT)


def _promote2(a: str, b: str) -> str:
    if a == b:
        return a
    if a == "bool" or b == "bool":
        return b if a == "bool" else a
    if a in FLOATS and b in FLOATS:
        if "float64" in (a, b):
            return "float64"
        return "float32"  # float16 with bfloat16, or either with float32
    if a in FLOATS or b in FLOATS:
        return a if a in FLOATS else b
    ua, ub = a.startswith("u"), b.startswith("u")
    if ua == ub:
        return a if _BITS[a] >= _BITS[b] else b
    signed, unsigned = (b, a) if ua else (a, b)
    if _BITS[signed] > _BITS[unsigned]:
        return signed
    return f"int{2 * _BITS[unsigned]}" if _BITS[unsigned] < 64 else "float32"


def _numeric(name, dtypes):
    if "string" in dtypes:
        raise ShapeError(f"{name} computes with numbers, not strings", TO_NUMBERS, DTYPE_MISMATCH)


def result_type(name: str, dtypes) -> str:
    """Keras 3's dtype promotion of operands: the tensors' dtypes promote as in Keras, a Python
    number takes the tensors' dtype, except that a float number makes integers float32 and an
    int number makes bool int32."""
    _numeric(name, dtypes)
    strong = [d for d in dtypes if d not in _WEAK]
    out = strong[0]
    for d in strong[1:]:
        out = _promote2(out, d)
    if PY_FLOAT in dtypes and out not in FLOATS:
        return "float32"
    if PY_INT in dtypes and out == "bool":
        return "int32"
    return out


def _floats_only(name):
    """Activations that TensorFlow has for floats only (Keras's symbolic dtype says otherwise,
    and the model then fails when it runs)."""

    def rule(dtypes, a):
        out = result_type(name, dtypes)
        if out not in FLOATS:
            raise ShapeError(f"{name} takes float tensors, got {out}", f'cast it first: {name}(cast(x, "float32"))')
        return out

    return rule


def _bool_number(name, dtypes, out):
    """TensorFlow cannot convert True or False to bfloat16 (keras.ops converts the number to the
    tensor's dtype in arithmetic)."""
    if out == "bfloat16" and PY_BOOL in dtypes:
        raise ShapeError(
            f"{name} of a bfloat16 tensor and True/False: TensorFlow cannot convert a bool to bfloat16", "write 1 or 0"
        )


def _no_bool(name, instead=None, unsigned=True, arithmetic=True):
    """Arithmetic that TensorFlow lacks for bool (and, unless `unsigned`, for unsigned integers).
    `arithmetic`: the op converts a number to the tensor's dtype (comparisons do not)."""

    def rule(dtypes, a):
        out = result_type(name, dtypes)
        if arithmetic:
            _bool_number(name, dtypes, out)
        if out == "bool" or (not unsigned and out.startswith("uint")):
            raise ShapeError(
                f"{name} of {out} values: TensorFlow has no {name} for {out}",
                instead if out == "bool" and instead else 'cast the tensor first, e.g. cast(x, "int32")',
            )
        return out

    return rule


def _order(name):
    """<, <=, >, >=: bool, of numbers that are not bool."""
    check = _no_bool(name, "compare bools with == and !=, or cast them first", arithmetic=False)

    def rule(dtypes, a):
        check(dtypes, a)
        return "bool"

    return rule


def _same_dtype(name):
    def rule(dtypes, a):
        return result_type(name, dtypes)

    return rule


def _to_float(name):
    def rule(dtypes, a):
        out = result_type(name, dtypes)
        _bool_number(name, dtypes, out)
        return out if out in FLOATS else "float32"

    return rule


def _to_bool(name, strings=False):
    def rule(dtypes, a):
        if not strings:
            _numeric(name, dtypes)
        return "bool"

    return rule


def _mod(dtypes, a):
    out = result_type("mod", dtypes)
    return "int32" if out == "bool" else out


def _square(dtypes, a):
    out = result_type("square", dtypes)
    return "int32" if out == "bool" else out


def _accumulate(name):
    """sum and prod: small integers and bool widen to 32 bits."""

    def rule(dtypes, a):
        out = result_type(name, dtypes)
        if out in ("bool", "int8", "int16"):
            return "int32"
        return "uint32" if out in ("uint8", "uint16") else out

    return rule


def _matmul_dtype(dtypes, a):
    if tuple(dtypes) == ("int8", "int8"):
        return "int32"
    return result_type("matmul", dtypes)


def _keep(dtypes, a):
    """Operations that move values without computing: any dtype, strings too."""
    if len(set(dtypes)) > 1 and "string" in dtypes:
        raise ShapeError("cannot join string tensors with numeric tensors", "cast the numbers first")
    return dtypes[0] if len(set(dtypes)) == 1 else result_type("join", dtypes)


def _int32(dtypes, a):
    return "int32"


def _cast(dtypes, a):
    return a["dtype"]


# -- the catalog ---------------------------------------------------------------------------

AXIS_OR_NONE = one_of(NONE, INT, seq_of(INT), name="axis, tuple of axes or None")
NEWSHAPE = seq_of(one_of(NONE, INT, name="size, -1 or None"), name="shape")
CAST_DTYPE = choice(*(d for d in DTYPES if d != "string"), name="dtype name")

_op("abs", _unary, _same_dtype("abs"), doc="element-wise")
_op("negative", _unary, _no_bool("negative", "use `not` for bools", unsigned=False), doc="element-wise; signed numbers")
_op("square", _unary, _square, doc="element-wise; bool becomes int32")
for _name in ("sqrt", "exp", "log", "tanh"):
    _op(_name, _unary, _to_float(_name), doc="element-wise; integers and bool become float32")
for _name in ("relu", "relu6"):
    _op(_name, _unary, _no_bool(_name), doc="activation, element-wise; numbers, not bool")
_FLOAT_ACTIVATIONS = "sigmoid silu swish hard_sigmoid hard_silu hard_swish selu softplus softsign".split()
for _name in _FLOAT_ACTIVATIONS:
    _op(_name, _unary, _floats_only(_name), doc="activation, element-wise; float tensors")
_op(
    "leaky_relu",
    _unary,
    _floats_only("leaky_relu"),
    (Arg("negative_slope", FLOAT, 0.2),),
    doc="activation; float tensors (TensorFlow turns integers into float32 where Keras says int)",
)
_op("gelu", _unary, _floats_only("gelu"), (Arg("approximate", BOOL, True),), doc="activation; float tensors")
_op("elu", _unary, _floats_only("elu"), (Arg("alpha", FLOAT, 1.0),), doc="activation; float tensors")
for _name in ("softmax", "log_softmax"):
    _op(
        _name,
        _axes_rule(_name),
        _floats_only(_name),
        (Arg("axis", AXIS, -1),),
        doc="normalised along the sample axes `axis`; float tensors",
    )

_REDUCE = (Arg("axis", AXIS_OR_NONE), Arg("keepdims", BOOL, False))
_op("mean", _reduction("mean"), _to_float("mean"), _REDUCE, doc="average over sample axes; integers give float32")
for _name in ("sum", "prod"):
    _op(
        _name,
        _reduction(_name),
        _accumulate(_name),
        _REDUCE,
        doc="over sample axes; bool and small integers give int32",
    )
for _name in ("max", "min"):
    _op(_name, _reduction(_name), _same_dtype(_name), _REDUCE, doc="over sample axes")
for _name in ("argmax", "argmin"):
    _op(
        _name,
        _reduction(_name, single=True),
        _int32,
        (Arg("axis", one_of(NONE, INT, name="axis or None")), Arg("keepdims", BOOL, False)),
        doc="int32 index of the extreme along one sample axis",
    )

_op("matmul", matmul_shape, _matmul_dtype, tensors=(2, 2), constants=False, doc="matrix product of the last two axes")
_op(
    "transpose",
    transpose_shape,
    _keep,
    (Arg("axes", one_of(NONE, seq_of(INT), name="axes or None")),),
    doc="axes permuted, batch axis first",
)
_op(
    "reshape",
    reshape_shape,
    _keep,
    (Arg("newshape", NEWSHAPE, required=True),),
    doc="new shape, batch entry first (-1)",
)
_op("expand_dims", expand_dims_shape, _keep, (Arg("axis", INT, required=True),), doc="a new axis of size 1")
_op("squeeze", squeeze_shape, _keep, (Arg("axis", AXIS_OR_NONE),), doc="size-1 axes removed")
_op(
    "concatenate",
    concatenate_shape,
    _keep,
    (Arg("axis", INT, required=True),),
    tensors=(1, None),
    listed=True,
    constants=False,
    doc="joined along a sample axis (axis is required: keras.ops's default 0 is the batch axis)",
)
_op(
    "stack",
    stack_shape,
    _keep,
    (Arg("axis", INT, required=True),),
    tensors=(1, None),
    listed=True,
    constants=False,
    doc="stacked along a new sample axis (axis is required: keras.ops's default 0 is the batch axis)",
)
_op("cast", _unary, _cast, (Arg("dtype", CAST_DTYPE, required=True),), doc="values converted to `dtype`")
_op(
    "getitem",
    getitem_shape,
    _keep,
    (Arg("key", KEY, required=True),),
    function="get_item",
    doc="x[...]: `:` on the batch axis",
)
_op("positions", positions_shape, _int32, function="", doc="int32 positions 0..T-1 along axis 1, per sample")

# For bools, TensorFlow has logical operations instead of arithmetic: said in the hint.
_BOOL_INSTEAD = {"add": "or", "maximum": "or", "multiply": "and", "minimum": "and"}
for _name in ("add", "subtract", "multiply", "power", "maximum", "minimum", "floor_divide"):
    _instead = f"for bools use `{_BOOL_INSTEAD[_name]}`" if _name in _BOOL_INSTEAD else None
    _op(_name, _elementwise(_name), _no_bool(_name, _instead), tensors=(2, 2), doc="element-wise, broadcast")
_op("divide", _elementwise("divide"), _to_float("divide"), tensors=(2, 2), doc="element-wise; integers give float32")
_op("mod", _elementwise("mod"), _mod, tensors=(2, 2), doc="element-wise remainder; bool gives int32")
for _name in ("equal", "not_equal"):
    _op(_name, _elementwise(_name), _to_bool(_name), tensors=(2, 2), doc="element-wise comparison: bool")
for _name in ("less", "less_equal", "greater", "greater_equal"):
    _op(_name, _elementwise(_name), _order(_name), tensors=(2, 2), doc="element-wise comparison of numbers: bool")
for _name in ("logical_and", "logical_or"):
    _op(_name, _elementwise(_name), _to_bool(_name), tensors=(2, 2), doc="element-wise: bool")
_op("logical_not", _unary, _to_bool("logical_not"), doc="element-wise: bool")
