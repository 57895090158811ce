"""`tfspec fmt`: canonical, idempotent, meaning- and comment-preserving; --check and in-place rewrites."""

from __future__ import annotations

import argparse
import os
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tfspec
from tfspec.backends import allowed_styles
from tfspec.tools import fmt
from tfspec.tools.fmt import format_text, parse_with_comments

from .fuzz import with_line_breaks
from .helpers import SPECS

# Messy but valid specs: odd spacing, comments everywhere, long chains, nested calls, dicts,
# blocks with defaults, repetition, list sources.
MESSY = {
    "spacing": """
model   Tiny{input x:float32[ 4 ]
x->Dense( 3,activation = "relu" )->Dense(2)->y      output y}
train{loss=mse  epochs=2 batch  =  8
validation = .25}
""",
    "comments": """# file header
   # second header line, indented

# a group of its own
block Res( filters , kernel = 3 , ) {   # the block
    input x   # its input
    # before the chain
    x -> Conv2D(filters, kernel, padding = "same")  # conv
      # between steps
      -> BatchNormalization()
      -> ReLU() -> y   # end of chain
    output y  # out
    # last words of the block
}
# between sections
model WithComments {
    input image: float32[ 8, 8, 1 ]  # pixels



    image -> Res(4) * 2 -> h  # repeated block
    [image, h] -> Concatenate( # after paren
        axis = -1 # the channels
    ) -> merged
    merged -> Flatten() -> Dense(10, activation="softmax") -> probs
    output probs
}
train {
    optimizer = Adam(learning_rate=1e-3)  # the usual
    loss = SparseCategoricalCrossentropy()
    metrics = [accuracy,  # the first
               SparseTopKCategoricalAccuracy(k=3)]     # the second
    epochs = 2
}
# the end
""",
    "long_chain": """model Long { input x: float32[28, 28, 1]
x -> Conv2D(32, 3, padding="same", activation="relu") -> Conv2D(64, 3, padding="same", activation="relu") -> MaxPooling2D(2) -> Flatten() -> Dropout(0.25) -> Dense(128, activation="relu") -> Dense(10, activation="softmax") -> y
output y }
""",
    "nested_calls": """model Nested {
input tokens: int32[None]
tokens -> Embedding(1000, 16, embeddings_initializer=RandomUniform(minval=-0.05, maxval=0.05, seed=3), mask_zero=true) -> Bidirectional(LSTM(8, return_sequences=false, dropout=0.1, recurrent_dropout=0.0, kernel_initializer="glorot_uniform")) -> Dense(1, activation="sigmoid") -> p
output p
}
train { optimizer = SGD(learning_rate=ExponentialDecay(initial_learning_rate=0.1, decay_steps=1000, decay_rate=0.96, staircase=True), momentum=0.9)
loss = binary_crossentropy validation = 0.25 metrics = [accuracy, AUC(name="auc")] callbacks=[EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True), EarlyStopping(monitor="loss", patience=1, min_delta=1E-6)] }
""",
    "dicts_and_outputs": """model Two {
    input a: float32[4]
        input b: float32[4]
    layer shared = Dense(3)
    a -> shared -> Dense(1, activation="sigmoid", name="first") -> pa
    b -> shared -> Dense(1, activation="sigmoid", name="second") -> pb
    output pa ,pb
}
train {
    loss = {pa: BinaryCrossentropy(), "pb": BinaryCrossentropy(from_logits=False, label_smoothing=0.1, axis=-1)}
    loss_weights = {pa: 1.0, pb: 0.5}
    metrics = {pa: [accuracy], pb: [accuracy, AUC()]}
    epochs = 1
}
""",
    "block_defaults_and_lists": """block Stack(units, rate=0.5, act="relu", pool=(2, 2), sizes=[1, 2]) { input x x -> Dense(units, activation=act) -> Dropout(rate) -> y output y }
model M { input x: float32[16] x -> Stack(8) -> a x -> Stack(units=8, rate=0.25) -> b [a, b] -> Add() -> c [a, b, c] -> Concatenate() -> d output d }
""",
    "search": """# the space
search{units=choice(64,128,256)   # widths
  depth = int(1,3)
    learning_rate=float(1e-4, 1e-2, log=true)
# own line
 bn = boolean(default=true) rate=float(0.1,0.5,step=0.1,default=0.2)}
block Unit(width, norm=false) { input x if norm { x -> Dense(width) -> BatchNormalization() -> y } else { x -> Dense(width) -> y } output y }
model Searched { input x: float32[16]
x -> Unit(units, norm=bn) * depth -> Dropout(rate) -> Dense(1) -> y output y }
train { optimizer = Adam(learning_rate=learning_rate) loss = mse epochs=1 }
""",
}

