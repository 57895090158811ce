"""Paths a run writes stay inside the run folder: `check` refuses absolute paths, '..', empty paths
(E603, positioned); the runtime re-checks each path, symbolic links resolved, right before writing."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

import tfspec
from tfspec.files import OutsidePath, inside, path_problem, template_problem

from .helpers import ROOT, quiet_tensorflow

quiet_tensorflow()
# Keras' TensorFlow backend converts variables with np.array(copy=False) when saving; numpy 2 warns.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")

SPEC = """model M {{
    input x: float32[8, 8]
    x -> Flatten() -> Dense(10, activation="softmax") -> y
    output y
}}

train {{
    loss      = SparseCategoricalCrossentropy()
    epochs    = 1
    data      = digits
    callbacks = [{callback}]
}}
"""


def diagnostics(callback):
    try:
        tfspec.loads(SPEC.format(callback=callback), filename="p.tfs")
    except tfspec.SpecError as exc:
        return [(d.code, d.line, d.column, d.message, d.hint) for d in exc.diagnostics]
    return []


# -- static: tfspec check ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "callback, column, words",
    [
        ('CSVLogger(filename="/abs/victim.txt")', 37, "is absolute"),
        ('CSVLogger("../../x.csv")', 28, "'..'"),
        ('TensorBoard(log_dir="../../tb")', 38, "'..'"),
        ('TensorBoard(log_dir="logs/../../tb")', 38, "'..'"),
        ('ModelCheckpoint("/tmp/best.keras")', 34, "is absolute"),
        ('ModelCheckpoint(filepath="../m-{epoch}.keras")', 43, "'..'"),
        ('CSVLogger("")', 28, "is empty"),
        ('CSVLogger("  ")', 28, "is empty"),
        ('CSVLogger(".")', 28, "the run folder itself"),
        ('CSVLogger("~/x.csv")', 28, "'~'"),
        ('CSVLogger("C:\\\\x.csv")', 28, "is absolute"),
        ('CSVLogger("..\\\\x.csv")', 28, "'..'"),
        ('CSVLogger("a\\nb.csv")', 28, "control character"),
        ("CSVLogger(3)", 28, "must be a string"),
        ('ModelCheckpoint("m-{epoch:/>9}.keras")', 34, "number format"),
        ('ModelCheckpoint("m-{epoch:c}.keras")', 34, "number format"),
        ('ModelCheckpoint("m-{loss.__class__}.keras")', 34, "fields are names"),
        ('ModelCheckpoint("m-{0}.keras")', 34, "fields are names"),
        ('ModelCheckpoint("m-{epoch!r}.keras")', 34, "number format"),
        ('ModelCheckpoint("m-{.keras")', 34, "not a valid file-name template"),
        ('ModelCheckpoint("m.h5")', 34, "must end in .keras"),
        ('ModelCheckpoint("m.keras", save_weights_only=True)', 34, "must end in .weights.h5"),
    ],
)
def test_check_refuses_paths_that_leave_the_run_folder(callback, column, words):
    found = diagnostics(callback)
    assert len(found) == 1, found
    code, line, col, message, hint = found[0]
    assert (code, line, col) == ("E603", 11, column)
    assert words in message and hint


@pytest.mark.parametrize(
    "callback",
    [
        'CSVLogger("log.csv")',
        'CSVLogger(filename="logs/history.csv")',
        'TensorBoard(log_dir="tb")',
        "TensorBoard()",
        'ModelCheckpoint("best.keras", save_best_only=True, monitor="loss")',
        'ModelCheckpoint(filepath="w/e{epoch:03d}-{loss:.3f}.weights.h5", save_weights_only=True)',
        "ModelCheckpoint()",
        'CSVLogger("./a..b.csv")',
    ],
)
def test_check_accepts_paths_inside_the_run_folder(callback):
    assert diagnostics(callback) == []


@pytest.mark.parametrize(
    "callback",
    [
        'CSVLogger("checkpoints/log.csv")',
        'TensorBoard(log_dir="checkpoints")',
        'ModelCheckpoint("model.keras")',
        'ModelCheckpoint("./model.weights.h5", save_weights_only=True)',
        'CSVLogger("manifest.json")',
        'CSVLogger("spec.tfs")',
    ],
)
def test_check_keeps_callbacks_off_the_runs_own_files(callback):
    """Checkpoints (resume reads them) and the files tfspec writes when a run finishes."""
    found = diagnostics(callback)
    assert [d[0] for d in found] == ["E603"] and "tfspec keeps the run's own" in found[0][3], found


def test_the_runs_own_files_are_reserved_for_callbacks_only(tmp_path):
    assert path_problem("checkpoints/ckpt-9.index", callback=True) and path_problem("model.keras", callback=True)
    assert (
        path_problem("logs/model.keras", callback=True) is None and path_problem("history.csv", callback=True) is None
    )
    (tmp_path / "checkpoints").mkdir()
    assert inside(str(tmp_path), "checkpoints") == os.path.join(os.path.realpath(tmp_path), "checkpoints")


def test_check_knows_the_callback_arguments_the_runtime_takes():
    """Arguments `check` used to accept that the runtime does not take (train then failed)."""
    for callback in (
        "ModelCheckpoint(every_n_steps=5)",
        "TensorBoard(update_freq=1)",
        "LearningRateScheduler(step_size=2)",
    ):
        assert [d[0] for d in diagnostics(callback)] == ["E402"], callback
    assert diagnostics('LearningRateScheduler("step", factor=0.5, every=2)') == []


def test_the_path_rules():
    assert path_problem("a/b.csv") is None and path_problem("a/./b") is None
    for bad in ("/x", "../x", "a/../../x", "", ".", "./", "~x", "\x00", None, b"x"):
        assert path_problem(bad), bad
    assert template_problem("m-{epoch:03d}-{val_loss:.4f}.keras") is None
    assert template_problem("{epoch:/<9}") and template_problem("{epoch[0]}") and template_problem("/{epoch}")


def test_inside_resolves_symbolic_links(tmp_path):
    run, outside = tmp_path / "run", tmp_path / "outside"
    run.mkdir()
    outside.mkdir()
    (run / "out").symlink_to(outside)
    (run / "in").symlink_to(run / "sub")
    (run / "self").symlink_to(run)
    assert inside(str(run), "a/b.csv") == os.path.join(os.path.realpath(run), "a", "b.csv")
    assert inside(str(run), "in/x") == os.path.join(os.path.realpath(run), "sub", "x")
    for bad in ("out/x.csv", "out", "self", "/etc/passwd", "../x"):
        with pytest.raises(OutsidePath):
            inside(str(run), bad)


# -- the runtime ---------------------------------------------------------------------------------------
tf = pytest.importorskip("tensorflow")

from tfspec.runtime import Callback, TrainingError, train_model  # noqa: E402
from tfspec.runtime.callbacks import CSVLogger, ModelCheckpoint, TensorBoard  # noqa: E402
from tfspec.runtime.errors import CheckpointError  # noqa: E402

from .test_runtime_support import digits, mlp, training  # noqa: E402


def cb(name, **config):
    return {"class_name": name, "config": config}


def train(out_dir, *callbacks, epochs=1):
    return train_model(
        mlp(), training(epochs=epochs, callbacks=list(callbacks)), digits(200), out_dir=str(out_dir), quiet=True
    )


@pytest.fixture
def victim(tmp_path):
    path = tmp_path / "victim.txt"
    path.write_text("keep me")
    yield path
    assert path.read_text() == "keep me"


def files_under(folder):
    return sorted(os.path.relpath(os.path.join(d, f), folder) for d, _, fs in os.walk(folder) for f in fs)


@pytest.mark.parametrize(
    "callback",
    [
        cb("CSVLogger", filename="VICTIM"),
        cb("CSVLogger", filename="../../x.csv"),
        cb("TensorBoard", log_dir="../../tb"),
        cb("ModelCheckpoint", filepath="../m.keras"),
        cb("ModelCheckpoint", filepath="VICTIM.keras"),
        cb("ModelCheckpoint", filepath="m-{epoch:/>20}.keras"),
        cb("CSVLogger", filename=""),
    ],
)
def test_runtime_refuses_before_training(tmp_path, victim, callback):
    callback["config"] = {k: v.replace("VICTIM", str(victim)) for k, v in callback["config"].items()}
    run = tmp_path / "a" / "b" / "run"
    with pytest.raises(TrainingError):
        train(run, callback)
    assert files_under(tmp_path) == ["victim.txt"]


@pytest.mark.parametrize(
    "callback, link",
    [
        (cb("CSVLogger", filename="logs/history.csv"), "logs"),
        (cb("CSVLogger", filename="h.csv"), "h.csv"),
        (cb("TensorBoard", log_dir="tb"), "tb"),
        (cb("TensorBoard", log_dir="tb"), "tb/train"),
        (cb("ModelCheckpoint", filepath="best/m.keras"), "best"),
        (cb("ModelCheckpoint", filepath="m-{epoch}.keras"), "m-1.keras"),
        (None, "checkpoints"),
    ],
)
def test_runtime_refuses_symbolic_links_out_of_the_run_folder(tmp_path, callback, link):
    run, outside = tmp_path / "run", tmp_path / "outside"
    (run / os.path.dirname(link)).mkdir(parents=True, exist_ok=True)
    outside.mkdir()
    (run / link).symlink_to(outside if "." not in link else outside / "target")
    with pytest.raises(TrainingError, match="outside the run folder"):
        train(run, *([callback] if callback else []))
    assert os.listdir(outside) == []


def test_symbolic_links_inside_the_run_folder_are_fine(tmp_path):
    run = tmp_path / "run"
    (run / "real").mkdir(parents=True)
    (run / "logs").symlink_to(run / "real")
    train(run, cb("CSVLogger", filename="logs/h.csv"), cb("TensorBoard", log_dir="logs/tb"))
    assert (run / "real" / "h.csv").is_file() and (run / "real" / "tb" / "train").is_dir()


def test_the_runtime_checks_again_before_each_write(tmp_path):
    """A link made while training runs (after the checks at the start) is refused at the next write."""
    run, outside = tmp_path / "run", tmp_path / "outside"
    outside.mkdir()

    class Swap(Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 1:
                shutil.rmtree(run / "logs")
                (run / "logs").symlink_to(outside)

    (run / "logs").mkdir(parents=True)
    with pytest.raises(TrainingError, match="outside the run folder"):
        train_model(
            mlp(),
            training(epochs=2, callbacks=[cb("CSVLogger", filename="logs/h.csv")]),
            digits(200),
            out_dir=str(run),
            quiet=True,
            callbacks=[Swap()],
        )
    assert os.listdir(outside) == []


def test_model_checkpoint_names_it_cannot_fill_are_clean_errors(tmp_path):
    with pytest.raises(TrainingError, match="'val_loss', which is not logged"):
        train(tmp_path / "run", cb("ModelCheckpoint", filepath="m-{val_loss:.3f}.keras"))
    with pytest.raises(TrainingError, match="cannot be filled in"):
        train(tmp_path / "run", cb("ModelCheckpoint", filepath="m-{loss:d}.keras"))


def test_callbacks_made_in_python_are_checked_too(tmp_path, victim):
    for make in (
        lambda: CSVLogger(str(victim)),
        lambda: TensorBoard("../tb"),
        lambda: ModelCheckpoint(str(victim) + ".keras"),
    ):
        with pytest.raises(TrainingError):
            make()
    with pytest.raises(ValueError):  # still a ValueError, as it was
        CSVLogger("/x.csv")


def test_loop_path_gives_your_own_callbacks_paths_inside_the_run(tmp_path):
    seen = {}

    class Writes(Callback):
        def on_train_begin(self, logs=None):
            seen["inside"] = self.loop.path("notes/a.txt")
            for bad in ("../x.txt", "/tmp/x.txt", "link/x.txt"):
                with pytest.raises(OutsidePath):
                    self.loop.path(bad)
            seen["refused"] = True

    run = tmp_path / "run"
    run.mkdir()
    (run / "link").symlink_to(tmp_path)
    train_model(mlp(), training(epochs=1), digits(200), out_dir=str(run), quiet=True, callbacks=[Writes()])
    assert seen == {"inside": os.path.join(os.path.realpath(run), "notes", "a.txt"), "refused": True}


def test_without_a_run_folder_the_working_directory_is_the_root(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    train_model(mlp(), training(epochs=1, callbacks=[cb("CSVLogger", filename="h.csv")]), digits(200), quiet=True)
    assert (tmp_path / "h.csv").is_file()
    os.symlink(tmp_path.parent, tmp_path / "up")
    with pytest.raises(TrainingError, match="outside the run folder"):
        train_model(
            mlp(), training(epochs=1, callbacks=[cb("CSVLogger", filename="up/h.csv")]), digits(200), quiet=True
        )


def test_checkpoint_folder_link_is_refused_on_resume_too(tmp_path):
    run, outside = tmp_path / "run", tmp_path / "outside"
    train(run)
    os.rename(run / "checkpoints", outside)
    (run / "checkpoints").symlink_to(outside)
    before = sorted(os.listdir(outside))
    with pytest.raises(CheckpointError, match="outside the run folder"):
        train_model(mlp(), training(epochs=2), digits(200), out_dir=str(run), quiet=True, resume=True)
    assert sorted(os.listdir(outside)) == before


# -- the command line ----------------------------------------------------------------------------------
def test_check_and_train_from_the_command_line(tmp_path, victim):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    spec = tmp_path / "bad.tfs"
    spec.write_text(SPEC.format(callback=f'CSVLogger("{victim}")'))
    done = subprocess.run(
        [sys.executable, "-m", "tfspec", "check", str(spec)], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 1 and "error[E603]" in done.stderr and f"{spec}:11:28" in done.stderr
    good = tmp_path / "good.tfs"
    good.write_text(SPEC.format(callback='CSVLogger("logs/h.csv")'))
    run, outside = tmp_path / "run", tmp_path / "outside"
    run.mkdir()
    outside.mkdir()
    (run / "logs").symlink_to(outside)
    done = subprocess.run(
        [sys.executable, "-m", "tfspec", "train", str(good), "--out", str(run), "--quiet"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1, done.stderr
    assert "outside the run folder" in done.stderr and "Traceback" not in done.stderr
    assert os.listdir(outside) == []
