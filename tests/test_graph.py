"""`tfspec graph`: DOT text that is well formed, complete, deterministic and injection-proof."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

import tfspec
from tfspec import cli
from tfspec.ir.values import show
from tfspec.tools import graph as graph_tool
from tfspec.tools.graph import quote, to_dot

from .helpers import ROOT, SPECS, spec_path

HAVE_DOT = shutil.which("dot") is not None
needs_dot = pytest.mark.skipif(not HAVE_DOT, reason="Graphviz `dot` is not installed (apt-get install graphviz)")

TOKEN = re.compile(r'\s*(?:("(?:[^"\\]|\\.)*")|(->)|([{}\[\];,=])|([A-Za-z0-9_.#]+))', re.S)


def unquote(token: str) -> str:
    if not token.startswith('"'):
        return token
    text = re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), token[1:-1], flags=re.S)
    return text.replace("&amp;", "&")


def tokens(text: str) -> list:
    out, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        match = TOKEN.match(text, pos)
        assert match and match.end() > pos, f"cannot tokenise DOT at {text[pos : pos + 40]!r}"
        out.append(next(g for g in match.groups() if g is not None))
        pos = match.end()
    return out


def attributes(toks: list) -> dict:
    """`[a=b, c="d"]` tokens (brackets included) -> {a: b, c: d}."""
    found = {}
    inner = [t for t in toks[1:-1] if t != ","]
    for i in range(0, len(inner), 3):
        assert inner[i + 1] == "=", inner
        found[inner[i]] = unquote(inner[i + 2])
    return found


def parse(text: str) -> dict:
    """A small structural DOT reader: nodes, edges and clusters (with their members)."""
    toks = tokens(text)
    assert toks[0] == "digraph" and toks[2] == "{" and toks[-1] == "}"
    nodes, edges, clusters = {}, [], {}
    stack = []  # open clusters
    statement = []
    depth = 0
    for tok in toks[3:-1]:
        if tok == "[":
            depth += 1
        elif tok == "]":
            depth -= 1
        if depth:
            statement.append(tok)
            continue
        if tok == "{":
            assert statement[0] == "subgraph", statement
            name = unquote(statement[1])
            clusters[name] = {"label": None, "members": []}
            stack.append(name)
            statement = []
        elif tok == "}":
            assert not statement and stack, "unbalanced braces"
            stack.pop()
        elif tok == ";":
            if "->" in statement:
                assert statement[1] == "->"
                edges.append((unquote(statement[0]), unquote(statement[2]), attributes(statement[3:])))
            elif statement[0] in ("graph", "node", "edge"):
                attributes(statement[1:])
            elif len(statement) >= 2 and statement[1] == "=":
                if stack and statement[0] == "label":
                    clusters[stack[-1]]["label"] = unquote(statement[2])
            else:
                name = unquote(statement[0])
                assert name not in nodes, f"node {name!r} declared twice"
                nodes[name] = attributes(statement[1:])
                for cluster in stack:
                    clusters[cluster]["members"].append(name)
            statement = []
        else:
            statement.append(tok)
    assert depth == 0 and not stack and not statement, "unbalanced DOT"
    return {"nodes": nodes, "edges": edges, "clusters": clusters}


def layer_paths(graph, prefix=""):
    """DOT node names of the catalog layers and the tensor operations of `graph` (block bodies
    included; values computed from shapes are no node of the model)."""
    paths = []
    for layer in graph.layers:
        if layer.body is not None:
            paths += layer_paths(layer.body, prefix + layer.id + "/")
        else:
            paths.append(prefix + layer.id)
    paths += [prefix + n.layer.id for n in graph.nodes if n.layer.operation and not n.layer.static]
    return paths


@pytest.mark.parametrize("path", SPECS, ids=lambda p: os.path.basename(p))
def test_dot_is_well_formed_and_complete(path):
    spec = tfspec.load(path)
    dot = parse(to_dot(spec))
    nodes = dot["nodes"]
    for tail, head, _ in dot["edges"]:
        assert tail in nodes and head in nodes, (tail, head)
    for inp in spec.model.inputs:
        label = nodes[f"input:{inp.name}"]["label"]
        assert inp.name in label and inp.dtype in label
        assert str(inp.shape[-1]) in label if inp.shape else "(None,)" in label  # a scalar per sample
    for name in spec.model.outputs:
        assert f"output:{name}" in nodes
        assert any(head == f"output:{name}" for _, head, _ in dot["edges"])
    layers = layer_paths(spec.model)
    for layer in layers:
        assert layer in nodes, layer
    for term in spec.model.losses:  # `add_loss kl`: a node of its own, fed by the tensor it adds
        assert any(head == f"add_loss {term.name}" for _, head, _ in dot["edges"])
    terms = len(spec.model.losses)
    assert len(nodes) == len(layers) + len(spec.model.inputs) + len(spec.model.outputs) + terms
    # Every layer is reachable: it has an edge in.
    heads = {head for _, head, _ in dot["edges"]}
    assert all(layer in heads for layer in layers)


def test_labels_show_kind_shape_and_parameters():
    nodes = parse(to_dot(tfspec.load(spec_path("perceptron"))))["nodes"]
    assert nodes["dense_layer"]["label"].split("\n") == ["dense_layer", "Dense", "(None, 10)", "7,850 params"]
    assert nodes["input:pixels"]["label"].split("\n") == ["input pixels", "(None, 784)", "float32"]
    assert nodes["output:probs"]["label"].split("\n") == ["output probs", "(None, 10)"]
    assert nodes["input:pixels"]["shape"] != nodes["output:probs"]["shape"]
    assert nodes["input:pixels"]["fillcolor"] != nodes["output:probs"]["fillcolor"]


def test_shared_layer_is_one_node_with_several_inputs():
    dot = parse(to_dot(tfspec.load(spec_path("shared_embedding"))))
    embed = dot["nodes"]["embed"]
    assert "shared \u00d72" in embed["label"]
    assert "dashed" in embed["style"] and "bold" in embed["style"]
    incoming = sorted((tail, attrs.get("label")) for tail, head, attrs in dot["edges"] if head == "embed")
    assert incoming == [("input:text_a", "#1"), ("input:text_b", "#2")]
    outgoing = sorted((head, attrs.get("label")) for tail, head, attrs in dot["edges"] if tail == "embed")
    assert outgoing == [("prediction_a", "#1"), ("prediction_b", "#2")]
    assert "shared" not in dot["nodes"]["prediction_a"]["label"]


def test_blocks_are_clusters_and_merges_have_several_edges():
    dot = parse(to_dot(tfspec.load(spec_path("residual_cnn"))))
    clusters = dot["clusters"]
    assert sorted(clusters) == ["cluster_conv_bn", "cluster_conv_bn_1", "cluster_conv_bn_2", "cluster_conv_bn_3"]
    assert clusters["cluster_conv_bn_3"]["label"].startswith("conv_bn_3: ConvBN(64)")
    assert clusters["cluster_conv_bn"]["members"] == ["conv_bn/conv2d", "conv_bn/batch_normalization", "conv_bn/re_lu"]
    into_add = sorted(tail for tail, head, _ in dot["edges"] if head == "add")
    assert into_add == ["conv_bn/re_lu", "conv_bn_2/re_lu"]
    assert ("input:image", "conv_bn/conv2d") in [(t, h) for t, h, _ in dot["edges"]]


SHARED_BLOCK = """
block Pair(units) {
    input x
    x -> Dense(units, activation="relu") -> Dense(units) -> y
    output y
}
model SharedBlock {
    input a: float32[4]
    input b: float32[4]
    layer pair = Pair(8)
    a -> pair -> pa
    b -> pair -> pb
    [pa, pb] -> Concatenate() -> out
    output out
}
"""


def test_shared_block_is_one_cluster_drawn_once():
    spec = tfspec.loads(SHARED_BLOCK, "shared_block.tfs")
    dot = parse(to_dot(spec))
    assert list(dot["clusters"]) == ["cluster_pair"]
    assert "shared \u00d72" in dot["clusters"]["cluster_pair"]["label"]
    edges = [(t, h, a.get("label")) for t, h, a in dot["edges"]]
    assert ("input:a", "pair/dense", "#1") in edges and ("input:b", "pair/dense", "#2") in edges
    assert [e for e in edges if e[:2] == ("pair/dense", "pair/dense_1")] == [("pair/dense", "pair/dense_1", None)]
    assert sorted(e for e in edges if e[1] == "concatenate") == [
        ("pair/dense_1", "concatenate", "#1"),
        ("pair/dense_1", "concatenate", "#2"),
    ]


def test_dot_is_deterministic_across_hash_seeds():
    script = (
        "import sys, tfspec\nfrom tfspec.tools.graph import to_dot\n"
        "sys.stdout.write(''.join(to_dot(tfspec.load(p)) for p in sys.argv[1:]))"
    )
    outputs = set()
    for seed in ("0", "1", "4242"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        done = subprocess.run(
            [sys.executable, "-c", script, *SPECS], cwd=ROOT, env=env, capture_output=True, check=True
        )
        outputs.add(done.stdout)
    assert len(outputs) == 1
    assert outputs.pop().decode("utf-8") == "".join(to_dot(tfspec.load(p)) for p in SPECS)


def test_graph_module_does_not_import_tensorflow():
    script = (
        "import argparse, sys\nfrom tfspec.tools import graph as command\n"
        "command.register(argparse.ArgumentParser().add_subparsers())\nprint('tensorflow' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


NASTY = 'q"uote back\\slash\nnew line <b>bold</b> }brace| pipe {x} &amp; \\n \\" end'
INJECTION = r"""
block Tagged(tag) {
    input x
    x -> Dense(3) -> y
    output y
}
model Injection {
    input x: float32[4]
    x -> Dense(4) -> h
    h -> Tagged("q\"uote back\\slash\nnew line <b>bold</b> }brace| pipe {x} &amp; \\n \\\" end") -> y
    output y
}
"""


def injection_spec():
    spec = tfspec.loads(INJECTION, "injection.tfs")
    assert spec.model.layers[1].call.args[0] == NASTY
    return spec


def test_quote_escapes_dot_specials():
    assert quote('a"b\\c\nd') == '"a\\"b\\\\c\\nd"'
    assert quote("<b>&amp;</b>") == '"<b>&amp;amp;</b>"'
    assert quote("bell\x07") == '"bell\\\\x07"'
    assert unquote(quote(NASTY)) == NASTY


def test_injected_label_text_survives_in_dot():
    text = to_dot(injection_spec())
    dot = parse(text)
    assert list(dot["nodes"]) == ["input:x", "dense", "tagged/dense", "output:y"]
    assert show(NASTY) in dot["clusters"]["cluster_tagged"]["label"]


def svg_text(svg: bytes) -> list:
    root = ET.fromstring(svg)
    return [el.text or "" for el in root.iter() if el.tag.endswith("}text")]


@needs_dot
def test_injected_labels_render_with_graphviz():
    svg = graph_tool.render(to_dot(injection_spec()), "svg")
    lines = svg_text(svg)
    for text in (f"tagged: Tagged({show(NASTY)})",):
        expected = text.split("\n")
        start = lines.index(expected[0])
        assert lines[start : start + len(expected)] == expected


@needs_dot
@pytest.mark.parametrize("suffix", [".svg", ".png"])
def test_cli_renders_pictures(tmp_path, suffix):
    out = tmp_path / f"model{suffix}"
    assert cli.main(["graph", spec_path("residual_cnn"), "-o", str(out)]) == 0
    data = out.read_bytes()
    if suffix == ".png":
        assert data.startswith(b"\x89PNG\r\n\x1a\n")
    else:
        root = ET.fromstring(data)
        assert root.tag.endswith("svg")
        assert "conv_bn_3: ConvBN(64)" in svg_text(data)
    assert sorted(os.listdir(tmp_path)) == [out.name]  # no temporary files left behind


def test_cli_writes_dot_and_prints_to_stdout(tmp_path, capsys):
    path = spec_path("shared_embedding")
    out = tmp_path / "model.dot"
    assert cli.main(["graph", path, "-o", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == to_dot(tfspec.load(path))
    assert cli.main(["graph", path]) == 0
    assert capsys.readouterr().out == to_dot(tfspec.load(path))


def test_cli_rejects_unknown_suffix(tmp_path, capsys):
    assert cli.main(["graph", spec_path("perceptron"), "-o", str(tmp_path / "model.jpeg")]) == 2
    assert "end the name with one of" in capsys.readouterr().err
    assert not os.listdir(tmp_path)


def test_cli_without_graphviz_says_to_install_it(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(graph_tool.shutil, "which", lambda name: None)
    assert cli.main(["graph", spec_path("perceptron"), "-o", str(tmp_path / "model.svg")]) == 2
    err = capsys.readouterr().err
    assert "install Graphviz" in err and ".dot" in err and "Traceback" not in err
    assert not os.listdir(tmp_path)


def test_failed_render_keeps_the_previous_picture(tmp_path, capsys, monkeypatch):
    false = shutil.which("false")
    if false is None:
        pytest.skip("no `false` program to stand in for a failing Graphviz")
    out = tmp_path / "model.svg"
    out.write_text("previous picture")
    monkeypatch.setattr(graph_tool.shutil, "which", lambda name: false)
    assert cli.main(["graph", spec_path("perceptron"), "-o", str(out)]) == 1
    assert "Graphviz failed" in capsys.readouterr().err
    assert out.read_text() == "previous picture"
    assert os.listdir(tmp_path) == ["model.svg"]


def test_cli_reports_spec_errors(tmp_path, capsys):
    assert cli.main(["graph", str(tmp_path / "missing.tfs")]) == 1
    assert "no such file" in capsys.readouterr().err
