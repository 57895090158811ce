"""The public training entry point: a spec (or its generated module) driven by the runtime."""

from __future__ import annotations

import os


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
    seed=0, steps_per_call=50, jit_compile=True, ...)."""
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
    from .runtime import train_model

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

    if model is not None and weights is not None:
        model.load_weights(weights)
    return train_model(
        model,
        module.TRAINING,
        data,
        model_fn=None if model is not None else model_fn,
        out_dir=out_dir,
        resume=resume,
        quiet=quiet,
        spec_hash=spec.digest,
        source_text=source,
        callbacks=callbacks,
        base_dir=os.path.dirname(os.path.abspath(spec.path)) if os.path.exists(spec.path) else None,
        stream=stream,
        **overrides,
    )
