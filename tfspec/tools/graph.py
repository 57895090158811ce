"""`tfspec graph`: a Graphviz picture of a model. No TensorFlow.

One box per layer object (a shared layer is one box with an edge in per application), one
cluster per block instance holding its inner layers, and distinct shapes for inputs and outputs.
The DOT text depends only on the spec, so it is byte-identical from run to run. Every label is a
quoted DOT string built by `quote`, so user text (a layer's `name="..."`) cannot break the file.

Block instances with the same arguments and input shapes share one body. When drawing every
instance out would make more than MAX_BOXES boxes (blocks that each use the next one twice), a
body is drawn once, where it first appears, and each later instance of it is one box that says
so: the picture stays as large as the spec, not as the model it stands for.

Given a run folder, the picture is of the spec stored there (checked as `tfspec evaluate`
checks it), titled with the run's final metrics read from history.json as data.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass

from ..cli import UsageError
from ..diagnostics import clean
from ..ir.layers import fmt
from ..ir.values import Call, show
from ..summary import operation_label

RENDERED = {".svg": "svg", ".png": "png", ".pdf": "pdf"}
DOT_SUFFIXES = (".dot", ".gv")
RENDER_TIMEOUT_S = 120
MAX_BOXES = 20_000  # boxes with every block instance drawn out; past it, repeated bodies are one box each

HEADER = [
    '    graph [fontname="Helvetica", fontsize=12, labelloc=t, rankdir=TB, nodesep=0.3, ranksep=0.35];',
    '    node [fontname="Helvetica", fontsize=10, shape=box, style="rounded,filled", fillcolor="#f4f4f4",'
    ' color="#666666"];',
    '    edge [fontname="Helvetica", fontsize=9, color="#555555", arrowsize=0.7];',
]
INPUT_STYLE = 'shape=invhouse, style=filled, fillcolor="#cfe2ff", color="#3d6fb4"'
OUTPUT_STYLE = 'shape=house, style=filled, fillcolor="#d1e7dd", color="#2f7d57"'
SHARED_STYLE = 'style="rounded,filled,dashed,bold", penwidth=2, fillcolor="#fff3cd", color="#b58105"'
CLUSTER_STYLE = 'style="rounded,filled"; fillcolor="#eef2fb"; color="#8a9bc4"; fontname="Helvetica"; fontsize=10;'
SHARED_CLUSTER_STYLE = (
    'style="rounded,filled,dashed,bold"; penwidth=2; fillcolor="#fff8e1"; color="#b58105";'
    ' fontname="Helvetica"; fontsize=10;'
)


def quote(text: str) -> str:
    """A DOT quoted string showing `text`: line breaks kept, control characters shown escaped.

    Graphviz reads `&name;` entities even in plain labels, so `&` is written as `&amp;`."""
    lines = [clean(line) for line in str(text).split("\n")]
    body = "\n".join(lines).replace("&", "&amp;").replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{body}"'


def count(n: int, word: str) -> str:
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}s"


def params_text(trainable: int, frozen: int) -> str:
    text = count(trainable + frozen, "param")
    return text + (f" ({frozen:,} non-trainable)" if frozen else "")


@dataclass(frozen=True)
class Source:
    """Where a tensor comes from in the picture: a DOT node, and which application made it when
    the layer (or the block around it) is shared."""

    node: str
    owner: str | None = None  # the shared layer or block instance; None when not shared
    call: int = 0  # 1-based application of `owner`


OPERATION_STYLE = 'shape=ellipse, style=filled, fillcolor="#eef6ee", color="#6a9c6a"'
LOSS_STYLE = 'shape=octagon, style=filled, fillcolor="#f8d7da", color="#a94442"'


class Drawing:
    def __init__(self, collapse: bool = False):
        self.declared: set = set()
        self.edges: dict = {}  # (tail, head, label) -> None, in first-drawn order
        self.collapse = collapse  # draw each shared body once (see the module doc)
        self.drawn: dict = {}  # id(body) -> path of the cluster that draws it

    def edge(self, source: Source, head: Source) -> None:
        parts = []
        if source.owner is not None and source.owner != head.owner:
            parts.append(f"#{source.call}")
        if head.owner is not None and head.owner != source.owner:
            parts.append(f"#{head.call}")
        self.edges[(source.node, head.node, " \u2192 ".join(parts))] = None

    def graph(self, graph, scope: dict, prefix: str, indent: str, context: tuple | None) -> list:
        """Declare the layers of `graph` (on its first application) and draw its edges.

        `scope` maps the graph's input tensors to their sources and gains every tensor the graph
        makes; `context` is (owner, call) when the graph is the body of a shared block's call."""
        lines = []
        applications: dict = {}
        for node in graph.nodes:
            applications.setdefault(node.layer.id, []).append(node)
        calls: dict = {}
        for node in graph.nodes:
            layer = node.layer
            if layer.static:  # a value computed from shapes: no node of the model
                continue
            path = prefix + layer.id
            uses = applications[layer.id]
            calls[layer.id] = calls.get(layer.id, 0) + 1
            here = (path, calls[layer.id]) if len(uses) > 1 else context
            inputs = [scope[t] for t in node.tensors() if t in scope]
            if layer.body is not None and self.collapse:
                first = self.drawn.setdefault(id(layer.body), path)
                if first != path:
                    lines += self.box(layer, graph, uses, path, indent, inputs, here, first)
                    for name in node.outputs:
                        scope[name] = Source(path, *here) if here is not None else Source(path)
                    continue
            if layer.body is not None:
                block_lines, results = self.block(layer, graph, uses, path, indent, inputs, here)
                lines += block_lines
                for name, result in zip(node.outputs, results):
                    scope[name] = Source(result.node, *here) if here is not None else result
                continue
            if path not in self.declared:
                self.declared.add(path)
                if layer.operation:  # `abs(a - b)`: what it computes, in an ellipse
                    shape = fmt((None,) + tuple(graph.shapes.get(node.output, ())))
                    label = f"{node.output.split('~')[0]} = {operation_label(layer.expr)}\n{shape}"
                    lines.append(f"{indent}{quote(path)} [label={quote(label)}, {OPERATION_STYLE}];")
                else:
                    style = f", {SHARED_STYLE}" if len(uses) > 1 else ""
                    lines.append(f"{indent}{quote(path)} [label={quote(self.layer_label(layer, graph, uses))}{style}];")
            head = Source(path, *here) if here is not None else Source(path)
            for source in inputs:
                self.edge(source, head)
            for name in node.outputs:  # several results leave the same node
                scope[name] = head
        for term in graph.losses:  # `add_loss kl`: what the term adds to the loss, fed by its tensor
            path = f"{prefix}add_loss {term.name}"
            if path not in self.declared:
                self.declared.add(path)
                label = f"add_loss {term.name}\nmean of {fmt((None,) + tuple(graph.shapes.get(term.name, ())))}"
                lines.append(f"{indent}{quote(path)} [label={quote(label)}, {LOSS_STYLE}];")
            if term.name in scope:
                head = Source(path, *context) if context is not None else Source(path)
                self.edge(scope[term.name], head)
        return lines

    def block(self, layer, graph, uses, path, indent, inputs, context) -> tuple:
        """A block instance: its body inside a cluster, declared on the first call only.
        Returns the cluster's lines and the source of the block's output."""
        body = layer.body
        scope = {inp.name: source for inp, source in zip(body.inputs, inputs, strict=False)}
        cluster = f"cluster_{path}"
        lines = []
        if cluster in self.declared:
            self.graph(body, scope, path + "/", indent + "    ", context)
        else:
            self.declared.add(cluster)
            lines.append(f"{indent}subgraph {quote(cluster)} {{")
            lines.append(f"{indent}    label={quote(self.cluster_label(layer, graph, uses))};")
            lines.append(f"{indent}    {SHARED_CLUSTER_STYLE if len(uses) > 1 else CLUSTER_STYLE}")
            lines += self.graph(body, scope, path + "/", indent + "    ", context)
            lines.append(f"{indent}}}")
        return lines, [scope[name] for name in body.outputs]

    def box(self, layer, graph, uses, path, indent, inputs, context, first) -> list:
        """A block instance whose body is drawn at `first` already: one box, declared once."""
        lines = []
        if path not in self.declared:
            self.declared.add(path)
            shape = fmt((None,) + tuple(graph.shapes.get(uses[0].output, ())))
            label = f"{self.cluster_label(layer, graph, uses)}\n{shape}\nthe layers of {first}, drawn above"
            style = SHARED_STYLE if len(uses) > 1 else 'style="rounded,filled", fillcolor="#eef2fb", color="#8a9bc4"'
            lines.append(f"{indent}{quote(path)} [label={quote(label)}, {style}];")
        head = Source(path, *context) if context is not None else Source(path)
        for source in inputs:
            self.edge(source, head)
        return lines

    @staticmethod
    def layer_label(layer, graph, applications) -> str:
        wrapped = [arg.name for arg in layer.call.args if isinstance(arg, Call)]  # Bidirectional(LSTM(...))
        lines = [layer.id, layer.kind + (f"({', '.join(wrapped)})" if wrapped else "")]
        name = layer.call.kw.get("name")
        if isinstance(name, str) and name != layer.id:
            lines.append(f"name: {name}")
        shapes = []
        for node in applications:
            shape = fmt((None,) + tuple(graph.shapes.get(node.output, ())))
            if shape not in shapes:
                shapes.append(shape)
        lines.append(" / ".join(shapes))
        lines.append(params_text(*graph.params.get(layer.id, (0, 0))))
        if len(applications) > 1:
            lines.append(f"shared \u00d7{len(applications)}")
        return "\n".join(lines)

    @staticmethod
    def cluster_label(layer, graph, applications) -> str:
        text = f"{layer.id}: {show(layer.call)}\n{params_text(*graph.params.get(layer.id, (0, 0)))}"
        if len(applications) > 1:
            text += f"\nshared \u00d7{len(applications)}"
        return text


