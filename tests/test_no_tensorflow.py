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
