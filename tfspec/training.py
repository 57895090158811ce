"""The public training entry point: a spec driven by the runtime, its run folder written
(see tfspec.runs).

    result = tfspec.train(spec, epochs=3)
    result.history["loss"]     # one value per epoch
    result.test                # {"loss": ..., "accuracy": ...} on the test split, or None
    result.model               # the trained keras.Model
    tfspec.evaluate(result), tfspec.predict(result, x)
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from .runs import readable_source, remove_manifest, save_run


class NoTrainingSection(ValueError):
    """The spec has no `train { ... }` section."""


@dataclass(repr=False)
class Trained:
    """What `tfspec.train` returns: the trained model with its history and test metrics, and what
    `tfspec.evaluate` / `tfspec.predict` need to use it as it was trained (spec, data, seed)."""

    model: object  # the trained keras.Model
    history: dict  # name -> one value per epoch ("loss", "accuracy", "val_loss", "lr", ...)
    test: dict | None  # loss and metrics on the test split, or None when the data has none
    epochs: int  # epochs done in all (a resumed run counts those before it)
    steps: int  # steps run by this call
    seconds: float
    out_dir: str | None = None  # the run folder, if one was written
    traces: int = 0
    spec: object = None  # the Spec trained
    style: str = "functional"
    data: object = None  # the data given to train (None: the spec's `data` setting)
    overrides: dict = field(default_factory=dict)  # training settings given to train (seed, batch_size, ...)
    base_dir: str | None = None  # where the spec's relative data paths are resolved
    classes: dict | None = None  # {label column: class names} of a CSV file's text labels (id = position)
    adapted: dict | None = None  # vocabularies and bin boundaries learnt before training (runtime.adapt)

    def __repr__(self) -> str:
        name = getattr(self.spec, "name", "model")
        where = f", out_dir={self.out_dir!r}" if self.out_dir else ""
        return f"<tfspec.Trained {name}: {self.epochs} epochs, test={self.test}{where}>"


def train(
    spec,
    *,
    style: str = "functional",
    model=None,
    data=None,
    out_dir=None,
    resume: bool = False,
    quiet: bool = True,
    callbacks=(),
    stream=None,
    weights=None,
    **overrides,
) -> Trained:
    """Train `spec` with the shared GradientTape runtime; returns a `Trained` result (`.model`,
    `.history`, `.test`, `.out_dir`, `.epochs`).

    The model is the generated source of `style`, executed (or `model`, if given). `data` may
    be `(x, y)` arrays or a mapping with "train"/"validation"/"test", or a data source such as
    {"source": "npz", "path": ...}; without it the spec's `data` setting is used. Keyword overrides
    replace training settings (epochs=1, batch_size=64, seed=0, steps_per_call=50, jit_compile=True,
    ...). With `out_dir`, the run folder is written there (see tfspec.runs). `weights`: a
    `.weights.h5` file (e.g. from `tfspec import --weights`) to start from.

    When nothing has run TensorFlow in the process yet, this sets TensorFlow's thread pools for
    the spec (tfspec.threads), and they hold for the rest of the process: set
    TFSPEC_THREADS=default (or TensorFlow's own settings) to keep TensorFlow's defaults."""
    from . import load
    from .backends import generate_model
    from .ir.nodes import Spec
    from .live import load_module
    from .needs import require

    if not isinstance(spec, Spec):
        spec = load(spec)
    if spec.training is None:
        raise NoTrainingSection(f"{spec.path}: the spec has no `train {{ ... }}` section")
    require("tfspec.train")
    from .threads import apply, choose

    apply(choose(spec, overrides.get("batch_size")))  # before TensorFlow's first op, or not at all
    from .runtime import Callback, adapt, train_model
    from .runtime.resources import require_training_memory
    from .summary import summary

    if model is None:  # a model too large for memory is named before anything is allocated
        require_training_memory(summary(spec).total_params, spec.training.get("optimizer") or "Adam")

    from .check.adapting import style_problem

    problem = style_problem(spec.model, style) if model is None else None
    if problem:
        from .runtime import TrainingError

        raise TrainingError(problem)
    source = generate_model(spec, style)
    module = load_module(source, f"tfspec_{spec.name}_{style}")

    def model_fn():
        built = module.build_model()
        if weights is not None:
            built.load_weights(weights)
        return built

    class RunStarted(Callback):
        """Once training really starts, the folder's old manifest no longer describes it."""

        chief = False

        def on_train_begin(self, logs=None):
            self.chief = self.loop.is_chief
            if out_dir and self.chief:
                remove_manifest(out_dir)

    if model is not None and weights is not None:
        model.load_weights(weights)
    base_dir = os.path.dirname(os.path.abspath(spec.path)) if os.path.exists(spec.path) else None
    started = RunStarted()
    result = train_model(
        model,
        module.TRAINING,
        data,
        model_fn=None if model is not None else model_fn,
        out_dir=out_dir,
        resume=resume,
        quiet=quiet,
        spec_hash=spec.digest,
        source_text=readable_source(source),
        callbacks=[started, *callbacks],
        base_dir=base_dir,
        stream=stream,
        adapting=lambda built: adapt.find(built, spec, style),
        **overrides,
    )
    if out_dir and started.chief:
        save_run(
            out_dir,
            spec,
            style,
            result.model,
            data=data,
            overrides=overrides,
            base_dir=base_dir,
            classes=result.classes,
            adapted=result.adapted,
        )
    # the runtime's TrainResult (same field names), and what evaluate/predict need to use the model
    return Trained(**vars(result), spec=spec, style=style, data=data, overrides=dict(overrides), base_dir=base_dir)


# The name the command line and older code use.
train_run = train
