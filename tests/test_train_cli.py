"""`tfspec train` / `tfspec evaluate` and `tfspec.train`: the front end driving the runtime."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from .helpers import ROOT, quiet_tensorflow, spec_path

quiet_tensorflow()
pytest.importorskip("keras")

import tfspec  # noqa: E402
from tfspec.runs import READ_ONLY_NOTE  # noqa: E402

# the command as people run it: TF_CPP_MIN_LOG_LEVEL unset, so that the CLI's own default applies
ENV = {name: value for name, value in os.environ.items() if name != "TF_CPP_MIN_LOG_LEVEL"}


def tfspec_cli(*args, timeout=300):
    return subprocess.run(
        [sys.executable, "-m", "tfspec", *args], cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "digits"
    result = tfspec_cli("train", spec_path("digits_mlp"), "--style", "subclassing", "--epochs", "3", "--out", str(out))
    assert result.returncode == 0, result.stderr
    return out, result


def test_train_prints_only_its_progress(run_dir):
    """TensorFlow's start-up lines (absl's notice, oneDNN, the CPU feature guard) are not shown."""
    _, result = run_dir
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert [line.split()[:2] for line in lines[:3]] == [["epoch", "1/3"], ["epoch", "2/3"], ["epoch", "3/3"]]
    assert lines[3].startswith("trained 3 epochs") and lines[4].startswith("curves: ") and len(lines) == 6
    assert lines[4].endswith("curves.svg") and lines[5].startswith("saved to ")


def test_evaluate_and_predict_print_no_start_up_lines(run_dir, tmp_path):
    """Every command that loads TensorFlow keeps its start-up lines off stderr (predict once loaded
    TensorFlow through tfspec.runtime before the filter was in place)."""
    out, _ = run_dir
    for args in (
        ("evaluate", str(out)),
        ("predict", str(out), "--data", os.path.join(ROOT, "specs", "data", "digits.npz")),
        (
            "predict",
            str(out),
            "--data",
            os.path.join(ROOT, "specs", "data", "digits.npz"),
            "-o",
            str(tmp_path / "p.npz"),
        ),
    ):
        result = tfspec_cli(*args)
        assert (result.returncode, result.stderr) == (0, ""), (args, result.stderr[-2000:])


def test_train_quiet_prints_nothing(tmp_path):
    result = tfspec_cli("train", spec_path("digits_mlp"), "--epochs", "1", "--out", str(tmp_path / "run"), "-q")
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    assert (tmp_path / "run" / "manifest.json").is_file()


def test_train_writes_a_complete_run(run_dir):
    out, result = run_dir
    assert {
        "model.keras",
        "model.py",
        "history.json",
        "history.csv",
        "curves.svg",
        "checkpoints",
        "spec.tfs",
        "model.weights.h5",
        "manifest.json",
    } <= set(os.listdir(out))
    history = json.loads((out / "history.json").read_text())
    assert len(history["loss"]) == 3
    assert "test: loss" in result.stdout and "accuracy" in result.stdout
    source = (out / "model.py").read_text()
    generated = tfspec.generate(tfspec.load(spec_path("digits_mlp")), "subclassing")
    assert "tfspec never imports or runs this copy" in source.splitlines()[2]
    assert source.replace(READ_ONLY_NOTE, "") == generated
    assert (out / "spec.tfs").read_bytes() == open(spec_path("digits_mlp"), "rb").read()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["style"] == "subclassing" and manifest["weights"] == "model.weights.h5"
    assert manifest["spec_sha256"] == tfspec.load(spec_path("digits_mlp")).digest


def test_evaluate_a_saved_run(run_dir):
    out, training = run_dir
    result = tfspec_cli("evaluate", str(out))
    assert result.returncode == 0, result.stderr
    metrics = json.loads(result.stdout)
    assert 0.5 < metrics["accuracy"] <= 1.0
    printed = float(re.search(r"test: loss (\S+)", training.stdout).group(1))
    assert abs(printed - metrics["loss"]) <= 1e-4  # the same test split as training's


def test_evaluate_a_folder_that_is_not_a_run(tmp_path):
    result = tfspec_cli("evaluate", str(tmp_path))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "is not a finished training run" in result.stderr


def test_resume_refuses_a_changed_spec(run_dir, tmp_path):
    out, _ = run_dir
    changed = tmp_path / "digits_mlp.tfs"
    changed.write_text(open(spec_path("digits_mlp")).read().replace("Dropout(0.1)", "Dropout(0.2)"))
    result = tfspec_cli("train", str(changed), "--epochs", "4", "--out", str(out), "--resume")
    assert result.returncode == 1
    assert "another spec" in result.stderr and "Traceback" not in result.stderr


def test_spec_without_training_is_a_usage_error(tmp_path):
    path = tmp_path / "m.tfs"
    path.write_text("model M { input x: [4] x -> Dense(2) -> y output y }\n")
    result = tfspec_cli("train", str(path))
    assert result.returncode == 2 and "no `train" in result.stderr


def test_spec_without_data_says_to_give_data(tmp_path):
    path = tmp_path / "m.tfs"
    path.write_text("model M { input x: [4] x -> Dense(2) -> y output y }\ntrain { loss = MeanSquaredError() }\n")
    result = tfspec_cli("train", str(path))
    assert result.returncode == 2 and result.stdout == "" and len(result.stderr.splitlines()) == 1
    assert "no `data` setting" in result.stderr and "--data FILE.npz" in result.stderr and "data = " in result.stderr


def test_offline_dataset_is_a_clear_error(tmp_path):
    env = dict(ENV, KERAS_HOME=str(tmp_path / "empty-keras-home"))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tfspec",
            "train",
            spec_path("mnist_mlp"),
            "--epochs",
            "1",
            "--out",
            str(tmp_path / "run"),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 1
    assert "mnist" in result.stderr and "Traceback" not in result.stderr


def test_bad_override_is_a_usage_error():
    result = tfspec_cli("train", spec_path("digits_mlp"), "--epochs", "0")
    assert result.returncode == 2


def test_train_api_with_arrays():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((256, 8, 8)).astype("float32")
    y = (x.reshape(256, -1).sum(axis=1) > 0).astype("int64")
    result = tfspec.train(spec_path("digits_mlp"), style="functional", data=(x, y), epochs=2, batch_size=32, seed=1)
    history = result.history
    assert len(history["loss"]) == 2 and history["loss"][1] < history["loss"][0] * 1.5


def test_train_starts_from_imported_weights(tmp_path):
    import keras

    spec = tfspec.load(spec_path("digits_mlp"))
    model = tfspec.build(spec, "functional")
    weights = tmp_path / "start.weights.h5"
    model.save_weights(weights)
    result = tfspec_cli(
        "train", spec_path("digits_mlp"), "--epochs", "1", "--weights", str(weights), "--out", str(tmp_path / "run")
    )
    assert result.returncode == 0, result.stderr
    trained = keras.saving.load_model(tmp_path / "run" / "model.keras")
    assert trained.count_params() == model.count_params()
    missing = tfspec_cli("train", spec_path("digits_mlp"), "--weights", str(tmp_path / "nope.weights.h5"))
    assert missing.returncode == 2