EXAMPLES = [(os.path.basename(p), open(p, encoding="utf-8").read()) for p in SPECS] + list(MESSY.items())
IDS = [name for name, _ in EXAMPLES]


def comment_texts(text: str) -> list[str]:
    return [c.text for c in parse_with_comments(text)[1]]


@pytest.mark.parametrize("name,text", EXAMPLES, ids=IDS)
def test_formatting_twice_changes_nothing(name, text):
    once = format_text(text, name)
    assert format_text(once, name) == once


@pytest.mark.parametrize("name,text", EXAMPLES, ids=IDS)
def test_formatted_spec_means_the_same(name, text):
    before = tfspec.loads(text, filename=name)
    after = tfspec.loads(format_text(text, name), filename=name)
    assert after.spec == before.spec
    assert after.searched == before.searched  # a search section's spec as written (None without one)
    styles = allowed_styles(before)
    assert styles == allowed_styles(after)
    for style in styles:
        assert tfspec.generate(after, style) == tfspec.generate(before, style)


@pytest.mark.parametrize("name,text", EXAMPLES, ids=IDS)
def test_every_comment_survives_in_order(name, text):
    assert comment_texts(format_text(text, name)) == comment_texts(text)


@pytest.mark.parametrize("name,text", EXAMPLES, ids=IDS)
def test_layout_basics(name, text):
    out = format_text(text, name)
    assert out.endswith("\n") and not out.endswith("\n\n")
    assert "\t" not in out and "\n\n\n" not in out
    for line in out.splitlines():
        assert line == line.rstrip()
        assert (len(line) - len(line.lstrip())) % 2 == 0 or line.lstrip().startswith("->")


def test_canonical_layout():
    got = format_text(MESSY["spacing"] + MESSY["block_defaults_and_lists"].replace("model M", "model N"))
    assert (
        got
        == """model Tiny {
    input x: float32[4]
    x -> Dense(3, activation="relu") -> Dense(2) -> y
    output y
}

train {
    loss       = mse
    epochs     = 2
    batch      = 8
    validation = .25
}

block Stack(units, rate=0.5, act="relu", pool=(2, 2), sizes=[1, 2]) {
    input x
    x -> Dense(units, activation=act) -> Dropout(rate) -> y
    output y
}

model N {
    input x: float32[16]
    x -> Stack(8) -> a
    x -> Stack(units=8, rate=0.25) -> b
    [a, b] -> Add() -> c
    [a, b, c] -> Concatenate() -> d
    output d
}
"""
    )


def test_search_section_is_laid_out_like_train():
    got = format_text(MESSY["search"])
    assert got.startswith(
        """# the space
search {
    units         = choice(64, 128, 256)  # widths
    depth         = int(1, 3)
    learning_rate = float(1e-4, 1e-2, log=True)
    # own line
    bn            = boolean(default=True)
    rate          = float(0.1, 0.5, step=0.1, default=0.2)
}

block Unit(width, norm=False) {
"""
    )
    assert "    x -> Unit(units, norm=bn) * depth -> Dropout(rate) -> Dense(1) -> y\n" in got
    assert format_text("search{}model M{}") == "search {}\n\nmodel M {}\n"


def test_a_repetition_by_name_stays_with_its_step_when_a_chain_breaks():
    steps = " -> ".join(f'Dense(units, activation="relu", name="d{i}") * depth' for i in range(3))
    search = "search { units = choice(8, 16) depth = int(1, 2) }"
    text = f"{search} model M {{ input x: float32[4] x -> {steps} -> y output y }}"
    lines = format_text(text).splitlines()
    assert '    x -> Dense(units, activation="relu", name="d0") * depth' in lines
    assert '      -> Dense(units, activation="relu", name="d2") * depth' in lines


