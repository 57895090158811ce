"""The fast front end: spec text -> (spec dict, span table) in one pass, without Lark.

`tfspec.frontend.parser` (Lark, LALR) and `tfspec.frontend.normalise` stay the definition of
the language and of its syntax errors; this module is a faster road to the same result for
the texts it is sure of. It tokenises with one regular-expression split (at C speed) and
parses by recursive descent straight into the normalised spec dict, keeping positions as
character offsets that become `Span`s only when asked for (`SpanTable`). On a 1 MiB spec that
is about six times faster than building and walking Lark's tree (0.3 s rather than 2 s), and
a small spec's check no longer imports Lark at all.

The contract, which tests/test_parser.py checks on the example specs, on thousands of texts
generated from every rule of the grammar (spaced, or glued together where they may be) and
on mutated specs:

* when `attempt` returns (spec, spans), Lark accepts the text and `normalise` of its tree
  gives an equal spec (keys in the same order), equal spans and the same diagnostics (E105,
  E106, E107, E302, E306, raised as SpecError);
* whenever it is unsure -- a syntax error, a character outside the tokens, brackets nested
  deeper than MAX_DEPTH, an empty spec, a corner of the lexer below -- it steps aside and the
  loader takes the Lark road (parser.parse_slow), which words every syntax error exactly as
  before. It hands over a shortened text (`shorten`) on which Lark meets that error as it
  would on the whole text.

Lark's contextual lexer decides what a piece of text is by the parser state, and an LALR
state is shared by every place that reaches it, so it accepts the union of what may follow
in any of them. What follows from it, and what this parser does:

* keywords: each place here knows the keywords it accepts (the statement words and `if` at
  the start of a statement, `not` and True/False/None where a value starts, `and`/`or` after
  a value, `else` after the braces of an `if`) and takes any other word as a name, as Lark
  does. Where Lark's shared states may make a keyword of a name (`and`, `or`, `else` starting
  a statement, a setting called `if` or `input`), and for a statement that starts with `not`,
  it steps aside. At the top level only the section words are known, so `modelM {` is
  `model M {`.
* signs: `-1` is one INT where a value starts (and in a shape, and after `*`), but `a -1` is
  `a - 1`: the sign is a token of its own here, joined to a number glued to it where a
  value starts.
* after the `*` of a step only INT is read, so `* 2e5 -> y` is the count 2 and a chain from
  `e5` (`* 2e5x`: 2 and `e5x`); after the `*` of a product, `2e5` is one FLOAT. The tokenizer
  cannot tell the two apart, so `tokens` splits every such number after a `*` (in one linear
  pass, as a step reads it) and notes where; the expression parser joins a noted pair back
  where it reads a number (`FastParser.number`), in place and in O(1).
* `[`: glued to a name, a number, a string, `)` or `]` it is an index (`x[0]`), otherwise it
  opens a list. A statement that starts with a glued `[` (`output y[a, b] -> Add() -> z`) is
  left to Lark, whose shared states read an index there after some statements and a list
  after others.

The grammar file's digest is checked (GRAMMAR_SHA256): after an edit of the grammar the fast
road is off until this module is brought up to date.
"""

from __future__ import annotations

import ast
import hashlib
import os
import re
import warnings
from bisect import bisect_right
from itertools import accumulate, islice

from ..diagnostics import Diagnostic, Span, SpecError
from .source import MAX_DEPTH

HERE = os.path.dirname(os.path.abspath(__file__))
GRAMMAR_PLACES = (
    os.path.join(HERE, "..", "grammar", "tfspec.lark"),  # inside an installed wheel
    os.path.join(HERE, "..", "..", "grammar", "tfspec.lark"),  # a source checkout
)
# The grammar this parser was written for. Another grammar (an edit not carried over here)
# turns the fast road off: everything goes through Lark, and tests/test_parser.py fails until
# this module and the digest are brought up to date.
GRAMMAR_SHA256 = "280684ac808869b530e6e80d11c429034a9ee95f9efd43a63f3cc7ead2038405"


def grammar_path() -> str:
    for place in GRAMMAR_PLACES:
        if os.path.exists(place):
            return os.path.normpath(place)
    raise RuntimeError("tfspec is installed without its grammar (tfspec.lark)")


def grammar_digest() -> str:
    """sha256 of the grammar file, its line breaks read as LF (a checkout may write CRLF)."""
    with open(grammar_path(), "rb") as handle:
        return hashlib.sha256(handle.read().replace(b"\r\n", b"\n")).hexdigest()


_ENABLED: list = []


def enabled() -> bool:
    """Whether the grammar is the one this parser knows (checked once)."""
    if not _ENABLED:
        try:
            _ENABLED.append(grammar_digest() == GRAMMAR_SHA256)
        except (OSError, RuntimeError):
            _ENABLED.append(False)
    return _ENABLED[0]


# The terminals of grammar/tfspec.lark, in the order Lark's lexer tries them (FLOAT before INT,
# `->` before `-`, `//` before `/`; a comment is a token here and is dropped after the split).
# A number's sign is a token of its own (see the module docstring).
_FLOAT = r"[0-9]+[eE][+-]?[0-9]+|(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
_STRING = r""""(?:[^"\\\n\r]|\\[^\n\r])*"|'(?:[^'\\\n\r]|\\[^\n\r])*'"""
_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_INT = r"[0-9]+"
_PUNCTUATION = r"->|\.\.\.|//|[=!<>]=|[-+*/%<>.{}()\[\],:=]"
TOKENS = re.compile(f"(#[^\\n]*|{_FLOAT}|{_STRING}|{_NAME}|{_INT}|{_PUNCTUATION})")
WHITESPACE = " \t\f\n"  # the grammar's %ignore, less \r (the loader has made every line break \n)

WORD_START = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")
DIGITS = frozenset("0123456789")
CONSTANTS = {"True": True, "true": True, "False": False, "false": False, "None": None}
# words the fast parser leaves to Lark where a name could stand (`* depth`): Lark decides them
RESERVED_WORDS = frozenset(CONSTANTS) | {
    "if",
    "else",
    "and",
    "or",
    "not",
    "model",
    "block",
    "train",
    "search",
    "input",
    "output",
    "layer",
    "add_loss",
}
# Words that Lark's shared states may read as keywords where a statement or a setting starts:
# a statement or setting named so is left to Lark.
NOT_A_STATEMENT = frozenset({"else", "and", "or", "not"})
NOT_A_SETTING = frozenset({"if", "and", "or", "input", "output", "layer", "add_loss"})
NOT_A_KEYWORD_ARGUMENT = frozenset(CONSTANTS) | {"not"}
_ENDS_ARGUMENT = frozenset({",", ")"})
_ONE_TOKEN = WORD_START | DIGITS | {'"', "'", "."}  # first characters of one-token values
GLUE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_])\"'")  # `x[`: an index

