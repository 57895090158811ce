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
