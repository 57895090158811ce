"""A finished training's traced graphs are freed (tfspec.runtime.graphs): training again and
again in one process (a search, a notebook) does not keep every earlier training's graphs."""

import gc

import pytest

tf = pytest.importorskip("tensorflow")

import tfspec  # noqa: E402
from tfspec.runtime.graphs import PREFIX, _table  # noqa: E402

SPEC = """
model Small {
    input x: float32[8, 8]
    x -> Flatten() -> Dense(16, activation="relu") -> Dense(10, activation="softmax") -> y
    output y
}

train {
    optimizer = Adam()
    loss      = SparseCategoricalCrossentropy()
    epochs    = 1
    batch     = 64
    data      = digits
}
"""


def traced_graphs() -> int:
    from tensorflow.python.framework.func_graph import FuncGraph

    gc.collect()
    return sum(1 for o in gc.get_objects() if isinstance(o, FuncGraph))


def test_trainings_in_one_process_free_their_graphs():
    spec = tfspec.loads(SPEC)
    assert _table() is not None, "TensorFlow's gradient registry moved: the graphs of each training are kept"
    tfspec.train(spec, quiet=True)
    after_one = traced_graphs()
    registered = sum(1 for name in _table() if name.startswith(PREFIX))
    for _ in range(3):
        tfspec.train(spec, quiet=True)
    assert traced_graphs() <= after_one  # three more trainings hold no graph of theirs
    assert sum(1 for name in _table() if name.startswith(PREFIX)) == registered


def test_a_trained_model_trains_again():
    spec = tfspec.loads(SPEC)
    first = tfspec.train(spec, quiet=True)
    again = tfspec.train(spec, model=first.model, quiet=True, epochs=2)
    assert again.history["loss"][-1] < first.history["loss"][0]
