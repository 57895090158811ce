"""The layers of tfspec/ir/layers_more.py in whole models, against Keras models written by hand.

For each spec, in every style it allows: the compiled model has the hand-written model's
parameter counts (and the static summary's), and with the hand-written model's weights copied in
(matched by class and shape in first-call order, as tests/test_architectures.py does) it gives the
same outputs. Then the refusals that have no Keras twin in tests/test_catalog.py: the cases where
Keras builds a layer whose static shape is not what it makes when the model runs, or that fails
only then; the cells outside RNN; and importing Keras models that hold these layers.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import numpy as np
import pytest

from .helpers import quiet_tensorflow

quiet_tensorflow()
keras = pytest.importorskip("keras")
from keras import layers  # noqa: E402

import tfspec  # noqa: E402
from tfspec.backends import allowed_styles  # noqa: E402
from tfspec.ir.catalog import ShapeError, bind, lookup  # noqa: E402
from tfspec.ir.dtypes import layer_dtype  # noqa: E402
from tfspec.ir.values import Call  # noqa: E402

from .test_architectures import copy_matched, perturb_constants, weight_counts  # noqa: E402

BATCH = 3


# -- the specs and their hand-written twins ---------------------------------------------------------

FRAMES = """
model Frames {
    input frames: float32[4, 8, 8, 1]
    input h0: float32[8, 8, 2]
    input c0: float32[8, 8, 2]
    frames -> ConvLSTM2D(2, 3, padding="same", return_sequences=True, return_state=True)(initial_state=[h0, c0]) -> seq, h, c
    seq -> ConvLSTM2D(3, 3, strides=2, padding="same", recurrent_dropout=0.1) -> last
    [h, c] -> Concatenate() -> states
    states -> Conv2D(3, 1, strides=2) -> squeezed
    [last, squeezed] -> Add() -> Flatten() -> Dense(2) -> out
    output out
}
"""


def frames_reference():
    frames = keras.Input((4, 8, 8, 1), name="frames")
    h0, c0 = keras.Input((8, 8, 2), name="h0"), keras.Input((8, 8, 2), name="c0")
    seq, h, c = layers.ConvLSTM2D(2, 3, padding="same", return_sequences=True, return_state=True)(
        frames, initial_state=[h0, c0]
    )
    last = layers.ConvLSTM2D(3, 3, strides=2, padding="same", recurrent_dropout=0.1)(seq)
    squeezed = layers.Conv2D(3, 1, strides=2)(layers.Concatenate()([h, c]))
    out = layers.Dense(2)(layers.Flatten()(layers.Add()([last, squeezed])))
    return keras.Model([frames, h0, c0], out)


PROJECTIONS = """
model Projections {
    input x: float32[6, 8]
    x -> EinsumDense("abc,cd->abd", (None, 16), bias_axes="d", activation="relu")
      -> SpectralNormalization(EinsumDense("...b,bc->...c", 12, bias_axes="c"))
      -> ActivityRegularization(l2=0.01)
      -> Reshape([6, 12, 1])
      -> SpectralNormalization(Conv2D(4, 3, padding="same"), power_iterations=2)
      -> AdaptiveAveragePooling2D((3, 4))
      -> AdaptiveMaxPooling2D(2)
      -> Flatten()
      -> SpectralNormalization(Dense(3))
      -> y
    output y
}
"""


def projections_reference():
    x = keras.Input((6, 8), name="x")
    y = layers.EinsumDense("abc,cd->abd", (None, 16), bias_axes="d", activation="relu")(x)
    y = layers.SpectralNormalization(layers.EinsumDense("...b,bc->...c", 12, bias_axes="c"))(y)
    y = layers.ActivityRegularization(l2=0.01)(y)
    y = layers.Reshape((6, 12, 1))(y)
    y = layers.SpectralNormalization(layers.Conv2D(4, 3, padding="same"), power_iterations=2)(y)
    y = layers.AdaptiveMaxPooling2D(2)(layers.AdaptiveAveragePooling2D((3, 4))(y))
    y = layers.SpectralNormalization(layers.Dense(3))(layers.Flatten()(y))
    return keras.Model(x, y)


DECODER = """
model Decoder {
    input tokens: int32[10]
    tokens -> Embedding(50, 16) -> h
    h -> Dense(5) -> keys
    [h, h] -> GroupQueryAttention(8, 4, 2)(use_causal_mask=True, return_attention_scores=True) -> att, scores
    [att, h, keys] -> GroupQueryAttention(4, 2, 1, use_gate=True, sliding_window=3) -> cross
    cross -> GlobalAveragePooling1D() -> Dense(3) -> probs
    output probs, scores
}
"""


def decoder_reference():
    tokens = keras.Input((10,), dtype="int32", name="tokens")
    h = layers.Embedding(50, 16)(tokens)
    keys = layers.Dense(5)(h)
    att, scores = layers.GroupQueryAttention(8, 4, 2)(h, h, use_causal_mask=True, return_attention_scores=True)
    cross = layers.GroupQueryAttention(4, 2, 1, use_gate=True, sliding_window=3)(att, h, keys)
    probs = layers.Dense(3)(layers.GlobalAveragePooling1D()(cross))
    return keras.Model(tokens, [probs, scores])


CELLS = """
model Cells {
    input x: float32[None, 3]
    x -> RNN([GRUCell(8), LSTMCell(6)], return_sequences=True)
      -> RNN(StackedRNNCells([SimpleRNNCell(5), GRUCell(4, reset_after=False)]), return_sequences=True)
      -> RNN(LSTMCell(4, unit_forget_bias=False), go_backwards=True)
      -> Dense(2)
      -> y
    output y
}
"""


def cells_reference():
    x = keras.Input((None, 3), name="x")
    y = layers.RNN([layers.GRUCell(8), layers.LSTMCell(6)], return_sequences=True)(x)
    y = layers.RNN(
        layers.StackedRNNCells([layers.SimpleRNNCell(5), layers.GRUCell(4, reset_after=False)]), return_sequences=True
    )(y)
    y = layers.RNN(layers.LSTMCell(4, unit_forget_bias=False), go_backwards=True)(y)
    return keras.Model(x, layers.Dense(2)(y))


STATES = """
model States {
    input enc: float32[None, 3]
    input dec: float32[None, 2]
    _, h, c = RNN(LSTMCell(6), return_state=True)(enc)
    dec -> RNN(LSTMCell(6), return_sequences=True)(initial_state=[h, c]) -> seq
    h -> Dense(4) -> s1
    h -> Dense(5) -> s2
    seq -> RNN([GRUCell(4), GRUCell(5)], return_sequences=True)(initial_state=[s1, s2]) -> out
    out -> RNN(SimpleRNNCell(3), return_state=True) -> last, state
    [last, state] -> Add() -> y
    output y
}
"""


def states_reference():
    enc, dec = keras.Input((None, 3), name="enc"), keras.Input((None, 2), name="dec")
    _, h, c = layers.RNN(layers.LSTMCell(6), return_state=True)(enc)
    seq = layers.RNN(layers.LSTMCell(6), return_sequences=True)(dec, initial_state=[h, c])
    s1, s2 = layers.Dense(4)(h), layers.Dense(5)(h)
    out = layers.RNN([layers.GRUCell(4), layers.GRUCell(5)], return_sequences=True)(seq, initial_state=[s1, s2])
    last, state = layers.RNN(layers.SimpleRNNCell(3), return_state=True)(out)
    return keras.Model([enc, dec], layers.Add()([last, state]))


MASKED = """
model Masked {
    input tokens: int32[7]
    tokens -> Embedding(20, 8, mask_zero=True) -> SpectralNormalization(Dense(8)) -> e
    e -> RNN(LSTMCell(6), return_sequences=True) -> seq
    [seq, seq] -> GroupQueryAttention(4, 2, 1) -> att
    att -> ActivityRegularization(0.01) -> RNN(GRUCell(3)) -> y
    output y
}
"""


def masked_reference(mask_zero=True):
    tokens = keras.Input((7,), dtype="int32", name="tokens")
    e = layers.SpectralNormalization(layers.Dense(8))(layers.Embedding(20, 8, mask_zero=mask_zero)(tokens))
    seq = layers.RNN(layers.LSTMCell(6), return_sequences=True)(e)
    att = layers.GroupQueryAttention(4, 2, 1)(seq, seq)
    y = layers.RNN(layers.GRUCell(3))(layers.ActivityRegularization(0.01)(att))
    return keras.Model(tokens, y)


AUDIO = """
model Audio {
    input wave: float32[400]
    input ids: int32[5]
    wave -> MelSpectrogram(fft_length=64, sequence_stride=32, num_mel_bins=8, sampling_rate=8000) -> mel
    wave -> Reshape([400, 1]) -> STFTSpectrogram("magnitude", 32, 16, window=None) -> spectrum
    ids -> ReversibleEmbedding(12, 6, tie_weights=False) -> GlobalAveragePooling1D() -> Dense(4) -> c
    mel -> Flatten() -> Dense(4) -> a
    spectrum -> GlobalAveragePooling1D() -> Dense(4) -> b
    [a, b, c] -> Add() -> out
    output out
}
"""


def audio_reference():
    wave, ids = keras.Input((400,), name="wave"), keras.Input((5,), dtype="int32", name="ids")
    mel = layers.MelSpectrogram(fft_length=64, sequence_stride=32, num_mel_bins=8, sampling_rate=8000)(wave)
    spectrum = layers.STFTSpectrogram("magnitude", 32, 16, window=None)(layers.Reshape((400, 1))(wave))
    c = layers.Dense(4)(layers.GlobalAveragePooling1D()(layers.ReversibleEmbedding(12, 6, tie_weights=False)(ids)))
    a = layers.Dense(4)(layers.Flatten()(mel))
    b = layers.Dense(4)(layers.GlobalAveragePooling1D()(spectrum))
    return keras.Model([wave, ids], layers.Add()([a, b, c]))


SPECS = {
    "frames": (FRAMES, frames_reference),
    "projections": (PROJECTIONS, projections_reference),
    "decoder": (DECODER, decoder_reference),
    "cells": (CELLS, cells_reference),
    "states": (STATES, states_reference),
    "masked": (MASKED, masked_reference),
    "audio": (AUDIO, audio_reference),
}
STEPS = {"cells": 6, "states": 5}  # the length given to None axes
VOCABULARY = {"tokens": 20, "ids": 12}


def sample(spec, name, seed, padded=False):
    """One batch per input: ids (from 1, with trailing padding in the first row when `padded`)
    for int inputs, normal floats otherwise."""
    rng = np.random.default_rng(seed)
    xs = []
    for inp in spec.model.inputs:
        shape = (BATCH,) + tuple(STEPS.get(name, 4) if d is None else d for d in inp.shape)
        if inp.dtype.startswith("int"):
            ids = rng.integers(1, VOCABULARY.get(inp.name, 20), size=shape).astype(inp.dtype)
            if padded:
                ids[0, 3:] = 0
                ids[1, 5:] = 0
            xs.append(ids)
        else:
            xs.append(rng.standard_normal(shape).astype("float32"))
    return xs[0] if len(xs) == 1 else xs


def outputs(model, x, training=False):
    y = model(x, training=training)
    return [np.asarray(t) for t in (y if isinstance(y, (list, tuple)) else [y])]


def cases():
    out = []
    for name, (text, _) in SPECS.items():
        for style in allowed_styles(tfspec.loads(text)):
            out.append(pytest.param(name, style, id=f"{name}-{style}"))
    return out


@pytest.mark.parametrize(("name", "style"), cases())
def test_the_spec_builds_the_hand_written_model(name, style):
    text, make_reference = SPECS[name]
    spec = tfspec.loads(text)
    reference, model = make_reference(), tfspec.build(spec, style)
    perturb_constants(reference, np.random.default_rng(3))
    summary = tfspec.summary(spec)
    static = (summary.trainable_params, summary.non_trainable_params)
    assert weight_counts(reference) == static
    assert weight_counts(model) == static
    padded = name == "masked"
    copy_matched(reference, model, sample(spec, name, 0, padded))
    for seed in (0, 1):
        x = sample(spec, name, seed, padded)
        ours, theirs = outputs(model, x), outputs(reference, x)
        assert [a.shape for a in ours] == [b.shape for b in theirs]
        for got, want in zip(ours, [spec.model.shapes[o] for o in spec.model.outputs]):
            assert got.shape[1:] == tuple(g if w is None else w for g, w in zip(got.shape[1:], want))
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-5, err_msg=f"{name}, seed {seed}")


def test_spectral_normalization_trains_the_same_way():
    """training=True normalises the kernels in place (power iteration): both models step alike."""
    spec = tfspec.loads(PROJECTIONS)
    for style in allowed_styles(spec):
        reference, model = projections_reference(), tfspec.build(spec, style)
        x = sample(spec, "projections", 0)
        copy_matched(reference, model, x)
        for _ in range(2):
            for a, b in zip(outputs(model, x, True), outputs(reference, x, True)):
                np.testing.assert_allclose(a, b, rtol=0, atol=1e-5, err_msg=style)
        assert sum(model.losses) > 0  # ActivityRegularization's term


def test_masks_reach_the_recurrent_and_attention_layers_in_every_style():
    """The padding mask of Embedding(mask_zero=True) changes the outputs, and every style (the
    subclassed one passes masks itself) gives the masked reference's."""
    spec = tfspec.loads(MASKED)
    x = sample(spec, "masked", 4, padded=True)
    unmasked = masked_reference(mask_zero=False)
    masked = masked_reference()
    masked.set_weights(unmasked.get_weights())
    assert not np.allclose(outputs(masked, x)[0], outputs(unmasked, x)[0], atol=1e-4)
    source = tfspec.generate(spec, "subclassing")
    assert "query_mask=" in source and "mask=" in source


