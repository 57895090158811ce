"""A block's `if` branches where the printers carry padding masks in variables (compile path
only; tests/test_masks.py runs such blocks in Keras: `branching_blocks`, `branching_after_attention`).

Each branch prints inside a Python `if` (a masked call() once ran both branches' layers); a
condition that reads a value the block computes has that value computed in call(); `y = x` keeps
x's mask; and a block whose branches give one tensor different masks is refused (E706) in the
styles that carry them: always in subclassing, in functional once a MultiHeadAttention takes a
masked tensor.
"""

from __future__ import annotations

import subprocess
import sys

import tfspec
from tfspec.backends import allowed_styles, generate
from tfspec.backends.legality import problems
from tfspec.codes import masked_branches
from tfspec.ir.masks import Mask, flow

# `if` branches in block classes: each application runs its own branch, and a condition may read
# a value the block computes (tests/test_masks.py runs models of these in Keras)
BRANCHES = """
block Branch(recurrent, rate) {
    input x
    width = x.shape[-1]
    if recurrent {
        x -> LSTM(width, return_sequences=True) -> y
    } else {
        x -> Dense(width) -> y
    }
    y -> Dropout(rate) -> z
    output z
}
block Residual(units) {
    input x
    width = x.shape[-1]
    x -> Dense(units) -> h
    if width == units {
        [x, h] -> Add() -> y
    } else {
        y = h
    }
    output y
}
"""
BRANCHING = (
    BRANCHES
    + """
model M {
    input tokens: int32[None]
    tokens -> Embedding(30, 6, mask_zero=True) -> Branch(True, 0.1) -> Branch(False, 0.2) -> Residual(6) -> h
    h -> Residual(3) -> GlobalAveragePooling1D() -> out
    output out
}
"""
)
# a MultiHeadAttention takes the masked tensor: the functional printer carries the masks too
DISAGREEING_AFTER_ATTENTION = """
block B(flag) {
    input x
    if flag {
        x -> Masking() -> y
    } else {
        x -> LayerNormalization() -> y
    }
    output y
}

model M {
    input tokens: int32[None]
    tokens -> Embedding(30, 8, mask_zero=True) -> h
    [h, h] -> MultiHeadAttention(num_heads=2, key_dim=4) -> a
    [h, a] -> Add() -> B(True) -> B(False) -> GlobalAveragePooling1D() -> out
    output out
}
"""


def ruff_clean(source: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "--select", "E,F,W", "-"],
        input=source,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + source


def test_each_branch_prints_inside_its_if_in_call():
    spec = tfspec.loads(BRANCHING)
    assert allowed_styles(spec) == ["functional", "subclassing"]
    source = generate(spec, "subclassing")
    ruff_clean(source)
    call = source[source.index("class Branch(") :]
    call = call[call.index("    def call(") : call.index("    def compute_mask(")]
    assert call.splitlines()[1:6] == [
        "        if self.recurrent:",
        "            y = self.lstm(x, mask=mask, training=training)",
        "        else:",
        "            y = self.dense(x)",
        "        z = self.dropout(y, training=training)",
    ]
    residual = source[source.index("class Residual(") :]
    residual = residual[residual.index("    def call(") : residual.index("    def compute_mask(")]
    assert "        width = x.shape[-1]\n" in residual  # the condition reads it
    assert "        if width == self.units:\n" in residual


def test_functional_helpers_carry_masks_inside_the_branches():
    spec = tfspec.loads(DISAGREEING_AFTER_ATTENTION.replace("Masking()", "Dense(8)"))
    assert allowed_styles(spec) == ["functional", "subclassing"]
    source = generate(spec, "functional")
    ruff_clean(source)
    helper = source[source.index("def b(") : source.index("def build_model(")]
    assert "    if flag:\n" in helper and "    else:\n" in helper


def test_a_name_given_again_keeps_the_mask():
    spec = tfspec.loads(BRANCHING)
    residual = spec.blocks["Residual"]
    assert flow(residual.graph, [None], instance=False).tensors["y"] is None
    given = Mask(None, 0)
    masks = flow(residual.graph, [given], instance=False)
    assert masks.tensors["h"] is given and masks.tensors["y"] is given and not masks.disagreements


def test_branches_giving_different_masks_are_refused_where_masks_are_carried():
    spec = tfspec.loads(masked_branches("x -> Masking() -> y", "x -> Dense(4) -> y"))
    assert allowed_styles(spec) == ["sequential", "functional"]  # Keras works the masks out itself there
    (found,) = problems(spec, "subclassing")
    assert found.code == "E706" and (found.span.line, found.span.column) == (6, 14)
    assert "'y' different padding masks" in found.message and "block B" in found.message
    assert "--style functional" in found.hint

    spec = tfspec.loads(DISAGREEING_AFTER_ATTENTION)
    assert allowed_styles(spec) == []
    for style in ("functional", "subclassing"):
        (found,) = problems(spec, style)
        assert found.code == "E706", style
    assert "outside the `if`" in problems(spec, "functional")[0].hint


def test_branches_that_agree_are_not_refused():
    spec = tfspec.loads(masked_branches("x -> Dense(4) -> y", "x -> LayerNormalization() -> y"))
    assert allowed_styles(spec) == ["sequential", "functional", "subclassing"]
