"""Parsing: text -> Lark tree, with friendly syntax errors."""

from __future__ import annotations

from functools import lru_cache

from lark import Lark, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from ..diagnostics import Diagnostic, Span, SpecError
from .fast import GRAMMAR_PLACES, grammar_path  # noqa: F401 (where the grammar is)
from .source import check_nesting


@lru_cache(maxsize=1)
def parser() -> Lark:
    return Lark.open(
        grammar_path(), parser="lalr", lexer="contextual", propagate_positions=True, maybe_placeholders=True, cache=True
    )


def parse(text: str, path: str, nesting_checked: bool = False) -> Tree:
    """Parse spec text; raise SpecError with a positioned, friendly message on bad syntax."""
    if not nesting_checked:
        check_nesting(text, path)
    try:
        tree = parser().parse(text)
    except UnexpectedInput as exc:
        raise SpecError([syntax_diagnostic(exc, text, path)], text) from None
    if not tree.children:  # nothing but whitespace and comments
        raise SpecError(
            [
                Diagnostic(
                    "E102",
                    "the spec is empty" if not text.strip() else "the spec holds only comments",
                    Span(path, 1, 1),
                    "a spec holds a `model Name { ... }`, and optionally blocks and a `train` section",
                )
            ],
            text,
        )
    return tree


def parse_slow(text: str, path: str, shorter: str | None = None) -> tuple:
    """(spec, spans) of a text that the fast parser (tfspec.frontend.fast) was unsure of:
    Lark's parse and the normaliser, with their diagnostics. `shorter` (from fast.attempt) is
    the text with complete statements blanked out: Lark finds the first syntax error there as
    in `text` (same state, line and column), without parsing a megabyte first."""
    from .normalise import normalise

    check_nesting(text, path)
    if shorter is not None and shorter is not text:
        try:
            parser().parse(shorter)
        except UnexpectedInput as exc:
            raise SpecError([syntax_diagnostic(exc, text, path)], text) from None
        # no error: Lark reads the whole text (a form the fast parser does not know)
    return normalise(parse(text, path, nesting_checked=True), path, text)


TOKEN_WORDS = {
    "NAME": "a name",
    "INT": "an integer",
    "FLOAT": "a number",
    "STRING": "a string",
    "LPAR": "'('",
    "RPAR": "')'",
    "LSQB": "'['",
    "RSQB": "']'",
    "LBRACE": "'{'",
    "RBRACE": "'}'",
    "COMMA": "','",
    "COLON": "':'",
    "EQUAL": "'='",
    "STAR": "'*'",
    "_ARROW": "'->'",
    "MODEL": "'model'",
    "BLOCK": "'block'",
    "TRAIN": "'train'",
    "INPUT": "'input'",
    "OUTPUT": "'output'",
    "LAYER": "'layer'",
    "ADD_LOSS": "'add_loss'",
    "NONE": "'None'",
    "TRUE": "'True'",
    "FALSE": "'False'",
    "IF": "'if'",
    "_ELSE": "'else'",
    "AND": "'and'",
    "OR": "'or'",
    "NOT": "'not'",
    "COMPARE": "a comparison",
    "PLUS": "'+'",
    "MINUS": "'-'",
    "SLASH": "'/'",
    "PERCENT": "'%'",
    "DOT": "'.'",
    "_INDEX": "an index '['",
    "$END": "end of file",
}


def token_word(name: str) -> str:
    """How a message names terminal `name`: TOKEN_WORDS, or the text of a literal that Lark
    names itself (`__ANON_0` is '//')."""
    word = TOKEN_WORDS.get(name)
    if word is not None:
        return word
    if name.startswith("__ANON"):
        try:
            pattern = parser().get_terminal(name).pattern
        except KeyError:  # pragma: no cover - the names come from Lark, which knows them
            return name.lower()
        if pattern.type == "str":
            return f"'{pattern.value}'"
    return name.lower()


