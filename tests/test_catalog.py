"""The layer catalog against real Keras 3.

Every catalog entry is built in Keras from the same arguments, called on `keras.Input`s, and
its output shape and (trainable, non-trainable) parameter counts are compared with the
catalog's static rules, for several argument combinations per layer. The argument lists are
compared with the `__init__` signatures, the ShapeErrors with Keras's own refusals, and
`bind`'s errors are checked. Only the catalog modules of tfspec are used.
"""

from __future__ import annotations

import inspect
import math
import os

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
np = pytest.importorskip("numpy")
keras = pytest.importorskip("keras")

import tfspec.ir.layers  # noqa: E402,F401  (registers the catalog)
from tfspec.ir.catalog import (  # noqa: E402
    ALIASES,
    BASE_ARGS,
    CONSTRAINTS,
    INITIALIZERS,
    REGISTRY,
    REGULARIZERS,
    ShapeError,
    bind,
    lookup,
)
from tfspec.ir.dtypes import layer_dtype  # noqa: E402
from tfspec.ir.values import Call, Ref, show  # noqa: E402
from tfspec.tools.importer.arguments import layer_class  # noqa: E402

from . import catalog_applications, catalog_image, catalog_more, catalog_preprocessing  # noqa: E402


def C(name, *args, **kwargs):
    """A nested call value, as the IR holds `L2(1e-4)` or `LSTM(8)`."""
    return Call(name, tuple(args), tuple(kwargs.items()))


# -- building the Keras twin ---------------------------------------------------------------------


def to_keras(value):
    if isinstance(value, Call):
        args = [to_keras(v) for v in value.args]
        kwargs = {k: to_keras(v) for k, v in value.kwargs}
        if lookup(value.name) is not None:
            return layer_class(keras, value.name)(*args, **kwargs)
        for module, known in (
            (keras.initializers, INITIALIZERS),
            (keras.regularizers, REGULARIZERS),
            (keras.constraints, CONSTRAINTS),
        ):
            if value.name in known:
                return getattr(module, value.name)(*args, **kwargs)
        raise AssertionError(f"no Keras object for {value.name}")
    if isinstance(value, tuple):
        return tuple(to_keras(v) for v in value)
    if isinstance(value, list):
        return [to_keras(v) for v in value]
    return value


def keras_layer(name, args, kwargs):
    return layer_class(keras, name)(*[to_keras(a) for a in args], **{k: to_keras(v) for k, v in kwargs.items()})


def apply(name, layer, inputs, **call_kwargs):
    if lookup(name).positional_inputs:  # layer(query, value, key)
        return layer(*inputs, **call_kwargs)
    if lookup(name).inputs == (1, 1):
        return layer(inputs[0], **call_kwargs)
    return layer(list(inputs), **call_kwargs)


def count(weights):
    return sum(math.prod(w.shape) for w in weights)


def typed(entry):
    """An input of a case: a shape (float32), or a (shape, dtype) pair such as ((), "string")."""
    if len(entry) == 2 and isinstance(entry[1], str):
        return tuple(entry[0]), entry[1]
    return tuple(entry), "float32"


def plain_shapes(shapes):
    return [typed(s)[0] for s in shapes]


def sample_data(entry, batch=2):
    shape, dtype = typed(entry)
    dims = (batch, *[d or 3 for d in shape])
    if dtype == "string":
        return np.random.choice(np.array(["a", "b c", "d"], dtype=object), size=dims)
    if dtype.startswith("int"):
        return np.random.randint(0, 3, size=dims).astype(dtype)
    return np.random.rand(*dims).astype(dtype)


def keras_result(name, args, kwargs, shapes):
    layer = keras_layer(name, args, kwargs)
    out = apply(name, layer, [keras.Input(shape=s, dtype=d) for s, d in map(typed, shapes)])
    return tuple(out.shape[1:]), (count(layer.trainable_weights), count(layer.non_trainable_weights))


def ours(name, args, kwargs, shapes):
    definition = lookup(name)
    bound = bind(definition, tuple(args), tuple(kwargs.items()))
    assert not bound.errors, bound.errors
    out = tuple(definition.shape(plain_shapes(shapes), bound.values))
    return out, tuple(definition.params(plain_shapes(shapes), bound.values, out))


# -- the cases: (layer, input shapes, args, kwargs) ----------------------------------------------

CASES = []


def case(name, shapes, *args, **kwargs):
    shapes = [shapes] if isinstance(shapes, tuple) else shapes
    CASES.append((name, shapes, args, kwargs))