# The printers put a layer's constructor on one line before its call's arguments, `seq, h, c =
# layers.ConvLSTM2D(...)(frames, initial_state=[h0, c0])`; when that first line is too long, ruff
# breaks the constructor's arguments instead (tfspec/backends, any layer: LSTM alike). Strict: it
# fails as soon as the printers lay it out as ruff does.
RUFF_LAYOUT = pytest.mark.xfail(reason="a long constructor before call arguments is laid out unlike ruff", strict=True)


@pytest.mark.parametrize("name", [pytest.param(n, marks=RUFF_LAYOUT) if n == "frames" else n for n in SPECS])
def test_generated_source_passes_ruff(name, tmp_path):
    spec = tfspec.loads(SPECS[name][0])
    ruff = [sys.executable, "-m", "ruff"]
    for style in allowed_styles(spec):
        path = tmp_path / f"{name}_{style}.py"
        path.write_text(tfspec.generate(spec, style), encoding="utf-8")
        fmt = subprocess.run(ruff + ["format", "--isolated", "--check", "--diff", str(path)], capture_output=True)
        assert fmt.returncode == 0, fmt.stdout.decode() + fmt.stderr.decode()
        lint = subprocess.run(ruff + ["check", "--isolated", str(path)], capture_output=True)
        assert lint.returncode == 0, lint.stdout.decode() + lint.stderr.decode()