def describe_expected(expected) -> str:
    words = sorted({token_word(name) for name in expected})
    if len(words) > 6:
        return ""
    return " or ".join(words)


def syntax_diagnostic(exc: UnexpectedInput, text: str, path: str) -> Diagnostic:
    line = getattr(exc, "line", 1) or 1
    column = getattr(exc, "column", 1) or 1
    if isinstance(exc, UnexpectedCharacters):
        char = text[exc.pos_in_stream] if exc.pos_in_stream < len(text) else ""
        span = Span(path, line, column, line, column + 1)
        if char in "\"'":
            return Diagnostic("E103", "unterminated string", span, "close the string on the same line")
        if not char.isascii():
            return Diagnostic(
                "E101",
                f"unexpected character {char!r}",
                span,
                "names are ASCII letters, digits and '_'; non-ASCII text belongs in strings",
            )
        return Diagnostic("E101", f"unexpected character {char!r}", span)
    if isinstance(exc, UnexpectedEOF) or (isinstance(exc, UnexpectedToken) and exc.token.type == "$END"):
        lines = text.rstrip().split("\n")  # lines as the parser counts them
        end = Span(path, len(lines), len(lines[-1]) + 1)
        hint = "a '{' is not closed" if text.count("{") > text.count("}") else None
        return Diagnostic("E102", "unexpected end of file", end, hint)
    assert isinstance(exc, UnexpectedToken)
    token = exc.token
    span = Span(
        path,
        line,
        column,
        getattr(token, "end_line", line) or line,
        getattr(token, "end_column", column + len(str(token))) or column + 1,
    )
    label = match_example(exc, parser().parse, examples())
    shown = str(token) if len(str(token)) <= 40 else str(token)[:40] + "..."
    message = f"unexpected {shown!r}"
    expected = describe_expected(exc.accepts or exc.expected)
    if expected:
        message += f"; expected {expected}"
    if label:
        return Diagnostic("E100", message, span, label)
    return Diagnostic("E100", message, span)


def match_example(exc, parse, labelled: dict):
    """The label of the example error that `exc` matches: one whose parse fails in the same parser
    state with the same expected tokens, the same token first. What Lark's
    UnexpectedInput.match_examples(use_accepts=True) does; Lark 1.3.1's own raises a TypeError
    (a debug message formats its ParserState with %d) whenever the expected tokens differ."""
    candidate = None
    for label, malformed in labelled.items():
        for text in malformed:
            try:
                parse(text)
            except UnexpectedInput as other:
                if other.state != exc.state:
                    continue
                if isinstance(other, UnexpectedToken) and other.accepts != exc.accepts:
                    continue
                if isinstance(other, (UnexpectedToken, UnexpectedEOF)) and other.token == exc.token:
                    return label
                if candidate is None:
                    candidate = label
    return candidate


# Where a snippet's statements may also stand: the LALR state of an error (which match_example
# compares, with the depth of the parser's stack) differs between a model's body, a block's (with
# no parameter, one, or more) and the branch of an `if`.
BODIES = ("block B() {", "block B(n) {", "block B(n, m) {", "model M { if c {")


@lru_cache(maxsize=1)
def examples() -> dict:
    """EXAMPLES, each snippet of a model's body also in the other BODIES, and every snippet also
    after a leading block: the LALR state of an error (which match_example compares) differs
    between the first top-level item and the ones after it."""
    prelude = "block Prelude(n) { input p p -> Dense(n) -> q output q }\n"
    out = {}
    for label, snippets in EXAMPLES.items():
        texts = list(snippets)
        for snippet in snippets:
            if snippet.startswith("model M {"):
                texts += [body + snippet[len("model M {") :] for body in BODIES]
        out[label] = texts + [prelude + s for s in texts]
    return out