# core
case("Dense", (8,), 4)
case("Dense", (5, 8), 3, activation="relu", use_bias=False)
case("Dense", (None, 8), 2, kernel_regularizer=C("L2", 1e-4), kernel_initializer=C("HeNormal", seed=1))
case("Dense", (2, 3, 4), 5, "tanh", True, "zeros", bias_initializer="ones")
case("Dense", (8,), 4, lora_rank=2)
case("Dense", (8,), 4, trainable=False)
case("Dense", (6,), 3, kernel_constraint=C("MaxNorm", 2.0), bias_regularizer="l1l2")
case("Dense", (6,), 3, kernel_initializer="GlorotUniform", kernel_regularizer="L2", kernel_constraint="non_neg")
case("Dense", (6,), 3, kernel_initializer="normal", bias_initializer=C("Constant", 0.1), activation="hard_tanh")
case("Flatten", (4, 5))
case("Flatten", (None, 5))
case("Flatten", ())
case("Flatten", (3, 4, 2), data_format="channels_first")
case("Identity", (3,))
case("Identity", (None, 4, 2))
case("Masking", (5, 3), mask_value=-1.0)
case("Masking", (None, 3))
case("Rescaling", (4, 4, 3), 1 / 255)
case("Rescaling", (7,), 2.0, offset=-1.0)
# regularisation
case("Dropout", (8,), 0.5)
case("Dropout", (5, 8), 0.2, noise_shape=(None, 1, 8))
case("Dropout", (None, 4), 0.0, None, 3)
case("AlphaDropout", (6,), 0.1)
case("AlphaDropout", (5, 6), 0.1, noise_shape=(None, 1, 6), seed=2)
case("GaussianDropout", (6,), 0.3)
case("GaussianDropout", (2, 3), 0.3, 1)
case("GaussianNoise", (6,), 0.1)
case("GaussianNoise", (None, 6), 1.0, seed=4)
case("SpatialDropout1D", (5, 4), 0.2)
case("SpatialDropout1D", (None, 4), 0.2, 7)
case("SpatialDropout2D", (6, 6, 3), 0.2, data_format="channels_first")
case("SpatialDropout2D", (6, 6, 3), 0.2)
case("SpatialDropout3D", (2, 3, 4, 5), 0.1)
case("SpatialDropout3D", (2, 3, 4, 5), 0.1, "channels_first", 1)
# activations
case("Activation", (4,), "relu")
case("Activation", (3, 5), "softmax")
case("Activation", (3,), "sparsemax")
case("ReLU", (4,), 6.0)
case("ReLU", (4, 2), negative_slope=0.1, threshold=0.5)
case("LeakyReLU", (4,))
case("LeakyReLU", (4,), 0.1)
case("ELU", (4,))
case("ELU", (4, 3), alpha=0.5)
case("PReLU", (4, 5))
case("PReLU", (None, 5), shared_axes=(1,))
case("PReLU", (6, 6, 3), shared_axes=(1, 2), alpha_regularizer=C("L2", 0.01))
case("PReLU", (6, 3), shared_axes=2, alpha_initializer="ones")
case("Softmax", (4,))
case("Softmax", (3, 4), axis=1)
case("Softmax", (3, 4, 5), axis=(1, 2))
# reshaping
case("Reshape", (12,), (3, 4))
case("Reshape", (3, 4), (-1, 2))
case("Reshape", (None, 4), (-1, 2, 2))
case("Reshape", (2, 3, 4), (6, -1))
case("Permute", (3, 4), (2, 1))
case("Permute", (2, 3, 4), (3, 1, 2))
case("Permute", (None, 4), (2, 1))
case("RepeatVector", (4,), 3)
case("RepeatVector", (None,), 2)
# embedding
case("Embedding", (10,), 100, 8)
case("Embedding", (None,), 50, 4, mask_zero=True)
case("Embedding", (), 20, 3)
case("Embedding", (3, 4), 20, 3, embeddings_initializer=C("RandomNormal", stddev=0.1))
case("Embedding", (5,), 20, 6, lora_rank=2)
# normalisation
case("BatchNormalization", (8,))
case("BatchNormalization", (4, 4, 3), axis=1)
case("BatchNormalization", (4, 4, 3), center=False)
case("BatchNormalization", (None, 5), scale=False, momentum=0.9)
case("BatchNormalization", (6,), renorm=True, renorm_clipping={"rmax": 3.0, "rmin": 0.5})
case("BatchNormalization", (6,), trainable=False)
case("LayerNormalization", (8,))
case("LayerNormalization", (3, 4, 5), axis=(1, 2))
case("LayerNormalization", (3, 4), axis=-2, center=False)
case("LayerNormalization", (None, 4), scale=False, epsilon=1e-5)
case("GroupNormalization", (8, 8, 16), groups=4)
case("GroupNormalization", (5, 6), -1)
case("GroupNormalization", (4, 6, 6), 2, 1, center=False)
case("UnitNormalization", (5,))
case("UnitNormalization", (3, 4), axis=(1, 2))
case("RMSNormalization", (6,))
case("RMSNormalization", (3, 4), axis=(1, 2), epsilon=1e-5)
case("RMSNormalization", (3, 4), axis=(-2, -1))
# convolution
case("Conv1D", (10, 3), 4, 3)
case("Conv1D", (10, 3), 4, 3, strides=2, padding="same")
case("Conv1D", (10, 3), 4, 3, padding="causal", dilation_rate=2)
case("Conv1D", (3, 10), 4, 3, data_format="channels_first")
case("Conv1D", (10, 3), 6, 3, groups=3, use_bias=False)
case("Conv1D", (None, 3), 4, 5, 2)
case("Conv2D", (8, 8, 3), 4, 3)
case("Conv2D", (8, 8, 3), 4, 3, strides=2, padding="same")
case("Conv2D", (7, 7, 4), 4, (3, 1), (2, 1))
case("Conv2D", (9, 9, 4), 4, 3, dilation_rate=2)
case("Conv2D", (3, 8, 8), 4, 3, data_format="channels_first")
case("Conv2D", (8, 8, 4), 4, 3, groups=2, activation="relu")
case("Conv2D", (None, None, 3), 4, 3, use_bias=False)
case("Conv2D", (9, 9, 3), 2, 4, strides=3, kernel_regularizer=C("L1L2", l1=0.01, l2=0.01))
case("Conv3D", (6, 6, 6, 2), 3, 3)
case("Conv3D", (6, 6, 6, 2), 3, 3, strides=2, padding="same")
case("Conv3D", (2, 6, 6, 6), 3, (1, 2, 3), data_format="channels_first")
case("Conv1DTranspose", (5, 3), 4, 3)
case("Conv1DTranspose", (5, 3), 4, 3, strides=2)
case("Conv1DTranspose", (5, 3), 4, 3, strides=2, padding="same")
case("Conv1DTranspose", (5, 3), 4, 3, strides=2, output_padding=1)
case("Conv1DTranspose", (5, 3), 4, 3, dilation_rate=2)
case("Conv1DTranspose", (3, 5), 4, 2, data_format="channels_first")
case("Conv1DTranspose", (None, 3), 4, 3, 2, "same", 1)
case("Conv2DTranspose", (4, 4, 3), 2, 3, strides=2)
case("Conv2DTranspose", (4, 4, 3), 2, 3, strides=2, padding="same")
case("Conv2DTranspose", (4, 4, 3), 2, 3, strides=2, padding="same", output_padding=(1, 0))
case("Conv2DTranspose", (4, 4, 3), 2, 2, strides=3)
case("Conv2DTranspose", (4, 5, 3), 2, (2, 3), dilation_rate=2, use_bias=False)
case("Conv3DTranspose", (3, 3, 3, 2), 2, 3)
case("Conv3DTranspose", (3, 3, 3, 2), 2, 3, strides=2, padding="same", output_padding=1)
case("Conv3DTranspose", (2, 3, 3, 3), 2, 2, 2, "valid", "channels_first")
case("SeparableConv1D", (10, 3), 4, 3)
case("SeparableConv1D", (10, 3), 4, 3, strides=2, padding="same", depth_multiplier=2)
case("SeparableConv1D", (3, 10), 4, 3, data_format="channels_first", use_bias=False)
case("SeparableConv2D", (8, 8, 3), 4, 3)
case("SeparableConv2D", (8, 8, 3), 4, 3, depth_multiplier=2, dilation_rate=2)
case("SeparableConv2D", (None, 8, 3), 4, (1, 3), use_bias=False, padding="same")
case("DepthwiseConv1D", (10, 3), 3)
case("DepthwiseConv1D", (10, 3), 3, depth_multiplier=2)
case("DepthwiseConv1D", (10, 3), 3, 2, "same")
case("DepthwiseConv2D", (8, 8, 3), 3)
case("DepthwiseConv2D", (8, 8, 3), 3, depth_multiplier=2, use_bias=False)
case("DepthwiseConv2D", (3, 8, 8), 3, data_format="channels_first")
case("DepthwiseConv2D", (8, 8, 3), (3, 1), 2, "same")
# pooling
for _op in ("Max", "Average"):
    _default = () if _op == "Max" else (2,)
    case(f"{_op}Pooling1D", (10, 3), *_default)
    case(f"{_op}Pooling1D", (10, 3), 3, 2)
    case(f"{_op}Pooling1D", (9, 3), 2, padding="same")
    case(f"{_op}Pooling1D", (3, 10), 2, data_format="channels_first")
    case(f"{_op}Pooling1D", (None, 3), 2)
    case(f"{_op}Pooling2D", (8, 8, 3), *_default)
    case(f"{_op}Pooling2D", (8, 8, 3), (3, 3), strides=1)
    case(f"{_op}Pooling2D", (7, 7, 3), 2, 2, "same")
    case(f"{_op}Pooling2D", (3, 8, 7), (2, 3), data_format="channels_first")
    case(f"{_op}Pooling2D", (8, None, None), 2)
    case(f"{_op}Pooling3D", (4, 4, 4, 2), *_default)
    case(f"{_op}Pooling3D", (5, 5, 5, 2), 2, padding="same")
    case(f"{_op}Pooling3D", (2, 4, 6, 6), (1, 2, 3), data_format="channels_first")
    for _rank, _shape in ((1, (10, 3)), (2, (8, 8, 3)), (3, (4, 4, 4, 2))):
        case(f"Global{_op}Pooling{_rank}D", _shape)
        case(f"Global{_op}Pooling{_rank}D", _shape, keepdims=True)
        case(f"Global{_op}Pooling{_rank}D", _shape, "channels_first", True)
        case(f"Global{_op}Pooling{_rank}D", (None,) * _rank + (3,))