def test_sequential_where_the_model_is_a_chain():
    for name in ("projections", "cells"):
        assert "sequential" in allowed_styles(tfspec.loads(SPECS[name][0])), name


# -- refusals Keras only shows when the model runs -----------------------------------------------


def refused(name, shapes, *args, **kwargs):
    """The ShapeError the catalog raises for the layer on these per-sample shapes."""
    definition = lookup(name)
    bound = bind(definition, args, tuple(kwargs.items()))
    assert not bound.errors, bound.errors
    with pytest.raises(ShapeError) as info:
        out = definition.shape(shapes, bound.values)
        definition.params(shapes, bound.values, out)
    return info.value


def run_model(layer, shape, dtype="float32"):
    """(Keras's static output shape, the output shape when the model runs) of one layer."""
    x = keras.Input(shape, dtype=dtype)
    y = layer(x)
    data = np.random.default_rng(0).standard_normal((2, *shape)).astype(dtype)
    return tuple(y.shape[1:]), tuple(keras.Model(x, y).predict(data, verbose=0).shape[1:])


def test_adaptive_pooling_to_one_or_from_one_fails_when_the_model_runs():
    error = refused("AdaptiveAveragePooling1D", [(8, 3)], 1)
    assert "GlobalAveragePooling1D(keepdims=True)" in error.hint
    refused("AdaptiveAveragePooling3D", [(1, 4, 4, 3)], 2)
    for layer, shape in (
        (layers.AdaptiveAveragePooling1D(1), (8, 3)),
        (layers.AdaptiveAveragePooling3D(2), (1, 4, 4, 3)),
    ):
        with pytest.raises(Exception, match="Negative dimension"):
            run_model(layer, shape)


