"""Keras comparisons of the entries in tfspec/ir/layers_more.py, collected by tests/test_catalog.py.

(name, input shapes, args, kwargs) as in test_catalog: CASES are built in Keras and compared, BAD
are refused by the catalog and by Keras, KERAS_REFUSES are argument lists both refuse.

The recurrent cells (SimpleRNNCell, LSTMCell, GRUCell, StackedRNNCells) are values of RNN only: their
cases are the RNN cases that hold them (`cell_uses` counts them), and a cell alone is a BAD case.
"""

from tfspec.ir.layers_recurrent import CELL_KINDS
from tfspec.ir.values import Call


def C(name, *args, **kwargs):
    return Call(name, tuple(args), tuple(kwargs.items()))


CASES: list = []
BAD: list = []


def case(name, shapes, *args, **kwargs):
    CASES.append((name, [shapes] if isinstance(shapes, tuple) else shapes, args, kwargs))


def bad(name, shapes, *args, **kwargs):
    BAD.append((name, [shapes] if isinstance(shapes, tuple) else shapes, args, kwargs))


def cell_uses(args, kwargs) -> list:
    """The names of the cells (and StackedRNNCells) nested in a case's arguments."""
    found, stack = [], list(args) + list(kwargs.values())
    while stack:
        value = stack.pop()
        if isinstance(value, Call):
            if value.name in CELL_KINDS + ("StackedRNNCells",):
                found.append(value.name)
            stack += list(value.args) + [v for _, v in value.kwargs]
        elif isinstance(value, (list, tuple)):
            stack += list(value)
    return found


# adaptive pooling
case("AdaptiveAveragePooling1D", (8, 3), 4)
case("AdaptiveAveragePooling1D", (None, 3), (3,))
case("AdaptiveAveragePooling1D", (5, 2), 8)
case("AdaptiveAveragePooling2D", (8, 9, 3), (2, 3))
case("AdaptiveAveragePooling2D", (3, 8, 9), 2, data_format="channels_first")
case("AdaptiveAveragePooling3D", (4, 4, 4, 2), 2)
case("AdaptiveAveragePooling3D", (6, 5, 4, None), (3, 2, 2))
case("AdaptiveMaxPooling1D", (4, 3), 8)
case("AdaptiveMaxPooling1D", (9, 2), [3])
case("AdaptiveMaxPooling2D", (7, 7, 2), 3)
case("AdaptiveMaxPooling2D", (4, 4, None), 2, data_format="channels_last")
case("AdaptiveMaxPooling3D", (4, 4, 4, 2), (2, 3, 2))
case("AdaptiveMaxPooling3D", (2, 4, 4, 4), 2, data_format="channels_first")

# activity regularization
case("ActivityRegularization", (5, 3))
case("ActivityRegularization", (4,), 0.1, 0.2)
case("ActivityRegularization", (2, 3, 4), l2=1e-3)

# EinsumDense
case("EinsumDense", (8,), "ab,bc->ac", 4)
case("EinsumDense", (5, 8), "abc,cd->abd", (None, 64), bias_axes="d")
case("EinsumDense", (5, 8), "abc,cd->abd", (5, 64), bias_axes="bd", activation="relu")
case("EinsumDense", (5, 8), "abc,cde->abde", (5, 2, 3), bias_axes="de", kernel_initializer="orthogonal")
case("EinsumDense", (3, 8), "...b,bc->...c", 4, bias_axes="c")
case("EinsumDense", (8,), "...b,bc->...c", 4)
case("EinsumDense", (8,), "...ab,bc->...ac", (4,))
case("EinsumDense", (5, 8), "...ab,bc->...ac", (5, 4))
case("EinsumDense", (5, 8, 7), "abc...,cd->abd...", (5, 4), bias_axes="d")
case("EinsumDense", (8, 7), "ab...,bc->ac...", (4,), bias_axes="c")
case("EinsumDense", (None, 8), "abc,cd->abd", (None, 64))
case("EinsumDense", (5, 8), "abc,bd->acd", (8, 3))
case("EinsumDense", (5, 8, 3), "abcd,cde->abe", (5, 64), bias_axes="e")
case("EinsumDense", (5, 8), "abc,cd->adb", (64, 5), bias_axes="d")
case("EinsumDense", (8,), "ab,bb->ab", 8)
case("EinsumDense", (8, 8), "abb,bc->ac", 4)
case("EinsumDense", (8,), "AB,BC->AC", 4, bias_axes="C")
case("EinsumDense", (8,), "ab,b->a", ())
case("EinsumDense", (5, 8), "abc,cd->abd", (5, 6), lora_rank=2, bias_axes="d")
case("EinsumDense", (5, 8), "abc,cd->abd", (5, 6), bias_axes="bd", bias_initializer="orthogonal")
case("EinsumDense", (5, 8), "abc,cd->abd", (5, 6), kernel_initializer="identity", trainable=False)
case("EinsumDense", (3, 3, 8), "...b,bc->...c", 4)

