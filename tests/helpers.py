"""Small helpers shared by the test modules."""

from __future__ import annotations

import glob
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SPECS = sorted(glob.glob(os.path.join(ROOT, "specs", "*.tfs")))


def spec_path(name: str) -> str:
    return os.path.join(ROOT, "specs", f"{name}.tfs")


def spec_names() -> list[str]:
    return [os.path.splitext(os.path.basename(p))[0] for p in SPECS]


def quiet_tensorflow() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
