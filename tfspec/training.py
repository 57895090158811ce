"""The public training entry point: a spec driven by the runtime, its run folder written
(see tfspec.runs)."""

from __future__ import annotations

import os

from .runs import readable_source, remove_manifest, save_run


class NoTrainingSection(ValueError):
    """The spec has no `train { ... }` section."""


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
    **overrides,
):
    """Train `spec` with the shared GradientTape runtime; returns the per-epoch history.

    The model is the generated source of `style`, executed (or `model`, if given). `data` may
    be `(x, y)` arrays or a mapping with "train"/"validation"/"test"; without it the spec's
    `data` setting is used. Keyword overrides replace training settings (epochs=1, batch_size=64,
    seed=0, steps_per_call=50, jit_compile=True, ...). With `out_dir`, the run folder is written
    there (see this module's docstring)."""
    return train_run(
        spec,
        style=style,
        model=model,
        data=data,
        out_dir=out_dir,
        resume=resume,
        quiet=quiet,
        callbacks=callbacks,
        **overrides,
    ).history


def train_run(
    spec,
    *,
    style="functional",
    model=None,
    data=None,
    out_dir=None,
    resume=False,
    quiet=True,
    callbacks=(),
    stream=None,
    weights=None,
    **overrides,
):
    """Like `train`, returning the runtime's full result (model, history, test metrics, timing).

    `weights`: a `.weights.h5` file (e.g. from `tfspec import --weights`) to start from."""
    from . import load
    from .backends import generate
    from .ir.nodes import Spec
    from .live import load_module
    from .runtime import Callback, train_model

    if not isinstance(spec, Spec):
        spec = load(spec)
    if spec.training is None:
        raise NoTrainingSection(f"{spec.path}: the spec has no `train {{ ... }}` section")
    source = generate(spec, style)
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
        **overrides,
    )
    if out_dir and started.chief:
        save_run(out_dir, spec, style, result.model, data=data, overrides=overrides, base_dir=base_dir)
    return result
