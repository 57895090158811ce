"""Reading spec files defensively: every way a file can be unreadable is a diagnostic."""

from __future__ import annotations

import os
import re

from ..diagnostics import Diagnostic, Span, SpecError

MAX_BYTES = 1 << 20  # 1 MiB: a 1,000-layer spec is ~60 KB
MAX_DEPTH = 64  # brackets nested deeper than this are refused before parsing


def read_source(path: str) -> str:
    """Return the text of `path`, or raise SpecError (E001) saying why it cannot be used."""
    where = Span(path, 1, 1)
    try:
        if os.path.isdir(path):
            raise SpecError(
                [Diagnostic("E001", f"{path!r} is a directory, not a spec file", where, "give the path of a .tfs file")]
            )
        size = os.path.getsize(path)
        if size > MAX_BYTES:
            raise SpecError(
                [
                    Diagnostic(
                        "E001",
                        f"file is too large ({size:,} bytes; the limit is {MAX_BYTES:,})",
                        where,
                        "a spec describes one model; split generated specs into blocks",
                    )
                ]
            )
        with open(path, "rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise SpecError([Diagnostic("E001", f"no such file: {path!r}", where, "check the path")]) from None
    except PermissionError:
        raise SpecError([Diagnostic("E001", f"permission denied: {path!r}", where)]) from None
    except OSError as exc:
        raise SpecError([Diagnostic("E001", f"cannot read {path!r}: {exc.strerror or exc}", where)]) from None
    return decode(data, path)


def decode(data: bytes, path: str) -> str:
    if len(data) > MAX_BYTES:
        raise SpecError([Diagnostic("E001", f"file is too large (more than {MAX_BYTES:,} bytes)", Span(path, 1, 1))])
    if b"\x00" in data:
        line, col = position_of(data, data.index(b"\x00"))
        raise SpecError(
            [
                Diagnostic(
                    "E001",
                    "this looks like a binary file (it contains a NUL byte)",
                    Span(path, line, col),
                    "a spec is UTF-8 text",
                )
            ]
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, col = position_of(data, exc.start)
        raise SpecError(
            [
                Diagnostic(
                    "E001",
                    f"invalid UTF-8 (byte 0x{data[exc.start]:02x})",
                    Span(path, line, col),
                    "save the file as UTF-8",
                )
            ]
        ) from None
    return text[1:] if text.startswith("\ufeff") else text


def normalise_newlines(text: str) -> str:
    """`text` with every line break (CRLF, or a lone CR) written as LF.

    A lone CR ends a line for editors and for Python, so it does for tfspec: the loader and
    `fmt` normalise the text before parsing, and line numbers, comments (which end at any
    line break) and the source lines shown under diagnostics all agree with what an editor
    shows. Columns do not change (a CR only ever goes away at the end of a line)."""
    if "\r" not in text:
        return text
    return text.replace("\r\n", "\n").replace("\r", "\n")


BYTE_LINE_BREAK = re.compile(rb"\r\n?|\n")


def position_of(data: bytes, offset: int) -> tuple[int, int]:
    """(line, column) of byte `offset`, lines ending at LF, CRLF or CR (as normalise_newlines)."""
    line, start = 1, 0
    for match in BYTE_LINE_BREAK.finditer(data, 0, offset):
        line, start = line + 1, match.end()
    return line, len(data[start:offset].decode("utf-8", "replace")) + 1


def check_nesting(text: str, path: str) -> None:
    """Refuse absurdly deep bracket nesting up front (the tree walk is recursive)."""
    text = normalise_newlines(text)  # positions as the parser counts them
    depth = 0
    line, col = 1, 0
    quote = None
    comment = False
    escaped = False
    for ch in text:
        col += 1
        if ch == "\n":
            line, col = line + 1, 0
            comment = False
            quote = None
            continue
        if comment:
            continue
        if quote:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote:
                quote = None
            continue
        if ch == "#":
            comment = True
        elif ch in "\"'":
            quote = ch
        elif ch in "([{":
            depth += 1
            if depth > MAX_DEPTH:
                raise SpecError(
                    [
                        Diagnostic(
                            "E104",
                            f"brackets nested more than {MAX_DEPTH} deep",
                            Span(path, line, col, line, col + 1),
                            "flatten the value or give it a name",
                        )
                    ],
                    text,
                )
        elif ch in ")]}":
            depth = max(0, depth - 1)
