"""`tfspec lsp`: the language server, driven over stdio as an editor drives it, and its handlers.

The protocol test spawns `python -m tfspec lsp` and speaks Content-Length framed JSON-RPC to it.
The handler tests check diagnostics against `tfspec check`'s (same codes, places), UTF-16
positions on lines with non-ASCII text, hover, completion, formatting against `tfspec fmt`, and
that no handler raises on a corpus of broken specs.
"""

from __future__ import annotations

import glob
import json
import os
import subprocess
import sys

import pytest
from lsprotocol import types

import tfspec
from tfspec.lsp.completion import complete
from tfspec.lsp.diagnostics import publishable
from tfspec.lsp.documents import Document, analyse
from tfspec.lsp.editing import formatting, symbols
from tfspec.lsp.hover import hover_text
from tfspec.lsp.navigation import all_references, definition, rename
from tfspec.lsp.positions import span_range, to_column, units
from tfspec.lsp.semantic import LEGEND, semantic_tokens, tokens
from tfspec.tools.fmt import format_text

from .helpers import ROOT

SPECS = sorted(glob.glob(os.path.join(ROOT, "specs", "*.tfs")))
MNIST = os.path.join(ROOT, "specs", "mnist_cnn.tfs")


def read(path: str) -> str:
    with open(path, encoding="utf-8") as f:
        return f.read()


def doc_of(text: str, uri: str = "file:///w/a.tfs") -> Document:
    return analyse(Document(uri), text)


def at(line: int, character: int) -> types.Position:
    return types.Position(line=line, character=character)


# -- the protocol, over stdio ---------------------------------------------------------------------
class Client:
    """A minimal LSP client: framed JSON-RPC over the server's stdin and stdout."""

    def __init__(self):
        env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tfspec", "lsp"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=ROOT,
            env=env,
        )
        self.next_id = 0
        self.notifications = []

    def send(self, message: dict) -> None:
        body = json.dumps(message).encode("utf-8")
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()

    def receive(self) -> dict:
        length = None
        while True:
            line = self.proc.stdout.readline()
            assert line, "the server closed its output: " + self.proc.stderr.read().decode()
            line = line.strip()
            if not line:
                break
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
        return json.loads(self.proc.stdout.read(length))

    def request(self, method: str, params) -> dict:
        self.next_id += 1
        self.send({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params})
        while True:
            message = self.receive()
            if message.get("id") == self.next_id and "method" not in message:
                return message
            self.notifications.append(message)

    def notify(self, method: str, params) -> None:
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def notification(self, method: str) -> dict:
        for i, message in enumerate(self.notifications):
            if message.get("method") == method:
                return self.notifications.pop(i)
        while True:
            message = self.receive()
            if message.get("method") == method:
                return message
            self.notifications.append(message)


BROKEN = '# café ☕\nmodel M {\n    input x: float32[4]\n    x -> Dense("é😀", 3) -> y\n    output y\n}\n'


