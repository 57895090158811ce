"""The .tfs language, construct by construct: what each piece of syntax means.

Every test is a small spec and what tfspec makes of it: the normalised spec (the plain
dict the JSON Schema describes, `spec.spec`), the IR graph (`spec.model`) or the training
settings (`spec.training`). Nothing here imports TensorFlow.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tfspec
from tfspec import SpecError
from tfspec.backends import allowed_styles
from tfspec.frontend.normalise import normalise
from tfspec.frontend.parser import parse

from .fuzz import with_line_breaks
from .helpers import spec_names, spec_path


def normalised(text: str) -> dict:
    """Parse and normalise only: the spec dict before the schema and the semantic checks."""
    spec, _spans = normalise(parse(text, "<test>"), "<test>", text)
    return spec


def value_of(text: str):
    """The normalised form of a value written as a layer argument: `Dense(1, v=<text>)`."""
    spec = normalised(f"model M {{ input x: [1] x -> Dense(1, v={text}) -> y output y }}")
    return spec["model"]["body"]["chains"][0]["steps"][0]["call"]["kwargs"]["v"]


def chain_calls(spec: tfspec.Spec) -> list[str]:
    return [node.layer.kind for node in spec.model.nodes]


# -- the shape of a spec ----------------------------------------------------------------


def test_a_minimal_spec_is_a_named_model_with_an_input_a_chain_and_an_output():
    spec = tfspec.loads("""
        model Tiny {
            input x: float32[4]
            x -> Dense(2) -> y
            output y
        }
    """)
    assert spec.name == "Tiny"
    assert [(i.name, i.shape, i.dtype) for i in spec.model.inputs] == [("x", (4,), "float32")]
    assert spec.model.outputs == ["y"]
    assert chain_calls(spec) == ["Dense"]
    assert spec.model.shapes["y"] == (2,)
    assert spec.training is None  # no train section


def test_comments_run_from_hash_to_the_end_of_the_line_anywhere():
    spec = tfspec.loads("""
        # a comment before everything
        block Tagged(tag) { input t t -> Dense(2) -> u output u }
        model M {          # after a brace
            input x: [4]   # after an input
            x -> Dense(3)  # between two steps of a chain
              # on a line of its own, inside a chain
              -> Tagged("not#a#comment")
              -> y
            output y       # after the output
        }
        # and at the very end""")
    assert chain_calls(spec) == ["Dense", "Tagged"]
    assert spec.model.nodes[1].layer.call.args[0] == "not#a#comment"


def test_newlines_are_insignificant_so_a_whole_spec_may_sit_on_one_line():
    one_line = tfspec.loads("model M { input x: [4] x -> Dense(3) -> Dense(2) -> y output y }")
    spread = tfspec.loads("""
        model M
        {
            input
                x
                : [4]
            x
              -> Dense(3)
              -> Dense(2)
              -> y
            output
                y
        }
    """)
    assert one_line.spec == spread.spec


def test_sections_may_come_in_any_order():
    spec = tfspec.loads("""
        train { loss = mse }
        model M { input x: [4] x -> B(2) -> y output y }
        block B(n) { input x x -> Dense(n) -> y output y }
    """)
    assert spec.name == "M" and list(spec.blocks) == ["B"] and spec.training["loss"]["class_name"] == "MeanSquaredError"


# -- inputs --------------------------------------------------------------------------------


def test_inputs_have_a_name_a_per_sample_shape_and_a_dtype_defaulting_to_float32():
    spec = tfspec.loads("""
        model M {
            input image: float32[28, 28, 1]
            input tokens: int32[None]          # None: a variable-length axis
            input plain: [8]                   # no dtype: float32
            input trailing: float64[2, 3,]     # a trailing comma is fine
            image -> Flatten() -> a
            tokens -> Embedding(100, 4) -> GlobalAveragePooling1D() -> b
            trailing -> Flatten() -> c
            [a, b, plain, c] -> Concatenate() -> y
            output y
        }
    """)
    assert [(i.name, i.shape, i.dtype) for i in spec.model.inputs] == [
        ("image", (28, 28, 1), "float32"),
        ("tokens", (None,), "int32"),
        ("plain", (8,), "float32"),
        ("trailing", (2, 3), "float64"),
    ]
    assert spec.model.shapes["y"] == (28 * 28 + 4 + 8 + 6,)


@pytest.mark.parametrize(
    "dtype", ["float16", "bfloat16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool", "string"]
)
def test_every_supported_input_dtype(dtype):
    spec = tfspec.loads(f"model M {{ input x: {dtype}[3] x -> Identity() -> y output y }}")
    assert spec.model.inputs[0].dtype == dtype


def test_an_input_shape_may_mix_fixed_and_variable_axes():
    spec = tfspec.loads("model M { input seq: [None, 16] seq -> LSTM(8) -> h output h }")
    assert spec.model.inputs[0].shape == (None, 16)
    assert spec.model.shapes["h"] == (8,)


# -- chains, tensors, merges ---------------------------------------------------------------------


def test_a_chain_may_run_over_several_lines_and_names_only_its_result():
    spec = tfspec.loads("""
        model M {
            input x: [8]
            x -> Dense(16, activation="relu")
              -> Dropout(0.1)
              -> Dense(4)
              -> out
            output out
        }
    """)
    assert chain_calls(spec) == ["Dense", "Dropout", "Dense"]
    named = [n.output for n in spec.model.nodes if n.named]
    assert named == ["out"]  # intermediate results have no name of their own
    assert spec.model.shapes["out"] == (4,)


def test_named_tensors_connect_chains_into_a_graph():
    spec = tfspec.loads("""
        model M {
            input x: [8]
            x -> Dense(16) -> hidden
            hidden -> Dense(4) -> a
            hidden -> Dense(2) -> b
            output a, b
        }
    """)
    assert spec.model.outputs == ["a", "b"]
    assert [n.inputs for n in spec.model.nodes] == [("x",), ("hidden",), ("hidden",)]
    assert spec.model.shapes["a"] == (4,) and spec.model.shapes["b"] == (2,)


def test_chains_may_be_written_in_any_order_they_run_in_dependency_order():
    spec = tfspec.loads("""
        model M {
            input x: [8]
            hidden -> Dense(4) -> y       # uses `hidden` before the chain that makes it
            x -> Dense(16) -> hidden
            output y
        }
    """)
    assert [n.output for n in spec.model.nodes] == ["hidden", "y"]


@pytest.mark.parametrize(
    "merge,shape",
    [
        ("Add()", (8,)),
        ("Subtract()", (8,)),
        ("Multiply()", (8,)),
        ("Average()", (8,)),
        ("Maximum()", (8,)),
        ("Minimum()", (8,)),
        ("Concatenate()", (16,)),
        ("Concatenate(axis=-1)", (16,)),
        ("Dot(axes=1)", (1,)),
    ],
)
def test_merges_take_a_list_of_tensors_as_their_source(merge, shape):
    spec = tfspec.loads(f"""
        model M {{
            input a: [8]
            input b: [8]
            [a, b] -> {merge} -> c
            output c
        }}
    """)
    (node,) = spec.model.nodes
    assert node.inputs == ("a", "b")
    assert spec.model.shapes["c"] == shape


def test_a_merge_can_take_more_than_two_tensors_and_feed_a_chain():
    spec = tfspec.loads("""
        model M {
            input a: [4]
            input b: [4]
            input c: [4]
            [a, b, c,] -> Add() -> Dense(2) -> y
            output y
        }
    """)
    assert spec.model.nodes[0].inputs == ("a", "b", "c")
    assert spec.model.nodes[1].inputs == (spec.model.nodes[0].output,)