def test_adaptive_pooling_of_the_wrong_rank_has_a_wrong_static_shape():
    refused("AdaptiveMaxPooling2D", [(7, 2)], 3)
    x = keras.Input((7, 2))
    static = tuple(layers.AdaptiveMaxPooling2D(3)(x).shape[1:])
    ran = tuple(layers.AdaptiveMaxPooling2D(3)(np.zeros((2, 7, 2), "float32")).shape[1:])
    assert static != ran


def test_adaptive_pooling_to_zero_is_refused_and_fails_in_keras():
    assert bind(lookup("AdaptiveMaxPooling1D"), (0,), ()).errors
    with pytest.raises(Exception):  # noqa: B017  (division by zero)
        layers.AdaptiveMaxPooling1D(0)(np.zeros((2, 8, 3), "float32"))


@pytest.mark.parametrize(("n", "stride", "fft"), [(511, 16, 64), (99, 10, 64), (63, 16, 63), (40, 1, 64)])
def test_mel_spectrogram_lengths_where_keras_static_shape_is_wrong(n, stride, fft):
    error = refused("MelSpectrogram", [(n,)], fft_length=fft, sequence_stride=stride, num_mel_bins=4)
    assert "frames" in error.message
    static, ran = run_model(layers.MelSpectrogram(fft_length=fft, sequence_stride=stride, num_mel_bins=4), (n,))
    assert static != ran


