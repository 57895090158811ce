"""tfspec: declarative model specs for TensorFlow/Keras.

spec = tfspec.load("specs/mnist_cnn.tfs")        # parse + validate (no TensorFlow)
print(tfspec.summary(spec).render())             # static shapes and parameter counts
source = tfspec.generate(spec, "functional")     # Keras source (no TensorFlow)
model = tfspec.build(spec, "subclassing")        # a live keras.Model
history = tfspec.train(spec)                     # the shared GradientTape runtime
"""

from __future__ import annotations

__version__ = "0.1.0"

from .diagnostics import Diagnostic, Span, SpecError  # noqa: E402
from .ir.nodes import Spec  # noqa: E402
from .loader import load, loads  # noqa: E402
from .summary import Summary, summary  # noqa: E402


def _spec(spec):
    return spec if isinstance(spec, Spec) else load(spec)


def generate(spec, style: str = "functional") -> str:
    """Keras source code for `spec` (a Spec or a path) in `style`. Does not import TensorFlow."""
    from .backends import generate as printer

    return printer(_spec(spec), style)


def build(spec, style: str = "functional"):
    """A live keras.Model for `spec`, made by executing the generated source."""
    from .live import build as make

    return make(_spec(spec), style)


def train(spec, *, style: str = "functional", model=None, data=None, **overrides):
    """Train `spec` with the shared GradientTape runtime; returns the per-epoch history.

    `data`: `(x, y)` arrays or a mapping with "train"/"validation"/"test" (default: the spec's
    `data` setting). Overrides replace training settings: epochs=1, batch_size=64, seed=0, ..."""
    from .training import train as run

    return run(_spec(spec), style=style, model=model, data=data, **overrides)


__all__ = [
    "Diagnostic",
    "Span",
    "Spec",
    "SpecError",
    "Summary",
    "build",
    "generate",
    "load",
    "loads",
    "summary",
    "train",
    "__version__",
]