# Binary operators and their precedence (Python's): the right operand binds tighter by one.
BINARY = {"or": 1, "and": 2, "==": 4, "!=": 4, "<": 4, "<=": 4, ">": 4, ">=": 4}
BINARY.update({"+": 5, "-": 5, "*": 6, "/": 6, "//": 6, "%": 6})
COMPARISON = 4
NOT_LEVEL = 3  # `not x`: its operand holds comparisons and arithmetic, not `and`/`or`
UNARY_LEVEL = 7  # `-x`: its operand is a postfix expression or another `-`
POSTFIX = frozenset({"(", ".", "["})
CONTINUES = POSTFIX | frozenset(BINARY)  # what may follow a value and extend it
PREFIX = frozenset({"not", "-", "+"})


def string_value(token: str) -> tuple:
    """(value, ok) of a STRING token: the text between the quotes, Python escapes applied;
    ok is False for an invalid escape (E106), and the value is then the raw text."""
    if "\\" not in token:
        return token[1:-1], True  # no escapes: the text between the quotes
    try:
        with warnings.catch_warnings():
            # Python only warns about an unknown escape such as "\q" (and keeps the backslash);
            # here it is an error, and the warning must not reach the user's terminal.
            warnings.simplefilter("error")
            value = ast.literal_eval(token)
    except (SyntaxError, ValueError, Warning):
        return token[1:-1], False
    if not isinstance(value, str):  # pragma: no cover - the token regex only admits strings
        return token[1:-1], True
    return value, True


class Unsure(Exception):
    """The fast road does not decide this text: Lark's does."""


def _span(path: str, line: int, column: int, end_line: int, end_column: int, new=object.__new__) -> Span:
    """Span(path, line, column, end_line, end_column), made twice as fast as its __init__
    (which sets each field of the frozen dataclass through object.__setattr__)."""
    span = new(Span)
    span.__dict__.update(path=path, line=line, column=column, end_line=end_line, end_column=end_column)
    return span


class SpanTable(dict):
    """{path: Span}, as `normalise` returns, whose entries are kept as (start, end) character
    offsets until one is asked for: a 1 MiB spec records about 300,000 spans and a check
    reads a fraction of them. Read it with `get`, `[]` and `in` (as every pass does). Paths
    with the same offsets (a chain step and its call) get the same Span object."""

    __slots__ = ("path", "text", "_starts", "_made")

    def __init__(self, path: str, text: str):
        super().__init__()
        self.path = path
        self.text = text
        self._starts = None
        self._made: dict = {}  # (start, end) -> Span

    def _span(self, offsets) -> Span:
        span = self._made.get(offsets)
        if span is not None:
            return span
        starts = self._starts
        if starts is None:  # where each line starts, and a sentinel past the end
            starts = self._starts = [0, *(m.end() for m in re.finditer("\n", self.text)), len(self.text) + 1]
        start, end = offsets
        line = bisect_right(starts, start)
        first = starts[line - 1]
        if end <= starts[line]:  # on one line (a token never holds a line break)
            span = _span(self.path, line, start - first + 1, line, end - first + 1)
        else:
            end_line = bisect_right(starts, end - 1)
            span = _span(self.path, line, start - first + 1, end_line, end - starts[end_line - 1] + 1)
        self._made[offsets] = span
        return span

    def get(self, key, default=None, _get=dict.get, _set=dict.__setitem__):
        value = _get(self, key, default)
        if value.__class__ is tuple:
            value = self._span(value)
            _set(self, key, value)
        return value

    def __getitem__(self, key):
        value = dict.__getitem__(self, key)
        if value.__class__ is tuple:
            value = self._span(value)
            dict.__setitem__(self, key, value)
        return value

    def values(self):
        return [self[k] for k in self]

    def items(self):
        return [(k, self[k]) for k in self]


def empty_body() -> dict:
    """A BODY of the spec dict with nothing in it, its keys in normalise's order."""
    return {"inputs": [], "layers": [], "chains": [], "assigns": [], "ifs": [], "outputs": []}


def tokens(text: str):
    """(tokens, starts, ends, split): the token strings and their character offsets, comments
    dropped, and each number with an exponent after a `*` split as a step's count reads it
    (see split_counts); or the offset of the first character that is neither in a token nor
    whitespace (an unknown character, an unterminated string, a \r, ...)."""
    parts = TOKENS.split(text)
    if "".join(parts[0::2]).strip(WHITESPACE):
        offset = 0
        for k, part in enumerate(parts):
            if k % 2 == 0 and part.strip(WHITESPACE):
                return offset + len(part) - len(part.lstrip(WHITESPACE))
            offset += len(part)
    offsets = list(accumulate(map(len, parts)))
    toks = parts[1::2]
    starts = offsets[0:-1:2]
    ends = offsets[1::2]
    if "#" in text:
        keep = [i for i, t in enumerate(toks) if t[0] != "#"]
        if len(keep) != len(toks):
            toks = [toks[i] for i in keep]
            starts = [starts[i] for i in keep]
            ends = [ends[i] for i in keep]
    if "*" in text:
        return split_counts(text, toks, starts, ends)
    return toks, starts, ends, frozenset()


_EXPONENT = re.compile(r"([0-9]+)[eE][0-9]+")
_EXPONENT_WORD = re.compile(r"[eE][0-9]+")
_WORD = re.compile(_NAME)


