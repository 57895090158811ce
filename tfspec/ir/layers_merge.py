"""Catalog entries: the merge layers (Add, Subtract, ..., Concatenate, Dot)."""

from __future__ import annotations

from .catalog import BOOL, INT, Arg, ShapeError, Type, is_int, layer
from .layers_base import fmt, no_batch_axis, sample_axis
from .values import show


def broadcast(kind, shape1, shape2):
    """Keras's Merge._compute_elemwise_op_output_shape: trailing axes aligned, 1 broadcasts,
    and an unknown size on either side gives an unknown size."""
    shown = f"{fmt(shape1)} and {fmt(shape2)}"
    if len(shape1) < len(shape2):
        shape1, shape2 = shape2, shape1
    if not shape2:
        return tuple(shape1)
    out = list(shape1[: len(shape1) - len(shape2)])
    for i, j in zip(shape1[len(shape1) - len(shape2) :], shape2, strict=True):
        if i is None or j is None:
            out.append(None)
        elif i == 1 or j == 1:
            out.append(j if i == 1 else i)
        elif i != j:
            raise ShapeError(
                f"{kind} needs inputs of equal shape, got {shown}",
                "project one side with Dense/Conv to match, or use Concatenate",
            )
        else:
            out.append(i)
    return tuple(out)


def elementwise(kind):
    def rule(ins, a):
        out = ins[0]
        for other in ins[1:]:
            out = broadcast(kind, out, other)
        return out

    return rule


for _kind in ("Add", "Multiply", "Average", "Maximum", "Minimum"):
    layer(_kind, shape=elementwise(_kind), inputs=(2, None), doc="element-wise; sizes of 1 broadcast")
layer("Subtract", shape=elementwise("Subtract"), inputs=(2, 2), doc="first input minus the second")


def concatenated(kind: str, ins, axis):
    """The shape of `ins` joined along `axis` (the Concatenate layer, keras.ops.concatenate)."""
    first = ins[0]
    for other in ins[1:]:
        if len(other) != len(first):
            raise ShapeError(f"{kind} needs inputs of equal rank, got {fmt(first)} and {fmt(other)}")
    pos = sample_axis(axis, first, kind)
    for i in range(len(first)):
        known = {s[i] for s in ins if s[i] is not None}
        if i != pos and len(known) > 1:
            raise ShapeError(
                f"{kind} on axis {axis} needs the other axes equal, got {', '.join(fmt(s) for s in ins)}",
                "only the concatenation axis may differ",
            )
    sizes = [s[pos] for s in ins]
    out = list(first)  # the other axes as the first input has them, as Keras gives them
    out[pos] = None if None in sizes else sum(sizes)
    return tuple(out)


def concat_shape(ins, a):
    return concatenated("Concatenate", ins, a["axis"])


layer("Concatenate", args=(Arg("axis", INT, -1),), shape=concat_shape, inputs=(2, None), check=no_batch_axis("axis"))


def _axes(v):
    if is_int(v):
        return None
    if isinstance(v, (tuple, list)) and len(v) == 2 and all(is_int(x) for x in v):
        return None
    return f"expected an axis or a pair of axes, got {show(v)}"


def dot_shape(ins, a):
    x, y = ins
    ax = a["axes"] if isinstance(a["axes"], (tuple, list)) else (a["axes"], a["axes"])
    px = sample_axis(ax[0], x, "Dot", "axis")
    py = sample_axis(ax[1], y, "Dot", "axis")
    if x[px] != y[py]:  # Keras compares them as they are: None against a size is refused too
        raise ShapeError(
            f"Dot needs equal sizes on the contracted axes {show(a['axes'])}, got {fmt(x)} and {fmt(y)}",
            "an unknown (None) size only matches another unknown size" if None in (x[px], y[py]) else None,
        )
    out = x[:px] + x[px + 1 :] + y[:py] + y[py + 1 :]
    return out or (1,)


layer(
    "Dot",
    args=(Arg("axes", Type("axes", _axes), required=True), Arg("normalize", BOOL, False)),
    shape=dot_shape,
    inputs=(2, 2),
    check=no_batch_axis("axes"),
    doc="batched dot product over the given axes",
)
