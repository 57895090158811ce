"""Regenerate tests/golden/<spec>.<style>.py from specs/*.tfs (`make golden`).

Review the diff before committing: a golden file changes only when the printers change."""

from __future__ import annotations

import glob
import os

import tfspec
from tfspec.backends import allowed_styles

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GOLDEN = os.path.join(ROOT, "tests", "golden")


def expected():
    """(spec path, style, golden path) for every spec and every style it allows."""
    for path in sorted(glob.glob(os.path.join(ROOT, "specs", "*.tfs"))):
        spec = tfspec.load(path)
        stem = os.path.splitext(os.path.basename(path))[0]
        for style in allowed_styles(spec):
            yield path, style, os.path.join(GOLDEN, f"{stem}.{style}.py")


def main() -> None:
    os.makedirs(GOLDEN, exist_ok=True)
    wanted = set()
    for path, style, target in expected():
        wanted.add(target)
        text = tfspec.generate(tfspec.load(path), style)
        with open(target, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        print(os.path.relpath(target, ROOT))
    for stale in set(glob.glob(os.path.join(GOLDEN, "*.py"))) - wanted:
        os.remove(stale)
        print("removed", os.path.relpath(stale, ROOT))


if __name__ == "__main__":
    main()