def test_several_inputs_and_several_outputs():
    spec = tfspec.load(spec_path("shared_embedding"))
    assert [i.name for i in spec.model.inputs] == ["text_a", "text_b"]
    assert spec.model.outputs == ["pred_a", "pred_b"]


def test_a_declared_layer_applied_twice_is_one_layer_with_shared_weights():
    spec = tfspec.loads("""
        model M {
            input a: int32[None]
            input b: int32[None]
            layer embed = Embedding(1000, 128)
            a -> embed -> GlobalAveragePooling1D() -> ea
            b -> embed -> GlobalAveragePooling1D() -> eb
            [ea, eb] -> Concatenate() -> y
            output y
        }
    """)
    embeds = [n.layer for n in spec.model.nodes if n.layer.kind == "Embedding"]
    assert len(embeds) == 2 and embeds[0] is embeds[1]
    assert embeds[0].id == "embed" and embeds[0].uses == 2
    # the weights are counted once
    assert tfspec.summary(spec).total_params == 1000 * 128
    (row,) = [r for r in tfspec.summary(spec).rows if r.name == "embed"]
    assert row.shared == 2


@pytest.mark.parametrize("word", ["model", "block", "train", "input", "output", "layer"])
def test_language_words_cannot_name_things(word):
    # The six statement words are reserved everywhere, so a reader (and a highlighter)
    # never has to guess whether `layer` starts a statement or names a tensor.
    with pytest.raises(tfspec.SpecError) as info:
        tfspec.loads(f"model M {{ input x: [4] x -> Dense(3) -> {word} output {word} }}")
    assert info.value.diagnostics[0].code in ("E307", "E100")


# -- blocks ----------------------------------------------------------------------------------


def test_a_block_is_a_reusable_parametric_sub_graph():
    spec = tfspec.loads("""
        block ConvBN(filters, kernel=3) {
            input x
            x -> Conv2D(filters, kernel, padding="same", use_bias=False)
              -> BatchNormalization()
              -> ReLU()
              -> y
            output y
        }
        model M {
            input image: [8, 8, 1]
            image -> ConvBN(4) -> a                # kernel takes its default, 3
            a -> ConvBN(8, kernel=5) -> b          # arguments by keyword
            b -> ConvBN(filters=2, kernel=1) -> c
            output c
        }
    """)
    block = spec.blocks["ConvBN"]
    assert [p for p, _ in block.params] == ["filters", "kernel"]
    assert [n.layer.kind for n in spec.model.nodes] == ["ConvBN"] * 3
    assert [n.layer.values for n in spec.model.nodes] == [
        {"filters": 4, "kernel": 3},
        {"filters": 8, "kernel": 5},
        {"filters": 2, "kernel": 1},
    ]
    assert spec.model.shapes["c"] == (8, 8, 2)
    # parameters: conv (no bias) + batch norm (gamma, beta trainable; mean, variance not)
    s = tfspec.summary(spec)
    assert s.trainable_params == (9 * 1 * 4 + 2 * 4) + (25 * 4 * 8 + 2 * 8) + (1 * 8 * 2 + 2 * 2)
    assert s.non_trainable_params == 2 * 4 + 2 * 8 + 2 * 2


def test_repetition_applies_fresh_copies_of_a_layer_or_block_in_a_row():
    spec = tfspec.loads("""
        block Res(units) {
            input x
            x -> Dense(units, activation="relu") -> h
            [x, h] -> Add() -> y
            output y
        }
        model M {
            input x: [16]
            x -> Dense(16) * 3 -> Res(16) * 2 -> y
            output y
        }
    """)
    layers = [n.layer for n in spec.model.nodes]
    assert [layer.kind for layer in layers] == ["Dense"] * 3 + ["Res"] * 2
    assert len({id(layer) for layer in layers}) == 5  # five distinct layers, no sharing
    assert len({layer.id for layer in layers}) == 5
    assert tfspec.summary(spec).total_params == 3 * (16 * 16 + 16) + 2 * (16 * 16 + 16)


def test_a_block_named_without_arguments_is_applied_like_a_layer():
    spec = tfspec.loads("""
        block Head() { input x x -> Dense(2) -> y output y }
        model M { input x: [4] x -> Head -> y output y }
    """)
    assert [n.layer.kind for n in spec.model.nodes] == ["Head"]


def test_a_block_may_take_several_inputs_from_a_list_source():
    spec = tfspec.loads("""
        block Fuse(units) {
            input a
            input b
            [a, b] -> Concatenate() -> Dense(units) -> y
            output y
        }
        model M {
            input a: [4]
            input b: [6]
            [a, b] -> Fuse(3) -> y
            output y
        }
    """)
    assert spec.model.shapes["y"] == (3,)
    assert tfspec.summary(spec).total_params == 10 * 3 + 3


def test_blocks_may_use_other_blocks():
    spec = tfspec.loads("""
        block Inner(n) { input x x -> Dense(n) -> y output y }
        block Outer(n) { input x x -> Inner(n) -> Inner(n) -> y output y }
        model M { input x: [4] x -> Outer(3) -> y output y }
    """)
    assert spec.model.shapes["y"] == (3,)
    assert tfspec.summary(spec).total_params == (4 * 3 + 3) + (3 * 3 + 3)


# -- argument values ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text,value",
    [
        ("0", 0),
        ("42", 42),
        ("-3", -3),
        ("+3", 3),
        ("1.5", 1.5),
        ("-0.25", -0.25),
        (".5", 0.5),
        ("2.", 2.0),
        ("1e-3", 1e-3),
        ("1E3", 1000.0),
        ("-2.5e+2", -250.0),
        ("3e0", 3.0),
    ],
)
def test_numbers_are_ints_or_floats_as_written(text, value):
    got = value_of(text)
    assert got == value and type(got) is type(value)


@pytest.mark.parametrize(
    "text,value",
    [
        ('"relu"', "relu"),
        ("'relu'", "relu"),
        ('""', ""),
        (r'"a\"b"', 'a"b'),
        (r"'a\'b'", "a'b"),
        (r'"it\'s"', "it's"),
        ('"it\'s"', "it's"),
        ("'say \"hi\"'", 'say "hi"'),
        (r'"tab\there"', "tab\there"),
        (r'"line\nbreak"', "line\nbreak"),
        (r'"back\\slash"', "back\\slash"),
        (r'"\u00e9t\u00e9"', "été"),
        (r'"\x41"', "A"),
        ('"été ✓"', "été ✓"),
        ('"# not a comment"', "# not a comment"),
    ],
)
def test_strings_take_either_quote_and_python_escapes(text, value):
    assert value_of(text) == value


@pytest.mark.parametrize(
    "text,value",
    [
        ("True", True),
        ("true", True),
        ("False", False),
        ("false", False),
        ("None", None),
    ],
)
def test_booleans_in_either_spelling_and_none(text, value):
    assert value_of(text) is value


@pytest.mark.parametrize(
    "text,value",
    [
        ("()", {"tuple": []}),
        ("(1,)", {"tuple": [1]}),
        ("(1, 2)", {"tuple": [1, 2]}),
        ("(1, 2,)", {"tuple": [1, 2]}),
        ("[]", []),
        ("[1]", [1]),
        ("[1, 'a', None,]", [1, "a", None]),
        ("[(1, 2), [3]]", [{"tuple": [1, 2]}, [3]]),
        ("{}", {"dict": {}}),
        ("{a: 1, \"b c\": [2], 'd': {e: None}}", {"dict": {"a": 1, "b c": [2], "d": {"dict": {"e": None}}}}),
        ("L2(1e-4)", {"call": "L2", "args": [1e-4], "kwargs": {}}),
        ("L1L2(l1=0.1, l2=0.2,)", {"call": "L1L2", "args": [], "kwargs": {"l1": 0.1, "l2": 0.2}}),
        ("LSTM(8, return_sequences=True)", {"call": "LSTM", "args": [8], "kwargs": {"return_sequences": True}}),
        ("relu", {"ref": "relu"}),  # a bare name: a block parameter or a symbol
    ],
)
def test_tuples_lists_dicts_calls_and_names(text, value):
    assert value_of(text) == value


