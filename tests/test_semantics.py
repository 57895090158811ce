"""The checks a spec must pass, one by one, each with its code and its position.

E1xx  syntax             E105 duplicate argument, E106 bad escape, E107 argument order
E2xx  schema             E201 unknown setting, E202 wrong type/value, E203 out of range
E3xx  names and graph    E301 undefined, E302 duplicate, E303 cycle, E304 unused,
                         E305 no output, E306 unnamed result, E307 bad name, E308 missing part
E4xx  layers/arguments   E401 unknown layer, E402 unknown argument, E403 missing argument,
                         E404 wrong type, E405 out of range, E406 too many positional, E407 arity
E5xx  static shapes      E501 shape error, E502 shared layer on another shape
E6xx  training           E601 unknown optimizer/loss/metric/..., E602 losses vs outputs
"""

from __future__ import annotations

import keyword

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tfspec
from tfspec import SpecError


def diagnostics(text: str):
    with pytest.raises(SpecError) as info:
        tfspec.loads(text)
    return info.value.diagnostics


def codes(text: str) -> list[str]:
    return [d.code for d in diagnostics(text)]


def only(text: str):
    """The one diagnostic a spec produces."""
    found = diagnostics(text)
    assert len(found) == 1, [f"{d.code} {d.message}" for d in found]
    return found[0]


def at(text: str, needle: str, nth: int = 0) -> tuple[int, int]:
    """(line, column), 1-based, of the nth occurrence of `needle` in `text`."""
    index = -1
    for _ in range(nth + 1):
        index = text.index(needle, index + 1)
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def model(body: str, shape: str = "[4]") -> str:
    return f"model M {{\n    input x: {shape}\n{body}\n}}\n"


# -- E301 undefined names ------------------------------------------------------------------------


def test_an_undefined_source_tensor_with_a_suggestion():
    text = model("    x -> Dense(4) -> hidden\n    hiden -> Dense(2) -> y\n    output y")
    d = only(text)
    assert (d.code, (d.line, d.column)) == ("E301", at(text, "hiden"))
    assert d.message == "'hiden' is not defined" and d.hint == "did you mean 'hidden'?"


def test_an_undefined_tensor_in_a_merge_list():
    text = "model M { input a: [4] input bee: [4] [a, be] -> Add() -> c output c }"
    d = only(text)
    assert (d.code, d.column, d.hint) == ("E301", at(text, "be]")[1], "did you mean 'bee'?")


def test_an_undefined_output():
    text = model("    x -> Dense(2) -> probs\n    output prob")
    d = only(text)
    assert (d.code, (d.line, d.column), d.hint) == ("E301", at(text, "prob\n"), "did you mean 'probs'?")


def test_an_output_must_name_a_tensor_not_a_layer():
    d = only("model M { input x: [4] layer d = Dense(3) x -> d -> y output d }")
    assert d.code == "E301" and d.hint == "outputs name tensors, not layers"


def test_a_bare_name_in_an_argument_must_be_a_block_parameter():
    text = model("    x -> Dense(3, activation=relu) -> y\n    output y")
    d = only(text)
    assert (d.code, (d.line, d.column)) == ("E301", at(text, "relu"))
    assert d.hint == 'strings are quoted: "relu"'


def test_a_misspelt_block_parameter_inside_the_block():
    d = only(
        "block B(units) { input x x -> Dense(unit) -> y output y }\nmodel M { input x: [4] x -> B(3) -> y output y }"
    )
    assert (d.code, d.hint) == ("E301", "did you mean 'units'?")


@pytest.mark.parametrize("params,name", [("n=foo", "foo"), ("a, b=a", "a"), ("n=[1, L2(l2=bar)]", "bar")])
def test_a_bare_name_in_a_block_parameter_default(params, name):
    text = f"block B({params}) {{ input x x -> Dense(3) -> y output y }}\nmodel M {{ input x: [4] x -> B(1) -> y output y }}"
    d = only(text)
    assert (d.code, d.message, (d.line, d.column)) == (
        "E301",
        f"{name!r} is not defined",
        at(text, name, 1 if params.startswith("a,") else 0),
    )


def test_a_step_naming_no_layer():
    d = only(model("    layer enc = Dense(3)\n    x -> encc -> y\n    output y"))
    assert (d.code, d.message, d.hint) == ("E301", "'encc' is not a layer defined here", "did you mean 'enc'?")


# -- E302 duplicates ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body,needle,nth",
    [
        ("    x -> Dense(3) -> y\n    y -> Dense(3) -> z\n    x -> Dense(2) -> z\n    output z", "z", 1),
        ("    input x: [4]\n    x -> Dense(3) -> y\n    output y", "x: [4]", 1),
        ("    layer y = Dense(3)\n    x -> Dense(3) -> y\n    output y", "y\n", 0),
        ("    x -> Dense(3) -> y\n    output y, y", "y", 2),
    ],
)
def test_a_name_defined_twice(body, needle, nth):
    text = model(body)
    found = diagnostics(text)
    assert "E302" in [d.code for d in found]
    d = next(d for d in found if d.code == "E302")
    assert (d.line, d.column) == at(text, needle, nth)


def test_the_hint_for_a_duplicate_points_at_the_first_definition():
    d = next(
        d
        for d in diagnostics(model("    x -> Dense(3) -> y\n    x -> Dense(2) -> y\n    output y"))
        if d.code == "E302"
    )
    assert d.message == "'y' is defined twice" and d.hint == "the first definition (tensor) is at line 3"


