"""Print one digest per generated artifact of every example spec (used by test_determinism).

Run as `python -m tests.determinism_digest`; the output must not depend on PYTHONHASHSEED."""

from __future__ import annotations

import glob
import hashlib
import json
import os

import tfspec
from tfspec.backends import allowed_styles
from tfspec.tools.fmt import format_text
from tfspec.tools.graph import to_dot
from tfspec.tools.schema_cmd import schema_text

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def artifacts() -> dict:
    out = {"schema": digest(schema_text())}
    for path in sorted(glob.glob(os.path.join(ROOT, "specs", "*.tfs"))):
        name = os.path.splitext(os.path.basename(path))[0]
        spec = tfspec.load(path)
        for style in allowed_styles(spec):
            out[f"{name}.{style}.py"] = digest(tfspec.generate(spec, style))
        out[f"{name}.dot"] = digest(to_dot(spec))
        with open(path, encoding="utf-8") as handle:
            out[f"{name}.fmt"] = digest(format_text(handle.read(), path))
        out[f"{name}.summary"] = digest(tfspec.summary(spec).render())
    return out


if __name__ == "__main__":
    print(json.dumps(artifacts(), sort_keys=True))
