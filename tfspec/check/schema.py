"""Stage one of validation: the normalised spec dict against a JSON Schema.

The schema is data (`SCHEMA`) so that `tfspec schema` can print it for editors and
other tools. Errors are mapped back to source spans through the {path: Span} table
built during normalisation (the longest recorded prefix of the error's path wins).
"""

from __future__ import annotations

from ..diagnostics import Diagnostic, Span, did_you_mean
from .train_catalog import SETTINGS

NAME = {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$"}

# a call's arguments (a layer's constructor, an application, a step's second argument list)
ARGS = {"type": "array", "items": {"$ref": "#/$defs/value"}}
KWARGS = {"type": "object", "propertyNames": NAME, "additionalProperties": {"$ref": "#/$defs/value"}}

DEFS = {
    "value": {
        "anyOf": [
            {"type": ["integer", "number", "string", "boolean", "null"]},
            {"type": "array", "items": {"$ref": "#/$defs/value"}},
            {"$ref": "#/$defs/tuple"},
            {"$ref": "#/$defs/ref"},
            {"$ref": "#/$defs/dict"},
            {"$ref": "#/$defs/call"},
            {"$ref": "#/$defs/op"},
            {"$ref": "#/$defs/index"},
            {"$ref": "#/$defs/attr"},
            {"$ref": "#/$defs/apply"},
        ]
    },
    # expressions (tfspec.frontend.normalise): operators, indexes, `x.shape`, `Layer(...)(x)`
    "op": {
        "type": "object",
        "properties": {
            "op": {
                "enum": ["+", "-", "*", "/", "//", "%", "==", "!=", "<", "<=", ">", ">=", "and", "or", "not", "neg"]
            },
            "args": {"type": "array", "items": {"$ref": "#/$defs/value"}, "minItems": 1, "maxItems": 2},
        },
        "required": ["op", "args"],
        "additionalProperties": False,
    },
    "index": {
        "type": "object",
        "properties": {
            "index": {"$ref": "#/$defs/value"},
            "items": {
                "type": "array",
                "items": {
                    "anyOf": [
                        {"$ref": "#/$defs/value"},
                        {
                            "type": "object",
                            "properties": {
                                "slice": {
                                    "type": "array",
                                    "items": {"$ref": "#/$defs/value"},
                                    "minItems": 3,
                                    "maxItems": 3,
                                }
                            },
                            "required": ["slice"],
                            "additionalProperties": False,
                        },
                        {
                            "type": "object",
                            "properties": {"ellipsis": {"enum": [True]}},
                            "required": ["ellipsis"],
                            "additionalProperties": False,
                        },
                    ]
                },
            },
        },
        "required": ["index", "items"],
        "additionalProperties": False,
    },
    "attr": {
        "type": "object",
        "properties": {"attr": NAME, "of": {"$ref": "#/$defs/value"}},
        "required": ["attr", "of"],
        "additionalProperties": False,
    },
    "apply": {
        "type": "object",
        "properties": {
            "apply": {"$ref": "#/$defs/value"},
            "args": ARGS,
            "kwargs": KWARGS,
        },
        "required": ["apply", "args", "kwargs"],
        "additionalProperties": False,
    },
    "arguments": {
        "type": "object",
        "properties": {
            "args": ARGS,
            "kwargs": KWARGS,
        },
        "required": ["args", "kwargs"],
        "additionalProperties": False,
    },
    "tuple": {
        "type": "object",
        "properties": {"tuple": {"type": "array", "items": {"$ref": "#/$defs/value"}}},
        "required": ["tuple"],
        "additionalProperties": False,
    },
    "ref": {"type": "object", "properties": {"ref": NAME}, "required": ["ref"], "additionalProperties": False},
    "dict": {
        "type": "object",
        "properties": {"dict": {"type": "object", "additionalProperties": {"$ref": "#/$defs/value"}}},
        "required": ["dict"],
        "additionalProperties": False,
    },
    "call": {
        "type": "object",
        "properties": {
            "call": NAME,
            "args": ARGS,
            "kwargs": KWARGS,
        },
        "required": ["call", "args", "kwargs"],
        "additionalProperties": False,
    },
    "named": {"anyOf": [{"$ref": "#/$defs/ref"}, {"type": "string"}, {"$ref": "#/$defs/call"}]},
    "body": {
        "type": "object",
        "properties": {
            "inputs": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "name": NAME,
                        "shape": {
                            "anyOf": [
                                {"type": "null"},
                                {
                                    "type": "array",
                                    "items": {"anyOf": [{"type": "integer", "minimum": 1}, {"type": "null"}]},
                                },
                            ]
                        },
                        "dtype": {
                            "enum": [
                                "float16",
                                "bfloat16",
                                "float32",
                                "float64",
                                "int8",
                                "int16",
                                "int32",
                                "int64",
                                "uint8",
                                "bool",
                                "string",
                            ]
                        },
                    },
                    "required": ["name", "shape", "dtype"],
                    "additionalProperties": False,
                },
            },
            "layers": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"name": NAME, "layer": {"$ref": "#/$defs/call"}},
                    "required": ["name", "layer"],
                    "additionalProperties": False,
                },
            },
            "chains": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "source": {"type": "array", "items": NAME, "minItems": 1},
                        "steps": {
                            "type": "array",
                            "items": {
                                "anyOf": [
                                    {
                                        "type": "object",
                                        "properties": {
                                            "call": {"$ref": "#/$defs/call"},
                                            "repeat": {"type": "integer", "minimum": 1, "maximum": 1000},
                                            "using": {"$ref": "#/$defs/arguments"},
                                        },
                                        "required": ["call", "repeat"],
                                        "additionalProperties": False,
                                    },
                                    {"$ref": "#/$defs/ref"},
                                ]
                            },
                        },
                        "target": {"anyOf": [NAME, {"type": "null"}]},
                        "also": {"type": "array", "items": NAME, "minItems": 1},
                    },
                    "required": ["source", "steps", "target"],
                    "additionalProperties": False,
                },
            },
            "assigns": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "targets": {"type": "array", "items": NAME, "minItems": 1},
                        "value": {"$ref": "#/$defs/value"},
                    },
                    "required": ["targets", "value"],
                    "additionalProperties": False,
                },
            },
            "ifs": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "if": {"$ref": "#/$defs/value"},
                        "then": {"$ref": "#/$defs/body"},
                        "else": {"anyOf": [{"$ref": "#/$defs/body"}, {"type": "null"}]},
                    },
                    "required": ["if", "then", "else"],
                    "additionalProperties": False,
                },
            },
            "outputs": {"type": "array", "items": NAME},
            # `add_loss kl`: the tensors whose mean is added to the loss (present only when written)
            "losses": {"type": "array", "items": NAME, "minItems": 1},
        },
        "required": ["inputs", "layers", "chains", "assigns", "ifs", "outputs"],
        "additionalProperties": False,
    },
    "count": {"type": "integer", "minimum": 1},
}