@pytest.mark.parametrize(
    "text,message",
    [
        (
            "block B() { input x x -> Dense(1) -> y output y }\nblock B() { input x x -> Dense(2) -> y output y }\n"
            "model M { input x: [4] x -> B() -> y output y }",
            "block 'B' is defined twice",
        ),
        (
            "block Dense(n) { input x x -> Dropout(0.1) -> y output y }\n"
            "model M { input x: [4] x -> Flatten() -> y output y }",
            "block 'Dense' has the name of a Keras layer",
        ),
        (
            "block B(n, n) { input x x -> Dense(n) -> y output y }\nmodel M { input x: [4] x -> B(1, 2) -> y output y }",
            "parameter 'n' is listed twice",
        ),
        (
            "block B(x) { input x x -> Dense(2) -> y output y }\nmodel M { input x: [4] x -> B(1) -> y output y }",
            "'x' is already a parameter of this block",
        ),
        (
            "model M { input x: [4] x -> Dense(1) -> y output y }\nmodel N { input x: [4] x -> Dense(1) -> y output y }",
            "a spec holds one model; this is a second one",
        ),
        (
            "model M { input x: [4] x -> Dense(1) -> y output y }\ntrain { loss = mse }\ntrain { epochs = 1 }",
            "a spec holds one train section; this is a second one",
        ),
        (
            "model M { input x: [4] x -> Dense(1) -> y output y }\ntrain { loss = mse epochs = 1 epochs = 2 }",
            "epochs is set twice",
        ),
        (
            "model M { input x: [4] x -> Dense(1) -> y output y }\ntrain { loss = mse batch = 1 batch_size = 2 }",
            "give either batch or batch_size, not both",
        ),
    ],
)
def test_other_duplicates(text, message):
    assert ("E302", message) in [(d.code, d.message) for d in diagnostics(text)]


@pytest.mark.parametrize(
    "text,message,hint",
    [
        (
            'model M { input x: [4] x -> Dense(3, name="a") -> Dense(3, name="a") -> y output y }',
            "layer name 'a' is used twice in the model",
            "Keras needs unique layer names; the layer named 'a' is at line 1, column 29",
        ),
        (
            'model M { input x: [4] x -> Dense(3, name="x") -> y output y }',
            "layer name 'x' is used twice in the model",
            "Keras needs unique layer names; the input named 'x' is at line 1, column 17",
        ),
        (
            'block B() { input x x -> Dense(4, name="head") -> y output y }\n'
            "model M { input x: [4] x -> B() -> B() -> y output y }",
            "layer name 'head' is used twice in the model (in block B used at line 2)",
            "Keras needs unique layer names; the layer named 'head' is at line 1, column 26",
        ),
    ],
)
def test_a_keras_layer_name_given_twice(text, message, hint):
    """Keras refuses a model whose layers share a name; say so before it is built."""
    d = only(text)
    assert (d.code, d.message, d.hint) == ("E302", message, hint)


def test_layer_names_and_declared_layer_names_are_different_things():
    # `layer a = ...` names the layer in the spec; `name="a"` is the Keras layer's name
    tfspec.loads('model M { input x: [4] layer a = Dense(3) x -> Dense(3, name="a") -> a -> y output y }')


# -- E303 cycles --------------------------------------------------------------------------------------


def test_tensors_that_depend_on_each_other():
    text = model("    [x, b] -> Add() -> a\n    a -> Dense(4) -> b\n    b -> Dense(2) -> y\n    output y")
    found = diagnostics(text)
    (d,) = [d for d in found if d.code == "E303"]
    assert d.message == "these tensors depend on each other in a cycle: a, b, y"
    assert d.hint == "a model is a directed acyclic graph"
    assert (d.line, d.column) == at(text, "[x, b]")


def test_blocks_that_use_each_other():
    text = (
        "block A(n) { input x x -> C(n) -> y output y }\n"
        "block C(n) { input x x -> A(n) -> y output y }\n"
        "model M { input x: [4] x -> A(3) -> y output y }"
    )
    d = next(d for d in diagnostics(text) if d.code == "E303")
    assert d.message == "blocks use each other in a cycle: A -> C -> A"


def test_a_block_that_uses_itself():
    text = "block A(n) { input x x -> A(n) -> y output y }\nmodel M { input x: [4] x -> A(3) -> y output y }"
    assert "E303" in codes(text)


# -- E304 unused ----------------------------------------------------------------------------------------


def test_an_unused_input():
    text = "model M {\n    input x: [4]\n    input extra: [4]\n    x -> Dense(2) -> y\n    output y\n}"
    d = only(text)
    assert (d.code, d.message, (d.line, d.column)) == ("E304", "input 'extra' is never used", at(text, "extra"))


def test_an_unused_tensor_and_an_unused_layer():
    text = model("    layer spare = Dense(2)\n    x -> Dense(3) -> y\n    x -> Dense(2) -> dangling\n    output y")
    assert [(d.code, d.message) for d in diagnostics(text)] == [
        ("E304", "layer 'spare' is never used"),
        ("E304", "tensor 'dangling' is never used"),
    ]


def test_unused_names_are_not_reported_while_worse_errors_stand():
    text = model("    input extra: [4]\n    x -> Dens(2) -> y\n    output y")
    assert codes(text) == ["E401"]


