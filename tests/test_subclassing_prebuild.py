"""Normalization in the subclassing style: built where it is made (LayerDef.prebuild).

Keras 3.15 turns a Normalization's mean and variance into constant tensors when it builds the
layer, and left to itself builds a subclassed model's layers inside the graph that traces its
first call: every later call then fails ("out of scope"). The subclassing style therefore builds
the layer right after making it, with its input's shape (None on the axes it does not keep), in
the model and in block classes; it refuses (E704) only where a block class cannot do that for a
given mean and variance. Outputs are compared with the functional style and with Keras models
written by hand; the subclassed model also survives a .keras save and load.
"""

from __future__ import annotations

import numpy as np
import pytest

from .helpers import quiet_tensorflow

quiet_tensorflow()
keras = pytest.importorskip("keras")

import tfspec  # noqa: E402
from tfspec import SpecError  # noqa: E402
from tfspec.backends import allowed_styles  # noqa: E402

L = keras.layers
MEAN, VARIANCE = [10.0, 20.0, 30.0], [4.0, 9.0, 16.0]

# A block applied at two image sizes, with its mean given by the caller, after a stem that has one.
BLOCKS = f"""block Scale(m) {{
    input x
    x -> Normalization(mean=m, variance={VARIANCE}) -> y
    output y
}}

model Two {{
    input big: float32[8, 8, 3]
    input small: float32[4, 4, 3]
    big -> Normalization(mean={MEAN}, variance={VARIANCE}) -> stem
    stem -> Scale(m=[1.0, 2.0, 3.0]) -> a
    small -> Scale(m=[1.0, 2.0, 3.0]) -> b
    output a, b
}}
"""


def images(seed: int = 0):
    rng = np.random.default_rng(seed)
    return [rng.uniform(0, 40, (2, 8, 8, 3)).astype("float32"), rng.uniform(0, 40, (2, 4, 4, 3)).astype("float32")]


def by_hand():
    big, small = keras.Input((8, 8, 3)), keras.Input((4, 4, 3))
    stem = L.Normalization(mean=MEAN, variance=VARIANCE)(big)
    scale = [1.0, 2.0, 3.0]
    a = L.Normalization(mean=scale, variance=VARIANCE)(stem)
    b = L.Normalization(mean=scale, variance=VARIANCE)(small)
    return keras.Model([big, small], [a, b])


def test_blocks_build_their_normalization_once_for_every_image_size(tmp_path):
    spec = tfspec.loads(BLOCKS)
    assert allowed_styles(spec) == ["functional", "subclassing"]
    source = tfspec.generate(spec, "subclassing")
    assert source.count(".build((None, None, None, 3))") == 2  # the stem's, and the block class's
    x = images()
    want = [np.asarray(t) for t in by_hand()(x)]
    functional = [np.asarray(t) for t in tfspec.build(spec, "functional")(x)]
    model = tfspec.build(spec, "subclassing")
    got = [np.asarray(t) for t in model(x)]
    for w, f, g in zip(want, functional, got):
        np.testing.assert_array_equal(f, w)
        np.testing.assert_array_equal(g, w)
    path = tmp_path / "two.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    for w, g in zip(want, loaded(images())):
        np.testing.assert_array_equal(np.asarray(g), w)


LATE_MODEL = """model Late {
    input x: float32[3]
    c = x.shape[-1]
    x -> Normalization(mean=[1.0, 2.0, 3.0], variance=[1.0, 4.0, 9.0]) -> n
    n -> Dense(c, kernel_initializer="ones") -> y
    output y
}
"""


def test_a_model_that_makes_its_layers_in_build_builds_it_there(tmp_path):
    """The model's own build() runs before Keras traces its call, so it may build the layer."""
    spec = tfspec.loads(LATE_MODEL)
    source = tfspec.generate(spec, "subclassing")
    assert "def build(self, input_shape):" in source and "self.normalization.build((None, 3))" in source
    x = np.array([[1.0, 4.0, 9.0], [3.0, 2.0, 0.0]], dtype="float32")
    want = ((x - [1.0, 2.0, 3.0]) / [1.0, 2.0, 3.0]).sum(axis=1, keepdims=True) * np.ones((1, 3))
    model = tfspec.build(spec, "subclassing")
    np.testing.assert_allclose(np.asarray(model(x)), want, rtol=1e-6)
    path = tmp_path / "late.keras"
    model.save(path)
    np.testing.assert_allclose(np.asarray(keras.saving.load_model(path)(x)), want, rtol=1e-6)


def test_a_normalization_that_learns_its_mean_runs_before_and_after_adapting():
    """Without mean and variance the layer makes its tensors from its weights when it is built:
    the subclassing model can now be called before adapt() (an imported EfficientNet), and
    adapt() makes them again."""
    spec = tfspec.loads("model A { input x: float32[4, 2] x -> Normalization() -> y output y }")
    assert "self.normalization.build((None, None, 2))" in tfspec.generate(spec, "subclassing")
    x = np.random.default_rng(0).normal(5.0, 3.0, (6, 4, 2)).astype("float32")
    model = tfspec.build(spec, "subclassing")
    np.testing.assert_array_equal(np.asarray(model(x)), x)  # mean 0, variance 1 before adapting
    reference = keras.Sequential([keras.Input((4, 2)), L.Normalization()])
    for m in (model, reference):
        next(layer for layer in m.layers if isinstance(layer, L.Normalization)).adapt(x)
    np.testing.assert_allclose(np.asarray(model(x)), np.asarray(reference(x)), rtol=1e-5, atol=1e-6)


LATE_BLOCK = """block Wide(k) {{
    input x
    c = x.shape[-1]
    x -> {norm} -> n
    n -> Dense(c * k) -> y
    output y
}}

model W {{
    input x: float32[3]
    x -> Wide(2) -> y
    output y
}}
"""

RANKS = """block Scale() {{
    input x
    x -> {norm} -> y
    output y
}}

model R {{
    input a: float32[5, 3]
    input b: float32[3]
    a -> Scale() -> p
    b -> Scale() -> q
    output p, q
}}
"""

GIVEN = "Normalization(mean=[1.0, 2.0, 3.0], variance=[1.0, 1.0, 1.0])"


@pytest.mark.parametrize(
    ("text", "message"),
    [(LATE_BLOCK, "computes values from shapes"), (RANKS, "different ranks or sizes ((None, None, 3) and (None, 3))")],
)
def test_blocks_that_cannot_build_a_given_mean_where_they_make_it_are_refused(text, message):
    given = text.format(norm=GIVEN)
    spec = tfspec.loads(given)
    assert "subclassing" not in allowed_styles(spec)
    with pytest.raises(SpecError) as info:
        tfspec.generate(spec, "subclassing")
    (found,) = info.value.diagnostics
    assert found.code == "E704" and message in found.message
    assert found.span.line == next(n for n, line in enumerate(given.splitlines(), 1) if "Normalization(" in line)
    # A Normalization that learns its mean is left to Keras there, as before (adapt() remakes it).
    learning = tfspec.loads(text.format(norm="Normalization()"))
    assert "subclassing" in allowed_styles(learning)
    assert ".build((" not in tfspec.generate(learning, "subclassing")