TRAIN = {
    "type": ["object", "null"],
    "properties": {
        "optimizer": {"$ref": "#/$defs/named"},
        "loss": {
            "anyOf": [
                {"$ref": "#/$defs/named"},
                {
                    "type": "object",
                    "properties": {"dict": {"type": "object", "additionalProperties": {"$ref": "#/$defs/named"}}},
                    "required": ["dict"],
                    "additionalProperties": False,
                },
            ]
        },
        "loss_weights": {
            "anyOf": [
                {"type": "array", "items": {"type": "number", "minimum": 0}},
                {
                    "type": "object",
                    "properties": {
                        "dict": {"type": "object", "additionalProperties": {"type": "number", "minimum": 0}}
                    },
                    "required": ["dict"],
                    "additionalProperties": False,
                },
            ]
        },
        "metrics": {
            "anyOf": [
                {"type": "array", "items": {"$ref": "#/$defs/named"}},
                {
                    "type": "object",
                    "properties": {
                        "dict": {
                            "type": "object",
                            "additionalProperties": {"type": "array", "items": {"$ref": "#/$defs/named"}},
                        }
                    },
                    "required": ["dict"],
                    "additionalProperties": False,
                },
            ]
        },
        # the scalar settings' types and ranges are the train catalog's
        **{key: dict(kind.schema) for key, kind in SETTINGS.items()},
        "validation": {
            "anyOf": [{"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1}, {"$ref": "#/$defs/named"}]
        },
        "callbacks": {"type": "array", "items": {"$ref": "#/$defs/named"}},
        "data": {"$ref": "#/$defs/named"},
        "distribute": {
            "anyOf": [
                {"enum": ["mirrored", "multi_worker", "none", None]},
                {
                    "type": "object",
                    "properties": {"ref": {"enum": ["mirrored", "multi_worker", "none"]}},
                    "required": ["ref"],
                    "additionalProperties": False,
                },
            ]
        },
        "precision": {
            "anyOf": [
                {"enum": ["float32", "mixed_float16", "mixed_bfloat16"]},
                {
                    "type": "object",
                    "properties": {"ref": {"enum": ["float32", "mixed_float16", "mixed_bfloat16"]}},
                    "required": ["ref"],
                    "additionalProperties": False,
                },
            ]
        },
        "jit_compile": {"type": "boolean"},
        "deterministic": {"type": "boolean"},
    },
    "additionalProperties": False,
}

SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://tfspec.dev/schema/spec.json",
    "title": "tfspec normalised spec",
    "description": "The plain-JSON form of a .tfs file that tfspec validates and lowers.",
    "type": "object",
    "properties": {
        "blocks": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "name": NAME,
                    "params": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {"name": NAME, "default": {"$ref": "#/$defs/value"}},
                            "required": ["name"],
                            "additionalProperties": False,
                        },
                    },
                    "body": {"$ref": "#/$defs/body"},
                },
                "required": ["name", "params", "body"],
                "additionalProperties": False,
            },
        },
        "model": {
            "type": ["object", "null"],
            "properties": {"name": NAME, "body": {"$ref": "#/$defs/body"}},
            "required": ["name", "body"],
            "additionalProperties": False,
        },
        "train": TRAIN,
    },
    "required": ["blocks", "model", "train"],
    "additionalProperties": False,
    "$defs": DEFS,
}

