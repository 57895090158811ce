"""tfspec diagnostics as LSP diagnostics: the same code, message and place as `tfspec check`."""

from __future__ import annotations

from lsprotocol import types

from .positions import UTF16, span_range

SEVERITY = {
    "error": types.DiagnosticSeverity.Error,
    "warning": types.DiagnosticSeverity.Warning,
    "note": types.DiagnosticSeverity.Information,
}


def to_lsp(diagnostic, lines: list[str], encoding: str = UTF16) -> types.Diagnostic:
    """One LSP diagnostic; the hint, which editors show less reliably as related information,
    is appended to the message on a line of its own."""
    message = diagnostic.message
    if diagnostic.hint:
        message += f"\nhint: {diagnostic.hint}"
    return types.Diagnostic(
        range=span_range(lines, diagnostic.span, encoding),
        message=message,
        severity=SEVERITY.get(diagnostic.severity, types.DiagnosticSeverity.Error),
        code=diagnostic.code or None,
        source="tfspec",
    )


def publishable(doc, encoding: str = UTF16) -> list[types.Diagnostic]:
    return [to_lsp(d, doc.lines, encoding) for d in doc.diagnostics]