# -- E305 .. E308 ---------------------------------------------------------------------------------------


def test_a_model_without_output():
    d = only("model M { input x: [4] x -> Dense(2) -> y }")
    assert (d.code, d.message) == ("E305", "model 'M' declares no output")


def test_a_block_with_two_outputs_yields_two_tensors():
    block = "block B() { input x x -> Dense(2) -> y x -> Dense(3) -> z output y, z }\n"
    text = block + "model M { input x: [4] x -> B() -> y output y }"
    assert ("E409", "block B yields 2 tensors here, 1 name is given") in [
        (d.code, d.message) for d in diagnostics(text)
    ]
    spec = tfspec.loads(block + "model M { input x: [4] x -> B() -> y, z output y, z }")
    assert (spec.model.shapes["y"], spec.model.shapes["z"]) == ((2,), (3,))


def test_a_chain_must_name_its_result():
    text = model("    x -> Dense(2)\n    output x")
    d = only(text)
    assert d.code == "E306" and d.hint == "end it with `-> name`, e.g. `x -> Dense(10) -> y`"


@pytest.mark.parametrize(
    "text,message",
    [
        ("block B() { input x x -> Dense(1) -> y output y }", "the spec has no model"),
        ("model M { input x x -> Dense(1) -> y output y }", "model input 'x' needs a shape"),
        (
            "block B() { input x: [4] x -> Dense(1) -> y output y }\nmodel M { input x: [4] x -> B() -> y output y }",
            "block inputs take their shape from the caller",
        ),
        ("block B() { output y }\nmodel M { input x: [4] x -> B() -> y output y }", "block 'B' has no input"),
        ("model M { }", "model 'M' is empty"),
    ],
)
def test_missing_parts(text, message):
    assert ("E308", message) in [(d.code, d.message) for d in diagnostics(text)]


# -- E307 names that would break the generated Python -------------------------------------------------


KEYWORDS = [
    "class",
    "def",
    "lambda",
    "import",
    "return",
    "for",
    "if",
    "None",
    "True",
    "False",
    "async",
    "await",
    "yield",
    "pass",
    "global",
    "with",
]
assert all(keyword.iskeyword(k) for k in KEYWORDS)

LANGUAGE_KEYWORDS = {"if", "else", "and", "or", "not"}  # words of tfspec's grammar too
POSITIONS = {
    "input": "model M {{ input {k}: [4] {k} -> Dense(2) -> y output y }}",
    "tensor": "model M {{ input x: [4] x -> Dense(2) -> {k} output {k} }}",
    "layer": "model M {{ input x: [4] layer {k} = Dense(2) x -> {k} -> y output y }}",
    "model": "model {k} {{ input x: [4] x -> Dense(2) -> y output y }}",
    "block": "block {k}(n) {{ input x x -> Dense(n) -> y output y }}\nmodel M {{ input x: [4] x -> Dense(2) -> y output y }}",
    "parameter": "block B({k}) {{ input x x -> Dense(2) -> y output y }}\n"
    "model M {{ input x: [4] x -> B(1) -> y output y }}",
}


@pytest.mark.parametrize("position", list(POSITIONS))
@pytest.mark.parametrize("word", KEYWORDS)
def test_a_python_keyword_cannot_name_anything(word, position):
    text = POSITIONS[position].format(k=word)
    if word in LANGUAGE_KEYWORDS and position in ("input", "tensor", "layer"):
        # a keyword of the language itself: the statement it starts does not parse
        assert [d.code for d in diagnostics(text)][:1] in (["E100"], ["E307"])
        return
    bad = [d for d in diagnostics(text) if d.code == "E307"]
    assert bad, "a keyword as a name must be refused"
    d = bad[0]
    assert d.message == f"{word!r} is a Python keyword and cannot name anything here"
    assert d.hint == f"rename it, e.g. {word}_"
    assert (d.line, d.column) == at(text, word)
    assert d.span.end_column - d.span.column == len(word)


def test_names_starting_with_two_underscores_are_reserved():
    d = only("model M { input __x: [4] __x -> Dense(2) -> y output y }")
    assert (d.code, d.message) == ("E307", "names starting with '__' are reserved: '__x'")


def test_soft_keywords_and_builtins_are_fine_names():
    spec = tfspec.loads(
        "model M { input match: [4] match -> Dense(2) -> type  type -> Dense(1) -> print output print }"
    )
    assert spec.model.outputs == ["print"]


# -- E4xx layers and their arguments -------------------------------------------------------------------


def test_an_unknown_layer_with_a_suggestion():
    text = model("    x -> Dens(3) -> y\n    output y")
    d = only(text)
    assert (d.code, d.message, d.hint, (d.line, d.column)) == (
        "E401",
        "unknown layer 'Dens'",
        "did you mean 'Dense'? (plugins loaded: example)",
        at(text, "Dens"),
    )


def test_layer_names_are_case_sensitive_but_the_suggestion_is_not():
    d = only(model("    x -> dense(3) -> y\n    output y"))
    assert (d.code, d.hint) == ("E401", "did you mean 'Dense'? (plugins loaded: example)")


def test_keras_aliases_are_accepted():
    spec = tfspec.loads("model M { input x: [8, 8, 1] x -> Convolution2D(2, 3) -> MaxPool2D() -> y output y }")
    assert [n.layer.kind for n in spec.model.nodes] == ["Conv2D", "MaxPooling2D"]


