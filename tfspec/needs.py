"""TensorFlow is optional: `pip install tfspec` checks, prints and formats specs; live models,
training, import and export need `pip install 'tfspec[tf]'` (or `tfspec[tf-cpu]`).

`require` imports TensorFlow and Keras once, up front, so that a machine without them gets one
clear error (NeedsTensorFlow, an ImportError) instead of a ModuleNotFoundError from deep inside
a command. With `quiet` (the CLI), the lines TensorFlow's C++ start-up writes straight to file
descriptor 2 while it is imported, before any Python logging hook exists and before it reads
TF_CPP_MIN_LOG_LEVEL:

    WARNING: All log messages before absl::InitializeLog() is called are written to STDERR
    I0000 00:00:1796045661.371627   25498 port.cc:153] oneDNN custom operations are on. ...

(twice: two of its libraries log it), are filtered by that same variable's rule; anything else
written meanwhile (errors, Python warnings) is passed on as it comes.
"""

from __future__ import annotations

import os
import re
import sys
from contextlib import contextmanager, nullcontext

INSTALL = "pip install 'tfspec[tf]' (or 'tfspec[tf-cpu]' for the smaller CPU-only build)"
# the top-level modules that `tfspec[tf]` brings; a missing one means TensorFlow is not installed
PROVIDED = ("tensorflow", "keras", "numpy", "h5py", "ml_dtypes", "absl")

# absl's notice that logging is not set up yet, then one line per record: severity letter, date,
# time, thread, file:line], as in "I0000 00:00:1796045661.371627   25498 port.cc:153] oneDNN ..."
ABSL_NOTICE = "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"
LOG_RECORD = re.compile(r"^([IWEF])\d{4} [\d:.]+ +\d+ [^\]\s]+:\d+\] ")
# the second line of cpu_feature_guard's record
CONTINUATION = "To enable the following instructions:"
SEVERITY = {"I": 0, "W": 1, "E": 2, "F": 3}


class NeedsTensorFlow(ModuleNotFoundError):
    """TensorFlow (or Keras) is not installed; the message says how to install it. An ImportError
    (ModuleNotFoundError), so `except ImportError` around optional TensorFlow use still works."""


def message(what: str = "this command") -> str:
    return f"{what} needs TensorFlow: {INSTALL}"


def is_missing_tensorflow(exc: BaseException) -> bool:
    """Whether `exc` is the ModuleNotFoundError of a machine without TensorFlow (or its Keras)."""
    name = getattr(exc, "name", None) or ""
    return isinstance(exc, ModuleNotFoundError) and name.split(".")[0] in PROVIDED


def require(what: str = "this command", *, quiet: bool = False) -> None:
    """Import TensorFlow and Keras, or raise NeedsTensorFlow naming `what` needs them."""
    if "tensorflow" in sys.modules and "keras" in sys.modules:
        return
    try:
        with start_up_filter() if quiet else nullcontext():
            import keras  # noqa: F401
            import tensorflow  # noqa: F401
    except ModuleNotFoundError as exc:
        if is_missing_tensorflow(exc):
            raise NeedsTensorFlow(message(what), name=exc.name) from None
        raise


def log_level() -> int:
    """TF_CPP_MIN_LOG_LEVEL as TensorFlow reads it (0 shows everything, 3 only fatal errors)."""
    try:
        return int(os.environ.get("TF_CPP_MIN_LOG_LEVEL", "0"))
    except ValueError:
        return 0


class LineFilter:
    """Decides line by line whether a line written during TensorFlow's start-up is shown: C++ log
    records below `level` (and absl's notice about them, and their continuation lines) are not."""

    def __init__(self, level: int):
        self.level, self.dropping = level, False

    def keeps(self, line: str) -> bool:
        if self.level <= 0:
            return True
        record = LOG_RECORD.match(line)
        if line.rstrip("\r\n") == ABSL_NOTICE:
            self.dropping = True
        elif record:
            self.dropping = SEVERITY[record.group(1)] < self.level
        elif not (self.dropping and line.startswith(CONTINUATION)):
            self.dropping = False
        return not self.dropping


def keep(text: str, level: int) -> str:
    """`text` without the C++ log records below `level` (see LineFilter)."""
    lines = LineFilter(level)
    return "".join(line for line in text.splitlines(True) if lines.keeps(line))


def forward(level: int) -> None:
    """Copy stdin to stderr through a LineFilter, line by line as it comes (run in a helper process)."""
    lines = LineFilter(level)
    for raw in sys.stdin.buffer:
        if lines.keeps(raw.decode("utf-8", "replace")):
            sys.stderr.buffer.write(raw)
            sys.stderr.buffer.flush()


# The helper process loads this file by its path alone (no tfspec package, no site-packages): fast.
HELPER = (
    "import importlib.util, sys; s = importlib.util.spec_from_file_location('tfspec_needs', sys.argv[1]); "
    "m = importlib.util.module_from_spec(s); s.loader.exec_module(m); m.forward(int(sys.argv[2]))"
)


@contextmanager
def start_up_filter():
    """For the block, file descriptor 2 goes through a helper process that drops the start-up lines
    TF_CPP_MIN_LOG_LEVEL would have hidden, and passes everything else on at once: so a fatal error
    written just before TensorFlow aborts the process (e.g. missing CPU instructions) is still seen."""
    import subprocess

    helper = saved = None
    try:
        sys.stderr.flush()
        saved = os.dup(2)
        helper = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", HELPER, os.path.abspath(__file__), str(log_level())],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=saved,
        )
        os.dup2(helper.stdin.fileno(), 2)
    except (AttributeError, OSError, ValueError):  # no real stderr or no interpreter to run: do not filter
        if helper is not None:
            helper.kill()
            helper.wait()
        if saved is not None:
            os.close(saved)
        yield
        return
    try:
        yield
    finally:
        try:
            sys.stderr.flush()
        except (AttributeError, OSError, ValueError):
            pass
        os.dup2(saved, 2)
        os.close(saved)
        helper.stdin.close()
        helper.wait()
