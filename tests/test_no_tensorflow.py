"""The compile path never imports TensorFlow or Keras.

Loading, checking, summarising and generating source must stay fast and work where
TensorFlow is not installed, so each runs in a fresh interpreter that then looks at
`sys.modules`, and the CLI runs under `python -X importtime`, which lists every module
the process imported.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from .helpers import ROOT

HEAVY = ("tensorflow", "keras", "tf_keras", "tensorboard")


def env():
    return dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))


def heavy(modules) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in HEAVY)


SCRIPT = textwrap.dedent("""
    import glob, json, sys
    import tfspec
    from tfspec.cli import build_parser

    build_parser()  # registers every command module, as each CLI run does
    for path in sorted(glob.glob("specs/*.tfs")):
        spec = tfspec.load(path)
        tfspec.summary(spec).render()
        for style in ("sequential", "functional", "subclassing"):
            try:
                tfspec.generate(spec, style)
            except tfspec.SpecError:
                pass  # a style this model cannot take
    try:
        tfspec.loads("model M { input x: [4] x -> Dens(3) -> y output y }")
    except tfspec.SpecError as exc:
        exc.render()
    print(json.dumps(sorted(sys.modules)))
    assert "tensorflow" not in sys.modules and "keras" not in sys.modules
""")


def test_load_summary_and_generate_import_no_tensorflow():
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120, cwd=ROOT, env=env()
    )
    assert result.returncode == 0, result.stderr
    import json

    modules = json.loads(result.stdout.splitlines()[-1])
    assert "tfspec.backends" in modules  # the printers did run
    assert heavy(modules) == []


def imported_by(*args) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "tfspec", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=env(),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    names = []
    for line in result.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            name = line.rsplit("|", 1)[1].strip()
            if name != "imported package":
                names.append(name)
    assert names, "python -X importtime printed nothing"
    return names


@pytest.mark.parametrize(
    "args",
    [
        ("check", "specs/mnist_cnn.tfs"),
        ("summary", "specs/residual_cnn.tfs"),
        ("build", "specs/mnist_cnn.tfs", "--style", "subclassing"),
    ],
)
def test_the_cli_compile_commands_import_no_tensorflow(args):
    names = imported_by(*args)
    assert "tfspec.loader" in names
    assert heavy(names) == []


# -- a machine without TensorFlow ----------------------------------------------------------------

# Runs in a fresh interpreter where importing TensorFlow, Keras or numpy fails as it does after a
# plain `pip install tfspec`: every command and API call of argv lists, each reported as
# [exit status or what it raised, stdout, stderr].
WITHOUT_TF = textwrap.dedent("""
    import contextlib, io, json, sys

    BLOCKED = {"tensorflow", "keras", "tf_keras", "tensorboard", "numpy", "h5py"}

    class NotInstalled:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, NotInstalled())
    import tfspec
    from tfspec.cli import main

    calls, run_dir = json.loads(sys.argv[1]), sys.argv[2]
    api = {
        "build": lambda: tfspec.build("specs/digits_mlp.tfs"),
        "train": lambda: tfspec.train("specs/digits_mlp.tfs", epochs=1),
        "evaluate": lambda: tfspec.evaluate(run_dir),
        "predict": lambda: tfspec.predict(run_dir, [[0.0] * 64]),
    }
    results = []
    for call in calls:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                status = main(call) if isinstance(call, list) else api[call]()
            except BaseException as exc:  # noqa: BLE001 - reported to the test
                status = [type(exc).__name__, isinstance(exc, ImportError), str(exc)]
        results.append([status, out.getvalue(), err.getvalue()])
    print(json.dumps(results))
    assert not BLOCKED & {m.split(".")[0] for m in sys.modules}
