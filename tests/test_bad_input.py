"""Hostile and broken input: always a clear E001/E1xx diagnostic and exit status 1.

Never a traceback, never a hang: every command runs in a subprocess under a timeout, and
the in-process API must raise SpecError (and nothing else) for the same files.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tfspec
from tfspec import SpecError

from .helpers import ROOT

TIMEOUT = 30  # seconds; a healthy check of any of these takes well under one


def make_files(folder) -> dict[str, tuple[str, str]]:
    """name -> (path, expected code) for every kind of bad input."""
    rng = random.Random(1234)
    garbage = bytes(rng.randrange(256) for _ in range(4096))
    files = {
        "empty": (b"", "E102"),
        "whitespace_only": (b"   \n\t\n  \r\n\n", "E102"),
        "only_comments": (b"# a spec about to be written\n# nothing yet\n", "E102"),
        "binary_garbage": (garbage + b"\x00", "E001"),
        "invalid_utf8": (
            b'model M { input x: [4] x -> Dense(3, name="' + b'\xff\xfe"' + b") -> y output y }\n",
            "E001",
        ),
        "latin1": ("# caf\u00e9\nmodel M { input x: [4] x -> Dense(1) -> y output y }\n".encode("latin-1"), "E001"),
        "ten_megabytes": (
            b"model M { input x: [4] x -> Dense(1) -> y output y }\n" + b"# padding\n" * 1_000_000,
            "E001",
        ),
        "nested_brackets": (
            b"model M { input x: [4] x -> Dense(1, v=" + b"[" * 10_000 + b"]" * 10_000 + b") -> y output y }\n",
            "E104",
        ),
        "nested_unclosed": (b"model M { input x: [4] x -> Dense(1, v=" + b"(" * 10_000 + b"\n", "E104"),
        "unterminated_string": (
            b'model M {\n    input x: [4]\n    x -> Dense(3, activation="relu) -> y\n    output y\n}\n',
            "E103",
        ),
        "unclosed_brace": (b"model M {\n    input x: [4]\n    x -> Dense(3) -> y\n    output y\n", "E102"),
        "stray_character": (b"model M { input x: [4] x -> Dense(3) -> y output y } $\n", "E101"),
        "non_ascii_name": (
            "model M { input x: [4] x -> Dense(3) -> r\u00e9sultat output r\u00e9sultat }\n".encode(),
            "E101",
        ),
        "truncated_mid_call": (b"model M { input x: [4] x -> Dense(3", "E102"),
    }
    out = {}
    for name, (data, code) in files.items():
        path = os.path.join(folder, f"{name}.tfs")
        with open(path, "wb") as handle:
            handle.write(data)
        out[name] = (path, code)
    os.makedirs(os.path.join(folder, "a_directory.tfs"))
    out["directory"] = (os.path.join(folder, "a_directory.tfs"), "E001")
    out["missing"] = (os.path.join(folder, "does_not_exist.tfs"), "E001")
    return out


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory):
    return make_files(str(tmp_path_factory.mktemp("bad")))


CASES = [
    "empty",
    "whitespace_only",
    "only_comments",
    "binary_garbage",
    "invalid_utf8",
    "latin1",
    "ten_megabytes",
    "nested_brackets",
    "nested_unclosed",
    "unterminated_string",
    "unclosed_brace",
    "stray_character",
    "non_ascii_name",
    "truncated_mid_call",
    "directory",
    "missing",
]


def run_cli(*args, timeout=TIMEOUT):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run(
        [sys.executable, "-m", "tfspec", *args], capture_output=True, text=True, timeout=timeout, env=env, cwd=ROOT
    )


@pytest.mark.parametrize("case", CASES)
def test_the_cli_reports_bad_input_cleanly(bad_files, case):
    path, code = bad_files[case]
    result = run_cli("check", path)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"{path}:"), first
    assert f": error[{code}]: " in first
    assert len(result.stderr) < 2000  # a clear message, not a dump of the file


@pytest.mark.parametrize("case", CASES)
def test_the_api_raises_spec_error_for_bad_input(bad_files, case):
    path, code = bad_files[case]
    with pytest.raises(SpecError) as info:
        tfspec.load(path)
    (d,) = info.value.diagnostics
    assert d.code == code and d.path == path
    info.value.render()  # renders without error


def test_messages_say_what_is_wrong(bad_files):
    def message(case):
        with pytest.raises(SpecError) as info:
            tfspec.load(bad_files[case][0])
        return info.value.diagnostics[0].message

    assert message("empty") == "the spec is empty"
    assert message("whitespace_only") == "the spec is empty"
    assert message("only_comments") == "the spec holds only comments"
    assert message("binary_garbage") == "this looks like a binary file (it contains a NUL byte)"
    assert message("invalid_utf8") == "invalid UTF-8 (byte 0xff)"
    assert message("ten_megabytes").startswith("file is too large (10,000,053 bytes; the limit is")
    assert message("nested_brackets") == "brackets nested more than 64 deep"
    assert message("unterminated_string") == "unterminated string"
    assert message("unclosed_brace") == "unexpected end of file"
    assert message("directory").endswith("is a directory, not a spec file")
    assert message("missing").startswith("no such file: ")


def test_the_position_of_an_invalid_byte_is_reported(bad_files):
    with pytest.raises(SpecError) as info:
        tfspec.load(bad_files["invalid_utf8"][0])
    d = info.value.diagnostics[0]
    assert (d.line, d.column) == (1, len('model M { input x: [4] x -> Dense(3, name="') + 1)
    with pytest.raises(SpecError) as info:
        tfspec.load(bad_files["latin1"][0])
    assert (info.value.diagnostics[0].line, info.value.diagnostics[0].column) == (1, 6)


def test_several_files_are_each_reported_and_a_good_one_still_passes(bad_files):
    good = os.path.join(ROOT, "specs", "mnist_cnn.tfs")
    paths = [bad_files[c][0] for c in ("empty", "missing", "unclosed_brace")] + [good]
    result = run_cli("check", *paths)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert [line.split(": error[")[1][:4] for line in result.stderr.splitlines() if ": error[" in line] == [
        "E102",
        "E001",
        "E102",
    ]
    assert result.stdout.startswith(f"{good}: ok")


def test_text_passed_to_loads_is_limited_too():
    with pytest.raises(SpecError) as info:
        tfspec.loads("# x\n" * 300_000)
    assert info.value.diagnostics[0].code == "E001"


def test_nesting_just_under_the_limit_is_fine():
    """60 levels parse; the value then meets the train catalog, which wants names of arrays there."""
    deep = "[" * 60 + "]" * 60
    with pytest.raises(SpecError) as caught:
        tfspec.loads(
            f"model M {{ input x: [4] x -> Dense(1) -> y output y }}\ntrain {{ loss = mse "
            f'callbacks = [] data = npz("d.npz", x={deep}) }}'
        )
    (found,) = caught.value.diagnostics
    assert found.code == "E404" and "npz: x must be a string or a list of" in found.message


def test_brackets_inside_strings_and_comments_do_not_count_as_nesting():
    many = "(" * 5000
    block = "block Tagged(tag) { input t t -> Dense(1) -> u output u }\n"
    spec = tfspec.loads(f'# {many}\n{block}model M {{ input x: [4] x -> Tagged("{many}") -> y output y }}')
    assert spec.model.nodes[0].layer.call.args[0] == many


def test_a_long_but_sound_spec_is_no_problem():
    # 1,500 layers in one chain, on a single 40,000-character line
    steps = " -> ".join(["Dense(4)", "Dropout(0.1)"] * 750)
    spec = tfspec.loads(f"model M {{ input x: [4] x -> {steps} -> y output y }}")
    assert len(spec.model.nodes) == 1500


# Whatever the bytes, the answer is a spec or a SpecError: never another exception.
TOKENS = [
    "model",
    "block",
    "train",
    "input",
    "output",
    "layer",
    "M",
    "x",
    "y",
    "Dense",
    "Add",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ",",
    ":",
    "=",
    "->",
    "*",
    "3",
    "-1",
    "0.5",
    "1e-3",
    '"s"',
    "'t'",
    "True",
    "None",
    "#c\n",
    "\n",
    "float32",
    "B",
    "n",
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(TOKENS), max_size=40))
def test_token_soup_never_crashes(tokens):
    try:
        tfspec.loads(" ".join(tokens))
    except SpecError as exc:
        assert exc.diagnostics
        exc.render()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=200))
def test_random_bytes_never_crash(data):
    try:
        tfspec.loads(data)
    except SpecError as exc:
        assert exc.diagnostics
        exc.render()


GOOD = open(os.path.join(ROOT, "specs", "residual_cnn.tfs"), encoding="utf-8").read()


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutations_of_a_good_spec_never_crash(data):
    text = GOOD
    for _ in range(data.draw(st.integers(min_value=1, max_value=3))):
        i = data.draw(st.integers(min_value=0, max_value=len(text)))
        j = data.draw(st.integers(min_value=i, max_value=min(len(text), i + 12)))
        insert = data.draw(
            st.sampled_from(
                [
                    "",
                    "(",
                    ")",
                    "[",
                    "]",
                    "{",
                    "}",
                    ",",
                    "->",
                    "0",
                    "-1",
                    '"',
                    "x",
                    "\t",
                    "#",
                    "\n",
                    "* 2",
                    "None",
                    "é",
                    "\x00",
                    "\\",
                    "class",
                ]
            )
        )
        text = text[:i] + insert + text[j:]
    try:
        tfspec.loads(text)
    except SpecError as exc:
        assert exc.diagnostics
        for d in exc.diagnostics:
            assert d.code.startswith("E") and d.line >= 1 and d.column >= 1
        exc.render()
