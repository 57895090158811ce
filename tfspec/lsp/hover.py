"""Hover: a layer call (its Keras class, output shape, parameters and arguments), a tensor
(its shape and dtype), a block (its signature) or a hyperparameter (its search space)."""

from __future__ import annotations

from lsprotocol import types

from ..ir.catalog import lookup
from ..ir.explain import describe
from ..ir.nodes import MISSING
from ..ir.values import show
from .lookup import graphs, hyper_at, layer_at, shape_text
from .positions import UTF16, word_at


def signature(block) -> str:
    params = [p if default is MISSING else f"{p}={show(default)}" for p, default in block.params]
    return f"block {block.name}({', '.join(params)})"


def hyper_detail(hyper) -> str:
    """`choice(64, 128, 256), default 64`: a hyperparameter's space in one line."""
    return f"{hyper.describe()}, default {show(hyper.default)}"


def hyper_text(hyper) -> str:
    return (
        f"```\n{hyper.name} = {hyper.describe()}\n```\n\n"
        f"hyperparameter (search section, line {hyper.span.line}), default `{show(hyper.default)}`: "
        "the spec is checked at each choice and range end and loads at the defaults; "
        "`tfspec tune` searches the space"
    )


def hover_text(doc, pos: types.Position, encoding: str = UTF16) -> str | None:
    word, start, end = word_at(doc.lines, pos, encoding)
    if not word:
        return None
    spec = doc.spec
    line = doc.lines[min(pos.line, len(doc.lines) - 1)] if doc.lines else ""
    calls = line[end:].lstrip().startswith("(")
    if spec is not None and word in spec.blocks:
        text = f"```\n{signature(spec.blocks[word])}\n```"
        return text + _instance(doc, pos.line, start, word)
    hyper = hyper_at(spec, doc.lines, pos.line, word) if doc.lines else None
    if hyper is not None and not calls:
        return hyper_text(hyper)
    if calls or lookup(word) is not None:
        about = describe(word)
        if about is not None:
            return _instance(doc, pos.line, start, word).lstrip("\n") + ("\n\n" if calls else "") + about
    for graph in graphs(spec):
        if word in graph.shapes or any(i.name == word for i in graph.inputs):
            dtype = graph.dtypes.get(word, next((i.dtype for i in graph.inputs if i.name == word), "float32"))
            shape = graph.shapes.get(word)
            where = "" if graph is spec.model else f" (in block {graph.name})"
            return f"`{word}`: {dtype} {shape_text(shape) if shape is not None or graph is spec.model else 'from the caller'}{where}"
    return None


def _instance(doc, row: int, col: int, word: str) -> str:
    """What the layer call at the position makes: its class, output shape, parameters."""
    found = layer_at(doc.spec, row, col)
    if found is None:
        return ""
    graph, layer, node = found
    if layer.kind != word:
        return ""
    lines = [f"\n\n**{layer.id}**: `{layer.kind}`" + ("" if layer.block else f" (keras.layers.{layer.kind})")]
    if node is not None and node.output in graph.shapes:
        lines.append(f"output shape {shape_text(graph.shapes[node.output])}")
    if layer.id in graph.params:
        trainable, frozen = graph.params[layer.id]
        lines.append(f"{trainable + frozen:,} parameters ({trainable:,} trainable)")
    return "\n\n".join(lines)


def hover(doc, pos: types.Position, encoding: str = UTF16) -> types.Hover | None:
    text = hover_text(doc, pos, encoding)
    if not text:
        return None
    return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=text))
