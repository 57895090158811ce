"""Run folders are data: `evaluate`, `export` and `--resume` never execute anything from them.

Every file of a real run folder is tampered with code that would write a marker file (and the
payloads are shown to work when executed directly); evaluate and every export format rebuild the
model from the stored spec and weights only, so the marker never appears. Tampering with what
they do read (manifest, spec, weights) ends in a one-line error, never a traceback.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import warnings
import zipfile

import pytest

from .helpers import ROOT, quiet_tensorflow, spec_path

quiet_tensorflow()
np = pytest.importorskip("numpy")
tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

import tfspec  # noqa: E402
from tfspec import cli  # noqa: E402
from tfspec.runs import RUN_MANIFEST, RUN_SPEC, RUN_WEIGHTS, load_run  # noqa: E402
from tfspec.runtime import Callback  # noqa: E402
from tfspec.training import train_run  # noqa: E402

pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning"
)
FORMATS = {"keras": "m.keras", "savedmodel": "m_savedmodel", "tflite": "m.tflite"}


def payload(marker, tag):
    """Python that writes the marker file when it runs."""
    return f"open({str(marker)!r}, 'a').write({tag!r})\n"


def sample(n=5):
    return np.random.default_rng(3).normal(size=(n, 8, 8)).astype("float32")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A real run of the digits MLP in the subclassing style (custom classes in model.keras)."""
    folder = tmp_path_factory.mktemp("trained") / "run"
    result = train_run(spec_path("digits_mlp"), style="subclassing", out_dir=str(folder), epochs=2, quiet=True)
    return folder, np.asarray(result.model(sample(), training=False)), result.test


@pytest.fixture
def marker(tmp_path):
    path = tmp_path / "MARKER"
    yield path
    assert not path.exists(), f"something ran code from the run folder: {path.read_text()!r}"


def hostile_keras_archive(path, weights_from, marker):
    """A .keras file whose config.json holds a Lambda that writes the marker (saved by Keras itself),
    plus a layer naming an arbitrary module and class, around the run's real weights."""
    scratch = path.parent / "lambda.keras"
    fn = eval(f"lambda x: (open({str(marker)!r}, 'a').write('lambda'), x)[1]")  # noqa: S307 - the test's own payload
    keras.Sequential([keras.Input((8, 8)), keras.layers.Lambda(fn)]).save(str(scratch))
    if os.path.exists(marker):
        os.remove(marker)  # written by building the Lambda model here, in the test itself
    with zipfile.ZipFile(scratch) as z:
        config = json.loads(z.read("config.json"))
        metadata = z.read("metadata.json")
    config["config"]["layers"].append(
        {"module": "os", "class_name": "system", "config": {"command": f"touch {marker}"}, "registered_name": None}
    )
    with zipfile.ZipFile(weights_from) as z:
        weights = z.read("model.weights.h5")
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("config.json", json.dumps(config))
        z.writestr("metadata.json", metadata)
        z.writestr("model.weights.h5", weights)
    scratch.unlink()


def tamper_unread_files(folder, marker):
    """Every file that evaluate/export must not read or run, rewritten with code."""
    code = payload(marker, "python")
    source = (folder / "model.py").read_text()
    (folder / "model.py").write_text(code + source + code + "build_model = lambda: exec(" + repr(code) + ")\n")
    hostile_keras_archive(folder / "model.keras", folder / "model.keras", marker)
    for name in ("history.json", "history.csv"):
        (folder / name).write_text(json.dumps({"loss": [code], "__import__('os').system": code}))
    for path in (folder / "checkpoints").iterdir():
        path.write_text(code)
    (folder / "checkpoints" / "run.json").write_text(json.dumps({"spec_hash": code, "seed": code}))
    for name in ("keras.py", "tensorflow.py", "numpy.py", "tfspec.py", "sitecustomize.py", "__init__.py", "h5py.py"):
        (folder / name).write_text(code)


def tampered_copy(trained, tmp_path, marker):
    folder = tmp_path / "run"
    shutil.copytree(trained[0], folder)
    tamper_unread_files(folder, marker)
    return folder


def one_line_error(capsys, argv):
    assert cli.main(argv) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tfspec: error: "), err
    return lines[0]


def every_command(folder, tmp_path):
    yield ["evaluate", str(folder)]
    for fmt, name in FORMATS.items():
        yield ["export", str(folder), "--format", fmt, "-o", str(tmp_path / name)]