def test_protocol_round_trip():
    client = Client()
    try:
        reply = client.request("initialize", {"processId": None, "rootUri": None, "capabilities": {}})
        caps = reply["result"]["capabilities"]
        assert caps["hoverProvider"] and caps["documentFormattingProvider"] and "completionProvider" in caps
        client.notify("initialized", {})
        uri = "file:///w/broken.tfs"
        client.notify(
            "textDocument/didOpen",
            {"textDocument": {"uri": uri, "languageId": "tfspec", "version": 1, "text": BROKEN}},
        )
        published = client.notification("textDocument/publishDiagnostics")["params"]
        assert published["uri"] == uri
        first = published["diagnostics"][0]
        assert first["code"] == "E404" and first["source"] == "tfspec"
        # `"é😀"` starts at code point 15 of line 4; the emoji is two UTF-16 units, so it ends at 20.
        assert first["range"] == {"start": {"line": 3, "character": 15}, "end": {"line": 3, "character": 20}}

        # a change that fixes it clears the diagnostics
        fixed = BROKEN.replace('"é😀", 3', "3")
        client.notify(
            "textDocument/didChange",
            {"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"text": fixed}]},
        )
        assert client.notification("textDocument/publishDiagnostics")["params"]["diagnostics"] == []

        hovered = client.request("textDocument/hover", {"textDocument": {"uri": uri}, "position": at_json(3, 10)})
        assert "Dense" in hovered["result"]["contents"]["value"]
        assert "(batch, 3)" in hovered["result"]["contents"]["value"]

        found = client.request(
            "textDocument/references",
            {"textDocument": {"uri": uri}, "position": at_json(4, 12), "context": {"includeDeclaration": True}},
        )["result"]
        assert [r["range"]["start"] for r in found] == [at_json(3, 21), at_json(4, 11)]  # `-> y`, `output y`

        defined = client.request("textDocument/definition", {"textDocument": {"uri": uri}, "position": at_json(4, 12)})
        places = defined["result"] if isinstance(defined["result"], list) else [defined["result"]]
        assert [p["range"]["start"] for p in places] == [at_json(3, 21)]  # `output y` -> where `-> y` makes it
        assert places[0]["uri"] == uri

        completed = client.request(
            "textDocument/completion", {"textDocument": {"uri": uri}, "position": at_json(3, 15)}
        )
        labels = {item["label"] for item in completed["result"]["items"]}
        assert {"activation=", "use_bias="} <= labels

        edits = client.request(
            "textDocument/formatting",
            {"textDocument": {"uri": uri}, "options": {"tabSize": 4, "insertSpaces": True}},
        )["result"]
        assert edits == [] or edits[0]["newText"] == format_text(fixed)

        client.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
        assert client.notification("textDocument/publishDiagnostics")["params"]["diagnostics"] == []

        assert client.request("shutdown", None).get("error") is None
        client.notify("exit", None)
        assert client.proc.wait(timeout=20) == 0
    finally:
        if client.proc.poll() is None:
            client.proc.kill()
            client.proc.wait()


def at_json(line: int, character: int) -> dict:
    return {"line": line, "character": character}


def test_no_tensorflow_in_the_server():
    script = (
        "import sys\n"
        "from tfspec.lsp.server import make_server\n"
        "from tfspec.lsp.documents import Document, analyse\n"
        "make_server()\n"
        f"analyse(Document('file:///a.tfs'), open({MNIST!r}).read())\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'tf_keras')))\n"
    )
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]"


# -- positions ------------------------------------------------------------------------------------
def test_utf16_units():
    assert units("abc") == 3
    assert units("é") == 1  # in the Basic Multilingual Plane: one unit
    assert units("😀") == 2  # outside it: a surrogate pair
    assert units("😀", "utf-8") == 4 and units("😀", "utf-32") == 1
    line = "a😀b"
    assert to_column(line, 0) == 0 and to_column(line, 1) == 1 and to_column(line, 3) == 2
    assert to_column(line, 99) == len(line)


def test_diagnostic_after_non_ascii_text_on_the_same_line():
    # the string before the second error holds an accent and an emoji, so the error's column
    # in UTF-16 units is one more than in code points.
    doc = doc_of(BROKEN)
    published = publishable(doc)
    second = published[1]
    assert second.code == "E404" and "activation" in second.message
    line = doc.lines[3]
    assert line[to_column(line, second.range.start.character)] == "3"
    assert second.range.start.character == line.index("3)") + 1  # one more: the emoji is two units


@pytest.mark.parametrize(
    "text",
    [
        "model M {\n    input x: float32[4]\n    x -> Dense(4) -> y\n    output z\n}\n",
        "model M {\n    input x: float32[4]\n    x -> Dens(4) -> y\n    output y\n}\n",
        "model M {\n    input x: float32[4]\n    [x, x] -> Add() -> y\n    output y\n}\ntrain {\n    epochs = 0\n}\n",
        "model M {\n    input x float32[4]\n}\n",
        "model M {\r\n    input café: float32[4]\r\n    café -> Dense(-1) -> y\r\n    output y\r\n}\r\n",
    ],
)
def test_diagnostics_are_checks(text):
    with pytest.raises(tfspec.SpecError) as info:
        tfspec.loads(text, "/w/a.tfs")
    doc = doc_of(text)
    published = publishable(doc)
    assert [d.code for d in published] == [d.code for d in info.value.diagnostics]
    for mine, theirs in zip(published, info.value.diagnostics):
        assert mine.source == "tfspec"
        assert mine.message.startswith(theirs.message)
        if theirs.hint:
            assert mine.message.endswith("\nhint: " + theirs.hint)
        # ASCII before each error here: UTF-16 columns are code-point columns, 0-based
        assert mine.range.start == at(theirs.span.line - 1, theirs.span.column - 1)