# padding, cropping, upsampling
case("ZeroPadding1D", (10, 3))
case("ZeroPadding1D", (10, 3), (1, 2))
case("ZeroPadding1D", (3, 10), 2, data_format="channels_first")
case("ZeroPadding1D", (None, 3), 2)
case("ZeroPadding2D", (8, 8, 3))
case("ZeroPadding2D", (8, 8, 3), 2)
case("ZeroPadding2D", (8, 8, 3), ((1, 2), (3, 4)))
case("ZeroPadding2D", (3, 8, 8), (1, 2), "channels_first")
case("ZeroPadding3D", (4, 4, 4, 2))
case("ZeroPadding3D", (4, 4, 4, 2), ((1, 0), (0, 1), (2, 2)))
case("ZeroPadding3D", (2, 4, 4, 4), 1, "channels_first")
case("Cropping1D", (10, 3))
case("Cropping1D", (10, 3), (2, 0))
case("Cropping1D", (None, 3), 1)
case("Cropping2D", (8, 8, 3))
case("Cropping2D", (8, 8, 3), ((1, 2), (0, 1)))
case("Cropping2D", (8, 8, 3), 1)
case("Cropping2D", (3, 8, 6), (2, 1), data_format="channels_first")
case("Cropping3D", (6, 6, 6, 2))
case("Cropping3D", (6, 6, 6, 2), ((1, 0), 1, (0, 0)))
case("Cropping3D", (2, 6, 6, 6), 2, "channels_first")
case("UpSampling1D", (5, 3))
case("UpSampling1D", (None, 3), 3)
case("UpSampling2D", (4, 4, 3))
case("UpSampling2D", (4, 4, 3), (2, 3), interpolation="bilinear")
case("UpSampling2D", (3, 4, 4), 2, "channels_first")
case("UpSampling3D", (2, 3, 4, 2))
case("UpSampling3D", (2, 2, 3, 4), (1, 2, 3), data_format="channels_first")
# recurrent
case("SimpleRNN", (5, 3), 4)
case("SimpleRNN", (5, 3), 4, return_sequences=True)
case("SimpleRNN", (None, 3), 4, use_bias=False, go_backwards=True, seed=1)
case("LSTM", (5, 3), 4)
case("LSTM", (5, 3), 4, return_sequences=True, unit_forget_bias=False)
case("LSTM", (None, 3), 4, use_bias=False, dropout=0.1, recurrent_dropout=0.1)
case("LSTM", (5, 3), 2, unroll=True, use_cudnn=False)
case("GRU", (5, 3), 4)
case("GRU", (5, 3), 4, reset_after=False)
case("GRU", (5, 3), 4, use_bias=False)
case("GRU", (None, 3), 4, return_sequences=True, reset_after=False, use_bias=False)
# wrappers
case("Bidirectional", (5, 3), C("LSTM", 4))
case("Bidirectional", (5, 3), C("LSTM", 4), merge_mode="sum")
case("Bidirectional", (None, 3), C("GRU", 3, return_sequences=True))
case("Bidirectional", (5, 3), C("SimpleRNN", 2), "ave")
case("Bidirectional", (5, 3), C("GRU", 2, reset_after=False), "mul")
case("Bidirectional", (5, 3), C("LSTM", 4, trainable=False))
case("Bidirectional", (5, 3), C("LSTM", 4), trainable=False)
case("TimeDistributed", (5, 3), C("Dense", 4))
case("TimeDistributed", (4, 8, 8, 3), C("Conv2D", 2, 3))
case("TimeDistributed", (None, 2, 3), C("Flatten"))
case("TimeDistributed", (3, 6, 2), C("MaxPooling1D"))
case("TimeDistributed", (3, 5, 4), C("Bidirectional", C("LSTM", 2)))
case("TimeDistributed", (6, 4), C("BatchNormalization"))
# merges
for _kind in ("Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"):
    case(_kind, [(4,), (4,)])
    case(_kind, [(5, 3), (3,)])
    case(_kind, [(1, 3), (5, 1)])
    case(_kind, [(None, 3), (5, 3)])
    if _kind != "Subtract":
        case(_kind, [(2, 4), (2, 4), (1, 4)])
