"""`tfspec fmt`: one canonical layout for .tfs files. No TensorFlow.

The layout:

* 4-space indentation; top-level sections (`block`, `model`, `train`, `search`) separated by one
  blank line; inside a body the user's blank lines between statements are kept (a run of them
  becomes one).
* A chain stays on one line when it fits in 100 columns; otherwise it is broken before each `->`,
  the arrows aligned under the first one (`image -> Flatten()` / `      -> Dense(10)` / ...).
* Settings in `train` and hyperparameters in `search` are aligned on `=`; `name = value` there,
  `name=value` in arguments. A repetition count is `* 3` or `* depth`.
* A call, list, tuple or dict that does not fit, or holds a comment, is written one item per
  line with a trailing comma.
* Numbers and strings are written as in the source; `true`/`false` become `True`/`False`.
* `if` statements are laid out like a body (`if cond {`, the statements one step in, `} else {`).
* Operators are spaced (`a * b + 1`, `x == 1`, `not x`) except unary minus (`-x`), indexes and
  slices are glued (`x[:, 0]`, `x[1:2]`); parentheses, which the tree does not keep, are written
  where Python's precedence needs them (`a - (b - c)`, `-(a + b)`; the negation of a number is
  `-(1)`, since `-1` is the number -1). An operator expression is not broken at its operators:
  when it does not fit, the brackets of its calls, lists and indexes are broken as above (an
  index without a comma after its last item, which Python would read as a tuple index).
* Every comment is kept, in order: an end-of-line comment stays at the end of a line (runs of
  them aligned), a comment on its own line stays on its own line.
* Lines end with LF. CRLF and a lone CR are line breaks when reading, as for `tfspec check` and
  editors (a comment ends at any of them); `fmt` writes LF, and `fmt --check` reports a file
  with other line endings, saying so, with a diff of what else would change.

The layout is computed as a list of operations (text with the source offset it comes from,
and line breaks); the comments are then woven in by offset. Before returning, the result is
parsed again and compared with the original tree and comments, so `fmt` cannot change meaning.
"""

from __future__ import annotations

import bisect
import difflib
import os
import re
import sys
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import pairwise

from lark import Lark, Token, Tree

from ..diagnostics import SpecError, clean
from ..files import write_atomic
from ..frontend.parser import grammar_path, parse
from ..frontend.source import decode, normalise_newlines, read_source

WIDTH = 100
STEP = 4

# How a line break treats the blank lines of the source before what follows it.
PLAIN = "plain"  # inside brackets and chains: never a blank line
KEEP = "keep"  # between statements: a blank line where the source has one
FIRST = "first"  # after `{` or at the top of the file: none before the first line, then as KEEP
TOP = "top"  # between top-level sections: always one before the first line, then as KEEP
CLOSE = "close"  # before `}` and the like: comments as KEEP, none before the bracket itself


class FormatError(Exception):
    """The formatter produced text that does not mean the same as its input (a bug in fmt)."""


# -- comments -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Comment:
    text: str
    start: int
    end: int
    own_line: bool  # nothing but blanks before it on its line


class _Collector:
    """A Lark lexer callback gathering the COMMENT tokens the grammar ignores."""

    def __init__(self):
        self.found: list = []

    def __call__(self, token):
        self.found.append(token)
        return token


_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def _comment_parser() -> tuple:
    collector = _Collector()
    lark = Lark.open(
        grammar_path(),
        parser="lalr",
        lexer="contextual",
        propagate_positions=True,
        maybe_placeholders=True,
        lexer_callbacks={"COMMENT": collector},
    )
    return lark, collector


def parse_with_comments(text: str, filename: str = "<string>") -> tuple[Tree, list[Comment]]:
    """The tree of `text` and its comments; SpecError (as `tfspec check` reports it) on bad syntax."""
    parse(text, filename)  # the project's parser: its friendly diagnostics for bad input
    lark, collector = _comment_parser()
    with _LOCK:
        collector.found = []
        tree = lark.parse(text)
        tokens = collector.found
    comments = []
    for token in tokens:
        line_start = text.rfind("\n", 0, token.start_pos) + 1
        own_line = not text[line_start : token.start_pos].strip()
        comments.append(Comment(str(token).rstrip(), token.start_pos, token.end_pos, own_line))
    return tree, comments


# -- flat text --------------------------------------------------------------------------------------
def items(node: Tree) -> list:
    return [c for c in node.children if c is not None]


