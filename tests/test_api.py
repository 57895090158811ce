"""The Python API of trained models (`tfspec.train`'s result, `tfspec.evaluate`, `tfspec.predict`)
and `tfspec predict`: real models, compared with what Keras itself computes."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from .helpers import ROOT, quiet_tensorflow, spec_path

quiet_tensorflow()
keras = pytest.importorskip("keras")

import tfspec  # noqa: E402
from tfspec import cli  # noqa: E402

DIGITS = os.path.join(ROOT, "specs", "data", "digits.npz")


def digits():
    with np.load(DIGITS) as f:
        return f["x"], f["y"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("api") / "run"
    return tfspec.train(spec_path("digits_mlp"), epochs=2, out_dir=str(folder))


def one_line_error(capsys, argv, status=1) -> str:
    assert cli.main(argv) == status
    out, err = capsys.readouterr()
    assert out == "" and len(err.splitlines()) == 1 and err.startswith("tfspec: error: "), err
    return err


# -- tfspec.train's result -------------------------------------------------------------------------------


def test_train_returns_the_model_history_and_test_metrics(trained):
    assert isinstance(trained, tfspec.Trained) and isinstance(trained.model, keras.Model)
    assert trained.epochs == 2 and len(trained.history["loss"]) == 2 and len(trained.history["accuracy"]) == 2
    assert set(trained.test) == {"loss", "accuracy"} and trained.test["accuracy"] > 0.8
    assert trained.out_dir and json.load(open(os.path.join(trained.out_dir, "history.json")))["loss"] == pytest.approx(
        trained.history["loss"]
    )
    assert "DigitsMLP: 2 epochs" in repr(trained)


def test_evaluate_a_result_and_its_run_folder_on_the_training_test_split(trained):
    again = tfspec.evaluate(trained)
    assert again == pytest.approx(trained.test, abs=1e-6)
    assert tfspec.evaluate(trained.out_dir) == pytest.approx(trained.test, abs=1e-6)  # rebuilt from the folder
    assert set(tfspec.evaluate(trained, split="train")) == {"loss", "accuracy"}


def test_evaluate_on_given_arrays_matches_keras(trained):
    x, y = digits()
    x = x[:300].astype("float32") / 16
    y = y[:300]
    metrics = tfspec.evaluate(trained, {"train": (x, y), "test": (x, y)})
    probs = np.asarray(trained.model(x, training=False))
    assert metrics["accuracy"] == pytest.approx(float(np.mean(probs.argmax(axis=1) == y)), abs=1e-6)
    expected_loss = float(keras.losses.SparseCategoricalCrossentropy()(y, probs))
    assert metrics["loss"] == pytest.approx(expected_loss, rel=1e-4)
    model_only = tfspec.evaluate(trained.model, {"train": (x, y), "test": (x, y)}, spec=spec_path("digits_mlp"))
    assert model_only == pytest.approx(metrics, abs=1e-6)
    with pytest.raises(ValueError, match="give spec="):
        tfspec.evaluate(trained.model, (x, y))


def test_predict_gives_the_models_outputs(trained):
    x, _ = digits()
    x = x[:70].astype("float32") / 16
    expected = np.asarray(trained.model(x, training=False))
    np.testing.assert_allclose(tfspec.predict(trained, x, batch_size=32), expected, atol=1e-6)
    np.testing.assert_allclose(tfspec.predict(trained.out_dir, x), expected, atol=1e-6)  # weights from the folder
    np.testing.assert_allclose(tfspec.predict(trained.model, x.reshape(70, 64)), expected, atol=1e-6)


def test_predict_several_inputs_and_outputs():
    spec = tfspec.load(spec_path("shared_embedding"))
    model = tfspec.build(spec)
    rng = np.random.default_rng(0)
    a, b = rng.integers(1, 1000, (5, 7)), rng.integers(1, 1000, (5, 4))
    expected = [np.asarray(t) for t in model([a, b], training=False)]
    by_name = tfspec.predict(model, {"text_a": a, "text_b": b}, spec=spec)
    in_order = tfspec.predict(model, [a, b], spec=spec, batch_size=2)
    assert list(by_name) == ["pred_a", "pred_b"] and list(in_order) == ["pred_a", "pred_b"]
    for got in (by_name, in_order):
        np.testing.assert_allclose(got["pred_a"], expected[0], atol=1e-6)
        np.testing.assert_allclose(got["pred_b"], expected[1], atol=1e-6)
    from tfspec.runtime import DataError

    beyond = b.copy()
    beyond[3, 1] = 1500  # not a token id of the Embedding(1000, ...)
    with pytest.raises(DataError, match=r"samples 2 to 3\): indices\[1,1\] = 1500 is not in \[0, 1000\)$"):
        tfspec.predict(model, [a, beyond], spec=spec, batch_size=2)


def test_api_errors_say_what_to_give(trained, tmp_path):
    from tfspec.runs import RunFolderError
    from tfspec.runtime import DataError

    with pytest.raises(RunFolderError, match="no such run folder"):
        tfspec.evaluate(tmp_path / "nothing")
    with pytest.raises(TypeError, match="run folder or a keras.Model"):
        tfspec.predict(42, np.zeros((1, 8, 8)))
    with pytest.raises(DataError, match="do not fit"):
        tfspec.predict(trained, np.zeros((3, 5)))
    with pytest.raises(DataError, match="sample 1"):
        tfspec.predict(trained, np.array([np.zeros((8, 8)), np.full((8, 8), np.nan)]))


# -- tfspec predict ----------------------------------------------------------------------------------------


def test_predict_command_writes_npz_and_csv(trained, tmp_path, capsys):
    x, y = digits()
    expected = np.asarray(trained.model(x.astype("float32") / 16, training=False))  # the digits source's scale
    assert cli.main(["predict", trained.out_dir, "--data", DIGITS, "-o", str(tmp_path / "p.npz")]) == 0
    assert "1797 samples" in capsys.readouterr().out
    with np.load(tmp_path / "p.npz") as f:
        assert f.files == ["probs"]
        np.testing.assert_allclose(f["probs"], expected, atol=1e-5)
    assert cli.main(["predict", trained.out_dir, "--data", DIGITS, "-o", str(tmp_path / "p.csv")]) == 0
    table = np.loadtxt(tmp_path / "p.csv", delimiter=",", skiprows=1)
    assert open(tmp_path / "p.csv").readline().strip() == ",".join(f"probs_{i}" for i in range(10))
    np.testing.assert_allclose(table, expected, atol=1e-6)
    assert cli.main(["predict", trained.out_dir, "--data", DIGITS, "--batch-size", "100"]) == 0
    out = capsys.readouterr().out
    classes = " ".join(str(c) for c in expected[:10].argmax(axis=1))
    assert f"most likely class of the first 10: {classes}" in out and "scaled by 0.0625" in out


def test_predict_command_reads_csv_feature_columns(tmp_path, capsys):
    """The run's csv source names its label column; a file to predict may have it or not."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(64, 3)).astype("float32")
    y = (x.sum(axis=1) > 0).astype(int)
    header = "a,target,b,c"
    rows = [f"{r[0]},{t},{r[1]},{r[2]}" for r, t in zip(x, y)]
    (tmp_path / "train.csv").write_text("\n".join([header, *rows]) + "\n")
    (tmp_path / "new.csv").write_text("\n".join(["a,b,c", *(f"{r[0]},{r[1]},{r[2]}" for r in x[:5])]) + "\n")
    (tmp_path / "m.tfs").write_text(
        'model M { input x: [3] x -> Dense(2, activation="softmax") -> y output y }\n'
        'train { loss = SparseCategoricalCrossentropy() epochs = 1 data = csv("train.csv", label="target") }\n'
    )
    run = str(tmp_path / "run")
    assert cli.main(["train", str(tmp_path / "m.tfs"), "--out", run, "-q"]) == 0
    expected = tfspec.predict(run, x[:5])
    for name in ("train.csv", "new.csv"):
        assert cli.main(["predict", run, "--data", str(tmp_path / name), "-o", str(tmp_path / "p.npz")]) == 0
        with np.load(tmp_path / "p.npz") as f:
            np.testing.assert_allclose(f["y"][:5], expected, atol=1e-6)
    capsys.readouterr()
    (tmp_path / "bad.csv").write_text("a,b,c\n1,2,3\n4,x,6\n")
    assert "line 3, column 2 is not a number" in one_line_error(
        capsys, ["predict", run, "--data", str(tmp_path / "bad.csv")]
    )


