"""Image preprocessing and augmentation layers in specs, against real Keras 3.

A spec chaining Rescaling (per channel too), Resizing, CenterCrop and augmentations checks and
builds in every style; with training=False its model gives what the same layers written by hand
in Keras give, the augmentations passing images through, and with training=True the
augmentations change them. Each augmentation of the catalog does the same on its own. Arguments
Keras refuses only when the layer runs (or never, doing something else) are refused with a
diagnostic. A Keras model with these layers goes through `tfspec import` and back unchanged.
(Shapes and parameter counts of every entry: tests/catalog_image.py, run by test_catalog.py.)
"""

from __future__ import annotations

import numpy as np
import pytest

from .helpers import quiet_tensorflow

quiet_tensorflow()
keras = pytest.importorskip("keras")
layers = keras.layers

import tfspec  # noqa: E402
from tfspec.backends import allowed_styles  # noqa: E402
from tfspec.cli import main  # noqa: E402
from tfspec.ir.catalog import REGISTRY, lookup  # noqa: E402
from tfspec.tools.importer import import_file  # noqa: E402

from .test_import import assert_same_model  # noqa: E402

STYLES = ("sequential", "functional", "subclassing")

PIPELINE = """\
model Augmented {
    input image: float32[16, 20, 3]

    image -> Rescaling(1 / 127.5, offset=-1)
          -> Rescaling([0.5, 1.0, 2.0], offset=(0.1, 0.2, 0.3))
          -> Resizing(12, 14, interpolation="bicubic")
          -> CenterCrop(10, 10)
          -> RandomFlip(seed=1)
          -> RandomRotation(0.2, fill_mode="constant", seed=2)
          -> RandomZoom(0.3, seed=3)
          -> RandomContrast(0.5, value_range=(-2, 2), seed=4)
          -> out

    output out
}
"""


def hand_written():
    """The deterministic layers of PIPELINE, written in Keras."""
    image = keras.Input((16, 20, 3))
    x = layers.Rescaling(1 / 127.5, offset=-1)(image)
    x = layers.Rescaling([0.5, 1.0, 2.0], offset=(0.1, 0.2, 0.3))(x)
    x = layers.Resizing(12, 14, interpolation="bicubic")(x)
    return keras.Model(image, layers.CenterCrop(10, 10)(x))


def images(shape=(4, 16, 20, 3), seed=0):
    return (np.random.default_rng(seed).random(shape) * 255).astype("float32")


@pytest.fixture(scope="module")
def pipeline():
    return tfspec.loads(PIPELINE)


def test_the_pipeline_checks_with_its_static_shapes(pipeline):
    assert pipeline.model.shapes["out"] == (10, 10, 3)
    summary = tfspec.summary(pipeline)
    assert summary.total_params == 0
    assert [row.shape for row in summary.rows][-1] == (None, 10, 10, 3)
    assert allowed_styles(pipeline) == list(STYLES)


@pytest.mark.parametrize("style", STYLES)
def test_the_pipeline_builds_and_runs_like_keras(pipeline, style):
    model = tfspec.build(pipeline, style)
    assert model.count_params() == 0
    x = images()
    inference = np.asarray(model(x, training=False))
    expected = np.asarray(hand_written()(x))
    assert inference.shape == (4, 10, 10, 3)
    np.testing.assert_allclose(inference, expected, rtol=0, atol=1e-5)
    trained = np.asarray(model(x, training=True))
    assert trained.shape == inference.shape
    assert np.abs(trained - inference).max() > 0.1  # the augmentations ran


@pytest.mark.parametrize("style", ["functional", "subclassing"])
def test_the_pipeline_survives_a_keras_file(pipeline, style, tmp_path):
    model = tfspec.build(pipeline, style)
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    x = images(seed=1)
    np.testing.assert_allclose(np.asarray(loaded(x, training=False)), np.asarray(model(x, training=False)), atol=1e-6)


def test_the_printed_code_writes_the_values_as_given(pipeline):
    for style in STYLES:
        code = tfspec.generate(pipeline, style)
        assert "layers.Rescaling([0.5, 1.0, 2.0], offset=(0.1, 0.2, 0.3))" in code
        assert 'layers.Resizing(12, 14, interpolation="bicubic")' in code
        assert "layers.RandomFlip(seed=1)" in code
    assert "self.random_flip(out, training=training)" in tfspec.generate(pipeline, "subclassing")