# -- the payloads are real --------------------------------------------------------------------------
def test_the_payloads_would_run_if_anything_executed_them(trained, tmp_path):
    control = tmp_path / "CONTROL"
    folder = tmp_path / "run"
    shutil.copytree(trained[0], folder)
    tamper_unread_files(folder, control)
    exec(compile((folder / "model.py").read_text(), "model.py", "exec"), {})  # noqa: S102 - the control
    assert control.read_text() == "python" * 2
    control.unlink()
    with pytest.raises(ValueError, match="Lambda"):  # Keras's safe mode refuses the Lambda...
        keras.saving.load_model(str(folder / "model.keras"), safe_mode=True)
    assert not control.exists()
    archive = folder / "lambda-only.keras"
    with zipfile.ZipFile(folder / "model.keras") as z:
        config = json.loads(z.read("config.json"))
        config["config"]["layers"].pop()  # ...and without the os.system entry, unsafe mode runs it
        with zipfile.ZipFile(archive, "w") as out:
            for item in z.namelist():
                out.writestr(item, json.dumps(config) if item == "config.json" else z.read(item))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        keras.saving.load_model(str(archive), safe_mode=False, compile=False)(np.zeros((1, 8, 8), "float32"))
    assert control.read_text().startswith("lambda")  # on loading, and again on calling


