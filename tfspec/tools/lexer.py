"""A Pygments lexer for .tfs specs (syntax highlighting in docs, `pygmentize -l tfspec`).

Registered for Pygments through the entry point

    [project.entry-points."pygments.lexers"]
    tfspec = "tfspec.tools.lexer:TfspecLexer"

Layer kinds come from the layer catalog, so a layer added there, or by a plugin, is highlighted too.

A sign belongs to a number only where a value starts, as in the grammar: `x[-1]` and `f(-1)` hold
the number -1, `a -1` and `a-1` subtract 1 from a.
"""

from __future__ import annotations

from pygments.lexer import RegexLexer, bygroups, words
from pygments.token import Comment, Keyword, Name, Number, Operator, Punctuation, String, Whitespace

from ..ir.catalog import ALIASES, REGISTRY

IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
DTYPES = ("float16", "bfloat16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool", "string")


class TfspecLexer(RegexLexer):
    """Lexer for tfspec model specs (.tfs)."""

    name = "tfspec"
    aliases = ["tfspec", "tfs"]
    filenames = ["*.tfs"]
    mimetypes = ["text/x-tfspec"]

    tokens = {
        "root": [
            (r"[ \t\f\r\n]+", Whitespace),
            (r"#[^\r\n]*", Comment.Single),  # a comment ends at LF, CRLF or a lone CR, as in the grammar
            (r'"(?:[^"\\\n\r]|\\[^\n\r])*"', String.Double),
            (r"'(?:[^'\\\n\r]|\\[^\n\r])*'", String.Single),
            (r"->|\.\.\.|//|==|!=|<=|>=", Operator),
            (r"[+-]?(?:\d+\.\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]?\d+[eE][+-]?\d+", Number.Float),
            (r"[+-]?\d+", Number.Integer),
            (r"[-+*/%<>=]", Operator),  # after the numbers, whose sign it would otherwise take
            (rf"(model|block)(\s+)({IDENT})", bygroups(Keyword.Declaration, Whitespace, Name.Class)),
            (words(("model", "block", "train", "search"), suffix=r"\b"), Keyword.Declaration),
            (words(("input", "output", "layer", "add_loss", "if", "else", "and", "or", "not"), suffix=r"\b"), Keyword),
            (words(("True", "False", "None", "true", "false"), suffix=r"\b"), Keyword.Constant),
            (words(DTYPES, suffix=r"\b"), Keyword.Type),
            (words(tuple(REGISTRY) + tuple(ALIASES), suffix=r"\b"), Name.Builtin),
            (IDENT + r"(?=\s*\()", Name.Function),
            (IDENT, Name),
            (r"[()\[\]{},:]", Punctuation),
            (r"\.", Operator),
        ],
    }

    def get_tokens_unprocessed(self, text, stack=("root",)):
        """The regex tokens, with the sign split off a number that follows an operand (`a -1`)."""
        operand_ended = False
        _plugins_loaded()
        for pos, kind, value in super().get_tokens_unprocessed(text, stack):
            if (kind is Name or kind is Name.Function) and value in REGISTRY:  # a plugin's layer
                kind = Name.Builtin
            if kind in Number and value[0] in "+-" and operand_ended:
                yield pos, Operator, value[0]
                pos, value = pos + 1, value[1:]
            yield pos, kind, value
            if kind not in Whitespace and kind not in Comment:
                operand_ended = ends_operand(kind, value)


def _plugins_loaded() -> None:
    """The installed plugins' layers are layer kinds too; a broken plugin only goes unhighlighted."""
    from ..plugins import PluginError, autoload

    try:
        autoload()
    except PluginError:
        pass


def ends_operand(kind, value: str) -> bool:
    """Can the token end a value, so that a `+` or `-` after it is an operator?"""
    if kind in Punctuation:
        return value in ")]}"
    if kind in Keyword:
        return kind in Keyword.Constant or kind in Keyword.Type
    return kind in Name or kind in Number or kind in String
