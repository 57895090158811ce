"""Source spans, diagnostics and their rendering.

Every error tfspec reports -- syntax, schema, semantic, shape or back end -- is a
`Diagnostic` with a `Span`, rendered as::

    specs/x.tfs:4:23: error[E301]: Add needs inputs of equal shape, got (32,) and (64,)
        [a, b] -> Add() -> c
                  ^^^^^
    hint: ...
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

# A line break, for every part of tfspec (grammar, positions, source lines, fmt, highlighting):
# LF, CRLF or a lone CR, as Python and editors count them. Nothing else ends a line: form feeds,
# U+2028 and the like, which str.splitlines also splits at, do not.
LINE_BREAK = re.compile(r"\r\n?|\n")


def split_lines(text: str) -> list[str]:
    """`text` cut at its line breaks (LF, CRLF or CR); the breaks themselves are dropped."""
    return LINE_BREAK.split(text)


@dataclass(frozen=True)
class Span:
    """A region of a source file: 1-based line and column, end exclusive."""

    path: str
    line: int
    column: int
    end_line: int = 0
    end_column: int = 0

    @classmethod
    def of_meta(cls, path: str, meta) -> "Span":
        return cls(path, meta.line, meta.column, meta.end_line, meta.end_column)

    @classmethod
    def of_token(cls, path: str, token) -> "Span":
        return cls(path, token.line, token.column, token.end_line, token.end_column)


@dataclass(frozen=True)
class Diagnostic:
    code: str
    message: str
    span: Span
    hint: str | None = None
    severity: str = "error"

    @property
    def path(self) -> str:
        return self.span.path

    @property
    def line(self) -> int:
        return self.span.line

    @property
    def column(self) -> int:
        return self.span.column

    def render(self, source: str | None = None) -> str:
        s = self.span
        head = f"{s.path}:{s.line}:{s.column}: {self.severity}[{self.code}]: {clean(self.message)}"
        lines = [head]
        text = source_line(source, s.line)
        if text is not None:
            # Columns count characters; the caret goes under what the terminal shows, so both
            # lines are measured after escaping control characters and expanding tabs.
            def shown_width(n: int) -> int:
                return len(clean(text[:n]).expandtabs(4))

            shown = clean(text).expandtabs(4)
            start = shown_width(s.column - 1)
            width = 1
            if s.end_line == s.line and s.end_column > s.column:
                width = shown_width(s.end_column - 1) - start
            width = max(1, min(width, len(shown) - start + 1))
            lines.append("    " + shown)
            lines.append("    " + " " * start + "^" * width)
        if self.hint:
            lines.append(f"hint: {clean(self.hint)}")
        return "\n".join(lines)


class SpecError(Exception):
    """A spec could not be loaded; `.diagnostics` lists every problem found."""

    def __init__(self, diagnostics: list[Diagnostic], source: str | None = None):
        self.diagnostics = list(diagnostics)
        self.source = source
        first = self.diagnostics[0] if self.diagnostics else None
        summary = first.render().splitlines()[0] if first else "invalid spec"
        more = len(self.diagnostics) - 1
        super().__init__(summary + (f" (and {more} more)" if more > 0 else ""))

    def render(self) -> str:
        return "\n".join(d.render(self.source) for d in self.diagnostics)


@dataclass
class Collector:
    """Gathers the diagnostics of a pass so that all of them are reported."""

    path: str
    items: list[Diagnostic] = field(default_factory=list)

    def error(self, code: str, message: str, span: Span, hint: str | None = None) -> None:
        self.items.append(Diagnostic(code, message, span, hint))

    def __bool__(self) -> bool:
        return bool(self.items)


def source_line(source: str | None, line: int) -> str | None:
    if source is None or line < 1:
        return None
    # Lines as the parser counts them (LINE_BREAK: str.splitlines would also split at form
    # feeds, U+2028 and friends, and show the wrong line).
    lines = split_lines(source)
    if line > len(lines):
        return None
    text = lines[line - 1]
    if not text.strip():
        return None  # a caret under nothing says nothing
    return text if len(text) <= 300 else text[:300] + " ..."


def clean(text: str) -> str:
    """Make user text safe to print: control characters (terminal escapes) are shown escaped."""
    out = []
    for ch in text:
        if ch == "\t" or (ch.isprintable() and unicodedata.category(ch) not in ("Zl", "Zp")):
            out.append(ch)
        else:
            out.append(ascii(ch)[1:-1])
    return "".join(out)


def did_you_mean(word: str, choices) -> str | None:
    """A 'did you mean ...?' hint for a misspelt name, or None."""
    import difflib

    choices = list(choices)
    lowered = {c.lower(): c for c in choices}
    if word.lower() in lowered:
        return f"did you mean {lowered[word.lower()]!r}?"
    close = difflib.get_close_matches(word, choices, n=3, cutoff=0.6)
    if not close:
        return None
    if len(close) == 1:
        return f"did you mean {close[0]!r}?"
    return "did you mean " + ", ".join(repr(c) for c in close[:-1]) + f" or {close[-1]!r}?"
