"""Bounded fuzzing for CI (the longer campaign is `make fuzz`): grammar-generated text and
mutations of every example spec either load or raise a positioned SpecError, never anything
else and never a hang, and what loads generates valid Python in every style; their line
breaks written as LF, CRLF, CR or mixed never change the outcome or the positions; random
legal models that check accepts build in Keras with the static parameter counts. (Random
models with hostile names: tests/test_generated_python.py.) Random models in language v2 do
the same, and a sample builds in Keras; the compiler bugs the fuzzers found are kept below as
regression tests."""

from __future__ import annotations

import pytest

import tfspec

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


# -- language v2: random models with expressions, call arguments, several results, static values,
# if/else and blocks of several inputs and outputs (tests/fuzz.py: random_v2_model) -------------

# Each construct the generator writes must show up in accepted specs, or the campaign tests little.
V2_FEATURES = [
    "operator",
    "unary minus",
    "comparison",
    "and/or/not",
    "keras.ops",
    "index",
    "layer in expression",
    "call arguments",
    "several results",
    "static shape",
    "static value",
    "if/else",
    "block",
    "block with several inputs or outputs",
]


def test_random_v2_models_load_or_fail_cleanly():
    """Every text loads or raises a positioned SpecError within the time limit; what loads
    generates the same Python, which compiles, in every style it allows, twice over and from a
    second load. The specs the generator writes without a mistake all load."""
    counts = fuzz.v2_campaign(800, seed=17)
    assert counts["failed"] == 0, counts["failures"]
    assert counts["clean_rejected"] == 0, counts["clean_refusals"]
    assert counts["accepted"] >= 400 and counts["rejected"] >= 150, counts
    assert all(counts["features"].get(f, 0) >= 20 for f in V2_FEATURES), counts["features"]


def test_random_v2_models_agree_with_keras():
    """A sample built in Keras in every style: parameters (count_params()) and output shapes
    as the static summary gives them."""
    pytest.importorskip("keras")
    counts = fuzz.v2_campaign(32, seed=29, build=32)
    assert counts["built"] >= 16, counts
    assert counts["failed"] == 0, counts["failures"]


V2_EDGE_CASES = [
    "model M { input x: [4]  y = " + "-" * 3000 + "x  output y }",
    "model M { input x: [4]  y = " + "not " * 3000 + "x  output y }",
    "model M { input x: [4]  y = x" + "[0]" * 3000 + "  output y }",
    "model M { input x: [4]  y = x" + ".shape" * 3000 + "  output y }",
    "model M { input x: [4]  y = " + "(" * 3000 + "x" + ")" * 3000 + "  output y }",
    "model M { input x: [4]  y = " + " + ".join(["x"] * 5000) + "  output y }",
    "model M { input x: [4]  y = " + " and ".join(["x > 0"] * 3000) + "  output y }",
    "model M { input x: [4]  n = " + " * ".join(["2"] * 3000) + "  x -> Dense(n) -> y  output y }",
    "model M { input x: [4]  n = " + " + ".join(["x.shape[-1]"] * 3000) + "  x -> Dense(n) -> y  output y }",
    "model M { input x: [4]  y = " + "abs(" * 2000 + "x" + ")" * 2000 + "  output y }",
    "model M { input x: [4]  n = " + "max(1, " * 2000 + "2" + ")" * 2000 + "  x -> Dense(n) -> y  output y }",
    "model M { input x: [4] " + "if 1 > 0 { " * 1500 + "y = x" + " }" * 1500 + " output y }",
    "model M { input x: [4]  " + ", ".join(f"a{i}" for i in range(3000)) + " = x  output a0 }",
    "model M { input x: [4]  x -> Dense(2) -> " + ", ".join(f"a{i}" for i in range(3000)) + "  output a0 }",
    "model M { input x: [4]  x -> LSTM(2)(" + ", ".join(f"k{i}=x" for i in range(3000)) + ") -> y  output y }",
    "model M { input x: [4]  y = reshape(x, (-1, " + ", ".join(["1"] * 5000) + "))  output y }",
    "model M { input x: [4]  y = transpose(x, axes=(" + ", ".join(["0"] * 5000) + "))  output y }",
    "model M { input x: [4]  y = x[99999999999999999999]  output y }",
    "model M { input x: [4]  n = x.shape[99999999999999999999]  x -> Dense(n) -> y  output y }",
    "model M { input x: [4]  y = mean(x, axis=99999999999999999999)  output y }",
    "model M { input x: [4]  y = x == x == x  output y }",
    "model M { input x: [4]  y = x[  output y }",
    "model M { input x: [4]  y = x[:, ::0]  output y }",
    "model M { input x: [4]  n = 10 // 0  x -> Dense(n) -> y  output y }",
    "model M { input x: [4]  n = 1e308 * 1e308  x -> Dense(2) -> y  output y, n }",
    'model M { input x: [4]  n = "ab" * 99999999999  x -> Dense(2, name=n) -> y  output y }',
    "model M { input x: [4]  n = 3 * 99999999999 * 99999999999  x -> Dense(n) -> y  output y }",
    "model M { input x: [4]  _, _ = x * 2  output x }",
    "model M { input x: [4]  x, y = LSTM(2, return_state=True)(x)  output y }",
    "model M { input x: [4]  if { y = x } output y }",
    "model M { input x: [4]  if x { y = x } else { y = x } output y }",
    "model M { input x: [4]  else { y = x } output y }",
    "block B(k) { input a  if k { a -> Dense(2) -> b } output b }  model M { input x: [4]  x -> B(0) -> y  output y }",
]


