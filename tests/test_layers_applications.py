"""The helper layers of keras.applications (tfspec/ir/layers_applications.py: LayerScale,
CustomScaleLayer) in whole models, against Keras models written by hand with the same classes;
importing keras.applications models that hold them; and one weights file for every style of an
imported model whose chains would reorder its layers (NASNet's pattern, made small).

For each spec, in every style it allows: the model holds the very Keras classes (not lookalikes)
with the hand-written model's configs and parameter count, and with its weights copied in it gives
the same outputs. The generated code names them by their module, which only generated code
imports: the compile path stays free of Keras.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from .helpers import quiet_tensorflow

quiet_tensorflow()
keras = pytest.importorskip("keras")
from keras import layers  # noqa: E402
from keras.src.applications.convnext import LayerScale  # noqa: E402
from keras.src.applications.inception_resnet_v2 import CustomScaleLayer  # noqa: E402

import tfspec  # noqa: E402
from tfspec.backends import allowed_styles  # noqa: E402
from tfspec.cli import main  # noqa: E402
from tfspec.ir.explain import describe  # noqa: E402

from .test_architectures import copy_matched, perturb_constants  # noqa: E402
from .test_import import assert_same_model, leaf_configs  # noqa: E402

# -- specs and their hand-written twins ------------------------------------------------------------

SCALED = """
model Scaled {
    input x: float32[6, 6, 4]
    x -> Conv2D(8, 3, padding="same") -> LayerScale(0.5, 8) -> GlobalAveragePooling2D() -> Dense(3) -> y
    output y
}
"""


def scaled_reference():
    x = keras.Input((6, 6, 4), name="x")
    y = layers.Conv2D(8, 3, padding="same")(x)
    y = layers.Dense(3)(layers.GlobalAveragePooling2D()(LayerScale(0.5, 8)(y)))
    return keras.Model(x, y)


RESIDUAL = """
model Residual {
    input x: float32[5, 5, 4]
    x -> Conv2D(4, 3, padding="same") -> LayerScale(1e-06, projection_dim=4) -> r
    [x, r] -> CustomScaleLayer(0.17) -> Activation("relu") -> h
    [h, x] -> CustomScaleLayer(scale=2.0) -> y
    output y
}
"""


def residual_reference():
    x = keras.Input((5, 5, 4), name="x")
    r = LayerScale(1e-06, projection_dim=4)(layers.Conv2D(4, 3, padding="same")(x))
    h = layers.Activation("relu")(CustomScaleLayer(0.17)([x, r]))
    return keras.Model(x, CustomScaleLayer(scale=2.0)([h, x]))


SPECS = {"scaled": (SCALED, scaled_reference), "residual": (RESIDUAL, residual_reference)}
CLASSES = {"scaled": {LayerScale}, "residual": {LayerScale, CustomScaleLayer}}


def cases():
    return [
        pytest.param(name, style, id=f"{name}-{style}")
        for name, (text, _) in SPECS.items()
        for style in allowed_styles(tfspec.loads(text))
    ]


def test_the_styles_are_those_the_layers_allow():
    assert allowed_styles(tfspec.loads(SCALED)) == ["sequential", "functional", "subclassing"]
    assert allowed_styles(tfspec.loads(RESIDUAL)) == ["functional", "subclassing"]  # a merge of two


@pytest.mark.parametrize(("name", "style"), cases())
def test_the_spec_builds_the_keras_classes_of_the_hand_written_model(name, style):
    text, make_reference = SPECS[name]
    spec = tfspec.loads(text)
    reference = make_reference()
    perturb_constants(reference, np.random.default_rng(1))  # gamma, biases off their constants
    model = tfspec.build(spec, style)
    found = {type(layer) for layer in model._flatten_layers(include_self=False)}
    assert CLASSES[name] <= found
    assert leaf_configs(model) == leaf_configs(reference)
    summary = tfspec.summary(spec)
    assert model.count_params() == reference.count_params() == summary.trainable_params + summary.non_trainable_params
    x = np.random.default_rng(0).standard_normal((3, *spec.model.inputs[0].shape)).astype("float32")
    copy_matched(reference, model, x)
    np.testing.assert_allclose(np.asarray(model(x)), np.asarray(reference(x)), rtol=1e-5, atol=1e-6)


def test_generated_code_imports_the_classes_from_their_modules():
    source = tfspec.generate(tfspec.loads(RESIDUAL), "subclassing")
    assert "import keras.src.applications.convnext\n" in source
    assert "import keras.src.applications.inception_resnet_v2\n" in source
    assert "= keras.src.applications.convnext.LayerScale(" in source and "layers.LayerScale" not in source


def test_the_compile_path_does_not_import_keras():
    script = (
        "import sys, tfspec\n"
        f"spec = tfspec.loads({RESIDUAL!r})\n"
        "for style in ('functional', 'subclassing'):\n"
        "    tfspec.generate(spec, style)\n"
        "tfspec.summary(spec)\n"
        "assert 'keras' not in sys.modules and 'tensorflow' not in sys.modules, 'imported'\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True)


def test_explain_names_the_keras_class():
    assert "keras.src.applications.convnext.LayerScale" in describe("LayerScale")
    assert "a + b * scale" in describe("CustomScaleLayer")


def test_a_projection_that_does_not_fit_is_refused_with_a_hint():
    text = SCALED.replace("LayerScale(0.5, 8)", "LayerScale(0.5, 6)")
    with pytest.raises(tfspec.SpecError, match=r"LayerScale\(projection_dim=6\)") as info:
        tfspec.loads(text)
    assert "projection_dim=8" in info.value.render()


def test_integer_inputs_need_an_integer_scale():
    text = """
