"""The README teaches specs that check: every spec in its code blocks loads as written (a block
shown alone is checked inside a small model that uses it)."""

from __future__ import annotations

import os
import re

import pytest

import tfspec

from .helpers import ROOT

with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as handle:
    README = handle.read()


def spec_blocks() -> list[str]:
    """The code blocks that hold a model or a block, dedented (some sit inside a list item)."""
    found = []
    for match in re.finditer(r"^( *)```\n(.*?)^\1```", README, re.S | re.M):
        indent, body = match.group(1), match.group(2)
        text = "\n".join(line[len(indent) :] for line in body.split("\n"))
        if re.search(r"^(model|block) \w+", text, re.M):
            found.append(text)
    return found


BLOCKS = spec_blocks()


def test_the_readme_shows_specs():
    assert len(BLOCKS) >= 4


@pytest.mark.parametrize("text", BLOCKS, ids=[re.search(r"(model|block) (\w+)", t).group(2) for t in BLOCKS])
def test_every_readme_spec_checks(text):
    if not re.search(r"^model ", text, re.M):  # a block alone: used once by a small model
        name, params = re.search(r"^block (\w+)\(([^)]*)\)", text, re.M).groups()
        count = len([p for p in params.split(",") if p.strip() and "=" not in p])
        arguments = ", ".join(["1"] * count)
        text += f"\nmodel M {{\n    input x: float32[8, 8, 4]\n    x -> {name}({arguments}) -> y\n    output y\n}}\n"
    tfspec.loads(text)