def test_parentheses_group_a_value_and_a_comma_makes_a_tuple():
    assert value_of("(3)") == 3
    assert value_of("((3))") == 3
    assert value_of("(3,)") == {"tuple": [3]}
    assert value_of("((3,))") == {"tuple": [3]}


# -- expressions, assignments, `if` (language v2) -------------------------------------------------


def ref(name: str) -> dict:
    return {"ref": name}


def op(name: str, *args) -> dict:
    return {"op": name, "args": list(args)}


@pytest.mark.parametrize(
    "text,value",
    [
        ("a - 1", op("-", ref("a"), 1)),
        ("a -1", op("-", ref("a"), 1)),  # after a value `-` is an operator, whatever the spacing
        ("a-1", op("-", ref("a"), 1)),
        ("-1", -1),  # where a value starts, a sign glued to a number is part of it
        ("- 1", op("neg", 1)),
        ("-a", op("neg", ref("a"))),
        ("--1", op("neg", -1)),
        ("a - -1", op("-", ref("a"), -1)),
        ("a + b * c", op("+", ref("a"), op("*", ref("b"), ref("c")))),
        ("(a + b) * c", op("*", op("+", ref("a"), ref("b")), ref("c"))),
        ("a - b - c", op("-", op("-", ref("a"), ref("b")), ref("c"))),
        ("a // b % c / d", op("/", op("%", op("//", ref("a"), ref("b")), ref("c")), ref("d"))),
        ("-a * b", op("*", op("neg", ref("a")), ref("b"))),
        ("a < b + 1", op("<", ref("a"), op("+", ref("b"), 1))),
        ("not a == b", op("not", op("==", ref("a"), ref("b")))),
        ("a or b and not c", op("or", ref("a"), op("and", ref("b"), op("not", ref("c"))))),
        ("(a < b) < c", op("<", op("<", ref("a"), ref("b")), ref("c"))),
        ("x[0]", {"index": ref("x"), "items": [0]}),
        ("x[:, 0]", {"index": ref("x"), "items": [{"slice": [None, None, None]}, 0]}),
        (
            "x[1:, ::-1, ...]",
            {"index": ref("x"), "items": [{"slice": [1, None, None]}, {"slice": [None, None, -1]}, {"ellipsis": True}]},
        ),
        ("x.shape[-1]", {"index": {"attr": "shape", "of": ref("x")}, "items": [-1]}),
        ("-x[0]", op("neg", {"index": ref("x"), "items": [0]})),
        ("-1[0]", {"index": -1, "items": [0]}),
        ("f(1)(x, k=2)", {"apply": {"call": "f", "args": [1], "kwargs": {}}, "args": [ref("x")], "kwargs": {"k": 2}}),
        ("abs(a - b)", {"call": "abs", "args": [op("-", ref("a"), ref("b"))], "kwargs": {}}),
        ("x.if", {"attr": "if", "of": ref("x")}),  # after "." any word is a name
        ("[a] + [b]", op("+", [ref("a")], [ref("b")])),
    ],
)
def test_expressions_follow_pythons_precedence(text, value):
    assert value_of(text) == value


def test_assignments_ifs_and_chains_with_several_results():
    body = normalised("""
        model M {
            input x: [4]
            out, h, c = LSTM(8, return_state=True)(x)
            x -> LSTM(8, return_sequences=True)(initial_state=[h, c]) -> seq, h2, c2
            if n > 1 { x -> Dense(n) -> y } else if n == 1 { y = x } else { }
            output y
        }
    """)["model"]["body"]
    assert list(body) == ["inputs", "layers", "chains", "assigns", "ifs", "outputs"]
    lstm = {"call": "LSTM", "args": [8], "kwargs": {"return_state": True}}
    assert body["assigns"] == [
        {"targets": ["out", "h", "c"], "value": {"apply": lstm, "args": [ref("x")], "kwargs": {}}}
    ]
    (chain,) = body["chains"]
    assert (chain["target"], chain["also"]) == ("seq", ["h2", "c2"])
    assert chain["steps"][0]["using"] == {"args": [], "kwargs": {"initial_state": [ref("h"), ref("c")]}}
    (branch,) = body["ifs"]
    assert branch["if"] == op(">", ref("n"), 1)
    assert branch["then"]["chains"][0]["target"] == "y"
    (inner,) = branch["else"]["ifs"]  # `else if`: an else branch holding one if
    assert inner["if"] == op("==", ref("n"), 1) and inner["then"]["assigns"][0]["targets"] == ["y"]
    assert inner["else"] == {"inputs": [], "layers": [], "chains": [], "assigns": [], "ifs": [], "outputs": []}


def test_a_glued_bracket_indexes_and_a_spaced_one_starts_a_statement():
    body = normalised("model M { input x: [4] y = x\n[x, y] -> Add() -> z output z }")["model"]["body"]
    assert body["assigns"][0]["value"] == ref("x") and body["chains"][0]["source"] == ["x", "y"]
    body = normalised("model M { input x: [4] y = x[x, y] output y }")["model"]["body"]
    assert body["assigns"][0]["value"] == {"index": ref("x"), "items": [ref("x"), ref("y")]}


def test_positional_and_keyword_arguments_bind_in_keras_order():
    spec = tfspec.loads(
        'model M { input x: [8, 8, 3] x -> Conv2D(16, (3, 3), strides=2, padding="same") -> y output y }'
    )
    values = spec.model.nodes[0].layer.values
    assert values["filters"] == 16 and values["kernel_size"] == (3, 3)
    assert values["strides"] == 2 and values["padding"] == "same"
    assert spec.model.shapes["y"] == (4, 4, 16)


# Any value the grammar can write survives the trip through text unchanged.
names = st.from_regex(r"[a-z_][a-z0-9_]{0,6}", fullmatch=True).filter(lambda s: s not in {"true", "false"})
scalars = st.one_of(
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12),
    st.booleans(),
    st.none(),
)


def values_tree():
    return st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4),
            st.lists(inner, max_size=4).map(lambda xs: ("tuple", xs)),
            st.dictionaries(names, inner, max_size=3).map(lambda d: ("dict", d)),
        ),
        max_leaves=12,
    )


def write(value) -> str:
    """Spec text of a value (written independently of tfspec's own printers)."""
    if value is None:
        return "None"
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r") + '"'
    if isinstance(value, list):
        return "[" + ", ".join(write(v) for v in value) + "]"
    kind, inner = value
    if kind == "tuple":
        if len(inner) == 1:
            return f"({write(inner[0])},)"
        return "(" + ", ".join(write(v) for v in inner) + ")"
    return "{" + ", ".join(f"{k}: {write(v)}" for k, v in inner.items()) + "}"


def expected(value):
    if isinstance(value, list):
        return [expected(v) for v in value]
    if isinstance(value, tuple):
        kind, inner = value
        if kind == "tuple":
            return {"tuple": [expected(v) for v in inner]}
        return {"dict": {k: expected(v) for k, v in inner.items()}}
    return value


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values_tree())
def test_any_value_survives_the_round_trip_through_spec_text(value):
    got = value_of(write(value))
    want = expected(value)
    assert got == want
    if isinstance(value, float):
        assert isinstance(got, float) and (got == value or math.isclose(got, value))