def test_long_chain_breaks_before_each_arrow():
    out = format_text(MESSY["long_chain"])
    lines = out.splitlines()
    assert lines[2] == '    x -> Conv2D(32, 3, padding="same", activation="relu")'
    assert lines[3] == '      -> Conv2D(64, 3, padding="same", activation="relu")'
    assert lines[-3] == "      -> y"
    assert all(len(line) <= fmt.WIDTH for line in lines)


def test_chain_of_exactly_the_width_stays_on_one_line():
    chain = "x -> Dense(1) -> " + "y" * (fmt.WIDTH - len("    x -> Dense(1) -> "))
    text = f"model M {{ input x: float32[4] {chain} output {chain.split()[-1]} }}"
    assert f"    {chain}\n" in format_text(text)
    longer = chain + "z"
    text = f"model M {{ input x: float32[4] {longer} output {longer.split()[-1]} }}"
    assert "    x -> Dense(1)\n      -> y" in format_text(text)


def test_tokens_are_kept_as_written_and_constants_capitalised():
    text = (
        "model M { input x: float32[4] x -> Dense(+2, use_bias=true) -> Dropout(.5) -> y output y }\n"
        "train { optimizer = Adam(learning_rate=1e-3, amsgrad=false) loss = 'mse' epochs = 3 }"
    )
    out = format_text(text)
    for piece in (
        "Dense(+2, use_bias=True)",
        "Dropout(.5)",
        "Adam(learning_rate=1e-3, amsgrad=False)",
        "loss      = 'mse'",
    ):
        assert piece in out


def test_blank_lines_inside_bodies_are_kept_but_collapsed():
    out = format_text("model M {\n\n\n    input x: float32[4]\n\n\n\n    x -> Dense(2) -> y\n    output y\n\n}\n")
    assert out == "model M {\n    input x: float32[4]\n\n    x -> Dense(2) -> y\n    output y\n}\n"


def test_comments_keep_their_kind():
    out = format_text(MESSY["comments"])
    assert out.startswith("# file header\n# second header line, indented\n\n# a group of its own\nblock Res(")
    assert "    input x  # its input\n    # before the chain\n" in out
    assert (
        "    metrics   = [\n        accuracy,  # the first\n        SparseTopKCategoricalAccuracy(k=3),\n    ]  # the second\n"
        in out
    )
    assert "}\n\n# between sections\nmodel WithComments {\n" in out
    assert out.endswith("}\n# the end\n")


def test_a_comment_inside_brackets_breaks_them_one_item_per_line():
    out = format_text("model M { input x: float32[4] x -> Dense(2, # two units\n activation='relu') -> y output y }")
    assert (
        "    x -> Dense(\n             2,  # two units\n             activation='relu',\n         )\n      -> y\n"
        in out
    )


def test_empty_sections():
    assert format_text("model M{}train{\n\n}") == "model M {}\n\ntrain {}\n"


def test_syntax_errors_are_spec_errors():
    with pytest.raises(tfspec.SpecError) as info:
        format_text("model M { input x: [4] x -> Dense(10 20) -> y }", "bad.tfs")
    assert "E100" in str(info.value)


# -- property: the layout depends on the tokens only; comments anywhere survive -----------------
TOKEN = re.compile(
    r"""#[^\n]*|"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|->|==|!=|<=|>=|//|\.\.\.|[+-]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?"""
    r"""|[A-Za-z_][A-Za-z0-9_]*|\S"""
)


def tokens(text: str) -> list[str]:
    """The tokens of `text`; an index's `[`, which must stay glued to what it indexes, is kept
    with the token before it (`x[`)."""
    found: list[str] = []
    last_end = -1
    for match in TOKEN.finditer(text):
        token = match.group()
        if token == "[" and match.start() == last_end and re.match(r"""[A-Za-z0-9_\])"']""", found[-1][-1]):
            found[-1] += token
        elif not token.startswith("#"):
            found.append(token)
        last_end = match.end()
    return found


def join(parts: list[str], gaps: list[str]) -> str:
    return "".join(p + g for p, g in zip(parts, gaps, strict=True))


