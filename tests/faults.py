"""Fault injection in training: SIGKILL at random moments (also while a checkpoint is being
written) followed by --resume, over and over; a truncated newest checkpoint now and then; and
non-finite values (in the weights, the loss and the data). Prints the counts as JSON (`make faults`, or `python -m tests.faults --kills N`).

A resumed run must end with exactly the weights of an uninterrupted run with the same seed
(deterministic ops on), and no checkpoint that was complete before a kill may be lost."""

from __future__ import annotations

import argparse
import glob
import json
import os
import random
import re
import signal
import tempfile
import time

from .test_runtime_support import child, finish

REPEAT, BATCH, EPOCHS, EVERY = 8, 32, 2, 10
PER_EPOCH = -(-1797 * REPEAT // BATCH)
ARGS = {"repeat": REPEAT, "epochs": EPOCHS, "steps_per_call": 5, "every": EVERY}


def complete_checkpoints(folder: str) -> list[int]:
    """Checkpoint numbers listed in TensorFlow's `checkpoint` state file (written after the data)."""
    state = os.path.join(folder, "checkpoint")
    if not os.path.exists(state):
        return []
    try:
        text = open(state, encoding="utf-8").read()
    except OSError:
        return []
    return [int(n) for n in re.findall(r'all_model_checkpoint_paths: ".*?ckpt-(\d+)"', text)]


def weights(path: str):
    import numpy as np

    with np.load(path) as f:
        return [f[k] for k in f.files]


def same_weights(a: str, b: str) -> bool:
    import numpy as np

    return all(np.allclose(x, y, atol=1e-6) for x, y in zip(weights(a), weights(b), strict=True))


def killed_run(rng: random.Random, out_dir: str, truncate_every: int, stats: dict) -> bool:
    """Kill a training run repeatedly until it finishes; True if it ends like the reference."""
    ckpt_dir = os.path.join(out_dir, "checkpoints")
    resume = False
    for _ in range(50):
        proc = child("resume", dict(ARGS, out_dir=out_dir, resume=resume))
        delay = rng.uniform(3.0, 9.0)  # TensorFlow takes ~3 s to start; training ~5 s more
        deadline = time.monotonic() + delay
        while time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.01)
        if proc.poll() is not None:  # finished before the kill
            output = proc.communicate()[0]
            assert proc.returncode == 0, output[-2000:]
            record_resume(output, stats, resume)
            return True
        before = complete_checkpoints(ckpt_dir)
        os.kill(proc.pid, signal.SIGKILL)
        output = proc.communicate()[0]
        stats["kills"] += 1
        if resume:
            record_resume(output, stats, resume)
        stats["_complete_before"] = max(before) if before else 0
        if truncate_every and stats["kills"] % truncate_every == 0 and before:
            newest = glob.glob(os.path.join(ckpt_dir, f"ckpt-{max(before)}.data-*"))
            for path in newest:
                data = open(path, "rb").read()
                open(path, "wb").write(data[: len(data) // 3])
            stats["truncated"] += 1
            stats["_complete_before"] = sorted(before)[-2] if len(before) > 1 else 0
        resume = True
    raise AssertionError("the run never finished")


def record_resume(output: str, stats: dict, resume: bool) -> None:
    """Judge one resumed child from its output: where did it restart, against what was saved?"""
    if not resume:
        return
    match = re.search(r"resuming at epoch (\d+), step (\d+)", output)
    if match is None and "trained" not in output:
        return  # killed while starting up, before it could say where it resumed: nothing to judge
    stats["resumes"] += 1
    restored = ((int(match.group(1)) - 1) * PER_EPOCH + int(match.group(2))) if match else 0
    if restored < stats.get("_complete_before", 0):
        stats["checkpoints_lost"] += 1
        stats.setdefault("lost", []).append(
            {"restored_step": restored, "newest_complete": stats["_complete_before"], "output": output}
        )


def nan_stops(tmp: str) -> dict:
    """Non-finite values, with oneDNN on and off (each in a child process): a NaN weight that a
    fused MatMul+BiasAdd+Relu hides from the loss, a NaN made inside the model from finite data
    (25-step and 1-step calls), and a diverging learning rate. Each must stop at its step, name
    it, save no model and keep only finite checkpoints. A NaN in the data is refused up front."""
    import numpy as np

    from tfspec.runtime import DataError, train_model

    from .test_runtime_numerics import named_step, run_child
    from .test_runtime_support import digits, mlp, training

    out = {}
    for onednn in ("1", "0"):
        report = run_child(onednn, os.path.join(tmp, f"nan{onednn}"))
        cases = {k: v for k, v in report.items() if isinstance(v, dict)}
        out[f"onednn_{'on' if onednn == '1' else 'off'}"] = {
            "cases": len(cases),
            "stopped": sum(c["raised"] for c in cases.values()),
            "named_epoch_and_step": sum(bool(c.get("raised") and named_step(c["message"])) for c in cases.values()),
            "model_saved": sum(bool(c.get("model_saved")) for c in cases.values()),
            "checkpoints_all_finite": all(c.get("finite", True) for c in cases.values()),
            "messages": sorted({c.get("message", "").split(" (")[0][:90] for c in cases.values()}),
        }
    x, y = digits()
    x[1000, 3, 3] = np.nan  # one poisoned pixel
    try:
        train_model(mlp(), training(epochs=1), (x, y), out_dir=os.path.join(tmp, "nan_data"), quiet=True)
        out["nan_in_data"] = {"refused": False}
    except DataError as exc:
        out["nan_in_data"] = {"refused": True, "message": str(exc)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description="fault injection in training")
    parser.add_argument("--runs", type=int, default=3, help="killed runs, each killed until it finishes")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--truncate-every", type=int, default=3, help="truncate the newest checkpoint every N kills")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    stats = {"runs": 0, "kills": 0, "resumes": 0, "truncated": 0, "matched_uninterrupted": 0, "checkpoints_lost": 0}
    start = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        reference = os.path.join(tmp, "reference")
        finish(child("resume", dict(ARGS, out_dir=reference, resume=False)), 300)
        for i in range(args.runs):
            out = os.path.join(tmp, f"run{i}")
            killed_run(rng, out, args.truncate_every, stats)
            stats["runs"] += 1
            if same_weights(os.path.join(reference, "final.npz"), os.path.join(out, "final.npz")):
                stats["matched_uninterrupted"] += 1
        stats["nan"] = nan_stops(tmp)
    stats.pop("_complete_before", None)
    stats["seconds"] = round(time.time() - start, 1)
    print(json.dumps(stats, indent=2))


if __name__ == "__main__":
    main()
