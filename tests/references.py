"""Hand-written Keras 3 models for the example architectures of the v2 language (issue 11).

Each function builds, with no arguments, the model that one spec of specs/ describes, written the
way its source writes it (keras.io examples, keras.applications), so that a compiled spec can be
checked against it: same parameter count, same outputs once the weights are copied across. They
are written here by hand, not generated, because a reference produced by tfspec would only check
tfspec against itself. Seeds are not fixed: the weights are copied, never compared as drawn.

Sizes are fixed; the parameter counts in PARAMS are measured on Keras 3.15 (tests/test_references.py
checks them, and the seq2seq count against the one keras.io prints).
"""

from __future__ import annotations

import keras
from keras import layers, ops

# Trainable + non-trainable weights of each reference, as Keras 3.15 counts them.
PARAMS = {
    "seq2seq": 718_173,
    "transformer_classifier": 657_758,
    "mobilenetv3_block": 11_064,
    "siamese": 173_345,
    "inverted_residual": 25_664,
    "masked_transformer": 326_369,
    "vae": 134_165,  # keras.io prints 69,076 for the encoder and 65,089 for the decoder
}


# -- seq2seq: keras.io "Character-level recurrent sequence-to-sequence model" ------------------

ENCODER_TOKENS = 71  # distinct characters of the English side of the fra-eng pairs
DECODER_TOKENS = 93  # ... of the French side, with the start and end marks
LATENT = 256


def seq2seq() -> keras.Model:
    """An LSTM encoder whose final (h, c) start an LSTM decoder; teacher forcing on one-hot text."""
    encoder_inputs = keras.Input(shape=(None, ENCODER_TOKENS), name="encoder_inputs")
    _, state_h, state_c = layers.LSTM(LATENT, return_state=True, name="encoder")(encoder_inputs)

    decoder_inputs = keras.Input(shape=(None, DECODER_TOKENS), name="decoder_inputs")
    decoder_seq, _, _ = layers.LSTM(LATENT, return_sequences=True, return_state=True, name="decoder")(
        decoder_inputs, initial_state=[state_h, state_c]
    )
    decoder_outputs = layers.Dense(DECODER_TOKENS, activation="softmax", name="next_char")(decoder_seq)
    return keras.Model([encoder_inputs, decoder_inputs], decoder_outputs, name="seq2seq")


# -- transformer_classifier: keras.io "Text classification with Transformer" -------------------

MAXLEN = 200
VOCAB = 20_000
EMBED = 32
HEADS = 2
FF = 32


class TransformerBlock(layers.Layer):
    """Self-attention and a two-layer feed-forward net, each with dropout, a residual and a
    LayerNormalization after it (post-norm), as the keras.io example's subclassed layer."""

    def __init__(self, embed_dim, num_heads, ff_dim, rate=0.1, **kwargs):
        super().__init__(**kwargs)
        self.att = layers.MultiHeadAttention(num_heads=num_heads, key_dim=embed_dim)
        self.ffn = keras.Sequential([layers.Dense(ff_dim, activation="relu"), layers.Dense(embed_dim)])
        self.layernorm1 = layers.LayerNormalization(epsilon=1e-6)
        self.layernorm2 = layers.LayerNormalization(epsilon=1e-6)
        self.dropout1 = layers.Dropout(rate)
        self.dropout2 = layers.Dropout(rate)

    def call(self, inputs, training=None):
        attended = self.dropout1(self.att(inputs, inputs), training=training)
        mid = self.layernorm1(inputs + attended)
        fed = self.dropout2(self.ffn(mid), training=training)
        return self.layernorm2(mid + fed)


class TokenAndPositionEmbedding(layers.Layer):
    """Token embedding plus a learned embedding of each position 0..steps-1 (steps read from
    the input at run time), as the keras.io example's subclassed layer."""

    def __init__(self, maxlen, vocab_size, embed_dim, **kwargs):
        super().__init__(**kwargs)
        self.token_emb = layers.Embedding(input_dim=vocab_size, output_dim=embed_dim)
        self.pos_emb = layers.Embedding(input_dim=maxlen, output_dim=embed_dim)

    def call(self, x):
        steps = ops.shape(x)[-1]
        where = self.pos_emb(ops.arange(0, steps, 1))  # (steps, embed): broadcast over the batch
        return self.token_emb(x) + where