# -- the train section ------------------------------------------------------------------------------


FULL_TRAIN = """
model M {
    input image: float32[8, 8, 1]
    image -> Flatten() -> Dense(16, activation="relu") -> hidden
    hidden -> Dense(10, activation="softmax") -> digit
    hidden -> Dense(1) -> size
    output digit, size
}

train {
    optimizer    = Adam(learning_rate=ExponentialDecay(1e-3, 1000, 0.9), beta_1=0.85, clipnorm=1.0)
    loss         = { digit: SparseCategoricalCrossentropy(from_logits=false), size: "mse" }
    loss_weights = { digit: 1.0, size: 0.5 }
    metrics      = { digit: [accuracy, SparseTopKCategoricalAccuracy(k=3)], size: [mae] }
    epochs       = 7
    batch        = 16
    validation   = 0.2
    callbacks    = [EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True),
                    CSVLogger("log.csv")]
    data         = npz("train.npz", x="image", y=["digit", "size"], limit=500)
    seed         = 42
    distribute   = mirrored
    precision    = "mixed_bfloat16"
    steps_per_call = 10
    jit_compile  = true
    deterministic = True
}
"""


def test_the_train_section_holds_every_training_setting():
    t = tfspec.loads(FULL_TRAIN).training
    assert t["optimizer"] == {
        "class_name": "Adam",
        "config": {
            "learning_rate": {
                "class_name": "ExponentialDecay",
                "config": {"initial_learning_rate": 1e-3, "decay_steps": 1000, "decay_rate": 0.9},
            },
            "beta_1": 0.85,
            "clipnorm": 1.0,
        },
    }
    assert t["loss"] == {
        "digit": {"class_name": "SparseCategoricalCrossentropy", "config": {"from_logits": False}},
        "size": {"class_name": "MeanSquaredError", "config": {}},
    }
    assert t["loss_weights"] == {"digit": 1.0, "size": 0.5}
    assert t["metrics"] == {
        "digit": [
            {"class_name": "accuracy", "config": {}},
            {"class_name": "SparseTopKCategoricalAccuracy", "config": {"k": 3}},
        ],
        "size": [{"class_name": "mae", "config": {}}],
    }
    assert (t["epochs"], t["batch_size"], t["validation_split"], t["seed"]) == (7, 16, 0.2, 42)
    assert [c["class_name"] for c in t["callbacks"]] == ["EarlyStopping", "CSVLogger"]
    assert t["callbacks"][0]["config"] == {"monitor": "val_loss", "patience": 2, "restore_best_weights": True}
    assert t["data"] == {"source": "npz", "path": "train.npz", "x": "image", "y": ["digit", "size"], "limit": 500}
    assert (t["distribute"], t["precision"]) == ("mirrored", "mixed_bfloat16")
    assert (t["steps_per_call"], t["jit_compile"], t["deterministic"]) == (10, True, True)
    assert t["inputs"] == [{"name": "image", "shape": [8, 8, 1], "dtype": "float32"}]
    assert t["outputs"] == ["digit", "size"]


def test_training_defaults():
    t = tfspec.loads("model M { input x: [4] x -> Dense(1) -> y output y } train { loss = mse }").training
    assert t["optimizer"] == {"class_name": "Adam", "config": {}}
    assert (t["epochs"], t["batch_size"], t["validation_split"], t["validation_data"]) == (5, 32, None, None)
    assert (t["callbacks"], t["data"], t["seed"], t["distribute"], t["precision"]) == ([], None, None, None, None)
    assert (t["metrics"], t["loss_weights"]) == ([], None)


@pytest.mark.parametrize(
    "setting,key,value",
    [
        ("optimizer = sgd", "optimizer", {"class_name": "SGD", "config": {}}),
        ('optimizer = "rmsprop"', "optimizer", {"class_name": "RMSprop", "config": {}}),
        (
            "optimizer = SGD(0.1, 0.9, True)",
            "optimizer",
            {"class_name": "SGD", "config": {"learning_rate": 0.1, "momentum": 0.9, "nesterov": True}},
        ),
        (
            "loss = sparse_categorical_crossentropy",
            "loss",
            {"class_name": "SparseCategoricalCrossentropy", "config": {}},
        ),
        ("batch_size = 8", "batch_size", 8),
        ('validation = npz("val.npz")', "validation_data", {"source": "npz", "path": "val.npz"}),
        ('validation = "val.csv"', "validation_data", {"source": "csv", "path": "val.csv"}),
        ("data = digits(limit=100)", "data", {"source": "digits", "limit": 100}),
        ('data = csv("t.csv", label="y")', "data", {"source": "csv", "path": "t.csv", "label": "y"}),
        ("distribute = none", "distribute", None),
        ("precision = float32", "precision", None),
        ('precision = "mixed_float16"', "precision", "mixed_float16"),
        ("loss_weights = [2.0]", "loss_weights", {"y": 2.0}),
    ],
)
def test_training_setting_forms(setting, key, value):
    settings = setting if setting.startswith("loss =") else "loss = mse " + setting
    text = 'model M { input x: [4] x -> Dense(3, activation="softmax") -> y output y }\ntrain { ' + settings + " }"
    assert tfspec.loads(text).training[key] == value


@pytest.mark.parametrize(
    "schedule",
    [
        "ExponentialDecay(1e-3, 1000, 0.9)",
        "InverseTimeDecay(initial_learning_rate=0.1, decay_steps=10, decay_rate=0.5, staircase=True)",
        "PolynomialDecay(0.1, 100, end_learning_rate=1e-4)",
        "PiecewiseConstantDecay(boundaries=[100, 200], values=[1e-2, 1e-3, 1e-4])",
        "CosineDecay(1e-3, 1000)",
        "CosineDecayRestarts(1e-3, 100)",
    ],
)
def test_a_learning_rate_schedule_is_given_as_the_optimizers_learning_rate(schedule):
    text = (
        "model M { input x: [4] x -> Dense(1) -> y output y }\n"
        f"train {{ loss = mse optimizer = SGD(learning_rate={schedule}) }}"
    )
    lr = tfspec.loads(text).training["optimizer"]["config"]["learning_rate"]
    assert lr["class_name"] == schedule.split("(")[0]


# -- the example specs ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", spec_names())
def test_every_example_spec_loads(name):
    spec = tfspec.load(spec_path(name))
    assert spec.model.outputs and spec.model.nodes
    assert spec.path == spec_path(name)
    with open(spec_path(name), encoding="utf-8") as handle:
        assert tfspec.loads(handle.read()).spec == spec.spec  # load(path) == loads(text)


def test_loads_accepts_bytes_and_a_byte_order_mark():
    text = "model M { input x: [4] x -> Dense(1) -> y output y }"
    assert tfspec.loads(text.encode("utf-8")).spec == tfspec.loads(text).spec
    assert tfspec.loads("\ufeff" + text).spec == tfspec.loads(text).spec


@pytest.mark.parametrize("text", ['a"b', "back\\slash", "line\nbreak", "\u2028x", "\x1b[2J", "é한", "it's", "\t\r"])
def test_show_writes_strings_the_parser_reads_back(text):
    from tfspec.ir.values import show

    assert value_of(show(text)) == text


# -- line breaks ---------------------------------------------------------------------------------
# LF, CRLF and a lone CR all end a line, as they do for Python and for editors: for the grammar,
# for positions, for comments. (fmt: tests/test_fmt.py; diagnostics: tests/test_diagnostics.py.)


