"""`tfspec export`: .keras, SavedModel and .tflite exports compute what the original model computes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import warnings

import pytest

from tfspec import cli

from .helpers import ROOT, quiet_tensorflow, spec_path

quiet_tensorflow()
np = pytest.importorskip("numpy")
tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

import tfspec  # noqa: E402
from tfspec.runs import readable_source, save_run  # noqa: E402

pytestmark = [
    pytest.mark.slow,
    # Keras' TensorFlow backend converts variables with np.array(copy=False) when saving; numpy 2 warns.
    pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning"),
]

# (spec, style): a Sequential-able MLP, a multi-input functional model with a shared layer, and a
# subclassed model with custom block classes (which must be registered before loading).
RUNS = [("digits_mlp", "functional"), ("shared_embedding", "functional"), ("residual_cnn", "subclassing")]
FORMATS = ["keras", "savedmodel", "tflite"]
TOLERANCE = 1e-5


def sample_inputs(spec, batch=3, length=7, seed=0):
    rng = np.random.default_rng(seed)
    arrays = {}
    for inp in spec.model.inputs:
        shape = (batch,) + tuple(length if d is None else d for d in inp.shape)
        if inp.dtype.startswith("int"):
            arrays[inp.name] = rng.integers(0, 100, size=shape).astype(inp.dtype)
        else:
            arrays[inp.name] = rng.normal(size=shape).astype(inp.dtype)
    return arrays


def as_list(outputs) -> list:
    if isinstance(outputs, dict):
        outputs = [outputs[k] for k in sorted(outputs, key=lambda k: int(k.rsplit("_", 1)[-1]))]
    if not isinstance(outputs, (list, tuple)):
        outputs = [outputs]
    return [np.asarray(o) for o in outputs]


def model_call(model, arrays):
    values = list(arrays.values())
    return as_list(model(values[0] if len(values) == 1 else values, training=False))


def assert_close(got, want):
    assert len(got) == len(want)
    for a, b in zip(got, want, strict=True):
        assert a.shape == b.shape
        assert float(np.max(np.abs(a - b))) <= TOLERANCE


def run_exported(fmt, path, arrays):
    values = list(arrays.values())
    if fmt == "keras":
        return model_call(keras.saving.load_model(path, safe_mode=True), arrays)
    if fmt == "savedmodel":
        loaded = tf.saved_model.load(path)  # kept referenced: serve() needs its variables alive
        return as_list(loaded.serve(values[0] if len(values) == 1 else values))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tf.lite.Interpreter's deprecation notice
        interpreter = tf.lite.Interpreter(model_path=path)
    runner = interpreter.get_signature_runner("serving_default")
    return as_list(runner(**arrays))  # the runner resizes the inputs to the given batch and length


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Run folders as `tfspec train` leaves them: spec.tfs, model.weights.h5 and manifest.json (what
    export reads), model.keras and the generated model.py (what people read)."""
    made = {}
    for name, style in RUNS:
        spec = tfspec.load(spec_path(name))
        model = tfspec.build(spec, style)
        folder = tmp_path_factory.mktemp("runs") / name
        folder.mkdir()
        model.save(str(folder / "model.keras"))
        (folder / "model.py").write_text(readable_source(tfspec.generate(spec, style)), encoding="utf-8")
        save_run(str(folder), spec, style, model)
        arrays = sample_inputs(spec)
        made[name] = (folder, arrays, model_call(model, arrays))
    return made


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", [n for n, _ in RUNS])
def test_export_run_matches_the_original(runs, tmp_path, capsys, name, fmt):
    folder, arrays, expected = runs[name]
    out = tmp_path / {"keras": "m.keras", "savedmodel": "m_savedmodel", "tflite": "m.tflite"}[fmt]
    assert cli.main(["export", str(folder), "--format", fmt, "-o", str(out)]) == 0
    assert f"exported {fmt} to {out}" in capsys.readouterr().out
    assert_close(run_exported(fmt, str(out), arrays), expected)
    assert sorted(os.listdir(tmp_path)) == [out.name]  # nothing temporary left behind


def test_export_spec_with_weights(tmp_path, capsys):
    spec = tfspec.load(spec_path("residual_cnn"))
    model = tfspec.build(spec, "functional")
    weights = tmp_path / "trained.weights.h5"
    model.save_weights(str(weights))
    arrays = sample_inputs(spec)
    out = tmp_path / "cnn.tflite"
    args = ["export", spec_path("residual_cnn"), "--format", "tflite", "--weights", str(weights), "-o", str(out)]
    assert cli.main(args) == 0
    assert "freshly initialised" not in capsys.readouterr().err
    assert_close(run_exported("tflite", str(out), arrays), model_call(model, arrays))


