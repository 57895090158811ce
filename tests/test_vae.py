"""specs/vae.tfs against keras.io's "Variational AutoEncoder" written by hand (tests/references.py).

The model's output is random (Sampling draws z), so the deterministic parts are compared: with
the reference's weights copied in, z_mean and z_log_var equal the reference encoder's, and the
reconstruction equals the reference decoder applied to the z the model drew; the KL term the
model adds equals the example's. Then it trains offline on the bundled MNIST digits with a
falling loss, and survives a .keras round trip.
"""

from __future__ import annotations

import numpy as np
import pytest

from .helpers import quiet_tensorflow, spec_path

quiet_tensorflow()
keras = pytest.importorskip("keras")

import tfspec  # noqa: E402

from . import references  # noqa: E402

pytestmark = pytest.mark.usefixtures("example_plugin")
STYLES = ["functional", "subclassing"]


def spec_text():
    with open(spec_path("vae"), encoding="utf-8") as f:
        return f.read()


def with_parts(text):
    """The spec with its inner tensors as outputs too, so their values can be compared."""
    assert "    output reconstruction\n" in text
    return text.replace("    output reconstruction\n", "    output reconstruction, z_mean, z_log_var, z\n")


def weighted(layers):
    return [layer for layer in layers if layer.weights and type(layer).__name__ != "Sampling"]


def copy_into_reference(model, encoder, decoder):
    """The model's weights into the reference, layer by layer: both make their layers in data-flow order."""
    ours = weighted(model._flatten_layers(include_self=False))
    theirs = weighted(encoder.layers) + weighted(decoder.layers)
    assert [type(a).__name__ for a in ours] == [type(b).__name__ for b in theirs]
    for a, b in zip(ours, theirs, strict=True):
        b.set_weights(a.get_weights())


def test_the_spec_has_the_example_parameter_count():
    spec = tfspec.load(spec_path("vae"))
    encoder, decoder = references.vae_parts()
    assert encoder.count_params() == 69_076 and decoder.count_params() == 65_089
    assert tfspec.summary(spec).total_params == references.PARAMS["vae"] == 134_165


@pytest.mark.parametrize("style", STYLES)
def test_the_deterministic_parts_equal_the_reference(style):
    model = tfspec.build(tfspec.loads(with_parts(spec_text()), filename=spec_path("vae")), style)
    assert model.count_params() == references.PARAMS["vae"]
    encoder, decoder = references.vae_parts()
    copy_into_reference(model, encoder, decoder)
    x = np.random.default_rng(0).random((3, 28, 28, 1), dtype=np.float32)
    reconstruction, z_mean, z_log_var, z = (np.asarray(t) for t in model(x))
    ref_mean, ref_log_var, _ = (np.asarray(t) for t in encoder(x))
    np.testing.assert_allclose(z_mean, ref_mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(z_log_var, ref_log_var, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(reconstruction, np.asarray(decoder(z)), rtol=1e-5, atol=1e-6)
    (kl,) = model.losses  # add_loss: the mean over the batch of the per-digit KL sum
    np.testing.assert_allclose(float(kl), float(references.vae_kl(z_mean, z_log_var)), rtol=1e-5)


def test_it_trains_offline_with_a_falling_loss():
    result = tfspec.train(tfspec.load(spec_path("vae")), epochs=3, quiet=True, seed=0)
    losses = result.history["loss"]
    assert len(losses) == 3 and 50 < losses[2] < losses[0]
    assert "kl" in result.history and all(v > 0 for v in result.history["kl"])
    # a digit's reconstruction loss starts near 784 * ln 2 = 543 (every pixel 0.5) and falls well below
    assert losses[2] < 300


def test_a_functional_vae_saves_and_loads(tmp_path):
    model = tfspec.build(tfspec.load(spec_path("vae")), "functional")
    path = str(tmp_path / "vae.keras")
    model.save(path)
    again = keras.saving.load_model(path)
    assert again.count_params() == model.count_params()
    x = np.random.default_rng(1).random((2, 28, 28, 1), dtype=np.float32)
    again(x)
    assert len(again.losses) == 1


def test_the_target_of_an_autoencoder_is_its_scaled_input():
    """`npz(..., x="image", y="image", scale=1 / 255)`: y is the input, scaled like it."""
    from tfspec.runtime.data import _source_splits

    spec = {"source": "npz", "path": "data/mnist_5k.npz", "x": "image", "y": "image", "scale": 1 / 255, "limit": 50}
    (x, y), test, _ = _source_splits(spec, base_dir=spec_path("vae").rsplit("/", 1)[0])
    assert test is None and x.dtype == np.float32 and x.shape == (50, 28, 28, 1)
    assert y is x and 0.99 < float(x.max()) <= 1.0
