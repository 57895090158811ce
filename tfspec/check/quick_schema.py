"""A quick yes/no check of the normalised spec against SCHEMA.

jsonschema reports every problem with its path, which the diagnostics need, but it costs about
40 microseconds per object of the normalised spec (2.7 s of a 1 MiB spec). Valid specs are the
rule, so the loader first asks a yes/no question of a checker compiled from the same SCHEMA
(a closure per subschema, about 20 times faster), and runs jsonschema only when the answer is
no. The quick checker is never more lenient than jsonschema: it understands only the keywords
SCHEMA uses (any other one makes it step aside, and jsonschema decides every spec), and where
it is unsure it says no (an integral float is not an integer to it; enum values must have
the same type). tests/test_scaling.py compares the two on mutated specs.
"""

from __future__ import annotations

import re


class _Unsupported(Exception):
    pass


_NO_CHECK = ("$schema", "$id", "$defs", "title", "description")


def _compile(node, defs: dict, refs: dict):
    """A function value -> bool for one subschema."""
    if not isinstance(node, dict):
        raise _Unsupported(repr(node))
    for key in node:
        if key not in _KEYWORDS and key not in _NO_CHECK:
            raise _Unsupported(key)
    checks = []
    if "type" in node:
        kinds = [node["type"]] if isinstance(node["type"], str) else list(node["type"])
        checks.append(_type_check(kinds))
    if "$ref" in node:
        checks.append(_ref(node["$ref"], defs, refs))
    if "enum" in node:
        options = tuple((type(o), o) for o in node["enum"])
        checks.append(lambda v, options=options: (type(v), v) in options)
    for key, compare in _BOUNDS.items():
        if key in node:
            limit = node[key]
            checks.append(lambda v, limit=limit, compare=compare: not _number(v) or compare(v, limit))
    if "pattern" in node:
        search = re.compile(node["pattern"]).search
        checks.append(lambda v, search=search: not isinstance(v, str) or search(v) is not None)
    if "items" in node or "minItems" in node:
        item = _compile(node["items"], defs, refs) if "items" in node else None
        least = node.get("minItems", 0)

        def array(v, item=item, least=least):
            if not isinstance(v, list):
                return True
            if len(v) < least:
                return False
            if item is not None:
                for x in v:
                    if not item(x):
                        return False
            return True

        checks.append(array)
    if {"properties", "required", "additionalProperties", "propertyNames"} & set(node):
        properties = {k: _compile(s, defs, refs) for k, s in node.get("properties", {}).items()}
        required = tuple(node.get("required", ()))
        extra = node.get("additionalProperties", True)
        extra = None if extra is True else (_never if extra is False else _compile(extra, defs, refs))
        names = _compile(node["propertyNames"], defs, refs) if "propertyNames" in node else None

        def obj(v, properties=properties, required=required, extra=extra, names=names):
            if not isinstance(v, dict):
                return True
            for key in required:
                if key not in v:
                    return False
            for key, value in v.items():
                if names is not None and not names(key):
                    return False
                check = properties.get(key, extra)
                if check is not None and not check(value):
                    return False
            return True

        checks.append(obj)
    if "anyOf" in node:
        options = tuple(_compile(s, defs, refs) for s in node["anyOf"])

        def any_of(v, options=options):
            for option in options:
                if option(v):
                    return True
            return False

        checks.append(any_of)
    if not checks:
        return lambda v: True
    if len(checks) == 1:
        return checks[0]
    checks = tuple(checks)

    def every(v, checks=checks):
        for check in checks:
            if not check(v):
                return False
        return True

    return every


def _type_check(kinds: list):
    """A type test from JSON type names: isinstance with Python types, bools kept apart."""
    plain = tuple(_TYPES[k] for k in kinds if k not in ("integer", "number", "boolean"))  # KeyError: unknown
    integer = "integer" in kinds
    number = "number" in kinds
    boolean = "boolean" in kinds

    def check(v):
        if isinstance(v, bool):
            return boolean
        if number and isinstance(v, (int, float)):
            return True
        if integer and type(v) is int:
            return True
        return isinstance(v, plain)

    return check


def _ref(ref: str, defs: dict, refs: dict):
    if not ref.startswith("#/$defs/") or ref[len("#/$defs/") :] not in defs:
        raise _Unsupported(ref)
    if ref not in refs:
        cell = []
        refs[ref] = lambda v: cell[0](v)  # recursive schemas (a value holds values)
        cell.append(_compile(defs[ref[len("#/$defs/") :]], defs, refs))
    return refs[ref]


def _never(_value) -> bool:
    return False


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


_TYPES = {
    "object": dict,
    "array": list,
    "string": str,
    "null": type(None),
    "integer": int,
    "number": float,
    "boolean": bool,
}
_BOUNDS = {
    "minimum": lambda v, limit: v >= limit,
    "maximum": lambda v, limit: v <= limit,
    "exclusiveMinimum": lambda v, limit: v > limit,
    "exclusiveMaximum": lambda v, limit: v < limit,
}
_KEYWORDS = {
    "$ref",
    "type",
    "enum",
    "pattern",
    "items",
    "minItems",
    "properties",
    "required",
    "additionalProperties",
    "propertyNames",
    "anyOf",
    *_BOUNDS,
}
_QUICK = []


def fits_schema(spec: dict) -> bool:
    """True when the normalised spec certainly fits SCHEMA; False when jsonschema must look."""
    if not _QUICK:
        from .schema import SCHEMA

        try:
            _QUICK.append(_compile(SCHEMA, SCHEMA.get("$defs", {}), {}))
        except (_Unsupported, KeyError, TypeError, re.error):
            _QUICK.append(None)
    return _QUICK[0] is not None and _QUICK[0](spec)
