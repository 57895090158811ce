"""The `search { ... }` section on the compile path (no TensorFlow): the fast parser and Lark agree
on it, every bad space is E801 and every misused name E802 at its place, the spec is checked at
the choices and range ends (a diagnostic found away from the default says at which values), and
the Spec returned is the default point's."""

from __future__ import annotations

import json

import pytest

import tfspec
from tfspec.diagnostics import SpecError
from tfspec.frontend.fast import parse_fast
from tfspec.frontend.parser import parse_slow
from tfspec.summary import summary

MODEL = """
model M {
    input x: float32[16]
    x -> Dense(units) -> y
    output y
}
"""


def searched(*settings: str, model: str = MODEL, train: str = "") -> str:
    """A spec whose search section (lines 1 to len(settings) + 2) holds `settings`, one a line."""
    lines = "".join(f"    {s}\n" for s in settings)
    return f"search {{\n{lines}}}\n{model}" + (f"\ntrain {{\n{train}}}\n" if train else "")


def diagnostics(text: str) -> list:
    with pytest.raises(SpecError) as info:
        tfspec.loads(text, "s.tfs")
    return info.value.diagnostics


def where(d) -> tuple:
    return d.code, d.span.line, d.span.column


# -- the parsers agree -------------------------------------------------------------------------
def outcome(parse, text: str):
    try:
        return ("ok", *parse(text, "<t>"))
    except SpecError as exc:
        return ("error", [(d.code, d.message, d.span, d.hint) for d in exc.diagnostics])


def assert_parsers_agree(text: str) -> tuple:
    """The fast parser reads `text` itself and gives what Lark and the normaliser give."""
    fast = outcome(parse_fast, text)
    slow = outcome(parse_slow, text)
    assert fast[0] == slow[0], (fast, slow)
    if fast[0] == "error":
        assert fast[1] == slow[1]
        return slow
    assert json.dumps(fast[1]) == json.dumps(slow[1])  # equal, keys in the same order
    assert set(fast[2]) == set(slow[2])
    assert {k: fast[2][k] for k in slow[2]} == slow[2]
    return slow


LAYOUTS = {
    "plain": """search {
    units = choice(64, 128, 256)
    depth = int(1, 3)
    lr    = float(1e-4, 1e-2, log=true)
    bn    = boolean(default=true)
}
block B(n, norm=false) { input x x -> Dense(n) -> y output y }
model M {
    input x: float32[16]
    x -> Dense(units) * depth -> B(8, norm=bn) * 2 -> Dense(1) -> y
    output y
}
train {
    optimizer = Adam(learning_rate=lr)
    loss = mse
}
""",
    "one_line": "search{units=choice(4,8)depth=int(1,2)}model M{input x:float32[4] x->Dense(units)*depth->y output y}",
    "comments": """# the space
search {   # what tune searches
    units = choice(64, 128,   # two widths
                   256)       # or three
    # a line of its own
    depth = int(1, 3, step=1, default=2)  # how deep
    rate  = float(0.1, 0.5, step=0.1)
}  # end
model M { input x: float32[16]
    x -> Dense(units) * depth   # repeated
      -> Dropout(rate) -> y
    output y }
""",
    "search_last": MODEL.replace("Dense(units)", "Dense(units) * 2 -> Dense(units) * depth")
    + "\nsearch { depth = int(1, 2) units = choice(8, 16, default=16) }\n",
    "strings_and_booleans": searched(
        'act = choice("relu", "tanh")',
        "bias = choice(true, false)",
        "rate = choice(0.25, 0, 0.5)",
        model=MODEL.replace("Dense(units)", "Dense(8, activation=act, use_bias=bias) -> Dropout(rate)"),
    ),
    "empty": "search {}\n" + MODEL.replace("units", "4"),
}


@pytest.mark.parametrize("name", LAYOUTS)
def test_the_fast_parser_and_lark_agree_on_search_sections(name):
    found = assert_parsers_agree(LAYOUTS[name])
    assert found[0] == "ok" and "search" in found[1]


@pytest.mark.parametrize("name", LAYOUTS)
def test_fmt_keeps_a_search_section_and_settles(name):
    from tfspec.tools.fmt import format_text

    once = format_text(LAYOUTS[name])
    assert format_text(once) == once
    assert_parsers_agree(once)
    assert outcome(parse_slow, once)[1] == outcome(parse_slow, LAYOUTS[name])[1]