def same_spec(a: tfspec.Spec, b: tfspec.Spec) -> None:
    assert a.spec == b.spec
    assert repr(a.model) == repr(b.model)  # nodes, layers, shapes and every span (line, column)
    assert a.training == b.training
    assert tfspec.summary(a).render() == tfspec.summary(b).render()
    for style in allowed_styles(a):
        assert tfspec.generate(a, style) == tfspec.generate(b, style)


@pytest.mark.parametrize("name", spec_names())
@pytest.mark.parametrize("breaks", ["crlf", "cr", "mixed"])
def test_every_kind_of_line_break_gives_the_same_model(name, breaks):
    with open(spec_path(name), encoding="utf-8", newline="") as handle:
        text = handle.read()
    assert "\r" not in text
    other = with_line_breaks(text, breaks, seed=len(name))
    same_spec(tfspec.loads(other, "x.tfs"), tfspec.loads(text, "x.tfs"))
    same_spec(tfspec.loads(other.encode("utf-8"), "x.tfs"), tfspec.loads(text, "x.tfs"))


def test_a_comment_ends_at_a_lone_carriage_return():
    # An editor (and Python) shows the second "line" as code, so tfspec reads it as code.
    text = "model M {\n    input x: [4]\n    x -> Dense(4)  # comment\r      -> Dense(1000000) -> y\n    output y\n}\n"
    spec = tfspec.loads(text)
    assert [n.layer.call.args for n in spec.model.nodes] == [(4,), (1000000,)]
    assert tfspec.summary(spec).total_params == 20 + 4 * 1000000 + 1000000
    second = spec.model.nodes[1]
    assert (second.span.line, second.span.column) == (4, 10)  # the line an editor shows
    same_spec(spec, tfspec.loads(text.replace("\r", "\n")))


@pytest.mark.parametrize("breaks", ["\n", "\r\n", "\r"])
def test_the_grammar_itself_ends_comments_and_strings_at_every_line_break(breaks):
    from tfspec.frontend.parser import parser

    lf = 'model M {\n input x: [4] # c\n x -> Dense(4, name="a") -> y\n output y }\n'
    assert parser().parse(lf.replace("\n", breaks)) == parser().parse(lf)
    with pytest.raises(SpecError) as info:  # a string never runs over a line break, escaped or not
        tfspec.loads(f'model M {{ input x: [4]{breaks} x -> Dense(4, name="a\\{breaks}b") -> y output y }}')
    assert info.value.diagnostics[0].code == "E103"


def test_the_highlighter_ends_comments_at_every_line_break():
    from pygments.token import Comment, Name

    from tfspec.tools.lexer import TfspecLexer

    for breaks in ("\n", "\r\n", "\r"):
        text = f"x -> Dense(4)  # comment{breaks}  -> Dense(1000000) -> y{breaks}"
        tokens = [(t, v) for _, t, v in TfspecLexer().get_tokens_unprocessed(text)]
        assert (Comment.Single, "# comment") in tokens, (breaks, tokens)
        assert [v for t, v in tokens if t is Name.Builtin] == ["Dense", "Dense"], (breaks, tokens)


@pytest.mark.parametrize(
    "text,hint",
    [
        ("model M { input x: [4] y = x [0] output y }", "an index is glued to what it indexes"),
        ("block B(n) { input x\n  y = x [:, 0]\n  output y }", "an index is glued to what it indexes"),
        ("model M { input x: [4] if x > 0 { y = x [0] } }", "an index is glued to what it indexes"),
        ("model M { input x: [4] if x > 0 { x -> Dense(1) -> y } else\n  output y }", "`else` is followed by a branch"),
        ("block B() { input x if x > 0 { y = x } else }", "`else` is followed by a branch"),
        ("model M { input x: [4] if x > 0: x -> Dense(1) -> y }", "the statements of an `if` go in braces"),
        ("model M { input x: [4] h, c -> Dense(1) -> y }", "names on the left of '=' are an assignment"),
        ("model M { input x: [4] x -> LSTM(8, return_state=True) -> out, h, }", "none after the last"),
        ("block B(a, b, c) { input x y = 0 < x < 1 output y }", "comparisons do not chain"),
        ("model M { input x: [4] if x { x Dense(10) -> y } }", "a chain goes from a tensor through layers"),
    ],
)
def test_typical_mistakes_of_expressions_assignments_and_ifs_get_a_hint(text, hint):
    """The syntax-error catalogue (parser.EXAMPLES) matches a mistake by the parser state, which
    also depends on where the statement stands: a model, a block, a branch of an `if`."""
    with pytest.raises(SpecError) as info:
        tfspec.loads(text)
    (d,) = info.value.diagnostics
    assert d.code == "E100" and d.hint and hint in d.hint, d


def test_expected_tokens_are_named_as_written():
    from tfspec.frontend.parser import parser, token_word

    with pytest.raises(SpecError) as info:
        tfspec.loads("model M { input x: [4] if x { } else output x }")
    assert "expected 'if' or '{'" in info.value.diagnostics[0].message
    # a literal that Lark names itself (`__ANON_0`) is shown as it is written
    names = {t.pattern.value: t.name for t in parser().terminals}
    assert [token_word(names[text]) for text in ("//", "...", "true", "not")] == ["'//'", "'...'", "'true'", "'not'"]


def test_errors_whose_expected_tokens_differ_from_every_example_still_get_a_diagnostic():
    """Found by the grammar fuzzer: Lark 1.3.1's match_examples raised a TypeError here."""
    # (`0 ()` applies 0 since the language has calls of values: a `:` there is the error now)
    for text in ("modelx{}train{x=[[],0#,x\n:]}", "modelx{}train{x=[[],0#,x\r:]}"):
        with pytest.raises(SpecError) as caught:
            tfspec.loads(text, "f.tfs")
        (d,) = caught.value.diagnostics
        assert (d.code, d.line, d.column) == ("E100", 2, 1) and "expected ',' or ']'" in d.message


# -- the fast parser: the same spec, spans and diagnostics as Lark and the normaliser ---------------
# tfspec.frontend.fast parses most texts without Lark (five times faster on a megabyte). It must
# give exactly what Lark's tree and the normaliser give, or step aside (None): it is compared with
# them here on the example specs, on texts generated from every rule of the grammar (tokens glued
# together or spaced, with comments), on mutated specs, and on syntax errors after long texts. Where
# Lark's contextual lexer reads a word or a `[` by the parser state (a keyword or a name, an index or
# a list), the fast parser reads it the same way or steps aside: those corners have tests of their own.


def _slow(text: str):
    try:
        spec, spans = normalise(parse(text, "<t>"), "<t>", text)
    except SpecError as exc:
        return ("error", [(d.code, d.message, d.span, d.hint) for d in exc.diagnostics])
    return ("ok", spec, spans)


def _fast(text: str):
    from tfspec.frontend.fast import parse_fast

    try:
        found = parse_fast(text, "<t>")
    except SpecError as exc:
        return ("error", [(d.code, d.message, d.span, d.hint) for d in exc.diagnostics])
    return None if found is None else ("ok", *found)


def assert_fast_agrees(text: str) -> str:
    """'same' when the fast parser gives what Lark and the normaliser give, 'unsure' when it
    steps aside (then the text must be one Lark refuses, unless `lenient`)."""
    import json

    fast = _fast(text)
    if fast is None:
        return "unsure"
    slow = _slow(text)
    assert fast[0] == slow[0], (text, fast[:1], slow[1] if slow[0] == "error" else "")
    if fast[0] == "error":
        assert fast[1] == slow[1], text
        return "same"
    assert json.dumps(fast[1]) == json.dumps(slow[1]), text  # equal, keys in the same order
    fast_spans, slow_spans = fast[2], slow[2]
    assert set(fast_spans) == set(slow_spans), text
    assert {k: fast_spans[k] for k in slow_spans} == slow_spans, text
    return "same"


