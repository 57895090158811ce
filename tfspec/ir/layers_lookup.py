"""Catalog entries: StringLookup, IntegerLookup and TextVectorization (Keras 3.15's IndexLookup
family). Argument order and defaults follow their `__init__`s.

A lookup maps each token to its index in a vocabulary: the vocabulary is given inline (a list:
its size is known here) or learnt from the training data before training (`adapts`). An encoded
output (one_hot, multi_hot, count, tf_idf) has one entry per index, so its size is the
vocabulary's: without a vocabulary it is known only once learnt, and refused (E505) unless
`pad_to_max_tokens=True` fixes it at max_tokens. A vocabulary file would be read when the model
is built, which the compile path never does: refused, with the inline list as the way out.

Keras counts the special tokens first: the mask token (when given, and only in output_mode="int")
and num_oov_indices out-of-vocabulary tokens; a vocabulary that starts with exactly those has
them counted once. Its checks on the vocabulary (repeats, reserved tokens inside it, max_tokens)
are repeated here, so that the spec, not the build, reports them.
"""

from __future__ import annotations

from .catalog import (
    BOOL,
    MAX_SIZE,
    NONE,
    NONNEG_INT,
    POS_INT,
    STR,
    Arg,
    ShapeError,
    Type,
    choice,
    int_type,
    is_int,
    is_number,
    layer,
    one_of,
    unsupported,
)
from .dtypes import INTEGERS, refuse
from .layers_base import fmt
from .layers_preprocessing import LEARNT_SIZE, SALT, SPARSE, counted_shape, mode_of, one_hot_shape
from .values import show

MODES = choice("int", "one_hot", "multi_hot", "count", "tf_idf", "binary", "tf-idf", name="output mode")
MAX_TOKENS = one_of(NONE, int_type(minimum=2, maximum=MAX_SIZE, name="int ≥ 2"), name="int ≥ 2 or None")
INT64 = int_type(minimum=-(2**63), maximum=2**63 - 1, name="64-bit integer")
FILE_HINT = (
    "give the vocabulary inline as a list, e.g. vocabulary=[...], or leave it out: the runtime learns it "
    "from the training data before training"
)


def vocabulary_type(item: Type, what: str) -> Type:
    def test(v):
        if v is None:
            return None
        if isinstance(v, str):
            return f"a vocabulary file ({show(v)}) would be read when the model is built; a spec does not read files"
        if not isinstance(v, (list, tuple)):
            return f"expected a list of {what}, got {show(v)}"
        for token in v:
            if item.check(token):
                return f"expected a list of {what}, got {show(token)} in it"
        if not v:
            return "must not be empty"
        return None

    return Type(f"list of {what}", test, hint=lambda v: FILE_HINT if isinstance(v, str) else None)


def _idf(v):
    if v is None:
        return None
    if not isinstance(v, (list, tuple)) or not all(is_number(w) for w in v):
        return f"expected a list of numbers (one weight per vocabulary entry), got {show(v)}"
    return None


IDF = Type("list of numbers", _idf)


class Tokens:
    """The special tokens of a lookup with bound values `a`: the mask (counted in int mode only)
    and the OOV tokens, as Keras's IndexLookup counts them."""

    def __init__(self, a, mask, oov, num_oov):
        self.a, self.mask, self.oov, self.num_oov = a, mask, oov, num_oov
        self.int_mode = mode_of(a) == "int"
        self.oov_start = 1 if mask is not None and self.int_mode else 0
        self.start = self.oov_start + num_oov

    @property
    def special(self) -> list:
        return [self.mask] * self.oov_start + [self.oov] * self.num_oov

    def tokens(self) -> list:
        """The vocabulary without its leading special tokens, if it starts with exactly them."""
        vocabulary = list(self.a["vocabulary"])
        found = len(vocabulary) >= self.start and vocabulary[: self.start] == self.special
        return vocabulary[self.start :] if found else vocabulary

    def depth(self, kind) -> int:
        """The size of an encoded output (one entry per index)."""
        a = self.a
        if a["pad_to_max_tokens"]:
            return a["max_tokens"]
        if a["vocabulary"] is None:
            raise ShapeError(
                f"{kind}(output_mode={show(a['output_mode'])}) without a vocabulary has one output entry per "
                "vocabulary index: its size is known only once it has learnt its vocabulary from the training "
                "data, and the layers after it need it now",
                "give max_tokens=N and pad_to_max_tokens=True (N entries, the unused ones 0), "
                "or the vocabulary as a list",
                LEARNT_SIZE,
            )
        return self.start + len(self.tokens())


