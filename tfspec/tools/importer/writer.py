"""The imported graph as spec text.

Tensors are named after the layers that make them (snake_case; outputs first, so they keep
their layer's name); straight runs of layers fold into one chain `x -> A() -> B() -> y`; a
layer applied more than once is declared `layer name = Kind(...)`; list sources feed merges.
Nested models are inlined, except where a block reads better or is needed: a nested model
applied more than once (shared weights: a declared block instance) and nested models of the
same architecture (one block, used by each).
"""

from __future__ import annotations

import json
import keyword
import re
from collections import Counter
from dataclasses import dataclass

from ...ir.catalog import ALIASES, REGISTRY
from ...ir.lower import snake
from ...ir.values import show
from .arguments import is_auto_name, plain
from .errors import ImportFailure

SPEC_WORDS = {"model", "block", "input", "output", "layer", "train", "true", "false"}
RESERVED = SPEC_WORDS | set(keyword.kwlist) | set(keyword.softkwlist)
WIDTH = 88
INDENT = "    "
SAFE_NAME = re.compile(r"[\w.\-:+ ]+\Z")  # a layer name written back as name="..."


def identifier(text: str) -> str:
    """A snake_case identifier from a Keras name ('' when nothing usable is left)."""
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", text)
    text = re.sub(r"[^A-Za-z0-9_]+", "_", text).lower()
    text = re.sub(r"_+", "_", text).strip("_")
    return "t_" + text if text[:1].isdigit() else text


def camel(text: str) -> str:
    """A CamelCase name (models, blocks): kept as it is when it already reads so."""
    if re.fullmatch(r"[A-Z][A-Za-z0-9]*", text):
        return text
    return "".join(part[:1].upper() + part[1:] for part in identifier(text).split("_"))


class Names:
    """Unique names in one body: `dense`, then `dense_1`, `dense_2`, ..."""

    def __init__(self, taken=()):
        self.taken = set(RESERVED) | set(taken)

    def add(self, base: str) -> str:
        candidate, n = base, 1
        while candidate in self.taken or candidate.startswith("__"):
            candidate = f"{base}_{n}"
            n += 1
        self.taken.add(candidate)
        return candidate


@dataclass
class Unit:
    """One application after inlining: a catalog layer or a block instance."""

    layer: object  # graph.Layer
    inputs: list  # scoped tensor keys
    output: tuple


@dataclass
class Chain:
    sources: list
    units: list


def chains_of(units: list, outputs: list) -> list:
    """Fold straight runs: a unit joins the chain that made its only input when nothing else
    reads that tensor and it is not an output."""
    reads = Counter(t for u in units for t in u.inputs)
    reads.update(outputs)
    chains, ending = [], {}
    for unit in units:
        source = unit.inputs[0]
        if len(unit.inputs) == 1 and source in ending and reads[source] == 1:
            chain = ending.pop(source)
            chain.units.append(unit)
        else:
            chain = Chain(list(unit.inputs), [unit])
            chains.append(chain)
        ending[unit.output] = chain
    return chains


def signature(layer) -> str:
    """A nested model's architecture, names left out: nested models of one architecture
    are written as a block."""

    def strip(value):
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in ("name", "inbound_nodes", "shared_object_id")}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return json.dumps(strip(plain(layer.entry.get("config"))), sort_keys=True, default=str)


