"""Loading a spec with a search section: the space is read, the names it gives are checked, and
the spec is checked at each point of Space.check_points (every choice of every hyperparameter,
the ends of each range, and the corners where all ranges are low and all high). A diagnostic
found at a point other than the default says at which values it appears. The Spec returned is
the one at the default point."""

from __future__ import annotations

from ..diagnostics import Collector, Diagnostic, SpecError
from .point import at_point, check_names
from .space import read_space, show_point


def load_searched(spec: dict, spans: dict, text: str, filename: str):
    from ..loader import check_spec

    errors = Collector(filename)
    space = read_space(spec["search"], spans, filename, errors)
    if not errors:
        check_names(spec, space, spans, filename, errors)
    if errors:
        raise SpecError(_sorted(errors.items), text)
    default = space.default()
    found: list = []
    seen: set = set()
    loaded = None
    model_lines = None  # the lines of the model's statements, found when first needed
    for point in space.check_points():
        made = check_spec(at_point(spec, point), spans, text, filename)
        if not isinstance(made, list):
            if point == default:
                loaded = made
            continue
        changed = {name: value for name, value in point.items() if value != default[name]}
        for d in made:
            key = (d.code, d.message, d.span)
            if key in seen:
                continue
            seen.add(key)
            if d.code == "E301" and _names_hyper(d.message, space):
                if model_lines is None:
                    model_lines = _lines_of(spans, "model")
                if d.span.line not in model_lines:  # a hyperparameter's name in a block's body
                    d = Diagnostic(
                        d.code,
                        d.message,
                        d.span,
                        "a block sees hyperparameters only through its parameters: give the block a "
                        "parameter and pass the hyperparameter where the model uses the block",
                    )
            if changed:
                d = Diagnostic(
                    d.code,
                    f"{d.message} (with {show_point(changed)})",
                    d.span,
                    _hint(d.hint, space, changed),
                    d.severity,
                )
            found.append(d)
    if found:
        raise SpecError(_sorted(found), text)
    loaded.space = space
    loaded.point = default
    loaded.searched = spec
    loaded.searched_spans = spans
    return loaded


def _names_hyper(message: str, space) -> bool:
    return any(message.startswith(f"{name!r} ") for name in space.names)


def _lines_of(spans: dict, section: str) -> set:
    """The lines that the section's statements span (a name used in a block lies elsewhere)."""
    lines = set()
    for where, span in spans.items():
        if where[:1] == (section,):
            lines.update(range(span.line, (span.end_line or span.line) + 1))
    return lines


def _hint(hint, space, changed: dict) -> str:
    lines = ", ".join(str(space.get(name).span.line) for name in changed)
    where = f"the search section (line {lines}) allows these values"
    return f"{hint}; {where}" if hint else where


def _sorted(items) -> list:
    return sorted(items, key=lambda d: (d.span.line, d.span.column))
