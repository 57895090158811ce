"""`tfspec build --check`: is the generated code committed in a repository still what the spec
generates? For CI and pre-commit. No TensorFlow, and nothing is written.

Exit status: 0 when every compared file equals the generated code byte for byte; 1 when one
differs, is missing, or is left over for a style the model no longer allows (drift, like a
failing test), and for spec errors as `build` reports them; 2 for usage errors (--check with -o,
--style all with a file, one style with a folder, a folder that does not exist, a file that
cannot be read).

Standard output carries only a unified diff (committed `a/FILE` against generated `b/FILE`, as
`git diff` labels them, so `git apply` can take it); what each problem is and how to fix it goes
to standard error. The comparison is of bytes: a file with CRLF line breaks (a Windows checkout
with core.autocrlf) or a byte-order mark differs, and the message says so, since tfspec writes
UTF-8 with LF.
"""

from __future__ import annotations

import difflib
import os
import re
import shlex
import sys

from ..diagnostics import clean


def run_check(args) -> int:
    """The `build --check` command (see the module's docstring)."""
    from ..backends import STYLES, allowed_styles, generate
    from ..cli import UsageError, module_stem
    from ..loader import load

    target = args.check
    if args.output:
        raise UsageError("--check compares with committed files and writes nothing; drop -o")
    if args.style == "all":
        if os.path.exists(target) and not os.path.isdir(target):
            raise UsageError(f"{target!r} is a file; --style all --check needs the folder of generated files")
        if not os.path.isdir(target):
            raise UsageError(f"folder {target!r} does not exist; create it with: {command(args.file, 'all', target)}")
    elif os.path.isdir(target):
        name = f"{module_stem(args.file)}_{args.style}.py"
        raise UsageError(
            f"{target!r} is a folder; --style {args.style} --check compares one file "
            f"(e.g. {os.path.join(target, name)!r}), --style all --check a folder"
        )

    spec = load(args.file)  # a SpecError here is rendered by the CLI (exit 1)
    if args.style != "all":
        source = generate(spec, args.style)  # so is a style the model cannot take
        found = compare(target, source)
        if found == SAME:
            return 0
        verb = "create" if found == MISSING else "regenerate"
        say(f"{clean(target)} is {found}; {verb} it with: {command(args.file, args.style, target)}")
        return 1

    allowed = allowed_styles(spec)
    stem = module_stem(args.file)
    stale = []
    for style in STYLES:
        path = os.path.join(target, f"{stem}_{style}.py")
        if style in allowed:
            found = compare(path, generate(spec, style))
            if found != SAME:
                say(f"{clean(path)} is {found}")
                stale.append(path)
        elif os.path.exists(path):
            say(f"{clean(path)}: committed, but the model can no longer be written in the {style} style; delete it")
            stale.append(path)
    if not stale:
        return 0
    count = f"{len(stale)} file{'s' if len(stale) != 1 else ''}"
    say(
        f"{count} in {clean(target)} not as {clean(args.file)} generates them; regenerate with: {command(args.file, 'all', target)}"
    )
    return 1


SAME, MISSING, CHANGED = "the same", "missing", "out of date"


def compare(path: str, generated: str) -> str:
    """SAME when the file at `path` holds exactly `generated` (UTF-8, LF); MISSING; or CHANGED,
    after printing a unified diff (standard output) and notes on the encoding (standard error)."""
    try:
        with open(path, "rb") as handle:
            committed = handle.read()
    except FileNotFoundError:
        return MISSING
    except OSError as exc:
        from ..cli import UsageError

        raise UsageError(f"cannot read {path!r}: {exc.strerror or exc}") from None
    if committed == generated.encode("utf-8"):
        return SAME
    try:
        text = committed.decode("utf-8")
    except UnicodeDecodeError:
        text = committed.decode("utf-8", errors="replace")
        say(f"{clean(path)} is not valid UTF-8 (tfspec writes UTF-8)")
    if text.startswith("\ufeff"):
        say(f"{clean(path)} starts with a byte-order mark, which tfspec does not write")
    unix = text.replace("\r\n", "\n").replace("\r", "\n")
    if unix != text:
        say(
            f"{clean(path)} has CRLF or CR line breaks; tfspec writes LF (with git's core.autocrlf, "
            "add `*.py text eol=lf` for the generated folder to .gitattributes)"
        )
    label = clean(os.path.normpath(path)).replace(os.sep, "/").lstrip("/")
    diff = difflib.unified_diff(lines_of(unix), lines_of(generated), fromfile=f"a/{label}", tofile=f"b/{label}")
    for line in diff:
        # A last line without a newline is marked as diff(1) and git do, not run into the next.
        sys.stdout.write(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return CHANGED


def lines_of(text: str) -> list[str]:
    """Lines with their LF ends (str.splitlines would also cut at form feeds and U+2028)."""
    return [line for line in re.split(r"(?<=\n)", text) if line]


def command(spec_path: str, style: str, target: str) -> str:
    """The `tfspec build` command line that writes `target`, quoted for a POSIX shell."""
    return f"tfspec build {shlex.quote(clean(spec_path))} --style {style} -o {shlex.quote(clean(target))}"


def say(message: str) -> None:
    print(f"tfspec: {message}", file=sys.stderr)