class Writer:
    def __init__(self, path: str, arguments, notes: list):
        self.path = path
        self.arguments = arguments
        self.notes = notes
        self.names_kept: set = set()
        self.blocks: list = []  # (name, body lines), callees first
        self.block_by_text: dict = {}
        self.block_of: dict = {}  # id(nested model layer) -> block name
        self.calls: dict = {}  # id(layer) -> call text
        self.taken_blocks = set(REGISTRY) | set(ALIASES)
        self.signatures: Counter = Counter()

    def fail(self, message, hint=None):
        raise ImportFailure(self.path, "E904", message, hint)

    def program(self, model, name: str, header: str) -> str:
        self.taken_blocks.add(name)
        self.count_signatures(model)
        body = self.body(model, in_block=False)
        lines = [header, ""]
        for block_name, block_lines in self.blocks:
            lines += [f"block {block_name}() {{", *block_lines, "}", ""]
        lines += [f"model {name} {{", *body, "}"]
        return "\n".join(lines) + "\n"

    def count_signatures(self, model):
        for app in model.apps:
            nested = app.layer.model
            if nested is not None and app is app.layer.apps[0]:
                self.signatures[signature(app.layer)] += 1
                self.count_signatures(nested)

    # -- one body --------------------------------------------------------------------------
    def body(self, model, in_block: bool) -> list:
        """The lines of a model or block body: inputs, shared layers, chains, outputs."""
        units, outputs = self.flatten(model)
        chains = chains_of(units, outputs)
        tensors, declared = self.names(model, units, chains, outputs, in_block)
        lines = []
        for inp in model.inputs:
            dims = ", ".join("None" if d is None else str(d) for d in inp.shape)
            lines.append(f"{INDENT}input {tensors[((), inp.tensor)]}" + ("" if in_block else f": {inp.dtype}[{dims}]"))
        if declared:
            lines.append("")
            for layer, name in declared.values():
                lines.append(f"{INDENT}layer {name} = {self.step(layer, in_block)}")
        lines.append("")
        previous_long = False
        for chain in chains:
            source = chain.sources
            head = tensors[source[0]] if len(source) == 1 else "[" + ", ".join(tensors[t] for t in source) + "]"
            steps = [
                declared[id(u.layer)][1] if id(u.layer) in declared else self.step(u.layer, in_block)
                for u in chain.units
            ]
            text = chain_lines(head, steps, tensors[chain.units[-1].output])
            if (len(text) > 1 or previous_long) and lines[-1] != "":
                lines.append("")  # a multi-line chain stands apart
            lines += text
            previous_long = len(text) > 1
        lines += ["", f"{INDENT}output {', '.join(tensors[t] for t in outputs)}"]
        return lines

    def names(self, model, units, chains, outputs, in_block):
        """Names of the named tensors (inputs, then outputs, then chain results) and of the
        layers applied more than once: {tensor: name}, {id(layer): (layer, name)}."""
        names = Names()
        tensors = {}
        for inp in model.inputs:
            auto = is_auto_name(inp.name, "InputLayer") or not identifier(inp.name)
            tensors[((), inp.tensor)] = names.add(("x" if in_block else "inputs") if auto else identifier(inp.name))
        read = {t for u in units for t in u.inputs} | set(outputs)
        for inp in model.inputs:
            if ((), inp.tensor) not in read:
                self.fail(
                    f"input {inp.name!r} of model {model.name!r} is not used by it",
                    "a spec cannot declare an input that no layer reads",
                )
        if len(set(outputs)) != len(outputs):
            self.fail(f"model {model.name!r} lists one tensor as two of its outputs")
        producer = {u.output: u for u in units}
        for t in outputs:
            if t not in tensors:
                tensors[t] = names.add(self.base(producer[t].layer))
        uses = Counter(id(u.layer) for u in units)
        declared = {}
        for unit in units:
            if uses[id(unit.layer)] > 1 and id(unit.layer) not in declared:
                declared[id(unit.layer)] = (unit.layer, names.add(self.base(unit.layer)))
        for chain in chains:
            target = chain.units[-1].output
            if target not in tensors:
                tensors[target] = names.add(self.base(chain.units[-1].layer))
        return tensors, declared

    def base(self, layer) -> str:
        if is_auto_name(layer.name, layer.class_name):
            return snake(layer.class_name)
        return identifier(layer.name) or snake(layer.class_name)

    def step(self, layer, in_block: bool) -> str:
        if layer.model is not None:
            return f"{self.block(layer)}()"
        if id(layer) not in self.calls:
            where = f"layer {layer.label!r} ({layer.class_name})"
            call = self.arguments.call(layer.entry, where, self.kept_name(layer, in_block, where))
            self.calls[id(layer)] = show(call)
        return self.calls[id(layer)]

    def kept_name(self, layer, in_block: bool, where: str) -> str | None:
        """A user's name is written once per model: a block may be used more than once, and
        inlined nested models may reuse names, while Keras needs them unique."""
        name = layer.name
        if is_auto_name(name, layer.class_name):
            return None
        if in_block:
            self.notes.append(
                f"{where}: its name is not kept (layers in blocks are unnamed, a block may be used more than once)"
            )
        elif name in self.names_kept:
            self.notes.append(f"{where}: its name is not kept (another layer of the model has it)")
        elif not SAFE_NAME.match(name):
            self.notes.append(f"{where}: its name is not kept (it holds unusual characters)")
        else:
            self.names_kept.add(name)
            return name
        return None

    # -- nested models -----------------------------------------------------------------------
    def flatten(self, model):
        """The model's applications with inlined nested models spliced in; keys are scoped
        by the path of nested applications so that inner names cannot clash."""
        units, alias = [], {}

        def resolve(key):
            while key in alias:
                key = alias[key]
            return key

        def walk(m, prefix):
            for app in m.apps:
                inputs = [resolve((prefix, t)) for t in app.inputs]
                layer = app.layer
                if layer.model is None or self.is_block(layer):
                    units.append(Unit(layer, inputs, (prefix, app.outputs[0])))
                    continue
                inner = layer.model
                if len(inner.inputs) != len(inputs):
                    self.fail(
                        f"nested model {layer.label!r} takes {len(inner.inputs)} inputs but is given {len(inputs)}"
                    )
                scope = prefix + ((layer.name, app.outputs[0][1]),)
                for inp, tensor in zip(inner.inputs, inputs):
                    alias[(scope, inp.tensor)] = tensor
                walk(inner, scope)
                for out, inner_out in zip(app.outputs, inner.outputs):
                    alias[(prefix, out)] = resolve((scope, inner_out))

        walk(model, ())
        return units, [resolve(((), t)) for t in model.outputs]

    def is_block(self, layer) -> bool:
        shared = len(layer.apps) > 1
        repeated = self.signatures[signature(layer)] > 1
        if not (shared or repeated):
            return False
        if len(layer.model.outputs) != 1:
            if shared:
                self.fail(
                    f"nested model {layer.label!r} has {len(layer.model.outputs)} outputs and is applied "
                    f"{len(layer.apps)} times: a block returns one tensor, so its weights cannot be shared",
                    "split it into models with one output each",
                )
            return False
        return True

    def block(self, layer) -> str:
        if id(layer) in self.block_of:
            return self.block_of[id(layer)]
        lines = self.body(layer.model, in_block=True)
        text = "\n".join(lines)
        if text not in self.block_by_text:
            auto = is_auto_name(layer.name, layer.class_name) or not identifier(layer.name)
            base = camel(layer.class_name if auto else layer.name) + ("Block" if auto else "")
            name, n = base, 2
            while name in self.taken_blocks or name in RESERVED:
                name = f"{base}Block" if n == 2 and not base.endswith("Block") else f"{base}{n}"
                n += 1
            self.taken_blocks.add(name)
            self.blocks.append((name, lines))
            self.block_by_text[text] = name
        self.block_of[id(layer)] = self.block_by_text[text]
        return self.block_of[id(layer)]


def chain_lines(head: str, steps: list, target: str) -> list:
    """One line when short, else one step per line with the arrows aligned (as in specs/)."""
    line = INDENT + " -> ".join([head, *steps, target])
    if len(steps) <= 3 and len(line) <= WIDTH:
        return [line]
    if len(head) > 24:  # a long list source: the steps go below it
        return [INDENT + head] + [f"{INDENT * 2}-> {s}" for s in steps + [target]]
    pad = INDENT + " " * (len(head) + 1)
    return [f"{INDENT}{head} -> {steps[0]}"] + [f"{pad}-> {s}" for s in steps[1:] + [target]]
