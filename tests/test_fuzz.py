"""Bounded fuzzing for CI (the longer campaign is `make fuzz`): grammar-generated text and
mutations of every example spec either load or raise a positioned SpecError, never anything
else and never a hang, and what loads generates valid Python in every style; their line
breaks written as LF, CRLF, CR or mixed never change the outcome or the positions; random
legal models that check accepts build in Keras with the static parameter counts. (Random
models with hostile names: tests/test_generated_python.py.)"""

from __future__ import annotations

import pytest

from . import fuzz


def test_mutated_specs_load_or_fail_cleanly():
    counts = fuzz.mutation_campaign(3000, seed=11)
    assert counts["inputs"] == 3000
    assert counts["rejected"] > 1000 and counts["loaded"] > 100  # both outcomes exercised


def test_line_breaks_never_change_what_a_spec_means_or_where_its_errors_are():
    counts = fuzz.line_break_campaign(300, seed=13)
    assert counts["rejected"] > 60 and counts["loaded"] > 20, counts


def test_grammar_generated_text_loads_or_fails_cleanly():
    counts = fuzz.grammar_campaign(600, seed=3)
    assert counts["inputs"] >= 300


def test_random_models_agree_with_keras():
    pytest.importorskip("keras")
    counts = fuzz.semantic_campaign(25, seed=5)
    assert counts["accepted"] >= 15
    assert counts["mismatches"] == 0, counts["failures"]


@pytest.mark.parametrize(
    "text",
    [
        "",
        " \n\t\n",
        "# only a comment\n",
        "model",
        "model M {",
        "model M { input x: [",
        "\x00\x01\x02",
        "model M { input x: [1e309] }",
        "model M { input x: [99999999999999999999999] x -> Dense(1) -> y output y }",
        "model M { input x: [4] x -> Dense(99999999999999999999999) -> y output y }",
        "model M { input x: [4] x -> Dense(1) * 99999999 -> y output y }",
        "train { epochs = 1e999 }",
        "[" * 5000,
        "model M { input x: [4] x -> Dense(" + "(" * 3000 + ") -> y }",
    ],
)
def test_edge_cases(text):
    fuzz.outcome(text)