@pytest.mark.parametrize("text", V2_EDGE_CASES, ids=[f"v2edge{i}" for i in range(len(V2_EDGE_CASES))])
def test_v2_edge_cases(text):
    fuzz.outcome(text)


# -- compiler bugs the fuzzers found, fixed: each is the smallest spec that showed it. It must be
# refused with a positioned diagnostic, or build in Keras in every style it allows as the
# static summary says.


def builds_or_is_refused(text: str) -> list:
    """Problems with `text`: none when it is refused with positioned diagnostics, else those
    fuzz.check_against_keras finds."""
    try:
        spec = tfspec.loads(text, "fuzz.tfs")
    except tfspec.SpecError as exc:
        fuzz.assert_positioned(exc, text)
        return []
    return fuzz.check_against_keras(spec)


TWO_LAYERS = """
model M { input x: [4]  y = Dense(3)(x) + -Dense(3)(x * 2)  output y }
"""

FOUND_BUGS = {
    "positions of a block's tensor of rank 2 prints as for rank 1: Embedding gives (3, 4, 2), "
    "not the static (3, 2)": """
block B(k) {
    input i
    p = positions(i)
    p -> Embedding(8, 2) -> e
    output e
}
model M { input x: [3, 4]  x -> B(1) -> y  output y }
""",
    "an `if` condition that reads `.shape` is printed in the subclassing style's build(), where "
    "the tensor is not defined: NameError": """
block B(k) {
    input i
    if i.shape[-1] > 2 { i -> Dense(2) -> y } else { y = i * 1 }
    output y
}
model M { input x: [4]  x -> B(1) -> y  output y }
""",
    "the same at model level, the else branch taken: NameError in build()": """
model M { input x: [4]
    if x.shape[-1] > 9 { y = x * 1 } else { x -> Dense(2) -> y }
    output y
}
""",
    "a layer whose output is read only for its shape: counted by the summary (60) and made by the "
    "subclassing style, left out of the functional model by Keras (30)": """
model M { input x: [4]
    x -> Dense(6) -> h
    n = h.shape[-1]
    x -> Dense(n) -> y
    output y
}
""",
    "a model with no layer is allowed in the Sequential style, whose model Keras cannot count "
    "or run (Sequential with only an Input is never built)": """
model M { input x: [4]  y = x  output y }
""",
    "max() of one number: tfspec computes 3, the generated Python's max(3) raises TypeError": """
model M { input x: [4]  c = max(3)  x -> Dense(c) -> y  output y }
""",
    "reshape in a block prints its new shape as written: None reaches keras.ops.reshape": """
block B(k) { input i  t = reshape(i, (None, -1, 1))  output t }
model M { input x: [3, 4]  x -> B(1) -> y  output y }
""",
    "reshape in a block prints its new shape as written: two -1 (the batch's and a size's)": """
block B(k) { input i  t = reshape(i, (-1, -1, 2))  output t }
model M { input x: [3, 4]  x -> B(1) -> y  output y }
""",
    "a string operand in tensor arithmetic is accepted (as a float); Keras refuses it": """
model M { input x: [3, 4]  y = x + "a"  output y }
""",
    "a slice bound beyond 64 bits is accepted; TensorFlow cannot convert it": """
model M { input x: [4]  y = x[:, 99999999999999999999:]  output y }
""",
    "an index of 32 items is accepted; TensorFlow's strided_slice masks are 32-bit": (
        "model M { input x: [2]  y = x[:, " + ", ".join(["None"] * 31) + "]  output y }"
    ),
    "an empty slice is accepted (static shape (0, 6)); an RNN over the 0 steps fails in Keras": """
model M { input x: [1, 6]  t = x[:, 1:2]  t -> GRU(2) -> y  output y }
""",
    "a model input named like a keras.ops function the model calls: the functional model has two "
    'operations named "mean", which Keras refuses': """
model M { input mean: [4, 2]  y = mean(mean, axis=-1)  output y }
""",
    "Keras 3.15 gives MultiHeadAttention's scores the symbolic shape (heads, T_q, T_q) where they are "
    "(heads, T_q, T_v): a Dense on them is built for 2 inputs, not 8 (65 parameters, not 83); tfspec "
    "could refuse it or work around it": """
model M { input q: [2, 4]  input v: [8, 1]
    a, s = MultiHeadAttention(num_heads=2, key_dim=2)(q, v, return_attention_scores=True)
    s -> Dense(3) -> y
    output a, y
}
""",
    "two layers in one expression: their results share the target's variable (y = Dense(3)(x); y = x * 2; "
    "y = Dense(3)(y); y = y + -y): the functional model holds one Dense (15 parameters, not 30)": TWO_LAYERS,
}


