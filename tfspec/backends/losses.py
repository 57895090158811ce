"""`add_loss` in generated code: a small layer, defined in the generated module, that adds
keras.ops.mean of a loss term to the model's losses (Keras's Layer.add_loss) and hands the
tensors it is given on unchanged.

Keras 3 has no symbolic `model.add_loss` for a functional model (it raises NotImplementedError),
and a functional model leaves out every layer no output depends on; so the layer is applied to
a body's outputs (the first output of the model, so that the other outputs keep their layers'
names; every output of a block's helper, since a caller may use only some of them). The
subclassing style applies it the same way in call(). The layer has no weights: parameter
counts stay those of the spec.

The tfspec runtime finds the layers by LOSS_MARKER (a class attribute, which a block's
parameters, set on instances, cannot imitate) and logs each term under its `term`; the
class is registered for `.keras` files under a package named after the model, so the
modules of two specs in one process do not overwrite each other's.
"""

from __future__ import annotations

from .emitter import Scope, Writer, pystr

LOSS_MARKER = "tfspec_loss_term"
CLASS_NAME = "AddLoss"


def has_terms(graphs) -> bool:
    return any(graph.losses for graph in graphs)


def loss_class(w: Writer, spec, module: Scope, graphs) -> str | None:
    """Write the AddLoss class when one of `graphs` (the model and the templates of the blocks
    it uses) adds a loss term; its Python name, or None when none does."""
    if not has_terms(graphs):
        return None
    name = module.fresh(CLASS_NAME, public=True)
    w.blank(2)
    w.line(f"@keras.saving.register_keras_serializable(package={pystr('tfspec.' + spec.name)})")
    with w.block(f"class {name}(keras.layers.Layer):"):
        w.line('"""`add_loss` in the spec: adds the mean of `loss` to the model\'s losses, returns `x`.')
        w.blank()
        w.line("The tfspec runtime logs the term under the name `term`.")
        w.line('"""')
        w.blank()
        w.line(f"{LOSS_MARKER} = True  # how the tfspec runtime finds the loss terms of a model")
        w.blank()
        with w.block("def __init__(self, term, **kwargs):"):
            w.line("super().__init__(autocast=False, **kwargs)  # x passes through in its own dtype")
            w.line("self.term = term")
            w.line("self.supports_masking = True  # and with its mask")
        w.blank()
        with w.block("def call(self, x, loss):"):
            w.line("self.add_loss(keras.ops.mean(loss))")
            w.line("return x")
        w.blank()
        with w.block("def compute_output_spec(self, x, loss):"):
            w.line("# what x is, without tracing call() (nothing to add while a functional model is wired)")
            with w.block("return keras.tree.map_structure("):
                w.line("lambda t: keras.KerasTensor(t.shape, dtype=t.dtype, sparse=t.sparse), x")
            w.line(")")
        w.blank()
        with w.block("def get_config(self):"):
            w.line("config = super().get_config()")
            w.line('config.update({"term": self.term})')
            w.line("return config")
    return name


def is_loss_layer(layer) -> bool:
    """Whether a live Keras layer is a generated AddLoss (see the module docstring)."""
    return getattr(type(layer), LOSS_MARKER, False) is True and isinstance(getattr(layer, "term", None), str)
