"""`tfspec schema`, `tfspec explain` with the code table, and the Pygments lexer."""

from __future__ import annotations

import argparse
import glob
import json
import os
import re
import shutil
import subprocess
import sys

import pytest

import tfspec
from tfspec import codes
from tfspec.backends import generate
from tfspec.tools import schema_cmd

from .helpers import ROOT, SPECS


def run_command(module, *argv: str) -> int:
    """Run one command module the way tfspec.cli does, without the other modules."""
    parser = argparse.ArgumentParser(prog="tfspec")
    module.register(parser.add_subparsers())
    args = parser.parse_args(list(argv))
    return args.run(args)


# -- tfspec schema ------------------------------------------------------------------------------------
def test_schema_is_deterministic_draft_2020_12_and_fits_every_spec(capsys):
    import jsonschema

    assert run_command(schema_cmd, "schema") == 0
    text = capsys.readouterr().out
    assert run_command(schema_cmd, "schema") == 0
    assert capsys.readouterr().out == text
    schema = json.loads(text)
    assert text == json.dumps(schema, indent=2, sort_keys=True) + "\n"
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    for path in SPECS:
        validator.validate(tfspec.load(path).spec)


def test_schema_rejects_a_broken_spec_dict():
    import jsonschema

    schema = json.loads(schema_cmd.schema_text())
    spec = tfspec.load(SPECS[0]).spec
    spec["model"]["body"]["chains"][0]["steps"][0]["repeat"] = 0
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(schema).validate(spec)


def test_schema_output_file(tmp_path, capsys):
    target = tmp_path / "out" / "spec.schema.json"
    assert run_command(schema_cmd, "schema", "-o", str(target)) == 0
    assert capsys.readouterr().out == ""
    assert target.read_text(encoding="utf-8") == schema_cmd.schema_text()


# -- tfspec explain -----------------------------------------------------------------------------------
def emitted_codes() -> set[str]:
    """Every diagnostic code written in the sources, except in the table itself."""
    found = set()
    for path in glob.glob(os.path.join(ROOT, "tfspec", "**", "*.py"), recursive=True):
        if os.path.abspath(path) == os.path.abspath(codes.__file__):
            continue
        with open(path, encoding="utf-8") as handle:
            found.update(re.findall(r"""["'](E\d{3})["']""", handle.read()))
    return found


def test_every_emitted_code_is_explained():
    assert sorted(emitted_codes() - set(codes.TABLE)) == []


def test_every_explained_code_is_emitted():
    assert sorted(set(codes.TABLE) - emitted_codes()) == []


def test_table_is_sorted_and_complete():
    assert [c.code for c in codes.CODES] == sorted(codes.TABLE)
    for entry in codes.CODES:
        assert entry.title and entry.explanation and entry.bad and entry.fix
        assert entry.check in (None, "load", "sequential", "functional", "subclassing")


def produce(text: str, check: str):
    spec = tfspec.loads(text, filename="example.tfs")
    if check != "load":
        generate(spec, check)
    return spec


SPEC_EXAMPLES = [entry for entry in codes.CODES if entry.check is not None]


@pytest.mark.parametrize("entry", SPEC_EXAMPLES, ids=[e.code for e in SPEC_EXAMPLES])
def test_the_bad_example_raises_its_code(entry):
    with pytest.raises(tfspec.SpecError) as info:
        produce(entry.bad, entry.check)
    assert entry.code in [d.code for d in info.value.diagnostics]


@pytest.mark.parametrize("entry", SPEC_EXAMPLES, ids=[e.code for e in SPEC_EXAMPLES])
def test_the_fixed_example_works_and_is_formatted(entry):
    from tfspec.tools.fmt import format_text

    produce(entry.fix, entry.check)
    assert format_text(entry.fix) == entry.fix


