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


def code_blocks() -> list[tuple[str, str]]:
    """(language, text) of every fenced code block, dedented (some sit inside a list item); a fence
    opens with ``` and an optional language and closes with a bare ``` at the same indentation."""
    blocks, current = [], None
    for line in README.split("\n"):
        fence = re.match(r"^( *)```(\w*)\s*$", line)
        if current is None:
            if fence:
                current = (fence.group(1), fence.group(2), [])
        elif fence and fence.group(1) == current[0] and not fence.group(2):
            indent, language, lines = current
            blocks.append((language, "\n".join(x[len(indent) :] for x in lines)))
            current = None
        else:
            current[2].append(line)
    return blocks


def spec_blocks() -> list[str]:
    """The code blocks without a language that hold a model or a block (a terminal transcript
    without its `$ command` lines: what the command printed)."""
    found = []
    for language, text in code_blocks():
        text = "\n".join(line for line in text.split("\n") if not line.startswith("$ "))
        if not language and re.search(r"^(model|block) \w+", text, re.M):
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
