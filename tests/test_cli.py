"""The `tfspec` command line: check, summary, build; exit statuses and where output goes.

    exit 0  success                 stdout: results
    exit 1  the spec has errors     stderr: diagnostics
    exit 2  bad command-line use    stderr: usage

Most tests call `tfspec.cli.main(argv)` in-process (fast); the ones about the process
itself (`python -m tfspec`, the `tfspec` script, streams, exit codes) run a subprocess.
"""

from __future__ import annotations

import ast
import glob
import os
import shutil
import subprocess
import sys

import pytest

from tfspec.cli import main

from .helpers import ROOT, spec_names, spec_path

GOOD = spec_path("mnist_cnn")


def run(*args, script=None, timeout=60):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    command = [script] if script else [sys.executable, "-m", "tfspec"]
    return subprocess.run(command + list(args), capture_output=True, text=True, timeout=timeout, env=env, cwd=ROOT)


@pytest.fixture
def bad_spec(tmp_path):
    path = tmp_path / "bad.tfs"
    path.write_text("model M {\n    input x: [4]\n    x -> Dens(3) -> y\n    output y\n}\n", encoding="utf-8")
    return str(path)


# -- check -------------------------------------------------------------------------------------


def test_check_accepts_every_example_spec(capsys):
    paths = [spec_path(n) for n in spec_names()]
    assert main(["check", *paths]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    lines = out.splitlines()
    assert len(lines) == len(paths)
    for path, line in zip(paths, lines, strict=True):
        assert line.startswith(f"{path}: ok (model ")


def test_check_reports_the_model_layers_and_parameters(capsys):
    assert main(["check", GOOD]) == 0
    assert capsys.readouterr().out == f"{GOOD}: ok (model MnistCNN: 5 layers, 4,738,826 parameters)\n"


def test_check_quiet_prints_nothing_on_success(capsys):
    assert main(["check", "-q", GOOD]) == 0
    assert capsys.readouterr() == ("", "")


def test_check_prints_diagnostics_to_stderr_and_exits_1(capsys, bad_spec):
    assert main(["check", bad_spec]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        f"{bad_spec}:3:10: error[E401]: unknown layer 'Dens'\n"
        "        x -> Dens(3) -> y\n"
        "             ^^^^\n"
        "hint: did you mean 'Dense'? (plugins loaded: example)\n"
    )


def test_check_goes_through_every_file_and_fails_if_any_fails(capsys, bad_spec):
    assert main(["check", GOOD, bad_spec, GOOD]) == 1
    out, err = capsys.readouterr()
    assert out.count(": ok (model MnistCNN") == 2
    assert err.count("error[E401]") == 1


def test_check_as_a_process_uses_the_streams_and_exit_codes(bad_spec):
    ok = run("check", GOOD)
    assert (ok.returncode, ok.stderr) == (0, "")
    assert ok.stdout.startswith(f"{GOOD}: ok")
    bad = run("check", bad_spec)
    assert (bad.returncode, bad.stdout) == (1, "")
    assert "error[E401]" in bad.stderr and "Traceback" not in bad.stderr


# -- usage errors: exit 2 --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        [],  # no command
        ["frobnicate"],  # unknown command
        ["check"],  # missing SPEC
        ["summary"],  # missing SPEC
        ["build"],  # missing SPEC
        ["build", GOOD, "--style", "procedural"],  # not a style
        ["check", "--no-such-option", GOOD],
        ["summary", GOOD, GOOD],  # one spec only
    ],
)
def test_usage_errors_exit_2(capsys, argv):
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert "usage: tfspec" in err


def test_usage_errors_as_a_process():
    for args in (["frobnicate"], ["check"], []):
        result = run(*args)
        assert result.returncode == 2, args
        assert result.stdout == "" and "usage: tfspec" in result.stderr and "Traceback" not in result.stderr


def test_build_style_all_needs_an_output_folder(capsys):
    assert main(["build", GOOD, "--style", "all"]) == 2
    assert capsys.readouterr().err.startswith("tfspec: error: --style all writes one file per style")