def split_counts(text: str, toks: list, starts: list, ends: list):
    """The tokens with every number `2e5` that follows a `*` (or a sign glued to it after a
    `*`) split in two as Lark reads it after a step's `*`, where only INT may come: the count
    `2` and a word `e5` that starts the next statement (`2e5x`: `2` and `e5x`, the word taking
    in what is glued to it). Returns (toks, starts, ends, split), where `split` holds the index
    of each count made so. After the `*` of a product the number is one FLOAT to Lark: the
    expression parser joins such a pair back (FastParser.number).

    Splitting here, once, keeps the parse linear: the `*` are found by list.index (at C
    speed) and the lists are rebuilt once, whatever the number of splits."""
    n = len(toks)
    edits = []  # (index of the number, index after the tokens its word takes in, count, word, offsets)
    j = -1
    try:
        while True:
            j = toks.index("*", j + 1)
            k = j + 1
            if k + 1 < n and (toks[k] == "-" or toks[k] == "+") and ends[k] == starts[k + 1]:
                k += 1  # `* -2e5`: the sign is glued to the number, as repeat() and atom() read it
            if k >= n:
                continue
            number = _EXPONENT.fullmatch(toks[k])
            if number is None:
                continue
            start = starts[k]
            count = number.group(1)
            word = _WORD.match(text, start + len(count))
            after = k + 1
            while after < n and starts[after] < word.end():
                after += 1  # a token glued to the number is part of Lark's word
            edits.append((k, after, count, word.group(), (start, start + len(count), word.start(), word.end())))
    except ValueError:  # no `*` left
        pass
    if not edits:
        return toks, starts, ends, frozenset()
    new_toks: list = []
    new_starts: list = []
    new_ends: list = []
    split = set()
    done = 0
    for at, after, count, word, (a, b, c, d) in edits:
        new_toks += toks[done:at]
        new_starts += starts[done:at]
        new_ends += ends[done:at]
        split.add(len(new_toks))
        new_toks += [count, word]
        new_starts += [a, c]
        new_ends += [b, d]
        done = after
    new_toks += toks[done:]
    new_starts += starts[done:]
    new_ends += ends[done:]
    return new_toks, new_starts, new_ends, split


def parse_fast(text: str, path: str):
    """(spec, spans) as `normalise(parse(text))` gives them, or None when unsure.
    Raises SpecError with the normaliser's diagnostics for a text that parses but repeats a
    key, a setting or a section, or writes a bad escape."""
    return attempt(text, path)[0]


def attempt(text: str, path: str):
    """((spec, spans), None) as parse_fast; or (None, shorter) when unsure, where `shorter` is
    a text on which Lark meets the first syntax error of `text` exactly as on `text` itself
    (see shorten), or accepts it when `text` is sound after all."""
    if not enabled():
        return None, text
    lexed = tokens(text)
    if isinstance(lexed, int):  # a character outside the tokens: Lark stops there at the latest
        bad = lexed
        lexed = tokens(text[:bad])
        parser = FastParser(path, text[:bad], *lexed)
        try:
            parser.spec()
            failed = parser.n
            parser.items.append(failed)  # the character starts the item that fails
        except (Unsure, IndexError) as exc:
            failed = exc.args[0] if isinstance(exc, Unsure) else parser.n
        return None, shorten(text[:bad], parser, failed) + text[bad:]
    if not lexed[0]:
        return None, text  # empty, or comments only
    parser = FastParser(path, text, *lexed)
    try:
        spec = parser.spec()
    except (Unsure, IndexError) as exc:  # IndexError: the text ends inside a construct
        failed = exc.args[0] if isinstance(exc, Unsure) else parser.n
        return None, shorten(text, parser, failed)
    if parser.errors:
        raise SpecError([parser.diagnostic(*e) for e in parser.errors], text)
    return (spec, parser.spans), None


OPENERS = frozenset("([{")
CLOSERS = frozenset(")]}")


def shorten(text: str, parser: "FastParser", failed: int) -> str:
    """`text` with parts blanked out (spaces, the line breaks kept) that cannot change the
    first syntax error, which the fast parser met at token `failed`: Lark then finds it in the
    same parser state, at the same line and column, without reading a megabyte to get there.

    Every repetition of the grammar (items, statements, the steps of a chain, the values
    between commas) is a left-recursive rule in Lark's LALR tables, whose state after one
    element is the state after any number of them. So of the complete elements before the
    one that fails, the first and the last are kept (the last sets the lookahead reductions)
    and those between go; inside a complete element that is kept, a chain keeps its first
    and last steps; the statements of an `if`'s branch are elements like those of a body. The
    fast parser accepts a subset of what Lark accepts, so the complete elements are sound to
    Lark as well."""
    toks, starts, ends = parser.toks, parser.starts, parser.ends
    cuts: list = []  # (first token, last token) to blank

    def middle(firsts: list, failing: int) -> None:
        """firsts[j]: where element j starts; elements 0..failing-1 are complete."""
        if failing >= 3:
            cuts.append((firsts[1], firsts[failing - 1] - 1))

    def arrows(first: int, stop: int) -> list:
        found, depth = [], 0
        for j in range(first, stop):
            t = toks[j]
            if t in OPENERS:
                depth += 1
            elif t in CLOSERS:
                depth -= 1
            elif t == "->" and depth == 0:
                found.append(j)
        return found

    def statement(first: int, last: int) -> None:
        """A complete statement: a chain keeps its first and last steps."""
        steps = arrows(first, last + 1)
        middle(steps + [last + 1], len(steps))

    def body(item: int, complete: bool) -> int | None:
        """Blank the statements of an item's body; the start of the failing one, if any."""
        firsts = parser.bodies.get(item)
        if not firsts:
            return None
        failing = len(firsts) - 1  # the last entry: the failing statement, or the closing "}"
        middle(firsts, failing)
        for j in {0, failing - 1}:
            if 0 <= j < failing:
                statement(firsts[j], firsts[j + 1] - 1)
        return None if complete else firsts[failing]

    items = parser.items
    failing = len(items) - 1
    if failing >= 0:
        middle(items, failing)
        for j in {0, failing - 1}:
            if 0 <= j < failing:
                body(j, True)
        start = body(failing, False)
        if start is None:
            start = items[failing]
        else:
            for firsts in parser.open:  # the branches of `if`s the failure is in, outermost first
                inner = len(firsts) - 1
                middle(firsts, inner)
                for j in {0, inner - 1}:
                    if 0 <= j < inner:
                        statement(firsts[j], firsts[j + 1] - 1)
                start = firsts[inner]
            steps = arrows(start, failed)  # the failing statement: a chain up to the failing step
            middle(steps, len(steps) - 1)
        # the brackets around the failing token, innermost first: the values between commas
        commas, depth = [], 0
        for j in range(failed - 1, start - 1, -1):
            t = toks[j]
            if t in CLOSERS:
                depth += 1
            elif t in OPENERS:
                if depth:
                    depth -= 1
                else:
                    commas.reverse()
                    middle([j + 1, *commas], len(commas))
                    commas = []
            elif t == "," and not depth:
                commas.append(j)
    if not cuts:
        return text
    out, done = [], 0
    for first, last in sorted(cuts):
        a, b = starts[first], ends[last]
        out.append(text[done:a])
        out.append("\n".join(" " * len(line) for line in text[a:b].split("\n")))
        done = b
    out.append(text[done:])
    return "".join(out)


