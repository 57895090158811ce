"""The one error type of `tfspec import`: a SpecError about a model file rather than spec text."""

from __future__ import annotations

from ...diagnostics import Diagnostic, Span, SpecError, clean


class ImportFailure(SpecError):
    """The model cannot be imported. Rendered as `path: error[E9xx]: message` (a model file
    has no lines to point at); the CLI exits with status 1."""

    def __init__(self, path: str, code: str, message: str, hint: str | None = None):
        super().__init__([Diagnostic(code, message, Span(path, 0, 0), hint)])
        self.path, self.code, self.message, self.hint = path, code, message, hint

    def render(self) -> str:
        lines = [f"{clean(self.path)}: error[{self.code}]: {clean(self.message)}"]
        if self.hint:
            lines.append(f"hint: {clean(self.hint)}")
        return "\n".join(lines)


# Codes: E901 the file cannot be read, E902 a layer class tfspec cannot import (custom, Lambda,
# not in the catalog), E903 an argument or call tfspec cannot express, E904 a graph structure
# tfspec cannot express, E905 the weights cannot be carried over.