WORDS = ["x", "y", "t0", "Dense", "Add", "units", "_p", "model", "block", "train", "input", "output", "layer"]
WORDS += ["add_loss"]
WORDS += ["True", "true", "False", "false", "None", "float32", "M", "inputs", "modelx", "Nonex", "shape", "iff"]
NUMBERS = ["0", "1", "4", "-1", "+2", "007", "1.5", "-0.5", "1.", ".5", "1e3", "1E-3", "+1.5e+2", "2e5", "-.25"]
STRINGS = ['"s"', "'t'", '""', '"a b"', r'"a\"b"', r"'\n'", r'"\q"', r'"\x41"', r'"\\"', '"é"', '"#"', '"->"']
# Words that are keywords in some places and names in others (see tfspec.frontend.fast).
KEYWORDS = ["if", "else", "and", "or", "not"]
GLUED = "\x00"  # a token that starts with it is written glued to the one before: `x[0]`
SPACED = "\x01"  # ... or after a line break: a statement that opens a list is not an index
COMPARE = ["==", "!=", "<", "<=", ">", ">="]


def random_tokens(rng, corners: bool = False) -> list:
    """The tokens of a random text of the grammar: every rule, keywords where names go, the
    operators at every level of precedence, nested. With `corners`, also the words of KEYWORDS
    where names go and glued lists where statements start: texts where Lark's contextual
    lexer reads a keyword, a name, an index or a list depending on the state."""
    words = WORDS + KEYWORDS * 2 if corners else WORDS
    settings = ["epochs", "loss", "batch", "optimizer", "model", "True"]
    settings += KEYWORDS + ["input", "output", "layer", "add_loss"] if corners else []

    def name(any_word=True):
        return rng.choice(words if any_word else words[:7])

    def listed(items, open_, close, least=0):
        out = [open_]
        n = rng.randint(least, 3)
        for i in range(n):
            out += items()
            if i < n - 1 or rng.random() < 0.3:
                out.append(",")
        return out + [close]

    def constant():
        return [rng.choice(rng.choice([NUMBERS, STRINGS, ["True", "true", "False", "false", "None"], words]))]

    def value(depth, level=0):
        """An expression of the grammar at `level` of precedence or tighter: 0 `or`, 1 `and`,
        2 `not`, 3 a comparison, 4 `+ -`, 5 `* / // %`, 6 unary `-`, 7 postfix, 8 an atom."""
        if depth > 3:
            return constant()
        k = rng.random()
        if k < 0.3:
            return atom(depth)
        deeper = depth + 1
        if level <= 0 and k < 0.35:
            return value(deeper, 0) + ["or"] + value(deeper, 1)
        if level <= 1 and k < 0.4:
            return value(deeper, 1) + ["and"] + value(deeper, 2)
        if level <= 2 and k < 0.44:
            return ["not"] + value(deeper, 2)
        if level <= 3 and k < 0.5:
            return value(deeper, 4) + [rng.choice(COMPARE)] + value(deeper, 4)
        if level <= 4 and k < 0.56:
            return value(deeper, 4) + [rng.choice("+-")] + value(deeper, 5)
        if level <= 5 and k < 0.62:
            return value(deeper, 5) + [rng.choice(["*", "/", "//", "%"])] + value(deeper, 6)
        if level <= 6 and k < 0.66:
            return ["-"] + value(deeper, 6)
        if level <= 7 and k < 0.8:
            target = value(deeper, 7)
            j = rng.random()
            if j < 0.45:
                if target[-1][-1] not in "])\"'" and not target[-1][-1].isalnum():
                    target = ["("] + target + [")"]  # `1.[0]`, `{}[0]`: a list after them, not an index
                opener = "[" if rng.random() < 0.05 else GLUED + "["  # after a space: a list, not an index
                return target + listed(lambda: subscript(deeper), opener, "]")
            if j < 0.7:
                return target + [".", rng.choice(words + KEYWORDS)]  # any word after "."
            return target + listed(lambda: argument(deeper), "(", ")")
        return atom(depth)

    def subscript(depth):
        k = rng.random()
        if k < 0.6:
            return value(depth)
        if k < 0.7:
            return ["..."]
        out = (value(depth) if rng.random() < 0.5 else []) + [":"]
        out += value(depth) if rng.random() < 0.5 else []
        if rng.random() < 0.5:
            out += [":"] + (value(depth) if rng.random() < 0.5 else [])
        return out

    def atom(depth):
        k = rng.random()
        if k < 0.45:
            return constant()
        if k < 0.6:
            return call(depth)
        if k < 0.7:
            return listed(lambda: value(depth + 1), "[", "]")
        if k < 0.78:
            return ["("] + value(depth + 1) + [")"]
        if k < 0.88:
            n = rng.choice([0, 1, 2, 3])
            if n == 1:
                return ["("] + value(depth + 1) + [",", ")"]
            return listed(lambda: value(depth + 1), "(", ")", 2) if n else ["(", ")"]
        return listed(lambda: [rng.choice([name(), rng.choice(STRINGS), "k"]), ":"] + value(depth + 1), "{", "}")

    def argument(depth):
        if rng.random() < 0.4:
            return [rng.choice(["units", "rate", "name", "k", "model"] + KEYWORDS[:2]), "="] + value(depth + 1)
        return value(depth + 1)

    def call(depth=0):
        return [name(rng.random() < 0.3)] + listed(lambda: argument(depth), "(", ")")

    def statement(depth):
        k = rng.random()
        if k < 0.1:
            out = ["input", name()]
            if rng.random() < 0.7:
                out += [":"] + ([name()] if rng.random() < 0.6 else [])
                out += listed(lambda: [rng.choice(["4", "None", "28", "-1", "+3", "0", "1e5"])], "[", "]")
            return out
        if k < 0.18:
            out = ["output", name(False)]
            for _ in range(rng.randint(0, 2)):
                out += [",", name()]
            return out
        if k < 0.25:
            return ["layer", name(), "="] + call()
        if k < 0.28:  # `add_loss kl, l1`
            out = ["add_loss", name(False)]
            for _ in range(rng.randint(0, 2)):
                out += [",", name()]
            return out
        if k < 0.4:
            out = [name(False) if rng.random() < 0.8 else rng.choice(["True", "model"])]
            for _ in range(rng.choice([0, 0, 1, 2])):
                out += [",", name()]
            return out + ["="] + value(0)
        if k < 0.5 and depth < 3:
            out = ["if"] + value(1) + body(depth + 1)
            k = rng.random()
            if k < 0.3:
                out += ["else"] + body(depth + 1)
            elif k < 0.45:
                out += ["else"] + statement_if(depth + 1)
            return out
        if rng.random() < 0.7:
            out = [rng.choice(words[:6] + ["model", "True"])]
        else:
            out = listed(lambda: [name()], "[", "]", 1)
            out[0] = "[" if corners else SPACED + "["  # a list glued to the statement before: a corner
        for _ in range(rng.randint(1, 4)):
            out.append("->")
            if rng.random() < 0.7:
                out += call()
                if rng.random() < 0.15:
                    out += listed(lambda: argument(0), "(", ")")
                if rng.random() < 0.2:
                    out += ["*", rng.choice(["2", "0", "1001", "+3", "-1", "2e5", "1E3", "2.5", "3e+1"])]
            else:
                out.append(name())
        if rng.random() < 0.3 and out[-2] == "->":  # `-> out, h, c`
            for _ in range(rng.randint(1, 2)):
                out += [",", name()]
        return out

    def statement_if(depth):
        out = ["if"] + value(1) + body(depth)
        if rng.random() < 0.3:
            out += ["else"] + body(depth)
        return out

    def body(depth=0):
        out = ["{"]
        for _ in range(rng.randint(0, 4 - depth)):
            out += statement(depth)
        return out + ["}"]

    def item():
        k = rng.random()
        if k < 0.45:
            return ["model", name()] + body()
        if k < 0.8:
            params = listed(lambda: [name()] + (["="] + value(1) if rng.random() < 0.4 else []), "(", ")")
            return ["block", name()] + params + body()
        out = ["train", "{"]
        for _ in range(rng.randint(0, 4)):
            out += [rng.choice(settings), "="] + value(1)
        return out + ["}"]

    out = []
    for _ in range(rng.randint(1, 4)):
        out += item()
    return out