def flat(node) -> str:
    """`node` written on one line."""
    if isinstance(node, Token):
        return str(node)
    kind = node.data
    if kind in ("int", "float", "string", "ref"):
        return str(node.children[0])
    if kind in ("true", "false", "none"):
        return {"true": "True", "false": "False", "none": "None"}[kind]
    if kind == "call":
        name, *args = node.children
        return f"{name}({', '.join(flat(a) for a in args if a is not None)})"
    if kind in ("kwarg", "param"):
        name, value = node.children
        return str(name) if value is None else f"{name}={flat(value)}"
    if kind == "pair":
        key, value = node.children
        return f"{key}: {flat(value)}"
    if kind in ("list", "source_many"):
        return "[" + ", ".join(flat(c) for c in items(node)) + "]"
    if kind == "tuple":
        parts = [flat(c) for c in items(node)]
        return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"
    if kind == "dict":
        pairs = items(node)
        return "{ " + ", ".join(flat(p) for p in pairs) + " }" if pairs else "{}"
    if kind == "source_one":
        return str(node.children[0])
    if kind == "step_call":
        call, *using, times = node.children
        using = [a for a in using if a is not None]
        second = "(" + ", ".join(flat(a) for a in using) + ")" if using else ""
        return flat(call) + second + (f" * {times}" if times is not None else "")
    if kind == "step_name":
        return str(node.children[0])
    if kind in RANK or kind in ("slice", "ellipsis"):
        return flat_expression(node)
    raise AssertionError(f"fmt: unhandled node {kind}")


# -- expressions ------------------------------------------------------------------------------------
# How tightly each operator binds (Python's order); anything else is an atom. The tree keeps no
# parentheses, so they are written back wherever an operand binds more loosely than its place needs.
RANK = {
    "or_": 1,
    "and_": 2,
    "not_": 3,
    "compare": 4,
    "add": 5,
    "sub": 5,
    "mul": 6,
    "div": 6,
    "floordiv": 6,
    "mod": 6,
    "neg": 7,
    "index": 8,
    "attr": 8,
    "apply": 8,
}
ATOM = 9
SYMBOLS = {"or_": "or", "and_": "and", "add": "+", "sub": "-", "mul": "*", "div": "/", "floordiv": "//", "mod": "%"}
BINARY = (*SYMBOLS, "compare")
POSTFIX = ("index", "attr", "apply")


def rank(node) -> int:
    return RANK.get(node.data, ATOM) if isinstance(node, Tree) else ATOM


def symbol(node: Tree) -> str:
    return str(node.children[1]) if node.data == "compare" else SYMBOLS[node.data]


def parenthesised(parent: Tree, child, i: int) -> bool:
    """Must `child`, operand `i` of `parent`, be written in parentheses to parse back as itself?"""
    kind = parent.data
    number = isinstance(child, Tree) and child.data in ("int", "float")
    if kind == "neg":
        # `-1` is the number -1 and `- 1` reads too much like it: the negation of a number, or of
        # a negation, is written `-(1)`, `-(-x)`
        return rank(child) < RANK["neg"] or number or child.data == "neg"
    if kind == "not_":
        return rank(child) < RANK["not_"]
    if kind in POSTFIX:
        # `1.x` would read as the number `1.` then a name, `{...}[0]` as a dict then a list, and
        # `f(x)` as a call of the layer or function `f`, not of the value named f
        called = kind == "apply" and child.data == "ref"
        return rank(child) < RANK[kind] or number or child.data == "dict" or called
    if kind == "compare":  # comparisons do not chain: `(a < b) == c`
        return rank(child) <= RANK["compare"]
    return rank(child) < RANK[kind] + i  # left-associative: `a - (b - c)`, `a - b - c`


def flat_operand(parent: Tree, child, i: int) -> str:
    text = flat(child)
    return f"({text})" if parenthesised(parent, child, i) else text


def flat_expression(node: Tree) -> str:
    kind = node.data
    if kind in BINARY:
        left, right = node.children[0], node.children[-1]
        return f"{flat_operand(node, left, 0)} {symbol(node)} {flat_operand(node, right, 1)}"
    if kind in ("neg", "not_"):
        return ("-" if kind == "neg" else "not ") + flat_operand(node, node.children[0], 0)
    if kind == "ellipsis":
        return "..."
    if kind == "slice":
        first, stop, step = (flat(p) if p is not None else "" for p in node.children)
        return f"{first}:{stop}" + (f":{step}" if node.children[2] is not None else "")
    obj, *rest = node.children
    if kind == "attr":
        return f"{flat_operand(node, obj, 0)}.{rest[0]}"
    opening, closing = ("[", "]") if kind == "index" else ("(", ")")
    return flat_operand(node, obj, 0) + opening + ", ".join(flat(c) for c in rest if c is not None) + closing


