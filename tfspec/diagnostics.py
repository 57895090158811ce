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

            if text.isprintable():  # no tab, nothing escaped: one character, one column

                def shown_width(n: int) -> int:  # noqa: F811
                    return len(text[:n])

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


_SPLIT: list = [None, [], {}]  # the last source, its lines, and the lines shown so far (by number)


def source_line(source: str | None, line: int) -> str | None:
    if source is None or line < 1:
        return None
    # Lines as the parser counts them (LINE_BREAK: str.splitlines would also split at form
    # feeds, U+2028 and friends, and show the wrong line). A spec with thousands of errors
    # renders each under its line: the source is split once, and each line prepared once.
    if _SPLIT[0] is not source:
        _SPLIT[:] = [source, split_lines(source), {}]
    shown = _SPLIT[2]
    if line not in shown:
        lines = _SPLIT[1]
        text = lines[line - 1] if line <= len(lines) else None
        if text is not None and not text.strip():
            text = None  # a caret under nothing says nothing
        elif text is not None and len(text) > 300:
            text = text[:300] + " ..."
        shown[line] = text
    return shown[line]


def clean(text: str) -> str:
    """Make user text safe to print: control characters (terminal escapes) are shown escaped."""
    # The usual case, at C speed: nothing to escape (str.isprintable is False for control
    # characters and for line and paragraph separators, which the loop below escapes).
    if text.isprintable() or ("\t" in text and text.replace("\t", " ").isprintable()):
        return text
    out = []
    for ch in text:
        if ch == "\t" or (ch.isprintable() and unicodedata.category(ch) not in ("Zl", "Zp")):
            out.append(ch)
        else:
            out.append(ascii(ch)[1:-1])
    return "".join(out)


class Names:
    """Names to suggest from (`did_you_mean`), prepared once and remembering its answers: a
    spec can misspell the same name thousands of times, or leave thousands of names undefined
    among thousands of others. Build one for a large set of names that is asked many times."""

    __slots__ = ("choices", "lowered", "answers")

    def __init__(self, choices):
        self.choices = list(choices)
        self.lowered = None
        self.answers: dict = {}

    def __len__(self) -> int:
        return len(self.choices)

    def suggest(self, word: str) -> str | None:
        known = self.answers.get(word, _UNKNOWN)
        if known is not _UNKNOWN:
            return known
        if not _spend(len(self.choices) + 20):  # the names, and the cost of a call
            return None  # over the budget of this check (not remembered: another check has its own)
        if self.lowered is None:
            self.lowered = {c.lower(): c for c in self.choices}
        answer = _suggestion(word, self.choices, self.lowered)
        self.answers[word] = answer
        return answer


_UNKNOWN = object()
# The most names `did_you_mean` compares words with while one spec is loaded (see
# suggestion_budget; a word asked again is free): each comparison costs under a microsecond,
# and a 1 MiB spec can hold 30,000 undefined names among 30,000 defined ones (a billion
# comparisons). Ordinary specs use a few thousand (every hint of 500 undefined names among 500
# fits); past the budget the remaining errors come without "did you mean".
SUGGESTION_BUDGET = 300_000
_BUDGET: list = [None]  # names left to compare in the current check; None: no limit
_SMALL: dict = {}  # tuple of choices -> Names, for the small sets asked again and again


def _spend(count: int) -> bool:
    left = _BUDGET[0]
    if left is None:
        return True
    if left < count:
        _BUDGET[0] = 0
        return False
    _BUDGET[0] = left - count
    return True


class suggestion_budget:
    """`with suggestion_budget():` bounds the work of the "did you mean" hints made meanwhile
    (SUGGESTION_BUDGET name comparisons); the loader checks each spec inside one."""

    def __init__(self, limit: int | None = None):
        self.limit = SUGGESTION_BUDGET if limit is None else limit

    def __enter__(self):
        self.saved = _BUDGET[0]
        _BUDGET[0] = self.limit
        _SMALL.clear()  # answers remembered by another check must not save this one's budget
        return self

    def __exit__(self, *exc):
        _BUDGET[0] = self.saved
        return False


def did_you_mean(word: str, choices) -> str | None:
    """A 'did you mean ...?' hint for a misspelt name, or None. `choices`: the names (any
    iterable), or a `Names` prepared once for a large set asked many times."""
    if isinstance(choices, Names):
        return choices.suggest(word)
    if _BUDGET[0] == 0:
        return None  # nothing left to spend: not even the names are looked at
    choices = tuple(choices)
    if len(choices) > 512:
        return Names(choices).suggest(word)
    names = _SMALL.get(choices)
    if names is None:
        if len(_SMALL) >= 256:
            _SMALL.clear()
        names = _SMALL[choices] = Names(choices)
    return names.suggest(word)


def _suggestion(word: str, choices: list, lowered: dict) -> str | None:
    import difflib

    if word.lower() in lowered:
        return f"did you mean {lowered[word.lower()]!r}?"
    close = difflib.get_close_matches(word, choices, n=3, cutoff=0.6)
    if not close:
        return None
    if len(close) == 1:
        return f"did you mean {close[0]!r}?"
    return "did you mean " + ", ".join(repr(c) for c in close[:-1]) + f" or {close[-1]!r}?"