case("Concatenate", [(4,), (6,)])
case("Concatenate", [(3, 4), (5, 4)], axis=1)
case("Concatenate", [(3, 4), (5, 4)], -2)
case("Concatenate", [(None, 4), (3, 4)], axis=1)
case("Concatenate", [(None, 4), (3, 2)])
case("Concatenate", [(2, 3), (2, 4), (2, 5)])
case("Dot", [(4,), (4,)], 1)
case("Dot", [(3, 4), (3, 5)], (1, 1))
case("Dot", [(3, 4), (5, 4)], -1)
case("Dot", [(3, 4), (4, 5)], (2, 1), normalize=True)
case("Dot", [(None, 4), (None, 4)], 1)
# attention
case("Attention", [(5, 4), (6, 4)])
case("Attention", [(5, 4), (6, 3), (6, 4)])
case("Attention", [(5, 4), (6, 4)], use_scale=True)
case("Attention", [(5, 4), (6, 4)], True, "concat", 0.1)
case("Attention", [(None, 4), (None, 4)])
case("AdditiveAttention", [(5, 4), (6, 4)])
case("AdditiveAttention", [(5, 4), (6, 4)], use_scale=False)
case("AdditiveAttention", [(5, 4), (6, 3), (6, 4)], dropout=0.1)
case("MultiHeadAttention", [(5, 8), (6, 8)], 2, 4)
case("MultiHeadAttention", [(5, 8), (6, 3), (6, 5)], 2, 4)
case("MultiHeadAttention", [(5, 8), (6, 8)], 2, 4, value_dim=3, output_shape=7)
case("MultiHeadAttention", [(5, 8), (6, 8)], 3, 2, use_bias=False)
case("MultiHeadAttention", [(5, 8), (6, 8)], 2, 4, use_gate=True, output_shape=(2, 3))
case("MultiHeadAttention", [(2, 5, 8), (2, 6, 8)], 2, 4, attention_axes=(2,))
case("MultiHeadAttention", [(None, 8), (None, 6)], 1, 4, dropout=0.1, sliding_window=2)


