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
    """A function value -> bool for one subschema.

    The common shapes are fused into one closure each (an object of known properties, an array
    of items, a string with a pattern): a 1 MiB spec holds about 300,000 objects, and each call
    saved on each of them counts."""
    if not isinstance(node, dict):
        raise _Unsupported(repr(node))
    for key in node:
        if key not in _KEYWORDS and key not in _NO_CHECK:
            raise _Unsupported(key)
    kinds = None
    if "type" in node:
        kinds = [node["type"]] if isinstance(node["type"], str) else list(node["type"])
        for kind in kinds:
            _TYPES[kind]  # KeyError: an unknown type name (the checker steps aside)
    checks = []
    fused = None  # the type that a fused check below tests itself
    if kinds is not None and set(kinds) <= {"object", "null"} and "object" in kinds and _OBJECT & set(node):
        checks.append(_object(node, defs, refs, "null" in kinds))
        fused = "object"
    elif kinds == ["array"] and ("items" in node or "minItems" in node or "maxItems" in node):
        checks.append(_array(node, defs, refs, typed=True))
        fused = "array"
    elif kinds == ["string"] and "pattern" in node:
        checks.append(_pattern(node["pattern"], typed=True))
        fused = "string"
    elif kinds is not None:
        checks.append(_type_check(kinds))
    if "$ref" in node:
        checks.append(_ref(node["$ref"], defs, refs))
    if "enum" in node:
        options = tuple((type(o), o) for o in node["enum"])
        checks.append(lambda v, options=options: (type(v), v) in options)
    bounds = tuple((compare, node[key]) for key, compare in _BOUNDS.items() if key in node)
    if bounds:

        def bounded(v, bounds=bounds):
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                return True
            for compare, limit in bounds:
                if not compare(v, limit):
                    return False
            return True

        checks.append(bounded)
    if "pattern" in node and fused != "string":
        checks.append(_pattern(node["pattern"], typed=False))
    if ("items" in node or "minItems" in node or "maxItems" in node) and fused != "array":
        checks.append(_array(node, defs, refs, typed=False))
    if _OBJECT & set(node) and fused != "object":
        checks.append(_object(node, defs, refs, None))
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


_OBJECT = {"properties", "required", "additionalProperties", "propertyNames"}


def _object(node: dict, defs: dict, refs: dict, null):
    """The object keywords of `node`. null: None when the type is checked elsewhere (then a
    value that is not an object passes, as JSON Schema says), else whether None is allowed."""
    properties = {k: _compile(s, defs, refs) for k, s in node.get("properties", {}).items()}
    required = tuple(node.get("required", ()))
    extra = node.get("additionalProperties", True)
    extra = None if extra is True else (_never if extra is False else _compile(extra, defs, refs))
    names = _compile(node["propertyNames"], defs, refs) if "propertyNames" in node else None

    def obj(v, properties=properties, required=required, extra=extra, names=names, null=null):
        if not isinstance(v, dict):
            return null is None or (null and v is None)
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

    return obj


def _array(node: dict, defs: dict, refs: dict, typed: bool):
    """items, minItems and maxItems; with `typed`, a value that is not a list fails (type: array)."""
    item = _compile(node["items"], defs, refs) if "items" in node else None
    least = node.get("minItems", 0)
    most = node.get("maxItems")
    other = not typed  # what a value that is not an array gets

    def array(v, item=item, least=least, most=most, other=other):
        if not isinstance(v, list):
            return other
        if len(v) < least or (most is not None and len(v) > most):
            return False
        if item is not None:
            for x in v:
                if not item(x):
                    return False
        return True

    return array


def _pattern(pattern: str, typed: bool):
    """A regex search on strings, remembered per string (names repeat: every `Dense`); with
    `typed`, a value that is not a string fails (type: string)."""
    search = re.compile(pattern).search
    other = not typed
    known: dict = {}

    def matches(v, search=search, known=known, other=other):
        if not isinstance(v, str):
            return other
        found = known.get(v)
        if found is None:
            found = known[v] = search(v) is not None
        return found

    return matches


def _type_check(kinds: list):
    """A type test from JSON type names: isinstance with Python types, bools kept apart."""
    plain = tuple(_TYPES[k] for k in kinds if k not in ("integer", "number", "boolean"))  # KeyError: unknown
    integer = "integer" in kinds
    number = "number" in kinds
    boolean = "boolean" in kinds
    # the exact types that pass (the usual values, found by one set lookup): what the test
    # below accepts for an object of exactly that type
    exact = {_EXACT[k] for k in kinds if k in _EXACT} | ({int, float} if number else set())

    def check(v, exact=frozenset(exact)):
        if type(v) in exact:
            return True
        if isinstance(v, bool):
            return boolean
        if number and isinstance(v, (int, float)):
            return True
        if integer and type(v) is int:
            return True
        return isinstance(v, plain)

    return check


def _ref(ref: str, defs: dict, refs: dict):
    """The check of a `#/$defs/NAME` reference: the compiled definition itself, or, while that
    definition is still being compiled (a value holds values), a function that looks it up."""
    if not ref.startswith("#/$defs/") or ref[len("#/$defs/") :] not in defs:
        raise _Unsupported(ref)
    if ref not in refs:
        cell = []
        refs[ref] = lambda v: cell[0](v)  # used only by the definition's own parts
        compiled = _compile(defs[ref[len("#/$defs/") :]], defs, refs)
        cell.append(compiled)
        refs[ref] = compiled
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
_EXACT = {"object": dict, "array": list, "string": str, "null": type(None), "integer": int, "boolean": bool}
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
    "maxItems",
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


_PARTS: dict = {}  # id(subschema of SCHEMA) -> (subschema, its check or None)
_PART_REFS: dict = {}


def quick_check(node: dict):
    """The quick check of one subschema of SCHEMA (as jsonschema meets it while validating), or
    None when it cannot be compiled. Like fits_schema, it never accepts what jsonschema refuses."""
    known = _PARTS.get(id(node))
    if known is None:
        from .schema import SCHEMA

        try:
            check = _compile(node, SCHEMA.get("$defs", {}), _PART_REFS)
        except (_Unsupported, KeyError, TypeError, re.error):
            check = None
        known = _PARTS[id(node)] = (node, check)  # the subschema kept alive: its id stays its own
    return known[1]