def test_last_good_parse_is_kept():
    doc = doc_of(read(MNIST))
    spec = doc.spec
    analyse(doc, doc.text.replace("Flatten()", "Flatten("))
    assert doc.diagnostics and doc.spec is spec
    assert "Conv2D" in hover_text(doc, at(5, 16))


# -- hover ----------------------------------------------------------------------------------------
def test_hover_on_a_layer_call_says_shape_and_parameters():
    doc = doc_of(read(MNIST))
    text = hover_text(doc, at(5, 16))  # `Conv2D(32, 3, ...)` on line 6
    assert "keras.layers.Conv2D" in text and "(batch, 26, 26, 32)" in text
    assert "320 parameters" in text  # 3*3*1*32 + 32, as Keras counts it
    assert "| `filters` | positive int | required |" in text


def test_hover_on_tensor_and_block():
    doc = doc_of(read(MNIST))
    assert hover_text(doc, at(3, 12)) == "`image`: float32 (batch, 28, 28, 1)"
    assert "float32 (batch, 10)" in hover_text(doc, at(12, 13))
    doc = doc_of(read(os.path.join(ROOT, "specs", "residual_cnn.tfs")))
    assert "block ConvBN(filters, kernel=3)" in hover_text(doc, at(2, 8))
    assert hover_text(doc, at(0, 0)) is None  # a comment: nothing


# -- completion -----------------------------------------------------------------------------------
def labels(doc, pos) -> set:
    return {item.label for item in complete(doc, pos).items}


def test_completion_contexts():
    doc = doc_of(read(os.path.join(ROOT, "specs", "residual_cnn.tfs")))
    everywhere = labels(doc, at(14, 4))
    assert {"Dense", "Conv2D", "ConvBN", "image", "stem", "model"} <= everywhere
    inside = complete(doc, at(4, 16)).items  # just after `Conv2D(`
    padding = next(i for i in inside if i.label == "padding=")
    assert "default" in padding.detail
    train_line = doc.lines.index("train {") + 1
    assert {"epochs", "optimizer", "steps_per_call"} <= labels(doc, at(train_line, 4))


def test_completion_includes_plugin_layers():
    from tfspec.ir.catalog import REGISTRY

    plugin = [name for name, d in REGISTRY.items() if d.plugin is not None]
    assert plugin, "the test session loads the example plugin (conftest.py)"
    assert set(plugin) <= labels(doc_of(read(MNIST)), at(5, 10))


# -- formatting and symbols -----------------------------------------------------------------------
@pytest.mark.parametrize("path", SPECS[:6], ids=os.path.basename)
def test_formatting_is_fmt(path):
    text = read(path)
    messy = text.replace("    ", "  ").replace(" -> ", "->")
    doc = doc_of(messy)
    edits = formatting(doc)
    assert len(edits) == 1 and edits[0].new_text == format_text(messy)
    assert edits[0].range.start == at(0, 0) and edits[0].range.end.line == len(doc.lines) - 1
    assert formatting(doc_of(format_text(text))) == []


def test_symbols():
    doc = doc_of(read(os.path.join(ROOT, "specs", "residual_cnn.tfs")))
    found = {s.name: s for s in symbols(doc)}
    assert set(found) == {"ConvBN", "ResidualCNN", "train"}
    assert {c.name for c in found["ResidualCNN"].children} == {"image", "probs"}


# -- no handler raises --------------------------------------------------------------------------
def test_handlers_are_total_on_a_fuzz_corpus():
    import random

    from .fuzz import mutations

    rng = random.Random(13)
    texts = [read(p) for p in SPECS] + ["", "\n", "model", "model M {", "(((", "é😀\r\n\r"]
    for _ in range(150):
        _, mutated = mutations(rng, rng.choice(texts[: len(SPECS)]))
        texts.append(mutated.decode("utf-8", "replace") if isinstance(mutated, bytes) else mutated)
    for text in texts:
        doc = doc_of(text)
        for d in publishable(doc):
            assert 0 <= d.range.start.line <= d.range.end.line < max(len(doc.lines), 1)
        formatting(doc)
        symbols(doc)
        semantic_tokens(doc)
        for _ in range(6):
            pos = at(rng.randrange(len(doc.lines) + 2), rng.randrange(120))
            hover_text(doc, pos)
            complete(doc, pos)
            all_references(doc, pos)
            rename(doc, pos, "renamed")


