"""The front-end pipeline: text -> parse -> normalise -> JSON Schema -> lower -> shapes -> Spec."""

from __future__ import annotations

from .check.quick_schema import fits_schema
from .check.schema import validate
from .check.training import check_training
from .diagnostics import Collector, SpecError
from .frontend.normalise import normalise
from .frontend.parser import parse
from .frontend.source import MAX_BYTES, decode, normalise_newlines, read_source
from .ir.lower import Lowerer, check_layer_names
from .ir.nodes import Spec
from .ir.shapes import infer
from .ir.walk import paused_gc


def load(path) -> Spec:
    """Load and check a .tfs file. Raises SpecError listing every problem found."""
    path = str(path)
    return loads(read_source(path), filename=path)


def loads(text: str, filename: str = "<string>") -> Spec:
    """Load and check spec text. Raises SpecError listing every problem found.

    The cyclic garbage collector is paused meanwhile (see tfspec.ir.walk.paused_gc): loading
    makes hundreds of thousands of small objects that all stay alive until the Spec is made."""
    with paused_gc():
        return _loads(text, filename)


def _loads(text: str, filename: str) -> Spec:
    if isinstance(text, bytes):
        text = decode(text, filename)
    elif text.startswith("\ufeff"):
        text = text[1:]  # a byte-order mark, as `load` drops it from files (open(..., encoding="utf-8") keeps it)
    text = normalise_newlines(text)  # CRLF and a lone CR end a line too (positions as an editor shows them)
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        from .diagnostics import Diagnostic, Span

        raise SpecError(
            [Diagnostic("E001", f"spec text is too large (the limit is {MAX_BYTES:,} bytes)", Span(filename, 1, 1))],
            None,
        )
    tree = parse(text, filename)
    spec, spans = normalise(tree, filename, text)
    problems = [] if fits_schema(spec) else validate(spec, spans, filename)
    if problems:
        raise SpecError(problems, text)
    lowerer = Lowerer(spec, spans, filename)
    model = lowerer.program()
    errors = lowerer.errors
    training = None
    if not errors and model is not None:
        infer(model, errors)
        check_layer_names(model, errors)
    if spec["train"] is not None:
        training = check_training(spec["train"], spans, filename, errors, model)
    if errors:
        raise SpecError(sorted(errors.items, key=lambda d: (d.span.line, d.span.column)), text)
    return Spec(filename, text, model, lowerer.blocks, training, spec, spans.get(("train",)))


__all__ = ["load", "loads", "Collector"]