GAP = st.sampled_from([" ", "  ", "\t", "\n", " \n   "])
GAP_OR_COMMENT = st.one_of(
    GAP, GAP, st.integers(0, 99).map(lambda n: f"  # note {n}\n"), st.integers(0, 99).map(lambda n: f"\n# line {n}\n")
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), path=st.sampled_from(SPECS))
def test_respacing_does_not_change_the_result(data, path):
    parts = tokens(open(path, encoding="utf-8").read())
    plain = " ".join(parts)
    gaps = data.draw(st.lists(GAP, min_size=len(parts), max_size=len(parts)))
    assert format_text(join(parts, gaps)) == format_text(plain)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), path=st.sampled_from(SPECS))
def test_comments_anywhere_survive_and_settle(data, path):
    parts = tokens(open(path, encoding="utf-8").read())
    gaps = data.draw(st.lists(GAP_OR_COMMENT, min_size=len(parts), max_size=len(parts)))
    text = join(parts, gaps)
    once = format_text(text)  # also checks internally that the tree is unchanged
    assert comment_texts(once) == comment_texts(text)
    assert format_text(once) == once


# -- the command ------------------------------------------------------------------------------------
def run_fmt(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="tfspec")
    fmt.register(parser.add_subparsers())
    args = parser.parse_args(["fmt", *argv])
    return args.run(args)


