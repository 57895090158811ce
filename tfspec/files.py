"""Writing files atomically: a temporary file in the target folder, flushed, then os.replace.

A failure at any point leaves the previous file as it was, and no temporary file behind."""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(path: str, suffix: str = ".tmp"):
    """Yield a temporary path beside `path`; it replaces `path` only if the block succeeds."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=suffix, dir=folder)
    os.close(fd)
    try:
        os.chmod(tmp, 0o666 & ~current_umask())  # mkstemp makes 0600; follow the umask like open()
        yield tmp
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_atomic(path: str, data: str | bytes) -> None:
    with atomic_path(path) as tmp:
        if isinstance(data, bytes):
            with open(tmp, "wb") as handle:
                handle.write(data)
        else:
            with open(tmp, "w", encoding="utf-8", newline="\n") as handle:
                handle.write(data)


# ---- paths a run writes: relative, and inside the run folder ---------------------------------


class OutsidePath(ValueError):
    """A path a run would write that is not a plain relative path inside the run folder."""


def path_problem(path, callback: bool = False) -> str | None:
    """Why `path` cannot name something inside a run folder, judged on its text alone (no file
    system; `tfspec check` uses it), or None when it can. With `callback`, the path is one a
    callback writes, which must also leave tfspec's own files of the run alone."""
    import ntpath
    import unicodedata

    if not isinstance(path, str):
        return "must be a string (a path relative to the run folder)"
    if not path.strip():
        return "is empty"
    if any(unicodedata.category(ch) == "Cc" for ch in path):
        return "contains a control character"
    if os.path.isabs(path) or ntpath.isabs(path) or ntpath.splitdrive(path)[0]:
        return "is absolute; it must be relative to the run folder"
    if path.startswith("~"):
        return "starts with '~' (a home folder); it must be relative to the run folder"
    parts = [p for p in path.replace("\\", "/").split("/") if p not in ("", ".")]
    if ".." in parts:
        return "has a '..' component; it must stay inside the run folder"
    if not parts:
        return "names the run folder itself, not a file or folder in it"
    if callback and (parts[0] in RUN_OWN or (len(parts) == 1 and parts[0] in RUN_OWN_FILES)):
        return f"is where tfspec keeps the run's own {parts[0]!r}; choose another name"
    return None


# what tfspec itself writes at the top of a run folder: a callback must not overwrite it
# (history.csv is CSVLogger's own default: the same table, kept up to date each epoch)
RUN_OWN = frozenset({"checkpoints"})
RUN_OWN_FILES = frozenset({"spec.tfs", "manifest.json", "model.weights.h5", "model.keras", "model.py", "history.json"})


SAFE_FORMAT_SPEC = frozenset("0123456789+- #,_.%zbdeEfFgGnoxX")  # no fill/align, no "c" (a character)


def template_problem(template: str) -> str | None:
    """Why a file-name template such as "model-{epoch:03d}-{val_loss:.3f}.keras" is refused, or None.

    Fields are plain names with an optional number format: no attribute or index access, no
    conversions, no fill or alignment (a fill character could write '/' or '..' into the path)."""
    import string

    try:
        fields = list(string.Formatter().parse(template))
    except ValueError as exc:
        return f"is not a valid file-name template ({exc})"
    literal = ""
    for text, name, spec, conversion in fields:
        literal += text
        if name is None:
            continue
        if not name.isidentifier():
            return f"has the field {{{name}}}; fields are names such as {{epoch}} or {{val_loss}}"
        if conversion is not None or not set(spec or "") <= SAFE_FORMAT_SPEC:
            used = "!" + conversion if conversion else ":" + spec
            return f"formats {{{name}}} with {used!r}; use a number format such as {{{name}:03d}} or {{{name}:.3f}}"
        literal += "0"
    return path_problem(literal, callback=True)


def inside(root: str, path: str, what: str = "path") -> str:
    """The real path of `path` (relative) under `root`, after checking that it stays inside `root`
    once every symbolic link is resolved; OutsidePath otherwise. Check again right before writing."""
    problem = path_problem(path)
    if problem:
        raise OutsidePath(f"{what} {path!r} {problem}")
    base = os.path.realpath(root)
    real = os.path.realpath(os.path.join(base, path))
    if real == base or os.path.commonpath([base, real]) != base:
        raise OutsidePath(
            f"{what} {path!r} resolves to {real!r}, outside the run folder {base!r} (through a symbolic link)"
        )
    return real