def to_dot(spec, title: str | None = None) -> str:
    """The DOT text of `spec`'s model graph (deterministic; no dependencies); `title` replaces
    the graph's label ("model NAME")."""
    from ..summary import row_counts

    graph = spec.model
    drawing = Drawing(collapse=row_counts(graph)[id(graph)] > MAX_BOXES)
    lines = [f"digraph {quote(graph.name)} {{", *HEADER, f"    label={quote(title or 'model ' + graph.name)};", ""]
    scope = {}
    for inp in graph.inputs:
        node = f"input:{inp.name}"
        shape = fmt((None,) + tuple(inp.shape or ()))
        label = f"input {inp.name}\n{shape}\n{inp.dtype}"
        lines.append(f"    {quote(node)} [label={quote(label)}, {INPUT_STYLE}];")
        scope[inp.name] = Source(node)
    lines += drawing.graph(graph, scope, "", "    ", None)
    for name in graph.outputs:
        node = f"output:{name}"
        shape = fmt((None,) + tuple(graph.shapes.get(name, ())))
        label = f"output {name}\n{shape}"
        lines.append(f"    {quote(node)} [label={quote(label)}, {OUTPUT_STYLE}];")
        drawing.edge(scope[name], Source(node))
    lines.append("")
    for tail, head, label in drawing.edges:
        attrs = f" [label={quote(label)}]" if label else ""
        lines.append(f"    {quote(tail)} -> {quote(head)}{attrs};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def render(dot_text: str, fmt_name: str) -> bytes:
    """Run Graphviz `dot`; raises UsageError when it is not installed, RuntimeError when it fails."""
    program = shutil.which("dot")
    if program is None:
        raise UsageError(
            f"drawing {fmt_name.upper()} needs Graphviz's `dot` program, which is not installed: "
            "install Graphviz (e.g. `apt-get install graphviz` or `brew install graphviz`), "
            "or write DOT text with -o FILE.dot"
        )
    try:
        done = subprocess.run(
            [program, f"-T{fmt_name}"],
            input=dot_text.encode("utf-8"),
            capture_output=True,
            timeout=RENDER_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"Graphviz took longer than {RENDER_TIMEOUT_S} s") from None
    except OSError as exc:
        raise RuntimeError(f"cannot run {program}: {exc.strerror or exc}") from None
    if done.returncode != 0 or not done.stdout:
        message = done.stderr.decode("utf-8", "replace").strip() or f"exit status {done.returncode}"
        raise RuntimeError(f"Graphviz failed: {message}")
    return done.stdout


# ---- a trained run: its spec, and its final metrics from history.json ---------------------------

HISTORY = "history.json"
HISTORY_LIMIT = 64 << 20  # bytes of history.json read at most
MAX_TITLE_LINES = 24  # quantities named in the title; the rest are counted


def history_problem(history) -> str | None:
    if not isinstance(history, dict) or not all(isinstance(v, list) for v in history.values()):
        return "not the JSON object tfspec writes ({name: [value per epoch]})"
    return None


def read_history(folder: str):
    """history.json of a run folder as data ({name: [value per epoch]}), or None when it has none."""
    from ..runs import read_json

    return read_json(folder, HISTORY, "history", history_problem, HISTORY_LIMIT)


def final_value(values) -> str:
    value = values[-1] if values else None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "nan"  # history.json writes a value that was not finite as null
    return f"{value:.4g}"


def metrics_title(name: str, folder: str, history) -> str:
    """The title of a run's picture: the model, the run folder and, per quantity, its value after
    the last epoch (training, then validation)."""
    lines = [f"model {name}, trained in {folder}"]
    if history is None:
        return lines[0] + f"\n(no {HISTORY}: no metrics to show)"
    names = [k for k in history if k != "epoch"]
    epochs = max((len(v) for v in history.values()), default=0)
    lines.append(f"after {count(epochs, 'epoch')}:")
    shown = []
    for key in names:
        if key.startswith("val_") and key[4:] in history:
            continue  # shown beside its training value
        text = f"{key} {final_value(history[key])}"
        if "val_" + key in history and not key.startswith("val_"):
            text += f"  (val {final_value(history['val_' + key])})"
        shown.append(text)
    more = len(shown) - MAX_TITLE_LINES
    lines += shown[:MAX_TITLE_LINES] + ([f"and {more} more in {HISTORY}"] if more > 0 else [])
    return "\n".join(lines)


def run_dot(folder: str) -> str:
    """The DOT text of a trained run: the spec stored in the folder (checked as `tfspec evaluate`
    checks it, without TensorFlow), titled with its final metrics; history.json is read as data."""
    from ..runs import open_run

    run = open_run(folder)
    return to_dot(run.spec, metrics_title(run.spec.model.name, folder, read_history(folder)))


def run(args) -> int:
    from ..files import write_atomic
    from ..loader import load

    output = args.output
    suffix = os.path.splitext(output)[1].lower() if output else ""
    if output and suffix not in RENDERED and suffix not in DOT_SUFFIXES:
        known = ", ".join(DOT_SUFFIXES + tuple(RENDERED))
        raise UsageError(f"cannot tell the picture format from {output!r}: end the name with one of {known}")
    if os.path.isdir(args.file):  # a run folder: its stored spec, titled with its final metrics
        from ..runs import RunFolderError

        try:
            dot_text = run_dot(args.file)
        except RunFolderError as exc:
            print(f"tfspec: error: {clean(str(exc))}", file=sys.stderr)
            return 1
    else:
        dot_text = to_dot(load(args.file))
    if not output:
        sys.stdout.write(dot_text)
        return 0
    try:
        data = render(dot_text, RENDERED[suffix]) if suffix in RENDERED else dot_text
        write_atomic(output, data)
    except RuntimeError as exc:
        print(f"tfspec: error: {clean(str(exc))}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"tfspec: error: cannot write {clean(output)!r}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("graph", help="draw the model graph (DOT, or SVG/PNG with Graphviz)")
    p.add_argument("file", metavar="SPEC", help="a .tfs file, or a run folder (its spec, with its final metrics)")
    p.add_argument(
        "-o",
        "--output",
        metavar="PATH",
        help="write here (.dot/.gv text; .svg/.png/.pdf drawn by Graphviz `dot`); default: DOT to stdout",
    )
    p.set_defaults(run=run)
