"""Failures once training runs end in one line, keep what was written, and can be resumed (issue 10).

Real training of a tiny MLP on a few digits; faults are injected where the bytes are written (TF's
SaveV2 and MergeV2Checkpoints ops and its checkpoint-state write, Keras's model writers) or where
memory runs out (a train or evaluation call), with the errors those layers raise: TensorFlow's
ResourceExhaustedError "...; No space left on device" (what SaveV2 raises on a full tmpfs) and
OSError(ENOSPC) (Python's and h5py's writes).
"""

import errno
import json
import os
import shutil
import zipfile

import numpy as np
import pytest

from .helpers import quiet_tensorflow

quiet_tensorflow()
tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

from tensorflow.python.checkpoint import checkpoint_management  # noqa: E402
from tensorflow.python.ops import gen_io_ops, io_ops  # noqa: E402

import tfspec.runtime.files as files  # noqa: E402
from tfspec import cli  # noqa: E402
from tfspec.runtime import Callback, CheckpointError, TrainingError, evaluate_model, train_model  # noqa: E402
from tfspec.runtime.callbacks import CallbackError  # noqa: E402
from tfspec.runtime.session import Session  # noqa: E402
from tfspec.runtime.steps import Steps  # noqa: E402
from tfspec.tools.importer import ImportFailure, import_config  # noqa: E402
from tfspec.training import train_run  # noqa: E402

from .test_runtime_support import digits, mlp, training  # noqa: E402

pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning"
)
X, Y = digits(96)  # 6 steps of 16 per epoch
PER_EPOCH = 6
AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0  # chmod does not stop root
NO_SPACE = os.strerror(errno.ENOSPC)
SPEC = """\
model Tiny {
    input image: float32[8, 8]
    image -> Flatten() -> Dense(8, activation="relu") -> Dense(10, activation="softmax") -> probs
    output probs
}

train {
    optimizer = Adam(learning_rate=2e-3)
    loss      = SparseCategoricalCrossentropy()
    metrics   = [accuracy]
    epochs    = 1
    batch     = 128
    seed      = 7
    data      = digits
}
"""


def train(out_dir, data=(X, Y), epochs=1, resume=False, **changes):
    opts = training(epochs=epochs, batch_size=16, steps_per_call=2, **changes)
    return train_model(
        None, opts, data, model_fn=lambda: mlp(units=8), out_dir=str(out_dir), resume=resume, quiet=True, spec_hash="s"
    )


def listing(folder):
    """Every file and folder under `folder`, relative, sorted."""
    out = []
    for root, dirs, names in os.walk(folder):
        out += [os.path.relpath(os.path.join(root, n), folder) for n in dirs + names]
    return sorted(out)


def one_line(exc):
    text = str(exc)
    assert "\n" not in text and "Traceback" not in text, text
    return text


def no_space(where):
    return tf.errors.ResourceExhaustedError(None, None, f"{where}; {NO_SPACE}")


def cli_error(capsys, argv, code=1):
    assert cli.main(argv) == code, argv
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tfspec: error: ") and "Traceback" not in err, err
    return lines[0]


@pytest.fixture(scope="module")
def spec_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("spec") / "tiny.tfs"
    path.write_text(SPEC)
    return str(path)


# -- 1. disk full while writing -------------------------------------------------------------------------


def fail_at_second(monkeypatch, module, name, partial):
    """Replace module.name so that its call for the second checkpoint writes `partial(args)` (a part
    of the file, as a write cut short by a full disk leaves it) and raises what `partial` returns."""
    real = getattr(module, name)

    def fake(*args, **kwargs):
        if f"ckpt-{2 * PER_EPOCH}" in " ".join(text(a) for a in args[:2]):
            raise partial(*args, **kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, fake)


def text(value):
    return value.numpy().decode() if hasattr(value, "numpy") else str(value)


def partial_shard(error):
    def write(prefix, *args, **kwargs):  # SaveV2 into <dir>/ckpt-N_temp/part-...: a temp file cut short
        path = text(prefix) + ".data-00000-of-00001.tempstate123"
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(b"\0" * 100)
        return error(path)

    return write


