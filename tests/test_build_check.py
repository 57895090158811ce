"""`tfspec build --check`: committed generated code against what the spec generates now, and the
pre-commit hooks that run it. Exit 0 equal, 1 drift (a changed, missing or left-over file) or a
spec error, 2 usage errors; the diff on stdout, the explanations on stderr; nothing written."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from tfspec.cli import main

from .helpers import ROOT, spec_path
from .test_no_tensorflow import heavy, imported_by

RESIDUAL = spec_path("residual_cnn")  # functional and subclassing; a skip connection rules out sequential
MLP = spec_path("mnist_mlp")  # every style


def generated(tmp_path, spec=RESIDUAL) -> str:
    """Generate every style of `spec` into tmp_path/gen (the 'committed' folder), the normal way."""
    folder = tmp_path / "gen"
    assert main(["build", spec, "--style", "all", "-o", str(folder)]) == 0
    return str(folder)


def snapshot(folder) -> dict:
    """Every file under `folder` with its bytes and modification time."""
    found = {}
    for root, _, files in os.walk(folder):
        for name in files:
            path = os.path.join(root, name)
            with open(path, "rb") as handle:
                found[path] = (handle.read(), os.stat(path).st_mtime_ns)
    return found


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    """Work in tmp_path, so that the diff's labels are the relative paths given."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


# -- equal ----------------------------------------------------------------------------------------


def test_an_up_to_date_file_exits_0_and_prints_nothing(capsys, tmp_path):
    folder = generated(tmp_path)
    capsys.readouterr()
    target = os.path.join(folder, "residual_cnn_subclassing.py")
    assert main(["build", RESIDUAL, "--style", "subclassing", "--check", target]) == 0
    assert capsys.readouterr() == ("", "")


def test_an_up_to_date_folder_exits_0_and_prints_nothing(capsys, tmp_path):
    folder = generated(tmp_path, MLP)
    capsys.readouterr()
    assert sorted(os.listdir(folder)) == [f"mnist_mlp_{s}.py" for s in ("functional", "sequential", "subclassing")]
    assert main(["build", MLP, "--style", "all", "--check", folder]) == 0
    assert capsys.readouterr() == ("", "")


# -- one style --------------------------------------------------------------------------------------


def test_a_changed_line_exits_1_with_a_unified_diff_that_git_can_apply(capsys, in_tmp):
    generated(in_tmp)
    path = "gen/residual_cnn_functional.py"
    fresh = (in_tmp / path).read_bytes()
    edited = fresh.replace(b"\nimport keras\n", b"\nimport keras  # edited by hand\n", 1)
    assert edited != fresh
    (in_tmp / path).write_bytes(edited)
    capsys.readouterr()

    assert main(["build", RESIDUAL, "--style", "functional", "--check", path]) == 1
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert lines[:2] == [f"--- a/{path}", f"+++ b/{path}"]
    assert lines[2].startswith("@@ ")
    assert [line for line in lines[3:] if line[:1] in "+-"] == ["-import keras  # edited by hand", "+import keras"]
    assert f"{path} is out of date" in err
    assert f"tfspec build {RESIDUAL} --style functional -o {path}" in err
    assert (in_tmp / path).read_bytes() == edited  # --check changed nothing

    # The diff is a real patch: applied to the committed file it gives the generated one.
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    (in_tmp / "fix.patch").write_text(out, encoding="utf-8")
    subprocess.run(["git", "apply", "fix.patch"], cwd=in_tmp, check=True, capture_output=True)
    assert (in_tmp / path).read_bytes() == fresh


