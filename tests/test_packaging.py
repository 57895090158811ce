"""The wheel: built from this tree, installed into a fresh virtual environment, it works.

This proves the grammar ships inside the package (pyproject force-includes
grammar/tfspec.lark at tfspec/grammar/tfspec.lark) and that the `tfspec` script and
`python -m tfspec` run from the installed copy, with only lark and jsonschema as
dependencies (installed from the package index by pip).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import zipfile

import pytest

from .helpers import ROOT, spec_path

pytestmark = pytest.mark.slow

BIN = "Scripts" if os.name == "nt" else "bin"


def clean_env():
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env.pop("TFSPEC_PLUGINS", None)  # the test session's example plugin is not installed there
    return env


def sh(*command, cwd, timeout=180):
    result = subprocess.run(list(command), capture_output=True, text=True, timeout=timeout, cwd=cwd, env=clean_env())
    return result


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    if importlib.util.find_spec("build") is not None:
        result = sh(sys.executable, "-m", "build", "--wheel", "--outdir", str(out), ROOT, cwd=str(out))
    else:  # pragma: no cover - `build` is a dev dependency
        result = sh(sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(out), ROOT, cwd=str(out))
    assert result.returncode == 0, "building the wheel failed:\n" + (result.stdout + result.stderr)[-4000:]
    wheels = [p for p in os.listdir(out) if p.endswith(".whl")]
    assert len(wheels) == 1, wheels
    return os.path.join(out, wheels[0])


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory):
    home = tmp_path_factory.mktemp("venv")
    result = sh(sys.executable, "-m", "venv", str(home), cwd=str(home))
    assert result.returncode == 0, result.stderr
    python = os.path.join(home, BIN, "python")
    result = sh(python, "-m", "pip", "install", "-q", wheel, cwd=str(home), timeout=300)
    assert result.returncode == 0, "pip install failed:\n" + (result.stdout + result.stderr)[-4000:]
    return str(home)


def test_the_wheel_holds_the_package_and_its_grammar(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        grammar = archive.read("tfspec/grammar/tfspec.lark")
        entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
        scripts = archive.read(entry_points).decode()
    with open(os.path.join(ROOT, "grammar", "tfspec.lark"), "rb") as handle:
        assert grammar == handle.read()
    for module in (
        "tfspec/__init__.py",
        "tfspec/__main__.py",
        "tfspec/cli.py",
        "tfspec/loader.py",
        "tfspec/frontend/parser.py",
        "tfspec/check/schema.py",
        "tfspec/ir/lower.py",
    ):
        assert module in names
    assert not [n for n in names if n.startswith("tests/")]
    assert "tfspec = tfspec.cli:main" in scripts


def test_the_installed_tfspec_script_checks_a_spec(venv, tmp_path):
    script = os.path.join(venv, BIN, "tfspec")
    good = sh(script, "check", spec_path("mnist_cnn"), cwd=str(tmp_path))
    assert good.returncode == 0, good.stderr
    assert good.stdout == f"{spec_path('mnist_cnn')}: ok (model MnistCNN: 5 layers, 4,738,826 parameters)\n"
    bad = tmp_path / "bad.tfs"
    bad.write_text("model M { input x: [4] x -> Dens(3) -> y output y }\n", encoding="utf-8")
    result = sh(script, "check", str(bad), cwd=str(tmp_path))
    assert result.returncode == 1 and "error[E401]: unknown layer 'Dens'" in result.stderr
    assert sh(script, "frobnicate", cwd=str(tmp_path)).returncode == 2


def test_python_m_tfspec_runs_the_installed_copy(venv, tmp_path):
    python = os.path.join(venv, BIN, "python")
    result = sh(python, "-m", "tfspec", "check", spec_path("mnist_cnn"), cwd=str(tmp_path))
    assert result.returncode == 0, result.stderr
    where = sh(
        python,
        "-c",
        "import tfspec, tfspec.frontend.parser as p; print(tfspec.__file__); print(p.grammar_path())",
        cwd=str(tmp_path),
    )
    assert where.returncode == 0, where.stderr
    module, grammar = where.stdout.split()
    site = os.path.realpath(venv)
    assert os.path.realpath(module).startswith(site)  # not the source checkout
    assert os.path.realpath(grammar).startswith(site)
    assert grammar.replace(os.sep, "/").endswith("tfspec/grammar/tfspec.lark")


# -- a plugin installed next to it ----------------------------------------------------------------

PLUGIN_SPEC = """
model Tiny {
    input x: float32[8]
    x -> Linear(4) -> h
    m = h * 0.5
    [h, m] -> Sampling(seed=3) -> z
    output z
}
"""


@pytest.fixture(scope="module")
def plugin_venv(venv, tmp_path_factory):
    """The fresh environment with the example plugin's wheel installed (by its entry point only)."""
    out = tmp_path_factory.mktemp("plugin-dist")
    source = os.path.join(ROOT, "plugins", "tfspec-example")
    if importlib.util.find_spec("build") is not None:
        result = sh(sys.executable, "-m", "build", "--wheel", "--outdir", str(out), source, cwd=str(out))
    else:  # pragma: no cover - `build` is a dev dependency
        result = sh(sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(out), source, cwd=str(out))
    assert result.returncode == 0, "building the plugin wheel failed:\n" + (result.stdout + result.stderr)[-4000:]
    (wheel,) = [os.path.join(out, p) for p in os.listdir(out) if p.endswith(".whl")]
    python = os.path.join(venv, BIN, "python")
    result = sh(python, "-m", "pip", "install", "-q", "--no-deps", wheel, cwd=str(out), timeout=300)
    assert result.returncode == 0, "pip install of the plugin failed:\n" + (result.stdout + result.stderr)[-4000:]
    return venv


def sh_plugins(*command, cwd, autoload=True):
    env = clean_env()
    env.pop("TFSPEC_NO_PLUGIN_AUTOLOAD", None)
    env.pop("TFSPEC_PLUGINS", None)
    if not autoload:
        env["TFSPEC_NO_PLUGIN_AUTOLOAD"] = "1"
    return subprocess.run(list(command), capture_output=True, text=True, timeout=180, cwd=cwd, env=env)


def test_an_installed_plugin_is_found_by_its_entry_point_without_tensorflow(plugin_venv, tmp_path):
    script = os.path.join(plugin_venv, BIN, "tfspec")
    spec = tmp_path / "tiny.tfs"
    spec.write_text(PLUGIN_SPEC, encoding="utf-8")
    checked = sh_plugins(script, "check", str(spec), cwd=str(tmp_path))
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout == f"{spec}: ok (model Tiny: 3 layers, 36 parameters)\n"
    built = sh_plugins(script, "build", str(spec), "--style", "subclassing", cwd=str(tmp_path))
    assert built.returncode == 0, built.stderr
    assert "\nimport tfspec_example.layers as example\n" in built.stdout and "example.Sampling(seed=3)" in built.stdout
    explained = sh_plugins(script, "explain", "Sampling", cwd=str(tmp_path))
    assert "From the plugin `example`" in explained.stdout
    # TensorFlow is not installed in this environment at all: the compile path never needed it
    python = os.path.join(plugin_venv, BIN, "python")
    assert sh_plugins(python, "-c", "import tensorflow", cwd=str(tmp_path)).returncode != 0
    off = sh_plugins(script, "check", str(spec), cwd=str(tmp_path), autoload=False)
    assert off.returncode == 1 and "unknown layer 'Sampling'" in off.stderr and "(no plugins loaded)" in off.stderr
