"""Formatting (exactly `tfspec fmt`) and the document's outline (model, blocks, train, search)."""

from __future__ import annotations

from lsprotocol import types

from ..diagnostics import Span, SpecError
from ..tools.fmt import format_text
from .documents import path_of
from .lookup import hypers
from .positions import UTF16, position, span_range


def formatting(doc, encoding: str = UTF16) -> list[types.TextEdit]:
    """One edit replacing the whole text with `tfspec fmt`'s; none when it does not parse."""
    try:
        result = format_text(doc.text, path_of(doc.uri))
    except (SpecError, RecursionError):
        return []
    if result == doc.text:
        return []
    last = len(doc.lines)
    end = position(doc.lines, last, len(doc.lines[-1]) + 1, encoding) if doc.lines else position([], 1, 1)
    return [types.TextEdit(range=types.Range(start=types.Position(line=0, character=0), end=end), new_text=result)]


def _symbol(doc, name, kind, span, detail=None, children=None, encoding=UTF16):
    r = span_range(doc.lines, span, encoding)
    return types.DocumentSymbol(
        name=name, kind=kind, range=r, selection_range=r, detail=detail, children=children or None
    )


def symbols(doc, encoding: str = UTF16) -> list[types.DocumentSymbol]:
    spec = doc.spec
    if spec is None:
        return []
    out = []
    for block in spec.blocks.values():
        out.append(_symbol(doc, block.name, types.SymbolKind.Function, block.span, "block", encoding=encoding))
    graph = spec.model
    tensors = [
        _symbol(doc, i.name, types.SymbolKind.Variable, i.span, "input", encoding=encoding) for i in graph.inputs
    ]
    tensors += [
        _symbol(doc, name, types.SymbolKind.Variable, span, "output", encoding=encoding)
        for name, span in zip(graph.outputs, graph.output_spans)
    ]
    out.append(_symbol(doc, graph.name, types.SymbolKind.Class, graph.span, "model", tensors, encoding))
    if spec.train_span is not None:
        out.append(_symbol(doc, "train", types.SymbolKind.Namespace, spec.train_span, "train", encoding=encoding))
    found = list(hypers(spec).values())
    if found:  # the search section, from its first hyperparameter's name to its last one's
        names = [
            _symbol(doc, h.name, types.SymbolKind.Constant, h.span, h.describe(), encoding=encoding) for h in found
        ]
        first, last = found[0].span, found[-1].span
        whole = Span(first.path, first.line, first.column, last.end_line, last.end_column)
        out.append(_symbol(doc, "search", types.SymbolKind.Namespace, whole, "search", names, encoding))
    return out