def test_a_failing_handler_answers_empty():
    from tfspec.lsp.server import total

    @total([])
    def broken(server, params):
        raise ValueError("boom")

    assert broken(None, None) == []


def test_span_range_without_end():
    span = tfspec.Span("a.tfs", 2, 3)
    r = span_range(["ab", "xé😀z"], span)
    assert r.start == at(1, 2) and r.end == at(1, 5)


# -- definition, references, rename ---------------------------------------------------------------
def test_references_and_rename_of_a_tensor():
    path = os.path.join(ROOT, "specs", "shared_embedding.tfs")
    doc = doc_of(read(path))
    row = doc.lines.index("    output pred_a, pred_b")
    pos = at(row, doc.lines[row].index("pred_a") + 2)
    found = [(loc.range.start.line, loc.range.start.character) for loc in all_references(doc, pos)]
    result_row = next(i for i, line in enumerate(doc.lines) if line.endswith("-> pred_a"))
    assert found[0] == (result_row, doc.lines[result_row].index("pred_a"))  # the definition first
    loss_row = next(i for i, line in enumerate(doc.lines) if line.lstrip().startswith("loss"))
    assert len(found) == 3 and found[-1][0] == loss_row  # the train section names it too
    assert definition(doc, pos).range.start.line == result_row

    edit = rename(doc, pos, "spoken_a")
    renamed = apply(doc, edit.changes[doc.uri])
    spec = tfspec.loads(renamed, "a.tfs")  # still a valid spec, with the new output name
    assert spec.model.outputs == ["spoken_a", "pred_b"]
    assert rename(doc, pos, "pred_b") is None  # taken
    assert rename(doc, pos, "not a name") is None


def test_rename_a_block_and_a_declared_layer_with_non_ascii_before():
    text = read(os.path.join(ROOT, "specs", "residual_cnn.tfs")).replace("# A small", "# café 😀 A small")
    doc = doc_of(text)
    row = next(i for i, line in enumerate(doc.lines) if line.startswith("block ConvBN"))
    edit = rename(doc, at(row, 8), "ConvNorm")
    renamed = apply(doc, edit.changes[doc.uri])
    assert "ConvBN" not in renamed and set(tfspec.loads(renamed, "a.tfs").blocks) == {"ConvNorm"}
    # a name inside a block is the block's own: `x` there is not the model's
    inner = [loc.range.start.line for loc in all_references(doc, at(row + 1, 10))]
    assert inner and all(row < line < row + 8 for line in inner)
    doc = doc_of(read(os.path.join(ROOT, "specs", "shared_embedding.tfs")))
    row = next(i for i, line in enumerate(doc.lines) if "layer embed" in line)
    assert len(all_references(doc, at(row, 12))) == 3
    assert all_references(doc, at(0, 3)) == []  # a comment


def apply(doc, edits) -> str:
    """The text after `edits` (one line each, UTF-16 columns), applied from the last."""
    lines = list(doc.lines)
    for e in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True):
        line = lines[e.range.start.line]
        start, end = to_column(line, e.range.start.character), to_column(line, e.range.end.character)
        lines[e.range.start.line] = line[:start] + e.new_text + line[end:]
    return "\n".join(lines)


# -- semantic tokens ------------------------------------------------------------------------------
def test_semantic_tokens():
    doc = doc_of(BROKEN.replace('"é😀", 3', '3, name="dense_e"'))
    assert doc.spec is not None
    found = {doc.lines[row][start:end]: kind for row, start, end, kind in tokens(doc)}
    assert found["Dense"] == "class" and found["x"] == "variable" and found["name"] == "parameter"
    assert found["float32"] == "type" and found["model"] == "keyword" and found["# café ☕"] == "comment"
    doc = doc_of(BROKEN)  # it does not load: strings and the like are still marked
    data = semantic_tokens(doc).data
    quintuples = [data[i : i + 5] for i in range(0, len(data), 5)]
    string = next(q for q in quintuples if q[3] == LEGEND.index("string"))
    assert string[2] == 5  # `"é😀"`: two quotes, é, and the emoji's two UTF-16 units
    rows = [0]
    for q in quintuples:
        rows.append(rows[-1] + q[0])
    assert rows[1:] == sorted(rows[1:])


