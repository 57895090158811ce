"""TensorFlow's thread pools chosen for the model (tfspec.threads): the estimate of the largest op
from the static summary, the choice, and when it is applied (before TensorFlow's first op, never over
the user's own choice)."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import tfspec
from tfspec import threads

from .helpers import ROOT, spec_path

MLP = """
model M {
    input x: float32[784]
    x -> Dense(128, activation="relu") -> Dense(10, activation="softmax") -> y
    output y
}
train {
    optimizer = Adam()
    loss = SparseCategoricalCrossentropy()
    epochs = 1
    batch = 32
    data = npz("d.npz")
}
"""


def test_small_ops_get_one_thread_each():
    spec = tfspec.loads(MLP)
    assert threads.largest_op(spec, 32) == (784 * 128 + 128) * 32
    choice = threads.choose(spec, n_cores=4)
    assert (choice.inter_op, choice.intra_op) == (4, 1) and "3,215,360" in choice.reason
    assert threads.choose(spec, n_cores=1) is None  # nothing to share out
    assert threads.choose(spec, batch_size=8192, n_cores=4) is None  # a batch large enough to split


def test_large_ops_keep_tensorflows_defaults():
    cnn = tfspec.load(spec_path("mnist_cnn"))  # Conv2D(64, 3) on 26x26: 18,496 weights at 576 positions
    assert threads.largest_op(cnn, 32) == max(18_496 * 24 * 24, 4_718_720) * 32
    assert threads.choose(cnn, n_cores=2) is None
    # a block's layers count (the summary's rows inside it), not the block's total
    assert threads.choose(tfspec.load(spec_path("residual_cnn")), n_cores=2) is None


def test_recurrent_and_lookup_layers():
    spec = tfspec.loads(
        """
        model T {
            input tokens: int32[None]
            tokens -> Embedding(50000, 64) -> LSTM(64) -> Dense(1) -> y
            output y
        }
        """
    )
    # the LSTM's op is one time step: its weights times the batch; the embedding is a lookup
    assert threads.largest_op(spec, 32) == (4 * 64 * (64 + 64) + 4 * 64) * 32
    assert threads.choose(spec, n_cores=2) is not None


def test_the_users_choice_wins(monkeypatch):
    for name, value in (
        ("TFSPEC_THREADS", "default"),
        ("TF_NUM_INTRAOP_THREADS", "2"),
        ("TF_NUM_INTEROP_THREADS", "1"),
    ):
        with monkeypatch.context() as m:
            m.setenv(name, value)
            assert threads.user_choice()
    monkeypatch.setenv("TFSPEC_THREADS", "auto")
    monkeypatch.delenv("TF_NUM_INTRAOP_THREADS", raising=False)
    monkeypatch.delenv("TF_NUM_INTEROP_THREADS", raising=False)
    assert not threads.user_choice()


def run(script, **env):
    clean = {k: v for k, v in os.environ.items() if k not in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")}
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**clean, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": ROOT, **env},
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_applied_before_the_first_op_only():
    out = run(
        """
        import json
        import os
        from tfspec import threads
        before_import = threads.apply(threads.Threads(2, 1, ""))  # TensorFlow not imported: nothing to set
        import tensorflow as tf
        os.environ["TF_NUM_INTEROP_THREADS"] = "3"  # the user's choice: left alone
        refused = threads.apply(threads.Threads(2, 1, ""))
        del os.environ["TF_NUM_INTEROP_THREADS"]
        set_first = threads.apply(threads.Threads(2, 1, ""))
        pools = [tf.config.threading.get_inter_op_parallelism_threads(), tf.config.threading.get_intra_op_parallelism_threads()]
        again = threads.apply(threads.Threads(3, 1, ""))  # set already (by us, as by a user): left alone
        print(json.dumps([before_import, refused, set_first, pools, again]))
        """
    )
    assert out == [False, False, True, [2, 1], False]
    late = run(
        """
        import json
        import tensorflow as tf
        tf.constant(1.0) + 1.0  # TensorFlow has started: its pools are made
        from tfspec import threads
        print(json.dumps([threads.apply(threads.Threads(2, 1, "")), tf.config.threading.get_intra_op_parallelism_threads()]))
        """
    )
    assert late == [False, 0]


@pytest.mark.parametrize("env, intra", [({}, 1), ({"TFSPEC_THREADS": "default"}, 0)])
def test_train_applies_the_choice(tmp_path, env, intra):
    """tfspec.train, first to run TensorFlow in its process, applies the choice for the spec; with
    TFSPEC_THREADS=default TensorFlow keeps its own."""
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "d.npz", x=rng.random((64, 784), dtype=np.float32), y=rng.integers(0, 10, 64))
    (tmp_path / "m.tfs").write_text(MLP)
    out = run(
        f"""
        import json, tfspec
        result = tfspec.train({str(tmp_path / "m.tfs")!r})
        import tensorflow as tf
        print(json.dumps([len(result.history["loss"]), tf.config.threading.get_intra_op_parallelism_threads()]))
        """,
        **env,
    )
    assert out == [1, intra if threads.cores() > 1 else 0]