def partial_merge(prefixes, prefix, **kwargs):  # the shards are written; the merged index is cut short
    gen_io_ops_merge(prefixes, prefix, **kwargs)
    with open(text(prefix) + ".index", "r+b") as handle:
        handle.truncate(10)
    return no_space(text(prefix) + ".index")


gen_io_ops_merge = gen_io_ops.merge_v2_checkpoints


def partial_state(filename, contents, overwrite=True):  # the `checkpoint` file: a temp file cut short
    with open(filename + ".tmp0123abcd", "w") as handle:
        handle.write(contents[:5])
    return no_space(filename + ".tmp0123abcd")


FAULTS = {
    "SaveV2 (TensorFlow's error)": (io_ops, "save_v2", partial_shard(no_space)),
    "SaveV2 (OSError)": (io_ops, "save_v2", partial_shard(lambda p: OSError(errno.ENOSPC, NO_SPACE, p))),
    "MergeV2Checkpoints": (gen_io_ops, "merge_v2_checkpoints", partial_merge),
    "checkpoint state": (checkpoint_management.file_io, "atomic_write_string_to_file", partial_state),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_disk_full_during_a_checkpoint_keeps_the_previous_one_and_resumes(tmp_path, monkeypatch, fault):
    module, name, partial = FAULTS[fault]
    with monkeypatch.context() as patch:
        fail_at_second(patch, module, name, partial)
        with pytest.raises(TrainingError) as failed:
            train(tmp_path, epochs=2)
    message = one_line(failed.value)
    assert message.startswith(f"no space left on device while writing checkpoint {2 * PER_EPOCH} to ")
    assert f"the previous checkpoint (ckpt-{PER_EPOCH}) is kept; free space, then" in message
    assert f"--out {tmp_path} --resume" in message
    kept = [f"ckpt-{PER_EPOCH}.data-00000-of-00001", f"ckpt-{PER_EPOCH}.index", "checkpoint", "run.json"]
    assert listing(tmp_path) == ["checkpoints"] + sorted(f"checkpoints/{n}" for n in kept)  # nothing half-written
    assert tf.train.latest_checkpoint(str(tmp_path / "checkpoints")).endswith(f"ckpt-{PER_EPOCH}")
    resumed = train(tmp_path, epochs=2, resume=True)
    assert resumed.epochs == 2 and resumed.steps == PER_EPOCH  # epoch 2 only, from the kept checkpoint
    if fault == "SaveV2 (TensorFlow's error)":  # the same as a run that never failed
        whole = train(tmp_path / "whole", epochs=2)
        np.testing.assert_allclose(resumed.history["loss"], whole.history["loss"], rtol=1e-5)


def test_disk_full_writing_the_model_leaves_no_part_of_it_and_a_resume_writes_it(tmp_path, monkeypatch):
    def full(model, path, *args, **kwargs):
        with open(path, "wb") as handle:
            handle.write(b"PK\x03\x04 cut short")
        raise OSError(errno.ENOSPC, NO_SPACE)

    with monkeypatch.context() as patch:
        patch.setattr(keras.Model, "save", full)
        with pytest.raises(TrainingError) as failed:
            train(tmp_path)
    message = one_line(failed.value)
    assert message.startswith(f"no space left on device while writing model.keras in {tmp_path}; ")
    assert "its last checkpoint is kept; free space, then" in message and "--resume" in message
    top = [p for p in listing(tmp_path) if "/" not in p]
    assert top == ["checkpoints", "curves.svg", "history.csv", "history.json"]  # no model.keras, no temporary file
    assert json.loads((tmp_path / "history.json").read_text())["epoch"] == [1]
    again = train(tmp_path, resume=True)
    assert again.steps == 0 and keras.saving.load_model(str(tmp_path / "model.keras")).count_params() > 0


def test_disk_full_writing_the_run_weights_then_cli_resume(tmp_path, monkeypatch, capsys, spec_file):
    """h5py's OSError (errno 28) while the run's model.weights.h5 is written: no manifest, no weights,
    a one-line error; `tfspec train --resume` then finishes the run and `tfspec evaluate` reads it."""
    folder = tmp_path / "run"

    def full(model, path, *args, **kwargs):
        with open(path, "wb") as handle:
            handle.write(b"\x89HDF\r\n\x1a\n cut short")
        raise OSError(errno.ENOSPC, f"Can't synchronously write data (file write failed: {NO_SPACE})")

    with monkeypatch.context() as patch:
        patch.setattr(keras.Model, "save_weights", full)
        line = cli_error(capsys, ["train", spec_file, "--out", str(folder), "-q"])
    assert f"no space left on device while writing model.weights.h5 in {folder}" in line
    assert not (folder / "manifest.json").exists() and not (folder / "model.weights.h5").exists()
    assert not [p for p in os.listdir(folder) if p.startswith(".")]
    assert "not a finished training run" in cli_error(capsys, ["evaluate", str(folder)])
    assert cli.main(["train", spec_file, "--out", str(folder), "--resume", "-q"]) == 0
    assert cli.main(["evaluate", str(folder)]) == 0
    assert "accuracy" in json.loads(capsys.readouterr().out)


def test_hdf5_weights_need_the_space_first_and_its_flush_error_is_a_failed_write(tmp_path, monkeypatch):
    """HDF5 can crash the process (SIGSEGV in H5Fclose) when the disk fills under it, measured on a
    full tmpfs: the free space is checked before it writes, and its RuntimeError from a failed flush
    is reported as the failed write it is. Nothing is left in the folder."""
    model, path, called = mlp(units=8), str(tmp_path / "m.weights.h5"), []

    class Full:
        f_bavail, f_frsize = 10, 4096

    with monkeypatch.context() as patch:
        patch.setattr(os, "statvfs", lambda folder: Full)
        patch.setattr(keras.Model, "save_weights", lambda *args, **kwargs: called.append(args))
        with pytest.raises(OSError) as full:
            files.save_model(model, path)
    assert full.value.errno == errno.ENOSPC and "(40,960 bytes free, " in str(full.value) and not called

    def flush_failed(self, path):
        raise RuntimeError(
            f"Can't decrement id ref count (file write failed: errno = 28, error message = '{NO_SPACE}')"
        )

    with monkeypatch.context() as patch:
        patch.setattr(keras.Model, "save_weights", flush_failed)
        with pytest.raises(OSError) as failed:
            files.save_model(model, path)
    assert failed.value.errno == errno.ENOSPC

    def bug(self, path):
        raise RuntimeError("a bug")

    with monkeypatch.context() as patch:
        patch.setattr(keras.Model, "save_weights", bug)
        with pytest.raises(RuntimeError, match="a bug"):  # not a write failure: left alone
            files.save_model(model, path)
    assert os.listdir(tmp_path) == []
    files.save_model(model, path)
    assert os.listdir(tmp_path) == ["m.weights.h5"]


# -- 2. folders that cannot be written --------------------------------------------------------------------


def test_out_dir_that_is_a_file_or_under_one_is_refused_before_the_data_is_read(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("x")
    missing = {"source": "npz", "path": str(tmp_path / "no-such.npz")}  # read only after the folder check
    for out, at in ((afile, afile), (afile / "sub", afile)):
        with pytest.raises(TrainingError) as refused:
            train(out, data=missing)
        assert one_line(refused.value) == (
            f"cannot write the run folder {str(out)!r}: {str(at)!r} is a file, not a folder; "
            "choose another output folder (--out)"
        )
    assert afile.read_text() == "x"


@pytest.mark.skipif(AS_ROOT, reason="root writes in a read-only folder (chmod does not stop it)")
def test_out_dir_in_a_read_only_folder_is_refused(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(TrainingError, match="is not writable \\(permission denied\\)"):
            train(locked / "run")
    finally:
        locked.chmod(0o700)


def test_cli_out_that_is_a_file(tmp_path, capsys, spec_file):
    afile = tmp_path / "afile"
    afile.write_text("x")
    line = cli_error(capsys, ["train", spec_file, "--out", str(afile / "run"), "-q"])
    assert f"{str(afile)!r} is a file, not a folder" in line


def tensorboard(log_dir="logs"):
    return training(callbacks=[{"class_name": "TensorBoard", "config": {"log_dir": log_dir}}])


def test_tensorboard_log_dir_that_cannot_be_made_is_refused_before_the_run_folder_changes(tmp_path):
    train(tmp_path)
    before = listing(tmp_path / "checkpoints")
    stamp = (tmp_path / "checkpoints" / "run.json").stat().st_mtime_ns
    (tmp_path / "logs").write_text("not a folder")
    opts = tensorboard()
    opts.update(batch_size=16)
    with pytest.raises(CallbackError) as refused:
        train_model(None, opts, (X, Y), model_fn=lambda: mlp(units=8), out_dir=str(tmp_path), quiet=True)
    assert one_line(refused.value) == (
        f"TensorBoard log_dir 'logs' cannot be written: {str(tmp_path.resolve() / 'logs')!r} is a file, not a folder"
    )
    assert listing(tmp_path / "checkpoints") == before  # nothing cleared
    assert (tmp_path / "checkpoints" / "run.json").stat().st_mtime_ns == stamp


def test_tensorboard_writer_errors_are_one_line(tmp_path, monkeypatch):
    def denied(path, *args, **kwargs):
        raise tf.errors.PermissionDeniedError(None, None, f"{path}; Permission denied")

    with monkeypatch.context() as patch:
        patch.setattr(tf.summary, "create_file_writer", denied)
        with pytest.raises(CallbackError) as failed:
            TensorBoardRun(tmp_path / "a").run()
    assert one_line(failed.value).startswith("TensorBoard could not create its event files in 'logs': ")
    assert "Permission denied; check the folder" in str(failed.value)

    def full(*args, **kwargs):
        raise no_space("logs/train/events.out.tfevents.1")

    with monkeypatch.context() as patch:
        patch.setattr(tf.summary, "write", full)
        with pytest.raises(CallbackError) as failed:
            TensorBoardRun(tmp_path / "b").run()
    assert one_line(failed.value) == (
        "TensorBoard could not write the scalars of epoch 1 in 'logs': no space left on device; free space "
        "(or remove the TensorBoard callback)"
    )


class TensorBoardRun:
    def __init__(self, out_dir):
        self.out_dir = out_dir

    def run(self):
        opts = tensorboard()
        opts.update(batch_size=16)
        return train_model(None, opts, (X, Y), model_fn=lambda: mlp(units=8), out_dir=str(self.out_dir), quiet=True)


def test_tensorboard_writes_its_scalars(tmp_path):
    TensorBoardRun(tmp_path).run()
    assert [len(os.listdir(tmp_path / "logs" / split)) for split in ("train", "validation")] == [1, 1]


# -- 3. out of memory ---------------------------------------------------------------------------------


def test_out_of_memory_in_a_train_call_names_the_step_and_keeps_the_checkpoint(tmp_path, monkeypatch):
    real, calls = Steps.train, []

    def train_call(self, iterator, n):
        calls.append(n)
        if len(calls) == 2:  # steps 3-4 of epoch 1, after the checkpoint at step 2
            raise tf.errors.ResourceExhaustedError(
                None,
                None,
                "OOM when allocating tensor with shape[16,8] and type float on /device:CPU:0 by allocator cpu",
            )
        return real(self, iterator, n)

    with monkeypatch.context() as patch:
        patch.setattr(Steps, "train", train_call)
        with pytest.raises(TrainingError) as failed:
            train(tmp_path, checkpoint_every_steps=2)
    assert one_line(failed.value) == (
        "out of memory at epoch 1, step 3 with batch_size 16 (OOM when allocating tensor with shape[16,8] and type "
        "float on /device:CPU:0 by allocator cpu); use a smaller batch_size (--batch-size) without --resume, or a "
        "smaller model; training stopped (nothing was saved after the last good checkpoint, which is kept)"
    )
    assert "checkpoints/ckpt-2.index" in listing(tmp_path)
    resumed = train(tmp_path, resume=True, checkpoint_every_steps=2)
    assert resumed.steps == PER_EPOCH - 2


def test_memory_error_in_validation_and_out_of_memory_in_evaluate_model(tmp_path, monkeypatch):
    real = Session.evaluate

    def evaluate(self, split, prefix=""):
        if split == "validation":
            raise MemoryError()
        return real(self, split, prefix)

    data = {"train": (X, Y), "validation": (X[:32], Y[:32])}
    with monkeypatch.context() as patch:
        patch.setattr(Session, "evaluate", evaluate)
        with pytest.raises(TrainingError) as failed:
            train(tmp_path, data=data)
    assert one_line(failed.value).startswith(
        "out of memory evaluating the validation split after epoch 1 with batch_size 16 (numpy could not allocate "
        "an array); use a smaller batch_size"
    )

    def oom(self, iterator, n):
        raise tf.errors.ResourceExhaustedError(None, None, "OOM when allocating tensor")

    with monkeypatch.context() as patch:
        patch.setattr(Steps, "evaluate", oom)
        with pytest.raises(TrainingError, match="^out of memory evaluating the train split with batch_size 16 "):
            evaluate_model(mlp(units=8), training(batch_size=16), (X, Y), split="train")


def test_a_batch_tensorflow_refuses_is_one_line(tmp_path, monkeypatch):
    """The last guard for data the checks let through: TensorFlow's own sentence, without the
    stack, node names or the batch's values."""

    @tf.function
    def refused():
        return tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.constant([9, 3]), logits=tf.zeros([2, 5]))

    with monkeypatch.context() as patch:
        patch.setattr(Steps, "train", lambda self, iterator, n: refused())
        with pytest.raises(TrainingError) as failed:
            train(tmp_path)
    assert one_line(failed.value) == (
        "TensorFlow refused a training batch at epoch 1, step 1: Received a label value of 9 which is outside the "
        "valid range of [0, 5); check the data against the model (labels, shapes); training stopped (nothing was "
        "saved)"
    )


# -- 4. damaged run folders -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def finished(tmp_path_factory, spec_file):
    folder = tmp_path_factory.mktemp("finished") / "run"
    train_run(spec_file, out_dir=str(folder), quiet=True)
    return folder


def truncate(path, size):
    data = path.read_bytes()[:size]
    path.write_bytes(data)


DAMAGE = {
    # name: (how, what the one line says)
    "empty weights": (
        lambda f: truncate(f / "model.weights.h5", 0),
        "model.weights.h5' do not fit the model of the stored spec: the file is empty; train the run again",
    ),
    "garbage weights": (
        lambda f: (f / "model.weights.h5").write_bytes(os.urandom(300)),
        "the file is not an HDF5 weights file (damaged or overwritten); train the run again",
    ),
    "truncated weights": (
        lambda f: truncate(f / "model.weights.h5", 3000),
        "the file is damaged (Unable to synchronously open file (truncated file",
    ),
    "missing weights": (
        lambda f: (f / "model.weights.h5").unlink(),
        "model.weights.h5' is missing; train the run again",
    ),
    "empty manifest": (
        lambda f: truncate(f / "manifest.json", 0),
        "manifest.json' is empty; the run folder was altered: train the run again",
    ),
    "truncated manifest": (
        lambda f: truncate(f / "manifest.json", 50),
        "manifest.json' is not valid JSON (truncated or overwritten); the run folder was altered: train the run again",
    ),
    "missing manifest": (lambda f: (f / "manifest.json").unlink(), "is not a finished training run"),
    "missing spec": (lambda f: (f / "spec.tfs").unlink(), "spec.tfs' is missing: the run's model cannot be rebuilt"),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_damaged_run_folder_is_one_line_for_evaluate_and_export(finished, tmp_path, capsys, damage):
    folder = tmp_path / "run"
    shutil.copytree(finished, folder)
    how, says = DAMAGE[damage]
    how(folder)
    assert says in cli_error(capsys, ["evaluate", str(folder)])
    assert says in cli_error(capsys, ["export", str(folder), "--format", "keras", "-o", str(tmp_path / "m.keras")])
    assert not (tmp_path / "m.keras").exists()


def test_model_keras_is_not_read_and_a_resume_repairs_damaged_weights(finished, tmp_path, capsys, spec_file):
    folder = tmp_path / "run"
    shutil.copytree(finished, folder)
    (folder / "model.keras").write_bytes(b"")  # not read by evaluate or export
    assert cli.main(["evaluate", str(folder)]) == 0
    expected = json.loads(capsys.readouterr().out)
    truncate(folder / "model.weights.h5", 0)
    assert "the file is empty" in cli_error(capsys, ["evaluate", str(folder)])
    assert cli.main(["train", spec_file, "--out", str(folder), "--resume", "-q"]) == 0  # what the message says
    assert cli.main(["evaluate", str(folder)]) == 0
    assert json.loads(capsys.readouterr().out) == expected  # the same weights, from the last checkpoint


# -- 5. tfspec import of deep, huge or non-UTF-8 files ----------------------------------------------------


INPUT = '{"class_name": "InputLayer", "config": {"batch_shape": [null, 4], "dtype": "float32", "name": "in%d"}}'
SEQUENTIAL = (
    '{"class_name": "Sequential", "config": {"name": "s%d", "layers": [%s, %s], "build_input_shape": [null, 4]}}'
)


def nested_sequential(depth):
    """A built Sequential inside a Sequential ... `depth` deep, as JSON text (made without recursion)."""
    text = (
        '{"class_name": "Dense", "config": {"name": "dense", "units": 2}, "build_config": {"input_shape": [null, 4]}}'
    )
    for i in range(depth):
        text = SEQUENTIAL % (i, INPUT % i, text)
    return text


def import_error(capsys, path):
    assert cli.main(["import", str(path)]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err, err
    return err.splitlines()[0]


def test_import_of_a_2000_deep_sequential_is_refused_before_recursing(tmp_path, capsys):
    deep = tmp_path / "deep.json"
    deep.write_text(nested_sequential(2000))
    assert "error[E901]: the config nests objects and lists more than 200 deep (at line 1" in import_error(capsys, deep)
    archive = tmp_path / "deep.keras"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("config.json", nested_sequential(2000))
    assert "more than 200 deep" in import_error(capsys, archive)
    config = value = {}
    for _ in range(2000):  # the Python API, given a dict
        value["a"] = value = {}
    with pytest.raises(ImportFailure, match="more than 200 deep"):
        import_config({"class_name": "Sequential", "config": config})


def test_import_of_huge_and_non_utf8_files(tmp_path, capsys):
    huge = tmp_path / "huge.json"
    with open(huge, "wb") as handle:
        handle.truncate(65 * 2**20)  # sparse: nothing is written, nothing is read
    assert "the file is too large for a model config (over 64 MiB)" in import_error(capsys, huge)
    latin = tmp_path / "latin.json"
    latin.write_bytes('{"class_name": "Sequential", "config": {"name": "caf\u00e9"}}'.encode("latin-1"))
    assert "not a Keras model file (neither a .keras archive nor JSON text)" in import_error(capsys, latin)


def test_keras_refusal_does_not_echo_the_file(tmp_path, capsys):
    value = "[" * 150 + "1" + "]" * 150
    layers = (
        '[{"class_name": "InputLayer", "config": {"batch_shape": [null, 4], "dtype": "float32", "name": "in"}}, '
        f'{{"class_name": "Dense", "config": {{"name": "dense", "units": 2, "kernel_initializer": {value}}}}}]'
    )
    path = tmp_path / "bad.json"
    path.write_text(f'{{"class_name": "Sequential", "config": {{"name": "s", "layers": {layers}}}}}')
    line = import_error(capsys, path)
    assert "Keras refuses its arguments: Could not interpret initializer identifier" in line
    message = line.split("error[E903]: ", 1)[1]
    assert "using config" not in message and len(message) < 250, message


# -- 6. a resume that would change what a step means ------------------------------------------------------


def test_resume_with_another_batch_size_or_data_size_is_refused(tmp_path):
    train(tmp_path)
    before, info = listing(tmp_path), (tmp_path / "checkpoints" / "run.json").read_text()
    assert json.loads(info) == {
        "spec_hash": "s",
        "seed": 0,
        "batch_size": 16,
        "steps_per_epoch": PER_EPOCH,
        "train_samples": 96,
    }
    with pytest.raises(CheckpointError) as refused:
        train_model(
            None,
            training(batch_size=32, epochs=2),
            (X, Y),
            model_fn=lambda: mlp(units=8),
            out_dir=str(tmp_path),
            resume=True,
            spec_hash="s",
        )
    assert one_line(refused.value) == (
        f"cannot resume from {tmp_path / 'checkpoints'}: the run was trained with the batch size 16, this call has "
        "32, so its step positions would mean other samples; resume with --batch-size 16, or start a new run "
        "without --resume"
    )
    with pytest.raises(CheckpointError, match="trained with the number of training samples 96, this call has 90"):
        train(tmp_path, data=(X[:90], Y[:90]), epochs=2, resume=True)  # 6 steps of 16 still, other samples
    with pytest.raises(CheckpointError, match="trained with the steps per epoch 6, this call has 5"):
        train(tmp_path, data=(X[:80], Y[:80]), epochs=2, resume=True)
    assert listing(tmp_path) == before and (tmp_path / "checkpoints" / "run.json").read_text() == info
    assert train(tmp_path, epochs=2, resume=True).steps == PER_EPOCH  # more epochs: fine


def test_cli_resume_with_another_batch_size(tmp_path, capsys, spec_file):
    folder = tmp_path / "run"
    assert cli.main(["train", spec_file, "--out", str(folder), "-q"]) == 0
    line = cli_error(capsys, ["train", spec_file, "--out", str(folder), "--resume", "--batch-size", "64", "-q"])
    assert "the run was trained with the batch size 128, this call has 64" in line
    assert (folder / "manifest.json").is_file()  # the finished run is left as it was


# -- 7. other errors once training runs -------------------------------------------------------------------


class WritesUnderAFile(Callback):
    """A user callback whose TensorFlow write fails for real (its folder is a file)."""

    def __init__(self, path):
        self.path = path

    def on_epoch_end(self, epoch, logs=None):
        tf.io.write_file(os.path.join(self.path, "x.txt"), "x")


class Buggy(Callback):
    def on_epoch_end(self, epoch, logs=None):
        return {}["missing"]


def run_with(out_dir, callback, **changes):
    opts = training(batch_size=16, **changes)
    return train_model(
        None, opts, (X, Y), model_fn=lambda: mlp(units=8), out_dir=str(out_dir), quiet=True, callbacks=[callback]
    )


def test_callback_write_errors_are_one_line_and_bugs_are_not_hidden(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "h.csv").mkdir()  # CSVLogger's file is a folder
    csv = {"class_name": "CSVLogger", "config": {"filename": "h.csv"}}
    with pytest.raises(TrainingError) as failed:
        train_model(
            None,
            training(batch_size=16, callbacks=[csv]),
            (X, Y),
            model_fn=lambda: mlp(units=8),
            out_dir=str(tmp_path / "a"),
            quiet=True,
        )
    # refused before training, by the callback's own check of what it will write
    assert one_line(failed.value) == "CSVLogger filename 'h.csv' is a folder, not a file"
    assert not [p for p in os.listdir(tmp_path / "a") if p.startswith(".")]

    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    with pytest.raises(TrainingError) as failed:
        run_with(tmp_path / "b", WritesUnderAFile(str(blocker)))
    assert "cannot write its files for the WritesUnderAFile callback at the end of epoch 1: " in one_line(failed.value)
    with pytest.raises(KeyError):  # a bug in a callback keeps its traceback
        run_with(tmp_path / "c", Buggy())
