"""Writing files atomically: a temporary file in the target folder, flushed, then os.replace.

A failure at any point leaves the previous file as it was, and no temporary file behind.
Also: why a folder cannot be written (`folder_problem`), and why a write failed, in words
(`write_reason`, `disk_full`), for one-line errors."""

from __future__ import annotations

import errno
import os
import re
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


# ---- why a write fails, in words ---------------------------------------------------------------

DISK_FULL = (errno.ENOSPC, errno.EDQUOT)


def disk_full(exc: BaseException) -> bool:
    """Whether `exc` says the disk (or the user's quota) is full: an OSError with ENOSPC/EDQUOT, or
    an error of another library (TensorFlow's OpError, h5py's) whose text holds the system's message
    for them, as TensorFlow's file system layer writes it ("...; No space left on device")."""
    if isinstance(exc, OSError) and exc.errno in DISK_FULL:
        return True
    text = str(exc)
    return any(os.strerror(code) in text for code in DISK_FULL)


def write_reason(exc: BaseException, limit: int = 200) -> str:
    """Why a write failed, in a few words: "no space left on device", "permission denied", or the
    library's message on one line without TensorFlow's {{function_node ...}} and [Op:...] noise."""
    if disk_full(exc):
        return "no space left on device"
    if isinstance(exc, OSError) and exc.strerror:
        text = exc.strerror[0].lower() + exc.strerror[1:]  # "is a directory", "permission denied"
    else:
        text = getattr(exc, "message", None) or str(exc)  # an OpError's message is its text without the op
    text = re.sub(r"\{\{function_node [^}]*\}\}\s*|\s*\[Op:[^\]]*\](\s*name:\s*\S*)?", "", text)
    text = " ".join(text.split()) or type(exc).__name__
    return text if len(text) <= limit else text[:limit] + " ..."


def folder_problem(path: str) -> str | None:
    """Why a folder at `path` cannot be created or written, as words naming the part of the path at
    fault, or None when it can. Nothing is created: the nearest part of the path that exists must be
    a folder this process may write in (os.access: a read-only file system counts, and root may write
    where the kernel lets it)."""
    current = os.path.normpath(path)
    while not os.path.lexists(current):
        parent = os.path.dirname(current) or "."
        if parent == current:
            break
        current = parent
    if os.path.islink(current) and not os.path.exists(current):
        return f"{current!r} is a broken symbolic link"
    if not os.path.isdir(current):
        return f"{current!r} is a file, not a folder"
    if not os.access(current, os.W_OK | os.X_OK):
        if _read_only(current):
            return f"{current!r} is on a read-only file system"
        return f"{current!r} is not writable (permission denied)"
    return None


def _read_only(path: str) -> bool:
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except (AttributeError, OSError):  # no statvfs (Windows)
        return False


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
RUN_OWN_FILES = frozenset(
    {"spec.tfs", "manifest.json", "model.weights.h5", "model.keras", "model.py", "history.json", "curves.svg"}
)


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