@pytest.mark.parametrize("text", list(FOUND_BUGS.values()), ids=[f"bug{i}" for i in range(len(FOUND_BUGS))])
def test_a_found_bug_builds_or_is_refused(text):
    pytest.importorskip("keras")
    assert builds_or_is_refused(text) == []


def test_block_time_strings_are_bounded():
    with pytest.raises(tfspec.SpecError):
        tfspec.loads('model M { input x: [4]  n = "ab" * 5000000  x -> Dense(2, name=n) -> y  output y }', "fuzz.tfs")


def test_block_time_tuples_are_bounded():
    text = "model M { input x: [3, 4]  n = (1, 2) * 999999  x -> Reshape(n) -> y  output y }"
    with fuzz.deadline(2), pytest.raises(tfspec.SpecError):
        tfspec.loads(text, "fuzz.tfs")


def test_two_layers_in_one_expression_compute_their_value():
    keras = pytest.importorskip("keras")
    import numpy as np

    model = tfspec.build(tfspec.loads(TWO_LAYERS, "fuzz.tfs"), "subclassing")
    first, second = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    x = np.random.default_rng(0).normal(size=(2, 4)).astype("float32")
    want = np.asarray(first(x)) - np.asarray(second(x * 2))
    np.testing.assert_allclose(np.asarray(model(x)), want, atol=1e-5)