def lookup_check(kind, mask, oov, num_oov, invert):
    """The `check` of a lookup: Keras's refusals of argument combinations and of the vocabulary."""

    def check(a):
        mode = mode_of(a)
        if a["pad_to_max_tokens"] and a["max_tokens"] is None:
            return [("pad_to_max_tokens=True needs max_tokens", "e.g. max_tokens=10000", "pad_to_max_tokens")]
        if invert(a) and mode != "int":
            return [("invert=True maps indices back to tokens: it needs output_mode='int'", None, "invert")]
        if a["idf_weights"] is not None and mode != "tf_idf":
            return [("idf_weights go with output_mode='tf_idf' only", None, "idf_weights")]
        if a["vocabulary"] is None:
            if a["idf_weights"] is not None:
                return [
                    (
                        "idf_weights go with a vocabulary (one weight per entry)",
                        "give the vocabulary too, or neither: the runtime learns both from the training data",
                        "idf_weights",
                    )
                ]
            return []
        if mode == "tf_idf" and a["idf_weights"] is None:
            return [("output_mode='tf_idf' with a vocabulary needs idf_weights, one per entry", None, "vocabulary")]
        return vocabulary_problems(kind, a, Tokens(a, mask(a), oov(a), num_oov(a)), invert(a))

    return check


def vocabulary_problems(kind, a, special: Tokens, invert: bool) -> list:
    tokens = special.tokens()
    seen = set()
    for token in tokens:
        if token in seen:
            return [(f"the vocabulary lists {show(token)} twice", "list each token once", "vocabulary")]
        seen.add(token)
    reserved = [("mask", special.mask)] + ([("OOV", special.oov)] if invert else [])
    for what, token in reserved:
        if token is not None and token in seen:
            order = show(special.special) if special.special else "none"
            return [
                (
                    f"the vocabulary holds the {what} token {show(token)}, which {kind} adds itself",
                    f"leave it out, or start the vocabulary with exactly the special tokens ({order})",
                    "vocabulary",
                )
            ]
    size = special.start + len(tokens)
    if a["max_tokens"] is not None and size > a["max_tokens"]:
        return [
            (
                f"the vocabulary has {size} entries with its {special.start} special token(s), more than "
                f"max_tokens={a['max_tokens']}",
                f"max_tokens={size} or more",
                "max_tokens",
            )
        ]
    if a["idf_weights"] is not None and len(a["idf_weights"]) != len(a["vocabulary"]):
        return [
            (
                f"idf_weights has {len(a['idf_weights'])} weights for a vocabulary of {len(a['vocabulary'])}",
                "give one weight per vocabulary entry",
                "idf_weights",
            )
        ]
    return []


def lookup_shape(kind, mask, oov, num_oov):
    def rule(ins, a):
        (x,) = ins
        mode = mode_of(a)
        if mode == "int":
            return x
        depth = Tokens(a, mask(a), oov(a), num_oov(a)).depth(kind)
        if mode == "one_hot":
            return one_hot_shape(x, depth)
        return counted_shape(kind, x, depth, mode)

    return rule


def encoded_dtype(a) -> str:
    """What a lookup yields when the model runs: int64 indices and int64 one-hot / multi-hot /
    count encodings (Keras's symbolic dtype of the latter says float32), float32 for tf_idf."""
    return "float32" if mode_of(a) == "tf_idf" else "int64"


def adapts(a) -> bool:
    return a["vocabulary"] is None


