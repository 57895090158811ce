"""Back ends: one printer per Keras style, all reading the same IR."""

from __future__ import annotations

from ..diagnostics import SpecError
from .legality import STYLES, allowed_styles, problems


def generate(spec, style: str = "functional") -> str:
    """Keras source for `spec` in `style`; raises SpecError if the style cannot express it.

    A spec with a search section prints as a KerasTuner hypermodel, `build_model(hp=None)`
    (tfspec.backends.hypermodel); without `hp` it builds the default point's model."""
    if style not in STYLES:
        raise ValueError(f"unknown style {style!r}; choose one of {', '.join(STYLES)}")
    found = problems(spec, style)
    if found:
        raise SpecError(found, spec.source)
    hyper = None
    if getattr(spec, "searched", None) is not None:
        from ..search.hyper import hypermodel
        from .search_legality import hyper_problems

        hyper = hypermodel(spec)
        found = hyper_problems(hyper, style)
        if found:
            raise SpecError(found, spec.source)
    if style == "sequential":
        from .sequential import generate as printer
    elif style == "functional":
        from .functional import generate as printer
    else:
        from .subclassing import generate as printer
    return printer(spec) if hyper is None else printer(spec, hyper)


def generate_model(spec, style: str = "functional") -> str:
    """The source of the model itself: for a spec with a search section, the model at its default
    point (what `tfspec train`, live models and run folders build and train) rather than the
    hypermodel `generate` prints. A search is trained point by point (tfspec.search.tune)."""
    if getattr(spec, "searched", None) is not None:
        import dataclasses

        spec = dataclasses.replace(spec, space=None, point=None, searched=None, searched_spans=None)
    return generate(spec, style)


__all__ = ["STYLES", "allowed_styles", "generate", "generate_model"]