# -- the search section ---------------------------------------------------------------------------
SEARCHED = """block Unit(units, norm=false) {
    input x
    x -> Dense(units) -> y
    output y
}

model Searched {
    input x: float32[16]
    x -> Unit(units, norm=bn) * depth -> Dropout(rate) -> Dense(1) -> y
    output y
}

train {
    optimizer = Adam(learning_rate=lr)
    loss      = mse
}

search {
    units = choice(64, 128, 256)  # widths
    depth = int(1, 3)
    lr    = float(1e-4, 1e-2, log=true)
    bn    = boolean(default=true)
    rate  = float(0.1, 0.5, step=0.1, default=0.2)
}
"""


def where(doc, text: str, word: str, nth: int = 0) -> types.Position:
    """The position inside `word` on the `nth` line holding `text`."""
    row = [i for i, line in enumerate(doc.lines) if text in line][nth]
    return at(row, doc.lines[row].index(word, doc.lines[row].index(text)) + 1)


@pytest.mark.parametrize(
    "text",
    [
        SEARCHED.replace("choice(64, 128, 256)", 'choice(64, "wide")'),  # E801
        SEARCHED.replace("* depth", "* layers"),  # E802
        SEARCHED.replace("Dense(1)", "Conv2D(4, units)"),  # a layer error at every point
        SEARCHED.replace("Dense(1)", "Reshape((4, 4))").replace("64, 128, 256", "16, 32"),  # at units = 32 only
    ],
)
def test_search_diagnostics_are_checks(text):
    with pytest.raises(tfspec.SpecError) as info:
        tfspec.loads(text, "/w/a.tfs")
    published = publishable(doc_of(text))
    assert [d.code for d in published] == [d.code for d in info.value.diagnostics]
    for mine, theirs in zip(published, info.value.diagnostics):
        assert mine.message.startswith(theirs.message)
        assert mine.range.start == at(theirs.span.line - 1, theirs.span.column - 1)


def test_a_diagnostic_at_a_non_default_point_names_the_values():
    text = SEARCHED.replace("Dense(1)", "Reshape((4, 4))").replace("64, 128, 256", "16, 32")
    (only,) = publishable(doc_of(text))
    assert "(with units = 32)" in only.message and "hint: " in only.message
    assert only.range.start.line == 8  # the model's chain, where the Reshape is


def test_hover_on_a_hyperparameter():
    doc = doc_of(SEARCHED)
    text = hover_text(doc, where(doc, "-> Unit(", "units"))
    assert text.startswith("```\nunits = choice(64, 128, 256)\n```") and "default `64`" in text
    assert "line 19" in text
    assert hover_text(doc, where(doc, "units = choice", "units")) == text  # its definition
    assert "lr = float(0.0001, 0.01, log=true)" in hover_text(doc, where(doc, "learning_rate=lr", "lr"))
    assert "default `True`" in hover_text(doc, where(doc, "norm=bn", "bn"))
    assert "step=0.1" in hover_text(doc, where(doc, "Dropout(rate)", "rate"))
    # in a block, `units` is the block's parameter, not the hyperparameter
    assert hover_text(doc, where(doc, "Dense(units)", "units")) is None


def test_completion_in_and_for_the_search_section():
    doc = doc_of(SEARCHED)
    row = doc.lines.index("    depth = int(1, 3)")
    kinds = complete(doc, at(row, len("    depth = "))).items
    assert [i.label for i in kinds] == ["choice", "int", "float", "boolean"]
    assert all(i.insert_text_format == types.InsertTextFormat.Snippet for i in kinds)
    assert labels(doc, at(row, 4)) == set()  # a new name: nothing to offer
    assert labels(doc, at(row, len("    depth = int(1, "))) == {"step=", "log=", "default="}
    assert labels(doc, at(row + 2, len("    bn    = boolean("))) == {"default="}
    # elsewhere, the hyperparameters are values
    model_row = doc.lines.index("    output y", 7)
    found = {i.label: i for i in complete(doc, at(model_row, 4)).items}
    assert {"units", "depth", "lr", "bn", "rate", "Dense"} <= set(found)
    assert found["units"].detail == "choice(64, 128, 256), default 64"
    assert {"units", "rate"} <= labels(doc, where(doc, "Dropout(rate)", "rate"))  # inside a call
    assert "lr" in labels(doc, where(doc, "learning_rate=lr", "lr"))
    train_row = doc.lines.index("train {") + 1
    assert "epochs" in labels(doc, at(train_row, 4))
    # a block's body sees hyperparameters only through its parameters
    block_row = doc.lines.index("    x -> Dense(units) -> y")
    assert "depth" not in labels(doc, at(block_row, 4))
    assert "depth" not in labels(doc, at(block_row, len("    x -> Dense(")))