# -- nothing of the folder runs; what is read is checked --------------------------------------------
def test_evaluate_and_every_export_ignore_tampered_files(trained, tmp_path, marker, capsys):
    folder = tampered_copy(trained, tmp_path, marker)
    _, expected, test_metrics = trained
    assert cli.main(["evaluate", str(folder)]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics == {k: round(float(v), 6) for k, v in test_metrics.items()}  # the run's own test figures
    for fmt, name in FORMATS.items():
        out = tmp_path / name
        assert cli.main(["export", str(folder), "--format", fmt, "-o", str(out)]) == 0, capsys.readouterr().err
        if fmt == "keras":
            got = keras.saving.load_model(str(out), safe_mode=True)(sample(), training=False)
        elif fmt == "savedmodel":
            loaded = tf.saved_model.load(str(out))
            got = loaded.serve(sample())
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                interpreter = tf.lite.Interpreter(model_path=str(out))
            got = next(iter(interpreter.get_signature_runner("serving_default")(image=sample()).values()))
        assert float(np.max(np.abs(np.asarray(got) - expected))) <= 1e-5, fmt


def test_evaluate_from_inside_the_tampered_folder(trained, tmp_path, marker):
    """The console script run with the run folder as working directory (keras.py, numpy.py, ... there)."""
    folder = tampered_copy(trained, tmp_path, marker)
    script = os.path.join(os.path.dirname(sys.executable), "tfspec")
    if not os.path.exists(script):
        pytest.skip("the tfspec console script is not installed")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=ROOT)
    done = subprocess.run([script, "evaluate", "."], cwd=folder, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "accuracy" in json.loads(done.stdout)


def rewrite_manifest(folder, **changes):
    manifest = json.loads((folder / RUN_MANIFEST).read_text())
    manifest.update(changes)
    (folder / RUN_MANIFEST).write_text(json.dumps(manifest))


def sha256(text):
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()


def spec_with_code(folder, marker):
    """Append code to the stored spec, leaving the manifest's digest as it was."""
    with open(folder / RUN_SPEC, "a") as handle:
        handle.write("\n" + payload(marker, "spec"))


def consistent_hostile_spec(folder, marker, name=None):
    """A spec (and a manifest that agrees with it) with code in a comment, and optionally in a layer name."""
    text = f"# {payload(marker, 'spec')}" + (folder / RUN_SPEC).read_text()
    if name:
        text = text.replace('Dense(10, activation="softmax")', f'Dense(10, activation="softmax", name="{name}")')
    (folder / RUN_SPEC).write_text(text)
    rewrite_manifest(folder, spec_sha256=sha256(text))


def code_in_a_layer_name(folder, marker):
    """`check` accepts the name (generated code keeps it a string literal); Keras refuses it."""
    consistent_hostile_spec(folder, marker, name="x'); __import__('os').system('touch MARKER'); ('")


def other_spec(folder, marker):
    """A different (valid) spec under a matching digest: its model does not fit the weights."""
    text = open(spec_path("digits_cnn"), encoding="utf-8").read()
    (folder / RUN_SPEC).write_text(text)
    rewrite_manifest(folder, spec_sha256=sha256(text))


def unparsable_spec(folder, marker):
    text = payload(marker, "spec")
    (folder / RUN_SPEC).write_text(text)
    rewrite_manifest(folder, spec_sha256=sha256(text))


def outside_spec(folder, marker):
    outside = folder.parent / "elsewhere.tfs"
    shutil.copy(folder / RUN_SPEC, outside)
    (folder / RUN_SPEC).unlink()
    (folder / RUN_SPEC).symlink_to(outside)


def weights_of_another_model(folder, marker):
    tfspec.build(tfspec.load(spec_path("digits_cnn"))).save_weights(str(folder / RUN_WEIGHTS))


ALTERED = {
    # name: (how, what the one-line error says)
    "spec with code appended": (spec_with_code, "was altered"),
    "spec missing": (lambda f, m: (f / RUN_SPEC).unlink(), "spec.tfs' is missing"),
    "spec that does not parse": (unparsable_spec, "the stored spec does not load"),
    "spec outside the folder": (outside_spec, "leads outside the run folder"),
    "another spec, matching digest": (other_spec, "do not fit the model of the stored spec"),
    "code in a layer name, matching digest": (code_in_a_layer_name, "the stored spec does not load"),
    "manifest is code": (lambda f, m: (f / RUN_MANIFEST).write_text(payload(m, "manifest")), "not valid JSON"),
    "manifest missing": (lambda f, m: (f / RUN_MANIFEST).unlink(), "not a finished training run"),
    "manifest style is code": (
        lambda f, m: rewrite_manifest(f, style=payload(m, "style")),
        "'style' is not one of",
    ),
    "manifest names other weights": (
        lambda f, m: rewrite_manifest(f, weights="../../evil.weights.h5"),
        "'spec' and 'weights' must be",
    ),
    "manifest data setting is code": (
        lambda f, m: rewrite_manifest(f, data={"source": "digits", "limit": payload(m, "data")}),
        "'data' is not a data source",
    ),
    "manifest digest is code": (lambda f, m: rewrite_manifest(f, spec_sha256=payload(m, "x")), "not a sha256"),
    "weights are code": (lambda f, m: (f / RUN_WEIGHTS).write_text(payload(m, "weights")), "do not fit"),
    "weights of another model": (weights_of_another_model, "do not fit"),
    "weights missing": (lambda f, m: (f / RUN_WEIGHTS).unlink(), "model.weights.h5' is missing"),
}


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("case", list(ALTERED))
def test_altered_runs_fail_with_one_line(trained, tmp_path, marker, capsys, case):
    folder = tampered_copy(trained, tmp_path, marker)
    how, message = ALTERED[case]
    how(folder, marker)
    for argv in every_command(folder, tmp_path):
        assert message in one_line_error(capsys, argv), argv
    assert sorted(p.name for p in tmp_path.iterdir() if p.name not in ("run", "elsewhere.tfs", "MARKER")) == []


def test_a_consistent_hostile_spec_is_just_a_spec(trained, tmp_path, marker, capsys):
    """Spec and manifest rewritten together: the spec is checked and compiled like any other, and
    its comments stay comments."""
    folder = tampered_copy(trained, tmp_path, marker)
    consistent_hostile_spec(folder, marker)
    assert cli.main(["evaluate", str(folder)]) == 0
    assert "accuracy" in json.loads(capsys.readouterr().out)
    assert cli.main(["export", str(folder), "--format", "keras", "-o", str(tmp_path / "m.keras")]) == 0
    loaded = keras.saving.load_model(str(tmp_path / "m.keras"), safe_mode=True)
    assert float(np.max(np.abs(np.asarray(loaded(sample(), training=False)) - trained[1]))) <= 1e-5


def test_load_run_python_api(trained, tmp_path, marker):
    folder = tampered_copy(trained, tmp_path, marker)
    model = load_run(folder)
    np.testing.assert_allclose(np.asarray(model(sample(), training=False)), trained[1], atol=1e-6)


# -- resume --------------------------------------------------------------------------------------------
def test_resume_runs_nothing_from_the_folder(tmp_path, marker, capsys):
    folder = tmp_path / "run"
    train_run(spec_path("digits_mlp"), style="functional", out_dir=str(folder), epochs=1, quiet=True)
    code = payload(marker, "python")
    (folder / "model.py").write_text(code)
    hostile_keras_archive(folder / "model.keras", folder / "model.keras", marker)
    (folder / RUN_SPEC).write_text(code)
    (folder / RUN_MANIFEST).write_text(code)
    for name in ("keras.py", "tfspec.py", "__init__.py"):
        (folder / name).write_text(code)
    result = train_run(spec_path("digits_mlp"), style="functional", out_dir=str(folder), epochs=2, resume=True)
    assert result.epochs == 2 and result.steps < 2 * 23  # continued from the checkpoint of epoch 1
    assert (folder / RUN_SPEC).read_text() == open(spec_path("digits_mlp"), encoding="utf-8").read()
    assert cli.main(["evaluate", str(folder)]) == 0  # the manifest and spec are written afresh
    assert json.loads(capsys.readouterr().out) == {k: round(float(v), 6) for k, v in result.test.items()}


class Crash(Callback):
    def on_epoch_end(self, epoch, logs=None):
        raise KeyboardInterrupt


def test_a_run_that_did_not_finish_has_no_manifest(tmp_path, capsys):
    folder = tmp_path / "run"
    train_run(spec_path("digits_mlp"), out_dir=str(folder), epochs=1, quiet=True)
    assert (folder / RUN_MANIFEST).is_file()
    with pytest.raises(KeyboardInterrupt):
        train_run(spec_path("digits_mlp"), out_dir=str(folder), epochs=1, callbacks=[Crash()], quiet=True)
    assert not (folder / RUN_MANIFEST).exists()
    assert "not a finished training run" in one_line_error(capsys, ["evaluate", str(folder)])


# -- what the manifest records -------------------------------------------------------------------------
def test_evaluate_uses_the_data_and_seed_the_run_was_trained_with(tmp_path, capsys):
    folder = tmp_path / "run"
    data = {"source": "npz", "path": os.path.join(ROOT, "specs", "data", "digits.npz"), "limit": 600}
    result = train_run(spec_path("digits_mlp"), out_dir=str(folder), epochs=1, seed=11, data=data, quiet=True)
    manifest = json.loads((folder / RUN_MANIFEST).read_text())
    assert manifest["data"] == data and manifest["seed"] == 11 and manifest["style"] == "functional"
    assert cli.main(["evaluate", str(folder)]) == 0
    assert json.loads(capsys.readouterr().out) == {k: round(float(v), 6) for k, v in result.test.items()}


def test_a_run_trained_on_arrays_needs_data_to_evaluate(tmp_path, capsys):
    folder = tmp_path / "run"
    x, y = sample(64), np.arange(64) % 10
    history = tfspec.train(spec_path("digits_mlp"), data=(x, y), out_dir=str(folder), epochs=1).history
    assert len(history["loss"]) == 1
    assert json.loads((folder / RUN_MANIFEST).read_text())["data"] == "arrays"
    assert "give --data" in one_line_error(capsys, ["evaluate", str(folder)])
    assert cli.main(["evaluate", str(folder), "--data", "digits"]) == 0
    assert "accuracy" in json.loads(capsys.readouterr().out)


def test_model_py_says_it_is_not_run(trained):
    text = (trained[0] / "model.py").read_text()
    assert "tfspec never imports or runs this copy" in text
    assert text.replace(tfspec.runs.READ_ONLY_NOTE, "") == tfspec.generate(
        tfspec.load(spec_path("digits_mlp")), "subclassing"
    )


def test_a_bad_folder_is_refused_before_tensorflow_loads(trained, tmp_path, marker):
    folder = tampered_copy(trained, tmp_path, marker)
    spec_with_code(folder, marker)
    script = (
        "import sys\nfrom tfspec import cli\n"
        f"codes = [cli.main(['evaluate', {str(folder)!r}]), "
        f"cli.main(['export', {str(folder)!r}, '--format', 'tflite', '-o', {str(tmp_path / 'm.tflite')!r}])]\n"
        "print(codes, 'tensorflow' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "[1, 1] False", done.stderr
    assert done.stderr.count("was altered") == 2 and "Traceback" not in done.stderr
