"""Diagnostics: what an error looks like, where it points, and that all of them are reported.

Every problem tfspec finds is a `Diagnostic` with a code (E###), a message, a span and
perhaps a hint. `SpecError.render()` prints each as::

    path:line:col: error[E###]: message
        the source line
        ^^^^ (a caret under the span)
    hint: ...
"""

from __future__ import annotations

import re

import pytest

import tfspec
from tfspec import Diagnostic, Span, SpecError
from tfspec.diagnostics import clean, did_you_mean

from .fuzz import LINE_BREAKS, with_line_breaks

HEAD = re.compile(r"^(?P<path>.+):(?P<line>\d+):(?P<col>\d+): error\[(?P<code>E\d{3})\]: (?P<message>.+)$")


def failure(text: str, filename: str = "<string>") -> SpecError:
    with pytest.raises(SpecError) as info:
        tfspec.loads(text, filename=filename)
    return info.value


def blocks_of(rendered: str) -> list[list[str]]:
    """Split a rendering into one list of lines per diagnostic."""
    out = []
    for line in rendered.splitlines():
        if HEAD.match(line):
            out.append([line])
        else:
            out[-1].append(line)
    return out


def caret_target(diag: Diagnostic, rendered_block: list[str]) -> str:
    """The text the caret line underlines in the rendered source line."""
    shown, carets = rendered_block[1], rendered_block[2]
    assert set(carets.strip()) == {"^"}, carets
    start = len(carets) - len(carets.lstrip())
    return shown[start : len(carets)]


# -- the parts of a diagnostic ------------------------------------------------------------------


def test_a_diagnostic_carries_path_line_column_code_message_and_hint():
    err = failure("model M {\n    input x: [4]\n    x -> Dense(0) -> y\n    output y\n}\n", filename="specs/m.tfs")
    (d,) = err.diagnostics
    assert isinstance(d, Diagnostic)
    assert (d.path, d.line, d.column, d.code) == ("specs/m.tfs", 3, 16, "E405")
    assert d.message == "Dense: units must be ≥ 1, got 0"
    assert d.span == Span("specs/m.tfs", 3, 16, 3, 17)
    assert d.severity == "error"
    assert err.source.startswith("model M {")


def test_render_gives_location_code_message_source_line_and_caret():
    err = failure("model M {\n    input x: [4]\n    x -> Dense(0) -> y\n    output y\n}\n", filename="specs/m.tfs")
    assert err.render() == (
        "specs/m.tfs:3:16: error[E405]: Dense: units must be ≥ 1, got 0\n"
        "        x -> Dense(0) -> y\n"
        "                   ^"
    )


def test_render_adds_a_hint_line_where_a_hint_helps():
    err = failure("model M {\n    input x: [4]\n    x -> Dens(3) -> y\n    output y\n}\n")
    assert err.render() == (
        "<string>:3:10: error[E401]: unknown layer 'Dens'\n"
        "        x -> Dens(3) -> y\n"
        "             ^^^^\n"
        "hint: did you mean 'Dense'? (plugins loaded: example)"
    )


def test_the_caret_spans_the_whole_offending_token():
    err = failure('model M { input x: [4] x -> Dense(3, activation="rleu") -> y output y }')
    (block,) = blocks_of(err.render())
    assert caret_target(err.diagnostics[0], block) == '"rleu"'


def test_str_of_the_exception_is_the_first_headline_and_a_count_of_the_rest():
    err = failure("model M { input x: [4] x -> Dense(0) -> Dropout(2.0) -> Dense(-1) -> y output y }")
    assert len(err.diagnostics) == 3
    assert str(err) == "<string>:1:35: error[E405]: Dense: units must be ≥ 1, got 0 (and 2 more)"


def test_a_file_error_has_no_source_line_to_show(tmp_path):
    missing = tmp_path / "nope.tfs"
    with pytest.raises(SpecError) as info:
        tfspec.load(missing)
    rendered = info.value.render().splitlines()
    assert HEAD.match(rendered[0]).group("code") == "E001"
    assert rendered[0].startswith(f"{missing}:1:1: error[E001]: no such file")
    assert rendered[1:] == ["hint: check the path"]


def test_load_reports_the_path_it_was_given(tmp_path):
    path = tmp_path / "bad.tfs"
    path.write_text("model M { input x: [4] x -> Dense(0) -> y output y }\n")
    with pytest.raises(SpecError) as info:
        tfspec.load(path)
    assert info.value.diagnostics[0].path == str(path)
    assert info.value.render().startswith(f"{path}:1:35: error[E405]")


# -- every error is reported, in source order -----------------------------------------------------------


