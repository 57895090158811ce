"""Distribution (MirroredStrategy on 2 logical CPUs, 2-process multi-worker) and mixed precision."""

import json
import socket

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

from tfspec.runtime import Callback, TrainingError, train_model  # noqa: E402

from .test_runtime_support import child, finish, mlp, training  # noqa: E402


def result_line(output):
    return json.loads(next(line for line in output.splitlines() if line.startswith("RESULT "))[7:])


@pytest.mark.slow
def test_mirrored_on_two_cpus_matches_one_device():
    # 301 samples: 241 to train, so the last batch of 17 is split 9/8 between the replicas
    result = result_line(finish(child("mirrored", {"n": 301, "epochs": 2}), timeout=180))
    assert result["max_diff"] < 1e-5
    mirrored, single = result["history"]["mirrored"], result["history"]["None"]
    for key in single:
        np.testing.assert_allclose(mirrored[key], single[key], rtol=1e-5)


def free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


@pytest.mark.slow
def test_two_worker_run_ends_with_equal_weights(tmp_path):
    workers = [f"127.0.0.1:{p}" for p in free_ports(2)]
    procs = []
    for index in range(2):
        tf_config = json.dumps({"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}})
        # 201 samples: 161 to train, so the last global batch holds one sample, for one worker only
        args = {"n": 201, "epochs": 2, "out_dir": str(tmp_path / "run"), "weights": str(tmp_path / f"w{index}.npz")}
        procs.append(child("multi_worker", args, TF_CONFIG=tf_config))
    try:
        outputs = [finish(p, timeout=240) for p in procs]
    finally:
        for p in procs:
            p.kill()
    results = [result_line(out) for out in outputs]
    assert [r["replicas"] for r in results] == [2, 2]
    assert results[0]["history"] == results[1]["history"] and len(results[0]["history"]["loss"]) == 2
    with np.load(tmp_path / "w0.npz") as a, np.load(tmp_path / "w1.npz") as b:
        for key in a.files:
            np.testing.assert_array_equal(a[key], b[key])
    assert (tmp_path / "run" / "model.keras").is_file()  # written by worker 0, the chief
    assert not list((tmp_path / "run" / "checkpoints").glob(".worker-*"))  # scratch of worker 1 removed


class OptimizerKind(Callback):
    def on_train_begin(self, logs=None):
        self.kind = type(self.loop.optimizer).__name__


@pytest.mark.parametrize("precision", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision(precision):
    seen = OptimizerKind()
    try:
        result = train_model(
            None, training(epochs=2, precision=precision), model_fn=lambda: mlp(units=32), quiet=True, callbacks=[seen]
        )
    except (tf.errors.NotFoundError, tf.errors.InvalidArgumentError, tf.errors.UnimplementedError) as e:
        pytest.skip(f"{precision} kernels unavailable on this CPU: {e}")
    assert result.model.dtype_policy.name == precision
    assert keras.mixed_precision.global_policy().name == "float32"  # restored afterwards
    assert seen.kind == ("LossScaleOptimizer" if precision == "mixed_float16" else "Adam")
    assert np.isfinite(result.history["loss"]).all() and result.test["accuracy"] > 0.6


def test_precision_needs_a_model_built_under_the_policy():
    with pytest.raises(TrainingError, match="pass model_fn"):
        train_model(mlp(), training(precision="mixed_bfloat16"), quiet=True)
