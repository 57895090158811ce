"""The runtime's atomic writes: JSON, text and Keras models, on top of tfspec.files."""

import json

from ..files import OutsidePath, atomic_path, inside, path_problem, template_problem, write_atomic

__all__ = [
    "OutsidePath",
    "atomic_path",
    "inside",
    "path_problem",
    "save_model",
    "template_problem",
    "write_json",
    "write_text",
]


def write_text(path, text):
    write_atomic(path, text)


def write_json(path, obj):
    write_atomic(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def save_model(model, path):
    """Save a Keras model (`.keras` or `.weights.h5`) atomically."""
    suffix = ".weights.h5" if path.endswith(".weights.h5") else ".keras"
    with atomic_path(path, suffix=suffix) as tmp:
        if suffix == ".keras":
            model.save(tmp)
        else:
            model.save_weights(tmp)
