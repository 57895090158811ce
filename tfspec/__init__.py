"""tfspec: declarative model specs for TensorFlow/Keras.

spec = tfspec.load("specs/mnist_cnn.tfs")        # parse + validate (no TensorFlow)
print(tfspec.summary(spec).render())             # static shapes and parameter counts
source = tfspec.generate(spec, "functional")     # Keras source (no TensorFlow)
model = tfspec.build(spec, "subclassing")        # a live keras.Model
result = tfspec.train(spec, epochs=3)            # the shared GradientTape runtime
result.history["loss"], result.test, result.model
tfspec.tune(spec, trials=8)                      # KerasTuner searches the spec's search section
tfspec.evaluate(result)                          # or a run folder: tfspec.evaluate("runs/MnistCNN")
tfspec.predict(result, x)                        # numpy outputs (a dict for several outputs)
tfspec.load_plugin("mylayers.tfspec_plugin")     # a plugin's layers, losses, metrics, callbacks

build, train, evaluate and predict need TensorFlow (pip install 'tfspec[tf]'); without it they
raise tfspec.NeedsTensorFlow, an ImportError saying so.
"""

from __future__ import annotations

__version__ = "0.1.0"

from .diagnostics import Diagnostic, Span, SpecError  # noqa: E402
from .ir.nodes import Spec  # noqa: E402
from .loader import load, loads  # noqa: E402
from .needs import NeedsTensorFlow  # noqa: E402
from .plugins import PluginError, load_plugin  # noqa: E402
from .summary import Summary, summary  # noqa: E402
from .training import Trained  # noqa: E402


def _spec(spec):
    return spec if isinstance(spec, Spec) else load(spec)


def generate(spec, style: str = "functional") -> str:
    """Keras source code for `spec` (a Spec or a path) in `style`. Does not import TensorFlow."""
    from .backends import generate as printer

    return printer(_spec(spec), style)


def build(spec, style: str = "functional"):
    """A live keras.Model for `spec`, made by executing the generated source."""
    from .live import build as make
    from .needs import require

    spec = _spec(spec)
    require("tfspec.build")
    return make(spec, style)


def train(spec, *, style: str = "functional", model=None, data=None, **overrides) -> Trained:
    """Train `spec` with the shared GradientTape runtime; returns a `Trained` result:
    `.history` (name -> one value per epoch, e.g. `result.history["loss"]`), `.model` (the trained
    keras.Model), `.test` (test-split metrics, or None), `.epochs`, `.out_dir`.

    `data`: `(x, y)` arrays, a mapping with "train"/"validation"/"test", or a data source
    (default: the spec's `data` setting). Overrides replace training settings: epochs=1,
    batch_size=64, seed=0, ...; out_dir="runs/x" writes a run folder, quiet=False prints progress."""
    from .training import train as run

    return run(_spec(spec), style=style, model=model, data=data, **overrides)


def tune(spec, *, trials: int = 10, objective=None, algorithm: str = "random", out_dir=None, **options):
    """Search the spec's `search { ... }` section with KerasTuner (pip install 'tfspec[tune]'), each
    trial trained by the runtime; returns a TuneResult: `.rows` (one dict per trial, the best
    first), `.best_point`, `.best_text` (the spec at that point), `.best_spec`, `.out_dir`.

    `objective`: a logged value such as "val_accuracy" or "val_loss" (default: val_accuracy with an
    accuracy metric and validation, else val_loss, else loss). `algorithm`: "random", "bayesian" or
    "hyperband". `out_dir` (default tune/<Model>) gets KerasTuner's project, a run folder per trial,
    results.json, results.csv and best.tfs. Options: resume=True, data=, seed=, epochs=, quiet=,
    stream=, and training overrides (batch_size=64, ...). See tfspec.search.tune."""
    from .search.tune import tune as run

    return run(_spec(spec), trials=trials, objective=objective, algorithm=algorithm, out_dir=out_dir, **options)


def evaluate(run, data=None, *, split: str = "test", spec=None, batch_size=None, seed=None) -> dict:
    """Loss and metrics of a trained model on one split of its data: {"loss": ..., "accuracy": ...}.

    `run`: the result of `tfspec.train`, a run folder (rebuilt from its stored spec and weights, as
    `tfspec evaluate` does), or a keras.Model with `spec=`. `data` (default: what it was trained
    on, split the same way): `(x, y)` arrays, a split mapping or a data source. `split`: "test",
    "validation" or "train"."""
    from .api import evaluate as run_evaluate

    return run_evaluate(run, data, split=split, spec=spec, batch_size=batch_size, seed=seed)


def predict(run, x, *, spec=None, batch_size: int = 256):
    """The outputs of a trained model (`run` as for `evaluate`) for inputs `x`, as numpy arrays:
    one array, or a dict {output name: array} for a model with several outputs. `x`: an array,
    or for several inputs a list in the spec's order or a dict by input name; fed as given (no
    data-source scaling)."""
    from .api import predict as run_predict

    return run_predict(run, x, spec=spec, batch_size=batch_size)


__all__ = [
    "Diagnostic",
    "NeedsTensorFlow",
    "PluginError",
    "Span",
    "Spec",
    "SpecError",
    "Summary",
    "Trained",
    "build",
    "evaluate",
    "generate",
    "load",
    "load_plugin",
    "loads",
    "predict",
    "summary",
    "train",
    "tune",
    "__version__",
]