# The entries of the newer catalog modules keep their cases beside them (tests/catalog_<module>.py).
for _group in (catalog_applications, catalog_image, catalog_more, catalog_preprocessing):
    CASES.extend(_group.CASES)


def case_id(item):
    name, shapes, args, kwargs = item
    inner = ", ".join([show(a) for a in args] + [f"{k}={show(v)}" for k, v in kwargs.items()])
    return f"{name}({inner})@{'+'.join(str(s) for s in shapes)}"


@pytest.mark.parametrize("name,shapes,args,kwargs", CASES, ids=[case_id(c) for c in CASES])
def test_shape_and_params_match_keras(name, shapes, args, kwargs):
    shape, params = ours(name, args, kwargs, shapes)
    keras_shape, keras_params = keras_result(name, args, kwargs, shapes)
    assert shape == keras_shape, f"shape: catalog {shape}, Keras {keras_shape}"
    assert params == keras_params, f"params: catalog {params}, Keras {keras_params}"


def keras_dtype(name, args, kwargs, shapes):
    """The dtype of what the Keras layer yields on sample data, adapted first when it learns from
    data; its symbolic dtype when the sample data does not fit (a None size filled with 3)."""
    layer = keras_layer(name, args, kwargs)
    data = [sample_data(s) for s in shapes]
    definition = lookup(name)
    learns = definition.adapts(bind(definition, tuple(args), tuple(kwargs.items())).values)
    try:
        if learns:
            layer.adapt(data[0])
        out = apply(name, layer, data, **({"training": False} if definition.training else {}))
    except Exception:  # noqa: BLE001 - any Keras or TensorFlow error: the data does not fit
        assert not learns, "a layer that learns from data must run here"
        symbolic = [keras.Input(shape=s, dtype=d) for s, d in map(typed, shapes)]
        out = apply(name, keras_layer(name, args, kwargs), symbolic)
    out = out[0] if isinstance(out, (list, tuple)) else out
    return keras.backend.standardize_dtype(out.dtype)


@pytest.mark.parametrize("name,shapes,args,kwargs", CASES, ids=[case_id(c) for c in CASES])
def test_output_dtype_matches_keras(name, shapes, args, kwargs):
    """The dtype rules (tfspec.ir.dtypes) against what Keras yields when the layer runs: its
    symbolic dtype differs for a few (StringLookup(output_mode="one_hot") says float32, yields int64)."""
    definition = lookup(name)
    bound = bind(definition, tuple(args), tuple(kwargs.items()))
    ours = layer_dtype(definition, [typed(s)[1] for s in shapes], bound.values)
    assert ours == keras_dtype(name, args, kwargs, shapes)


def test_every_entry_has_cases():
    counts = {name: 0 for name, definition in REGISTRY.items() if definition.plugin is None}
    for name, _, args, kwargs in CASES:
        counts[name] += 1
        for cell in catalog_more.cell_uses(args, kwargs):  # cells are compared inside RNN(...)
            counts[cell] += 1
    thin = sorted(name for name, n in counts.items() if n < 2)
    assert not thin, f"entries with fewer than 2 Keras comparisons: {thin}"


# -- the argument lists against the Keras signatures -----------------------------------------------


def own_args(definition):
    return [a for a in definition.args if a not in BASE_ARGS]


def signature(name):
    params = list(inspect.signature(layer_class(keras, name).__init__).parameters.values())[1:]
    return [p for p in params if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)], any(
        p.kind == p.VAR_KEYWORD for p in params
    )


def plain(value):
    if isinstance(value, (list, tuple)):
        return tuple(plain(v) for v in value)
    return value


IGNORES_TRAINING = {"Dense"}


@pytest.mark.parametrize("name", sorted(n for n, d in REGISTRY.items() if d.plugin is None))
def test_arguments_match_signature(name):
    assert REGISTRY[name].module is not None or hasattr(keras.layers, name), f"keras.layers has no {name}"
    definition = REGISTRY[name]
    params, var_kw = signature(name)
    mine = own_args(definition)
    # positional binding must agree: the catalog's own arguments are a prefix of Keras's
    assert [a.name for a in mine] == [p.name for p in params[: len(mine)]]
    for a, p in zip(mine, params, strict=False):
        assert a.required == (p.default is inspect.Parameter.empty), a.name
        if not a.required:
            assert plain(a.default) == plain(p.default), f"{a.name}: catalog {a.default!r}, Keras {p.default!r}"
    for a in definition.args:
        if a in BASE_ARGS:
            assert var_kw or a.name in [p.name for p in params], f"{name} does not take {a.name}"
    call = layer_class(keras, name).call
    takes = "training" in inspect.signature(call).parameters
    if name in IGNORES_TRAINING:  # it takes `training` only to ignore it: not worth passing
        assert takes and inspect.getsource(call).count("training") == 1 and not definition.training
    else:
        assert definition.training == takes, "training flag differs from Keras's call()"