def start(node) -> int:
    return node.start_pos if isinstance(node, Token) else node.meta.start_pos


def end(node) -> int:
    return node.end_pos if isinstance(node, Token) else node.meta.end_pos


def outer_start(node) -> int:
    """Where `node` starts, counting the parentheses written around it (they leave no tree)."""
    return start(node) if isinstance(node, Token) else getattr(node.meta, "container_start_pos", start(node))


def outer_end(node) -> int:
    """Where `node` ends, counting the parentheses written around it."""
    return end(node) if isinstance(node, Token) else getattr(node.meta, "container_end_pos", end(node))


# -- layout -----------------------------------------------------------------------------------------
@dataclass
class Put:
    text: str
    pos: int  # comments before this source offset are written before the text


@dataclass
class Break:
    indent: int
    mode: str = PLAIN
    comment_indent: int | None = None  # where own-line comments go (default: indent)


class Layout:
    """Walks the tree and records the canonical layout as Put and Break operations."""

    def __init__(self, text: str, comments: list[Comment]):
        self.text = text
        self.comments = {c.start: c for c in comments}
        self.starts = sorted(self.comments)
        self.ops: list = []
        self.col = 0
        self.level = 0  # the indentation of the statement being laid out

    # -- operations and measurements
    def put(self, text: str, pos: int) -> None:
        self.ops.append(Put(text, pos))
        self.col += len(text)

    def newline(self, indent: int, mode: str = PLAIN, comment_indent: int | None = None) -> None:
        self.ops.append(Break(indent, mode, comment_indent))
        self.col = indent

    def has_comment(self, begin: int, stop: int) -> bool:
        i = bisect.bisect_left(self.starts, begin)
        return i < len(self.starts) and self.starts[i] < stop

    def fits(self, width: int) -> bool:
        return self.col + width <= WIDTH

    def skip(self, pos: int) -> int:
        """The offset of the next token at or after `pos` (past blanks and comments)."""
        while True:
            while pos < len(self.text) and self.text[pos] in " \t\f\r\n":
                pos += 1
            if pos not in self.comments:
                return pos
            pos = self.comments[pos].end

    def find(self, symbol: str, pos: int) -> int:
        """Offset of `symbol`, which must be the next token at or after `pos`."""
        pos = self.skip(pos)
        if not self.text.startswith(symbol, pos):
            raise AssertionError(f"fmt: expected {symbol!r} at offset {pos}")
        return pos

    # -- top level
    def spec(self, tree: Tree) -> None:
        for i, item in enumerate(tree.children):
            self.newline(0, FIRST if i == 0 else TOP)
            getattr(self, item.data)(item)

    def model(self, node: Tree) -> None:
        name, *stmts = node.children
        self.put("model ", start(node))
        self.put(str(name), start(name))
        self.put(" {", end(name))
        self.body([s for s in stmts if s is not None], end(name), end(node) - 1)

    def block(self, node: Tree) -> None:
        name, *rest = node.children
        params = [c for c in rest if isinstance(c, Tree) and c.data == "param"]
        stmts = [c for c in rest if isinstance(c, Tree) and c.data != "param"]
        self.put("block ", start(node))
        self.put(str(name), start(name))
        closing = self.skip(end(params[-1]) if params else self.find("(", end(name)) + 1)
        if self.text[closing] == ",":  # a trailing comma
            closing = self.skip(closing + 1)
        self.bracketed("(", end(name), params, ")", closing, base=0, suffix=2, span=(end(name), closing))
        self.put(" {", closing + 1)
        self.body(stmts, closing + 1, end(node) - 1)

    def train(self, node: Tree, keyword: str = "train") -> None:
        settings = items(node)
        self.put(keyword, start(node))
        self.put(" {", start(node) + len(keyword))
        width = max((len(str(s.children[0])) for s in settings), default=0)
        self.body(settings, start(node) + len(keyword), end(node) - 1, width)

    def search(self, node: Tree) -> None:
        """`search { units = choice(64, 128) ... }`: laid out like `train`, its names aligned."""
        self.train(node, "search")

    def setting(self, node: Tree, width: int) -> None:
        name, value = node.children
        self.put(str(name).ljust(width), start(name))
        self.put(" = ", self.find("=", end(name)))
        self.value(value, base=self.level)

    def body(self, stmts: list, opening: int, closing: int, width: int = 0) -> None:
        """Statements (or settings, their names padded to `width`) between the braces at `opening`
        (or the end of the header before it) and `closing`, one step in from the current level."""
        if not stmts and not self.has_comment(opening, closing):
            self.put("}", closing)  # an empty body: {}
            return
        outer = self.level
        self.level = outer + STEP
        for i, stmt in enumerate(stmts):
            self.newline(self.level, FIRST if i == 0 else KEEP)
            if stmt.data == "setting":
                self.setting(stmt, width)
            else:
                getattr(self, stmt.data)(stmt)
        self.level = outer
        self.newline(outer, CLOSE, outer + STEP)
        self.put("}", closing)

    # -- statements
    def input_decl(self, node: Tree) -> None:
        name, ttype = node.children
        self.put("input ", start(node))
        self.put(str(name), start(name))
        if ttype is None:
            return
        self.put(":", self.find(":", end(name)))
        dtype, *dims = ttype.children
        dims = [d for d in dims if d is not None]
        self.put(" " + (str(dtype) if dtype is not None else ""), start(ttype))
        opening = end(dtype) if dtype is not None else start(ttype)
        self.bracketed("[", opening, dims, "]", end(ttype) - 1, self.level, suffix=0, span=(opening, end(ttype)))

    def output_decl(self, node: Tree) -> None:
        names = node.children
        self.put("output ", start(node))
        self.put(str(names[0]), start(names[0]))
        for before, name in pairwise(names):
            self.put(",", end(before))
            self.put(" " + str(name), start(name))

    def add_loss(self, node: Tree) -> None:
        self.put("add_loss ", start(node))
        self.names(node.children)

    def layer_decl(self, node: Tree) -> None:
        name, call = node.children
        self.put("layer ", start(node))
        self.put(str(name), start(name))
        self.put(" = ", self.find("=", end(name)))
        self.value(call, base=self.level)

    def assign(self, node: Tree) -> None:
        *names, value = node.children
        self.names(names)
        self.put(" = ", self.find("=", end(names[-1])))
        self.value(value, base=self.level)

    def names(self, names: list) -> None:
        """`a, b, c` from the current column."""
        self.put(str(names[0]), start(names[0]))
        for before, name in pairwise(names):
            self.put(",", self.find(",", end(before)))
            self.put(" " + str(name), start(name))

    def if_stmt(self, node: Tree, lead: str = "if ") -> None:
        condition, then, otherwise = node.children
        self.put(lead, start(node))
        self.value(condition, base=self.level, suffix=2)
        self.branch(then)
        if otherwise is None:
            return
        at = self.find("else", end(then))
        if self.has_comment(end(then), at):  # `}  # note` then `else {` on a line of its own
            self.newline(self.level)
        self.put(" else", at)
        if otherwise.data == "if_stmt":
            self.if_stmt(otherwise, " if ")
        else:
            self.branch(otherwise)

    def branch(self, node: Tree) -> None:
        self.put(" {", start(node))
        self.body(items(node), start(node) + 1, end(node) - 1)

    def chain(self, node: Tree) -> None:
        source, *rest = node.children
        steps = [c for c in rest if isinstance(c, Tree)]
        names = [c for c in rest if isinstance(c, Token)]  # `-> out, h, c`: the names after the first
        one_line = flat(source) + "".join(" -> " + flat(s) for s in steps) + "".join(f", {n}" for n in names)
        if not self.has_comment(start(node), end(node)) and self.fits(len(one_line)):
            self.put(one_line, start(node))
            return
        self.chain_part(source)
        arrow = self.col + 1  # the column of the first arrow, which the others line up under
        for i, step in enumerate(steps):
            if i > 0 or self.has_comment(end(source), start(step)):
                self.newline(arrow)
                self.put("-> ", start(step))
            else:
                self.put(" -> ", start(step))
            self.chain_part(step)
        for before, name in pairwise([steps[-1], *names]):
            self.put(",", self.find(",", end(before)))
            self.put(" " + str(name), start(name))

    def chain_part(self, part: Tree) -> None:
        """A chain's source or one step, written from the current column."""
        base = self.col
        if part.data == "source_many":
            names = items(part)
            self.bracketed("[", start(part), names, "]", end(part) - 1, base, 0, (start(part), end(part)))
        elif part.data == "step_call":
            call, *using, times = part.children
            using = [a for a in using if a is not None]
            tail = len(f" * {times}") if times is not None else 0
            after = end(call)
            if using:  # the second argument list: `LSTM(8)(initial_state=[h, c])`
                self.value(call, base, suffix=1)
                opening = self.find("(", end(call))
                closing = self.skip(outer_end(using[-1]))
                if self.text[closing] == ",":  # a trailing comma
                    closing = self.skip(closing + 1)
                self.bracketed("(", opening, using, ")", closing, base, tail, (opening, closing + 1))
                after = closing + 1
            else:
                self.value(call, base, suffix=tail)
            if times is not None:
                self.put(" *", self.find("*", after))
                self.put(" " + str(times), start(times))
        else:
            self.put(flat(part), start(part))

    # -- values
    def value(self, node, base: int, suffix: int = 0) -> None:
        """A value from the current column; `suffix`: width of what must follow it on the line."""
        kind = node.data if isinstance(node, Tree) else None
        if kind == "call":
            name, *args = node.children
            args = [a for a in args if a is not None]
            self.put(str(name), start(name))
            self.bracketed("(", end(name), args, ")", end(node) - 1, base, suffix, (start(node), end(node)))
        elif kind == "list":
            self.bracketed("[", start(node), items(node), "]", end(node) - 1, base, suffix, (start(node), end(node)))
        elif kind == "tuple":
            self.bracketed(
                "(",
                start(node),
                items(node),
                ")",
                end(node) - 1,
                base,
                suffix,
                (start(node), end(node)),
                one_comma=True,
            )
        elif kind == "dict":
            self.bracketed(
                "{", start(node), items(node), "}", end(node) - 1, base, suffix, (start(node), end(node)), spaced=True
            )
        elif kind in ("kwarg", "pair", "param"):
            key, value = node.children
            self.put(str(key), start(key))
            if value is not None:
                sign = ":" if kind == "pair" else "="
                self.put(sign + (" " if kind == "pair" else ""), self.find(sign, end(key)))
                self.value(value, base, suffix)
        elif (kind in RANK or kind == "slice") and (
            self.has_comment(start(node), end(node)) or not self.fits(len(flat(node)) + suffix)
        ):
            self.expression(node, base, suffix)
        else:
            self.put(flat(node), start(node))

    def expression(self, node: Tree, base: int, suffix: int) -> None:
        """An operator, index, attribute, call of a value or slice written piece by piece, so that
        the brackets inside it can break and the comments inside it find their place."""
        kind = node.data
        if kind in BINARY:
            left, right = node.children[0], node.children[-1]
            sign = symbol(node)
            at = start(node.children[1]) if kind == "compare" else self.find(sign, outer_end(left))
            self.operand(node, left, 0, base, len(sign) + 1)
            self.put(f" {sign} ", at)
            self.operand(node, right, 1, base, suffix)
        elif kind in ("neg", "not_"):
            self.put("-" if kind == "neg" else "not ", start(node))
            self.operand(node, node.children[0], 0, base, suffix)
        elif kind == "attr":
            obj, name = node.children
            dot = self.find(".", outer_end(obj))
            self.operand(node, obj, 0, base, len(name) + 1 + suffix)
            self.put(".", dot)
            self.put(str(name), start(name))
        elif kind == "slice":
            pos = start(node)
            parts = node.children
            last = max((k for k, p in enumerate(parts) if p is not None), default=-1)
            for k, part in enumerate(parts):
                if k == 1 or (k == 2 and part is not None):
                    colon = self.find(":", pos)
                    self.put(":", colon)
                    pos = colon + 1
                if part is not None:
                    self.value(part, base, suffix if k == last else 1)
                    pos = outer_end(part)
        else:  # index, apply
            obj, *rest = node.children
            opening, closing = ("[", "]") if kind == "index" else ("(", ")")
            at = self.find(opening, outer_end(obj))
            # a comment between `(x` and `)[0]` must not end up between `x` and `[`
            kept = kind == "index" and self.has_comment(end(obj), at)
            self.operand(node, obj, 0, base, 1, kept)
            elements = [c for c in rest if c is not None]
            # no comma after an index's last item: `x[0,]` would read to Python as a tuple index
            last_comma = kind == "apply"
            self.bracketed(
                opening, at, elements, closing, end(node) - 1, base, suffix, (at, end(node)), last_comma=last_comma
            )

    def operand(self, parent: Tree, child, i: int, base: int, suffix: int, wrap: bool = False) -> None:
        """Operand `i` of `parent`, in parentheses where it needs them."""
        if not (wrap or parenthesised(parent, child, i)):
            self.value(child, base, suffix)
            return
        self.put("(", outer_start(child))
        self.value(child, base, suffix + 1)
        self.put(")", outer_end(child))

    def bracketed(
        self,
        opening: str,
        open_pos: int,
        elements: list,
        closing: str,
        close_pos: int,
        base: int,
        suffix: int,
        span: tuple,
        one_comma: bool = False,
        spaced: bool = False,
        last_comma: bool = True,
    ) -> None:
        """Brackets around comma-separated elements: on one line if they fit and hold no comment,
        else one element per line, indented one step from `base`, each followed by a comma (but
        the last when not `last_comma`)."""
        parts = [flat(e) for e in elements]
        inner = ", ".join(parts) + ("," if one_comma and len(parts) == 1 else "")
        if spaced and parts:
            inner = f" {inner} "
        one_line = opening + inner + closing
        if not self.has_comment(*span) and self.fits(len(one_line) + suffix):
            self.put(one_line, open_pos)
            return
        self.put(opening, open_pos)
        for i, element in enumerate(elements):
            self.newline(base + STEP)
            self.value(element, base + STEP, suffix=1)
            if last_comma or i < len(elements) - 1:
                self.put(",", end(element))
        self.newline(base, CLOSE, base + STEP)
        self.put(closing, close_pos)