def transformer_classifier() -> keras.Model:
    """IMDB sentiment: 200 word ids -> one transformer block -> mean over steps -> 2 classes.

    keras.io declares `Input(shape=(maxlen,))` (float32, cast by the Embedding); int32 is used
    here, as the spec declares it: the same weights and outputs."""
    inputs = keras.Input(shape=(MAXLEN,), dtype="int32", name="tokens")
    x = TokenAndPositionEmbedding(MAXLEN, VOCAB, EMBED)(inputs)
    x = TransformerBlock(EMBED, HEADS, FF)(x)
    x = layers.GlobalAveragePooling1D()(x)
    x = layers.Dropout(0.1)(x)
    x = layers.Dense(20, activation="relu")(x)
    x = layers.Dropout(0.1)(x)
    outputs = layers.Dense(2, activation="softmax")(x)
    return keras.Model(inputs, outputs, name="transformer_classifier")


# -- mobilenetv3_block: one block of keras.applications.mobilenet_v3 ---------------------------


def depth(v, divisor=8, min_value=None):
    """MobileNet's channel rounding (mobilenet_v3._depth, mobilenet_v2._make_divisible): the
    nearest multiple of `divisor`, at least `min_value`, and never more than 10% below `v`."""
    if min_value is None:
        min_value = divisor
    rounded = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * v:
        rounded += divisor
    return rounded


def hard_sigmoid(x):
    """mobilenet_v3's gate: a ReLU(6) layer, then keras.ops arithmetic on the symbolic tensor
    (`+ 3.0` and `* (1.0 / 6.0)` are ops recorded in the graph, not layers; no weights)."""
    return layers.ReLU(6.0)(x + 3.0) * (1.0 / 6.0)


def hard_swish(x):
    """mobilenet_v3 applies Keras's own hard_swish activation through an Activation layer."""
    return layers.Activation("hard_swish")(x)


def squeeze_excite(x, filters, se_ratio):
    """Channel gates from the spatial mean: 1x1 conv down (relu), 1x1 conv up (hard sigmoid)."""
    s = layers.GlobalAveragePooling2D(keepdims=True)(x)
    s = layers.Conv2D(depth(filters * se_ratio), kernel_size=1, padding="same")(s)
    s = layers.ReLU()(s)
    s = layers.Conv2D(filters, kernel_size=1, padding="same")(s)
    s = hard_sigmoid(s)
    return layers.Multiply()([x, s])


