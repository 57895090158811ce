"""The editor support in editors/: the VS Code manifest, its TextMate grammar, and the grammar tests.

The grammar is checked three ways: statically (its regexes compile, its keyword lists are the
Pygments lexer's), by a small Python scanner that tokenises every example spec with it and compares
comments, strings, numbers and signs with the lexer's tokens, and, where node and npm are installed
and npm's registry answers, by the annotated samples under editors/vscode/tests/ run through
vscode-tmgrammar-test (the real TextMate engine VS Code uses).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import pytest
from pygments.token import Comment, Keyword, Number, Operator, String

from tfspec.tools import lexer

from .helpers import ROOT, SPECS

VSCODE = os.path.join(ROOT, "editors", "vscode")
GRAMMAR_PATH = os.path.join(VSCODE, "syntaxes", "tfspec.tmLanguage.json")
# Oniguruma constructs Python's `re` lacks; a regex using one is left to the npm grammar tests.
ONIGURUMA_ONLY = ("\\G", "\\h", "\\H", "\\p{", "\\A", "(?~", "\\k<")


def load(*parts: str):
    with open(os.path.join(VSCODE, *parts), encoding="utf-8") as f:
        return json.load(f)


@pytest.fixture(scope="module")
def grammar():
    with open(GRAMMAR_PATH, encoding="utf-8") as f:
        return json.load(f)


# -- the manifest -------------------------------------------------------------------------------------
def test_package_json_declares_language_grammar_and_server_setting():
    pkg = load("package.json")
    for key in ("name", "publisher", "version", "engines", "main", "contributes", "scripts"):
        assert key in pkg, key
    assert os.path.isfile(os.path.join(VSCODE, pkg["main"]))
    (language,) = pkg["contributes"]["languages"]
    assert language["id"] == "tfspec" and language["extensions"] == [".tfs"]
    assert load(language["configuration"])["comments"]["lineComment"] == "#"
    (grammar_entry,) = pkg["contributes"]["grammars"]
    assert grammar_entry["language"] == "tfspec"
    assert os.path.normpath(os.path.join(VSCODE, grammar_entry["path"])) == GRAMMAR_PATH
    with open(GRAMMAR_PATH, encoding="utf-8") as f:
        assert grammar_entry["scopeName"] == json.load(f)["scopeName"]
    settings = pkg["contributes"]["configuration"]["properties"]
    assert settings["tfspec.server.command"]["default"] == "tfspec"
    assert settings["tfspec.server.args"]["default"] == ["lsp"]
    assert "vscode-languageclient" in pkg["dependencies"]
    assert {"@vscode/vsce", "vscode-tmgrammar-test"} <= set(pkg["devDependencies"])
    assert "vscode-tmgrammar-test" in pkg["scripts"]["test"] and "vsce package" in pkg["scripts"]["package"]


def test_language_configuration_pairs_every_bracket():
    config = load("language-configuration.json")
    pairs = {tuple(p) for p in config["brackets"]}
    assert pairs == {("{", "}"), ("[", "]"), ("(", ")")}
    closing = {(p["open"], p["close"]) for p in config["autoClosingPairs"]}
    assert pairs | {('"', '"'), ("'", "'")} <= closing
    increase = re.compile(config["indentationRules"]["increaseIndentPattern"])
    assert increase.match("model Net {") and increase.match("  if a {  # why") and not increase.match("# {")
    assert re.compile(config["indentationRules"]["decreaseIndentPattern"]).match("  }")


def test_node_modules_and_packages_are_not_committed():
    with open(os.path.join(VSCODE, ".gitignore"), encoding="utf-8") as f:
        ignored = f.read().split()
    assert "node_modules/" in ignored and "*.vsix" in ignored


# -- the grammar, statically --------------------------------------------------------------------------
def rules(node):
    """Every rule object in the grammar, nested ones included."""
    if isinstance(node, dict):
        if any(k in node for k in ("match", "begin", "include", "patterns")):
            yield node
        for value in node.values():
            yield from rules(value)
    elif isinstance(node, list):
        for item in node:
            yield from rules(item)


def test_grammar_has_its_keys_and_every_include_resolves(grammar):
    assert grammar["scopeName"] == "source.tfspec"
    assert grammar["fileTypes"] == ["tfs"]
    assert grammar["name"] == "tfspec" and grammar["patterns"] and grammar["repository"]
    for rule in rules([grammar["patterns"], grammar["repository"]]):
        if "include" in rule:
            assert rule["include"].startswith("#") and rule["include"][1:] in grammar["repository"], rule
        if "begin" in rule:
            assert "end" in rule, rule
        for key in ("name", "contentName"):
            if key in rule:
                assert rule[key].endswith(".tfspec"), rule[key]


def test_every_grammar_regex_compiles(grammar):
    compiled = 0
    for rule in rules(grammar):
        for key in ("match", "begin", "end"):
            if key in rule and not any(token in rule[key] for token in ONIGURUMA_ONLY):
                re.compile(rule[key])
                compiled += 1
    assert compiled >= 20  # all of today's; the escape hatch above is for later ones


def alternation(grammar, key: str) -> set[str]:
    """The words of a repository rule written as `\\b(?:a|b|c)\\b`."""
    found = re.fullmatch(r"\\b\(\?:([A-Za-z0-9_|]+)\)\\b", grammar["repository"][key]["match"])
    assert found, grammar["repository"][key]["match"]
    return set(found.group(1).split("|"))


def lexer_words(kind) -> set[str]:
    (found,) = [rule.words for rule, token in lexer.TfspecLexer.tokens["root"] if token is kind]
    return set(found)


def test_grammar_keywords_are_the_lexers(grammar):
    assert alternation(grammar, "declaration-keyword") == lexer_words(Keyword.Declaration)
    statement = {"conditional-keyword", "logical-keyword", "statement-keyword"}
    assert set().union(*(alternation(grammar, k) for k in statement)) == lexer_words(Keyword)
    assert alternation(grammar, "constant") == lexer_words(Keyword.Constant)
    assert alternation(grammar, "dtype") == lexer_words(Keyword.Type) == set(lexer.DTYPES)


# -- the grammar at work: a small TextMate scanner --------------------------------------------------
def flatten(grammar, patterns):
    """The top-level rules in the order the TextMate engine tries them at one position."""
    for rule in patterns:
        if "include" in rule:
            yield from flatten(grammar, [grammar["repository"][rule["include"][1:]]])
        elif "match" in rule or "begin" in rule:
            yield rule
        else:
            yield from flatten(grammar, rule["patterns"])


def scan_line(grammar, line: str):
    """(start, end, scope) of each token of one line: the earliest match wins, then the first rule.

    Enough of TextMate for this grammar: match rules with captures, and one-line begin/end rules
    whose inner patterns (string escapes) are skipped over when looking for the end.
    """
    top = [(rule, re.compile(rule.get("match") or rule["begin"])) for rule in flatten(grammar, grammar["patterns"])]
    pos = 0
    while pos < len(line):
        best = None
        for rule, regex in top:
            found = regex.search(line, pos)
            if found and (best is None or found.start() < best[1].start()):
                best = (rule, found)
        if best is None:
            return
        rule, found = best
        if "match" in rule:
            if "name" in rule:
                yield found.start(), found.end(), rule["name"]
            for group, capture in rule.get("captures", {}).items():
                if found.group(int(group)):
                    yield found.start(int(group)), found.end(int(group)), capture["name"]
            pos = max(found.end(), pos + 1)
            continue
        inner = [re.compile(r["match"]) for r in flatten(grammar, rule.get("patterns", []))]
        end, at = re.compile(rule["end"]), found.end()
        while at < len(line):
            skip = next((m for m in (r.match(line, at) for r in inner) if m), None)
            if skip:
                at = skip.end()
                continue
            closing = end.match(line, at)
            if closing:
                at = closing.end()
                break
            at += 1
        yield found.start(), at, rule["name"]
        pos = at


def category(scope_or_token) -> str | None:
    """Comment, string, number, or a sign operator: what the grammar and the lexer must agree on."""
    if isinstance(scope_or_token, str):
        for prefix, name in (("comment.", "comment"), ("string.", "string"), ("constant.numeric", "number")):
            if scope_or_token.startswith(prefix):
                return name
        return "operator" if scope_or_token.startswith("keyword.operator.arithmetic") else None
    for kind, name in ((Comment, "comment"), (String, "string"), (Number, "number"), (Operator, "operator")):
        if scope_or_token in kind:
            return name
    return None


def grammar_tokens(grammar, text: str) -> set[tuple[int, str, str]]:
    out, offset = set(), 0
    for line in text.split("\n"):
        for start, end, scope in scan_line(grammar, line):
            name = category(scope)
            if name and (name != "operator" or line[start:end] in "+-"):
                out.add((offset + start, line[start:end], name))
        offset += len(line) + 1
    return out


def lexer_tokens(text: str) -> set[tuple[int, str, str]]:
    out = set()
    for pos, kind, value in lexer.TfspecLexer().get_tokens_unprocessed(text):
        name = category(kind)
        if name and (name != "operator" or value in "+-"):
            out.add((pos, value, name))
    return out


TRICKY = """\
model Net {  # comment after code
  input x: float32[None, 4]
  y = a -1 + x[-1] - f(-1) * g(2)-3 + "q\\"s" -2 + 'it\\'s' + .5e-3 - 1.
  z = not -1 or 1e+5 and True -2  # "not a string"
}
"""


@pytest.mark.parametrize("name", ["tricky"] + [os.path.basename(p) for p in SPECS])
def test_grammar_tokenises_like_the_lexer(grammar, name):
    if name == "tricky":
        text = TRICKY
    else:
        with open(os.path.join(ROOT, "specs", name), encoding="utf-8") as f:
            text = f.read().replace("\r\n", "\n").replace("\r", "\n")
    expected = lexer_tokens(text)
    assert expected  # every sample has something to compare
    assert grammar_tokens(grammar, text) == expected


def test_the_scanner_sees_signs_the_way_the_lexer_does(grammar):
    """Guards the comparison above: the sign rules matter, and the scanner applies them."""
    tokens = grammar_tokens(grammar, "a -1 x[-1]")
    assert (2, "-", "operator") in tokens and (3, "1", "number") in tokens
    assert (7, "-1", "number") in tokens


# -- the grammar tests, through npm -------------------------------------------------------------------
def npm_skip_reason() -> str | None:
    if not (shutil.which("node") and shutil.which("npm")):
        return "node and npm are not on PATH"
    try:
        subprocess.run(["npm", "ping"], cwd=VSCODE, capture_output=True, timeout=30, check=True)
    except (subprocess.SubprocessError, OSError):
        return "npm's registry is not reachable"
    return None


@pytest.mark.slow
def test_textmate_grammar_tests_pass_under_npm(tmp_path):
    reason = npm_skip_reason()
    if reason:
        pytest.skip(reason)
    # A copy, so that npm ci neither needs nor replaces the checkout's node_modules.
    for name in ("package.json", "package-lock.json"):
        shutil.copy(os.path.join(VSCODE, name), tmp_path / name)
    for folder in ("syntaxes", "tests"):
        shutil.copytree(os.path.join(VSCODE, folder), tmp_path / folder)
    for argv in (["npm", "ci", "--no-audit", "--no-fund"], ["npm", "test"]):
        done = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    assert "tests/tokens.tfs run successfuly" in done.stdout and "tests/tricky.tfs" in done.stdout
