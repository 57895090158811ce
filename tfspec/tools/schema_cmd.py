"""`tfspec schema`: the JSON Schema of the normalised spec (for editors and other tools), and
with `--catalog` the vocabulary a spec may use, as JSON: every layer (the loaded plugins' too)
with its constructor arguments, every tensor operation, every train-section entry. Editors
complete names and arguments from it; it is read from the same tables that check specs."""

from __future__ import annotations

import json
import sys

from ..check.schema import SCHEMA
from ..diagnostics import clean
from ..files import write_atomic


def schema_text() -> str:
    """SCHEMA as pretty, key-sorted JSON: the same bytes on every run."""
    return json.dumps(SCHEMA, indent=2, sort_keys=True) + "\n"


def _plain(value):
    """A default as JSON: numbers, strings, booleans, null and lists as they are; anything else as
    the spec would write it."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    from ..ir.values import show

    return show(value)


def _arguments(args) -> list:
    return [
        {"name": a.name, "type": a.type.name, "required": a.required}
        | ({} if a.required else {"default": _plain(a.default)})
        for a in args
    ]


def catalog() -> dict:
    """The layers, operations and train-section entries a spec may name, with their arguments."""
    from ..check import train_catalog
    from ..ir import layers as _registered  # noqa: F401  (registers the layer catalog)
    from ..ir.catalog import ALIASES, REGISTRY
    from ..ir.ops import OPS

    layers = {}
    for name, definition in REGISTRY.items():
        low, high = definition.inputs
        layers[name] = {
            "arguments": _arguments(definition.args),
            "inputs": [low, high],
            "call_arguments": [c.name for c in definition.call_args],
            "doc": definition.doc,
            "plugin": definition.plugin,
        }
    operations = {
        name: {"tensors": list(op.tensors), "arguments": _arguments(op.args), "doc": op.doc} for name, op in OPS.items()
    }
    train = {
        kind: {
            name: {
                "arguments": _arguments(entry.args),
                "doc": entry.doc,
                "plugin": entry.plugin,
                "aliases": list(entry.aliases),
            }
            for name, entry in train_catalog.ENTRIES[kind].items()
        }
        for kind in train_catalog.KINDS
    }
    return {"layers": layers, "layer_aliases": dict(ALIASES), "operations": operations, "train": train}


def catalog_text() -> str:
    return json.dumps(catalog(), indent=2, sort_keys=True) + "\n"


def register(subparsers) -> None:
    p = subparsers.add_parser("schema", help="print the JSON Schema (draft 2020-12) of the normalised spec")
    p.add_argument("-o", "--output", metavar="FILE", help="write it here (atomically) instead of to stdout")
    p.add_argument(
        "--catalog",
        action="store_true",
        help="print the catalog instead: layers (plugins' too), operations and train-section names with their arguments",
    )
    p.set_defaults(run=run)


def run(args) -> int:
    text = catalog_text() if args.catalog else schema_text()
    if args.output:
        try:
            write_atomic(args.output, text)
        except OSError as exc:
            print(f"tfspec: error: cannot write {clean(args.output)}: {exc.strerror or exc}", file=sys.stderr)
            return 1
    else:
        sys.stdout.write(text)
    return 0
