"""`tfspec schema`: the JSON Schema of the normalised spec (for editors and other tools)."""

from __future__ import annotations

import json
import sys

from ..check.schema import SCHEMA
from ..diagnostics import clean
from ..files import write_atomic


def schema_text() -> str:
    """SCHEMA as pretty, key-sorted JSON: the same bytes on every run."""
    return json.dumps(SCHEMA, indent=2, sort_keys=True) + "\n"


def register(subparsers) -> None:
    p = subparsers.add_parser("schema", help="print the JSON Schema (draft 2020-12) of the normalised spec")
    p.add_argument("-o", "--output", metavar="FILE", help="write it here (atomically) instead of to stdout")
    p.set_defaults(run=run)


def run(args) -> int:
    text = schema_text()
    if args.output:
        try:
            write_atomic(args.output, text)
        except OSError as exc:
            print(f"tfspec: error: cannot write {clean(args.output)}: {exc.strerror or exc}", file=sys.stderr)
            return 1
    else:
        sys.stdout.write(text)
    return 0
