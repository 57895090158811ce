"""The static model summary: every layer, its output shape and parameter count, then totals."""

from __future__ import annotations

from dataclasses import dataclass

from .ir.layers import fmt
from .ir.nodes import Graph, Spec


@dataclass(frozen=True)
class Row:
    name: str
    kind: str
    shape: tuple  # output shape with the batch axis (None) first
    params: int
    trainable: int
    depth: int = 0  # nesting inside blocks
    shared: int = 1  # number of applications


@dataclass(frozen=True)
class Summary:
    model: str
    rows: tuple
    trainable_params: int
    non_trainable_params: int

    @property
    def total_params(self) -> int:
        return self.trainable_params + self.non_trainable_params

    def render(self) -> str:
        table = [("Layer (type)", "Output shape", "Param #")]
        for row in self.rows:
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
        return "\n".join(lines)


def graph_rows(graph: Graph, depth: int) -> list:
    rows = []
    if depth == 0:
        for inp in graph.inputs:
            rows.append(Row(inp.name, "InputLayer", (None,) + tuple(inp.shape), 0, 0, depth))
    seen = {}
    for node in graph.nodes:
        layer = node.layer
        if layer.id in seen:
            seen[layer.id] += 1
            continue
        seen[layer.id] = 1
        trainable, frozen = graph.params.get(layer.id, (0, 0))
        shape = (None,) + tuple(graph.shapes.get(node.output, ()))
        rows.append(Row(layer.id, layer.kind, shape, trainable + frozen, trainable, depth))
        if layer.body is not None:
            rows.extend(graph_rows(layer.body, depth + 1))
    return [
        Row(
            r.name,
            r.kind,
            r.shape,
            r.params,
            r.trainable,
            r.depth,
            seen.get(r.name, 1) if r.depth == depth else r.shared,
        )
        for r in rows
    ]


def summary(spec: Spec) -> Summary:
    graph = spec.model
    trainable = sum(p[0] for p in graph.params.values())
    frozen = sum(p[1] for p in graph.params.values())
    return Summary(graph.name, tuple(graph_rows(graph, 0)), trainable, frozen)