# A catalogue of typical mistakes (Lark's match_examples): the hint shown when a
# syntax error happens in the same parser state as one of these snippets.
EXAMPLES = {
    "a chain goes from a tensor through layers: `x -> Dense(10) -> y`": [
        "model M { input x: [4] Dense(10) }",
        "model M { input x: [4] x Dense(10) -> y }",
        "model M { input x: [4] [x, x] Add() -> y }",
    ],
    'arguments are separated by commas: `Conv2D(32, 3, padding="same")`': [
        "model M { input x: [4] x -> Dense(10 20) -> y }",
        'model M { input x: [4] x -> Dense(units=10 activation="relu") -> y }',
    ],
    "a layer is written as a call, with parentheses: `Flatten()`": [
        "model M { input x: [4] x -> Flatten -> Dense(10) -> y }",
    ],
    "keyword arguments use '=': `Dense(10, activation=\"relu\")`": [
        'model M { input x: [4] x -> Dense(10, activation: "relu") -> y }',
    ],
    "an input needs a shape, e.g. `input image: float32[28, 28, 1]`": [
        "model M { input x: float32 }",
        "model M { input x: float32( }",
    ],
    "the top level holds `model`, `block` and `train` sections": [
        "x -> Dense(10) -> y",
        "Dense(10)",
        "input x: [4]",
    ],
    "training settings are `name = value` lines: `epochs = 5`": [
        "train { epochs 5 }",
        "train { epochs: 5 }",
    ],
    "a chain ends with the name of its result: `x -> Dense(10) -> y`": [
        "model M { input x: [4] x -> Dense(10) -> }",
    ],
    "an index is glued to what it indexes: `x[0]`; after a space `[` starts a list of tensors, "
    "as in `[a, b] -> Add() -> c`": [
        "model M { input x: [4] y = x [0] output y }",
        "model M { input x: [4] y = x [:, 0] output y }",
        "model M { input x: [4] y = x [i] + 1 output y }",
    ],
    "`else` is followed by a branch in braces or by another `if`: `if c { ... } else { ... }`": [
        "model M { input x: [4] if x { x -> Dense(1) -> y } else output y }",
        "model M { input x: [4] if x { x -> Dense(1) -> y } else }",
        "model M { input x: [4] if x { x -> Dense(1) -> y } else x -> Dense(2) -> y }",
    ],
    "the statements of an `if` go in braces: `if c { ... } else { ... }`": [
        "model M { input x: [4] if x x -> Dense(1) -> y }",
        "model M { input x: [4] if x: x -> Dense(1) -> y }",
        "model M { input x: [4] if x == 1 then { x -> Dense(1) -> y } }",
    ],
    "names on the left of '=' are an assignment, `out, h, c = LSTM(8, return_state=True)(x)`; "
    "a chain names its results at its end: `x -> LSTM(8, return_state=True) -> out, h, c`": [
        "model M { input x: [4] a, b -> Dense(1) -> y }",
    ],
    "the names a chain yields are separated by commas, with none after the last: `-> out, h, c`": [
        "model M { input x: [4] x -> LSTM(8, return_state=True) -> out, h, }",
        "model M { input x: [4] x -> LSTM(8, return_state=True) -> out, h, -> Dense(1) -> y }",
    ],
    "comparisons do not chain: write `a < b and b < c`": [
        "model M { input x: [4] y = 1 < x < 3 }",
        "model M { input x: [4] y = x == 1 == 2 }",
    ],
    "add_loss names tensors of this body: compute the term first, as in "
    "`kl = -0.5 * sum(1 + v - square(m) - exp(v), axis=1)`, then `add_loss kl`": [
        "model M { input x: [4] add_loss 0.5 * x }",
        "model M { input x: [4] add_loss -x }",
        "model M { input x: [4] add_loss(x) }",
        "model M { input x: [4] add_loss x * 2 }",
        "model M { input x: [4] add_loss mean(x) }",
        "model M { input x: [4] add_loss x[0] }",
    ],
}
