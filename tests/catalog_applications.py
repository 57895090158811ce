"""Keras comparisons of the entries in tfspec/ir/layers_applications.py (LayerScale,
CustomScaleLayer), collected by tests/test_catalog.py.

(name, input shapes, args, kwargs) as in test_catalog: CASES are built in Keras (the classes of
keras.src.applications) and compared, BAD are refused by the catalog and by Keras, KERAS_REFUSES
are argument lists both refuse.
"""

CASES: list = []
BAD: list = []
KERAS_REFUSES: list = []


def case(name, shapes, *args, **kwargs):
    CASES.append((name, [shapes] if isinstance(shapes, tuple) else shapes, args, kwargs))


def bad(name, shapes, *args, **kwargs):
    BAD.append((name, [shapes] if isinstance(shapes, tuple) else shapes, args, kwargs))


# LayerScale: x * gamma, gamma of shape (projection_dim,)
case("LayerScale", (5, 4), 1e-6, 4)
case("LayerScale", (4, 4, 8), 0.1, projection_dim=8)
case("LayerScale", (5, 1), 0.5, 4)  # a last axis of 1 broadcasts up to projection_dim
case("LayerScale", (5, 3), 1.0, 1)  # and a gamma of 1 to the last axis
case("LayerScale", (5, None), 0.5, 4)
case("LayerScale", (3,), 1e-6, 3, trainable=False)
case("LayerScale", (6, 2), 0.2, 2, dtype="float64")
bad("LayerScale", (5, 3), 1e-6, 4)
bad("LayerScale", (), 1e-6, 4)  # Keras multiplies the batch axis by gamma

# CustomScaleLayer: [a, b] -> a + b * scale
case("CustomScaleLayer", [(3, 4), (3, 4)], 0.17)
case("CustomScaleLayer", [(4, 4, 8), (1, 1, 8)], 1.0)
case("CustomScaleLayer", [(3, None), (3, 4)], 0.5)
case("CustomScaleLayer", [(None, 4), (None, 1)], scale=2)
case("CustomScaleLayer", [((3,), "int32"), ((3,), "int32")], 2)
bad("CustomScaleLayer", [(3, 4), (3, 5)], 0.5)
bad("CustomScaleLayer", [(3, 4), (4,)], 0.5)  # ranks differ: Keras pairs the batch axis with 3

KERAS_REFUSES += [
    ("LayerScale", (1e-6,), {}),
    ("LayerScale", (), {"projection_dim": 4}),
    ("CustomScaleLayer", (), {}),
]