def test_definition_references_and_rename_of_a_hyperparameter():
    doc = doc_of(SEARCHED)
    use = where(doc, "-> Unit(", "units")
    search_row = doc.lines.index("    units = choice(64, 128, 256)  # widths")
    assert definition(doc, use).range.start == at(search_row, 4)  # below its use: still first
    found = [(loc.range.start.line, loc.range.start.character) for loc in all_references(doc, use)]
    assert found == [(search_row, 4), (use.line, use.character - 1)]  # not the block's `units`
    lr = [loc.range.start.line for loc in all_references(doc, where(doc, "lr    =", "lr"))]
    assert lr == [search_row + 2, doc.lines.index("    optimizer = Adam(learning_rate=lr)")]

    renamed = apply(doc, rename(doc, use, "width").changes[doc.uri])
    spec = tfspec.loads(renamed, "a.tfs")
    assert spec.point["width"] == 64 and "units" not in spec.point
    assert "block Unit(units, norm=false)" in renamed and "x -> Dense(units) -> y" in renamed
    assert rename(doc, use, "depth") is None and rename(doc, use, "y") is None  # taken
    # the block's parameter is the block's own (navigation does not follow parameters)
    assert all_references(doc, where(doc, "Dense(units)", "units")) == []


def test_the_outline_lists_the_hyperparameters():
    doc = doc_of(SEARCHED)
    found = {s.name: s for s in symbols(doc)}
    assert set(found) == {"Unit", "Searched", "train", "search"}
    names = found["search"].children
    assert [c.name for c in names] == ["units", "depth", "lr", "bn", "rate"]
    assert names[0].detail == "choice(64, 128, 256)" and names[0].range.start == at(18, 4)
    assert found["search"].range.start == at(18, 4) and found["search"].range.end.line == 22


def test_semantic_tokens_of_a_search_section():
    doc = doc_of(SEARCHED)
    found = {(row, doc.lines[row][start:end]): kind for row, start, end, kind in tokens(doc)}
    search_row = doc.lines.index("search {")
    assert found[(search_row, "search")] == "keyword"
    assert found[(search_row + 1, "units")] == "parameter" and found[(search_row + 1, "choice")] == "function"
    assert found[(search_row + 2, "int")] == "function" and found[(search_row + 3, "float")] == "function"
    assert found[(search_row + 3, "log")] == "parameter" and found[(search_row + 4, "boolean")] == "function"
    chain = doc.lines.index("    x -> Unit(units, norm=bn) * depth -> Dropout(rate) -> Dense(1) -> y")
    for name in ("units", "bn", "depth", "rate"):
        assert found[(chain, name)] == "parameter"
    assert found[(doc.lines.index("    optimizer = Adam(learning_rate=lr)"), "lr")] == "parameter"
    assert (doc.lines.index("    x -> Dense(units) -> y"), "units") not in found  # the block's own name


def test_handlers_are_total_on_broken_search_sections():
    import random

    from .fuzz import mutations

    rng = random.Random(801)
    texts = [SEARCHED, SEARCHED.replace("}\n", "", 1), "search {", "search { a = ", "search { a = choice("]
    for _ in range(40):
        _, mutated = mutations(rng, SEARCHED)
        texts.append(mutated.decode("utf-8", "replace") if isinstance(mutated, bytes) else mutated)
    good = doc_of(SEARCHED)
    for text in texts:
        for doc in (doc_of(text), analyse(Document(good.uri, spec=good.spec), text)):  # fresh; last good kept
            publishable(doc)
            formatting(doc)
            symbols(doc)
            semantic_tokens(doc)
            for _ in range(6):
                pos = at(rng.randrange(len(doc.lines) + 2), rng.randrange(60))
                hover_text(doc, pos)
                complete(doc, pos)
                all_references(doc, pos)
                rename(doc, pos, "renamed")
