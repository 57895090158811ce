"""Dtypes through layers: what a layer takes and what it yields, for the static check.

Each catalog entry may carry a `dtype` rule (tfspec.ir.catalog.LayerDef): (input dtypes, bound
arguments) -> the dtype of its output, raising ShapeError with code E504 for an input dtype it
cannot take. Entries without one take numbers (any int, float or bool dtype) and yield floats:
what Keras's layers with weights do (Dense, Conv, Embedding: an int input stays int inside Keras,
and meets a float kernel, so the output is float). A string tensor reaches only the layers that
map strings to numbers (StringLookup, TextVectorization, Hashing, HashedCrossing) and those that
move values without computing (Reshape, Flatten, ...).

The dtypes are what the layers yield when the model runs. Keras's symbolic dtype differs for a
few (StringLookup(output_mode="one_hot") says float32 and yields int64); the runtime's is the one
that the tensor operations after it and the loss see.
"""

from __future__ import annotations

from .catalog import ShapeError

DTYPE_MISMATCH = "E504"
FLOATS = ("float16", "bfloat16", "float32", "float64")
INTEGERS = ("int8", "int16", "int32", "int64", "uint8")
STRING = "string"

TO_NUMBERS = (
    "map the strings to numbers first: StringLookup (categories), TextVectorization (text) or "
    "Hashing, e.g. `x -> StringLookup(vocabulary=[...]) -> ...`"
)


def is_number(dtype: str) -> bool:
    return dtype != STRING


def which(ins, i: int) -> str:
    """How a message names input `i` of a layer: "its input", or "its input 2" among several."""
    return "its input" if len(ins) == 1 else f"its input {i + 1}"


def an(dtype: str) -> str:
    return f"an {dtype}" if dtype.startswith("int") else f"a {dtype}"


def refuse(kind: str, ins, i: int, wanted: str, hint: str) -> ShapeError:
    return ShapeError(
        f"{kind} takes {wanted}, but {which(ins, i)} is {an(ins[i])} tensor",
        hint,
        DTYPE_MISMATCH,
    )


def numbers_only(kind: str, ins) -> None:
    """Refuse a string tensor among `ins` (a layer that computes with numbers)."""
    for i, dtype in enumerate(ins):
        if dtype == STRING:
            raise refuse(kind, ins, i, "numbers", TO_NUMBERS)


def float_dtype(a) -> str:
    """The dtype a layer computes in: its `dtype=` argument if given, else float32."""
    given = a.get("dtype")
    return given if given is not None and given != STRING else "float32"


def default_rule(kind: str):
    def rule(ins, a):
        numbers_only(kind, ins)
        return float_dtype(a)

    return rule


def keep_dtype(ins, a) -> str:
    """A layer that moves values without computing (Reshape, Flatten, ...): any dtype, strings too;
    Keras casts a float input to the layer's float dtype and leaves the others as they are."""
    first = ins[0]
    return float_dtype(a) if first in FLOATS else first


def layer_dtype(definition, ins, a) -> str:
    """The dtype of what a catalog layer yields for inputs of dtypes `ins`; ShapeError (E504)
    when it cannot take them."""
    rule = definition.dtype if definition.dtype is not None else default_rule(definition.name)
    return rule(list(ins), a)