def joined(tokens: list, separators: list, rng) -> str:
    """The tokens with a separator drawn from `separators` after each (GLUED, SPACED: see above)."""
    out = []
    for token in tokens:
        if token[0] == GLUED:
            if out:
                out[-1] = ""
            token = token[1:]
        elif token[0] == SPACED:
            if out and not out[-1].strip(" "):
                out[-1] = "\n"
            token = token[1:]
        out += [token, rng.choice(separators)]
    return "".join(out)


def random_text(rng, glued: bool, corners: bool = False) -> str:
    """random_tokens joined by whitespace and comments, or glued together where they may be."""
    separators = ["", "", " ", "\n"] if glued else [" ", " ", "\n", "\t", "  ", " # c -> ( [ {\n", "\f", ""]
    return joined(random_tokens(rng, corners), separators, rng)


def test_the_fast_parser_knows_this_grammar():
    from tfspec.frontend import fast

    assert fast.grammar_digest() == fast.GRAMMAR_SHA256, (
        "grammar/tfspec.lark changed: bring tfspec/frontend/fast.py up to date with it, then its GRAMMAR_SHA256"
    )
    assert fast.enabled()


@pytest.mark.parametrize("name", spec_names())
def test_the_fast_parser_agrees_on_every_example_spec(name):
    with open(spec_path(name), encoding="utf-8") as handle:
        assert assert_fast_agrees(handle.read()) == "same"


@pytest.mark.parametrize("glued", [False, True], ids=["spaced", "glued"])
def test_the_fast_parser_agrees_on_generated_texts(glued):
    import random

    seen = {"same": 0, "unsure": 0}
    for seed in range(1500):
        text = random_text(random.Random(seed), glued)
        outcome = assert_fast_agrees(text)
        seen[outcome] += 1
        if outcome == "unsure":  # only texts that Lark refuses (or that nest too deep)
            assert _slow(text)[0] == "error", text
    assert seen["same"] > 300, seen


@pytest.mark.parametrize("glued", [False, True], ids=["spaced", "glued"])
def test_the_fast_parser_agrees_or_steps_aside_where_a_keyword_may_be_a_name(glued):
    """With `if`, `else`, `and`, `or`, `not` where names go and lists glued to the statement
    before: the words and brackets whose meaning Lark's shared states decide. The fast parser
    gives Lark's answer, or steps aside."""
    import random

    seen = {"same": 0, "unsure": 0}
    for seed in range(500):
        seen[assert_fast_agrees(random_text(random.Random(seed), glued, corners=True))] += 1
    assert seen["same"] > 80, seen


def test_the_fast_parser_agrees_on_mutated_specs():
    import random

    from .fuzz import mutations
    from .helpers import SPECS

    rng = random.Random(5)
    texts = [open(p, encoding="utf-8").read() for p in SPECS]
    seen = {"same": 0, "unsure": 0}
    for _ in range(600):
        text = rng.choice(texts)
        for _ in range(rng.randint(1, 3)):
            if text:
                _, text = mutations(rng, text)
            if isinstance(text, bytes):
                text = text.decode("utf-8", "replace")
        text = text.replace("\r", "\n").replace("\x00", "")
        seen[assert_fast_agrees(text)] += 1
    assert seen["same"] > 100, seen


@pytest.mark.parametrize(
    "text",
    [
        "modelM { input x: [4] x -> Dense(4) -> y output y }",  # `modelM` is `model M` to Lark
        "blockB(u) { input x x -> Dense(u) -> y output y } model_M { input x: [4] x -> B(1) -> y output y }",
        "model M { input x: [4] x -> Dense(4) * 2e1 -> y output y }",  # `* 2` and a chain `e1 -> y`
        "model M { input x: [4] x -> Dense(4) * 2e1x -> y output y }",
        "model M { input x: [4] x -> Dense(4, name='\\q', name=\"a\", units=1, 3) -> y output y }",
        "train { epochs = 1 epochs = '\\q' } model M { } model N { x -> Dense(1, 1, u=1, u=[1]) -> y }",
        "model M { y = a * 2e5 z = a*2e5 output y }",  # after a `*` of a value, a FLOAT
        "model M { x -> D() * -2 -> y x -> D() *+3 -> z }",
        "model M { y = a -1 z = a-1 w = a - -1 v = a--1 u = -1 t = - 1 s = -.5e3 r = +1 q = 1..x }",
        "model M { y = -x[0] z = -1[0] w = 1e5[0] v = 'a'[0] u = x[0][1] t = (x)[0] s = [1][0] }",
        "model M { y = x\n[x, y] -> Add() -> z y = {a: 1}\n[a] -> Add() -> b }",  # lists, not indexes
        "model M { y = x[] z = x[::] w = x[..., :1:, a:] v = x[1:2:3,] }",
        "model M { y = a==-1 z = a<=b w = a!=b v = a>=-.5 u = not(a)<b }",
        "model M { x -> Dense(if) -> y x -> Dense(if=1, and=2, input=3, else=4) -> z }",
        "model M { y = x.if z = x.True w = {not: 1, if: 2, True: 3} v = and w = or or else }",
        'model M { y = True(1).x z = None[0] w = f()() v = (a)(b) u = "s".x }',
        "model M { if a {} else if b {} else {}\nelse_x -> D() -> y if c { if d { } else { } } }",
        "model M { True, None = x y = a if b { } z = a input q q -> D() -> r }",
        "model M { x -> L()(a, b=1, 2, b=3) -> y, h x -> D(), a x -> D()() * 2 -> z }",
        "train { x = 1 not = 2 else = 3 }",
        "block B(if, and=1 + 2, b=-c) { y = a * b }",
    ],
)
def test_the_fast_parser_reads_what_the_contextual_lexer_reads(text):
    assert assert_fast_agrees(text) == "same"