def test_recurrent_model_to_tflite_falls_back_to_batch_one(tmp_path, capsys):
    spec = tfspec.load(spec_path("lstm_text"))  # variable-length, masked LSTMs
    model = tfspec.build(spec)
    weights = tmp_path / "lstm.weights.h5"
    model.save_weights(str(weights))
    out = tmp_path / "lstm.tflite"
    args = ["export", spec_path("lstm_text"), "--format", "tflite", "--weights", str(weights), "-o", str(out)]
    assert cli.main(args) == 0
    assert "batch size 1" in capsys.readouterr().err
    for length in (9, 4):
        arrays = sample_inputs(spec, batch=1, length=length, seed=length)
        arrays["tokens"][:, -2:] = 0  # padding, masked by mask_zero
        assert_close(run_exported("tflite", str(out), arrays), model_call(model, arrays))


def test_export_spec_without_weights_says_so_and_writes_beside_the_spec(tmp_path, capsys):
    spec_copy = tmp_path / "digits_mlp.tfs"
    shutil.copy(spec_path("digits_mlp"), spec_copy)
    assert cli.main(["export", str(spec_copy), "--format", "keras", "--style", "sequential"]) == 0
    assert "freshly initialised weights" in capsys.readouterr().err
    loaded = keras.saving.load_model(str(tmp_path / "digits_mlp.keras"), safe_mode=True)
    assert loaded.name == "DigitsMLP"


def test_savedmodel_replaces_an_older_export(runs, tmp_path):
    folder, arrays, expected = runs["digits_mlp"]
    out = tmp_path / "sm"
    assert cli.main(["export", spec_path("digits_mlp"), "--format", "savedmodel", "-o", str(out)]) == 0
    assert cli.main(["export", str(folder), "--format", "savedmodel", "-o", str(out)]) == 0
    assert_close(run_exported("savedmodel", str(out), arrays), expected)
    assert os.listdir(tmp_path) == ["sm"]


def test_default_output_is_beside_the_run(runs, tmp_path):
    folder, _, _ = runs["digits_mlp"]
    run = tmp_path / "digits"
    shutil.copytree(folder, run)
    assert cli.main(["export", str(run), "--format", "keras"]) == 0
    assert (tmp_path / "digits.keras").is_file()


def test_run_needs_neither_model_keras_nor_model_py(runs, tmp_path):
    """Export rebuilds the model from spec.tfs and loads model.weights.h5; the rest is for people."""
    folder, arrays, expected = runs["residual_cnn"]
    run = tmp_path / "run"
    shutil.copytree(folder, run)
    (run / "model.keras").unlink()
    (run / "model.py").unlink()
    out = tmp_path / "cnn.keras"
    assert cli.main(["export", str(run), "--format", "keras", "-o", str(out)]) == 0
    assert_close(run_exported("keras", str(out), arrays), expected)


def error_of(capsys, argv, code):
    assert cli.main(argv) == code
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


def test_missing_run_folder(tmp_path, capsys):
    err = error_of(capsys, ["export", str(tmp_path / "nope"), "--format", "keras"], 1)
    assert "no such run folder or spec file" in err


def test_folder_that_is_not_a_run(tmp_path, capsys):
    err = error_of(capsys, ["export", str(tmp_path), "--format", "tflite"], 1)
    assert "is not a finished training run" in err and "manifest.json" in err


def test_unknown_format(runs, capsys):
    folder, _, _ = runs["digits_mlp"]
    err = error_of(capsys, ["export", str(folder), "--format", "onnx"], 2)
    assert "invalid choice: 'onnx'" in err


@pytest.mark.parametrize(
    "argv, code, message",
    [
        (["--weights", "missing.weights.h5"], 1, "no such weights file"),
        (["--weights", "weights.npz"], 2, "ending in .weights.h5"),
        (["-o", "model.h5"], 2, "must end in .keras"),
        (["--style", "sequential"], 1, "Sequential"),
    ],
)
def test_bad_spec_exports(tmp_path, capsys, argv, code, message):
    err = error_of(capsys, ["export", spec_path("residual_cnn"), "--format", "keras", *argv], code)
    assert message in err


@pytest.mark.filterwarnings("ignore:Skipping nested container")
def test_weights_that_do_not_fit(runs, tmp_path, capsys):
    weights = tmp_path / "mlp.weights.h5"
    tfspec.build(tfspec.load(spec_path("digits_mlp"))).save_weights(str(weights))
    out = tmp_path / "cnn.keras"
    argv = ["export", spec_path("residual_cnn"), "--format", "keras", "--weights", str(weights), "-o", str(out)]
    err = error_of(capsys, argv, 1)
    assert "cannot load weights" in err
    assert not out.exists()


def test_run_style_option_and_unsafe_output_folder(runs, tmp_path, capsys):
    folder, _, _ = runs["digits_mlp"]
    err = error_of(capsys, ["export", str(folder), "--format", "keras", "--style", "functional"], 2)
    assert "--style applies to a spec" in err
    keep = tmp_path / "precious"
    keep.mkdir()
    (keep / "notes.txt").write_text("keep me")
    err = error_of(capsys, ["export", str(folder), "--format", "savedmodel", "-o", str(keep)], 2)
    assert "not a SavedModel" in err
    assert (keep / "notes.txt").read_text() == "keep me"


def test_export_module_does_not_import_tensorflow():
    script = (
        "import argparse, sys\nfrom tfspec.tools import export as command\n"
        "command.register(argparse.ArgumentParser().add_subparsers())\nprint('tensorflow' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