# -- weaving the comments in ----------------------------------------------------------------------
@dataclass
class Line:
    code: str = ""
    comment: str | None = None  # an end-of-line comment
    own_comment: bool = False  # the whole line is a comment


@dataclass
class Weaver:
    text: str
    comments: list
    lines: list = field(default_factory=list)
    indent: int = 0  # of the current line, or of the line it continues after a comment forced a break

    def blank_before(self, pos: int) -> bool:
        """Does the source have a blank line just before offset `pos`?"""
        newlines = 0
        while pos > 0 and self.text[pos - 1] in " \t\f\r\n":
            pos -= 1
            newlines += self.text[pos] == "\n"
        return pos > 0 and newlines >= 2

    def start_line(self, indent: int, blank: bool) -> None:
        if blank and self.lines and self.lines[-1].code:
            self.lines.append(Line())
        self.lines.append(Line(" " * indent))

    def has_code(self) -> bool:
        return bool(self.lines) and bool(self.lines[-1].code.strip()) and not self.lines[-1].own_comment

    def weave(self, ops: list) -> str:
        queue = list(self.comments)
        queue.reverse()  # pop() from the end: the next comment in source order
        pending: Break | None = None
        for op in ops:
            if isinstance(op, Break):
                pending = op
                continue
            due = []
            while queue and queue[-1].start < op.pos:
                due.append(queue.pop())
            text = op.text
            forced = bool(due) and pending is None
            if forced:  # a comment between two tokens of one line: break there, one step in
                pending = Break(self.indent + STEP)
            if due and not due[0].own_line and self.has_code() and self.lines[-1].comment is None:
                self.lines[-1].comment = due.pop(0).text
            if pending is not None:
                self.break_line(pending, due, op.pos)
                if not forced:
                    self.indent = pending.indent
                pending = None
                text = text.lstrip()
            self.lines[-1].code += text
        rest = list(reversed(queue))
        if rest and not rest[0].own_line and self.has_code() and self.lines[-1].comment is None:
            self.lines[-1].comment = rest.pop(0).text
        for comment in rest:
            self.comment_line(comment, 0, self.blank_before(comment.start))
        return self.render()

    def break_line(self, where: Break, comments: list, pos: int) -> None:
        first = True
        indent = where.indent if where.comment_indent is None else where.comment_indent
        for comment in comments:
            self.comment_line(comment, indent, self.wants_blank(where.mode, first, self.blank_before(comment.start)))
            first = False
        blank = where.mode != CLOSE and self.wants_blank(where.mode, first, self.blank_before(pos))
        self.start_line(where.indent, blank)

    def comment_line(self, comment: Comment, indent: int, blank: bool) -> None:
        self.start_line(indent, blank)
        self.lines[-1].code += comment.text
        self.lines[-1].own_comment = True

    @staticmethod
    def wants_blank(mode: str, first: bool, in_source: bool) -> bool:
        if mode == PLAIN:
            return False
        if mode == TOP and first:
            return True
        if mode == FIRST and first:
            return False
        return in_source

    def render(self) -> str:
        """The lines as text; end-of-line comments on consecutive lines share a column (except on
        lines that open or close a body)."""
        out = []
        run: list = []

        def flush():
            column = max(len(line.code.rstrip()) for line in run) + 2
            out.extend(line.code.rstrip().ljust(column) + line.comment for line in run)
            run.clear()

        for line in self.lines:
            code = line.code.rstrip()
            if line.comment is not None and not (code.endswith("{") or code.lstrip().startswith("}")):
                run.append(line)
                continue
            if run:
                flush()
            out.append(code if line.comment is None else f"{code}  {line.comment}")
        if run:
            flush()
        while out and not out[-1]:
            out.pop()
        return "\n".join(out) + "\n"


