"""A point of a search space put into a spec: the normalised spec with every use of a
hyperparameter's name replaced by its value, which the rest of the pipeline checks, builds and
trains like any spec. Blocks are not touched: they see a hyperparameter only through their
arguments, as they see any value of the model."""

from __future__ import annotations

from ..diagnostics import Collector, Span
from .space import Space


def at_point(spec: dict, point: dict) -> dict:
    """A copy of the normalised `spec` (without its search section) at `point`."""
    out = {key: value for key, value in spec.items() if key != "search"}
    if spec.get("model") is not None:
        out["model"] = {"name": spec["model"]["name"], "body": _body(spec["model"]["body"], point)}
    if spec.get("train") is not None:
        out["train"] = {name: _value(value, point) for name, value in spec["train"].items()}
    return out


def _value(value, point: dict):
    if isinstance(value, dict):
        if "ref" in value and len(value) == 1:
            name = value["ref"]
            return point[name] if name in point else value
        if "call" in value and "args" in value:
            out = dict(value)
            out["args"] = [_value(v, point) for v in value["args"]]
            out["kwargs"] = {k: _value(v, point) for k, v in value["kwargs"].items()}
            return out
        return {k: (_value(v, point) if k not in ("attr", "op") else v) for k, v in value.items()}
    if isinstance(value, list):
        return [_value(v, point) for v in value]
    return value


def _body(body: dict, point: dict) -> dict:
    out = dict(body)
    out["layers"] = [{**entry, "layer": _value(entry["layer"], point)} for entry in body["layers"]]
    out["chains"] = [{**chain, "steps": [_step(step, point) for step in chain["steps"]]} for chain in body["chains"]]
    out["assigns"] = [{**entry, "value": _value(entry["value"], point)} for entry in body["assigns"]]
    out["ifs"] = [
        {
            "if": _value(entry["if"], point),
            "then": _body(entry["then"], point),
            "else": _body(entry["else"], point) if entry["else"] is not None else None,
        }
        for entry in body["ifs"]
    ]
    return out


def _step(step: dict, point: dict) -> dict:
    if "call" not in step:
        return step
    out = dict(step)
    out["call"] = _value(step["call"], point)
    repeat = step["repeat"]
    if isinstance(repeat, dict) and repeat.get("ref") in point:
        out["repeat"] = point[repeat["ref"]]
    if "using" in step:
        out["using"] = _value(step["using"], point)
    return out


# -- which names the model and the train section use ---------------------------------------------


def names_read(value) -> set:
    """Every name a normalised body's values read (`{"ref": name}`, repetition counts included)."""
    found, stack = set(), [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if "ref" in item and len(item) == 1:
                found.add(item["ref"])
            else:
                stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def _defined(body: dict, where: tuple, found: dict) -> None:
    """name -> path of its definition, for every name the body defines."""
    for i, entry in enumerate(body["inputs"]):
        found.setdefault(entry["name"], where + ("inputs", i))
    for i, entry in enumerate(body["layers"]):
        found.setdefault(entry["name"], where + ("layers", i))
    for i, chain in enumerate(body["chains"]):
        if chain["target"] is not None:
            found.setdefault(chain["target"], where + ("chains", i, "target"))
        for j, name in enumerate(chain.get("also", ())):
            found.setdefault(name, where + ("chains", i, "also", j))
    for i, entry in enumerate(body["assigns"]):
        for j, name in enumerate(entry["targets"]):
            found.setdefault(name, where + ("assigns", i, "targets", j))
    for i, entry in enumerate(body["ifs"]):
        _defined(entry["then"], where + ("ifs", i, "then"), found)
        if entry["else"] is not None:
            _defined(entry["else"], where + ("ifs", i, "else"), found)


def _repeats(body: dict, where: tuple, found: list) -> None:
    """(name, path) of each `* name` repetition count."""
    for i, chain in enumerate(body["chains"]):
        for j, step in enumerate(chain["steps"]):
            repeat = step.get("repeat")
            if isinstance(repeat, dict):
                found.append((repeat["ref"], where + ("chains", i, "steps", j, "repeat")))
    for i, entry in enumerate(body["ifs"]):
        _repeats(entry["then"], where + ("ifs", i, "then"), found)
        if entry["else"] is not None:
            _repeats(entry["else"], where + ("ifs", i, "else"), found)


def check_names(spec: dict, space: Space, spans: dict, path: str, errors: Collector) -> None:
    """E802: a hyperparameter whose name the model also gives to something, one that nothing
    uses, a repetition count that names no hyperparameter (or one in a block's body, which sees
    hyperparameters only through its parameters)."""

    def span(where) -> Span:
        return spans.get(where) or Span(path, 1, 1)

    names = set(space.names)
    defined: dict = {}
    used: set = set()
    repeats: list = []
    if spec.get("model") is not None:
        body = spec["model"]["body"]
        _defined(body, ("model", "body"), defined)
        used |= names_read({k: body[k] for k in ("layers", "chains", "assigns", "ifs")})
        _repeats(body, ("model", "body"), repeats)
    used |= names_read(spec.get("train") or {})
    for hyper in space.hypers:
        if hyper.name in defined:
            errors.error(
                "E802",
                f"{hyper.name!r} names a hyperparameter and also something of the model",
                span(defined[hyper.name]),
                f"rename one of them (the hyperparameter is at line {hyper.span.line})",
            )
    for name, where in repeats:
        used.add(name)
        if name not in names:
            errors.error(
                "E802",
                f"the repetition count {name!r} is not a hyperparameter of the search section",
                span(where),
                f"write a whole number, or add `{name} = int(1, 3)` to a `search {{ ... }}` section",
            )
    for i, block in enumerate(spec.get("blocks", ())):
        block_repeats: list = []
        _repeats(block["body"], ("blocks", i, "body"), block_repeats)
        for name, where in block_repeats:
            errors.error(
                "E802",
                f"the repetition count {name!r} in block {block['name']!r} is not a whole number",
                span(where),
                "a block sees hyperparameters only through its parameters; pass the count to the "
                "block's user, or repeat the block in the model (`-> B(...) * depth`)",
            )
    for hyper in space.hypers:
        if hyper.name not in used and hyper.name not in defined:
            errors.error(
                "E802",
                f"the hyperparameter {hyper.name!r} is used nowhere",
                hyper.span,
                "use its name in a layer's or block's arguments, a repetition count or the train section, or remove it",
            )