def test_all_errors_of_the_semantic_pass_are_reported_in_source_order():
    err = failure("""model M {
    input x: [4]
    x -> Dens(3) -> a
    a -> Dense(3, unit=2) -> b
    b -> Dropout(1.5) -> c
    c -> Dense(2) -> d
    output e
}
""")
    assert [(d.line, d.code) for d in err.diagnostics] == [(3, "E401"), (4, "E402"), (5, "E405"), (7, "E301")]
    assert len(blocks_of(err.render())) == 4


def test_all_errors_of_the_schema_pass_are_reported():
    err = failure("""model M {
    input x: [0]
    input y: complex64[4]
    x -> Dense(3) * 0 -> a
    output a
}
train { loss = mse epochs = 0 batch = -1 validation = 2.0 epoch = 3 }
""")
    assert [(d.line, d.code) for d in err.diagnostics] == [
        (2, "E203"),
        (3, "E202"),
        (4, "E203"),
        (7, "E203"),
        (7, "E203"),
        (7, "E203"),
        (7, "E201"),
    ]


def test_all_errors_of_the_training_checks_are_reported_with_the_model_errors():
    err = failure("""model M {
    input x: [4]
    x -> Dense(0) -> y
    output y
}
train {
    optimizer = Adamm()
    loss = { z: mse }
    metrics = [acuracy]
}
""")
    assert [(d.line, d.code) for d in err.diagnostics] == [
        (3, "E405"),
        (7, "E601"),
        (8, "E602"),
        (8, "E602"),
        (9, "E601"),
    ]


def test_a_syntax_error_stops_at_the_first_one():
    # the parser cannot recover its bearings after a syntax error: one diagnostic, the first
    err = failure("model M { input x: [4] x -> Dense(3 -> y output y }\nmodel N { ??? }")
    assert [d.code for d in err.diagnostics] == ["E100"]


# -- where the caret goes ---------------------------------------------------------------------------------


BAD_SPECS = [
    "model M { input x: [4] x -> Dense(0) -> y output y }",
    "model M {\n\tinput x: [4]\n\tx -> Dense(0) -> y\n\toutput y\n}",
    "model M {\n\tinput x: [4]\n\tx\t->\tDense(3,\tunit=2)\t->\ty\n\toutput y\n}",
    'model M { input x: [4] x -> Dense(3, name="\x1b[31m", activation="rleu") -> y output y }',
    'model M { input x: [4] x -> Dense(3, name="été ✓", activation="rleu") -> y output y }',
    "model M { input x: [4] x -> Dense(3 -> y output y }",
    "model M { input x: [4] x -> Dense(3) -> y output y",
    'model M { input x: [4] x -> Dense(3, activation="relu) -> y output y }',
    "model M { input class: [4] class -> Dense(3) -> y output y }",
    "model M { input a: [32] input b: [64] [a, b] -> Add() -> c output c }",
    "model M { input x: [4] x -> Dense(3) -> y output y }\ntrain { loss = mse epoch = 3 }",
]


@pytest.mark.parametrize("text", BAD_SPECS)
def test_the_caret_sits_under_the_reported_column_as_a_terminal_shows_it(text):
    err = failure(text)
    for diag, block in zip(err.diagnostics, blocks_of(err.render()), strict=True):
        source_line = text.splitlines()[diag.line - 1]
        assert "\t" not in block[1] and "\x1b" not in block[1]  # tabs expanded, escapes made visible
        shown = block[1][4:]
        carets = block[2][4:]
        start = len(carets) - len(carets.lstrip())
        # the displayed text before the caret is the source text before the column
        assert shown[:start] == clean(source_line[: diag.column - 1]).expandtabs(4)
        if diag.column <= len(source_line):
            assert shown[start] == clean(source_line[diag.column - 1]).expandtabs(4)[0]


def test_tabs_in_the_source_line_keep_the_caret_aligned():
    err = failure("model M {\n\tinput x: [4]\n\tx -> Dense(0) -> y\n\toutput y\n}")
    (block,) = blocks_of(err.render())
    assert block[1] == "        x -> Dense(0) -> y"
    assert block[2] == "                   ^"


def test_terminal_escapes_in_the_source_are_shown_escaped_not_executed():
    err = failure('model M { input x: [4] x -> Dense(3, name="\x1b[2J", activation="rleu") -> y output y }')
    rendered = err.render()
    assert "\x1b" not in rendered
    assert "\\x1b[2J" in rendered
    name, activation = blocks_of(rendered)  # the name is no TensorFlow op name either (E405)
    assert caret_target(err.diagnostics[0], name) == '"\\x1b[2J"'
    assert caret_target(err.diagnostics[1], activation) == '"rleu"'


