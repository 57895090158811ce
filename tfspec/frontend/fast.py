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
  E106, E107, E302, raised as SpecError);
* whenever it is unsure -- a syntax error, a character outside the tokens, brackets nested
  deeper than MAX_DEPTH, an empty spec -- it steps aside and the loader takes the Lark road
  (parser.parse_slow), which words every syntax error exactly as before. It hands over a
  shortened text (`shorten`) on which Lark meets that error as it would on the whole text.

Lark's contextual lexer decides between a keyword and a name by the parser state: each place
here knows the keywords it accepts (the statement words at the start of a statement,
True/False/None where a value starts) and takes any other word as a name, as Lark does. Two
corners follow from it: at the top level only the section words are known, so `modelM {` is
`model M {`; after `*` only INT, so `* 2e5 -> y` is the count 2 and a chain from `e5`.

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
from itertools import accumulate

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
GRAMMAR_SHA256 = "ab14b3f0134e63ae91a78daac64e3e47462215a728ef7e9879b300c104231dc3"


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


# The terminals of grammar/tfspec.lark, in the order Lark's lexer tries them (FLOAT before INT;
# a comment is a token here and is dropped after the split).
_FLOAT = r"[+-]?[0-9]+[eE][+-]?[0-9]+|[+-]?(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
_STRING = r""""(?:[^"\\\n\r]|\\[^\n\r])*"|'(?:[^'\\\n\r]|\\[^\n\r])*'"""
_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_INT = r"[+-]?[0-9]+"
TOKENS = re.compile(f"(#[^\\n]*|{_FLOAT}|{_STRING}|{_NAME}|{_INT}|->|[{{}}()\\[\\],:=*])")
WHITESPACE = " \t\f\n"  # the grammar's %ignore, less \r (the loader has made every line break \n)

WORD_START = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")
NUMBER_START = frozenset("0123456789+-.")
CONSTANTS = {"True": True, "true": True, "False": False, "false": False, "None": None}
STATEMENT_KEYWORDS = frozenset({"input", "output", "layer"})
_ENDS_ARGUMENT = frozenset({",", ")"})
_ONE_TOKEN = WORD_START | NUMBER_START | {'"', "'"}  # first characters of one-token values


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


def tokens(text: str):
    """(tokens, starts, ends): the token strings and their character offsets, comments
    dropped; or the offset of the first character that is neither in a token nor whitespace
    (an unknown character, an unterminated string, a \r, ...)."""
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
        return _repeats(text, toks, starts, ends)
    return toks, starts, ends


_EXPONENT = re.compile(r"[+-]?[0-9]+[eE][0-9]+")
_DIGITS = re.compile(r"[+-]?[0-9]+")
_WORD = re.compile(_NAME)


