"""The hypermodel of a spec with a search section, as the printers write it (`def build_model(hp)`).

The model's body becomes a block template whose parameters are the hyperparameters, so that
what prints a block prints the model with its hyperparameters left as names: expressions stay
expressions (`Dense(units * 2)`), an `if` on a hyperparameter stays an `if`, a block call passes
them on, and a repetition count (`-> Dense(units) * depth`) is a loop (tfspec.ir.nodes.Node.repeat).
The spec that holds the template applies it once, with every hyperparameter at its default, so
the printers' analyses (shapes, masks, layers built early) read it like any block's instance.

The spec was checked at every point `check` tries before it gets here (tfspec.search.check), so
lowering the template finds nothing new; it runs without the schema, which refuses a repetition
count by name inside a block (the text cannot write one there).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from ..diagnostics import SpecError
from ..ir.catalog import lookup
from ..ir.lower import Lowerer, check_layer_names
from ..ir.nodes import Block, Spec
from ..ir.shapes import infer
from .point import names_read
from .settings import training_with_names
from .space import Hyper, Space


@dataclass
class Hypermodel:
    """`block`: the model body as a template, its parameters the hyperparameters it uses (in the
    order of the search section); `spec`: a spec whose model applies it once, at the default point;
    `settings` and `uses`: the train section with its hyperparameters (tfspec.search.settings)."""

    spec: Spec
    block: Block
    space: Space
    settings: dict | None
    uses: dict


def hypermodel(spec: Spec) -> Hypermodel:
    """The hypermodel of a loaded spec that has a search section (`spec.searched` is set)."""
    searched = spec.searched
    name = _block_name(searched)
    desugared = _as_block(searched, name, spec.space)
    spans = _moved_spans(spec.searched_spans, len(searched["blocks"]))
    lowerer = Lowerer(desugared, spans, spec.path)
    model = lowerer.program()
    errors = lowerer.errors
    if not errors and model is not None:
        infer(model, errors)
        check_layer_names(model, errors)
    if errors:  # not expected: the spec was checked at its points already
        raise SpecError(sorted(errors.items, key=lambda d: (d.span.line, d.span.column)), spec.source)
    made = Spec(spec.path, spec.source, model, lowerer.blocks, spec.training, desugared, spec.train_span)
    return Hypermodel(made, lowerer.blocks[name], spec.space, *training_with_names(spec, spans))


def _block_name(searched: dict) -> str:
    """A block name for the model's body: the model's own, unless a block or a layer has it."""
    taken = {b["name"] for b in searched["blocks"]}
    base = searched["model"]["name"]
    name, n = base, 1
    while name in taken or lookup(name) is not None:
        n += 1
        name = f"{base}_{n}"
    return name


def _as_block(searched: dict, name: str, space: Space) -> dict:
    """The normalised spec with the model's body moved into block `name` (parameters: the
    hyperparameters the body uses, defaulting to their defaults) and a model that applies it once."""
    body = searched["model"]["body"]
    inputs = [i["name"] for i in body["inputs"]]
    block_body = dict(body, inputs=[dict(i, shape=None) for i in body["inputs"]])
    used = names_read(body)
    params = [{"name": h.name, "default": h.default} for h in space.hypers if h.name in used]
    targets = []
    for out in body["outputs"]:  # an output that is an input gets a name of its own here
        target, n = out, 1
        while target in inputs or target in targets:
            n += 1
            target = f"{out}_{n}"
        targets.append(target)
    chain = {
        "source": inputs,
        "steps": [{"call": {"call": name, "args": [], "kwargs": {}}, "repeat": 1}],
        "target": targets[0],
    }
    if len(targets) > 1:
        chain["also"] = targets[1:]
    model_body = {
        "inputs": body["inputs"],
        "layers": [],
        "chains": [chain],
        "assigns": [],
        "ifs": [],
        "outputs": targets,
    }
    return {
        "blocks": list(searched["blocks"]) + [{"name": name, "params": params, "body": block_body}],
        "model": {"name": searched["model"]["name"], "body": model_body},
        "train": None,
    }


def _moved_spans(spans: dict, at: int) -> dict:
    """A copy of `spans` with those of the model's body also under the block it became (block
    `at`). Entries are copied as they are stored (a SpanTable keeps offsets until asked)."""
    spans = copy.copy(spans)
    for where in list(spans):
        if where[:2] == ("model", "body"):
            dict.__setitem__(spans, ("blocks", at, "body") + where[2:], dict.__getitem__(spans, where))
    return spans


# -- the hyperparameters as KerasTuner declares them -----------------------------------------


def declaration(hyper: Hyper) -> tuple:
    """(method, [positional values], [(keyword, value)]) of `hp.<method>(...)` for `hyper`, with
    `default=` only where it differs from KerasTuner's own (the first choice, the low end, False)."""
    keywords = []
    if hyper.kind == "choice":
        args = [hyper.name, list(hyper.values)]
        own = hyper.values[0]
        method = "Choice"
    elif hyper.kind == "boolean":
        args = [hyper.name]
        own = False
        method = "Boolean"
    else:
        args = [hyper.name, hyper.low, hyper.high]
        if hyper.step is not None:
            keywords.append(("step", hyper.step))
        if hyper.log:
            keywords.append(("sampling", "log"))
        own = hyper.low
        method = "Int" if hyper.kind == "int" else "Float"
    if hyper.default != own or type(hyper.default) is not type(own):
        keywords.append(("default", hyper.default))
    return method, args, keywords