def test_aliases_are_keras_aliases():
    for alias, target in ALIASES.items():
        assert getattr(keras.layers, alias) is getattr(keras.layers, target), alias


# -- refusals: ShapeError here, and Keras refuses too ------------------------------------------

BAD = []


def bad(name, shapes, *args, **kwargs):
    shapes = [shapes] if isinstance(shapes, tuple) else shapes
    BAD.append((name, shapes, args, kwargs))


bad("Conv2D", (28, 28), 4, 3)
bad("Conv2D", (2, 2, 3), 4, 3)
bad("Conv2D", (8, 8, 3), 4, 3, groups=2)
bad("Conv2D", (8, 8, None), 4, 3)
bad("Conv1D", (8, 3), 2, 3, dilation_rate=4)
bad("Conv2DTranspose", (4, 4), 2, 3)
bad("DepthwiseConv2D", (8, 8, None), 3)
bad("SeparableConv1D", (2, 3), 2, 3)
bad("Dense", (3, None), 4)
bad("Dense", (), 4)
bad("Add", [(32,), (64,)])
bad("Subtract", [(3, 4), (4, 3)])
bad("Multiply", [(2, 3), (3, 3, 3)])
bad("Concatenate", [(3, 4), (5, 6)])
bad("Concatenate", [(3, 4), (3,)])
bad("Concatenate", [(3, 4), (3, 4)], axis=3)
bad("Dot", [(3,), (4,)], 1)
bad("Dot", [(None,), (4,)], 1)
bad("Dot", [(3, 4), (3, 4)], 3)
bad("MaxPooling2D", (2, 2, 3), 3)
bad("AveragePooling1D", (2, 3), 3)
bad("GlobalAveragePooling2D", (5, 3))
bad("Cropping1D", (4, 3), (2, 2))
bad("Cropping2D", (4, 4, 3), ((2, 2), (0, 0)))
bad("ZeroPadding2D", (4, 4), 1)
bad("UpSampling2D", (5, 3))
bad("Reshape", (3, 4), (5,))
bad("Reshape", (3, 4), (-1, 5))
bad("Permute", (3, 4, 5), (2, 1))
bad("RepeatVector", (3, 4), 2)
bad("LSTM", (5,), 4)
bad("GRU", (5, None), 4)
bad("SimpleRNN", (2, 3, 4), 4)
bad("BatchNormalization", (None,))
bad("LayerNormalization", (4, 5), axis=3)
bad("LayerNormalization", (4,), axis=(1, -1))
bad("RMSNormalization", (4, 2), axis=1)
bad("GroupNormalization", (8,), groups=3)
bad("GroupNormalization", (4,), groups=8)
bad("Softmax", (4, 5), axis=3)
bad("PReLU", (None, 4))
bad("SpatialDropout1D", (5,), 0.1)
bad("Dropout", (5, 8), 0.5, noise_shape=(None, 2, 8))
bad("Attention", [(5, 4), (6, 3)])
bad("Attention", [(5, 4), (6, 4), (7, 4)])
bad("MultiHeadAttention", [(5, 8), (6, 8), (7, 8)], 2, 4)
bad("MultiHeadAttention", [(2, 5, 8), (6, 8)], 2, 4)
bad("MultiHeadAttention", [(5, None), (6, 8)], 2, 4)
bad("TimeDistributed", (5,), C("Dense", 3))
bad("TimeDistributed", (4, 8, 8), C("Conv2D", 2, 3))
bad("Bidirectional", (5,), C("LSTM", 3))


for _group in (catalog_applications, catalog_image, catalog_more, catalog_preprocessing):
    BAD.extend(_group.BAD)


def eager_refuses(name, args, kwargs, shapes):
    layer = keras_layer(name, args, kwargs)
    data = [sample_data(s) for s in shapes]
    call_kwargs = {"training": True} if lookup(name).training else {}
    try:
        apply(name, layer, data, **call_kwargs)
    except Exception:
        return True
    return False


@pytest.mark.parametrize("name,shapes,args,kwargs", BAD, ids=[case_id(c) for c in BAD])
def test_shape_errors_are_keras_errors(name, shapes, args, kwargs):
    with pytest.raises(ShapeError) as info:
        definition = lookup(name)
        bound = bind(definition, args, tuple(kwargs.items()))
        assert not bound.errors, bound.errors
        out = definition.shape(plain_shapes(shapes), bound.values)
        definition.params(plain_shapes(shapes), bound.values, out)
    assert info.value.message and name in info.value.message
    try:
        keras_result(name, args, kwargs, shapes)
    except Exception:
        return  # Keras refuses to build it
    assert eager_refuses(name, args, kwargs, shapes), "Keras accepts what the catalog refuses"


def test_shape_error_messages():
    definition = lookup("Add")
    with pytest.raises(ShapeError) as info:
        definition.shape([(32,), (64,)], bind(definition, (), ()).values)
    assert info.value.message == "Add needs inputs of equal shape, got (32,) and (64,)"
    conv = lookup("Conv2D")
    with pytest.raises(ShapeError) as info:
        conv.shape([(28, 28)], bind(conv, (8, 3), ()).values)
    assert "rank 3" in info.value.message and "(28, 28)" in info.value.message
    assert "channels axis" in info.value.hint


# -- bind: argument errors -----------------------------------------------------------------------


def errors(name, *args, **kwargs):
    return bind(lookup(name), args, tuple(kwargs.items())).errors