def test_the_examples_that_are_not_specs():
    from tfspec.check.schema import validate

    with pytest.raises(tfspec.SpecError) as info:
        tfspec.load(os.path.join(ROOT, "specs", "mnist.tfs"))
    assert info.value.diagnostics[0].code == "E001"
    assert "specs/mnist.tfs" in codes.TABLE["E001"].bad
    tfspec.load(os.path.join(ROOT, "specs", "mnist_mlp.tfs"))
    bad = {"blocks": [], "model": None, "train": None, "extra": 1}
    assert [d.code for d in validate(bad, {}, "x")] == ["E200"]
    del bad["extra"]
    assert validate(bad, {}, "x") == []


def test_explain_prints_title_example_and_fix(capsys):
    assert run_command(codes, "explain", "E301") == 0
    out = capsys.readouterr().out
    entry = codes.TABLE["E301"]
    assert out.startswith(f"E301: {entry.title}\n")
    assert "Example:" in out and "Fix:" in out and "    output z" in out
    assert run_command(codes, "explain", "e301") == 0
    assert capsys.readouterr().out == out
    assert run_command(codes, "explain", "301") == 0
    assert capsys.readouterr().out == out


def test_explain_unknown_code(capsys):
    assert run_command(codes, "explain", "E399") == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "unknown error code 'E399'" in captured.err
    assert "did you mean E301, E302" in captured.err
    assert run_command(codes, "explain", "bogus") == 2
    assert "'bogus' is not an error code, a layer, an operation or a train-section name" in capsys.readouterr().err
    assert run_command(codes, "explain", "EarlyStoping") == 2
    assert "did you mean EarlyStopping" in capsys.readouterr().err


def test_explain_without_a_code_lists_them_all(capsys):
    assert run_command(codes, "explain") == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == [c.code for c in codes.CODES]
    assert lines[0] == f"E001  {codes.TABLE['E001'].title}"


# -- the Pygments lexer (skipped where Pygments is not installed) ------------------------------------
@pytest.fixture
def lex():
    pytest.importorskip("pygments")
    from tfspec.tools.lexer import TfspecLexer

    def tokens(text: str) -> list:
        return [(kind, value) for _, kind, value in TfspecLexer().get_tokens_unprocessed(text)]

    return tokens


@pytest.mark.parametrize("path", SPECS, ids=[os.path.basename(p) for p in SPECS])
def test_lexing_a_spec_round_trips_without_errors(lex, path):
    from pygments.token import Error

    text = open(path, encoding="utf-8").read()
    found = lex(text)
    assert "".join(value for _, value in found) == text
    assert [value for kind, value in found if kind is Error] == []


def test_token_types(lex):
    from pygments.token import Comment, Keyword, Name, Number, Operator, String

    text = (
        "# a comment\nblock B(n=1e-3) { input x x -> Dense(n) * 2 -> y output y }\n"
        "model M { input x: float32[4] layer d = MaxPool2D(2) x -> B() -> Custom(\"s\", 't', true) -> y }\n"
        "train { loss = mse }"
    )
    found = [(kind, value) for kind, value in lex(text) if not value.isspace()]
    assert found[0] == (Comment.Single, "# a comment")
    assert (Keyword.Declaration, "block") in found and (Name.Class, "B") in found
    assert (Keyword.Declaration, "model") in found and (Name.Class, "M") in found
    assert (Keyword.Declaration, "train") in found
    for word in ("input", "output", "layer"):
        assert (Keyword, word) in found
    assert (Keyword.Type, "float32") in found and (Keyword.Constant, "true") in found
    assert (Name.Builtin, "Dense") in found and (Name.Builtin, "MaxPool2D") in found  # an alias
    assert (Name.Function, "Custom") in found and (Name, "mse") in found
    assert (String.Double, '"s"') in found and (String.Single, "'t'") in found
    assert (Number.Float, "1e-3") in found and (Number.Integer, "2") in found
    assert {(Operator, "->"), (Operator, "*"), (Operator, "=")} <= set(found)


