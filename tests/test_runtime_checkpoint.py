"""Checkpoints and resume: SIGKILL mid-epoch, corrupted checkpoints, another spec, continuing."""

import json
import os
import re

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from tfspec.runtime import CheckpointError, train_model  # noqa: E402

from .test_runtime_support import child, finish, kill_when, mlp, training  # noqa: E402

REPEAT, BATCH, EVERY = 8, 32, 10
PER_EPOCH = -(-1797 * REPEAT // BATCH)


def checkpoint_steps(folder):
    names = os.listdir(folder) if os.path.isdir(folder) else []
    return [int(m.group(1)) for m in (re.match(r"ckpt-(\d+)\.index$", n) for n in names) if m]


@pytest.mark.slow
def test_resume_after_sigkill_matches_an_uninterrupted_run(tmp_path):
    args = {"repeat": REPEAT, "epochs": 2, "steps_per_call": 5, "every": EVERY, "resume": False}
    full = child("resume", dict(args, out_dir=str(tmp_path / "full")))
    killed = child("resume", dict(args, out_dir=str(tmp_path / "killed")))
    ckpt_dir = tmp_path / "killed" / "checkpoints"
    mid_epoch = lambda: any(s % PER_EPOCH for s in checkpoint_steps(ckpt_dir))  # noqa: E731
    assert kill_when(killed, mid_epoch, timeout=120), "the run ended before it could be killed"
    assert not (tmp_path / "killed" / "model.keras").exists()
    resumed = child("resume", dict(args, out_dir=str(tmp_path / "killed"), resume=True))
    history_full = json.loads(finish(full, 180).strip().splitlines()[-1])
    output = finish(resumed, 180)
    assert re.search(r"resuming at epoch \d, step [1-9]", output), output  # mid-epoch
    history_resumed = json.loads(output.strip().splitlines()[-1])
    with np.load(tmp_path / "full" / "final.npz") as a, np.load(tmp_path / "killed" / "final.npz") as b:
        for key in a.files:
            np.testing.assert_allclose(a[key], b[key], atol=1e-6)
    for key, values in history_full.items():
        np.testing.assert_allclose(values, history_resumed[key], rtol=1e-5)


def test_corrupted_newest_checkpoint_falls_back_to_the_previous(tmp_path):
    train_model(mlp(), training(epochs=3), out_dir=str(tmp_path), quiet=True, spec_hash="s")
    steps = sorted(checkpoint_steps(tmp_path / "checkpoints"))
    assert len(steps) == 3
    newest = tmp_path / "checkpoints" / f"ckpt-{steps[-1]}.data-00000-of-00001"
    newest.write_bytes(newest.read_bytes()[:100])  # truncated, as by a crash mid-write
    with pytest.warns(UserWarning, match="unreadable"):
        result = train_model(mlp(), training(epochs=4), out_dir=str(tmp_path), quiet=True, resume=True, spec_hash="s")
    assert result.epochs == 4 and result.steps == 2 * 45  # epochs 3 and 4 run again
    index = tmp_path / "checkpoints" / f"ckpt-{max(checkpoint_steps(tmp_path / 'checkpoints'))}.index"
    index.write_bytes(b"garbage")
    with pytest.warns(UserWarning, match="unreadable"):
        again = train_model(mlp(), training(epochs=4), out_dir=str(tmp_path), quiet=True, resume=True, spec_hash="s")
    assert again.steps == 45


def test_resume_continues_and_refuses_another_spec(tmp_path):
    first = train_model(mlp(), training(epochs=2), out_dir=str(tmp_path), quiet=True, spec_hash="a")
    with pytest.raises(CheckpointError, match="another spec"):
        train_model(mlp(), training(epochs=3), out_dir=str(tmp_path), resume=True, spec_hash="b")
    more = train_model(mlp(), training(epochs=3), out_dir=str(tmp_path), quiet=True, resume=True, spec_hash="a")
    assert more.epochs == 3 and more.steps == 45
    assert more.history["loss"][:2] == first.history["loss"]
    assert json.loads((tmp_path / "history.json").read_text())["epoch"] == [1, 2, 3]
    fresh = train_model(mlp(), training(epochs=1), out_dir=str(tmp_path), quiet=True, spec_hash="b")
    assert fresh.epochs == 1 and checkpoint_steps(tmp_path / "checkpoints") == [45]  # old run cleared


def test_resume_without_checkpoints_starts_from_scratch(tmp_path):
    result = train_model(mlp(), training(epochs=1), out_dir=str(tmp_path), resume=True, quiet=True)
    assert result.epochs == 1 and result.steps == 45
