"""Live models: the generated source, executed. There is no second construction path, so the
code `tfspec build` prints and the model `tfspec train` trains cannot drift apart."""

from __future__ import annotations

import linecache
import types

from .backends import generate_model
from .needs import require


def load_module(source: str, name: str) -> types.ModuleType:
    """Execute generated source as a module; its text is registered so tracebacks show it.
    The source imports Keras: without TensorFlow this raises tfspec.needs.NeedsTensorFlow."""
    require("building a Keras model")
    filename = f"<tfspec:{name}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    module = types.ModuleType(name)
    module.__file__ = filename
    exec(compile(source, filename, "exec"), module.__dict__)
    return module


def module_for(spec, style: str = "functional") -> types.ModuleType:
    return load_module(generate_model(spec, style), f"tfspec_{spec.name}_{style}")


def build(spec, style: str = "functional"):
    """A keras.Model for `spec` in `style`, with its weights created."""
    return module_for(spec, style).build_model()
