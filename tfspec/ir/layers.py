"""The layer catalog: one entry per Keras layer kind.

Each entry gives the Keras class (same name under `keras.layers`), its arguments in
Keras's positional order (type, default, required), the static output-shape rule
and the parameter-count rule. tests/test_catalog.py builds every entry in real Keras
(3.15) and compares. Importing this module registers every entry; the entries live in:

    layers_core   Dense, Flatten, Dropout & noise, activations, Reshape/Permute, Embedding, normalisation
    layers_conv   convolutions, pooling, padding, cropping, upsampling
    layers_seq    SimpleRNN/LSTM/GRU, Bidirectional, TimeDistributed, attention
    layers_merge  Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate, Dot
    layers_image  image preprocessing and augmentation (Resizing, CenterCrop, Random*)
    layers_preprocessing  Normalization, lookups, hashing, TextVectorization
    layers_more   the rest: adaptive pooling, EinsumDense, ConvLSTM, RNN cells, spectrograms
    layers_applications  helpers Keras keeps inside keras.applications (LayerScale, CustomScaleLayer)

Shared shape helpers are in layers_base (re-exported here: fmt, need_rank, ...).
"""

from __future__ import annotations

from . import (  # noqa: F401  (register the entries)
    layers_applications,
    layers_conv,
    layers_core,
    layers_image,
    layers_merge,
    layers_more,
    layers_preprocessing,
    layers_seq,
)
from .layers_base import (  # noqa: F401  (public helpers)
    conv_length,
    fmt,
    last_dim,
    need_min_rank,
    need_rank,
    put_spatial,
    spatial,
    tuple_of,
)