def write(path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_check_reports_a_diff_and_changes_nothing(tmp_path, capsys):
    messy = write(tmp_path / "messy.tfs", MESSY["spacing"])
    tidy = write(tmp_path / "tidy.tfs", format_text(MESSY["spacing"]))
    assert run_fmt("--check", tidy) == 0
    assert capsys.readouterr().out == ""
    assert run_fmt("--check", messy, tidy) == 1
    out = capsys.readouterr().out
    assert out.startswith(f"--- {messy}\n+++ {messy} (formatted)\n@@ ")
    assert "+    loss       = mse\n" in out
    assert (tmp_path / "messy.tfs").read_text(encoding="utf-8") == MESSY["spacing"]


def test_rewrites_in_place_only_when_needed(tmp_path, capsys):
    messy = write(tmp_path / "messy.tfs", MESSY["comments"])
    assert run_fmt(messy) == 0
    assert capsys.readouterr().out == f"formatted {messy}\n"
    formatted = (tmp_path / "messy.tfs").read_text(encoding="utf-8")
    assert formatted == format_text(MESSY["comments"])
    before = os.stat(messy).st_mtime_ns
    os.utime(messy, ns=(before - 10**9, before - 10**9))
    assert run_fmt(messy) == 0
    assert capsys.readouterr().out == ""
    assert os.stat(messy).st_mtime_ns == before - 10**9  # not written again
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


def test_a_file_with_a_syntax_error_is_left_alone(tmp_path, capsys):
    bad_text = "model M {\n    input x: [4]\n    x -> Dense(10 20) -> y\n"
    bad = write(tmp_path / "bad.tfs", bad_text)
    good = write(tmp_path / "good.tfs", MESSY["spacing"])
    for argv in ((bad, good), ("--check", bad)):
        assert run_fmt(*argv) == 1
        err = capsys.readouterr().err
        assert f"{bad}:3:" in err and "error[E100]" in err
        assert (tmp_path / "bad.tfs").read_text(encoding="utf-8") == bad_text
    assert (tmp_path / "good.tfs").read_text(encoding="utf-8") == format_text(MESSY["spacing"])


def test_missing_file(tmp_path, capsys):
    assert run_fmt(str(tmp_path / "nope.tfs")) == 1
    assert "error[E001]" in capsys.readouterr().err


def test_standard_input(monkeypatch, capsys):
    import io

    class Stdin:
        buffer = io.BytesIO(MESSY["spacing"].encode())

    monkeypatch.setattr("sys.stdin", Stdin)
    assert run_fmt("-") == 0
    assert capsys.readouterr().out == format_text(MESSY["spacing"])


# -- line breaks ------------------------------------------------------------------------------------
# CRLF and a lone CR are line breaks when reading (a comment ends at any of them); fmt writes LF.


@pytest.mark.parametrize("breaks", ["crlf", "cr", "mixed"])
@pytest.mark.parametrize("name,text", EXAMPLES, ids=IDS)
def test_every_kind_of_line_break_formats_the_same(name, text, breaks):
    other = with_line_breaks(text, breaks, seed=len(text))
    result = format_text(other, name)
    assert result == format_text(text, name)
    assert "\r" not in result
    assert format_text(result, name) == result
    assert comment_texts(other) == comment_texts(text)


def test_a_comment_ends_at_a_lone_carriage_return():
    text = "model M {\n    input x: [4]\n    x -> Dense(4)  # comment\r      -> Dense(1000000) -> y\n    output y\n}\n"
    result = format_text(text)
    assert result == (
        "model M {\n"
        "    input x: [4]\n"
        "    x -> Dense(4)  # comment\n"
        "      -> Dense(1000000)\n"
        "      -> y\n"
        "    output y\n"
        "}\n"
    )
    assert tfspec.loads(result).spec == tfspec.loads(text).spec


def test_fmt_writes_lf_and_check_says_when_only_line_breaks_differ(tmp_path, capsys):
    tidy = format_text(MESSY["comments"])
    path = tmp_path / "crlf.tfs"
    path.write_bytes(tidy.replace("\n", "\r\n").encode("utf-8"))
    assert run_fmt("--check", str(path)) == 1
    out = capsys.readouterr().out
    assert out == f"{path}: line breaks would be written as LF (the file has CRLF or CR line breaks)\n"  # no diff
    assert path.read_bytes() == tidy.replace("\n", "\r\n").encode("utf-8")
    assert run_fmt(str(path)) == 0
    assert capsys.readouterr().out == f"formatted {path}\n"
    assert path.read_bytes() == tidy.encode("utf-8")
    assert run_fmt("--check", str(path)) == 0


def test_check_shows_only_layout_changes_of_a_file_with_cr_line_breaks(tmp_path, capsys):
    path = tmp_path / "cr.tfs"
    path.write_bytes(MESSY["spacing"].replace("\n", "\r").encode("utf-8"))
    assert run_fmt("--check", str(path)) == 1
    out = capsys.readouterr().out
    note, diff = out.split("\n", 1)
    assert note == f"{path}: line breaks would be written as LF (the file has CRLF or CR line breaks)"
    assert diff.startswith(f"--- {path}\n+++ {path} (formatted)\n@@ ")
    assert "\r" not in diff and "+    loss       = mse\n" in diff


# -- language v2: assignments, if, several chain targets, second argument lists, expressions ------
# Only Lark's tree is compared here (fmt needs nothing more): the meaning is kept when the tree of
# the formatted text equals the tree of the source.
V2 = {
    "assign_and_apply": """block Enc(units) { input x
out,h ,c=LSTM( units,return_state = True )( x )
d=abs(a-b)  hs = x*relu6(x+3)/6
first=x[ :,0 ]  c2 = x.shape[ -1 ] output out }
""",
    "if_chains": """block Res(stride, c, filters) { input x x -> Conv2D(filters, 3, strides=stride) -> y
if stride==1 and c==filters{[x,y]->Add()->z}else if stride == 2 { y -> Identity() -> z }
else{ z = y } if not (stride > 1) {} else {}
output z }
""",
    "steps_with_second_arguments": """model Seq { input enc_in: float32[None, 8] input dec_in: float32[None, 8]
out, h, c = LSTM(16, return_state=True)(enc_in)
dec_in -> LSTM(16, return_sequences=True, return_state=True)( initial_state = [h, c] ) -> seq , h2,c2
[seq, out] -> MultiHeadAttention(num_heads=2, key_dim=32)(attention_mask=m, use_causal_mask=True) * 2 -> att
output att }
""",
    "expressions": """block E(a, b, c) { input x
e = -(a+b) - -1 - - 1 - (b-c) - (a - b) - c
f = not a or (b and not (c or a))
g = (a < b) == (c != -a)
i = x[..., 0] + x[1:2] * x[::2] // x[:-1] % x[:, 1:, ::-1]
j = ((a * b)) + (a + b) * c
k = (x.shape)[-1] + f(1)(2)[0].real
output e }
""",
    "comments": """block C(n) {   # the block
    input x
    # before the if
    if n > 1 {   # then
        x -> Dense(n) -> y   # a chain
        # last in then
    }   # after then
    else {
        # only a comment
        y = x
    }
    s = a +   # after the operator
        b * (   # inside parentheses
        c - 1)
    t = x[0,   # the first
          1]
    output y
}
""",
}
V2_IDS = list(V2)


def tree_of(text: str):
    return parse_with_comments(text)[0]


@pytest.mark.parametrize("text", V2.values(), ids=V2_IDS)
def test_v2_formatting_keeps_the_tree_and_comments_and_settles(text):
    once = format_text(text)
    assert tree_of(once) == tree_of(text)
    assert comment_texts(once) == comment_texts(text)
    assert format_text(once) == once
    for line in once.splitlines():
        assert line == line.rstrip() and len(line) <= fmt.WIDTH


def test_v2_canonical_layout():
    assert (
        format_text(V2["assign_and_apply"] + V2["if_chains"] + V2["steps_with_second_arguments"])
        == """block Enc(units) {
    input x
    out, h, c = LSTM(units, return_state=True)(x)
    d = abs(a - b)
    hs = x * relu6(x + 3) / 6
    first = x[:, 0]
    c2 = x.shape[-1]
    output out
}

block Res(stride, c, filters) {
    input x
    x -> Conv2D(filters, 3, strides=stride) -> y
    if stride == 1 and c == filters {
        [x, y] -> Add() -> z
    } else if stride == 2 {
        y -> Identity() -> z
    } else {
        z = y
    }
    if not stride > 1 {} else {}
    output z
}

model Seq {
    input enc_in: float32[None, 8]
    input dec_in: float32[None, 8]
    out, h, c = LSTM(16, return_state=True)(enc_in)
    dec_in -> LSTM(16, return_sequences=True, return_state=True)(initial_state=[h, c])
           -> seq, h2, c2
    [seq, out] -> MultiHeadAttention(num_heads=2, key_dim=32)(
                      attention_mask=m,
                      use_causal_mask=True,
                  ) * 2
               -> att
    output att
}
"""
    )


def expression(text: str) -> str:
    """`text` as fmt writes it as the value of an assignment."""
    out = format_text(f"block B(a) {{ v = {text} }}")
    return out.split("v = ", 1)[1].rsplit("\n}", 1)[0]


@pytest.mark.parametrize(
    "text,expected",
    [
        ("(a - b) - c", "a - b - c"),  # left-associative: no parentheses needed on the left
        ("a - (b - c)", "a - (b - c)"),
        ("a / (b * c)", "a / (b * c)"),
        ("(a*b)+c", "a * b + c"),
        ("a*(b+c)", "a * (b + c)"),
        ("a // b % c", "a // b % c"),
        ("-(a + b)", "-(a + b)"),
        ("(-a) * b", "-a * b"),
        ("-(x[0])", "-x[0]"),
        ("-(a.b)", "-a.b"),
        ("(-a).b", "(-a).b"),
        ("not (a == b)", "not a == b"),
        ("(not a) == b", "(not a) == b"),
        ("(a or b) and c", "(a or b) and c"),
        ("a or (b and c)", "a or b and c"),
        ("(a or b) or c", "a or b or c"),
        ("a or (b or c)", "a or (b or c)"),
        ("not not a", "not not a"),
        ("(a<b)==(c>=d)", "(a < b) == (c >= d)"),
        ("a+b<c*d", "a + b < c * d"),
        ("((x))[0]", "x[0]"),
        ("(x.shape)[-1]", "x.shape[-1]"),
        ("(a + b)[0]", "(a + b)[0]"),
        ("f(1)(2)", "f(1)(2)"),
        ("(f)(2)", "(f)(2)"),  # `f(2)` would be a call of f, not of the value f
        ("({a: 1})['a']", "({ a: 1 })['a']"),  # `}[` would open a list
        ("(1).real", "(1).real"),
        ("(1.5)[0]", "(1.5)[0]"),
        ("x[ 1 : 2 ]", "x[1:2]"),
        ("x[ : : 2 ]", "x[::2]"),
        ("x[::]", "x[:]"),
        ("x[ ..., a + 1 : ]", "x[..., a + 1:]"),
        ("x[ ]", "x[]"),
        ("(a, )", "(a,)"),
    ],
)
def test_parentheses_only_where_precedence_needs_them(text, expected):
    assert expression(text) == expected
    assert tree_of(f"block B(a) {{ v = {expected} }}") == tree_of(f"block B(a) {{ v = {text} }}")


@pytest.mark.parametrize(
    "text,expected,kind",
    [
        ("-1", "-1", "int"),  # a negative number, as written
        ("-1.5e-3", "-1.5e-3", "float"),
        ("- 1", "-(1)", "neg"),  # the negation of 1: `-1` would read as the number
        ("-(1)", "-(1)", "neg"),
        ("- .5", "-(.5)", "neg"),
        ("-(-1)", "-(-1)", "neg"),
        ("--1", "-(-1)", "neg"),
        ("- -x", "-(-x)", "neg"),
        ("-(+2)", "-(+2)", "neg"),
        ("a - -1", "a - -1", "sub"),
        ("a-1", "a - 1", "sub"),
        ("a - - 1", "a - -(1)", "sub"),
        ("-1 - a", "-1 - a", "sub"),
        ("(-1)[0]", "(-1)[0]", "index"),
        ("- 1[0]", "-(1)[0]", "neg"),
        ("x[-1]", "x[-1]", "index"),
    ],
)
def test_negative_numbers_and_negations_stay_apart(text, expected, kind):
    assert expression(text) == expected
    written = tree_of(f"block B(a) {{ v = {expected} }}")
    assert written == tree_of(f"block B(a) {{ v = {text} }}")
    value = next(written.find_data("assign")).children[-1]
    assert value.data == kind


def test_comments_in_branches_and_expressions():
    out = format_text(V2["comments"])
    assert (
        out
        == """block C(n) {  # the block
    input x
    # before the if
    if n > 1 {  # then
        x -> Dense(n) -> y  # a chain
        # last in then
    }  # after then
    else {
        # only a comment
        y = x
    }
    s = a +    # after the operator
        b * (  # inside parentheses
        c - 1)
    t = x[
        0,  # the first
        1
    ]
    output y
}
"""
    )


def test_a_long_second_argument_list_breaks_like_a_call():
    text = (
        "model M { input x: float32[None, 4] "
        "x -> LSTM(units, return_sequences=True, return_state=True)(initial_state=[state_h, state_c], "
        "training=True, mask=some_mask) * 2 -> seq, h, c output seq }"
    )
    out = format_text(text)
    assert (
        "    x -> LSTM(units, return_sequences=True, return_state=True)(\n"
        "             initial_state=[state_h, state_c],\n"
        "             training=True,\n"
        "             mask=some_mask,\n"
        "         ) * 2\n"
        "      -> seq, h, c\n"
    ) in out
    assert tree_of(out) == tree_of(text) and format_text(out) == out


def test_long_values_break_inside_their_brackets_not_at_operators():
    text = (
        "block B(a) { input x "
        "out, state_h, state_c = LSTM(units, return_sequences=True, return_state=True, dropout=0.1)(x, training=True) "
        "total = some_function_name(first_argument_value, second_argument_value) + other(third_value, fourth) * 2 "
        "sum = aaaaaaaaaaaaaaaaaaaaaaaaa + bbbbbbbbbbbbbbbbbbbbbbbbbbbbbb * cccccccccccccccccccccccccccccc - ddddddddddddddd "
        "part = x[aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb, ..., cccc:ddd:2] "
        "output out }"
    )
    out = format_text(text)
    assert (
        "    out, state_h, state_c = LSTM(units, return_sequences=True, return_state=True, dropout=0.1)(\n"
        "        x,\n"
        "        training=True,\n"
        "    )\n"
    ) in out
    assert (
        "    total = some_function_name(first_argument_value, second_argument_value) + other(\n"
        "        third_value,\n"
        "        fourth,\n"
        "    ) * 2\n"
    ) in out
    # an operator expression with no brackets is not broken, even when too long
    assert "    sum = aaaaaaaaaaaaaaaaaaaaaaaaa + bbbbbbbbbbbbbbbbbbbbbbbbbbbbbb * cccccc" in out
    # an index broken over lines: no comma after its last item (`x[0,]` reads as a tuple in Python)
    assert "        ...,\n        cccc:ddd:2\n    ]\n" in out
    assert tree_of(out) == tree_of(text) and format_text(out) == out


def test_a_comment_between_a_value_and_its_index_keeps_the_index_glued():
    text = "block B(a) { v = (x  # the tensor\n)[0] }"
    out = format_text(text)
    assert out == "block B(a) {\n    v = (x  # the tensor\n        )[0]\n}\n"
    assert tree_of(out) == tree_of(text) and format_text(out) == out


def test_a_comment_before_else_puts_else_on_its_own_line():
    text = "model M { if a { x -> y } # why\n# and more\nelse { z = 1 } }"
    out = format_text(text)
    assert "    }  # why\n    # and more\n    else {\n        z = 1\n    }\n" in out
    assert tree_of(out) == tree_of(text) and format_text(out) == out


# -- property: random expressions survive formatting (precedence, parentheses, comments) -----------
# Expressions are generated fully parenthesised (so that they parse as generated), with optional
# extra parentheses, line breaks and comments between tokens; fmt must print them back to the same
# tree and settle (that it writes no needless parentheses is checked on examples above).
EXPR_GAP = st.sampled_from([" ", " ", "", "\n", "  # note\n", "\n# own line\n"])
EXPR_LEAF = st.one_of(
    st.sampled_from(["a", "b", "x", "shape"]),
    st.sampled_from(["1", "-1", "+2", "0.5", "-.5", "1e3", "1.", '"s"', "True", "None", "{a: 1}", "()"]),
)
EXPR_OPERATOR = st.sampled_from(["+", "-", "*", "/", "//", "%", "and", "or", "==", "!=", "<", "<=", ">", ">="])


def compound(inner):
    bound = st.one_of(st.just(""), inner)
    step = st.one_of(st.just(""), st.just(":"), inner.map(lambda e: ":" + e))
    subscript = st.one_of(inner, st.just("..."), st.tuples(bound, bound, step).map(lambda t: f"{t[0]}:{t[1]}{t[2]}"))
    values = st.lists(inner, max_size=3).map(", ".join)
    return st.one_of(
        st.tuples(inner, EXPR_GAP, EXPR_OPERATOR, EXPR_GAP, inner).map(
            lambda t: f"({t[0]}){t[1]}{t[2]} {t[3]}({t[4]})"
        ),
        st.tuples(st.sampled_from(["-", "- ", "not "]), EXPR_GAP, inner).map(lambda t: f"{t[0]}{t[1]}({t[2]})"),
        st.tuples(inner, st.lists(subscript, max_size=3), EXPR_GAP, EXPR_GAP).map(
            lambda t: f"({t[0]})[{t[2]}{', '.join(t[1])}{t[3]}]"
        ),
        st.tuples(inner, EXPR_GAP, EXPR_GAP, st.sampled_from(["shape", "real"])).map(
            lambda t: f"({t[0]}){t[1]}.{t[2]}{t[3]}"
        ),
        st.tuples(inner, values, EXPR_GAP).map(lambda t: f"({t[0]}){t[2]}({t[1]})"),
        st.tuples(values, EXPR_GAP).map(lambda t: f"f({t[1]}{t[0]})"),
        values.map(lambda v: f"[{v}]"),
        inner.map(lambda e: f"(({e}))"),
    )


EXPRESSIONS = st.recursive(EXPR_LEAF, compound, max_leaves=10)
PLACES = [
    "block B(a) {{ d = {} }}",
    "model M {{ x -> Dense(units={}) -> y }}",
    "model M {{ if {} {{ e = 1 }} }}",
    "model M {{ x -> L(1)(a, k={}) * 2 -> y, z }}",
    "train {{ s = {} }}",
]


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(value=EXPRESSIONS, place=st.sampled_from(PLACES))
def test_random_expressions_keep_their_tree(value, place):
    text = place.format(value)
    once = format_text(text)  # also checks internally that the tree and comments are unchanged
    assert tree_of(once) == tree_of(text)
    assert comment_texts(once) == comment_texts(text)
    assert format_text(once) == once