# -- the public function --------------------------------------------------------------------------
def format_text(text: str, filename: str = "<string>") -> str:
    """`text` in the canonical layout, lines ending with LF. Raises SpecError if it does not parse."""
    text = normalise_newlines(text)  # offsets, comments and blank lines as an editor sees them
    tree, comments = parse_with_comments(text, filename)
    layout = Layout(text, comments)
    layout.spec(tree)
    result = Weaver(text, comments).weave(layout.ops)
    check_same(tree, comments, result, filename)
    return result


def check_same(tree: Tree, comments: list, result: str, filename: str) -> None:
    """Refuse a result whose tree or comments differ from the input's (a formatter bug)."""
    try:
        again, again_comments = parse_with_comments(result, filename)
    except SpecError as exc:
        raise FormatError(f"the formatted text of {filename} does not parse: {exc}") from None
    if again != tree:
        raise FormatError(f"formatting {filename} would change its meaning")
    if [c.text for c in again_comments] != [c.text for c in comments]:
        raise FormatError(f"formatting {filename} would lose or reorder comments")


# -- the command ----------------------------------------------------------------------------------
def register(subparsers) -> None:
    p = subparsers.add_parser("fmt", help="rewrite specs in the canonical layout (--check: only report)")
    p.add_argument("files", nargs="+", metavar="SPEC", help="spec files; `-` formats standard input to standard output")
    p.add_argument(
        "--check", action="store_true", help="change nothing; print a diff and exit 1 if a file is not formatted"
    )
    p.set_defaults(run=run)


