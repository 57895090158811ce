"""The static model summary: every layer, its output shape and parameter count, then totals."""

from __future__ import annotations

from dataclasses import FrozenInstanceError, dataclass

from .ir.layers import fmt
from .ir.loss_terms import terms_of
from .ir.nodes import Graph, Spec
from .ir.values import show
from .ir.walk import fold, paused_gc


@dataclass(frozen=True)
class Row:
    name: str
    kind: str
    shape: tuple  # output shape with the batch axis (None) first
    params: int
    trainable: int
    depth: int = 0  # nesting inside blocks
    shared: int = 1  # number of applications
    same_as: str = ""  # when set, the block's layers are those listed under this path, not repeated


# The most rows a summary lists with every block instance written out. A model whose blocks
# multiply past it (each block using the next several times) lists the layers of each distinct
# instance once; later instances say which rows they repeat (`Row.same_as`).
MAX_ROWS = 20_000


class Summary:
    """The summary of a model: its rows, parameter totals and layer count. Immutable, compared
    and hashed by value (as a frozen dataclass of model, rows, trainable_params,
    non_trainable_params and layer_count).

    The rows are made when first asked for: `tfspec check` reads only the totals and the
    layer count, which need no row (a 1 MiB spec has about 90,000)."""

    __slots__ = ("model", "_rows", "trainable_params", "non_trainable_params", "layer_count", "loss_terms")

    def __init__(
        self, model: str, rows, trainable_params: int, non_trainable_params: int, layer_count: int = -1, loss_terms=()
    ):
        # rows: a tuple of Row, or a function returning them (called once, when first needed)
        # layer_count: rows of layers (not inputs) with every block written out; -1: count `rows`
        # loss_terms: the names of the `add_loss` terms, which hold no layer of their own
        for name, value in (
            ("model", model),
            ("_rows", rows),
            ("trainable_params", trainable_params),
            ("non_trainable_params", non_trainable_params),
            ("layer_count", layer_count),
            ("loss_terms", tuple(loss_terms)),
        ):
            object.__setattr__(self, name, value)

    def __setattr__(self, name, value):
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name):
        raise FrozenInstanceError(f"cannot delete field {name!r}")

    @property
    def rows(self) -> tuple:
        rows = self._rows
        if not isinstance(rows, tuple):
            with paused_gc():
                rows = tuple(rows())
            object.__setattr__(self, "_rows", rows)
        return rows

    def _key(self) -> tuple:
        return (
            self.model,
            self.rows,
            self.trainable_params,
            self.non_trainable_params,
            self.layer_count,
            self.loss_terms,
        )

    def __eq__(self, other):
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self):
        return hash(self._key())

    def __repr__(self):
        return (
            f"Summary(model={self.model!r}, rows={self.rows!r}, trainable_params={self.trainable_params!r}, "
            f"non_trainable_params={self.non_trainable_params!r}, layer_count={self.layer_count!r}"
            + (f", loss_terms={self.loss_terms!r})" if self.loss_terms else ")")
        )

    @property
    def total_params(self) -> int:
        return self.trainable_params + self.non_trainable_params

    @property
    def layers(self) -> int:
        """Layers in the model, block rows included and every block instance counted (as
        `check` reports): exact even when the rows do not repeat shared bodies."""
        if self.layer_count >= 0:
            return self.layer_count
        return sum(1 for r in self.rows if r.kind != "InputLayer")

    def render(self) -> str:
        table = [("Layer (type)", "Output shape", "Param #")]
        for row in self.rows:
            if row.same_as:
                parts = row.same_as.split("/")
                where = "/".join(parts) if len(parts) <= 3 else f"{parts[0]}/.../{parts[-1]}"
                table.append(("  " * row.depth + f"... (the layers of {where}, listed above)", "", ""))
                continue
            label = "  " * row.depth + f"{row.name} ({row.kind})"
            if row.shared > 1:
                label += f" x{row.shared} shared"
            table.append((label, fmt(row.shape), f"{row.params:,}"))
        widths = [max(len(r[i]) for r in table) for i in range(3)]
        rule = "-" * (sum(widths) + 6)
        lines = [f'Model: "{self.model}"', rule]
        for i, (a, b, c) in enumerate(table):
            lines.append(f"{a:<{widths[0]}}   {b:<{widths[1]}}   {c:>{widths[2]}}")
            if i == 0:
                lines.append(rule)
        lines += [
            rule,
            f"Total params: {self.total_params:,}",
            f"Trainable params: {self.trainable_params:,}",
            f"Non-trainable params: {self.non_trainable_params:,}",
        ]
        if self.loss_terms:
            lines.append(f"Loss terms (add_loss): {', '.join(self.loss_terms)}")
        return "\n".join(lines)


def row_counts(graph: Graph) -> dict:
    """{id(graph): rows of its layers with every block instance written out} for the model and
    each distinct body, computed once per body (exact integers, however large)."""

    def count(g, inner):
        total, seen = 0, set()
        for node in g.nodes:
            layer = node.layer
            if layer.id in seen or layer.static:
                continue
            seen.add(layer.id)
            total += 1 + (inner[id(layer.body)] if layer.body is not None else 0)
        return total

    return fold(graph, count)


def graph_rows(graph: Graph, depth: int, listed: dict | None = None, path: str = "") -> list:
    """Rows of `graph` at `depth`, block bodies below their block's row. With `listed`
    ({id(body): path}), a body listed already is not listed again: one `same_as` row stands for it."""
    rows = []
    if depth == 0:
        for inp in graph.inputs:
            rows.append(Row(inp.name, "InputLayer", (None,) + tuple(inp.shape), 0, 0, depth))
    applications: dict = {}
    for node in graph.nodes:
        applications[node.layer.id] = applications.get(node.layer.id, 0) + 1
    seen = set()
    for node in graph.nodes:
        layer = node.layer
        if layer.id in seen or layer.static:  # a value (`c = x.shape[-1]`) is no part of the model
            continue
        seen.add(layer.id)
        trainable, frozen = graph.params.get(layer.id, (0, 0))
        shape = (None,) + tuple(graph.shapes.get(node.output, ()))
        name = operation_label(layer.expr) if layer.operation else layer.id
        rows.append(Row(name, layer.kind, shape, trainable + frozen, trainable, depth, applications[layer.id]))
        body = layer.body
        if body is None:
            continue
        where = f"{path}/{layer.id}" if path else layer.id
        if listed is not None and id(body) in listed:
            rows.append(Row("...", "", (), 0, 0, depth + 1, 1, listed[id(body)]))
            continue
        if listed is not None:
            listed[id(body)] = where
        rows.extend(graph_rows(body, depth + 1, listed, where))
    return rows


def operation_label(tree, width: int = 40) -> str:
    """An operation's row names what it computes, in the spec's syntax: `abs(a - b)`."""
    text = show(tree)
    return text if len(text) <= width else text[: width - 3] + "..."


def summary(spec: Spec) -> Summary:
    with paused_gc():
        return _summary(spec)


def _summary(spec: Spec) -> Summary:
    graph = spec.model
    trainable = sum(p[0] for p in graph.params.values())
    frozen = sum(p[1] for p in graph.params.values())
    layers = row_counts(graph)[id(graph)]
    listed = {} if layers + len(graph.inputs) > MAX_ROWS else None
    terms = list(terms_of(graph))
    return Summary(graph.name, lambda: graph_rows(graph, 0, listed), trainable, frozen, layers, terms)