def test_mel_spectrogram_lengths_where_it_is_right():
    definition = lookup("MelSpectrogram")
    for n, stride, fft in ((100, 16, 64), (400, 32, 64), (65, 16, 63), (33, 16, 64)):
        bound = bind(definition, (), (("fft_length", fft), ("sequence_stride", stride), ("num_mel_bins", 4))).values
        ours = tuple(definition.shape([(n,)], bound))
        static, ran = run_model(layers.MelSpectrogram(fft_length=fft, sequence_stride=stride, num_mel_bins=4), (n,))
        assert ours == static == ran


def test_einsum_with_reversed_ellipsis_axes_has_a_wrong_static_shape():
    error = refused("EinsumDense", [(3, 5, 8)], "...b,bc->...c", 4)
    assert "reverse" in error.message
    static, ran = run_model(layers.EinsumDense("...b,bc->...c", 4), (3, 5, 8))
    assert static == (5, 3, 4) and ran == (3, 5, 4)


def test_einsum_that_moves_the_batch_axis_is_refused():
    refused("EinsumDense", [(5, 8)], "abc,cd->bad", (None, 64))


def test_stacked_cells_return_their_states_in_two_structures():
    """Why RNN(stacked cells, return_state=True) is refused: traced flat, eager nested."""
    stack = [Call("GRUCell", (4,)), Call("GRUCell", (8,))]
    (error,) = bind(lookup("RNN"), (stack,), (("return_state", True),)).errors
    assert "stacked cells" in error.message
    layer = layers.RNN([layers.GRUCell(4), layers.GRUCell(8)], return_state=True)
    symbolic = layer(keras.Input((5, 3)))
    eager = layer(np.zeros((2, 5, 3), "float32"))
    assert not isinstance(symbolic[1], list) and isinstance(eager[1], list)