model Ints {
    input a: int32[3]
    input b: int32[3]
    [a, b] -> CustomScaleLayer(0.5) -> y
    output y
}
"""
    with pytest.raises(tfspec.SpecError, match="E504"):
        tfspec.loads(text)
    assert tfspec.loads(text.replace("0.5", "2")).model.dtypes["y"] == "int32"


# -- importing keras.applications models -------------------------------------------------------------


def randomised(model, seed=0):
    """Every 1-D weight (biases, normalisation statistics, LayerScale's gamma) drawn at random, so
    that the outputs depend on each: gamma starts at 1e-6, which would hide a block's branch."""
    rng = np.random.default_rng(seed)
    for variable in model.weights:
        if len(variable.shape) == 1:
            variable.assign(rng.uniform(0.5, 1.5, variable.shape).astype("float32"))
    return model


def import_with_weights(model, tmp_path):
    source = tmp_path / "model.keras"
    model.save(source)
    spec_path = tmp_path / "model.tfs"
    assert main(["import", str(source), "-o", str(spec_path), "--weights"]) == 0
    return tfspec.load(str(spec_path)), tmp_path / "model.weights.h5"


def test_convnext_imports_and_rebuilds_with_its_outputs(tmp_path):
    original = randomised(keras.applications.ConvNeXtTiny(weights=None, classes=10, input_shape=(32, 32, 3)))
    spec, weights = import_with_weights(original, tmp_path)
    assert "LayerScale(" in open(spec.path, encoding="utf-8").read()
    assert assert_same_model(original, spec, weights) == ["functional", "subclassing"]


def inception_resnet_like():
    """InceptionResNetV2's pattern, small: branches concatenated, projected, and added to the
    shortcut by CustomScaleLayer (keras/src/applications/inception_resnet_v2.py)."""
    x = keras.Input((9, 9, 8), name="image")
    h = layers.Conv2D(8, 3, padding="same", name="stem")(x)
    for index, scale in enumerate((0.17, 0.1)):
        left = layers.Conv2D(4, 1, name=f"block_{index}_left")(h)
        right = layers.Conv2D(4, 3, padding="same", name=f"block_{index}_right")(h)
        mixed = layers.Concatenate(name=f"block_{index}_mixed")([left, right])
        up = layers.Conv2D(8, 1, name=f"block_{index}_conv")(mixed)
        h = CustomScaleLayer(scale, name=f"block_{index}")([h, up])
        h = layers.Activation("relu", name=f"block_{index}_ac")(h)
    y = layers.Dense(3)(layers.GlobalAveragePooling2D()(h))
    return keras.Model(x, y, name="inception_resnet_like")


def test_custom_scale_layer_imports_and_rebuilds_with_its_outputs(tmp_path):
    original = randomised(inception_resnet_like())
    spec, weights = import_with_weights(original, tmp_path)
    assert "CustomScaleLayer(" in open(spec.path, encoding="utf-8").read()
    assert assert_same_model(original, spec, weights) == ["functional", "subclassing"]


def test_the_classes_must_come_from_keras():
    """A class named LayerScale from another module is custom code: refused, never imported."""
    model = residual_reference()
    config = json.loads(model.to_json())
    for entry in config["config"]["layers"]:
        if entry["class_name"] == "LayerScale":
            entry["module"] = "mypackage.layers"
    from tfspec.tools.importer import ImportFailure, import_config

    with pytest.raises(ImportFailure, match="custom class LayerScale"):
        import_config(config, "m.keras")


# -- one weights file for every style (issue 14: NASNetMobile) ------------------------------------------


def two_paths():
    """Two paths of two Dense layers each from one stem: Keras lists the layers by depth (stem,
    a1, b1, a2, b2), while the spec writes each path as one chain (a1, a2, then b1, b2). A
    subclassed model saves its weights in the order it creates them (`layers/dense_2` is a2), a
    functional one in Keras's order (b1): the two must agree for one weights file to serve both.
    The names sort after `layers`, so the subclassed model saves these under `layers/` too."""
    x = keras.Input((6,), name="x")
    h = layers.Dense(5, name="stem")(x)
    a = layers.Dense(3, name="path_a2")(layers.Dense(4, name="path_a1")(h))
    b = layers.Dense(2, name="path_b2")(layers.Dense(7, name="path_b1")(h))
    return keras.Model(x, layers.Concatenate(name="joined")([a, b]))


def test_one_weights_file_serves_every_style_when_chains_would_reorder_the_layers(tmp_path):
    original = randomised(two_paths())
    spec, weights = import_with_weights(original, tmp_path)
    assert assert_same_model(original, spec, weights) == ["functional", "subclassing"]