# ReversibleEmbedding
case("ReversibleEmbedding", (5,), 10, 4)
case("ReversibleEmbedding", (None,), 10, 4, tie_weights=False)
case("ReversibleEmbedding", (3, 2), 7, 3, False, "normal", trainable=False)
case("ReversibleEmbedding", (5,), 10, 4, reverse_dtype="float32", logit_soft_cap=30.0)

# SpectralNormalization
case("SpectralNormalization", (8,), C("Dense", 4))
case("SpectralNormalization", (3, None, 8), C("Dense", 4, use_bias=False), power_iterations=3)
case("SpectralNormalization", (8, 8, 3), C("Conv2D", 4, 3))
case("SpectralNormalization", (None, None, 3), C("Conv2D", 4, 3, padding="same"))
case("SpectralNormalization", (8, 3), C("Conv1DTranspose", 4, 3))
case("SpectralNormalization", (5, 5, 5, 2), C("Conv3D", 2, 3))
case("SpectralNormalization", (8, 8, 3), C("DepthwiseConv2D", 3, depth_multiplier=2))
case("SpectralNormalization", (5,), C("Embedding", 10, 4))
case("SpectralNormalization", (5,), C("ReversibleEmbedding", 10, 4))
case("SpectralNormalization", (5, 8), C("EinsumDense", "abc,cd->abd", (5, 6)))
case("SpectralNormalization", (8,), C("Dense", 4, trainable=False))
case("SpectralNormalization", (8,), C("Dense", 4), trainable=False)

# RNN over cells (which counts for the cells too)
case("RNN", (5, 3), C("LSTMCell", 4))
case("RNN", (None, 3), C("LSTMCell", 4, unit_forget_bias=False), return_sequences=True)
case("RNN", (5, 3), C("GRUCell", 4))
case("RNN", (5, 3), C("GRUCell", 4, reset_after=False, use_bias=False))
case("RNN", (5, 3), C("SimpleRNNCell", 6))
case("RNN", (None, 3), C("SimpleRNNCell", 6, use_bias=False), go_backwards=True)
case("RNN", (5, 3), [C("GRUCell", 4), C("GRUCell", 8)])
case("RNN", (None, 3), [C("LSTMCell", 4), C("SimpleRNNCell", 2)], return_sequences=True)
case("RNN", (5, 3), C("StackedRNNCells", [C("SimpleRNNCell", 4), C("GRUCell", 8)]))
case("RNN", (5, 3), C("StackedRNNCells", [C("LSTMCell", 4), C("LSTMCell", 5)]), unroll=True)
case("RNN", (5, 3), C("LSTMCell", 4, dropout=0.2, recurrent_dropout=0.1, seed=1), trainable=False)
case("RNN", (5, 3), C("LSTMCell", 4, trainable=False))

# ConvLSTM
case("ConvLSTM1D", (4, 6, 3), 2, 3)
case("ConvLSTM1D", (4, 3, 6), 2, 3, data_format="channels_first", return_sequences=True)
case("ConvLSTM1D", (None, 6, 3), 5, 2, strides=2, padding="same", use_bias=False)
case("ConvLSTM2D", (None, 5, 6, 3), 2, 3)
case("ConvLSTM2D", (4, 5, 6, 3), 2, 3, padding="same", strides=2, return_sequences=True)
case("ConvLSTM2D", (4, 8, 8, 1), 4, (3, 2), dilation_rate=2, unit_forget_bias=False)
case("ConvLSTM2D", (4, 2, 7, 7), 3, 3, data_format="channels_first", trainable=False)
case("ConvLSTM3D", (4, 5, 5, 5, 1), 2, 3, padding="same")
case("ConvLSTM3D", (3, 6, 6, 6, 2), 2, (3, 3, 2), return_sequences=True)

# GroupQueryAttention
case("GroupQueryAttention", [(5, 8), (6, 8)], 4, 4, 2)
case("GroupQueryAttention", [(5, 8), (6, 8), (6, 3)], 4, 4, 2)
case("GroupQueryAttention", [(None, 8), (None, 8)], 4, 4, 2, use_gate=True, use_bias=False)
case("GroupQueryAttention", [(5, 8), (5, 8)], 2, 6, 3, sliding_window=2, dropout=0.1)
case("GroupQueryAttention", [(5, 8), (7, 8)], 4, 2, 1, trainable=False)

# audio
case("MelSpectrogram", (16000,))
case("MelSpectrogram", (100,), fft_length=64, sequence_stride=16, num_mel_bins=10)
case("MelSpectrogram", (None,), fft_length=64, sequence_stride=16, num_mel_bins=10, window=None)
case("MelSpectrogram", (100,), 64, 16, 32, "hamming", 8000, 20, power_to_db=False)
case("STFTSpectrogram", (1000, 1), window=None)
case("STFTSpectrogram", (100, 2), frame_length=64, frame_step=16, window=None)
case("STFTSpectrogram", (100, 2), "stft", 64, 16, window=None)
case("STFTSpectrogram", (100, 2), "real", 64, 16, window=None, expand_dims=True)
case("STFTSpectrogram", (2, 100), "imag", 64, 16, window=None, padding="same", data_format="channels_first")
case(
    "STFTSpectrogram",
    (2, 100),
    frame_length=64,
    frame_step=16,
    window=None,
    expand_dims=True,
    data_format="channels_first",
)
case("STFTSpectrogram", (100, 1), frame_length=60, fft_length=128, window=None, mode="psd")
case("STFTSpectrogram", (None, 3), frame_length=64, window=None, mode="angle", scaling=None)