STRING_TOKENS = (lambda a: a["mask_token"], lambda a: a["oov_token"], lambda a: a["num_oov_indices"])
STRINGS_HINT = "for integer categories use IntegerLookup; to map indices back to strings, StringLookup(invert=True)"


def string_lookup_dtype(ins, a):
    if a["invert"]:
        if any(d not in INTEGERS for d in ins):
            raise refuse("StringLookup(invert=True)", ins, 0, "integer indices", "it maps indices back to strings")
        return "string"
    if ins[0] != "string":
        raise refuse("StringLookup", ins, 0, "strings", STRINGS_HINT)
    return encoded_dtype(a)


layer(
    "StringLookup",
    args=(
        Arg("max_tokens", MAX_TOKENS),
        Arg("num_oov_indices", NONNEG_INT, 1),
        Arg("mask_token", one_of(NONE, STR)),
        Arg("oov_token", one_of(NONE, STR), "[UNK]"),
        Arg("vocabulary", vocabulary_type(STR, "strings")),
        Arg("idf_weights", IDF),
        Arg("invert", BOOL, False),
        Arg("output_mode", MODES, "int"),
        Arg("pad_to_max_tokens", BOOL, False),
        Arg("sparse", SPARSE, False),
        Arg("encoding", STR, "utf-8"),
    ),
    shape=lookup_shape("StringLookup", *STRING_TOKENS),
    check=lookup_check("StringLookup", *STRING_TOKENS, invert=lambda a: a["invert"]),
    dtype=string_lookup_dtype,
    adapts=adapts,
    doc="maps strings to indices in a vocabulary (int64), or to their one-hot / multi-hot / count / tf-idf "
    "encoding. Without a vocabulary it learns one from the training data before training.",
)


INTEGER_TOKENS = (lambda a: a["mask_token"], lambda a: a["oov_token"], lambda a: a["num_oov_indices"])


def integer_lookup_check(a):
    if a["salt"] is not None and a["oov_method"] != "farmhash":
        return [("salt is used only with oov_method='farmhash'", None, "salt")]
    return lookup_check("IntegerLookup", *INTEGER_TOKENS, invert=lambda a: a["invert"])(a)


def integer_lookup_dtype(ins, a):
    if a["invert"]:
        if any(d not in INTEGERS for d in ins):
            raise refuse("IntegerLookup(invert=True)", ins, 0, "integer indices", "it maps indices back to values")
        return "int64"
    if ins[0] == "string":
        raise refuse("IntegerLookup", ins, 0, "numbers", "for string categories use StringLookup")
    return encoded_dtype(a)


layer(
    "IntegerLookup",
    args=(
        Arg("max_tokens", MAX_TOKENS),
        Arg("num_oov_indices", NONNEG_INT, 1),
        Arg("mask_token", one_of(NONE, INT64)),
        Arg("oov_token", one_of(NONE, INT64), -1),
        Arg("vocabulary", vocabulary_type(INT64, "integers")),
        Arg("vocabulary_dtype", choice("int64", name="'int64'"), "int64"),
        Arg("idf_weights", IDF),
        Arg("invert", BOOL, False),
        Arg("output_mode", MODES, "int"),
        Arg("sparse", SPARSE, False),
        Arg("pad_to_max_tokens", BOOL, False),
        Arg("oov_method", choice("floormod", "farmhash", name="OOV method"), "floormod"),
        Arg("salt", SALT),
    ),
    shape=lookup_shape("IntegerLookup", *INTEGER_TOKENS),
    check=integer_lookup_check,
    dtype=integer_lookup_dtype,
    adapts=adapts,
    doc="maps integers to indices in a vocabulary (int64), or to their one-hot / multi-hot / count / tf-idf "
    "encoding. Without a vocabulary it learns one from the training data before training.",
)


# -- TextVectorization -------------------------------------------------------------------------------

# Its inner StringLookup has mask "" and OOV "[UNK]", one OOV index.
TEXT_TOKENS = (lambda a: "", lambda a: "[UNK]", lambda a: 1)