def test_predict_command_errors(trained, tmp_path, capsys):
    run = trained.out_dir
    kept = tmp_path / "p.npz"
    kept.write_bytes(b"older predictions")
    np.savez(tmp_path / "other.npz", images=np.zeros((2, 8, 8)))
    err = one_line_error(capsys, ["predict", run, "--data", str(tmp_path / "other.npz"), "-o", str(kept)])
    assert "no array named 'x' or 'image'" in err and "images" in err
    assert kept.read_bytes() == b"older predictions"  # nothing written on failure
    assert "no such file" in one_line_error(capsys, ["predict", run, "--data", str(tmp_path / "none.npz")])
    one_line_error(capsys, ["predict", run, "--data", DIGITS, "-o", str(tmp_path / "p.txt")], status=2)
    one_line_error(capsys, ["predict", run, "--data", str(tmp_path / "x.json")], status=2)
    one_line_error(capsys, ["predict", run, "--data", DIGITS, "--batch-size", "0"], status=2)
    assert cli.main(["predict", run]) == 2  # --data is required
    capsys.readouterr()


def test_a_missing_run_folder_lists_the_runs(trained, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    err = one_line_error(capsys, ["evaluate", "runs/NoSuchRun"])
    assert "no such run folder: 'runs/NoSuchRun'; there are no finished runs in runs/" in err
    os.makedirs("runs/Unfinished")
    os.symlink(trained.out_dir, "runs/DigitsMLP")
    err = one_line_error(capsys, ["predict", "runs/DigitsMLp", "--data", DIGITS])
    assert err.endswith("the runs in runs/ are: DigitsMLP\n")
    assert "is a spec, not a run folder" in one_line_error(capsys, ["evaluate", spec_path("digits_mlp")])


def test_predict_reads_npz_sizes_from_the_headers_first(tmp_path):
    """An .npz whose header claims 23 TiB is refused as damaged before numpy allocates it."""
    import zipfile

    from tfspec.runtime.errors import DataError
    from tfspec.runtime.predict_files import read_npz

    from .train_campaign import npy_header_claiming

    path = tmp_path / "huge.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("x.npy", npy_header_claiming((1 << 42, 784)))
    with pytest.raises(DataError, match="array 'x' is damaged: its header says shape"):
        read_npz(str(path), {}, [("x", (784,), "float32")])
