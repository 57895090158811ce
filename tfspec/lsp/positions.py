"""Spans (1-based line and column in code points, end exclusive) to LSP ranges and back.

LSP positions are 0-based and, unless the client and server agreed otherwise at initialize,
count UTF-16 code units: a character outside the Basic Multilingual Plane (an emoji) is two
units, `é` is one. The encoding is a parameter so a client that asked for utf-8 or utf-32 is
answered in its own units.
"""

from __future__ import annotations

from lsprotocol import types

from ..diagnostics import split_lines

UTF16 = "utf-16"


def units(text: str, encoding: str = UTF16) -> int:
    """The length of `text` in the code units of `encoding`."""
    if encoding == "utf-32":
        return len(text)
    if encoding == "utf-8":
        return len(text.encode("utf-8", "surrogatepass"))
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def to_column(line: str, character: int, encoding: str = UTF16) -> int:
    """The 0-based code-point index in `line` of an LSP `character` (clamped to the line)."""
    count = 0
    for i, ch in enumerate(line):
        if count >= character:
            return i
        count += units(ch, encoding)
    return len(line)


def position(lines: list[str], line: int, column: int, encoding: str = UTF16) -> types.Position:
    """The LSP position of 1-based `line` and `column` (code points) in `lines`."""
    row = min(max(line - 1, 0), max(len(lines) - 1, 0))
    text = lines[row] if lines else ""
    col = min(max(column - 1, 0), len(text))
    return types.Position(line=row, character=units(text[:col], encoding))


def span_range(lines: list[str], span, encoding: str = UTF16) -> types.Range:
    """The LSP range of a Span; a span without an end covers to the end of its word or line."""
    start = position(lines, span.line, span.column, encoding)
    if span.end_line:
        end = position(lines, span.end_line, span.end_column, encoding)
    else:
        end = position(lines, span.line, len(lines[start.line]) + 1 if lines else 1, encoding)
    if (end.line, end.character) < (start.line, start.character):
        end = start
    return types.Range(start=start, end=end)


def lines_of(text: str) -> list[str]:
    return split_lines(text)


def offset_of(lines: list[str], pos: types.Position, encoding: str = UTF16) -> tuple[int, int]:
    """(0-based row, 0-based code-point column) of an LSP position, clamped into the text."""
    row = min(max(pos.line, 0), max(len(lines) - 1, 0))
    text = lines[row] if lines else ""
    return row, to_column(text, max(pos.character, 0), encoding)


def word_at(lines: list[str], pos: types.Position, encoding: str = UTF16) -> tuple[str, int, int]:
    """The identifier under `pos` (also `a.b` is two words), with its start and end columns (0-based)."""
    row, col = offset_of(lines, pos, encoding)
    text = lines[row] if lines else ""
    start = col
    while start > 0 and (text[start - 1].isalnum() or text[start - 1] == "_"):
        start -= 1
    end = col
    while end < len(text) and (text[end].isalnum() or text[end] == "_"):
        end += 1
    return text[start:end], start, end
