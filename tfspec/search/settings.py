"""The train section of a spec with a search section, with its hyperparameters: what
`build_model(hp)` gives compile() (tfspec.backends.hypermodel).

TRAINING, the runtime's settings, is plain data at one point. Where a setting holds a
hyperparameter's value, it is worked out by checking the train section again with each
hyperparameter it names at its other values (its ends, or every value of a choice), the others
at their defaults: a leaf that is the hyperparameter's value at every one of these points holds
it (a Ref). A setting that changes otherwise (`optimizer = opt` where the catalog renames "adam"
to Adam) is a Table of its value at each value of its one hyperparameter, or else Unwritable.
No TensorFlow here."""

from __future__ import annotations

from dataclasses import dataclass

from ..ir.nodes import Spec
from .point import names_read


@dataclass(frozen=True)
class Unwritable:
    """A setting whose value depends on hyperparameters otherwise than by holding one of them
    (`epochs = 2 * depth`, or an alias the catalog renames): `names` are those hyperparameters."""

    names: tuple


@dataclass(frozen=True)
class Table:
    """Such a setting when it depends on one hyperparameter of a few values (`optimizer = opt`,
    `opt = choice("adam", "sgd")`): `values` holds (value, the setting at that value) for each."""

    name: str
    values: tuple


MAX_TABLE = 16  # the most values a Table lists


def training_with_names(spec: Spec, spans: dict) -> tuple:
    """(TRAINING with a Ref to each hyperparameter where it holds that hyperparameter's value,
    {TRAINING key: names of the hyperparameters it depends on}). A key whose value changes with a
    hyperparameter in another way holds a Table or an Unwritable (see the module's docstring)."""
    from ..ir.values import Ref
    from ..loader import check_spec
    from .point import at_point

    base = spec.training
    if base is None:
        return None, {}
    named = names_read(spec.searched.get("train") or {})
    default = spec.space.default()
    found = {key: {} for key in base}  # key -> {path: Ref}
    unwritable: dict = {}
    uses: dict = {}
    for hyper in spec.space.hypers:
        if hyper.name not in named:
            continue
        for value in hyper.ends():
            if value == hyper.default and type(value) is type(hyper.default):
                continue
            made = check_spec(at_point(spec.searched, {**default, hyper.name: value}), spans, spec.source, spec.path)
            other = made.training
            for key in base:
                if other[key] == base[key] and type(other[key]) is type(base[key]):
                    continue
                uses.setdefault(key, [])
                if hyper.name not in uses[key]:
                    uses[key].append(hyper.name)
                paths = _differences(base[key], other[key], ())
                if paths is None or not all(
                    _same(_leaf(base[key], p), hyper.default) and _same(_leaf(other[key], p), value) for p in paths
                ):
                    unwritable.setdefault(key, set()).add(hyper.name)
                    continue
                for p in paths:
                    if found[key].get(p, Ref(hyper.name)) != Ref(hyper.name):
                        unwritable.setdefault(key, set()).add(hyper.name)
                    found[key][p] = Ref(hyper.name)
    out = {}
    for key, value in base.items():
        if key in unwritable:
            out[key] = _table(spec, spans, key, uses[key]) or Unwritable(tuple(uses[key]))
        else:
            for path, ref in found[key].items():
                value = _replaced(value, path, ref)
            out[key] = value
    return out, {key: tuple(names) for key, names in uses.items()}


def _table(spec: Spec, spans: dict, key: str, names: tuple) -> Table | None:
    """The setting `key` at each value of the one hyperparameter it depends on, when it has few."""
    from ..loader import check_spec
    from .point import at_point

    hyper = spec.space.get(names[0]) if len(names) == 1 else None
    values = hyper.finite() if hyper is not None else None
    if values is None or len(values) > MAX_TABLE:
        return None
    default = spec.space.default()
    rows = []
    for value in values:
        made = check_spec(at_point(spec.searched, {**default, hyper.name: value}), spans, spec.source, spec.path)
        if isinstance(made, list):  # a value inside a range that `check` did not try, and refuses
            return None
        rows.append((value, made.training[key]))
    return Table(hyper.name, tuple(rows))


def _differences(a, b, path: tuple) -> list | None:
    """The paths of the leaves where `a` and `b` differ; None when their shapes differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        if list(a) != list(b):
            return None
        out = []
        for key in a:
            inner = _differences(a[key], b[key], path + (key,))
            if inner is None:
                return None
            out += inner
        return out
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return None
        out = []
        for i, (x, y) in enumerate(zip(a, b)):
            inner = _differences(x, y, path + (i,))
            if inner is None:
                return None
            out += inner
        return out
    if isinstance(a, (dict, list)) or isinstance(b, (dict, list)):
        return None
    return [] if _same(a, b) and type(a) is type(b) else [path]


def _same(a, b) -> bool:
    """Equal, and both booleans or neither (True == 1 in Python)."""
    return a == b and isinstance(a, bool) == isinstance(b, bool)


def _leaf(value, path: tuple):
    for key in path:
        value = value[key]
    return value


def _replaced(value, path: tuple, new):
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: _replaced(value[head], rest, new)}
    return [_replaced(v, rest, new) if i == head else v for i, v in enumerate(value)]