def v3_block(x, expansion, filters, kernel_size, stride, se_ratio, activation):
    """mobilenet_v3._inverted_res_block for a block_id > 0 (the expansion is applied)."""
    shortcut = x
    infilters = x.shape[-1]
    x = layers.Conv2D(depth(infilters * expansion), kernel_size=1, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization(epsilon=1e-3, momentum=0.999)(x)
    x = activation(x)
    if stride == 2:
        x = layers.ZeroPadding2D(padding=correct_pad(x, kernel_size))(x)
    x = layers.DepthwiseConv2D(kernel_size, strides=stride, padding="same" if stride == 1 else "valid", use_bias=False)(
        x
    )
    x = layers.BatchNormalization(epsilon=1e-3, momentum=0.999)(x)
    x = activation(x)
    if se_ratio:
        x = squeeze_excite(x, depth(infilters * expansion), se_ratio)
    x = layers.Conv2D(filters, kernel_size=1, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization(epsilon=1e-3, momentum=0.999)(x)
    if stride == 1 and infilters == filters:
        x = layers.Add()([shortcut, x])
    return x


def mobilenetv3_block() -> keras.Model:
    """expansion 4, 24 filters, 3x3, stride 1, se_ratio 0.25, hard_swish on (16, 16, 24):
    widths 96 (expand) and 24 (squeeze), and the residual Add (stride 1, 24 in == 24 out)."""
    inputs = keras.Input(shape=(16, 16, 24), name="image")
    outputs = v3_block(inputs, 4, 24, 3, 1, 0.25, hard_swish)
    return keras.Model(inputs, outputs, name="mobilenetv3_block")


# -- siamese: two images, one shared encoder, |a - b| -> same class? ---------------------------


def siamese() -> keras.Model:
    """The encoder is one Model called on both inputs (shared weights), as keras.io's siamese
    examples build it; the distance is keras.ops arithmetic on the two embeddings."""
    image = keras.Input(shape=(28, 28, 1))
    h = layers.Conv2D(16, 3, activation="relu")(image)
    h = layers.MaxPooling2D()(h)
    h = layers.Flatten()(h)
    h = layers.Dense(64, activation="relu")(h)
    encoder = keras.Model(image, h, name="encoder")

    left = keras.Input(shape=(28, 28, 1), name="left")
    right = keras.Input(shape=(28, 28, 1), name="right")
    distance = ops.abs(encoder(left) - encoder(right))
    same = layers.Dense(1, activation="sigmoid", name="same")(distance)
    return keras.Model([left, right], same, name="siamese")


# -- inverted_residual: keras.applications.mobilenet_v2's block, three times -------------------


def correct_pad(x, kernel_size):
    """imagenet_utils.correct_pad: the zero padding before a stride-2 'valid' convolution that
    keeps its output at ceil(size / 2): one less row/column in front when the size is even."""
    height, width = x.shape[1:3]
    k = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    adjust = (1, 1) if height is None else (1 - height % 2, 1 - width % 2)
    return ((k[0] // 2 - adjust[0], k[0] // 2), (k[1] // 2 - adjust[1], k[1] // 2))


def v2_block(inputs, expansion, stride, filters):
    """mobilenet_v2._inverted_res_block with alpha 1 and block_id > 0: expand 1x1 (ReLU6),
    depthwise 3x3 (ReLU6), project 1x1 (linear); the residual only when the shape is kept."""
    in_channels = inputs.shape[-1]
    out_channels = depth(filters, 8)
    x = layers.Conv2D(expansion * in_channels, kernel_size=1, padding="same", use_bias=False)(inputs)
    x = layers.BatchNormalization(epsilon=1e-3, momentum=0.999)(x)
    x = layers.ReLU(6.0)(x)
    if stride == 2:
        x = layers.ZeroPadding2D(padding=correct_pad(x, 3))(x)
    x = layers.DepthwiseConv2D(
        kernel_size=3, strides=stride, use_bias=False, padding="same" if stride == 1 else "valid"
    )(x)
    x = layers.BatchNormalization(epsilon=1e-3, momentum=0.999)(x)
    x = layers.ReLU(6.0)(x)
    x = layers.Conv2D(out_channels, kernel_size=1, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization(epsilon=1e-3, momentum=0.999)(x)
    if in_channels == out_channels and stride == 1:
        return layers.Add()([inputs, x])
    return x


def inverted_residual() -> keras.Model:
    """(32, 32, 16) -> (6, 24, stride 2) -> (6, 24, 1: residual) -> (6, 32, 1: none) -> (16, 16, 32)."""
    inputs = keras.Input(shape=(32, 32, 16), name="image")
    x = v2_block(inputs, 6, 2, 24)
    x = v2_block(x, 6, 1, 24)
    outputs = v2_block(x, 6, 1, 32)
    return keras.Model(inputs, outputs, name="inverted_residual")


# -- masked_transformer: padded token ids -> self-attention that ignores the padding -----------

MASKED_VOCAB = 10000  # the words of specs/data/austen_speech.npz
MASKED_POSITIONS = 64
MASKED_EMBED = 32


def masked_transformer() -> keras.Model:
    """Variable-length ids (0 = padding) -> token + position embeddings -> one masked
    self-attention with a residual and LayerNormalization -> masked mean -> one probability.

    The padding mask is the token Embedding's own (`compute_mask`: ids != 0), handed on
    explicitly. Keras 3.15 would not carry it there by itself: `Add` drops the mask when one
    input (the position embedding) has none, and MultiHeadAttention clears the masks of the
    tensors it is given, so the residual and the pooling after it would average the padding in
    (see tfspec/ir/masks.py). The attention mask is the one Keras builds from a query and a
    value mask, (batch, query steps, key steps): true queries see the true keys only (the rows of
    padded queries are all False; the pooling drops them). The pooling averages the true steps."""
    tokens = keras.Input(shape=(None,), dtype="int32", name="tokens")
    token_embedding = layers.Embedding(MASKED_VOCAB, MASKED_EMBED, mask_zero=True)
    keep = token_embedding.compute_mask(tokens)  # (batch, steps) bool
    positions = ops.cumsum(ops.ones_like(tokens), axis=1) - 1  # 0, 1, ... per row, any length
    x = layers.Add()([token_embedding(tokens), layers.Embedding(MASKED_POSITIONS, MASKED_EMBED)(positions)])
    pairs = ops.logical_and(keep[:, :, None], keep[:, None, :])  # (batch, query steps, key steps)
    attended = layers.MultiHeadAttention(num_heads=2, key_dim=16)(x, x, attention_mask=pairs)
    x = layers.LayerNormalization()(layers.Add()([x, attended]))
    pooled = layers.GlobalAveragePooling1D()(x, mask=keep)
    outputs = layers.Dense(1, activation="sigmoid")(pooled)
    return keras.Model(tokens, outputs, name="masked_transformer")


# -- vae: keras.io "Variational AutoEncoder" (Sampling is the example plugin's class) --------------

LATENT_DIM = 2


def vae_parts() -> tuple:
    """(encoder, decoder) as the keras.io example writes them: the encoder yields z_mean,
    z_log_var and z; the decoder paints a 28x28x1 picture from z."""
    from tfspec_example.layers import Sampling

    encoder_inputs = keras.Input(shape=(28, 28, 1))
    x = layers.Conv2D(32, 3, activation="relu", strides=2, padding="same")(encoder_inputs)
    x = layers.Conv2D(64, 3, activation="relu", strides=2, padding="same")(x)
    x = layers.Flatten()(x)
    x = layers.Dense(16, activation="relu")(x)
    z_mean = layers.Dense(LATENT_DIM, name="z_mean")(x)
    z_log_var = layers.Dense(LATENT_DIM, name="z_log_var")(x)
    z = Sampling()([z_mean, z_log_var])
    encoder = keras.Model(encoder_inputs, [z_mean, z_log_var, z], name="encoder")

    latent_inputs = keras.Input(shape=(LATENT_DIM,))
    x = layers.Dense(7 * 7 * 64, activation="relu")(latent_inputs)
    x = layers.Reshape((7, 7, 64))(x)
    x = layers.Conv2DTranspose(64, 3, activation="relu", strides=2, padding="same")(x)
    x = layers.Conv2DTranspose(32, 3, activation="relu", strides=2, padding="same")(x)
    decoder_outputs = layers.Conv2DTranspose(1, 3, activation="sigmoid", padding="same")(x)
    decoder = keras.Model(latent_inputs, decoder_outputs, name="decoder")
    return encoder, decoder


def vae_kl(z_mean, z_log_var):
    """The example's KL term: -0.5 (1 + log s2 - m2 - s2), summed over the latent axis, averaged over the batch."""
    kl = -0.5 * (1 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var))
    return ops.mean(ops.sum(kl, axis=1))


REFERENCES = {
    "seq2seq": seq2seq,
    "transformer_classifier": transformer_classifier,
    "mobilenetv3_block": mobilenetv3_block,
    "siamese": siamese,
    "inverted_residual": inverted_residual,
    "masked_transformer": masked_transformer,
}