def test_a_layer_kind_used_without_parentheses():
    d = only(model("    x -> Flatten -> y\n    output y", "[2, 2]"))
    assert (d.code, d.message, d.hint) == (
        "E401",
        "Flatten is a layer kind; call it to make a layer",
        "write Flatten()",
    )


def test_an_unknown_argument_with_a_suggestion():
    text = model('    x -> Dense(3, activaton="relu") -> y\n    output y')
    d = only(text)
    assert (d.code, d.message, d.hint) == ("E402", "Dense has no argument 'activaton'", "did you mean 'activation'?")
    assert (d.line, d.column) == at(text, '"relu"')


def test_an_argument_given_by_position_and_by_keyword():
    d = only(model("    x -> Dense(3, units=4) -> y\n    output y"))
    assert (d.code, d.message) == ("E402", "argument 'units' of Dense is given twice")


def test_a_missing_required_argument():
    d = only(model("    x -> Dense() -> y\n    output y"))
    assert (d.code, d.message, d.hint) == ("E403", "Dense needs the argument 'units'", "e.g. Dense(units=...)")


@pytest.mark.parametrize(
    "call,message",
    [
        ("Dense(2.5)", "Dense: units: expected an integer, got 2.5"),
        ('Dense("8")', 'Dense: units: expected an integer, got "8"'),
        ('Dense(3, use_bias="yes")', 'Dense: use_bias: expected True or False, got "yes"'),
        ("Dense(True)", "Dense: units: expected an integer, got True"),
    ],
)
def test_argument_types(call, message):
    d = only(model(f"    x -> {call} -> y\n    output y"))
    assert (d.code, d.message) == ("E404", message)


@pytest.mark.parametrize(
    "call,message",
    [
        ("Dense(0)", "Dense: units must be ≥ 1, got 0"),
        ("Dense(-8)", "Dense: units must be ≥ 1, got -8"),
        ("Dropout(1.0)", "Dropout: rate must be < 1, got 1.0"),
        ("Dropout(1)", "Dropout: rate must be < 1, got 1"),
        ("Dropout(-0.1)", "Dropout: rate must be ≥ 0, got -0.1"),
    ],
)
def test_argument_ranges(call, message):
    text = model(f"    x -> {call} -> y\n    output y")
    d = only(text)
    assert (d.code, d.message) == ("E405", message)
    assert (d.line, d.column) == at(text, call[call.index("(") + 1 : -1])


@pytest.mark.parametrize("call", ["Dropout(0)", "Dropout(0.0)", "Dropout(0.999)", "Dense(1)"])
def test_argument_range_edges_that_are_allowed(call):
    tfspec.loads(model(f"    x -> {call} -> y\n    output y"))


def test_too_many_positional_arguments():
    d = only(model("    x -> Dropout(0.1, None, 3, 4) -> y\n    output y"))
    assert d.code == "E406" and d.message == "Dropout takes at most 3 positional arguments, got 4"
    assert d.hint == "pass the rest by keyword"


def test_a_positional_argument_after_keyword_arguments():
    text = model('    x -> Dense(units=3, "relu") -> y\n    output y')
    d = only(text)
    assert (d.code, d.message, d.hint) == (
        "E107",
        "positional argument after keyword arguments",
        "put positional arguments first",
    )
    assert (d.line, d.column) == at(text, '"relu"')


def test_a_keyword_argument_given_twice():
    text = model('    x -> Dense(3, activation="relu", activation="tanh") -> y\n    output y')
    d = only(text)
    assert (d.code, d.message, (d.line, d.column)) == (
        "E105",
        "argument activation is given twice",
        at(text, "activation", 1),
    )


def test_a_dict_key_given_twice():
    text = "model M { input x: [4] x -> Dense(1) -> y output y }\ntrain { loss = { y: mse, y: mae } }"
    assert "E105" in codes(text)


def test_an_invalid_escape_in_a_string():
    text = model('    x -> Dense(3, name="a\\qb") -> y\n    output y')
    d = only(text)
    assert (d.code, d.message, (d.line, d.column)) == ("E106", "invalid escape sequence in string", at(text, '"a'))


def test_an_invalid_escape_is_a_diagnostic_not_a_python_warning(recwarn):
    with pytest.raises(SpecError):
        tfspec.loads(model('    x -> Dense(3, name="\\d") -> y\n    output y'))
    assert not [w for w in recwarn.list if issubclass(w.category, (SyntaxWarning, DeprecationWarning))]


def test_a_block_parameter_without_default_after_one_with_a_default():
    text = (
        "block B(a=1, b) { input x x -> Dense(b) -> y output y }\nmodel M { input x: [4] x -> B(1, 2) -> y output y }"
    )
    assert "E107" in codes(text)


def test_block_arguments_are_checked_like_layer_arguments():
    text = (
        "block B(n) { input x x -> Dense(n) -> y output y }\n"
        "model M { input x: [4]\n x -> B() -> a\n a -> B(3, m=2) -> b\n b -> B(1, 2) -> c\n output c }"
    )
    assert [(d.code, d.line) for d in diagnostics(text)] == [("E403", 3), ("E402", 4), ("E406", 5)]