def test_unknown_argument_did_you_mean():
    ((_, message, hint, where),) = errors("Dense", 8, activaton="relu")
    assert message == "Dense has no argument 'activaton'"
    assert hint == "did you mean 'activation'?"
    assert where == ("kwargs", "activaton")


def test_too_many_positionals():
    ((_, message, hint, where),) = errors("Dropout", 0.5, None, 1, 2)
    assert message == "Dropout takes at most 3 positional arguments, got 4"
    assert where == ("args", 3)


def test_missing_required():
    ((_, message, hint, _),) = errors("Dense")
    assert message == "Dense needs the argument 'units'"
    assert errors("AveragePooling2D")[0].message == "AveragePooling2D needs the argument 'pool_size'"


def test_each_argument_error_carries_its_code():
    assert [e.code for e in errors("Dense", 8, activaton="relu")] == ["E402"]
    assert [e.code for e in errors("Dense", 8, units=4)] == ["E402"]
    assert [e.code for e in errors("Dense")] == ["E403"]
    assert [e.code for e in errors("Dense", 0)] == ["E405"]
    assert [e.code for e in errors("Dense", "eight")] == ["E404"]
    assert [e.code for e in errors("Dropout", 0.5, None, 1, 2)] == ["E406"]


def test_given_twice():
    assert "given twice" in errors("Dense", 8, units=4)[0].message


@pytest.mark.parametrize(
    "call,expected",
    [
        (("Dense", (), {"units": 0}), "Dense: units must be ≥ 1, got 0"),
        (("Dense", (0,), {}), "Dense: units must be ≥ 1, got 0"),
        (("Dense", ("8",), {}), "Dense: units: expected an integer"),
        (("Dense", (True,), {}), "Dense: units: expected an integer"),
        (("Dropout", (), {"rate": 1.0}), "Dropout: rate must be < 1, got 1.0"),
        (("Dropout", (-0.1,), {}), "Dropout: rate must be ≥ 0"),
        (("Dense", (8,), {"activation": "rellu"}), "Dense: activation: expected"),
        (("Conv2D", (8, (3, 3, 3)), {}), "expected an integer or 2 integers"),
        (("Conv2D", (8, 3), {"padding": "causal"}), "padding: expected one of"),
        (("Dense", (8,), {"kernel_regularizer": C("L3", 0.1)}), "unknown regularizer 'L3'"),
        (("Dense", (8,), {"kernel_regularizer": C("L2", l3=0.1)}), "L2 has no argument 'l3'"),
        (("Dense", (8,), {"kernel_regularizer": "l1_l2"}), "did you mean 'l1l2'?"),
        (("LSTM", (8,), {"stateful": True}), "stateful: True is not supported"),
        (("GRU", (8,), {"use_cudnn": True}), "use_cudnn: True is not supported"),
        (("Bidirectional", (C("LSTM", 8),), {"merge_mode": None}), "merge_mode: None is not supported"),
        (("Bidirectional", (C("LSTM", 8),), {"merge_mode": "avg"}), "merge_mode: expected one of"),
        (("Bidirectional", (C("Dense", 8),), {}), "expected one of SimpleRNN, LSTM, GRU"),
        (("Bidirectional", (C("LSTM", unitz=8),), {}), "in LSTM(...): LSTM has no argument 'unitz'"),
        (("Bidirectional", (C("LSTM", 8, go_backwards=True),), {}), "must not set go_backwards"),
        (("TimeDistributed", (C("Add"),), {}), "Add takes several inputs"),
        (("TimeDistributed", (C("Dens", 3),), {}), "did you mean 'Dense'?"),
        (("TimeDistributed", (3,), {}), "expected a layer call"),
        (("Concatenate", (), {"axis": 0}), "axis=0 is the batch axis"),
        (("Conv2D", (8, 3), {"strides": 2, "dilation_rate": 2}), "strides > 1 together with dilation_rate > 1"),
        (("Conv2DTranspose", (8, 3), {"strides": 2, "output_padding": 2}), "must be smaller than strides"),
        (("Conv1D", (4, 3), {"groups": 3}), "filters=4 must be divisible by groups=3"),
        (("Reshape", ((-1, -1),), {}), "at most one -1"),
        (("Permute", ((1, 3),), {}), "permutation of 1..2"),
        (("Dense", (8,), {"lora_rank": 2, "kernel_constraint": "non_neg"}), "lora_rank cannot be combined"),
        (("GaussianNoise", (2.0,), {}), "stddev must be ≤ 1"),
        (("MultiHeadAttention", (2, 4), {"flash_attention": True}), "flash_attention: True is not supported"),
        (("MultiHeadAttention", (2, 4), {"attention_axes": ()}), "attends over no axis"),
        (("Embedding", (10, 4), {"weights": [1, 2]}), "weights: [1, 2] is not supported"),
        (("Cropping1D", (), {"data_format": "channels_last"}), "Cropping1D has no argument 'data_format'"),
        (("SpatialDropout1D", (0.1,), {"trainable": False}), "SpatialDropout1D has no argument 'trainable'"),
        (("BatchNormalization", (), {"axis": (1, 2)}), "axis: expected an integer"),
        (("ZeroPadding2D", ((1, 2, 3),), {}), "expected an integer or 2 entries"),
    ],
)
def test_argument_errors(call, expected):
    name, args, kwargs = call
    found = errors(name, *args, **kwargs)
    assert found, f"{name} accepted {args} {kwargs}"
    assert any(expected in e.message for e in found), found