def test_a_repetition_count_names_a_hyperparameter():
    spec, spans = assert_parsers_agree(LAYOUTS["plain"])[1:]
    steps = spec["model"]["body"]["chains"][0]["steps"]
    assert [s["repeat"] for s in steps] == [{"ref": "depth"}, 2, 1]
    assert spans[("model", "body", "chains", 0, "steps", 0, "repeat")].column == 25  # `depth`, not `*`
    assert spec["search"]["lr"] == {"call": "float", "args": [1e-4, 1e-2], "kwargs": {"log": True}}


@pytest.mark.parametrize(
    "text",
    [
        searched("units = choice(4, 8)") + "search {\n    depth = int(1, 2)\n}\n",
        "search { units = choice(4, 8) }\nsearch { }\n" + MODEL,
        searched("units = choice(4, 8)", "units = choice(16)"),
    ],
    ids=["second_section", "second_empty_section", "name_twice"],
)
def test_a_second_search_section_or_name_is_e302_from_both_parsers(text):
    found = assert_parsers_agree(text)
    assert found[0] == "error" and [d[0] for d in found[1]] == ["E302"]
    assert [d.code for d in diagnostics(text)] == ["E302"]


def test_the_fast_parser_leaves_a_language_word_as_a_repetition_count_to_lark():
    text = MODEL.replace("Dense(units)", "Dense(4) * input")
    assert parse_fast(text, "<t>") is None
    assert outcome(parse_slow, text)[0] == "ok"  # Lark reads `input` as a name there
    assert diagnostics(text)  # and loading refuses it


# -- E801: a space that is not one ---------------------------------------------------------------
E801 = [
    # (the setting, the column of the diagnostic on line 2, a piece of its message)
    ("units = dense(3)", 13, "is not a search space"),
    ("units = 64", 13, "is not a search space"),
    ('units = choice(64, "wide")', 13, "all numbers, all strings or all booleans"),
    ("units = choice(true, 1)", 13, "all numbers, all strings or all booleans"),
    ("units = choice(64, 64)", 13, "each value once"),
    ("units = choice()", 13, "at least one value"),
    ("units = choice(x)", 20, "are constants"),
    ("units = int(1.5, 4)", 17, "whole numbers"),
    ("units = int(1)", 13, "its low and high ends"),
    ("units = int(4, 4)", 17, "below its high end"),
    ("units = int(8, 4)", 17, "below its high end"),
    ("units = float(0.0, 1.0, log=true)", 19, "a log range starts above 0"),
    ("units = float(-1.0, 1.0, log=true)", 19, "a log range starts above 0"),
    ("units = int(1, 8, step=0)", 28, "the step of int() is a positive whole number"),
    ("units = int(1, 8, step=1.5)", 28, "the step of int() is a positive whole number"),
    ("units = float(0.1, 0.5, step=-0.1)", 34, "the step of float() is a positive number"),
    ("units = int(1, 8, log=true, step=1)", 38, "a factor above 1"),
    ("units = int(1, 8, log=1)", 27, "log is true or false"),
    ("units = int(1, 8, default=9)", 31, "one of the values it can take"),
    ("units = int(1, 8, step=2, default=4)", 39, "one of the values it can take"),
    ("units = choice(8, 16, default=4)", 35, "one of its values"),
    ("units = int(1, 8, scale=2)", 29, "takes no argument 'scale'"),
    ("units = boolean(1)", 21, "boolean() takes no values"),
    ("units = boolean(default=1)", 29, "true or false"),
]


@pytest.mark.parametrize("setting,column,message", E801, ids=[s for s, _, _ in E801])
def test_a_bad_space_is_e801_at_its_place(setting, column, message):
    (found,) = diagnostics(searched(setting))
    assert where(found) == ("E801", 2, column)
    assert message in found.message


def test_every_bad_space_is_reported_and_nothing_else():
    found = diagnostics(searched("units = choice()", "rate = float(1.0, 0.5)", "n = int(1, 2)"))
    assert [where(d) for d in found] == [("E801", 2, 13), ("E801", 3, 18)]  # no E802 for the unused `n` yet


# -- E802: a hyperparameter's name misused -------------------------------------------------------
def test_a_name_of_the_model_and_of_the_search_section_is_e802():
    text = searched("y = choice(4, 8)", model=MODEL.replace("Dense(units)", "Dense(y)"))
    (found,) = diagnostics(text)
    assert where(found) == ("E802", 7, 22)  # `-> y`, which the model defines
    assert "line 2" in found.hint