def test_argument_errors_inside_a_block_name_the_use_that_caused_them():
    text = (
        "block B(n, rate=0.5) {\n    input x\n    x -> Dense(n) -> Dropout(rate) -> y\n    output y\n}\n"
        "model M {\n    input x: [4]\n    x -> B(0) -> a\n    a -> B(3, rate=1.5) -> b\n"
        '    b -> B("x") -> c\n    output c\n}\n'
    )
    found = diagnostics(text)
    assert [(d.code, d.message) for d in found] == [
        ("E405", "Dense: units must be ≥ 1, got 0 (in block B used at line 8)"),
        ("E404", 'Dense: units: expected an integer, got "x" (in block B used at line 10)'),
        ("E405", "Dropout: rate must be < 1, got 1.5 (in block B used at line 9)"),
    ]  # and no follow-on "cannot infer the output shape" noise
    assert all(d.line == 3 for d in found)


@pytest.mark.parametrize(
    "source,merge,count,message",
    [
        ("[a]", "Add()", 1, "Add takes at least 2 inputs, got 1"),
        ("a", "Concatenate()", 1, "Concatenate takes at least 2 inputs, got 1"),
        ("[a, b, c]", "Subtract()", 3, "Subtract takes 2 inputs, got 3"),
        ("[a, b, c]", "Dot(axes=1)", 3, "Dot takes 2 inputs, got 3"),
        ("[a, b]", "Dense(2)", 2, "Dense takes 1 input, got 2"),
    ],
)
def test_merge_arity(source, merge, count, message):
    text = f"model M {{ input a: [4] input b: [4] input c: [4] {source} -> {merge} -> y output y }}"
    found = [d for d in diagnostics(text) if d.code == "E407"]
    assert [d.message for d in found] == [message]


def test_a_block_called_with_the_wrong_number_of_tensors():
    text = (
        "block Two() { input a input b [a, b] -> Add() -> y output y }\n"
        "model M { input x: [4] x -> Two() -> y output y }"
    )
    assert [d.message for d in diagnostics(text) if d.code == "E407"] == ["Two takes 2 inputs, got 1"]


# -- E5xx static shapes -----------------------------------------------------------------------------------


def test_add_needs_equal_shapes():
    text = "model M {\n    input a: [32]\n    input b: [64]\n    [a, b] -> Add() -> c\n    output c\n}"
    d = only(text)
    assert (d.code, d.message) == ("E501", "Add needs inputs of equal shape, got (32,) and (64,)")
    assert (d.line, d.column) == at(text, "Add()")
    assert d.hint


def test_conv2d_needs_image_samples():
    d = only(model("    x -> Conv2D(8, 3) -> y\n    output y", "[32]"))
    assert d.code == "E501"
    assert d.message == "Conv2D expects samples of rank 3 (height, width, channels), got shape (32,) (rank 1)"


def test_dense_needs_a_known_last_axis():
    d = only(model("    x -> Dense(3) -> y\n    output y", "[None]"))
    assert (d.code, d.message) == ("E501", "Dense needs a known size on the last axis, got shape (None,)")
    assert d.hint


def test_shape_errors_propagate_no_further_than_their_first_cause():
    # Flatten of an unknown axis is (None,), then Dense refuses it: one error, at Dense
    text = model("    x -> Flatten() -> Dense(3) -> y\n    output y", "[None, 4]")
    d = only(text)
    assert d.code == "E501" and (d.line, d.column) == at(text, "Dense(3)")


def test_a_reshape_must_keep_the_number_of_values():
    d = only(model("    x -> Reshape((3, 5)) -> y\n    output y", "[12]"))
    assert d.code == "E501" and "Reshape" in d.message


def test_a_shape_error_inside_a_block_names_the_use():
    text = (
        "block C(f) {\n    input x\n    x -> Conv2D(f, 3) -> y\n    output y\n}\n"
        "model M {\n    input a: [4]\n    a -> C(8) -> c\n    output c\n}"
    )
    d = only(text)
    assert d.code == "E501" and d.line == 3 and d.message.endswith("(in block C used at line 8)")


def test_several_independent_shape_errors_are_all_reported():
    text = (
        "model M {\n input a: [4]\n input b: [5]\n input s: [None]\n"
        " [a, b] -> Add() -> c\n s -> Dense(2) -> d\n a -> Conv1D(2, 3) -> e\n output c, d, e\n}"
    )
    assert [(d.code, d.line) for d in diagnostics(text)] == [("E501", 5), ("E501", 6), ("E501", 7)]


def test_a_shared_layer_must_see_the_same_shape_everywhere():
    text = (
        "model M {\n    input a: [4]\n    input b: [8]\n    layer d = Dense(3)\n"
        "    a -> d -> c\n    b -> d -> e\n    [c, e] -> Add() -> f\n    output f\n}"
    )
    d = only(text)
    assert d.code == "E502" and (d.line, d.column) == at(text, "d -> e")
    assert d.hint == "a shared layer needs the same input shape everywhere it is applied"


# -- sizes TensorFlow cannot index (int32): refused with the position and the count ------------------


@pytest.mark.parametrize(
    "call,needle,message",
    [
        ("Dense(2147483648)", "2147483648", "Dense: units must be ≤ 2,147,483,647"),
        ("RepeatVector(3000000000)", "3000000000", "RepeatVector: n must be ≤ 2,147,483,647"),
        (
            "Reshape([2147483648, -1])",
            "[2147483648, -1]",
            "Reshape: target_shape must be -1 or from 1 to 2,147,483,647",
        ),
        ("Embedding(10, 2147483648)", "2147483648", "Embedding: output_dim must be ≤ 2,147,483,647"),
    ],
)
def test_a_size_past_int32_is_refused_at_the_argument(call, needle, message):
    text = model(f"    x -> {call} -> y\n    output y")
    d = only(text)
    assert d.code == "E405" and d.message.startswith(message), d.message
    assert (d.line, d.column) == at(text, needle)


