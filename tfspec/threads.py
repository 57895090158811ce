"""TensorFlow's thread pools, chosen for the model before TensorFlow starts.

TensorFlow splits each op over an intra-op pool of one thread per core. For small ops the split
costs more than it saves: waking the pool's threads takes longer than the op itself. Measured on
2 cores (benchmarks/bench_train.py): the MNIST MLP, whose largest op is about 3 million
multiply-adds per batch of 32, trains 1.46x faster with one intra-op thread and one inter-op
thread per core (independent ops still run side by side); the MNIST CNN (340 million per op)
trains 15% slower that way. So the choice depends on the model: `choose` estimates the largest
op of a training step from the static summary (no TensorFlow) and picks single-threaded ops
below `SMALL_OP` multiply-adds, TensorFlow's defaults above.

`apply` sets the choice when TensorFlow has not run an op yet (the pools are made with the first
op and cannot change afterwards): the command line always applies it, `tfspec.train` when it is the
first thing to run TensorFlow in the process. A choice made by the user wins: TF_NUM_INTRAOP_THREADS
or TF_NUM_INTEROP_THREADS in the environment, tf.config.threading set already, or TFSPEC_THREADS=default
(TensorFlow's defaults, always).
"""

from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass

from .summary import summary

# Below this many multiply-adds per op (per batch), one thread per op is faster: the MLP's 3.2 million
# is well below, the CNN's 340 million and the residual CNN's 460 million well above.
SMALL_OP = 16_000_000
# A recurrent layer runs one step per time step: its op is (batch x inputs+units) x (gates x units),
# its parameters times the batch, whatever the sequence length.
RECURRENT = {"LSTM", "GRU", "SimpleRNN", "RNN", "Bidirectional", "LSTMCell", "GRUCell", "SimpleRNNCell"}
LOOKUPS = {"Embedding"}  # a gather, however large the table
UNKNOWN_LENGTH = 32  # an axis of unknown length (a sequence, an image side) counts as this many positions
DEFAULT_BATCH = 32


@dataclass(frozen=True)
class Threads:
    inter_op: int
    intra_op: int
    reason: str


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def op_size(row, batch: int) -> int:
    """Multiply-adds of the largest op a layer runs on one batch (an estimate: parameters times the
    positions they are applied at)."""
    if row.kind in LOOKUPS or not row.params:
        return 0
    if row.kind in RECURRENT:
        return row.params * batch
    positions = math.prod(UNKNOWN_LENGTH if d is None else d for d in row.shape[1:-1])
    return row.params * batch * positions


def largest_op(spec, batch: int) -> int:
    rows = summary(spec).rows
    leaves = [r for r, after in zip(rows, rows[1:] + (None,)) if after is None or after.depth <= r.depth]
    return max((op_size(r, batch) for r in leaves if not r.same_as), default=0)


def choose(spec, batch_size: int | None = None, n_cores: int | None = None) -> Threads | None:
    """The thread pools for training `spec` with `batch_size`, or None for TensorFlow's defaults."""
    n_cores = n_cores or cores()
    if n_cores < 2:
        return None
    batch = batch_size or (spec.training or {}).get("batch_size") or DEFAULT_BATCH
    size = largest_op(spec, batch)
    if size >= SMALL_OP:
        return None
    return Threads(
        n_cores, 1, f"largest op ~{size:,} multiply-adds per batch: one thread per op, {n_cores} side by side"
    )


def user_choice() -> bool:
    """Whether the user chose the thread pools already (environment, TFSPEC_THREADS=default)."""
    if os.environ.get("TFSPEC_THREADS", "").strip().lower() == "default":
        return True
    return any(os.environ.get(k, "").strip() for k in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"))


def apply(choice: Threads | None) -> bool:
    """Set `choice` in TensorFlow when it is imported but has run no op yet and the user chose
    nothing; returns whether it was set."""
    if choice is None or user_choice() or "tensorflow" not in sys.modules:
        return False
    import tensorflow as tf

    threading = tf.config.threading
    if threading.get_intra_op_parallelism_threads() or threading.get_inter_op_parallelism_threads():
        return False  # set by the user's code
    try:
        threading.set_intra_op_parallelism_threads(choice.intra_op)
        threading.set_inter_op_parallelism_threads(choice.inter_op)
    except RuntimeError:  # TensorFlow has run an op already: its pools are made
        return False
    return True