# -- each augmentation on its own: input unchanged in inference, changed in training -----------------

AUGMENTATIONS = {
    "RandomFlip": "seed=1",
    "RandomRotation": "0.3, seed=1",
    "RandomZoom": "0.5, seed=1",
    "RandomTranslation": "0.3, 0.3, seed=1",
    "RandomShear": "0.5, 0.5, seed=1",
    "RandomPerspective": "seed=1",
    "RandomElasticTransform": "seed=1",
    "RandomContrast": "0.5, seed=1",
    "RandomBrightness": "0.5, seed=1",
    "RandomColorDegeneration": "0.9, seed=1",
    "RandomHue": "0.5, seed=1",
    "RandomSaturation": "0.5, seed=1",
    "RandomColorJitter": "brightness_factor=0.5, hue_factor=0.3, seed=1",
    "RandomGrayscale": "1.0, seed=1",
    "RandomInvert": "seed=1",
    "RandomPosterization": "2, seed=1",
    "RandomSharpness": "0.9, seed=1",
    "RandomGaussianBlur": "seed=1",
    "RandomErasing": "fill_value=0.0, seed=1",
    "Solarization": "0.5, 0.5, seed=1",
    "AugMix": "seed=1",
    "RandAugment": "num_ops=3, seed=1",
}


def one_layer(call, shape=(12, 12, 3)):
    dims = ", ".join(str(d) for d in shape)
    return tfspec.loads(
        f"model One {{\n    input image: float32[{dims}]\n    image -> {call} -> out\n    output out\n}}\n"
    )


def test_every_augmentation_of_the_catalog_is_tried():
    names = {n for n in REGISTRY if n.startswith("Random") or n in ("AugMix", "RandAugment", "Solarization")}
    assert names - {"RandomCrop"} == set(AUGMENTATIONS)  # RandomCrop: see its own test below
    assert all(REGISTRY[n].training for n in names)


@pytest.mark.parametrize("name", sorted(AUGMENTATIONS))
def test_augmentation_acts_only_in_training(name):
    model = tfspec.build(one_layer(f"{name}({AUGMENTATIONS[name]})"), "functional")
    x = images((4, 12, 12, 3), seed=2)
    np.testing.assert_array_equal(np.asarray(model(x, training=False)), x)
    trained = np.asarray(model(x, training=True))
    assert trained.shape == x.shape
    assert np.abs(trained - x).max() > 1.0, "training=True left the images as they were"


@pytest.mark.parametrize(
    "call, make",
    [
        ("AutoContrast()", lambda: layers.AutoContrast()),
        (
            "ContrastLimitedAdaptiveHistogramEqualization(clip_limit=2.0, tile_grid_size=(3, 4))",
            lambda: layers.ContrastLimitedAdaptiveHistogramEqualization(clip_limit=2.0, tile_grid_size=(3, 4)),
        ),
        (
            "Resizing(5, 7, pad_to_aspect_ratio=True, fill_value=-1.0)",
            lambda: layers.Resizing(5, 7, pad_to_aspect_ratio=True, fill_value=-1.0),
        ),
        ("CenterCrop(20, 6)", lambda: layers.CenterCrop(20, 6)),
    ],
)
def test_deterministic_layers_equal_keras(call, make):
    x = images((2, 12, 12, 3), seed=3)
    want = np.asarray(make()(x))
    for style in STYLES:
        got = np.asarray(tfspec.build(one_layer(call), style)(x, training=False))
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-4)


def test_channels_first_images():
    spec = one_layer(
        'RandomFlip(seed=1, data_format="channels_first") -> Resizing(6, 8, data_format="channels_first")', (3, 12, 12)
    )
    assert spec.model.shapes["out"] == (3, 6, 8)
    x = images((2, 3, 12, 12))
    out = np.asarray(tfspec.build(spec, "functional")(x, training=False))
    want = np.asarray(layers.Resizing(6, 8, data_format="channels_first")(x))
    np.testing.assert_allclose(out, want, atol=1e-4)