TRAIN_KEYS = tuple(TRAIN["properties"])


def validator():
    """A jsonschema validator for SCHEMA whose `items` and `properties` keywords leave out the
    values that the quick checker accepts (they hold no error) and validate each distinct
    failing value once (see _descend): a 1 MiB spec with a mistake on each of its 30,000 lines
    is worded in well under a second. The errors are those, in the order, that plain jsonschema
    gives (tests/test_scaling.py compares them on thousands of mutated specs)."""
    import jsonschema

    cls = jsonschema.validators.validator_for(SCHEMA)
    hooks = {}
    if "items" in cls.VALIDATORS:
        hooks["items"] = _quick_items(cls.VALIDATORS["items"])
    if "properties" in cls.VALIDATORS:
        hooks["properties"] = _quick_properties(cls.VALIDATORS["properties"])
    if hooks:
        cls = jsonschema.validators.extend(cls, hooks)
    return cls(SCHEMA)


_VALIDATOR = None
_MEMO: list = [None]  # {(id(items schema), repr(item)): errors} while validate() runs


def _quick_items(original):
    def items(validator, items, instance, schema):
        if not isinstance(items, dict) or "prefixItems" in schema or not validator.is_type(instance, "array"):
            yield from original(validator, items, instance, schema)
            return
        for index, item in enumerate(instance):
            yield from _descend(validator, item, items, index, None)

    return items


def _quick_properties(original):
    def properties(validator, properties, instance, schema):
        if not validator.is_type(instance, "object"):
            return
        for name, subschema in properties.items():
            if name in instance:
                if not isinstance(subschema, dict):
                    yield from validator.descend(instance[name], subschema, path=name, schema_path=name)
                else:
                    yield from _descend(validator, instance[name], subschema, name, name)

    return properties


def _descend(validator, value, subschema: dict, path, schema_path):
    """validator.descend(value, subschema, path=path, schema_path=schema_path), quickly: nothing
    when the quick check of the subschema accepts the value, and copies of the errors of an
    equivalent value met before when there is one (see _key)."""
    from .quick_schema import quick_check

    check = quick_check(subschema)
    if check is not None and check(value):
        return  # no error in it: jsonschema would find none either
    memo = _MEMO[0]
    key = _key(value, subschema) if memo is not None else None
    found = memo.get(key) if key is not None else None
    if found is None:  # the first value of its kind: its own errors, remembered as they are now
        found = list(validator.descend(value, subschema))  # paths relative to the value
        # Remembered when few; and for an object keyed by its failing properties only, when
        # every error lies inside one of them (an error about the object itself would quote it)
        if key is not None and len(found) <= 16 and (key[1] != "object" or all(e.relative_path for e in found)):
            memo[key] = [_copy(error) for error in found]
        for error in found:
            error.relative_path.appendleft(path)  # as descend(..., path=path, schema_path=...) adds them
            if schema_path is not None:
                error.relative_schema_path.appendleft(schema_path)
            yield error
        return
    for error in found:
        copy = _copy(error)  # its own paths, which the callers extend
        copy.relative_path.appendleft(path)
        if schema_path is not None:
            copy.relative_schema_path.appendleft(schema_path)
        yield copy