# -- refusals: ShapeError here, and Keras refuses too ---------------------------------------------

bad("EinsumDense", (5, 8), "abc,cd->abd", 64)
bad("EinsumDense", (5, 8), "abc,cd->abd", (6, 64))
bad("EinsumDense", (8,), "ab,bc->ca", 4)
bad("EinsumDense", (8,), "abc,cd->abd", (5, 64))
bad("EinsumDense", (5, 8), "ab,bc->ac", 4)
bad("EinsumDense", (8,), "ab,ac->bc", 4)
bad("EinsumDense", (8, 7), "abb,bc->ac", 4)
bad("EinsumDense", (8,), "aab,bc->ac", 4)
bad("EinsumDense", (5, 8), "abc,cd->abd", (None, 64), bias_axes="b")
bad("EinsumDense", (None, 8), "abc,cd->abd", (5, 64), bias_axes="bd")
bad("EinsumDense", (8,), "ab,b->a", (), kernel_initializer="orthogonal")
bad("SpectralNormalization", (None,), C("Dense", 4))
bad("SpectralNormalization", (8, 8), C("Conv2D", 4, 3))
bad("LSTMCell", (5, 3), 4)
bad("GRUCell", (5, 3), 4)
bad("SimpleRNNCell", (5, 3), 4)
bad("StackedRNNCells", (5, 3), [C("GRUCell", 4)])
bad("RNN", (5,), C("LSTMCell", 4))
bad("RNN", (5, None), C("GRUCell", 4))
bad("ConvLSTM2D", (4, 2, 6, 3), 2, 3)
bad("ConvLSTM2D", (4, None, 6, 3), 2, 3)
bad("ConvLSTM2D", (5, 6, 3), 2, 3)
bad("ConvLSTM1D", (4, 6, None), 2, 3)
bad("GroupQueryAttention", [(5, 8), (6, 6)], 4, 4, 2)
bad("GroupQueryAttention", [(5, 8), (None, 8), (6, 8)], 4, 4, 2)
bad("GroupQueryAttention", [(5, None), (6, None)], 4, 4, 2)
bad("GroupQueryAttention", [(2, 5, 8), (2, 6, 8)], 4, 4, 2)
bad("MelSpectrogram", (32,), fft_length=64, sequence_stride=16)
bad("MelSpectrogram", (100, 2), fft_length=64, sequence_stride=16)
bad("STFTSpectrogram", (32, 1), frame_length=64, window=None)
bad("STFTSpectrogram", (100, None), frame_length=64, window=None)
bad("STFTSpectrogram", (100,), frame_length=64, window=None)


# Refused by the catalog because Keras refuses them as well (at construction or build).
KERAS_REFUSES: list = [
    ("AdaptiveMaxPooling2D", ((2, 2, 2),), {}),
    ("ActivityRegularization", (-0.1,), {}),
    ("EinsumDense", ("ab,bc->ad", 4), {}),
    ("EinsumDense", ("ab,bce->ac", 4), {}),
    ("EinsumDense", ("ab,bc->ac", 4), {"bias_axes": "d"}),
    ("EinsumDense", ("abc,cd->abd", (3, 4)), {"bias_axes": ""}),
    ("EinsumDense", ("abc,cd->abd", (3, 4)), {"lora_rank": 2, "kernel_constraint": "non_neg"}),
    ("ReversibleEmbedding", (0, 4), {}),
    ("SpectralNormalization", (C("SeparableConv2D", 4, 3),), {}),
    ("SpectralNormalization", (C("LSTM", 4),), {}),
    ("SpectralNormalization", (C("Dense", 4),), {"power_iterations": 0}),
    ("RNN", (C("LSTM", 4),), {}),
    ("RNN", ([],), {}),
    ("RNN", (C("LSTMCell", 4),), {"stateful": True}),
    ("RNN", (C("LSTMCell", 0),), {}),
    ("ConvLSTM2D", (4, 3), {"strides": 2, "dilation_rate": 2}),
    ("ConvLSTM1D", (4, 3), {"padding": "causal"}),
    ("GroupQueryAttention", (4, 4, 3), {}),
    ("GroupQueryAttention", (4, 4, 2), {"sliding_window": 0}),
    ("MelSpectrogram", (), {"fft_length": 64, "sequence_length": 128}),
    ("STFTSpectrogram", (), {"frame_step": 300, "window": None}),
    ("STFTSpectrogram", (), {"fft_length": 128, "window": None}),
    ("STFTSpectrogram", ("log", 1), {"window": None}),
    ("STFTSpectrogram", ("sound",), {"window": None}),
    # The default window="hann" needs SciPy, which tfspec does not install: without it Keras cannot
    # make the layer (this case fails, rightly, once SciPy is a dependency and the refusal is lifted).
    ("STFTSpectrogram", (), {}),
]