def _repeats(text: str, toks: list, starts: list, ends: list):
    """After `*` only INT can come, so Lark's contextual lexer reads `* 2e5 -> y` as the count 2
    and a name `e5` starting the next statement (`* 2e5x` as 2 and `e5x`): split those tokens
    the same way (everything else after `*` is left for the parser to accept or not)."""
    edits = []  # (index of the number, index after the tokens the name takes in, count, name, its offsets)
    j = -1
    try:
        while True:
            j = toks.index("*", j + 1)
            number = toks[j + 1] if j + 1 < len(toks) else ""
            if not _EXPONENT.fullmatch(number):
                continue
            start = starts[j + 1]
            count = _DIGITS.match(number).group()
            name = _WORD.match(text, start + len(count))
            after = j + 2
            while after < len(toks) and starts[after] < name.end():
                after += 1  # a token glued to the number is part of Lark's name
            edits.append((j + 1, after, count, name.group(), (start, start + len(count), name.start(), name.end())))
    except ValueError:  # no `*` left
        pass
    if not edits:
        return toks, starts, ends
    new_toks, new_starts, new_ends = [], [], []
    done = 0
    for at, after, count, name, (a, b, c, d) in edits:
        new_toks += toks[done:at]
        new_starts += starts[done:at]
        new_ends += ends[done:at]
        new_toks += [count, name]
        new_starts += [a, c]
        new_ends += [b, d]
        done = after
    new_toks += toks[done:]
    new_starts += starts[done:]
    new_ends += ends[done:]
    return new_toks, new_starts, new_ends


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
    and last steps. The fast parser accepts a subset of what Lark accepts, so the complete
    elements are sound to Lark as well."""
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
    method takes the index of its first token and returns the index after its last one."""

    def __init__(self, path: str, text: str, toks: list, starts: list, ends: list):
        self.path = path
        self.text = text
        self.toks = toks + ["", ""]  # sentinels: looking one or two past the end is safe
        self.n = len(toks)
        self.starts = starts
        self.ends = ends
        self.spans = SpanTable(path, text)
        self.errors: list = []  # (code, message, (start, end) offsets or Span, hint)
        self.items: list = []  # the index where each top-level item starts
        self.bodies: dict = {}  # item number -> where each statement of its body starts (see shorten)

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
        i, body = self.body(i, ("model", "body"))
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
        i, body = self.body(i, where + ("body",))
        return i, {"name": name, "params": params, "body": body}

    def train(self, i: int):
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
            i = self.expect(i + 1, "=")
            at = ("train", name)
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
        spans[("train",)] = (self.starts[start], self.ends[i])
        return i + 1, settings

    # -- bodies ----------------------------------------------------------------------------
    def body(self, i: int, where: tuple):
        body = {"inputs": [], "layers": [], "chains": [], "outputs": []}
        toks = self.toks
        first = True
        self.bodies[len(self.items) - 1] = starts = []  # where each statement starts, and the "}"
        while True:
            starts.append(i)
            t = toks[i]
            start = i
            if t == "}":
                return i + 1, body
            if t == "input":
                i = self.input_decl(i, where + ("inputs", len(body["inputs"])), body["inputs"])
            elif t == "output":
                i = self.output_decl(i, where, body["outputs"])
            elif t == "layer":
                i = self.layer_decl(i, where + ("layers", len(body["layers"])), body["layers"])
            elif t == "[" or t[:1] in WORD_START:
                i = self.chain(i, where + ("chains", len(body["chains"])), body["chains"])
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
            elif t[:1] in NUMBER_START and t != "->" and "." not in t and "e" not in t and "E" not in t:
                shape.append(int(t))
            else:
                raise Unsure(i)
            spans[where + ("shape", len(shape) - 1)] = self.tok(i)
            i += 1
            if toks[i] == ",":
                i += 1
            elif toks[i] != "]":
                raise Unsure(i)
        spans[where + ("shape",)] = (self.starts[start], self.ends[i])
        entry["shape"] = shape
        return i + 1

    def output_decl(self, i: int, where: tuple, outputs: list) -> int:
        spans, toks = self.spans, self.toks
        i += 1
        while True:
            name = self.word(i)
            spans[where + ("outputs", len(outputs))] = self.tok(i)
            outputs.append(name)
            if toks[i + 1] != ",":
                return i + 1
            i += 2

    def layer_decl(self, i: int, where: tuple, layers: list) -> int:
        spans = self.spans
        name = self.word(i + 1)
        span = self.tok(i + 1)
        spans[where] = span
        spans[where + ("name",)] = span
        i = self.expect(i + 2, "=")
        self.word(i)
        if self.toks[i + 1] != "(":
            raise Unsure(i + 1)
        i, call = self.call(i, where + ("layer",), 1)
        layers.append({"name": name, "layer": call})
        return i

    def chain(self, i: int, where: tuple, chains: list) -> int:
        toks, spans, starts, ends = self.toks, self.spans, self.starts, self.ends
        start = i
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
            if t in STATEMENT_KEYWORDS:  # pragma: no cover - body() sends those elsewhere
                raise Unsure(i)
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
                i, call = self.call(i, at + ("call",), 1)
                entry = {"call": call, "repeat": 1}
                if toks[i] == "*":
                    times = toks[i + 1]
                    if times[:1] not in NUMBER_START or times == "->" or not _is_int(times):
                        raise Unsure(i + 1)
                    spans[at + ("repeat",)] = (starts[i + 1], ends[i + 1])
                    entry["repeat"] = int(times)
                    i += 2
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
        spans[where] = (starts[start], ends[i - 1])
        chains.append({"source": names, "steps": steps, "target": target})
        return i

    # -- values ----------------------------------------------------------------------------
    def call(self, i: int, where: tuple, depth: int):
        """NAME "(" [argument ("," argument)* ","?] ")" at i (the caller has seen the "(")."""
        depth += 1
        if depth > MAX_DEPTH:
            raise Unsure(i)
        toks, spans, starts, ends = self.toks, self.spans, self.starts, self.ends
        start = i
        name = toks[i]
        spans[where + ("call",)] = (starts[i], ends[i])
        i += 2
        args: list = []
        kwargs: dict = {}
        while True:
            t = toks[i]
            if t == ")":
                break
            if toks[i + 1] == "=" and t[:1] in WORD_START and t not in CONSTANTS:
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
            elif toks[i + 1] in _ENDS_ARGUMENT and t[:1] in _ONE_TOKEN:
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
                elif t == "->":
                    raise Unsure(i)
                elif "." in t or "e" in t or "E" in t:
                    value = float(t)
                else:
                    value = int(t)
                spans[at] = span
                args.append(value)
                i += 1
            else:
                at = where + ("args", len(args))
                first = i
                mark = len(self.errors)
                i, value = self.value(i, at, depth)
                if kwargs:
                    self.errors.insert(
                        mark,
                        (
                            "E107",
                            "positional argument after keyword arguments",
                            (starts[first], ends[i - 1]),
                            "put positional arguments first",
                        ),
                    )
                args.append(value)
            t = toks[i]
            if t == ",":
                i += 1
            elif t != ")":
                raise Unsure(i)
        spans[where] = (starts[start], ends[i])
        return i + 1, {"call": name, "args": args, "kwargs": kwargs}

    def value(self, i: int, where: tuple, depth: int):
        """A value at i; records its span at `where` (and those inside it)."""
        toks = self.toks
        t = toks[i]
        c = t[:1]
        if c in WORD_START:
            if t in CONSTANTS:
                self.spans[where] = (self.starts[i], self.ends[i])
                return i + 1, CONSTANTS[t]
            if toks[i + 1] == "(":
                return self.call(i, where, depth)
            self.spans[where] = (self.starts[i], self.ends[i])
            return i + 1, {"ref": t}
        if c in NUMBER_START and t != "->":
            self.spans[where] = (self.starts[i], self.ends[i])
            if "." in t or "e" in t or "E" in t:
                return i + 1, float(t)
            return i + 1, int(t)
        if c == '"' or c == "'":
            self.spans[where] = (self.starts[i], self.ends[i])
            value = self.string(i)
            return i + 1, value
        depth += 1
        if depth > MAX_DEPTH:
            raise Unsure(i)
        start = i
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
            items = []
            i += 1
            while toks[i] != ")":
                i, item = self.value(i, where + ("tuple", len(items)), depth)
                items.append(item)
                if toks[i] == ",":
                    i += 1
                elif toks[i] != ")" or len(items) == 1:  # `(1)` is not a tuple
                    raise Unsure(i)
            out = {"tuple": items}
        elif t == "{":
            entries: dict = {}
            i += 1
            spans = self.spans
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
        self.spans[where] = (self.starts[start], self.ends[i])
        return i + 1, out


def _is_int(t: str) -> bool:
    return "." not in t and "e" not in t and "E" not in t
