"""Language v2, stage by stage: lowering and shapes (no TensorFlow), each printer's text, and
the three styles against each other in real Keras.

Several results (`out, h, c = LSTM(...)(x)`), call arguments (`initial_state=[h, c]`), tensor
expressions (keras.ops and operators), values computed from parameters and shapes, `if`/`else`,
and blocks with several outputs. The parser's side is in test_parser.py and test_fmt.py; the
published architectures in test_architectures.py.
"""

from __future__ import annotations

import numpy as np
import pytest

import tfspec
from tfspec.backends import allowed_styles

from .helpers import quiet_tensorflow


def diagnostics(text: str) -> list:
    with pytest.raises(tfspec.SpecError) as info:
        tfspec.loads(text)
    return info.value.diagnostics


def codes(text: str) -> list:
    return [(d.code, d.span.line) for d in diagnostics(text)]


def model(*lines: str, inputs: str = "input x: float32[6, 4]", name: str = "M") -> str:
    body = "\n".join("    " + line for line in (inputs, *lines))
    return f"model {name} {{\n{body}\n}}\n"


# -- lowering and shapes ------------------------------------------------------------------------


def test_an_lstm_yields_its_states_with_return_state():
    spec = tfspec.loads(model("out, h, c = LSTM(8, return_state=True)(x)", "output out, h, c"))
    assert [spec.model.shapes[n] for n in ("out", "h", "c")] == [(8,), (8,), (8,)]
    assert tfspec.summary(spec).total_params == 4 * 8 * (4 + 8) + 4 * 8


def test_a_gru_and_a_bidirectional_lstm_yield_their_states():
    spec = tfspec.loads(
        model(
            "seq, h = GRU(5, return_sequences=True, return_state=True)(x)",
            "both, fh, fc, bh, bc = Bidirectional(LSTM(3, return_state=True))(x)",
            "output seq, h, both, fh, fc, bh, bc",
        )
    )
    shapes = spec.model.shapes
    assert (shapes["seq"], shapes["h"], shapes["both"], shapes["fh"], shapes["bc"]) == ((6, 5), (5,), (6,), (3,), (3,))


def test_the_number_of_names_must_match_the_results():
    assert ("E409", 3) in codes(model("out, _ = LSTM(8, return_state=True)(x)", "output out"))
    assert ("E409", 3) in codes(model("x -> LSTM(8, return_state=True) -> out", "output out"))
    assert ("E409", 3) in codes(model("out, h = LSTM(8)(x)", "output out, h"))


def test_initial_states_are_checked_against_the_layer():
    base = "_, h, c = LSTM(8, return_state=True)(x)"
    assert tfspec.loads(model(base, "x -> LSTM(8)(initial_state=[h, c]) -> y", "output y"))
    found = diagnostics(model(base, "x -> LSTM(4)(initial_state=[h, c]) -> y", "output y"))
    assert [d.code for d in found] == ["E501"] and "initial state 1 has shape" in found[0].message
    found = diagnostics(model(base.replace(", c =", ", _ ="), "x -> LSTM(8)(initial_state=[h]) -> y", "output y"))
    assert "LSTM takes 2 initial states, got 1" in found[0].message


def test_call_arguments_are_checked_against_the_catalog():
    found = diagnostics(model("x -> Dense(4)(initial_state=x) -> y", "output y"))
    assert found[0].code == "E408" and "has no argument 'initial_state'" in found[0].message
    found = diagnostics(model("y = MultiHeadAttention(2, 4)(x, x, use_causal_mask=x)", "output y"))
    assert found[0].code == "E408"
    spec = tfspec.loads(model("y = MultiHeadAttention(2, 4)(x, x, use_causal_mask=True)", "output y"))
    assert spec.model.shapes["y"] == (6, 4)


def test_attention_yields_its_scores():
    spec = tfspec.loads(
        model("out, scores = MultiHeadAttention(2, 4)(x, x, return_attention_scores=True)", "output out, scores")
    )
    assert spec.model.shapes["scores"] == (2, 6, 6)


def test_an_attention_mask_must_cover_queries_and_keys():
    keep = "keep = x[:, :, 0] > 0"
    assert tfspec.loads(
        model(
            keep,
            "pairs = logical_and(keep[:, :, None], keep[:, None, :])",
            "[x, x] -> MultiHeadAttention(2, 4)(attention_mask=pairs) -> y",
            "output y",
        )
    )
    found = diagnostics(model(keep, "[x, x] -> MultiHeadAttention(2, 4)(attention_mask=keep) -> y", "output y"))
    assert "attention mask has shape" in found[0].message


def test_tensor_expressions_have_static_shapes():
    spec = tfspec.loads(
        model(
            "a = abs(x - 1) * 2",
            "m = mean(x, axis=-1, keepdims=True)",
            "b = x / m + -x",
            "first = x[:, 0]",
            "t = transpose(x, axes=(0, 2, 1))",
            "k = x != 0",
            "output a, b, first, t, k",
        )
    )
    shapes = spec.model.shapes
    assert (shapes["a"], shapes["b"], shapes["first"], shapes["t"], shapes["k"]) == (
        (6, 4),
        (6, 4),
        (4,),
        (4, 6),
        (6, 4),
    )


