"""Freeing a finished training's traced graphs.

Keras's optimizer sums the gradients over the replicas even on one device
(keras/src/backend/tensorflow/optimizer.py, `_all_reduce_sum_gradients`), and TensorFlow's
`all_reduce` traced in a graph registers its gradient as a `tf.custom_gradient`: a function in
TensorFlow's global gradient registry ("CustomGradient-<uid>") that holds the traced step's
tensors, and that nothing ever removes. Each training in a process therefore kept its graphs
alive: about 6 MiB a training for a small MLP, more for larger models, which adds up in a long
`tfspec tune` or a notebook that trains again and again (`model.fit` keeps them too).

Once a training has ended its step is never traced again (a new training traces its own), so
the entries it registered are removed. TensorFlow's registry is private: when it is not where
this expects it, nothing is removed."""

from contextlib import contextmanager

PREFIX = "CustomGradient-"


def _table():
    try:
        from tensorflow.python.framework import ops
    except ImportError:  # pragma: no cover - TensorFlow is here whenever the runtime runs
        return None
    table = getattr(getattr(ops, "_gradient_registry", None), "_registry", None)
    return table if isinstance(table, dict) else None


@contextmanager
def custom_gradients_released():
    """Remove, on leaving, the custom gradients registered meanwhile (the training's traces)."""
    table = _table()
    before = set(table) if table is not None else set()
    try:
        yield
    finally:
        if table is not None:
            for name in [k for k in table if k not in before and k.startswith(PREFIX)]:
                del table[name]