class FastParser:
    """Recursive descent over the token list, building the normalised spec as it goes. Every
    method takes the index of its first token and returns the index after its last one.

    `depth` counts the brackets (and operators) around a construct, so that nothing nested
    deeper than MAX_DEPTH is accepted here (check_nesting refuses it on the Lark road)."""

    def __init__(self, path: str, text: str, toks: list, starts: list, ends: list, split=frozenset()):
        self.path = path
        self.text = text
        self.toks = toks + ["", ""]  # sentinels: looking one or two past the end is safe
        self.n = len(toks)
        self.starts = starts
        self.ends = ends
        self.split = split  # the counts that tokens() split from a number after `*` (split_counts)
        self.spans = SpanTable(path, text)
        self.errors: list = []  # (code, message, (start, end) offsets or Span, hint)
        self.items: list = []  # the index where each top-level item starts
        self.bodies: dict = {}  # item number -> where each statement of its body starts (see shorten)
        self.open: list = []  # the same for each `if` branch being read, outermost first

    def diagnostic(self, code, message, where, hint) -> Diagnostic:
        span = where if isinstance(where, Span) else self.spans._span(where)
        return Diagnostic(code, message, span, hint)

    def tok(self, i: int) -> tuple:
        return (self.starts[i], self.ends[i])

    def string(self, i: int) -> str:
        """The value of string token i; E106 (kept, the parse goes on) for an invalid escape."""
        value, ok = string_value(self.toks[i])
        if not ok:
            self.errors.append(("E106", "invalid escape sequence in string", self.tok(i), "use \\\\ for a backslash"))
        return value

    def expect(self, i: int, token: str) -> int:
        if self.toks[i] != token:
            raise Unsure(i)
        return i + 1

    def word(self, i: int) -> str:
        t = self.toks[i]
        if t[:1] not in WORD_START:
            raise Unsure(i)
        return t

    def glued(self, i: int) -> bool:
        """Whether token i (a `[`) is glued to what it follows: Lark's _INDEX."""
        start = self.starts[i]
        return start > 0 and self.text[start - 1] in GLUE

    def signed(self, i: int) -> bool:
        """Whether token i (a sign) is glued to a number that follows: one INT or FLOAT to Lark."""
        t = self.toks[i + 1]
        c = t[:1]
        return self.ends[i] == self.starts[i + 1] and (c in DIGITS or (c == "." and t != "." and t != "..."))

    def relocate(self, mark: int, old: tuple, new: tuple) -> None:
        """Move the spans recorded since the table held `mark` entries (all of them at `old` or
        below it) to `new`: what was read as a whole value turned out to be a part of a larger
        one (`a` in `a + b`, `x` in `x[0]`). The entries stay the newest of the table."""
        spans = self.spans
        count = len(spans) - mark
        if not count:
            return
        keys = list(islice(reversed(spans), count))
        keys.reverse()
        cut = len(old)
        pop, put = dict.pop, dict.__setitem__
        moved = [(new + key[cut:], pop(spans, key)) for key in keys]  # all out first: `old` and
        for key, span in moved:  # `new` may overlap (`(a,)` inside `((a,))` moves up a level)
            put(spans, key, span)

    # -- top level -------------------------------------------------------------------------
    def spec(self) -> dict:
        out = {"blocks": [], "model": None, "train": None}
        toks, n, spans = self.toks, self.n, self.spans
        i = 0
        while i < n:
            self.items.append(i)
            t = toks[i]
            if t[:5] == "block":
                i, block = self.block(i, ("blocks", len(out["blocks"])))
                out["blocks"].append(block)
            elif t[:5] == "model":
                if out["model"] is not None:  # E302, and the second model is not normalised
                    name_span = self.head(i)[1]
                    mark = len(self.errors)
                    self.spans = SpanTable(self.path, self.text)
                    i, _ = self.model(i)
                    self.spans = spans
                    del self.errors[mark:]
                    self.errors.append(
                        (
                            "E302",
                            "a spec holds one model; this is a second one",
                            name_span,
                            "move shared parts into a `block` and keep one `model`",
                        )
                    )
                    continue
                i, out["model"] = self.model(i)
            elif t == "train":
                if out["train"] is not None:
                    mark = len(self.errors)
                    self.spans = SpanTable(self.path, self.text)
                    start = i
                    i, _ = self.train(i)
                    self.spans = spans
                    del self.errors[mark:]
                    self.errors.append(
                        (
                            "E302",
                            "a spec holds one train section; this is a second one",
                            (self.starts[start], self.ends[i - 1]),
                            None,
                        )
                    )
                    continue
                i, out["train"] = self.train(i)
            elif t == "search":
                if "search" in out:
                    mark = len(self.errors)
                    self.spans = SpanTable(self.path, self.text)
                    start = i
                    i, _ = self.train(i, "search")
                    self.spans = spans
                    del self.errors[mark:]
                    self.errors.append(
                        (
                            "E302",
                            "a spec holds one search section; this is a second one",
                            (self.starts[start], self.ends[i - 1]),
                            None,
                        )
                    )
                    continue
                i, out["search"] = self.train(i, "search")
            else:
                raise Unsure(i)
        return out

    def head(self, i: int):
        """(name, its span, the index after it) of `model NAME` or `block NAME` at i. The word
        may hold both: at the top level Lark's contextual lexer knows only the section words,
        so `modelM {` is `model M {` to it (and a name that is a digit short of one, an error)."""
        t = self.toks[i]
        if len(t) == 5:  # the keyword alone
            return self.word(i + 1), self.tok(i + 1), i + 2
        if t[5] not in WORD_START:
            raise Unsure(i)
        return t[5:], (self.starts[i] + 5, self.ends[i]), i + 1

    def model(self, i: int):
        name, span, i = self.head(i)
        self.spans[("model",)] = span
        self.spans[("model", "name")] = span
        i = self.expect(i, "{")
        i, body = self.body(i, ("model", "body"), 1, True)
        return i, {"name": name, "body": body}

    def block(self, i: int, where: tuple):
        spans = self.spans
        name, span, i = self.head(i)
        spans[where] = span
        spans[where + ("name",)] = span
        i = self.expect(i, "(")
        toks = self.toks
        params = []
        while toks[i] != ")":
            pname = self.word(i)
            at = where + ("params", len(params))
            span = self.tok(i)
            spans[at] = span
            spans[at + ("name",)] = span
            entry = {"name": pname}
            i += 1
            if toks[i] == "=":
                i, entry["default"] = self.value(i + 1, at + ("default",), 1)
            params.append(entry)
            if toks[i] == ",":
                i += 1
            elif toks[i] != ")":
                raise Unsure(i)
        i = self.expect(i + 1, "{")
        i, body = self.body(i, where + ("body",), 1, True)
        return i, {"name": name, "params": params, "body": body}

    def train(self, i: int, section: str = "train"):
        """The settings of a `train { ... }` section (or of `search { ... }`, the same syntax)."""
        start = i
        toks, spans = self.toks, self.spans
        i = self.expect(i + 1, "{")
        settings: dict = {}
        self.bodies[len(self.items) - 1] = starts = []  # where each setting starts, and the "}"
        while True:
            starts.append(i)
            if toks[i] == "}":
                break
            name_at = i
            name = self.word(i)
            if name in NOT_A_SETTING:  # after a value, Lark may read it as a keyword
                raise Unsure(i)
            i = self.expect(i + 1, "=")
            at = (section, name)
            if name in settings:  # E302, and the second value is not normalised
                mark = len(self.errors)
                self.spans = SpanTable(self.path, self.text)
                i, _ = self.value(i, at, 1)
                self.spans = spans
                del self.errors[mark:]
                self.errors.append(
                    (
                        "E302",
                        f"{name!s} is set twice",
                        self.tok(name_at),
                        f"the first `{name} = ...` is at line {spans.get(at).line}",
                    )
                )
                continue
            i, settings[name] = self.value(i, at, 1)
            spans[at + ("@name",)] = self.tok(name_at)
        spans[(section,)] = (self.starts[start], self.ends[i])
        return i + 1, settings

    # -- bodies ----------------------------------------------------------------------------
    def body(self, i: int, where: tuple, depth: int, top: bool):
        """The statements of a body up to its "}" (an item's when `top`, else an `if` branch's)."""
        body = empty_body()
        toks = self.toks
        first = True
        starts: list = []  # where each statement starts, and the "}"
        if top:
            self.bodies[len(self.items) - 1] = starts
        else:
            self.open.append(starts)
        while True:
            starts.append(i)
            t = toks[i]
            start = i
            if t == "}":
                if not top:
                    self.open.pop()
                return i + 1, body
            if t == "input":
                i = self.input_decl(i, where + ("inputs", len(body["inputs"])), body["inputs"])
            elif t == "output":
                i = self.output_decl(i, where, body["outputs"])
            elif t == "add_loss":
                losses = body.get("losses")
                if losses is None:
                    losses = body["losses"] = []  # present only when written, as its last key
                i = self.output_decl(i, where, losses, "losses")
            elif t == "layer":
                i = self.layer_decl(i, where + ("layers", len(body["layers"])), body["layers"], depth)
            elif t == "if":
                i = self.if_stmt(i, where + ("ifs", len(body["ifs"])), body["ifs"], depth)
            elif t == "[":
                if self.glued(i):  # an index to some of Lark's states, a list to others
                    raise Unsure(i)
                i = self.chain(i, where + ("chains", len(body["chains"])), body["chains"], depth)
            elif t[:1] in WORD_START and t not in NOT_A_STATEMENT:
                after = toks[i + 1]
                if after == "->":
                    i = self.chain(i, where + ("chains", len(body["chains"])), body["chains"], depth)
                elif after == "=" or after == ",":
                    i = self.assign(i, where + ("assigns", len(body["assigns"])), body["assigns"], depth)
                else:
                    raise Unsure(i + 1)
            else:
                raise Unsure(i)
            if first:
                self.spans[where] = (self.starts[start], self.ends[i - 1])
                first = False

    def input_decl(self, i: int, where: tuple, inputs: list) -> int:
        spans, toks = self.spans, self.toks
        name = self.word(i + 1)
        span = self.tok(i + 1)
        spans[where] = span
        spans[where + ("name",)] = span
        entry = {"name": name, "shape": None, "dtype": "float32"}
        inputs.append(entry)
        i += 2
        if toks[i] != ":":
            return i
        i += 1
        start = i
        if toks[i] != "[":
            entry["dtype"] = self.word(i)
            spans[where + ("dtype",)] = self.tok(i)
            i += 1
        i = self.expect(i, "[")
        shape = []
        while toks[i] != "]":
            t = toks[i]
            if t == "None":
                shape.append(None)
                spans[where + ("shape", len(shape) - 1)] = self.tok(i)
            elif t.isdigit():
                shape.append(int(t))
                spans[where + ("shape", len(shape) - 1)] = self.tok(i)
            elif (t == "-" or t == "+") and toks[i + 1].isdigit() and self.ends[i] == self.starts[i + 1]:
                shape.append(int(t + toks[i + 1]))  # `-1`: one INT
                spans[where + ("shape", len(shape) - 1)] = (self.starts[i], self.ends[i + 1])
                i += 1
            else:
                raise Unsure(i)
            i += 1
            if toks[i] == ",":
                i += 1
            elif toks[i] != "]":
                raise Unsure(i)
        spans[where + ("shape",)] = (self.starts[start], self.ends[i])
        entry["shape"] = shape
        return i + 1

    def output_decl(self, i: int, where: tuple, outputs: list, key: str = "outputs") -> int:
        """`output a, b` (or, with key "losses", `add_loss a, b`): the names after the keyword."""
        spans, toks = self.spans, self.toks
        i += 1
        while True:
            name = self.word(i)
            spans[where + (key, len(outputs))] = self.tok(i)
            outputs.append(name)
            if toks[i + 1] != ",":
                return i + 1
            i += 2

    def layer_decl(self, i: int, where: tuple, layers: list, depth: int) -> int:
        spans = self.spans
        name = self.word(i + 1)
        span = self.tok(i + 1)
        spans[where] = span
        spans[where + ("name",)] = span
        i = self.expect(i + 2, "=")
        self.word(i)
        if self.toks[i + 1] != "(":
            raise Unsure(i + 1)
        i, call = self.call(i, where + ("layer",), depth)
        layers.append({"name": name, "layer": call})
        return i

    def assign(self, i: int, where: tuple, assigns: list, depth: int) -> int:
        """`out, h, c = value`"""
        toks, spans = self.toks, self.spans
        start = i
        targets = [toks[i]]
        spans[where + ("targets", 0)] = self.tok(i)
        i += 1
        while toks[i] == ",":
            targets.append(self.word(i + 1))
            spans[where + ("targets", len(targets) - 1)] = self.tok(i + 1)
            i += 2
        i = self.expect(i, "=")
        i, value = self.value(i, where + ("value",), depth)
        spans[where] = (self.starts[start], self.ends[i - 1])
        assigns.append({"targets": targets, "value": value})
        return i

    def if_stmt(self, i: int, where: tuple, ifs: list, depth: int) -> int:
        """`if value { ... }`, then `else { ... }` or `else if ...`: an else branch holding one if."""
        toks, spans = self.toks, self.spans
        start = i
        depth += 1  # the braces of the branches (and the nesting of `else if`)
        if depth >= MAX_DEPTH:  # a list of sources inside would be one deeper, unchecked
            raise Unsure(i)
        i, condition = self.value(i + 1, where + ("if",), depth - 1)
        i, then = self.branch(i, where + ("then",), depth)
        other = None
        if toks[i] == "else":
            t = toks[i + 1]
            if t == "{":
                i, other = self.branch(i + 1, where + ("else",), depth)
            elif t == "if":
                other = empty_body()
                inner = i + 1
                i = self.if_stmt(inner, where + ("else", "ifs", 0), other["ifs"], depth)
                spans[where + ("else",)] = (self.starts[inner], self.ends[i - 1])
            else:
                raise Unsure(i + 1)
        spans[where] = (self.starts[start], self.ends[i - 1])
        ifs.append({"if": condition, "then": then, "else": other})
        return i

    def branch(self, i: int, where: tuple, depth: int):
        """The braces of a branch and its statements; its span is the braces'."""
        start = i
        i = self.expect(i, "{")
        i, body = self.body(i, where, depth, False)
        self.spans[where] = (self.starts[start], self.ends[i - 1])
        return i, body

    def chain(self, i: int, where: tuple, chains: list, depth: int) -> int:
        toks, spans, starts, ends = self.toks, self.spans, self.starts, self.ends
        start = i
        mark = len(self.errors)
        if toks[i] == "[":
            names = []
            i += 1
            while True:
                names.append(self.word(i))
                spans[where + ("source", len(names) - 1)] = (starts[i], ends[i])
                i += 1
                if toks[i] == ",":
                    i += 1
                    if toks[i] == "]":
                        break
                elif toks[i] == "]":
                    break
                else:
                    raise Unsure(i)
            spans[where + ("source",)] = (starts[start], ends[i])
            i += 1
        else:
            t = toks[i]
            names = [t]
            span = (starts[i], ends[i])
            spans[where + ("source", 0)] = span
            spans[where + ("source",)] = span
            i += 1
        if toks[i] != "->":
            raise Unsure(i)
        steps = []
        target = None
        while toks[i] == "->":
            i += 1
            t = toks[i]
            if t[:1] not in WORD_START:
                raise Unsure(i)
            at = where + ("steps", len(steps))
            if toks[i + 1] == "(":
                first = i
                i, call = self.call(i, at + ("call",), depth)
                entry = {"call": call, "repeat": 1}
                if toks[i] == "(":  # a second argument list: `LSTM(8)(initial_state=[h, c])`
                    i, args, kwargs, written = self.arguments(i + 1, at + ("using",), depth + 1)
                    if written:
                        entry["using"] = {"args": args, "kwargs": kwargs}
                if toks[i] == "*":
                    i = self.repeat(i + 1, at, entry)
                spans[at] = (starts[first], ends[i - 1])
                steps.append(entry)
            else:
                i += 1
                if toks[i] == "->":
                    spans[at] = (starts[i - 1], ends[i - 1])
                    steps.append({"ref": t})
                else:
                    target = t
                    spans[where + ("target",)] = (starts[i - 1], ends[i - 1])
        chain = {"source": names, "steps": steps, "target": target}
        if toks[i] == ",":  # `-> out, h, c`
            also = []
            while toks[i] == ",":
                also.append(self.word(i + 1))
                spans[where + ("also", len(also) - 1)] = (starts[i + 1], ends[i + 1])
                i += 2
            if target is None:  # the normaliser's check, before those of the steps
                self.errors.insert(
                    mark,
                    (
                        "E306",
                        "a chain that yields several tensors ends with their names",
                        (starts[i - 2 * len(also) + 1], ends[i - 2 * len(also) + 1]),
                        "e.g. `x -> LSTM(8, return_state=True) -> out, h, c`",
                    ),
                )
            chain["also"] = also
        spans[where] = (starts[start], ends[i - 1])
        chains.append(chain)
        return i

    def repeat(self, i: int, at: tuple, entry: dict) -> int:
        """The count after a step's `*` at i: only an INT is read there (tokens() has split
        `2e5` into the count 2 and a word `e5...` that starts the next statement, as Lark's
        contextual lexer does)."""
        toks, starts, ends = self.toks, self.starts, self.ends
        first = i
        sign = ""
        if (toks[i] == "-" or toks[i] == "+") and ends[i] == starts[i + 1]:
            sign = toks[i]
            i += 1
        t = toks[i]
        if not sign and t[:1] in WORD_START and t.isidentifier() and t not in RESERVED_WORDS:
            self.spans[at + ("repeat",)] = (starts[i], ends[i])  # `* depth`: a search name
            entry["repeat"] = {"ref": t}
            return i + 1
        if not t.isdigit():
            raise Unsure(i)
        self.spans[at + ("repeat",)] = (starts[first], ends[i])
        entry["repeat"] = int(sign + t)
        return i + 1

    def number(self, i: int) -> int:
        """The index after the number token at i, once a count that tokens() split from it
        (after a `*`, see split_counts) is joined back: in a value `2e5` is one FLOAT. A pair
        `2`, `e5` becomes one token to read past; `2`, `e5x` (`2e5x` as written) is made the
        tokens the text holds, `2e5` and `x`, in place."""
        toks, starts, ends = self.toks, self.starts, self.ends
        self.split.discard(i)  # joined once: the tokens are as the text holds them now
        word = toks[i + 1]
        exponent = _EXPONENT_WORD.match(word).end()
        toks[i] += word[:exponent]
        if exponent == len(word):
            ends[i] = ends[i + 1]
            return i + 2
        ends[i] = starts[i + 1] + exponent
        toks[i + 1] = word[exponent:]
        starts[i + 1] += exponent
        return i + 1

    # -- values ----------------------------------------------------------------------------
    def call(self, i: int, where: tuple, depth: int):
        """NAME "(" [argument ("," argument)* ","?] ")" at i (the caller has seen the "(")."""
        depth += 1
        if depth > MAX_DEPTH:
            raise Unsure(i)
        start = i
        self.spans[where + ("call",)] = (self.starts[i], self.ends[i])
        i, args, kwargs, _ = self.arguments(i + 2, where, depth)
        self.spans[where] = (self.starts[start], self.ends[i - 1])
        return i, {"call": self.toks[start], "args": args, "kwargs": kwargs}

    def arguments(self, i: int, where: tuple, depth: int):
        """(index after the ")", args, kwargs, whether any was written) of an argument list
        from i (after its "("): a call's, an apply's, a step's second one."""
        if depth > MAX_DEPTH:
            raise Unsure(i)
        toks, spans, starts, ends = self.toks, self.spans, self.starts, self.ends
        args: list = []
        kwargs: dict = {}
        written = False
        while True:
            t = toks[i]
            if t == ")":
                break
            written = True
            if toks[i + 1] == "=" and t[:1] in WORD_START and t not in NOT_A_KEYWORD_ARGUMENT:
                at = where + ("kwargs", t)
                if t in kwargs:  # E105; the value is not normalised
                    key_at = i
                    mark = len(self.errors)
                    self.spans = SpanTable(self.path, self.text)
                    i, _ = self.value(i + 2, at, depth)
                    self.spans = spans
                    del self.errors[mark:]
                    self.errors.append(("E105", f"argument {t!s} is given twice", self.tok(key_at), None))
                else:
                    spans[at + ("@name",)] = (starts[i], ends[i])
                    i, kwargs[t] = self.value(i + 2, at, depth)
            elif toks[i + 1] in _ENDS_ARGUMENT and t[:1] in _ONE_TOKEN and t != "not" and t != "." and t != "...":
                # a value of one token (`4`, `"relu"`, `True`, `units`): value(), inline
                at = where + ("args", len(args))
                span = (starts[i], ends[i])
                if kwargs:
                    self.errors.append(
                        ("E107", "positional argument after keyword arguments", span, "put positional arguments first")
                    )
                c = t[:1]
                if c in WORD_START:
                    value = CONSTANTS[t] if t in CONSTANTS else {"ref": t}
                elif c == '"' or c == "'":
                    value = self.string(i)
                elif "." in t or "e" in t or "E" in t:
                    value = float(t)
                else:
                    value = int(t)
                spans[at] = span
                args.append(value)
                i += 1
            else:
                at = where + ("args", len(args))
                mark = len(self.errors)
                i, value = self.value(i, at, depth)
                if kwargs:
                    self.errors.insert(
                        mark,
                        (
                            "E107",
                            "positional argument after keyword arguments",
                            dict.get(self.spans, at),  # the value's own span: `(a)` is `a`
                            "put positional arguments first",
                        ),
                    )
                args.append(value)
            t = toks[i]
            if t == ",":
                i += 1
            elif t != ")":
                raise Unsure(i)
        return i + 1, args, kwargs, written

    def value(self, i: int, where: tuple, depth: int):
        """A value (an expression) at i; records its span at `where` (and those inside it)."""
        if self.toks[i] in PREFIX:
            return self.expr(i, where, depth, 0)
        mark = len(self.spans)
        j, value = self.atom(i, where, depth)
        if self.toks[j] in CONTINUES:
            return self.postfix(i, j, value, mark, where, depth, 0)
        return j, value

    def expr(self, i: int, where: tuple, depth: int, least: int):
        """An expression at i whose operators bind at least as tightly as `least` (BINARY's
        levels): the right operand of an operator, or a whole value (0)."""
        toks, spans = self.toks, self.spans
        t = toks[i]
        start = i
        mark = len(spans)
        if t == "not":
            if least > NOT_LEVEL:  # `a + not`: a name to Lark
                raise Unsure(i)
            op, level = "not", NOT_LEVEL
        elif (t == "-" or t == "+") and not self.signed(i):
            if t == "+":  # there is no unary plus
                raise Unsure(i)
            op, level = "neg", UNARY_LEVEL
        else:
            j, value = self.atom(i, where, depth)
            if toks[j] in CONTINUES:
                return self.postfix(i, j, value, mark, where, depth, least)
            return j, value
        depth += 1
        if depth > MAX_DEPTH:
            raise Unsure(i)
        i, operand = self.expr(i + 1, where + ("args", 0), depth, level)
        spans[where] = (self.starts[start], self.ends[i - 1])
        return self.binary(start, i, {"op": op, "args": [operand]}, mark, where, depth, least)

    def postfix(self, start: int, i: int, left, mark: int, where: tuple, depth: int, least: int):
        """The indexes, attributes and applications after the atom at `start` (its tokens end
        before i), then the binary operators."""
        toks, starts, ends = self.toks, self.starts, self.ends
        t = toks[i]
        while t in POSTFIX:
            if t == "[" and not self.glued(i):
                break  # a list after a space: not this value's
            depth += 1
            if depth > MAX_DEPTH:
                raise Unsure(i)
            if t == "[":
                self.relocate(mark, where, where + ("index",))
                i, items = self.subscripts(i + 1, where, depth)
                left = {"index": left, "items": items}
            elif t == ".":
                name = self.word(i + 1)  # any word: only a NAME may follow "."
                self.relocate(mark, where, where + ("of",))
                self.spans[where + ("attr",)] = (starts[i + 1], ends[i + 1])
                left = {"attr": name, "of": left}
                i += 2
            else:
                self.relocate(mark, where, where + ("apply",))
                i, args, kwargs, _ = self.arguments(i + 1, where, depth)
                left = {"apply": left, "args": args, "kwargs": kwargs}
            self.spans[where] = (starts[start], ends[i - 1])
            t = toks[i]
        return self.binary(start, i, left, mark, where, depth, least)

    def binary(self, start: int, i: int, left, mark: int, where: tuple, depth: int, least: int):
        """The binary operators from i on, left-associative, while they bind at least as
        tightly as `least`; `left` is the operand read so far (tokens start..i-1)."""
        toks = self.toks
        t = toks[i]
        level = BINARY.get(t)
        compared = False
        while level is not None and level >= least:
            if level == COMPARISON:
                if compared:  # `a < b < c`: comparisons do not chain
                    raise Unsure(i)
                compared = True
            depth += 1
            if depth > MAX_DEPTH:
                raise Unsure(i)
            self.relocate(mark, where, where + ("args", 0))
            i, right = self.expr(i + 1, where + ("args", 1), depth, level + 1)
            left = {"op": t, "args": [left, right]}
            self.spans[where] = (self.starts[start], self.ends[i - 1])
            t = toks[i]
            level = BINARY.get(t)
        return i, left

    def subscripts(self, i: int, where: tuple, depth: int):
        """[subscript ("," subscript)* ","?] "]" from i: values, slices `a:b:c`, `...`."""
        toks, spans, starts, ends = self.toks, self.spans, self.starts, self.ends
        items: list = []
        while toks[i] != "]":
            at = where + ("items", len(items))
            t = toks[i]
            if t == "...":
                spans[at] = (starts[i], ends[i])
                items.append({"ellipsis": True})
                i += 1
            else:
                first = i
                parts = [None, None, None]
                if t != ":":
                    mark = len(spans)
                    i, value = self.value(i, at, depth)
                    if toks[i] != ":":
                        items.append(value)
                        parts = None
                    else:
                        self.relocate(mark, at, at + ("slice", 0))
                        parts[0] = value
                if parts is not None:
                    i += 1  # the ":"
                    t = toks[i]
                    if t != ":" and t != "," and t != "]":
                        i, parts[1] = self.value(i, at + ("slice", 1), depth)
                    if toks[i] == ":":
                        i += 1
                        t = toks[i]
                        if t != "," and t != "]":
                            i, parts[2] = self.value(i, at + ("slice", 2), depth)
                    spans[at] = (starts[first], ends[i - 1])
                    items.append({"slice": parts})
            if toks[i] == ",":
                i += 1
            elif toks[i] != "]":
                raise Unsure(i)
        return i + 1, items

    def atom(self, i: int, where: tuple, depth: int):
        """A constant, a name, a call, a literal, a bracketed value at i."""
        toks = self.toks
        t = toks[i]
        c = t[:1]
        if c in WORD_START:
            if t in CONSTANTS:
                self.spans[where] = (self.starts[i], self.ends[i])
                return i + 1, CONSTANTS[t]
            if toks[i + 1] == "(":
                return self.call(i, where, depth)
            if t == "not":  # where `not` may not start a value (`a * not`), Lark takes it as a name
                raise Unsure(i)
            self.spans[where] = (self.starts[i], self.ends[i])
            return i + 1, {"ref": t}
        if c in DIGITS or (c == "." and t != "." and t != "..."):
            if i in self.split:  # `a * 2e5`: one FLOAT
                j = self.number(i)
                self.spans[where] = (self.starts[i], self.ends[i])
                return j, float(toks[i])
            self.spans[where] = (self.starts[i], self.ends[i])
            if "." in t or "e" in t or "E" in t:
                return i + 1, float(t)
            return i + 1, int(t)
        if c == '"' or c == "'":
            self.spans[where] = (self.starts[i], self.ends[i])
            value = self.string(i)
            return i + 1, value
        if c == "-" or c == "+":
            if t == "->" or not self.signed(i):
                raise Unsure(i)
            j = self.number(i + 1) if i + 1 in self.split else i + 2  # `a * -2e5`: one FLOAT
            number = toks[i + 1]  # `-1`, `+2.5`: one INT or FLOAT
            self.spans[where] = (self.starts[i], self.ends[i + 1])
            if "." in number or "e" in number or "E" in number:
                return j, float(t + number)
            return j, int(t + number)
        depth += 1
        if depth > MAX_DEPTH:
            raise Unsure(i)
        start = i
        spans = self.spans
        if t == "[":
            items = []
            i += 1
            while toks[i] != "]":
                i, item = self.value(i, where + (len(items),), depth)
                items.append(item)
                if toks[i] == ",":
                    i += 1
                elif toks[i] != "]":
                    raise Unsure(i)
            out = items
        elif t == "(":
            i += 1
            items = []
            if toks[i] != ")":
                mark = len(spans)
                i, item = self.value(i, where + ("tuple", 0), depth)
                if toks[i] == ")":  # `(a + b)`: the value itself, its parentheses leave no trace
                    self.relocate(mark, where + ("tuple", 0), where)
                    return i + 1, item
                items.append(item)
                if toks[i] != ",":
                    raise Unsure(i)
                i += 1
            while toks[i] != ")":
                i, item = self.value(i, where + ("tuple", len(items)), depth)
                items.append(item)
                if toks[i] == ",":
                    i += 1
                elif toks[i] != ")":
                    raise Unsure(i)
            out = {"tuple": items}
        elif t == "{":
            entries: dict = {}
            i += 1
            while toks[i] != "}":
                key = toks[i]
                k = key[:1]
                if k == '"' or k == "'":
                    text = self.string(i)
                elif k in WORD_START:
                    text = key
                else:
                    raise Unsure(i)
                if toks[i + 1] != ":":
                    raise Unsure(i + 1)
                if text in entries:
                    mark = len(self.errors)
                    self.spans = SpanTable(self.path, self.text)
                    at_key = i
                    i, _ = self.value(i + 2, where + ("dict", text), depth)
                    self.spans = spans
                    del self.errors[mark:]
                    self.errors.append(("E105", f"key {text!r} is given twice", self.tok(at_key), None))
                else:
                    spans[where + ("dict", text, "@name")] = (self.starts[i], self.ends[i])
                    i, entries[text] = self.value(i + 2, where + ("dict", text), depth)
                if toks[i] == ",":
                    i += 1
                elif toks[i] != "}":
                    raise Unsure(i)
            out = {"dict": entries}
        else:
            raise Unsure(i)
        spans[where] = (self.starts[start], self.ends[i])
        return i + 1, out