def test_an_unused_hyperparameter_is_e802():
    (found,) = diagnostics(searched("units = choice(4, 8)", "depth = int(1, 2)"))
    assert where(found) == ("E802", 3, 5) and "'depth' is used nowhere" in found.message


def test_a_repetition_count_that_is_not_a_hyperparameter_is_e802():
    (found,) = diagnostics(
        searched("units = choice(4, 8)", model=MODEL.replace("Dense(units)", "Dense(units) * depth"))
    )
    assert where(found) == ("E802", 7, 25) and "not a hyperparameter" in found.message
    # without a search section: the same E802, not the schema's wrong-type E202
    (found,) = diagnostics(MODEL.replace("Dense(units)", "Dense(4) * depth"))
    assert where(found) == ("E802", 4, 21) and "not a hyperparameter" in found.message


def test_a_repetition_count_by_name_in_a_block_is_e802():
    model = """
block B(n) {
    input x
    x -> Dense(n) * depth -> y
    output y
}
model M {
    input x: float32[16]
    x -> B(units) * depth -> y
    output y
}
"""
    (found,) = diagnostics(searched("units = choice(4, 8)", "depth = int(1, 2)", model=model))
    assert where(found) == ("E802", 8, 21) and "in block 'B'" in found.message


# -- the spec is checked at the choices and range ends -------------------------------------------
def test_a_shape_error_at_a_non_default_choice_names_the_values():
    text = searched("units = choice(16, 32)", model=MODEL.replace("Dense(units)", "Dense(units) -> Reshape((4, 4))"))
    (found,) = diagnostics(text)
    assert where(found) == ("E501", 7, 26)  # the Reshape
    assert found.message.endswith("(with units = 32)")
    assert "the search section (line 2) allows these values" in found.hint


def test_each_failing_choice_is_reported():
    text = searched(
        "units = choice(16, 32, 64)", model=MODEL.replace("Dense(units)", "Dense(units) -> Reshape((4, 4))")
    )
    found = diagnostics(text)
    assert [d.message[-len("(with units = 32)") :] for d in found] == ["(with units = 32)", "(with units = 64)"]


def test_the_high_end_of_a_kernel_range_is_checked():
    model = """
model M {
    input x: float32[28, 28, 1]
    x -> Conv2D(8, kernel) -> Flatten() -> Dense(10) -> y
    output y
}
"""
    (found,) = diagnostics(searched("kernel = int(3, 40)", model=model))
    assert where(found) == ("E501", 7, 10) and found.message.endswith("(with kernel = 40)")
    tfspec.loads(searched("kernel = int(3, 28)", model=model), "s.tfs")  # 28 still fits


def test_the_high_end_of_a_repeated_pooling_is_checked():
    model = """
model M {
    input x: float32[28, 28, 1]
    x -> MaxPooling2D(2) * depth -> Flatten() -> Dense(10) -> y
    output y
}
"""
    (found,) = diagnostics(searched("depth = int(1, 6)", model=model))
    assert found.code == "E501" and found.span.line == 7 and found.message.endswith("(with depth = 6)")
    tfspec.loads(searched("depth = int(1, 4)", model=model), "s.tfs")


def test_ranges_that_grow_together_are_checked_at_their_corner():
    model = """
model M {
    input x: float32[28, 28, 1]
    x -> Conv2D(8, kernel) * depth -> Flatten() -> Dense(10) -> y
    output y
}
"""
    # a kernel of 12 once, or of 3 three times, fits 28 pixels; a kernel of 12 three times does not
    (found,) = diagnostics(searched("kernel = int(3, 12)", "depth = int(1, 3)", model=model))
    assert found.code == "E501" and found.message.endswith("(with kernel = 12, depth = 3)")
    assert "line 2, 3" in found.hint


# -- the Spec of the default point ---------------------------------------------------------------
def test_the_default_point_is_loaded():
    spec = tfspec.loads(LAYOUTS["plain"], "s.tfs")
    assert spec.point == {"units": 64, "depth": 1, "lr": 1e-4, "bn": True}
    assert spec.space.names == ("units", "depth", "lr", "bn")
    assert spec.space.get("units").values == (64, 128, 256) and spec.space.get("lr").log
    assert "search" in spec.searched and "search" not in spec.spec
    steps = spec.spec["model"]["body"]["chains"][0]["steps"]
    assert steps[0] == {"call": {"call": "Dense", "args": [64], "kwargs": {}}, "repeat": 1}
    # the same as the spec written at the default point
    written = LAYOUTS["plain"].split("}\n", 1)[1]  # without the search section
    for name, value in (("units) * depth", "64) * 1"), ("norm=bn", "norm=True"), ("rate=lr", "rate=1e-4")):
        written = written.replace(name, value)
    plain = tfspec.loads(written, "s.tfs")
    assert plain.point is None and plain.space is None
    assert summary(spec) == summary(plain)
    assert spec.training == plain.training