def test_a_missing_file_is_drift_exit_1_saying_how_to_create_it(capsys, in_tmp):
    assert main(["build", RESIDUAL, "--style", "functional", "--check", "gen/model.py"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert "gen/model.py is missing; create it with:" in err
    assert f"tfspec build {RESIDUAL} --style functional -o gen/model.py" in err
    assert not (in_tmp / "gen").exists()


def test_a_missing_last_newline_is_marked_in_the_diff(capsys, in_tmp):
    generated(in_tmp)
    path = "gen/residual_cnn_functional.py"
    text = (in_tmp / path).read_bytes()
    (in_tmp / path).write_bytes(text.rstrip(b"\n"))
    capsys.readouterr()
    assert main(["build", RESIDUAL, "--style", "functional", "--check", path]) == 1
    out = capsys.readouterr().out
    assert "\n\\ No newline at end of file\n" in out
    last = text.rstrip(b"\n").rsplit(b"\n", 1)[1].decode()
    assert f"-{last}\n\\ No newline at end of file\n+{last}\n" in out


def test_crlf_line_breaks_are_a_difference_and_the_message_says_so(capsys, in_tmp):
    generated(in_tmp)
    path = "gen/residual_cnn_functional.py"
    lf = (in_tmp / path).read_bytes()
    (in_tmp / path).write_bytes(lf.replace(b"\n", b"\r\n"))  # what core.autocrlf does on Windows
    capsys.readouterr()
    assert main(["build", RESIDUAL, "--style", "functional", "--check", path]) == 1
    out, err = capsys.readouterr()
    assert out == ""  # only the line breaks differ: no line of the diff would show it
    assert "CRLF" in err and "eol=lf" in err

    # Another change besides: the diff shows that change alone, not every line.
    (in_tmp / path).write_bytes(lf.replace(b"\nimport keras\n", b"\nimport keras  # x\n").replace(b"\n", b"\r\n"))
    assert main(["build", RESIDUAL, "--style", "functional", "--check", path]) == 1
    out, err = capsys.readouterr()
    assert [line for line in out.splitlines()[2:] if line[:1] in "+-"] == ["-import keras  # x", "+import keras"]
    assert "\r" not in out and "CRLF" in err


def test_a_style_the_model_cannot_take_is_a_spec_error(capsys, tmp_path):
    target = tmp_path / "x.py"
    target.write_text("", encoding="utf-8")
    assert main(["build", RESIDUAL, "--style", "sequential", "--check", str(target)]) == 1
    out, err = capsys.readouterr()
    assert out == "" and "error[E701]" in err


def test_a_bad_spec_exits_1_with_its_diagnostics_and_writes_nothing(capsys, tmp_path):
    spec = tmp_path / "bad.tfs"
    spec.write_text("model M {\n    input x: [4]\n    x -> Dens(3) -> y\n    output y\n}\n", encoding="utf-8")
    target = tmp_path / "bad_functional.py"
    target.write_text("# committed\n", encoding="utf-8")
    before = snapshot(tmp_path)
    assert main(["build", str(spec), "--check", str(target)]) == 1
    out, err = capsys.readouterr()
    assert out == "" and "error[E401]" in err and "3:" in err
    assert main(["build", str(spec), "--style", "all", "--check", str(tmp_path)]) == 1
    assert "error[E401]" in capsys.readouterr().err
    assert snapshot(tmp_path) == before


# -- every style ----------------------------------------------------------------------------------


def test_style_all_reports_every_changed_missing_and_left_over_file(capsys, in_tmp):
    generated(in_tmp)
    (in_tmp / "gen/residual_cnn_subclassing.py").unlink()
    changed = in_tmp / "gen/residual_cnn_functional.py"
    changed.write_bytes(changed.read_bytes().replace(b"\nimport keras\n", b"\nimport keras as K\n"))
    # A file from when the model was sequential-friendly: the model no longer allows that style.
    (in_tmp / "gen/residual_cnn_sequential.py").write_text("# old\n", encoding="utf-8")
    (in_tmp / "gen/notes.txt").write_text("not ours\n", encoding="utf-8")  # other files are ignored
    capsys.readouterr()
    before = snapshot(in_tmp)

    assert main(["build", RESIDUAL, "--style", "all", "--check", "gen"]) == 1
    out, err = capsys.readouterr()
    # stdout: the diff of the changed file only (the others have nothing to diff against)
    assert out.startswith("--- a/gen/residual_cnn_functional.py\n+++ b/gen/residual_cnn_functional.py\n")
    assert out.count("\n--- ") == 0 and "-import keras as K\n+import keras\n" in out
    assert "gen/residual_cnn_functional.py is out of date" in err
    assert "gen/residual_cnn_subclassing.py is missing" in err
    assert "gen/residual_cnn_sequential.py: committed, but the model can no longer be written in the sequential" in err
    assert "notes.txt" not in err
    assert "3 files in gen" in err and f"tfspec build {RESIDUAL} --style all -o gen" in err
    assert snapshot(in_tmp) == before  # nothing written, no temporary file left


@pytest.mark.parametrize("problem", ["missing", "left over"])
def test_style_all_fails_on_any_single_problem(capsys, tmp_path, problem):
    folder = generated(tmp_path)
    if problem == "missing":
        os.remove(os.path.join(folder, "residual_cnn_functional.py"))
    else:
        with open(os.path.join(folder, "residual_cnn_sequential.py"), "w", encoding="utf-8") as handle:
            handle.write("")
    capsys.readouterr()
    assert main(["build", RESIDUAL, "--style", "all", "--check", folder]) == 1
    out, err = capsys.readouterr()
    assert out == "" and "1 file in" in err


def test_style_all_names_files_as_build_all_does_for_a_spec_stem_that_is_not_a_name(capsys, tmp_path):
    spec = tmp_path / "2-layer.tfs"
    shutil.copy(MLP, spec)
    folder = tmp_path / "gen"
    assert main(["build", str(spec), "--style", "all", "-o", str(folder)]) == 0
    names = sorted(os.listdir(folder))
    assert names[0] == "spec_2_layer_functional.py"
    assert main(["build", str(spec), "--style", "all", "--check", str(folder)]) == 0


# -- usage errors (2) -----------------------------------------------------------------------------


def test_usage_errors_exit_2_and_say_what_to_do(capsys, tmp_path):
    folder = generated(tmp_path)
    one = os.path.join(folder, "residual_cnn_functional.py")
    capsys.readouterr()
    cases = [
        (["--check", one, "-o", one], "drop -o"),
        (["--style", "all", "--check", one], "is a file; --style all --check needs the folder"),
        (["--check", folder], "residual_cnn_functional.py"),  # one style, a folder: names the file to give
        (["--style", "all", "--check", str(tmp_path / "nowhere")], f"--style all -o {tmp_path / 'nowhere'}"),
    ]
    before = snapshot(tmp_path)
    for extra, said in cases:
        assert main(["build", RESIDUAL, *extra]) == 2, extra
        out, err = capsys.readouterr()
        assert out == "" and err.startswith("tfspec: error: ") and said in err, (extra, err)
    assert snapshot(tmp_path) == before


def test_the_help_states_the_exit_statuses(capsys):
    assert main(["build", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "--check PATH" in text and "exit 0 if equal, 1 with a diff" in text and "CRLF" in text
    assert "is missing" in text and "2 for usage errors, a missing DIR among them" in text


def test_check_imports_no_tensorflow(tmp_path):
    folder = tmp_path / "gen"
    assert main(["build", MLP, "--style", "all", "-o", str(folder)]) == 0
    names = imported_by("build", "specs/mnist_mlp.tfs", "--style", "all", "--check", str(folder))
    assert "tfspec.tools.golden" in names
    assert heavy(names) == []


# -- the pre-commit hooks -------------------------------------------------------------------------


def read_hooks(text: str) -> list[dict]:
    """The subset of YAML a hook manifest uses here: a list of flat mappings of plain scalars
    (PyYAML is not a dependency of tfspec)."""
    hooks: list[dict] = []
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].rstrip() if not raw.lstrip().startswith("#") else ""
        if not line:
            continue
        if line.startswith("- "):
            hooks.append({})
            line = line[2:]
        else:
            assert line.startswith("  ") and hooks, f"unexpected line {raw!r}"
        key, sep, value = line.strip().partition(": ")
        assert sep and key not in hooks[-1], f"unexpected line {raw!r}"
        hooks[-1][key] = {"true": True, "false": False}.get(value, value)
    return hooks


def test_the_pre_commit_hooks_have_the_keys_pre_commit_needs():
    with open(os.path.join(ROOT, ".pre-commit-hooks.yaml"), encoding="utf-8") as handle:
        text = handle.read()
    hooks = read_hooks(text)
    try:
        import yaml
    except ImportError:
        pass
    else:
        assert yaml.safe_load(text) == hooks
    by_id = {hook["id"]: hook for hook in hooks}
    assert sorted(by_id) == ["tfspec-build-check", "tfspec-fmt"]
    for hook in hooks:
        assert {"id", "name", "entry", "language"} <= hook.keys()
        assert hook["language"] == "python"  # pre-commit pip-installs this repository: the `tfspec` script
        assert hook["entry"].split()[0] == "tfspec"
    assert by_id["tfspec-fmt"]["entry"] == "tfspec fmt --check"
    assert by_id["tfspec-fmt"]["files"] == r"\.tfs$"
    check = by_id["tfspec-build-check"]
    assert check["entry"] == "tfspec build" and check["pass_filenames"] is False  # args name the spec
    assert check["files"] == r"\.(tfs|py)$"


def test_the_hook_entries_run_as_pre_commit_would_call_them(capsys, tmp_path):
    """Each entry, split as pre-commit splits it, plus the args/filenames it gets, is a real command."""
    with open(os.path.join(ROOT, ".pre-commit-hooks.yaml"), encoding="utf-8") as handle:
        hooks = {hook["id"]: hook for hook in read_hooks(handle.read())}
    folder = generated(tmp_path)
    capsys.readouterr()
    args = [RESIDUAL, "--style", "all", "--check", folder]
    assert main(hooks["tfspec-build-check"]["entry"].split()[1:] + args) == 0
    assert main(hooks["tfspec-fmt"]["entry"].split()[1:] + [spec_path("mnist_mlp")]) == 0