# Refused by the catalog because Keras refuses them as well (at construction or build).
KERAS_REFUSES = [
    ("Dense", (0,), {}),
    ("Conv2D", (8, 3), {"strides": 2, "dilation_rate": 2}),
    ("Conv2DTranspose", (8, 3), {"strides": 2, "output_padding": 2}),
    ("Conv1D", (4, 3), {"groups": 3}),
    ("SeparableConv1D", (4, 3), {"padding": "causal"}),
    ("DepthwiseConv2D", (3,), {"padding": "causal"}),
    ("Reshape", ((-1, -1),), {}),
    ("Permute", ((1, 3),), {}),
    ("GroupNormalization", (0,), {}),
    ("GaussianNoise", (2.0,), {}),
    ("ReLU", (), {"threshold": -1.0}),
    ("LeakyReLU", (-0.1,), {}),
    ("Embedding", (0, 4), {}),
    ("MultiHeadAttention", (0, 4), {}),
    ("Dot", ((1, 2, 3),), {}),
    ("BatchNormalization", (), {"axis": (1, 2)}),
    ("Cropping1D", (), {"data_format": "channels_last"}),
    ("SpatialDropout1D", (0.1,), {"trainable": False}),
    ("Dense", (8,), {"lora_rank": 2, "kernel_constraint": "non_neg"}),
    ("Bidirectional", (C("LSTM", 8, go_backwards=True),), {}),
    ("Bidirectional", (C("Dense", 8),), {}),
    ("AveragePooling2D", (), {}),
]


for _group in (catalog_applications, catalog_image, catalog_more, catalog_preprocessing):
    KERAS_REFUSES.extend(_group.KERAS_REFUSES)


@pytest.mark.parametrize("name,args,kwargs", KERAS_REFUSES, ids=[case_id((n, (), a, k)) for n, a, k in KERAS_REFUSES])
def test_argument_errors_are_keras_errors(name, args, kwargs):
    assert errors(name, *args, **kwargs), "the catalog accepts it"
    shape = {"Bidirectional": (5, 3), "LSTM": (5, 3)}.get(name, (8, 8, 3) if "2D" in name else (8, 3))
    with pytest.raises(Exception):  # noqa: B017  (any Keras error will do)
        keras_result(name, args, kwargs, [shape])


def test_block_parameters_are_not_checked_until_bound():
    assert not errors("Dense", Ref("units"))
    assert not errors("Conv2D", 8, (Ref("k"), Ref("k")), strides=Ref("s"))
    assert not errors("Bidirectional", C("LSTM", Ref("n")))
    assert not errors("Dense", 8, kernel_regularizer=C("L2", Ref("decay")))


def test_nested_values_accepted():
    assert not errors(
        "Dense",
        8,
        kernel_initializer="GlorotUniform",
        kernel_regularizer="L2",
        kernel_constraint=C("MinMaxNorm", 0.0, 1.0, axis=0),
    )
    assert not errors("TimeDistributed", C("Conv2D", 4, 3, padding="same"))
    assert not errors("Embedding", 10, 4, embeddings_initializer="uniform")


def test_frozen_layers_count_as_non_trainable():
    definition = lookup("Dense")
    bound = bind(definition, (4,), (("trainable", False),))
    assert definition.params([(8,)], bound.values, (4,)) == (0, 36)


# -- the value vocabularies: every name the catalog accepts resolves in Keras ------------------------


def test_activation_names_resolve_and_keep_the_shape():
    from tfspec.ir.catalog import ACTIVATIONS

    x = np.random.rand(2, 3, 4).astype("float32")
    for name in ACTIVATIONS:
        assert tuple(keras.activations.get(name)(x).shape) == (2, 3, 4), name


def test_object_names_resolve():
    from tfspec.ir.catalog import CONSTRAINT, INITIALIZER, INITIALIZER_NAMES, REGULARIZER

    for name in INITIALIZER_NAMES + tuple(INITIALIZERS):
        if name == "Constant":  # Keras cannot make it from its name alone
            assert INITIALIZER.check(name) is not None
            continue
        assert INITIALIZER.check(name) is None, name
        assert tuple(keras.initializers.get(name)((3, 3)).shape) == (3, 3), name
    for name in ("l1", "l2", "l1l2", "orthogonal_regularizer") + tuple(REGULARIZERS):
        assert REGULARIZER.check(name) is None and keras.regularizers.get(name) is not None, name
    for name in ("max_norm", "non_neg", "unit_norm", "min_max_norm") + tuple(CONSTRAINTS):
        assert CONSTRAINT.check(name) is None and keras.constraints.get(name) is not None, name


@pytest.mark.parametrize(
    "module,known", [("initializers", INITIALIZERS), ("regularizers", REGULARIZERS), ("constraints", CONSTRAINTS)]
)
def test_object_arguments_match_signatures(module, known):
    for name, allowed in known.items():
        params = [
            p.name
            for p in inspect.signature(getattr(getattr(keras, module), name).__init__).parameters.values()
            if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
        ][1:]
        assert list(allowed) == params[: len(allowed)], name
