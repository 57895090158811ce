"""What the printers share beyond the emitter: naming tensors, layer constructor calls."""

from __future__ import annotations

from ..ir.catalog import REGISTRY
from ..ir.nodes import Layer
from .emitter import Code, Scope, call_code, pystr, snake


def tensor_var(scope: Scope, tensor: str) -> str:
    """Intermediate tensors of a chain (`y~2`) reuse the variable of the chain's result `y`."""
    return scope.add(tensor.split("~", 1)[0])


def inputs_code(scope: Scope, names, positional: bool = False) -> str:
    """The argument(s) a layer is applied to: `x`, `[a, b]`, or `a, b` for layers such as
    MultiHeadAttention whose call takes its inputs as separate arguments."""
    names = [tensor_var(scope, n) for n in names]
    if len(names) == 1:
        return names[0]
    return ", ".join(names) if positional else "[" + ", ".join(names) + "]"


def positional_inputs(layer: Layer) -> bool:
    return layer.block is None and getattr(REGISTRY[layer.kind], "positional_inputs", False)


def constructor(layer: Layer, env=None) -> Code:
    """`layers.Kind(args...)` exactly as the spec wrote the call."""
    return call_code(f"layers.{layer.kind}", layer.call.args, layer.call.kwargs, env)


def block_function_name(name: str) -> str:
    return snake(name)


def shape_code(shape) -> str:
    inner = ", ".join("None" if d is None else str(d) for d in shape)
    return f"({inner},)" if len(shape) == 1 else f"({inner})"


def input_code(inp, with_name: bool = True) -> str:
    parts = [f"shape={shape_code(inp.shape)}"]
    if inp.dtype != "float32":
        parts.append(f"dtype={pystr(inp.dtype)}")
    if with_name:
        parts.append(f"name={pystr(inp.name)}")
    return f"keras.Input({', '.join(parts)})"


def rename_kwargs(kwargs, names: dict) -> tuple:
    """Keyword arguments of a block call, named as the generated function or class names them
    (a block parameter that would clash with generated code is renamed there)."""
    return tuple((names.get(key, key), value) for key, value in kwargs)