def test_a_span_over_several_lines_is_marked_at_its_start():
    err = failure("model M {\n input x: [4]\n x -> Dense(3)\n   -> Dense(3)\n   -> x\n output x\n}")
    cycle = [d for d in err.diagnostics if d.code in ("E302", "E303")]
    assert cycle
    for block in blocks_of(err.render()):
        assert block[2].strip() != ""


def test_an_error_at_the_end_of_the_file_points_just_past_the_last_character():
    err = failure("model M {\n    input x: [4]\n    x -> Dense(3) -> y\n    output y\n")
    (d,) = err.diagnostics
    assert (d.code, d.line, d.column) == ("E102", 4, 13)
    (block,) = blocks_of(err.render())
    assert block[1:3] == ["        output y", "                ^"]
    assert block[3] == "hint: a '{' is not closed"


@pytest.mark.parametrize(
    "newline,extra",
    [
        ("\n", ""),
        ("\r\n", ""),
        ("\r", ""),  # a lone CR ends a line, as in editors and Python
        ("\n", "\f"),  # a form feed is whitespace, not a line break
        ("\n", "  # caf\u2028e"),  # nor is a Unicode line separator in a comment
        ("\n", "  # \x0b\x1c\x85"),
    ],
)
def test_the_source_line_shown_is_the_line_reported(newline, extra):
    text = newline.join(["model M {" + extra, "    input x: [4]", "    x -> Dense(0) -> y", "    output y", "}"])
    (block,) = blocks_of(failure(text).render())
    assert block[0].startswith("<string>:3:16: ")
    assert block[1:] == ["        x -> Dense(0) -> y", "                   ^"]


def test_no_source_line_is_shown_for_a_blank_line():
    for text in ("", "   \n\n  "):
        assert failure(text).render().splitlines() == [
            "<string>:1:1: error[E102]: the spec is empty",
            "hint: a spec holds a `model Name { ... }`, and optionally blocks and a `train` section",
        ]


def test_a_very_long_source_line_is_cut_short():
    text = "model M { input x: [4] x -> Dense(0) -> y output y }" + " " * 1000 + "# tail"
    (block,) = blocks_of(failure(text).render())
    assert block[1].endswith(" ...") and len(block[1]) < 320
    assert block[2].endswith("^")


# -- positions of schema errors map back to the source --------------------------------------------------


@pytest.mark.parametrize(
    "text,code,line,column,underlined",
    [
        ("model M {\n  input x: [4, 0]\n  x -> Flatten() -> y\n  output y\n}", "E203", 2, 16, "0"),
        ("model M {\n  input x: complex[4]\n  x -> Flatten() -> y\n  output y\n}", "E202", 2, 12, "complex"),
        ("model M {\n  input x: [4]\n  x -> Dense(2) * 0 -> y\n  output y\n}", "E203", 3, 19, "0"),
        (
            "model M { input x: [4] x -> Dense(1) -> y output y }\ntrain {\n  loss = mse\n  epochs = -2\n}",
            "E203",
            4,
            12,
            "-2",
        ),
        (
            'model M { input x: [4] x -> Dense(1) -> y output y }\ntrain {\n  loss = mse\n  batch = "32"\n}',
            "E202",
            4,
            11,
            '"32"',
        ),
        (
            "model M { input x: [4] x -> Dense(1) -> y output y }\ntrain {\n  loss = mse\n  epoch = 3\n}",
            "E201",
            4,
            3,
            "epoch",
        ),
        (
            "model M { input x: [4] x -> Dense(1) -> y output y }\ntrain {\n  loss = mse\n  precision = half\n}",
            "E202",
            4,
            15,
            "half",
        ),
    ],
)
def test_schema_errors_point_at_the_offending_token(text, code, line, column, underlined):
    err = failure(text)
    (d,) = err.diagnostics
    assert (d.code, d.line, d.column) == (code, line, column)
    (block,) = blocks_of(err.render())
    assert caret_target(d, block) == underlined


def test_schema_messages_use_the_words_of_the_language():
    err = failure("model M {\n  input image: [28, 0]\n  image -> Dense(2) * 0 -> y\n  output y\n}")
    assert [d.message for d in err.diagnostics] == [
        "dimension 2 of input 'image' must be ≥ 1, got 0",
        "the repeat count (`* n`) must be ≥ 1, got 0",
    ]
    err = failure("model M { input x: [4] x -> Dense(1) -> y output y }\ntrain { loss = mse validation = 1.5 }")
    assert err.diagnostics[0].message == "training setting 'validation' must be < 1, got 1.5"