@pytest.mark.parametrize(
    "shape,chain,message",
    [
        ("[100000]", "Dense(100000)", "Dense: its kernel of shape (100000, 100000) would hold 10,000,000,000 values"),
        ("[None]", "Embedding(3000000, 1000)", "Embedding: its embeddings of shape (3000000, 1000) would hold"),
        ("[50000, 3]", "Flatten() -> RepeatVector(50000)", "RepeatVector: its output of shape (50000, 150000)"),
        (
            "[60000, 8]",
            "[_x, _x] -> MultiHeadAttention(num_heads=2, key_dim=4)",
            "MultiHeadAttention: its attention scores of shape (2, 60000, 60000) would hold 7,200,000,000 values",
        ),
        ("[60000, 8]", "[_x, _x] -> Attention()", "Attention: its attention scores of shape (60000, 60000)"),
        ("[8, 3]", "Bidirectional(LSTM(30000))", "Bidirectional: its wrapped LSTM's recurrent kernel of shape"),
        ("[8, 8, 3]", 'Conv2D(100000, 3, padding="same") -> Conv2D(100000, 1)', "Conv2D: its kernel of shape"),
        ("[None, 8, 8, 3]", "TimeDistributed(Conv2D(100000, 3)) -> TimeDistributed(Conv2D(100000, 1))", "wrapped"),
    ],
)
def test_a_tensor_or_weight_past_int32_values_is_refused_with_its_count(shape, chain, message):
    chain = chain.replace("_x", "x")
    source = chain if chain.startswith("[") else f"x -> {chain}"
    text = model(f"    {source} -> y\n    output y", shape)
    d = only(text)
    assert d.code == "E503" and message in d.message, d.message
    assert "32-bit" in d.message and d.hint
    layer = chain.split(" -> ")[-1]
    assert (d.line, d.column) == at(text, layer)


@pytest.mark.parametrize(
    "shape,message",
    [
        ("[3000000000]", "input 'x' of shape (3000000000,) has an axis of 3,000,000,000"),
        ("[60000, 60000]", "input 'x' of shape (60000, 60000) would hold 3,600,000,000 values"),
        ("[None, 60000, 60000]", "input 'x' of shape (None, 60000, 60000) would hold at least 3,600,000,000 values"),
    ],
)
def test_an_input_past_int32_values_is_refused_at_the_input(shape, message):
    text = model("    x -> Flatten() -> y\n    output y", shape)
    found = diagnostics(text)
    assert found[0].code == "E503" and found[0].message.startswith(message), found[0].message
    assert (found[0].line, found[0].column) == at(text, "x:")


@pytest.mark.parametrize(
    "shape,chain",
    [
        ("[1]", "Dense(2147483647)"),  # a kernel of exactly 2**31 - 1 values
        ("[2147483647]", "Dense(1)"),
        ("[46340, 46340]", "Flatten()"),  # 2,147,395,600 values
        ("[None, 8]", "Dense(4)"),
    ],
)
def test_sizes_up_to_int32_pass(shape, chain):
    tfspec.loads(model(f"    x -> {chain} -> y\n    output y", shape))


def test_a_size_problem_inside_a_block_names_the_use():
    text = (
        "block Wide(n) {\n    input t\n    t -> Dense(n) -> u\n    output u\n}\n"
        "model M {\n    input x: [100000]\n    x -> Wide(100000) -> y\n    output y\n}\n"
    )
    d = only(text)
    assert d.code == "E503" and d.line == 3 and d.message.endswith("(in block Wide used at line 8)")
    assert "10,000,000,000 values" in d.message


# -- argument values that the Keras constructors refuse ------------------------------------------------


@pytest.mark.parametrize(
    "call,needle,message",
    [
        (
            "Dropout(0.5, seed=9223372036854775808)",
            "9223372036854775808",
            "Dropout: seed must be ≤ 9223372036854775807",
        ),
        (
            "Dropout(0.5, seed=-9223372036854775809)",
            "-9223372036854775809",
            "Dropout: seed must be ≥ -9223372036854775808",
        ),
        ("Dense(3, kernel_initializer=RandomNormal(seed=18446744073709551616))", "RandomNormal", "RandomNormal: seed"),
        ("Dense(3, kernel_initializer=VarianceScaling(0))", "VarianceScaling", "scale must be > 0, got 0"),
        ('Dense(3, kernel_initializer=VarianceScaling(mode="fan"))', "VarianceScaling", "mode: expected one of"),
        (
            'Dense(3, kernel_initializer=VarianceScaling(distribution="gauss"))',
            "VarianceScaling",
            "distribution: expected one of",
        ),
        ("Dense(3, kernel_regularizer=L2(-0.1))", "L2", "L2: l2 must be a finite number ≥ 0, got -0.1"),
        ("Dense(3, kernel_regularizer=L1L2(l1=-1))", "L1L2", "L1L2: l1 must be a finite number ≥ 0"),
        ('Dense(3, kernel_regularizer=OrthogonalRegularizer(mode="row"))', "Orth", 'mode: expected one of "rows"'),
        (
            'Dense(3, bias_initializer="orthogonal")',
            '"orth',
            "takes a weight of rank 2 or more, and this weight is a vector",
        ),
        ("Dense(3, bias_initializer=Identity(gain=2.0))", "Identity", "takes a matrix (rank 2) only"),
        ("LayerNormalization(gamma_initializer=Orthogonal())", "Orth", "this weight is a vector"),
        ('BatchNormalization(moving_mean_initializer="identity")', '"identity"', "this weight is a vector"),
        ('Dense(3, bias_regularizer="orthogonal_regularizer")', '"orth', "this weight is a vector"),
        ("LSTM(3, bias_regularizer=OrthogonalRegularizer())", "Orth", "this weight is a vector"),
    ],
)
def test_argument_values_keras_refuses(call, needle, message):
    shape = "[4, 2]" if call.startswith("LSTM") else "[4]"
    text = model(f"    x -> {call} -> y\n    output y", shape)
    d = only(text)
    assert d.code in ("E404", "E405") and message in d.message, d.message
    assert (d.line, d.column) == at(text, needle)