def test_version_and_help_exit_0(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == "tfspec 0.1.0"
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in ("check", "summary", "build"):
        assert command in out


# -- summary -------------------------------------------------------------------------------------------


def test_summary_prints_the_layer_table(capsys):
    assert main(["summary", spec_path("mnist_mlp")]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert out == (
        'Model: "MnistMLP"\n'
        "---------------------------------------------\n"
        "Layer (type)         Output shape     Param #\n"
        "---------------------------------------------\n"
        "image (InputLayer)   (None, 28, 28)         0\n"
        "flatten (Flatten)    (None, 784)            0\n"
        "dense (Dense)        (None, 128)      100,480\n"
        "dropout (Dropout)    (None, 128)            0\n"
        "dense_1 (Dense)      (None, 10)         1,290\n"
        "---------------------------------------------\n"
        "Total params: 101,770\n"
        "Trainable params: 101,770\n"
        "Non-trainable params: 0\n"
    )


def test_summary_shows_blocks_with_their_layers_indented_and_shared_layers_once(capsys):
    assert main(["summary", spec_path("residual_cnn")]) == 0
    out = capsys.readouterr().out
    assert "\nconv_bn (ConvBN) " in out and "\n  conv2d (Conv2D) " in out
    assert "Non-trainable params: 320" in out
    assert main(["summary", spec_path("shared_embedding")]) == 0
    out = capsys.readouterr().out
    assert out.count("embed (Embedding) x2 shared") == 1


def test_summary_of_a_bad_spec_exits_1(capsys, bad_spec):
    assert main(["summary", bad_spec]) == 1
    out, err = capsys.readouterr()
    assert out == "" and "error[E401]" in err


# -- build (a smoke test: the back-end tests cover the printers) -----------------------------------------


@pytest.mark.parametrize("style", ["sequential", "functional", "subclassing"])
def test_build_prints_keras_source(capsys, style):
    assert main(["build", GOOD, "--style", style]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    tree = ast.parse(out)
    assert "build_model" in {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    assert "import keras" in out


def test_build_defaults_to_functional(capsys):
    assert main(["build", GOOD]) == 0
    default = capsys.readouterr().out
    assert main(["build", GOOD, "--style", "functional"]) == 0
    assert capsys.readouterr().out == default


def test_build_writes_to_a_file_with_o(capsys, tmp_path):
    target = tmp_path / "out" / "model.py"
    assert main(["build", GOOD, "-o", str(target)]) == 0
    assert capsys.readouterr().out == ""
    ast.parse(target.read_text(encoding="utf-8"))
    assert not [p for p in os.listdir(target.parent) if p.endswith(".tmp")]  # no temporary file left


def test_build_style_all_writes_one_file_per_allowed_style(capsys, tmp_path):
    assert main(["build", spec_path("residual_cnn"), "--style", "all", "-o", str(tmp_path)]) == 0
    out, err = capsys.readouterr()
    written = sorted(os.path.basename(p) for p in glob.glob(str(tmp_path / "*.py")))
    assert written == ["residual_cnn_functional.py", "residual_cnn_subclassing.py"]
    assert "skipping sequential" in err  # a skip connection has no Sequential form


def test_build_refuses_a_style_the_model_cannot_take(capsys):
    assert main(["build", spec_path("residual_cnn"), "--style", "sequential"]) == 1
    out, err = capsys.readouterr()
    assert out == "" and "error[E701]" in err


def test_build_of_a_bad_spec_exits_1_and_writes_nothing(capsys, bad_spec, tmp_path):
    target = tmp_path / "model.py"
    assert main(["build", bad_spec, "-o", str(target)]) == 1
    assert not target.exists()
    assert "error[E401]" in capsys.readouterr().err


# -- the installed script -------------------------------------------------------------------------------


def tfspec_script():
    here = os.path.join(os.path.dirname(sys.executable), "tfspec")
    return here if os.path.exists(here) else shutil.which("tfspec")


@pytest.mark.skipif(
    tfspec_script() is None,
    reason="the `tfspec` script is not installed here (test_packaging installs it from a wheel)",
)
def test_the_tfspec_script_behaves_like_python_m_tfspec(bad_spec):
    script = tfspec_script()
    ok = run("check", GOOD, script=script)
    assert (ok.returncode, ok.stderr) == (0, "") and ok.stdout.startswith(f"{GOOD}: ok")
    bad = run("check", bad_spec, script=script)
    assert bad.returncode == 1 and "error[E401]" in bad.stderr
    assert run("frobnicate", script=script).returncode == 2