def test_broadcasting_is_checked():
    found = diagnostics(model("y = x + mean(x, axis=1)", "output y"))
    assert found[0].code == "E501"
    found = diagnostics(model("x -> Dense(3) -> h", "y = x * h", "output y"))
    assert found[0].code == "E501" and "(6, 4) and (6, 3)" in found[0].message


def test_expressions_refuse_what_they_cannot_compute():
    assert ("E410", 3) in codes(model("y = foo(x)", "output y"))
    assert ("E410", 3) in codes(model("y = Dense(3) + x", "output y"))
    assert ("E410", 3) in codes(model("y = x.dtype", "output y"))
    assert ("E301", 3) in codes(model("y = x + z", "output y"))


def test_values_are_computed_from_shapes_and_used_in_layers():
    spec = tfspec.loads(model("n = x.shape[-1] * 2", "x -> Dense(n) -> y", "output y"))
    assert spec.model.shapes["y"] == (6, 8)
    assert spec.model.values["n"] == 8


def test_a_value_is_not_a_tensor():
    assert ("E410", 4) in codes(model("n = x.shape[-1]", "n -> Dense(2) -> y", "output y"))


def test_a_value_that_cannot_be_computed_names_the_use_of_its_block():
    text = "block B(k) {\n    input x\n    n = x.shape[-1] // k\n    x -> Dense(n) -> y\n    output y\n}\n" + model(
        "x -> B(0) -> y", "output y"
    )
    (found,) = diagnostics(text)
    assert found.code == "E410" and found.span.line == 3 and "divides by zero" in found.message
    assert "(in block B used at line 9)" in found.message


IR_BLOCK = """
block Widen(factor, skip=True) {
    input x
    c = x.shape[-1]
    if factor > 1 and skip {
        x -> Dense(c * factor) -> wide
        y = wide[:, :, 0:c] + x
    } else if factor > 1 {
        x -> Dense(c * factor) -> y
    } else {
        y = x
    }
    output y
}
"""


def test_if_chooses_statements_per_use_of_a_block():
    spec = tfspec.loads(
        IR_BLOCK + model("x -> Widen(2) -> a", "x -> Widen(3, skip=False) -> b", "x -> Widen(1) -> c", "output a, b, c")
    )
    assert (spec.model.shapes["a"], spec.model.shapes["b"], spec.model.shapes["c"]) == ((6, 4), (6, 12), (6, 4))
    assert tfspec.summary(spec).total_params == (4 * 8 + 8) + (4 * 12 + 12)


def test_a_name_made_in_one_branch_only_is_refused_where_it_is_missing():
    text = "block B(k) {\n    input x\n    if k > 1 {\n        x -> Dense(k) -> y\n    }\n    output y\n}\n" + model(
        "x -> B(1) -> y", "output y"
    )
    found = diagnostics(text)
    assert found[0].code == "E301" and "'y' is not made when 1 > 1 is false" in found[0].message
    assert found[0].span.line == 6  # the output


def test_a_condition_must_be_known_before_the_model_runs():
    text = "block B() {\n    input x\n    if x {\n        y = x\n    } else {\n        y = -x\n    }\n    output y\n}\n"
    found = diagnostics(text + model("x -> B() -> y", "output y"))
    assert found[0].code == "E410" and "not known before the model runs" in found[0].message


def test_a_block_with_several_inputs_and_outputs():
    text = "block Pair() {\n    input a\n    input b\n    s = a + b\n    d = abs(a - b)\n    output s, d\n}\n" + model(
        "[x, x] -> Pair() -> s, d", "output s, d"
    )
    spec = tfspec.loads(text)
    assert (spec.model.shapes["s"], spec.model.shapes["d"]) == ((6, 4), (6, 4))


def test_discarded_results_may_repeat_and_are_never_reported_unused():
    spec = tfspec.loads(model("x -> LSTM(8, return_sequences=True, return_state=True) -> seq, _, _", "output seq"))
    assert spec.model.shapes["seq"] == (6, 8)


# -- printers -----------------------------------------------------------------------------------


def test_operations_print_as_keras_code():
    spec = tfspec.loads(model("d = abs(x - 1) * relu6(x + 3) / 6", "k = x != 0", "output d, k"))
    text = tfspec.generate(spec, "functional")
    assert "d = keras.ops.abs(x - 1) * keras.ops.relu6(x + 3) / 6" in text
    assert "k = keras.ops.not_equal(x, 0)" in text


def test_sequential_refuses_operations_with_their_position():
    spec = tfspec.loads(model("y = x * 2", "output y"))
    assert "sequential" not in allowed_styles(spec)
    with pytest.raises(tfspec.SpecError) as info:
        tfspec.generate(spec, "sequential")
    assert info.value.diagnostics[0].code == "E701" and info.value.diagnostics[0].span.line == 3