def test_a_number_with_an_exponent_after_a_star_is_a_count_in_a_step_and_a_float_in_a_value():
    """After a step's `*` Lark reads only INT (`* 1e1` is the count 1 and a chain from `e1`);
    after the `*` of a product, one FLOAT. The fast parser splits every such number once, in
    its tokenizer, and joins it back where a value is read: the same specs, spans and errors
    as Lark's, many splits in one text included (a split once shifted the token list, and a
    section after several splits was lost)."""
    steps = "x -> D() * 1e1 -> y x -> D() *-1e1 -> z x -> D()(a) * 2E3x -> w x -> D() * +1e1 -> v "
    values = "a = x * 1e1 b = x * -1e1 c = x *1e1 d = 2*1e1 e = x * - 1e1 f = x *+1E2 g = x * 1e1 * 2e2 "
    values += "h = f(x * 1e1, k=2*3e4)[1 * 1e1 : 2*2e2] i = x * 1e1[0] j = x * 1e1abc -> D() -> k "
    texts = [
        "model M { input x: [4] " + steps + "} train { }",
        "model M { " + values + "}",
        "block B(u=2 * 1e1, v=[1 * 2e2]) { " + values + steps + "} train { epochs = 2 * 1e1 }",
        "model M { y = x * # c\n 1e1 z = x * -1e1_2 -> D() -> w }",
        "model M { " + (steps + values) * 20 + "}",
    ]
    for text in texts:
        assert assert_fast_agrees(text) == "same", text
    spec = normalise(parse(texts[1], "<t>"), "<t>", texts[1])[0]["model"]["body"]
    assigned = {a["targets"][0]: a["value"] for a in spec["assigns"]}
    assert assigned["a"] == {"op": "*", "args": [ref("x"), 10.0]}
    assert assigned["b"]["args"][1] == -10.0 and assigned["d"] == {"op": "*", "args": [2, 10.0]}
    assert assigned["e"]["args"][1] == {"op": "neg", "args": [10.0]}
    steps_spec = normalise(parse(texts[0], "<t>"), "<t>", texts[0])[0]["model"]["body"]["chains"]
    assert [c["source"] for c in steps_spec] == [["x"], ["e1"], ["x"], ["e1"], ["x"], ["E3x"], ["x"], ["e1"]]
    # syntax errors after a split are worded as on Lark's road
    for tail in ["", " -> ", " * 1e+1 -> y }", " y = x * 1e1 *", " y = x * 1e1 ,", " x -> D() * 1e1 ->"]:
        text = "model M { input x: [4] " + steps + values + tail
        assert _new_error(text) == _old_error(text), text


@pytest.mark.parametrize(
    "text,outcome",
    [
        ("model M { and -> Dense(1) -> y }", "ok"),  # a name to Lark at the start of a body...
        ("model M { y = x\nand -> Dense(1) -> z }", "error"),  # ... and `y = x and` after a value
        ("model M { x -> Dense(1) -> y\nnot -> Dense(1) -> z }", "ok"),
        ("model M { if a {} else {} else -> Dense(1) -> y }", "error"),  # `else` after an else branch
        ("model M { y = x + not }", "ok"),  # `not` where `not` may not start a value: a name
        ("model M { output a[a, b] -> Add() -> c }", "ok"),  # `[` after `output a`: a list
        ("model M { x -> Dense(4)[x, x] -> Add() -> y }", "error"),  # ... after a call: an index
        ("model M { x -> D()(a)[b, c] -> Add() -> z }", "ok"),
        ("train { if = 1 }", "ok"),
        ("train { a = 1 if = 2 }", "error"),  # after a value, `if` starts a statement to Lark
        ("train { a = 1 input = 2 }", "error"),
    ],
)
def test_the_fast_parser_steps_aside_where_lark_s_shared_states_decide(text, outcome):
    """An LALR state is shared by every place that reaches it, and Lark's contextual lexer
    reads a word or a `[` by what may follow in any of them: the fast parser leaves those
    texts to Lark, and the loader's answer is Lark's."""
    from tfspec.frontend.fast import attempt
    from tfspec.frontend.parser import parse_slow

    parsed, shorter = attempt(text, "<t>")
    assert parsed is None
    slow = _slow(text)
    assert slow[0] == outcome, slow
    if outcome == "ok":
        assert parse_slow(text, "<t>", shorter) == slow[1:]
    else:
        assert _new_error(text) == _old_error(text)


@pytest.mark.parametrize("levels", [61, 62, 63, 64])
@pytest.mark.parametrize("inner", ["[a, b] -> Add() -> c", "input q: [4]", "y = x[(0)]", "if a {}"])
def test_the_fast_parser_refuses_no_nesting_that_lark_s_road_refuses(levels, inner):
    """Braces of `if` branches count towards the limit of nested brackets (E104)."""
    text = "model M { " + "if a { " * levels + inner + " }" * levels + " }"
    outcome = assert_fast_agrees(text)
    if levels <= 61:
        assert outcome == "same"
    if levels >= 63:  # 65 brackets deep: E104 on Lark's road
        assert outcome == "unsure" and _slow(text)[1][0][0] == "E104"


def _old_error(text: str) -> str:
    try:
        normalise(parse(text, "<t>"), "<t>", text)
    except SpecError as exc:
        return exc.render()
    return "ok"


def _new_error(text: str) -> str:
    from tfspec.frontend.fast import attempt
    from tfspec.frontend.parser import parse_slow

    try:
        parsed, shorter = attempt(text, "<t>")
        if parsed is None:
            parse_slow(text, "<t>", shorter)
    except SpecError as exc:
        return exc.render()
    return "ok"


def test_syntax_errors_are_found_on_the_shortened_text_as_on_the_whole_one():
    """When the fast parser is unsure, Lark reads the text with the complete statements, steps
    and listed values before the failure blanked out (fast.shorten): the diagnostic must be the
    one Lark gives on the whole text, for errors after long texts of every kind."""
    import random

    from .fuzz import mutations

    head = "model M {\n  input x: [4]\n" + "".join(f"  x -> Dense(4) -> Dropout(0.1) -> t{i}\n" for i in range(6))
    heads = [
        head,
        head + "  x" + " -> Dense(4)" * 7,
        head + "  x -> Dense([" + ", ".join(str(i) for i in range(7)),
        "block B() { input x x -> Dense(1) -> y output y }\n" * 5 + head + "  x" + " -> Dense(4)" * 7,
        head + "  output t0\n}\ntrain {\n" + "  epochs = 5\n" * 6 + "  loss = [1, 2, 3, 4, 5, 6",
        "model M { input x: [4] x" + " -> Dense(4)" * 9,
        # the statements of `if` branches, nested, and the values of an expression
        head + "  if a {\n" + "    y = x * 2\n" * 6 + "  } else if b {\n    if c {\n" + "    x -> D() -> z, h\n" * 6,
        head + "  if a { y = 1 } else {\n" + "    z = f(1)(x)[0]\n" * 6 + "    x" + " -> Dense(4)(x)" * 7,
        head + "  y = f(" + ", ".join(f"x[{i}] - 1" for i in range(7)),
        head + "  if (a" + " and b" * 7,
        head + "  y = x" + "[1, 2, 3]" * 5 + "[1:2, ..., 4" + ", a:b" * 5,
    ]
    tails = ["?", "->", "-> )", ", ,", "}", "", "-> y ->", "* 2.5", "(", "x y z", "-> Dense(4,, 3)", '"abc', "} }"]
    tails += ["else", "= 1", "< 1 < 2", "[0]", "and", ". 5", "if {", "} else", ", -> y"]
    shortened = 0
    for head in heads:
        for tail in tails:
            text = head + " " + tail + "\n"
            assert _new_error(text) == _old_error(text), text
            from tfspec.frontend.fast import attempt

            shortened += attempt(text, "<t>")[1] not in (None, text)
    assert shortened > 80
    rng = random.Random(11)
    for seed in range(400):
        tokens = random_tokens(random.Random(seed), corners=seed % 2 == 1) + random_tokens(random.Random(seed + 1))
        text = joined(tokens, [" ", " ", "\n", ""] if seed % 4 >= 2 else [" "], rng)
        for _ in range(rng.randint(1, 2)):
            if text:
                _, text = mutations(rng, text)
            if isinstance(text, bytes):
                text = text.decode("utf-8", "replace")
        text = text.replace("\r", "\n").replace("\x00", "")
        assert _new_error(text) == _old_error(text), text