_OBJECT_KEYWORDS = frozenset({"type", "properties", "required", "additionalProperties", "propertyNames"})


def _key(value, subschema: dict):
    """What the errors of `value` under `subschema` depend on, or None (not remembered).

    A small value: its repr (which tells 1, 1.0, True and "1" apart, and lists from tuples).
    An object under a schema of object keywords only (a chain, an input, a layer): its keys in
    order, and the repr of each property value that the quick check refuses; the others hold
    no error. Two chains that differ in their tensor names but repeat the same bad `* 0` share
    one key (and _descend remembers their errors only when each lies inside a property)."""
    from .quick_schema import quick_check

    try:
        if type(value) is dict and subschema.get("type") == "object" and _OBJECT_KEYWORDS.issuperset(subschema):
            properties = subschema.get("properties", {})
            parts = []
            for name, item in value.items():
                inner = properties.get(name)
                check = quick_check(inner) if isinstance(inner, dict) else None
                if check is not None and check(item):
                    parts.append((name,))
                elif _small(item):
                    parts.append((name, repr(item)))
                else:
                    return None
            return (id(subschema), "object", tuple(parts))
        if _small(value):  # (a large value is met once: not worth a key)
            return (id(subschema), "value", repr(value))
    except Exception:  # noqa: BLE001 - an object without a repr: not remembered
        return None
    return None