def test_functional_prints_conditions_as_python_in_the_helper():
    spec = tfspec.loads(IR_BLOCK + model("x -> Widen(2) -> y", "output y"))
    text = tfspec.generate(spec, "functional")
    assert "    c = x.shape[-1]\n    if factor > 1 and skip:\n" in text
    assert "    elif" not in text and "    else:\n        if factor > 1:\n" in text


def test_subclassing_makes_the_layers_of_a_shape_dependent_block_in_build():
    spec = tfspec.loads(IR_BLOCK + model("x -> Widen(2) -> y", "output y"))
    text = tfspec.generate(spec, "subclassing")
    assert "    def build(self, input_shape):\n        c = input_shape[-1]\n" in text
    assert "self.dense = layers.Dense(c * self.factor)" in text


def test_subclassing_refuses_a_value_read_from_an_inner_shape():
    text = "block B() {\n    input x\n    x -> Dense(3) -> h\n    n = h.shape[-1]\n    h -> Dense(n) -> y\n    output y\n}\n"
    spec = tfspec.loads(text + model("x -> B() -> y", "output y"))
    assert "subclassing" not in allowed_styles(spec) and "functional" in allowed_styles(spec)


def test_sequential_prints_computed_values_in_a_chain_of_blocks():
    text = "block B(k) {\n    input x\n    n = x.shape[-1] * k\n    x -> Dense(n) -> y\n    output y\n}\n"
    spec = tfspec.loads(text + model("x -> B(2) -> B(3) -> y", "output y", inputs="input x: float32[4]"))
    code = tfspec.generate(spec, "sequential")
    assert "layers.Dense(8)," in code and "layers.Dense(24)," in code


# -- the three styles in Keras --------------------------------------------------------------------

EQUIVALENT = {
    "expressions": model(
        "layer encode = Dense(5)",
        "a = encode(x)",
        "b = encode(-x)",
        "d = abs(a - b) * 2 + mean(a, axis=1, keepdims=True)",
        "d -> Flatten() -> Dense(1) -> y",
        "output y",
        name="Expressions",  # (Keras registers each generated class by its name: one per model)
    ),
    "states": model(
        "_, h, c = LSTM(4, return_state=True)(x)",
        "x -> LSTM(4, return_sequences=True)(initial_state=[h, c]) -> seq",
        "[seq, seq] -> MultiHeadAttention(2, 3)(use_causal_mask=True) -> att",
        "y = LayerNormalization()(seq + att)",
        "output y",
        name="States",
    ),
    "blocks": IR_BLOCK
    + model("x -> Widen(2) -> a", "a -> Widen(3, skip=False) -> b", "b -> Widen(1) -> y", "output y", name="Blocks"),
}


@pytest.fixture(scope="module")
def keras_models():
    quiet_tensorflow()
    out = {}
    for name, text in EQUIVALENT.items():
        spec = tfspec.loads(text)
        out[name] = (spec, {style: tfspec.build(spec, style) for style in allowed_styles(spec)})
    return out


@pytest.mark.parametrize("name", list(EQUIVALENT))
def test_every_style_is_the_same_model(keras_models, name):
    from tfspec.weights import copy_weights

    spec, models = keras_models[name]
    assert "functional" in models and "subclassing" in models
    x = np.random.default_rng(0).standard_normal((3, 6, 4)).astype("float32")
    want = np.asarray(models["functional"](x, training=False))
    total = tfspec.summary(spec).total_params
    for style, built in models.items():
        assert built.count_params() == total, style
        copy_weights(spec, models["functional"], "functional", built, style)
        np.testing.assert_allclose(np.asarray(built(x, training=False)), want, atol=1e-6, err_msg=style)


@pytest.mark.parametrize("name", list(EQUIVALENT))
def test_keras_files_of_every_style_load_back(keras_models, name, tmp_path):
    import keras

    _, models = keras_models[name]
    x = np.random.default_rng(1).standard_normal((2, 6, 4)).astype("float32")
    for style, built in models.items():
        path = tmp_path / f"{style}.keras"
        built.save(path)
        loaded = keras.saving.load_model(path)
        np.testing.assert_allclose(
            np.asarray(loaded(x, training=False)), np.asarray(built(x, training=False)), atol=1e-6
        )


# -- limits ---------------------------------------------------------------------------------------


def test_an_operator_chain_too_deep_for_the_walks_is_refused_with_a_position():
    text = "model M { input x: [4] y = " + " + ".join(["x"] * 1000) + " output y }"
    assert [d.code for d in diagnostics(text)] == ["E104"]
    assert tfspec.loads("model M { input x: [4] y = " + " + ".join(["x"] * 100) + " output y }")


def test_else_if_chains_nest_at_most_as_deep_as_brackets():
    assert [
        d.code for d in diagnostics("model M { input x: [4] " + "if 1 {} else " * 1000 + "{} y = x output y }")
    ] == ["E104"]
    assert tfspec.loads("model M { input x: [4] " + "if 1 {} else " * 60 + "{} y = x output y }")