@pytest.mark.parametrize(
    "call",
    [
        'Conv1D(2, 2, kernel_initializer="Identity")',
        "Conv1D(2, 2, kernel_regularizer=OrthogonalRegularizer())",
        'SeparableConv1D(2, 2, pointwise_initializer="identity")',
        'DepthwiseConv1D(2, depthwise_regularizer="orthogonal_regularizer")',
        'Conv1DTranspose(2, 2, bias_initializer="orthogonal")',
    ],
)
def test_identity_and_orthogonal_regularizer_need_a_matrix(call):
    d = only(model(f"    x -> {call} -> y\n    output y", "[4, 2]"))
    assert d.code == "E404" and ("takes a matrix (rank 2) only" in d.message or "rank 2 or more" in d.message)


@pytest.mark.parametrize(
    "call,shape",
    [
        ("Dropout(0.5, seed=9223372036854775807)", "[4]"),
        ("Dropout(0.5, seed=-9223372036854775808)", "[4]"),
        ('Dense(3, kernel_initializer=VarianceScaling(2.0, "fan_avg", "normal", 7))', "[4]"),
        ('Dense(3, kernel_initializer="identity", kernel_regularizer=OrthogonalRegularizer(0.0, "columns"))', "[4]"),
        ("Dense(3, kernel_regularizer=L1L2(0, 0.5), bias_regularizer=L2(0))", "[4]"),
        ('Conv1D(2, 2, kernel_initializer="orthogonal")', "[4, 2]"),
        ('LSTM(3, kernel_initializer="identity", recurrent_regularizer=OrthogonalRegularizer())', "[4, 2]"),
        ('Embedding(10, 3, embeddings_initializer="orthogonal")', "[4]"),
    ],
)
def test_argument_values_keras_accepts(call, shape):
    tfspec.loads(model(f"    x -> {call} -> y\n    output y", shape))


# -- E2xx / E6xx training --------------------------------------------------------------------------------


TRAINED = "model M {\n    input x: [4]\n    x -> Dense(3) -> a\n    x -> Dense(1) -> b\n    output a, b\n}\n"


def train(settings: str) -> str:
    return TRAINED + "train {\n" + settings + "\n}\n"


def test_an_unknown_training_setting_with_a_suggestion():
    text = train("    loss = mse\n    epoch = 3")
    d = only(text)
    assert (d.code, d.message, d.hint) == ("E201", "unknown training setting 'epoch'", "did you mean 'epochs'?")
    assert (d.line, d.column) == at(text, "epoch ")


def test_an_unknown_setting_without_a_close_match_lists_the_known_ones():
    d = only(train("    loss = mse\n    colour = 3"))
    assert d.code == "E201" and d.hint.startswith("known settings: optimizer, loss,")


@pytest.mark.parametrize(
    "setting,code,message",
    [
        ("epochs = 0", "E203", "training setting 'epochs' must be ≥ 1, got 0"),
        ("batch = -1", "E203", "training setting 'batch' must be ≥ 1, got -1"),
        ("seed = -3", "E203", "training setting 'seed' must be ≥ 0, got -3"),
        ("validation = 0", "E203", "training setting 'validation' must be > 0, got 0"),
        ("validation = 1.0", "E203", "training setting 'validation' must be < 1, got 1.0"),
        ("epochs = 2.5", "E202", "training setting 'epochs' must be an integer ≥ 1 and ≤ 1000000, got 2.5"),
        ('batch = "32"', "E202", "training setting 'batch' must be an integer ≥ 1, got \"32\""),
        ("jit_compile = 1", "E202", "training setting 'jit_compile' has the wrong type of value"),
        ("loss_weights = [1, -1]", "E203", "training setting 'loss_weights' must be ≥ 0, got -1"),
        ('distribute = "tpu"', "E202", "training setting 'distribute' has an unsupported value"),
        ("precision = half", "E202", "training setting 'precision' has an unsupported value"),
        ("steps_per_call = 0", "E203", "training setting 'steps_per_call' must be ≥ 1, got 0"),
    ],
)
def test_bad_training_values(setting, code, message):
    text = train("    loss = mse\n    " + setting)
    d = only(text)
    assert (d.code, d.message) == (code, message)
    value = setting.split(" = ")[1].split(", ")[-1].rstrip("]")  # the offending value
    line, column = at(text, setting)
    assert (d.line, d.column) == (line, column + setting.rindex(value))


