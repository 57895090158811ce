"""`tfspec lsp`: a Language Server Protocol server over stdio for .tfs files. No TensorFlow.

It offers diagnostics (as `tfspec check`), hover, completion, formatting (as `tfspec fmt`) and
the document outline; see tfspec/lsp/server.py for the wiring.
"""

from __future__ import annotations


def register(subparsers) -> None:
    p = subparsers.add_parser("lsp", help="run the language server on standard input and output")
    p.set_defaults(run=run)


def run(args) -> int:
    from .server import make_server

    make_server().start_io()
    return 0