# -- helpers ----------------------------------------------------------------------------------------------


def test_did_you_mean_suggests_close_names():
    assert did_you_mean("Dens", ["Dense", "Dropout"]) == "did you mean 'Dense'?"
    assert did_you_mean("conv2d", ["Conv2D", "Conv1D"]) == "did you mean 'Conv2D'?"  # case only
    assert did_you_mean("Adamm", ["Adam", "AdamW", "Adamax", "SGD"]) == "did you mean 'Adam', 'AdamW' or 'Adamax'?"
    assert did_you_mean("xyz", ["Dense", "Dropout"]) is None


def test_clean_makes_control_characters_visible():
    assert clean("a\x1b[31mb") == "a\\x1b[31mb"
    assert clean("tab\tkept") == "tab\tkept"
    assert clean("line\u2028sep") == "line\\u2028sep"
    assert clean("été ✓") == "été ✓"


def test_a_diagnostic_renders_on_its_own():
    d = Diagnostic("E999", "something", Span("f.tfs", 2, 3, 2, 6), "do this")
    assert d.render() == "f.tfs:2:3: error[E999]: something\nhint: do this"
    assert d.render("one\nabcdefgh\n") == "f.tfs:2:3: error[E999]: something\n    abcdefgh\n      ^^^\nhint: do this"


# -- line breaks: LF, CRLF and a lone CR count the same lines ------------------------------------------

# Specs with errors of every pass, each checked with its line breaks written four ways.
BAD_SPECS = {
    "semantic": """# errors of the semantic and shape passes
model M {
    input x: [4]
    x -> Dens(3) -> a  # a comment
    a -> Dense(3, unit=2)
      -> b
    b -> Dropout(1.5) -> c
    [a, c] -> Add() -> d

    output e
}
""",
    "shapes": "model M {\n  input a: [4]\n  input b: [8]\n  # c\n  [a, b] -> Add() -> s\n  output s\n}\n",
    "syntax": "model M {\n    input x: [4]\n    x -> Dense(3  # unclosed\n      -> y\n    output y\n}\n",
    "character": "model M {\n    input x: [4]\n\n    x -> Dense(3) -> y $\n    output y\n}\n",
    "string": 'model M {\n    input x: [4]\n    x -> Dense(3, name="open\n      ) -> y\n}\n',
    "end of file": "model M {\n    input x: [4]\n    x -> Dense(3) -> y\n\n    output y\n\n",
    "nesting": "model M {\n    input x: [4]\n    x -> Dense(1, v=" + "(" * 70 + "\n",
    "train": "model M { input x: [4] x -> Dense(3) -> y output y }\ntrain {\n    epochs = -1\n\n    batch = 0\n}\n",
}


def positions(err: SpecError) -> list:
    return [(d.code, d.line, d.column, d.span.end_line, d.span.end_column) for d in err.diagnostics]


@pytest.mark.parametrize("name", list(BAD_SPECS))
@pytest.mark.parametrize("breaks", LINE_BREAKS)
def test_every_kind_of_line_break_gives_the_same_errors_at_the_same_positions(name, breaks):
    text = BAD_SPECS[name]
    want = failure(text, "bad.tfs")
    got = failure(with_line_breaks(text, breaks, seed=7), "bad.tfs")
    assert positions(got) == positions(want)
    assert got.render() == want.render()  # the same source lines shown, the carets in place
    assert "\r" not in got.render()


@pytest.mark.parametrize("breaks", LINE_BREAKS)
def test_file_errors_count_lines_the_same_way(breaks, tmp_path):
    text = 'model M {\n    input x: [4]\n\n    x -> Dense(3, name="@") -> y\n    output y\n}\n'
    data = with_line_breaks(text, breaks, seed=3).encode("utf-8")
    for bad, column in ((b"\x00", 25), (b"\xff", 25)):
        path = tmp_path / "bad.tfs"
        path.write_bytes(data.replace(b"@", bad))
        with pytest.raises(SpecError) as info:
            tfspec.load(path)
        (d,) = info.value.diagnostics
        assert (d.code, d.line, d.column) == ("E001", 4, column), breaks


def test_a_source_line_is_shown_whatever_its_line_break():
    diagnostic = Diagnostic("E401", "unknown layer 'Dens'", Span("x.tfs", 3, 10, 3, 14))
    for text in ("a\nb\n    x -> Dens(3)\n", "a\r\nb\r\n    x -> Dens(3)\r\n", "a\rb\r    x -> Dens(3)\r"):
        assert diagnostic.render(text).splitlines()[1:] == ["        x -> Dens(3)", "             ^^^^"]