def _small(value, size: int = 256) -> bool:
    """Whether a JSON-like value holds at most about `size` items (stops counting past it)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            size -= len(item)
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            size -= len(item)
            stack.extend(item)
        if size < 0:
            return False
    return True


def _copy(error):
    """A copy of a jsonschema error and of the errors in its context, each with its own paths."""
    return type(error)(
        error.message,
        validator=error.validator,
        path=error.relative_path,
        cause=error.cause,
        context=[_copy(inner) for inner in error.context],
        validator_value=error.validator_value,
        instance=error.instance,
        schema=error.schema,
        schema_path=error.relative_schema_path,
        type_checker=error._type_checker,
    )


def _unlink(errors) -> None:
    """Drop the parent links of the errors' contexts (reference cycles): they are freed at once
    rather than left to the cyclic collector (a million objects for a 1 MiB spec)."""
    stack = list(errors)
    while stack:
        error = stack.pop()
        for inner in error.context:
            inner.parent = None
            stack.append(inner)


def validate(spec: dict, spans: dict, path: str) -> list[Diagnostic]:
    """Check `spec` against SCHEMA; one diagnostic per offending place, in source order."""
    global _VALIDATOR
    if _VALIDATOR is None:
        _VALIDATOR = validator()
    _MEMO[0] = memo = {}
    try:
        return _validate(spec, spans, path)
    finally:
        _MEMO[0] = None
        for found in memo.values():
            _unlink(found)


def _validate(spec: dict, spans: dict, path: str) -> list[Diagnostic]:
    import jsonschema

    found: dict[tuple, Diagnostic] = {}
    for error in _VALIDATOR.iter_errors(spec):
        if error.context:
            # a value out of range in one branch of an anyOf (validation = 1.5) says more than
            # "not valid under any of the given schemas"
            ranged = [c for c in error.context if c.validator in RANGES]
            refined = ranged[0] if ranged else jsonschema.exceptions.best_match([error])
        else:
            refined = error
        where = tuple(refined.absolute_path)
        _unlink([error])
        for diag in describe(refined, where, spec, spans, path):
            found.setdefault((diag.span.line, diag.span.column, diag.message), diag)
    return sorted(found.values(), key=lambda d: (d.span.line, d.span.column))


def span_for(spans: dict, where: tuple, path: str) -> Span:
    for cut in range(len(where), -1, -1):
        span = spans.get(tuple(where[:cut]))
        if span is not None:
            return span
    return Span(path, 1, 1)


RANGES = ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum")


def label(where: tuple, spec: dict | None = None) -> str:
    """What a schema path points at, in the words of the language."""
    if len(where) >= 2 and where[0] == "train":
        return f"training setting {where[1]!r}"
    try:
        if "body" in where:
            at = where.index("body")
            owner = spec["model"] if where[0] == "model" else spec["blocks"][where[1]]
            body, rest = owner["body"], where[at + 1 :]
            if rest[:1] == ("inputs",) and len(rest) >= 3:
                name = body["inputs"][rest[1]]["name"]
                if rest[2] == "shape" and len(rest) >= 4:
                    return f"dimension {rest[3] + 1} of input {name!r}"
                if rest[2] == "dtype":
                    return f"the dtype of input {name!r}"
            if rest[:1] == ("chains",) and rest[-1:] == ("repeat",):
                return "the repeat count (`* n`)"
    except (KeyError, IndexError, TypeError, ValueError):
        pass
    return "/".join(str(p) for p in where) or "spec"


def describe(error, where, spec, spans, path):
    v = error.validator
    if v == "additionalProperties" and where == ("train",):
        extra = sorted(set(error.instance) - set(TRAIN_KEYS))
        for key in extra:
            span = spans.get(("train", key, "@name")) or span_for(spans, ("train", key), path)
            yield Diagnostic(
                "E201",
                f"unknown training setting {key!r}",
                span,
                did_you_mean(key, TRAIN_KEYS) or "known settings: " + ", ".join(TRAIN_KEYS),
            )
        return
    span = span_for(spans, where, path)
    what = label(where, spec)
    if v in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        sign = {"minimum": "≥", "exclusiveMinimum": ">", "maximum": "≤", "exclusiveMaximum": "<"}[v]
        yield Diagnostic("E203", f"{what} must be {sign} {error.validator_value}, got {error.instance!r}", span)
    elif v == "pattern":
        yield Diagnostic(
            "E307",
            f"{error.instance!r} is not a valid name",
            span,
            "names are ASCII letters, digits and '_', not starting with a digit",
        )
    elif v == "enum" or (v == "anyOf" and where[:1] == ("train",) and where[1:2] in (("distribute",), ("precision",))):
        choices = TRAIN["properties"].get(where[1], {}) if where[:1] == ("train",) else {}
        options = ", ".join(
            str(o)
            for o in (error.validator_value if v == "enum" else choices.get("anyOf", [{}])[0].get("enum", []))
            if o is not None
        )
        yield Diagnostic("E202", f"{what} has an unsupported value", span, f"use one of: {options}")
    elif (v == "type" or v == "anyOf") and len(where) == 2 and where[0] == "train" and where[1] in SETTINGS:
        shown = _shown(error.instance)
        yield Diagnostic("E202", f"{what} must be {SETTINGS[where[1]].name}, got {shown}", span)
    elif v == "type" or v == "anyOf":
        yield Diagnostic("E202", f"{what} has the wrong type of value", span, expected_hint(where))
    else:
        yield Diagnostic("E200", f"{what}: {error.message}", span)


def _shown(instance) -> str:
    """A normalised value as the spec wrote it (a string, a name, a call), for messages."""
    from ..ir.values import from_json, show

    return show(from_json(instance))


def expected_hint(where) -> str | None:
    if where[:1] != ("train",) or len(where) < 2:
        return None
    return {
        "epochs": "e.g. epochs = 5",
        "batch": "e.g. batch = 32",
        "batch_size": "e.g. batch_size = 32",
        "seed": "e.g. seed = 42",
        "optimizer": "e.g. optimizer = Adam(learning_rate=1e-3)",
        "loss": "e.g. loss = SparseCategoricalCrossentropy() or { out_a: ..., out_b: ... }",
        "metrics": "e.g. metrics = [accuracy]",
        "callbacks": "e.g. callbacks = [EarlyStopping(patience=2)]",
        "validation": 'a fraction (validation = 0.1) or a data source (validation = npz("val.npz"))',
        "data": 'e.g. data = digits, data = npz("train.npz"), data = csv("train.csv", label="y")',
        "loss_weights": "e.g. loss_weights = { out_a: 1.0, out_b: 0.5 }",
        "jit_compile": "True or False",
        "deterministic": "True or False",
    }.get(where[1])