V2_TEXT = """block B(stride, c, filters) {
    input x
    out, h, c2 = LSTM(8, return_state=True)(x)
    d = abs(a - b) + x * relu6(x + 3) / 6 // 2 % 1 - -1 + +2.5 - (a-1) - a -1
    first = x[:, 0] + x[..., 1:-1] + x.shape[-1] + x[::2] + f(-1)(-2)
    if stride == 1 and c != filters or not c <= 2 {
        [x, y] -> Add() -> z
    } else if c >= 1e-3 and c < 3 and c > 0 {
        y -> LSTM(8)(initial_state=[h, c2]) * 2 -> z, h3
    } else {
        z = -x
    }
    output z
}
"""


def test_v2_keywords_and_operators(lex):
    from pygments.token import Error, Keyword, Number, Operator

    found = [(kind, value) for kind, value in lex(V2_TEXT) if not value.isspace()]
    assert [value for kind, value in found if kind is Error] == []
    for word in ("if", "else", "and", "or", "not"):
        assert (Keyword, word) in found
    for sign in ("+", "-", "*", "/", "//", "%", "==", "!=", "<=", ">=", "<", ">", ".", "...", "="):
        assert (Operator, sign) in found, sign
    assert (Number.Integer, "-1") in found and (Number.Float, "+2.5") in found and (Number.Float, "1e-3") in found
    assert ("".join(value for _, value in lex(V2_TEXT))) == V2_TEXT


@pytest.mark.parametrize(
    "text,expected",
    [
        ("x[-1]", ["x", "[", "-1", "]"]),  # a value starts: the sign is the number's
        ("f(-1, +2)", ["f", "(", "-1", ",", "+2", ")"]),
        ("a - -1", ["a", "-", "-1"]),
        ("a -1", ["a", "-", "1"]),  # after a value: subtraction, as the grammar reads it
        ("a-1.5", ["a", "-", "1.5"]),
        ("x[0]-1", ["x", "[", "0", "]", "-", "1"]),
        ("f(x)+1", ["f", "(", "x", ")", "+", "1"]),
        ("True-1", ["True", "-", "1"]),
        ("x[1:-1]", ["x", "[", "1", ":", "-1", "]"]),
    ],
)
def test_a_sign_belongs_to_a_number_only_where_a_value_starts(lex, text, expected):
    assert [value for _, value in lex(text) if not value.isspace()] == expected


@pytest.mark.parametrize("text", [V2_TEXT, *(open(p, encoding="utf-8").read() for p in SPECS)])
def test_numbers_are_the_grammars_numbers(lex, text):
    from lark import Token
    from pygments.token import Number

    from tfspec.frontend.parser import parse

    tree = parse(text, "<string>")
    numbers = sorted(
        tree.scan_values(lambda t: isinstance(t, Token) and t.type in ("INT", "FLOAT")), key=lambda t: t.start_pos
    )
    assert [value for kind, value in lex(text) if kind in Number] == [str(n) for n in numbers]


def test_bad_characters_are_error_tokens(lex):
    from pygments.token import Error

    assert (Error, ";") in lex("x -> y;")


def test_pygments_finds_the_lexer():
    pytest.importorskip("pygments")
    from pygments.lexers import get_lexer_by_name, get_lexer_for_filename
    from pygments.util import ClassNotFound

    try:
        lexer = get_lexer_by_name("tfspec")
    except ClassNotFound:
        pytest.skip("the pygments.lexers entry point is not installed (add it to pyproject.toml, pip install -e .)")
    assert type(lexer).__name__ == "TfspecLexer"
    assert type(get_lexer_for_filename("x.tfs")).__name__ == "TfspecLexer"
    pygmentize = shutil.which("pygmentize", path=os.path.dirname(sys.executable)) or shutil.which("pygmentize")
    if pygmentize is None:
        pytest.skip("pygmentize is not on PATH")
    out = subprocess.run(
        [pygmentize, "-l", "tfspec", "-f", "html", SPECS[0]], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert '<span class="k' in out.stdout and '<span class="c1"># ' in out.stdout