def test_stacked_lstm_cells_cannot_take_a_flat_initial_state():
    definition = lookup("RNN")
    values = bind(definition, ([Call("LSTMCell", (4,)), Call("GRUCell", (3,))],), ()).values
    out = definition.shape([(5, 3)], values)
    with pytest.raises(ShapeError, match="nested list"):
        definition.call_rule([(5, 3)], values, {"initial_state": [(4,), (4,), (3,)]}, out)
    assert definition.call_rule([(5, 3)], values, {}, out) == []


def test_call_tensors_of_the_wrong_shape_are_refused():
    with pytest.raises(tfspec.SpecError, match=r"ConvLSTM2D: initial state 1 has shape \(8, 8, 3\)"):
        tfspec.loads(FRAMES.replace("input h0: float32[8, 8, 2]", "input h0: float32[8, 8, 3]"))
    with pytest.raises(tfspec.SpecError, match="initial_state of ConvLSTM2D.s call takes 2 tensors, got 1"):
        tfspec.loads(FRAMES.replace("initial_state=[h0, c0]", "initial_state=[h0]").replace("input c0", "input c1"))
    definition = lookup("GroupQueryAttention")
    values = bind(definition, (4, 4, 2), ()).values
    ins = [(5, 8), (6, 8)]
    assert definition.call_rule(ins, values, {"attention_mask": (5, 6)}, (5, 8)) == []
    assert definition.call_rule(ins, values, {"return_attention_scores": True}, (5, 8)) == [(4, 5, 6)]
    with pytest.raises(ShapeError, match=r"needs \(5, 6\)"):
        definition.call_rule(ins, values, {"attention_mask": (6, 5)}, (5, 8))
    states = lookup("RNN")
    values = bind(states, ([Call("GRUCell", (4,)), Call("GRUCell", (8,))],), ()).values
    assert states.call_rule([(5, 3)], values, {"initial_state": [(4,), (8,)]}, (8,)) == []
    with pytest.raises(ShapeError, match="initial state 2 has shape"):
        states.call_rule([(5, 3)], values, {"initial_state": [(4,), (4,)]}, (8,))


def test_cells_are_refused_in_a_chain_with_a_hint():
    with pytest.raises(tfspec.SpecError) as info:
        tfspec.loads("model M { input x: float32[5, 3]  x -> LSTMCell(4) -> y  output y }")
    (diagnostic,) = info.value.diagnostics
    assert "recurrent cell" in diagnostic.message and "RNN(LSTMCell(...))" in diagnostic.hint
    with pytest.raises(tfspec.SpecError) as info:
        tfspec.loads("model M { input x: float32[5, 3]  x -> RNN(LSTM(4)) -> y  output y }")
    assert "LSTMCell(...)" in info.value.diagnostics[0].hint
    with pytest.raises(TypeError):  # Keras: a cell's call needs its states
        layers.LSTMCell(4)(keras.Input((5, 3)))


def test_spectral_normalization_of_a_lora_layer_fails_when_training():
    errors = bind(lookup("SpectralNormalization"), (Call("Dense", (4,), (("lora_rank", 2),)),), ()).errors
    assert errors and "lora_rank" in errors[0].message
    layer = layers.SpectralNormalization(layers.Dense(4, lora_rank=2))
    layer(keras.Input((8,)))
    with pytest.raises(Exception):  # noqa: B017
        layer(np.ones((2, 8), "float32"), training=True)


