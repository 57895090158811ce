"""What the server knows of each open document: its text, its last good parse, its diagnostics.

A document that does not load keeps the Spec of its last good version, so hover and completion
still have shapes and names while the user is half-way through an edit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import unquote, urlparse

from ..diagnostics import Diagnostic, SpecError
from ..loader import loads
from .positions import lines_of


@dataclass
class Document:
    uri: str
    text: str = ""
    lines: list = field(default_factory=list)
    spec: object = None  # the last Spec that loaded, or None
    diagnostics: list = field(default_factory=list)  # tfspec Diagnostic, of the current text


def path_of(uri: str) -> str:
    """The file name diagnostics are reported under (a file URI's path, else the URI)."""
    parsed = urlparse(uri)
    return unquote(parsed.path) if parsed.scheme == "file" else uri


def analyse(doc: Document, text: str) -> Document:
    """Load `text` into `doc`: its diagnostics, and its Spec when it loads."""
    doc.text = text
    doc.lines = lines_of(text)
    try:
        doc.spec = loads(text, path_of(doc.uri))
        doc.diagnostics = []
    except SpecError as exc:
        doc.diagnostics = list(exc.diagnostics) or [_unknown(doc)]
    except RecursionError:
        doc.diagnostics = [_unknown(doc, "the spec is nested too deeply to check")]
    return doc


def _unknown(doc: Document, message: str = "invalid spec") -> Diagnostic:
    from ..diagnostics import Span

    return Diagnostic("", message, Span(path_of(doc.uri), 1, 1, 1, 1))