def test_random_crop_then_center_crop_keeps_the_size_at_inference():
    """Keras 3.15's RandomCrop leaves images uncropped at inference (keras-team/keras#21868);
    the CenterCrop its entry suggests makes both modes agree with the static shape."""
    spec = one_layer("RandomCrop(6, 7, seed=1) -> CenterCrop(6, 7)")
    assert spec.model.shapes["out"] == (6, 7, 3)
    model = tfspec.build(spec, "functional")
    x = images((2, 12, 12, 3))
    assert np.asarray(model(x, training=True)).shape == (2, 6, 7, 3)
    assert np.asarray(model(x, training=False)).shape == (2, 6, 7, 3)
    alone = tfspec.build(one_layer("RandomCrop(6, 7, seed=1)"), "functional")
    assert np.asarray(alone(x, training=False)).shape == (2, 12, 12, 3)  # the bug its doc names
    assert "keras#21868" in lookup("RandomCrop").doc


# -- refusals -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call, shape, code, words",
    [
        ('RandomFlip("sideways")', (8, 8, 3), "E404", "expected one of"),
        ('Resizing(4, 4, interpolation="cubic")', (8, 8, 3), "E404", "bicubic"),
        ('Resizing(4, 4, fill_mode="reflect")', (8, 8, 3), "E404", "constant"),
        ("Resizing(4, 4, crop_to_aspect_ratio=True, pad_to_aspect_ratio=True)", (8, 8, 3), "E405", "cannot both"),
        ("Resizing(0, 4)", (8, 8, 3), "E405", "must be ≥ 1"),
        ("RandomPosterization(2.5)", (8, 8, 3), "E404", "an integer"),
        ("RandomGrayscale((0.2, 0.4))", (8, 8, 3), "E404", "expected a number"),
        ('RandomElasticTransform(fill_mode="mirror")', (8, 8, 3), "E404", "expected one of"),
        ("RandomGaussianBlur(kernel_size=-1)", (8, 8, 3), "E405", "odd"),
        ("ContrastLimitedAdaptiveHistogramEqualization(tile_grid_size=3)", (8, 8, 3), "E404", "pair"),
        ("AugMix(chain_depth=(1, 3))", (8, 8, 3), "E404", "integer"),
        ("RandomContrast(0.2, value_range=(255, 0))", (8, 8, 3), "E405", "low < high"),
        ("Rescaling([])", (8, 8, 3), "E404", "non-empty list"),
        ('Rescaling("1/255")', (8, 8, 3), "E404", "a number"),
        ("Rescaling([0.1, 0.2, 0.3])", (8, 8, 1), "E501", "3 values"),
        ("RandomFlip()", (8, 8), "E501", "rank 2"),
        ("RandomHue(0.2)", (3, 8, 8), "E501", "3 channels"),
        ("ContrastLimitedAdaptiveHistogramEqualization()", (3, 3, 3), "E501", "mirrored padding"),
    ],
)
def test_refusals(call, shape, code, words):
    with pytest.raises(tfspec.SpecError) as info:
        one_layer(call, shape)
    diagnostic = info.value.diagnostics[0]
    assert diagnostic.code == code, diagnostic
    assert words in diagnostic.message, diagnostic.message
    assert diagnostic.span.line == 3


def test_refusal_hints():
    with pytest.raises(tfspec.SpecError) as info:
        one_layer("RandomFlip()", (8, 8))
    assert "Reshape [8, 8] to [8, 8, 1]" in info.value.diagnostics[0].hint
    with pytest.raises(tfspec.SpecError) as info:
        one_layer("RandomHue(0.2)", (3, 8, 8))
    assert 'data_format="channels_first"' in info.value.diagnostics[0].hint
    with pytest.raises(tfspec.SpecError) as info:
        one_layer("Rescaling([0.1, 0.2, 0.3])", (8, 8, 1))
    assert "one value per channel (1)" in info.value.diagnostics[0].hint


def test_layers_left_out_are_unknown():
    """Equalization is dropped from functional and Sequential models by Keras 3.15 (its
    compute_output_spec returns the input tensor itself); CutMix and MixUp mix labels."""
    for name in ("Equalization", "CutMix", "MixUp", "MaxNumBoundingBoxes"):
        assert lookup(name) is None
    i = keras.Input((8, 8, 3))
    assert [type(layer).__name__ for layer in keras.Model(i, layers.Dense(2)(layers.Equalization()(i))).layers] == [
        "InputLayer",
        "Dense",
    ]