def test_spectral_normalization_of_int_inputs_cuts_the_output_to_ints():
    definition = lookup("SpectralNormalization")
    values = bind(definition, (Call("Embedding", (10, 4)),), ()).values
    with pytest.raises(ShapeError) as info:
        layer_dtype(definition, ["int32"], values)
    assert info.value.code == "E504"
    assert layer_dtype(definition, ["float32"], values) == "float32"
    out = layers.SpectralNormalization(layers.Embedding(10, 4))(np.arange(5)[None].astype("int32"))
    assert keras.backend.standardize_dtype(out.dtype) == "int32" and not np.any(np.asarray(out))


def test_stft_named_windows_need_scipy():
    errors = bind(lookup("STFTSpectrogram"), (), ()).errors
    assert errors and "SciPy" in errors[0].message and "window=None" in errors[0].hint
    try:
        import scipy  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError):
            layers.STFTSpectrogram()
    # SciPy may be here (KerasTuner's Bayesian search, the `tune` extra, needs it), but a model is
    # trained where tfspec's training extras are installed, and those do not bring it
    from importlib.metadata import requires

    training = [r for r in requires("tfspec") or () if re.search(r"extra == .tf(-cpu)?.$", r)]
    assert training, "tfspec's training extras (tf, tf-cpu) are not in its metadata"
    if any(re.match(r"scipy\b", r) for r in training):
        pytest.fail("SciPy comes with tfspec's training extras: STFTSpectrogram's named windows could be offered now")


def test_a_mask_made_inside_spectral_normalization_is_refused():
    errors = bind(lookup("SpectralNormalization"), (Call("Embedding", (10, 4), (("mask_zero", True),)),), ()).errors
    assert errors and "mask_zero" in errors[0].message


def test_reversible_embedding_mask_and_reverse_call_are_not_offered():
    definition = lookup("ReversibleEmbedding")
    assert bind(definition, (10, 4), (("mask_zero", True),)).errors
    assert "reverse" not in {c.name for c in definition.call_args}


# -- import --------------------------------------------------------------------------------------


def test_keras_models_with_these_layers_import_and_give_the_same_outputs(tmp_path):
    from tfspec.tools.importer import copy_weights, import_config

    x = keras.Input((6, 8), name="x")
    y = layers.RNN([layers.GRUCell(4), layers.LSTMCell(5, dropout=0.1)], return_sequences=True)(x)
    y = layers.RNN(layers.SimpleRNNCell(3), return_sequences=True)(y)
    y = layers.EinsumDense("abc,cd->abd", (None, 6), bias_axes="d", activation="relu")(y)
    y = layers.SpectralNormalization(layers.Dense(4), power_iterations=2)(y)
    y = layers.Reshape((6, 4, 1))(y)
    y = layers.ConvLSTM1D(2, 3, padding="same")(y)
    y = layers.AdaptiveMaxPooling1D(2)(y)
    y = layers.STFTSpectrogram("magnitude", 2, 1, window=None)(y)
    original = keras.Model(x, layers.ActivityRegularization(l1=0.01)(y), name="imported")
    perturb_constants(original, np.random.default_rng(2))
    imported = import_config(json.loads(original.to_json()), "imported.json")
    assert "RNN(StackedRNNCells([GRUCell(4), LSTMCell(5, dropout=0.1)])" in imported.text
    assert "window=None" in imported.text
    data = np.random.default_rng(1).standard_normal((2, 6, 8)).astype("float32")
    for style in allowed_styles(imported.spec):
        model = tfspec.build(imported.spec, style)
        copy_weights(original, imported.spec, model, style)
        np.testing.assert_allclose(
            np.asarray(model(data, training=False)), np.asarray(original(data, training=False)), atol=1e-5
        )
