"""Catalog entries: the helper layers Keras defines inside keras.applications (LayerScale,
CustomScaleLayer).

keras.layers does not export them: they live in the modules of the models that use them
(keras/src/applications/convnext.py, inception_resnet_v2.py, Keras 3.15), and each entry names
its module (LayerDef.module) so that generated code constructs the very class, and a model
built from a spec has the class, config and weights of the keras.applications model it was
imported from. Neither class takes a `training` argument; LayerScale's only weight is `gamma`.
"""

from __future__ import annotations

from .catalog import FLOAT, POS_INT, Arg, ShapeError, is_int, layer
from .dtypes import FLOATS, INTEGERS, float_dtype, numbers_only, refuse
from .layers_base import fmt, need_min_rank
from .ops import broadcast_pair

CONVNEXT = "keras.src.applications.convnext"
INCEPTION_RESNET_V2 = "keras.src.applications.inception_resnet_v2"


# -- LayerScale -----------------------------------------------------------------------------------


def layer_scale_shape(ins, a):
    """x * gamma, gamma of shape (projection_dim,): the last axis broadcasts against it."""
    (x,) = ins
    need_min_rank(x, 1, "LayerScale", "samples with a last axis of size projection_dim")
    try:
        (last,) = broadcast_pair("LayerScale", (x[-1],), (a["projection_dim"],))
    except ShapeError:
        raise ShapeError(
            f"LayerScale(projection_dim={a['projection_dim']}) multiplies the last axis by a vector of "
            f"{a['projection_dim']} numbers, got shape {fmt(x)}",
            f"give it projection_dim={x[-1]}, the size of the input's last axis",
        ) from None
    return tuple(x[:-1]) + (last,)


layer(
    "LayerScale",
    args=(Arg("init_values", FLOAT, required=True), Arg("projection_dim", POS_INT, required=True)),
    shape=layer_scale_shape,
    params=lambda ins, a, out: (a["projection_dim"], 0),
    module=CONVNEXT,
    doc="x * gamma: scales each feature of the last axis by a learnt factor (gamma, projection_dim of "
    "them, each starting at init_values). ConvNeXt's layer scale (arXiv:2103.17239); the Keras class "
    f"is `{CONVNEXT}.LayerScale`, which generated code imports",
)


# -- CustomScaleLayer -----------------------------------------------------------------------------


def custom_scale_shape(ins, a):
    """a + b * scale: the two inputs broadcast as keras.ops arithmetic does (one rank: the batch
    axis takes part in the broadcast, so a rank-1 sample against a rank-2 one would pair the batch
    with a sample axis)."""
    return broadcast_pair("CustomScaleLayer", *ins)


def custom_scale_dtype(ins, a):
    """Float inputs are cast to the layer's dtype; integers stay as they are, so they work only
    when both have one integer dtype and the scale is an integer too (TensorFlow refuses to
    multiply an integer tensor by 0.17, or to add two dtypes)."""
    numbers_only("CustomScaleLayer", ins)
    if all(d in FLOATS for d in ins):
        return float_dtype(a)
    if ins[0] in INTEGERS and ins[0] == ins[1] and is_int(a["scale"]):
        return ins[0]
    i = next(k for k, d in enumerate(ins) if d not in FLOATS)
    raise refuse(
        "CustomScaleLayer",
        ins,
        i,
        "two float tensors (or two of one integer dtype with an integer scale)",
        'cast it first, e.g. `cast(x, "float32")`',
    )


layer(
    "CustomScaleLayer",
    args=(Arg("scale", FLOAT, required=True),),
    shape=custom_scale_shape,
    inputs=(2, 2),
    dtype=custom_scale_dtype,
    module=INCEPTION_RESNET_V2,
    doc="[a, b] -> a + b * scale: a residual connection whose branch is scaled by a constant "
    "(InceptionResNetV2's blocks). No weights; the two inputs broadcast like Add's. The Keras class is "
    f"`{INCEPTION_RESNET_V2}.CustomScaleLayer`, which generated code imports",
)