def run(args) -> int:
    status = 0
    for path in args.files:
        status = max(status, fmt_one(path, args.check))
    return status


def fmt_one(path: str, check: bool) -> int:
    """Format one file (or `-`): 0 when nothing was wrong, 1 otherwise."""
    try:
        text = decode(sys.stdin.buffer.read(), "<stdin>") if path == "-" else read_source(path)
        result = format_text(text, "<stdin>" if path == "-" else path)
    except SpecError as exc:
        print(exc.render(), file=sys.stderr)
        return 1
    except FormatError as exc:
        print(f"tfspec: error: {clean(str(exc))}; the file is left as it is (please report this)", file=sys.stderr)
        return 1
    if path == "-" and not check:
        sys.stdout.write(result)
        return 0
    if result == text:
        return 0
    if check:
        shown = clean(path)
        source = normalise_newlines(text)
        if source != text:
            print(f"{shown}: line breaks would be written as LF (the file has CRLF or CR line breaks)")
        sys.stdout.writelines(
            difflib.unified_diff(
                lines_of(source),
                lines_of(result),
                fromfile=shown,
                tofile=f"{shown} (formatted)",
            )
        )
        return 1
    try:
        write_atomic(path, result)
    except OSError as exc:
        print(f"tfspec: error: cannot write {clean(path)}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print(f"formatted {clean(os.path.normpath(path))}")
    return 0


def lines_of(text: str) -> list[str]:
    """Lines of LF-only text with their ends (str.splitlines would also cut at form feeds and
    U+2028, which are not line breaks in a spec)."""
    return [line for line in re.split(r"(?<=\n)", text) if line]
