"""The loss terms of a shaped body (`add_loss kl`): checked once its tensors' shapes and dtypes
are known, and those of `if` branches not chosen left out (tfspec.ir.shapes.infer calls it)."""

from __future__ import annotations

from .nodes import Graph


def floating(dtype: str) -> bool:
    return dtype.startswith("float") or dtype == "bfloat16"


def check_terms(graph: Graph, shapes: dict, dtypes: dict, values: dict, skipped: dict, errors, context: str) -> None:
    """Keep the terms whose `if` branches hold; report a term not made when its tensor's branch
    was not chosen (E301) and one that is not a float tensor (E310): Keras adds the mean of a
    float tensor to the loss, and no gradient flows through an integer or a boolean."""
    from .shapes import holds, show_guard_false

    kept = []
    for term in graph.losses:
        if term.guard and not holds(term, values, shapes, errors, context):
            continue  # not chosen (or its condition is reported): this body adds no such term
        name = term.name
        if name not in shapes:
            if name in skipped:
                errors.error(
                    "E301",
                    f"the loss term {name!r} is not made when {show_guard_false(skipped[name])}{context}",
                    term.span,
                    "make it in every branch of the `if`, or add it inside the branch that makes it",
                )
            continue  # otherwise an earlier error explains it
        dtype = dtypes.get(name)
        if dtype is not None and not floating(dtype):
            errors.error(
                "E310",
                f"the loss term {name!r} holds {dtype} values; a loss term is a float tensor{context}",
                term.span,
                f'compute it as floats, e.g. `cast({name}, "float32")`',
            )
            continue
        kept.append(term)
    graph.losses = kept


def terms_of(graph: Graph) -> dict:
    """{name: LossTerm} of every loss term the model adds, in its blocks too (the first of each
    name: a block used twice adds its term twice, logged as one sum); graph: the shaped model."""
    from .walk import bodies

    found: dict = {}
    for body in reversed(bodies(graph)):  # the model first
        for term in body.losses:
            found.setdefault(term.name, term)
    return found