def test_defaults_given_and_taken():
    spec = tfspec.loads(LAYOUTS["comments"], "s.tfs")
    assert spec.point == {"units": 64, "depth": 2, "rate": 0.1}
    assert summary(spec).trainable_params == (16 * 64 + 64) + (64 * 64 + 64)  # Dense(64) twice: depth = 2
    spec = tfspec.loads(LAYOUTS["strings_and_booleans"], "s.tfs")
    assert spec.point == {"act": "relu", "bias": True, "rate": 0.25}
    assert spec.space.get("rate").values == (0.25, 0.0, 0.5)  # one type: floats


def test_a_float_choice_for_an_integer_argument_is_refused_at_the_default():
    (found, *_) = diagnostics(searched("units = choice(2.5, 4)"))
    assert found.code == "E404" and "(with" not in found.message


def test_the_train_section_gets_the_default_value():
    text = searched(
        "lr = float(1e-4, 1e-2, log=true, default=1e-3)",
        "epochs = int(1, 3)",
        model=MODEL.replace("units", "1"),
        train="    optimizer = Adam(learning_rate=lr)\n    loss = mse\n    epochs = epochs\n",
    )
    spec = tfspec.loads(text, "s.tfs")
    assert spec.training["optimizer"] == {"class_name": "Adam", "config": {"learning_rate": 1e-3}}
    assert spec.training["epochs"] == 1


def test_a_bad_train_value_at_a_range_end_is_found():
    text = searched(
        "epochs = int(0, 3, default=1)",
        model=MODEL.replace("units", "1"),
        train="    loss = mse\n    epochs = epochs\n",
    )
    found = diagnostics(text)
    assert found and all(d.message.endswith("(with epochs = 0)") for d in found)


def test_block_arguments_and_if_conditions_take_hyperparameters():
    model = """
block Unit(width, norm=false) {
    input x
    if norm {
        x -> Dense(width) -> BatchNormalization() -> y
    } else {
        x -> Dense(width) -> y
    }
    output y
}
model M {
    input x: float32[16]
    x -> Unit(units, norm=bn) -> h
    if wide {
        h -> Dense(units * 2) -> y
    } else {
        h -> Dense(1) -> y
    }
    output y
}
"""
    spec = tfspec.loads(searched("units = choice(4, 8)", "bn = boolean(default=true)", "wide = boolean()", model=model))
    assert spec.point == {"units": 4, "bn": True, "wide": False}
    assert spec.model.shapes["h"] == (4,) and spec.model.shapes["y"] == (1,)
    kinds = [row.kind for row in summary(spec).rows]
    assert "BatchNormalization" in kinds  # norm=bn at its default, True
    (ifs,) = spec.spec["model"]["body"]["ifs"]
    assert ifs["if"] is False


def test_names_in_a_block_body_are_not_hyperparameters():
    model = """
block B(n) {
    input x
    x -> Dense(units) -> y
    output y
}
model M {
    input x: float32[16]
    x -> B(units) -> y
    output y
}
"""
    (found,) = diagnostics(searched("units = choice(4, 8)", model=model))
    assert where(found) == ("E301", 7, 16) and "'units' is not defined" in found.message


def test_the_graph_of_a_searched_spec_draws_the_default_point():
    from tfspec.tools.graph import to_dot

    dot = to_dot(tfspec.loads(LAYOUTS["plain"], "s.tfs"))
    assert "(None, 64)" in dot and "(None, 128)" not in dot


@pytest.mark.parametrize(
    "text",
    [
        "model M { input search: float32[4] search -> Dense(2) -> y output y }",
        "model M { input x: float32[4] x -> Dense(2) -> search output search }",
        "model M { input x: float32[4] layer search = Dense(2) x -> search -> y output y }",
        "block search(n) { input x x -> Dense(n) -> y output y } model M { input x: float32[4] x -> search(2) -> y output y }",
    ],
    ids=["input", "tensor", "layer", "block"],
)
def test_search_is_a_keyword_like_train(text):
    found = diagnostics(text)
    assert {d.code for d in found} == {"E307"} and "'search' is a tfspec keyword" in found[0].message
