"""The front-end pipeline: text -> parse -> normalise -> JSON Schema -> lower -> shapes -> Spec.

Parsing and normalising are one pass of tfspec.frontend.fast for the texts it is sure of; Lark
and the normaliser (parser.parse_slow) take the others and word every syntax error."""

from __future__ import annotations

import time
from contextlib import contextmanager

from .check.quick_schema import fits_schema
from .check.schema import validate
from .check.training import check_training
from .diagnostics import Collector, SpecError, suggestion_budget
from .frontend.fast import attempt
from .frontend.source import MAX_BYTES, decode, normalise_newlines, read_source
from .ir.lower import Lowerer, check_layer_names
from .ir.nodes import Spec
from .ir.shapes import infer
from .ir.walk import paused_gc
from .plugins import autoload


def load(path) -> Spec:
    """Load and check a .tfs file. Raises SpecError listing every problem found."""
    path = str(path)
    text = read_source(path)
    _stage("read")
    return loads(text, filename=path)


_CLOCK: list = [None]  # while `timing` runs: [the stage times, the CPU time at the last mark]


def _stage(name: str) -> None:
    clock = _CLOCK[0]
    if clock is not None:
        now = time.process_time()
        clock[0][name] = clock[0].get(name, 0.0) + now - clock[1]
        clock[1] = now


@contextmanager
def timing():
    """`with timing() as stages:` fills `stages` with the CPU seconds of each stage of the
    loads made meanwhile (read, parse, schema, lower, shapes, training); for
    benchmarks/bench_check.py. Off (one test of a global) otherwise."""
    stages: dict = {}
    saved = _CLOCK[0]
    _CLOCK[0] = [stages, time.process_time()]
    try:
        yield stages
    finally:
        _CLOCK[0] = saved


def loads(text: str, filename: str = "<string>") -> Spec:
    """Load and check spec text. Raises SpecError listing every problem found.

    The cyclic garbage collector is paused meanwhile (see tfspec.ir.walk.paused_gc): loading
    makes hundreds of thousands of small objects that all stay alive until the Spec is made.
    The "did you mean" hints share a budget of work (tfspec.diagnostics.suggestion_budget), so
    that thousands of undefined names among thousands of names are reported in time."""
    autoload()  # the installed plugins' catalog entries, once per process
    with paused_gc(), suggestion_budget():
        return _loads(text, filename)


def prepared(text, filename: str) -> str:
    """The text as the loader reads it: decoded, without a byte-order mark, with LF line breaks."""
    if isinstance(text, bytes):
        text = decode(text, filename)
    elif text.startswith("\ufeff"):
        text = text[1:]  # a byte-order mark, as `load` drops it from files (open(..., encoding="utf-8") keeps it)
    return normalise_newlines(text)  # CRLF and a lone CR end a line too (positions as an editor shows them)


def parse(text: str, filename: str) -> tuple:
    """(normalised spec, {path: Span}) of prepared text. The fast parser takes the texts it is sure
    of; Lark and the normaliser the others (and word every syntax error, raised as SpecError)."""
    parsed, shorter = attempt(text, filename)
    if parsed is None:
        from .frontend.parser import parse_slow

        parsed = parse_slow(text, filename, shorter)
    return parsed


def _loads(text: str, filename: str) -> Spec:
    text = prepared(text, filename)
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        from .diagnostics import Diagnostic, Span

        raise SpecError(
            [Diagnostic("E001", f"spec text is too large (the limit is {MAX_BYTES:,} bytes)", Span(filename, 1, 1))],
            None,
        )
    _stage("read")
    try:
        spec, spans = parse(text, filename)
    finally:
        _stage("parse")
    if "search" in spec:
        from .search.check import load_searched

        return load_searched(spec, spans, text, filename)
    made = check_spec(spec, spans, text, filename)
    if isinstance(made, list):
        raise SpecError(_named_counts(spec, spans, filename, made), text)
    return made


def _named_counts(spec: dict, spans: dict, filename: str, problems: list) -> list:
    """A repetition count by name (`* depth`) in a spec without a search section is refused by the
    schema as a wrong type; say instead that it names no hyperparameter."""
    from .search.point import check_names
    from .search.space import Space

    found = Collector(filename)
    check_names(spec, Space(()), spans, filename, found)
    if not found:
        return problems
    places = {d.span for d in found.items}
    kept = [d for d in problems if d.span not in places]
    return sorted(kept + found.items, key=lambda d: (d.span.line, d.span.column))


def check_spec(spec: dict, spans: dict, text: str, filename: str):
    """The Spec of a normalised spec (no search section), or the list of its diagnostics."""
    try:
        problems = [] if fits_schema(spec) else validate(spec, spans, filename)
    finally:
        _stage("schema")
    if problems:
        return problems
    lowerer = Lowerer(spec, spans, filename)
    model = lowerer.program()
    errors = lowerer.errors
    _stage("lower")
    training = None
    if not errors and model is not None:
        infer(model, errors)
        check_layer_names(model, errors)
        _stage("shapes")
    if spec["train"] is not None:
        training = check_training(spec["train"], spans, filename, errors, model)
        _stage("training")
    if errors:
        return sorted(errors.items, key=lambda d: (d.span.line, d.span.column))
    return Spec(filename, text, model, lowerer.blocks, training, spec, spans.get(("train",)))


__all__ = ["load", "loads", "timing", "Collector"]