def _ngrams(v):
    if v is None:
        return None
    values = v if isinstance(v, tuple) else (v,)
    if isinstance(v, list) or not all(is_int(n) for n in values):
        return f"expected None, an integer or a tuple of integers, got {show(v)}"
    if any(n < 1 for n in values):
        return f"must be ≥ 1, got {show(v)}"
    return None


def text_check(a):
    if mode_of(a) != "int" and a["output_sequence_length"] is not None:
        return [
            (
                "output_sequence_length goes with output_mode='int' only",
                "leave it out: the other modes yield one vector per text",
                "output_sequence_length",
            )
        ]
    return lookup_check("TextVectorization", *TEXT_TOKENS, invert=lambda a: False)(a)


def text_shape(ins, a):
    (x,) = ins
    mode, length = mode_of(a), a["output_sequence_length"]
    special = Tokens(a, *(f(a) for f in TEXT_TOKENS))
    if a["split"] is not None:
        if x not in ((), (1,)):
            raise ShapeError(
                f"TextVectorization splits one string per sample into tokens: it takes samples of shape () "
                f"or (1,), got {fmt(x)}",
                "give the text as `input text: string[]` (one string a sample); for tokens already split, split=None",
            )
        if mode == "int":
            return (length,)
        if x == (1,):
            raise ShapeError(
                f"TextVectorization(output_mode={show(a['output_mode'])}) on samples of shape (1,): Keras's static "
                "shape keeps the axis of 1, what it computes does not",
                "give the text as `input text: string[]` (one string a sample)",
            )
        depth = special.depth("TextVectorization")
        return (None, depth) if mode == "one_hot" else (depth,)
    if len(x) != 1:
        raise ShapeError(
            f"TextVectorization with split=None takes the tokens of each sample (rank 1), got shape {fmt(x)}",
            "give each sample its tokens (`input tokens: string[None]`), or one string per sample with "
            "split='whitespace'",
        )
    if mode == "int":
        return (length,)
    depth = special.depth("TextVectorization")
    if mode == "one_hot":
        if a["ngrams"] is not None:
            raise ShapeError(
                "TextVectorization(output_mode='one_hot', split=None) with ngrams: the n-grams change the "
                "number of tokens, which Keras's static shape does not follow",
                "use output_mode='multi_hot' or 'count' with ngrams",
            )
        return one_hot_shape(x, depth)
    return (depth,)


def text_dtype(ins, a):
    if ins[0] != "string":
        raise refuse(
            "TextVectorization", ins, 0, "strings", "it splits text into tokens; for integer tokens use IntegerLookup"
        )
    return encoded_dtype(a)


layer(
    "TextVectorization",
    args=(
        Arg("max_tokens", MAX_TOKENS),
        Arg(
            "standardize",
            one_of(NONE, choice("lower_and_strip_punctuation", "lower", "strip_punctuation"), name="standardize"),
            "lower_and_strip_punctuation",
        ),
        Arg("split", one_of(NONE, choice("whitespace", "character"), name="split"), "whitespace"),
        Arg("ngrams", Type("None, int or tuple of ints", _ngrams)),
        Arg("output_mode", MODES, "int"),
        Arg("output_sequence_length", one_of(NONE, POS_INT)),
        Arg("pad_to_max_tokens", BOOL, False),
        Arg("vocabulary", vocabulary_type(STR, "strings")),
        Arg("idf_weights", IDF),
        Arg("sparse", SPARSE, False),
        Arg(
            "ragged",
            unsupported(
                False,
                "ragged outputs are not modelled; give output_sequence_length= for a fixed length, or leave "
                "it out for the longest text of each batch",
            ),
            False,
        ),
        Arg("encoding", STR, "utf-8"),
    ),
    shape=text_shape,
    check=text_check,
    dtype=text_dtype,
    adapts=adapts,
    doc="splits each text into tokens and maps them to vocabulary indices (int64; index 0 is padding, 1 the "
    "unknown token), or to one-hot / multi-hot / count / tf-idf vectors. Without a vocabulary it learns one "
    "from the training data before training.",
)
