"""Small helpers shared by the test modules."""

from __future__ import annotations

import glob
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SPECS = sorted(glob.glob(os.path.join(ROOT, "specs", "*.tfs")))


def spec_path(name: str) -> str:
    return os.path.join(ROOT, "specs", f"{name}.tfs")


def spec_names() -> list[str]:
    return [os.path.splitext(os.path.basename(p))[0] for p in SPECS]


def quiet_tensorflow() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def sample_inputs(spec, batch=3, seed=0, ids=(1, 10)):
    """Random inputs for the spec's model (7 steps on an axis of unknown size): whole numbers in
    [ids[0], ids[1]) (from 1: no padding), short strings, or normal floats; one array, or a list."""
    import numpy as np

    rng = np.random.default_rng(seed)
    xs = []
    for inp in spec.model.inputs:
        shape = (batch,) + tuple(7 if d is None else d for d in inp.shape)
        if inp.dtype == "string":
            xs.append(rng.choice(np.array(["a", "b c", "d e f"], dtype=object), size=shape))
        elif inp.dtype.startswith("int"):
            xs.append(rng.integers(*ids, size=shape).astype(inp.dtype))
        else:
            xs.append(rng.standard_normal(shape).astype(inp.dtype))
    return xs[0] if len(xs) == 1 else xs


def as_list(y) -> list:
    """A model's output (a tensor, or a list of them) as a list of arrays."""
    import numpy as np

    return [np.asarray(t) for t in (y if isinstance(y, (list, tuple)) else [y])]