""")

NEEDS = "this command needs TensorFlow: pip install 'tfspec[tf]' (or 'tfspec[tf-cpu]' for the smaller CPU-only build)"


def fake_run(folder) -> str:
    """A run folder that tfspec.runs.open_run accepts (it needs no TensorFlow); its weights are not real."""
    import hashlib
    import json
    import shutil

    from tfspec import runs

    os.makedirs(folder)
    shutil.copy(os.path.join(ROOT, "specs", "digits_mlp.tfs"), os.path.join(folder, runs.RUN_SPEC))
    with open(os.path.join(folder, runs.RUN_SPEC), "rb") as handle:
        digest = hashlib.sha256(handle.read()).hexdigest()
    with open(os.path.join(folder, runs.RUN_WEIGHTS), "wb") as handle:
        handle.write(b"not used")
    manifest = {
        "format": runs.RUN_FORMAT,
        "model": "DigitsMLP",
        "style": "functional",
        "spec": runs.RUN_SPEC,
        "spec_sha256": digest,
        "weights": runs.RUN_WEIGHTS,
        "base_dir": None,
        "data": None,
        "seed": None,
    }
    with open(os.path.join(folder, runs.RUN_MANIFEST), "w") as handle:
        json.dump(manifest, handle)
    return str(folder)


def without_tensorflow(calls, run_dir) -> list:
    import json

    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_TF, json.dumps(calls), run_dir],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=env(),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.splitlines()[-1])


def test_without_tensorflow_the_model_commands_say_how_to_install_it(tmp_path):
    run_dir = fake_run(tmp_path / "run")
    config = tmp_path / "model.json"
    config.write_text('{"class_name": "Sequential", "config": {"layers": []}}')
    needing = [
        ["train", "specs/digits_mlp.tfs", "--epochs", "1", "--out", str(tmp_path / "out")],
        ["train", "specs/digits_mlp.tfs", "-q"],
        ["evaluate", run_dir],
        ["predict", run_dir, "--data", "specs/data/digits.npz"],
        ["predict", run_dir, "--data", "specs/data/digits.npz", "-o", str(tmp_path / "p.npz")],
        ["import", str(config)],
        ["export", run_dir, "--format", "keras", "-o", str(tmp_path / "m.keras")],
        ["export", "specs/digits_mlp.tfs", "--format", "tflite", "-o", str(tmp_path / "m.tflite")],
    ]
    working = [
        ["check", "specs/digits_mlp.tfs", "specs/shared_embedding.tfs"],
        ["summary", "specs/residual_cnn.tfs"],
        ["build", "specs/mnist_cnn.tfs", "--style", "subclassing"],
        ["fmt", "--check", "specs/digits_mlp.tfs"],
        ["graph", "specs/residual_cnn.tfs"],
        ["schema"],
        ["explain", "E101"],
    ]
    results = without_tensorflow(needing + working, run_dir)
    for argv, (status, out, err) in zip(needing, results[: len(needing)], strict=True):
        assert (status, out, err) == (2, "", f"tfspec: error: {NEEDS}\n"), argv
    for argv, (status, out, err) in zip(working, results[len(needing) :], strict=True):
        assert status == 0 and (out or argv[0] == "fmt") and err == "", (argv, status, err)
    assert not (tmp_path / "p.npz").exists()
    assert not (tmp_path / "out").exists() and not (tmp_path / "m.keras").exists()


def test_without_tensorflow_the_python_api_raises_an_import_error_that_says_so(tmp_path):
    run_dir = fake_run(tmp_path / "run")
    results = without_tensorflow(["build", "train", "evaluate", "predict"], run_dir)
    for name, (raised, _, _) in zip(["build", "train", "evaluate", "predict"], results, strict=True):
        kind, is_import_error, text = raised
        assert kind == "NeedsTensorFlow" and is_import_error, (name, raised)
        assert text == NEEDS.replace("this command", f"tfspec.{name}")


# -- TensorFlow's start-up lines -----------------------------------------------------------------

STARTUP = (
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
    "I0000 00:00:1796045661.371627   25498 port.cc:153] oneDNN custom operations are on. You may see ...\n"
    "I0000 00:00:1796045672.367940   25757 cpu_feature_guard.cc:227] This TensorFlow binary is optimized ...\n"
    "To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow ...\n"
    "W0000 00:00:1796045672.4   25757 gpu_device.cc:2344] Cannot dlopen some GPU libraries.\n"
    "E0000 00:00:1796045672.5   25757 cuda_driver.cc:152] failed call to cuInit: UNKNOWN ERROR (303)\n"
)


def test_start_up_lines_are_kept_by_tf_cpp_min_log_level():
    from tfspec.needs import keep

    lines = STARTUP.splitlines(True)
    assert keep(STARTUP, 0) == STARTUP
    assert keep(STARTUP, 1) == "".join(lines[4:])
    assert keep(STARTUP, 2) == lines[5]
    assert keep(STARTUP, 3) == ""
    warning = "/x/y.py:3: UserWarning: something of ours\n  warnings.warn(...)\n"
    assert keep(STARTUP + warning, 2) == lines[5] + warning


def test_the_start_up_filter_passes_on_errors_and_python_warnings(capfd, monkeypatch):
    """What C++ writes to file descriptor 2 inside the filter is filtered; what Python writes there
    (a warning, as warnings.showwarning writes it) passes."""
    import warnings

    from tfspec.needs import start_up_filter

    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")
    with start_up_filter():
        os.write(2, STARTUP.encode())
        os.write(2, warnings.formatwarning("a warning of ours", UserWarning, "ours.py", 3).encode())
    out, err = capfd.readouterr()
    assert err.startswith(STARTUP.splitlines(True)[5]) and "UserWarning: a warning of ours" in err
    assert "oneDNN" not in err and "absl" not in err and out == ""


def test_a_fatal_error_during_the_start_up_is_still_shown():
    """TensorFlow aborts the process when the CPU lacks instructions it was built for; the line it
    writes just before must reach stderr although the process never returns from the import."""
    script = textwrap.dedent(f"""
        import os
        from tfspec.needs import start_up_filter
        with start_up_filter():
            os.write(2, {STARTUP.encode()!r})
            os.write(2, b"F0000 00:00:1.5  1 cpu_feature_guard.cc:90] The TensorFlow library was compiled to use AVX\\n")
            os.abort()
    """)
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env=dict(env(), TF_CPP_MIN_LOG_LEVEL="2"),
    )
    assert result.returncode != 0
    assert result.stderr.splitlines() == [
        STARTUP.splitlines()[5],
        "F0000 00:00:1.5  1 cpu_feature_guard.cc:90] The TensorFlow library was compiled to use AVX",
    ]