# -- tfspec import ------------------------------------------------------------------------------------


def keras_preprocessing_model():
    image = keras.Input((16, 16, 3), name="image")
    x = layers.Rescaling(1 / 255, offset=-1)(image)
    x = layers.Rescaling([0.5, 1.0, 2.0], offset=[0.0, 0.1, 0.2], name="per_channel")(x)
    x = layers.Resizing(8, 10, interpolation="nearest")(x)
    x = layers.RandomFlip("horizontal", seed=7)(x)
    x = layers.Conv2D(4, 3)(x)
    return keras.Model(image, layers.GlobalAveragePooling2D()(x), name="preprocessed")


def test_import_round_trip(tmp_path, capsys):
    original = keras_preprocessing_model()
    original.save(tmp_path / "m.keras")
    assert main(["import", str(tmp_path / "m.keras"), "-o", str(tmp_path / "m.tfs")]) == 0
    # Keras records training=True for the image layers' calls (their default): no note about it.
    assert "training=True" not in capsys.readouterr().err
    text = (tmp_path / "m.tfs").read_text(encoding="utf-8")
    assert "Rescaling(0.00392156862745098, offset=-1)" in text
    assert 'Rescaling((0.5, 1.0, 2.0), offset=(0.0, 0.1, 0.2), name="per_channel")' in text
    assert 'Resizing(8, 10, interpolation="nearest")' in text
    assert 'RandomFlip(mode="horizontal", seed=7)' in text
    spec = tfspec.loads(text)
    assert assert_same_model(original, spec)  # parameters, layer configs, outputs (training=False)


def test_import_of_a_numpy_scale(tmp_path):
    image = keras.Input((6, 6, 3), name="image")
    original = keras.Model(image, layers.Rescaling(np.array([0.5, 1.0, 2.0]), offset=np.float64(1.0))(image))
    original.save(tmp_path / "m.keras")
    imported = import_file(str(tmp_path / "m.keras")).spec
    x = images((2, 6, 6, 3))
    for style in allowed_styles(imported):
        got = np.asarray(tfspec.build(imported, style)(x, training=False))
        np.testing.assert_allclose(got, np.asarray(original(x)), atol=1e-6)


def test_import_of_the_efficientnetv2_stem(tmp_path):
    """keras.applications' EfficientNetV2 starts with Rescaling(1/255) and a Normalization whose
    mean Keras refuses without its variance: the importer writes both."""
    if lookup("Normalization") is None:
        pytest.skip("Normalization is not in the catalog")
    image = keras.Input((8, 8, 3), name="image")
    x = layers.Rescaling(1 / 255)(image)
    x = layers.Normalization(mean=[0.485, 0.456, 0.406], variance=[0.229**2, 0.224**2, 0.225**2])(x)
    original = keras.Model(image, layers.Conv2D(2, 3)(x), name="stem")
    original.save(tmp_path / "m.keras")
    spec = import_file(str(tmp_path / "m.keras")).spec
    assert assert_same_model(original, spec)


def test_a_model_with_augmentation_trains_and_validates():
    """The runtime trains with training=True (augmenting) and validates with training=False; the
    RandomCrop -> CenterCrop pair keeps both at the static shape the Dense after it needs."""
    spec = tfspec.loads(
        """\
model Small {
    input image: float32[16, 16, 3]
    image -> Rescaling(1 / 255) -> RandomFlip("horizontal", seed=1) -> RandomCrop(12, 12, seed=2)
          -> CenterCrop(12, 12) -> Flatten() -> Dense(3) -> logits
    output logits
}

train {
    optimizer = Adam()
    loss      = SparseCategoricalCrossentropy(from_logits=True)
    epochs    = 1
    batch     = 8
}
"""
    )
    rng = np.random.default_rng(0)
    x, y = images((32, 16, 16, 3)), rng.integers(0, 3, 32)
    result = tfspec.train(spec, data={"train": (x, y), "validation": (x[:8], y[:8])}, quiet=True)
    assert np.isfinite(result.history["loss"][0]) and np.isfinite(result.history["val_loss"][0])