@pytest.mark.parametrize(
    "setting,message,hint",
    [
        ("optimizer = Adamm()", "unknown optimizer 'Adamm'", "did you mean 'Adam', 'AdamW' or 'Adamax'?"),
        (
            "optimizer = Adam(learning_rate=ExponentialDecy(1e-3, 100, 0.9))",
            "unknown learning-rate schedule 'ExponentialDecy'",
            "did you mean 'ExponentialDecay' or 'PolynomialDecay'?",
        ),
        (
            "metrics = [acuracy]",
            "unknown metric 'acuracy'",
            "did you mean 'accuracy', 'Accuracy' or 'top_k_accuracy'? (plugins loaded: example)",
        ),
        (
            "callbacks = [EarlyStoping()]",
            "unknown callback 'EarlyStoping'",
            "did you mean 'EarlyStopping'? (plugins loaded: example)",
        ),
        ("data = mnistt", "unknown data source 'mnistt'", "did you mean 'mnist'?"),
    ],
)
def test_unknown_training_objects(setting, message, hint):
    d = only(train("    loss = mse\n    " + setting))
    assert (d.code, d.message, d.hint) == ("E601", message, hint)


def test_an_unknown_loss():
    d = only(train("    loss = { a: mse, b: CrossEntropy() }"))
    assert (d.code, d.message) == ("E601", "unknown loss 'CrossEntropy'")


@pytest.mark.parametrize(
    "setting,message",
    [
        ("optimizer = Adam(learning_rat=0.1)", "Adam has no argument 'learning_rat'"),
        (
            "optimizer = Adam(learning_rate=ExponentialDecay(1e-3, 100, 0.9, decay=2))",
            "ExponentialDecay has no argument 'decay'",
        ),
        ("callbacks = [EarlyStopping(patiense=2)]", "EarlyStopping has no argument 'patiense'"),
    ],
)
def test_unknown_arguments_of_training_objects(setting, message):
    d = only(train("    loss = mse\n    " + setting))
    assert (d.code, d.message) == ("E402", message)


def test_a_data_source_missing_its_path():
    d = only(train('    loss = mse\n    data = csv(label="y")'))
    assert (d.code, d.message) == ("E403", "csv needs 'path'")


def test_the_train_section_needs_a_loss():
    d = only(train("    epochs = 2"))
    assert (d.code, d.message) == ("E602", "the train section needs a loss")


def test_one_loss_per_output():
    found = diagnostics(train("    loss = { a: mse, c: mae }"))
    assert [(d.code, d.message) for d in found] == [
        ("E602", "no loss for output 'b'"),  # points at the whole loss value
        ("E602", "loss for 'c', which is not an output of the model"),  # points at the key `c`
    ]


def test_loss_weights_and_metrics_name_outputs():
    found = diagnostics(train("    loss = mse\n    loss_weights = { a: 1.0, bb: 0.5 }\n    metrics = { z: [mae] }"))
    assert [(d.code, d.message, d.hint) for d in found] == [
        ("E602", "loss weight for 'bb', which is not an output of the model", "did you mean 'b'?"),
        ("E602", "metrics for 'z', which is not an output of the model", None),
    ]


def test_loss_weights_as_a_list_need_one_per_output():
    d = only(train("    loss = mse\n    loss_weights = [1.0]"))
    assert (d.code, d.message) == ("E602", "1 loss weights for 2 outputs")


# -- the order in which chains are laid out ----------------------------------------------------------------


def text_order(deps: dict[int, set[int]]) -> list[int]:
    """Reference: repeatedly take the first chain in the text whose sources are all made."""
    order, done, remaining = [], set(), sorted(deps)
    while remaining:
        first = next(i for i in remaining if deps[i] <= done)
        order.append(first)
        done.add(first)
        remaining.remove(first)
    return order


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_chains_are_laid_out_in_text_order_where_the_text_allows(data):
    """Layer numbering (dense, dense_1, ...) follows this order, so it must not drift."""
    n = data.draw(st.integers(min_value=1, max_value=12))
    # chain k makes t{k} from the input and/or earlier tensors; then the chains are shuffled
    sources = [data.draw(st.sets(st.integers(min_value=-1, max_value=k - 1), min_size=1, max_size=3)) for k in range(n)]
    permutation = data.draw(st.permutations(range(n)))
    lines = []
    for k in permutation:
        names = ["x" if s == -1 else f"t{s}" for s in sorted(sources[k])]
        src = names[0] if len(names) == 1 else "[" + ", ".join(names) + "]"
        step = "Dense(2)" if len(names) == 1 else "Add() -> Dense(2)"
        lines.append(f"    {src} -> {step} -> t{k}")
    used = {s for k in range(n) for s in sources[k]}
    outputs = [f"t{k}" for k in range(n) if k not in used]
    text = "model M {\n    input x: [2]\n" + "\n".join(lines) + "\n    output " + ", ".join(outputs) + "\n}\n"
    spec = tfspec.loads(text)
    position = {k: i for i, k in enumerate(permutation)}  # chain k is statement position[k]
    deps = {position[k]: {position[s] for s in sources[k] if s != -1} for k in range(n)}
    chains_in_order = []
    for node in spec.model.nodes:
        if not chains_in_order or chains_in_order[-1] != node.chain:
            chains_in_order.append(node.chain)
    assert chains_in_order == text_order(deps)
