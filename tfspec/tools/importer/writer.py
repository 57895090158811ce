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
from dataclasses import dataclass, field

from ...ir.catalog import ALIASES, REGISTRY
from ...ir.lower import snake
from ...ir.values import Call, show
from . import fold, operations
from .arguments import is_auto_name, plain
from .errors import ImportFailure

SPEC_WORDS = {"model", "block", "input", "output", "layer", "train", "true", "false"}
RESERVED = SPEC_WORDS | set(keyword.kwlist) | set(keyword.softkwlist)
WIDTH = 88
MAX_OPERATIONS = 12  # keras.ops calls and operators written as one expression at most
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
    """One application after inlining: a catalog layer, an operation (`expr`) or a block
    instance. Keys are scoped tensor keys; `kwargs` the call's other arguments."""

    layer: object  # graph.Layer
    inputs: list
    outputs: list
    kwargs: list = field(default_factory=list)
    expr: object = None
    call: object = None  # the layer's spec call, its name left out (set by the writer)


@dataclass
class Chain:
    sources: list
    units: list


@dataclass
class Assign:
    """`name = expression`: an operation."""

    unit: Unit


def statements_of(units: list, outputs: list, class_order: bool = True) -> list:
    """Chains and assignments, in order. A unit joins the chain that made its only input when
    nothing else reads that tensor, it is not an output and the unit takes no other tensor --
    and, with `class_order` (a model's body), when joining keeps the layers of each class in the
    order of `units` (the model's `layers` order): a subclassed model saves the weights of the
    layers it holds by the order in which it creates those of a class (`layers/conv2d_3`), a
    functional one by Keras's order, and one weights file serves both styles only when the two
    agree (tfspec.tools.importer.weights). A block's layers are saved by their attribute names
    in the subclassing style: its chains need no such order."""
    reads = Counter(t for u in units for t in fold.reads(u))
    reads.update(outputs)
    statements, ending, started, latest = [], {}, {}, {}
    for unit in units:
        if unit.expr is not None:
            statements.append(Assign(unit))
            continue
        source = unit.inputs[0]
        kind = unit.layer.class_name if unit.layer is not None else unit.block.name  # fold.Instance: a block
        joins = len(unit.inputs) == 1 and not fold.reads(unit)[1:] and source in ending and reads[source] == 1
        # joining an earlier chain writes the unit before the later chains' layers of its class
        if joins and (not class_order or latest.get(kind, -1) <= started[id(ending[source])]):
            chain = ending.pop(source)
            chain.units.append(unit)
        else:
            chain = Chain(list(unit.inputs), [unit])
            started[id(chain)] = len(statements)
            statements.append(chain)
        latest[kind] = max(latest.get(kind, -1), started[id(chain)])
        if len(unit.outputs) == 1:
            ending[unit.outputs[0]] = chain
    return statements


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
    def __init__(self, path: str, arguments, notes: list, flat: bool = False):
        self.path = path
        self.arguments = arguments
        self.notes = notes
        self.flat = flat  # one statement per Keras layer: no blocks folded from repeats
        self.names_kept: set = set()
        self.blocks: list = []  # (header, body lines), callees first
        self.block_by_text: dict = {}
        self.block_of: dict = {}  # id(nested model layer) -> block name
        self.calls: dict = {}  # id(layer) -> spec call, its name left out
        self.taken_blocks = set(REGISTRY) | set(ALIASES)
        self.signatures: Counter = Counter()
        self.unnamed = 0  # names of layers folded into blocks (not kept)

    def fail(self, message, hint=None):
        raise ImportFailure(self.path, "E904", message, hint)

    def program(self, model, name: str, header: str) -> str:
        self.taken_blocks.add(name)
        self.count_signatures(model)
        units, outputs, terms = self.flatten(model)
        live = outputs + [key for key, _ in terms]  # a loss term is read by no layer: it lives to the end
        units = self.fold_operations(units, live)
        if not self.flat:
            units = self.fold_repeats(model, units, live)
        body = self.body(model, units, outputs, in_block=False, terms=terms)
        if self.unnamed:
            self.notes.append(
                f"the names of {self.unnamed} layers folded into blocks are not kept (a block's layers are "
                "unnamed; --flat keeps every layer as it is)"
            )
        lines = [header, ""]
        for block_header, block_lines in self.blocks:
            lines += [block_header, *block_lines, "}", ""]
        lines += [f"model {name} {{", *body, "}"]
        return "\n".join(lines) + "\n"

    def count_signatures(self, model):
        for app in model.apps:
            nested = app.layer.model
            if nested is not None and app is app.layer.apps[0]:
                self.signatures[signature(app.layer)] += 1
                self.count_signatures(nested)

    # -- folding -------------------------------------------------------------------------------
    def fold_operations(self, units: list, outputs: list) -> list:
        """An operation read only by one other operation goes inside its expression, up to
        MAX_OPERATIONS in one (a longer one is split over several named steps: the expressions
        stay readable, and no printer recurses deep); Keras's form of positions(x) is written
        positions(x)."""
        reads = Counter(t for u in units for t in fold.reads(u))
        reads.update(outputs)
        producer = {u.outputs[0]: u for u in units if u.expr is not None}
        inlined, size = set(), {}
        for unit in units:
            if unit.expr is None:
                continue
            size[id(unit)] = 1

            def inline(operand, unit=unit):
                inner = producer.get(operand.key)
                if (
                    inner is not None
                    and reads[operand.key] == 1
                    and inner is not unit
                    and size[id(unit)] + size[id(inner)] <= MAX_OPERATIONS
                ):
                    inlined.add(id(inner))
                    size[id(unit)] += size[id(inner)]
                    return inner.expr
                return operand

            unit.expr = operations.positions(operations.substitute(unit.expr, inline))
            unit.inputs = list(dict.fromkeys(operations.operands(unit.expr)))
        kept = [u for u in units if id(u) not in inlined]
        for unit in kept:
            left = operations.unresolved(unit.expr) if unit.expr is not None else None
            if left:
                raise ImportFailure(
                    self.path,
                    "E903",
                    f"operation {unit.layer.label!r}: keras.ops.{left} has no spec form outside positions(x)",
                )
        return kept

    def fold_repeats(self, model, units: list, outputs: list) -> list:
        inputs = [((), inp.tensor) for inp in model.inputs]
        uses = Counter(id(u.layer) for u in units)
        folder = fold.Folder(
            key=lambda u: self.unit_key(u, uses),
            call=lambda u: (
                self.call_of(u) if isinstance(u, Unit) and u.expr is None and u.layer.model is None else None
            ),
            label=lambda u: (
                u.layer.name if isinstance(u, Unit) and not is_auto_name(u.layer.name, u.layer.class_name) else ""
            ),
            taken_names=self.taken_blocks | RESERVED,
            object_default=self.arguments.object_default,
        )
        folded = folder.fold(units, inputs, outputs)
        self.unnamed += folder.unnamed
        if folder.stopped:
            self.notes.append(
                f"the model is too large to search all of it for repeated layers ({len(units):,} units): "
                "some repeats are written out rather than folded into blocks"
            )
        for block in folder.blocks:
            self.taken_blocks.add(block.name)
            self.write_folded(block)
        return folded

    def unit_key(self, unit, uses: Counter):
        """A unit's structure for folding (arguments' values left out); None: never folded."""
        if isinstance(unit, fold.Instance):
            return ("block", id(unit.block), len(unit.args))
        if uses[id(unit.layer)] > 1:
            return None  # a shared layer: one object, which a block would make afresh at each use
        if unit.expr is not None:
            return ("op", operations.text(unit.expr, lambda key: "#"))
        if unit.layer.model is not None:
            return ("model", signature(unit.layer)) if self.is_block(unit.layer) else None
        call = self.call_of(unit)
        nested = tuple((k, v.name) for k, v in call.kwargs if isinstance(v, Call))
        nested += tuple((i, v.name) for i, v in enumerate(call.args) if isinstance(v, Call))
        plain_kwargs = tuple((k, v if not isinstance(v, (tuple, list)) else "#") for k, v in unit.kwargs)
        return ("layer", call.name, len(call.args), nested, plain_kwargs, len(unit.outputs))

    def write_folded(self, block):
        params = ", ".join(block.params)
        lines = self.template_body(block)
        self.blocks.append((f"block {block.name}({params}) {{", lines))

    def template_body(self, block) -> list:
        units = block.units
        outputs = [block.output]
        statements = statements_of(units, outputs, class_order=False)
        tensors, declared = self.names_of([("x", block.input)], units, statements, outputs, True)
        head = [f"{INDENT}input {tensors[block.input]}"]
        return self.lines(head, statements, outputs, tensors, declared, True, compact=True)

    # -- one body --------------------------------------------------------------------------
    def body(self, model, units, outputs, in_block: bool, terms=()) -> list:
        """The lines of a model or block body: inputs, shared layers, chains, loss terms
        ((tensor, name), ...: `add_loss name`), outputs."""
        live = outputs + [key for key, _ in terms]
        for inp in model.inputs:
            if ((), inp.tensor) not in {t for u in units for t in fold.reads(u)} | set(live):
                self.fail(
                    f"input {inp.name!r} of model {model.name!r} is not used by it",
                    "a spec cannot declare an input that no layer reads",
                )
        if len(set(outputs)) != len(outputs):
            self.fail(f"model {model.name!r} lists one tensor as two of its outputs")
        named = []
        for inp in model.inputs:
            auto = is_auto_name(inp.name, "InputLayer") or not identifier(inp.name)
            named.append((("x" if in_block else "inputs") if auto else identifier(inp.name), ((), inp.tensor)))
        for key, term in terms:
            named.append((term, key))
        statements = statements_of(units, live, class_order=not in_block)
        tensors, declared = self.names_of(named, units, statements, live)
        for key, term in terms:
            if tensors[key] != term:
                raise ImportFailure(
                    self.path, "E903", f"the loss term {term!r} cannot be named so in the spec (the name is taken)"
                )
        head = []
        for inp in model.inputs:
            dims = ", ".join("None" if d is None else str(d) for d in inp.shape)
            head.append(f"{INDENT}input {tensors[((), inp.tensor)]}" + ("" if in_block else f": {inp.dtype}[{dims}]"))
        return self.lines(head, statements, outputs, tensors, declared, in_block, terms=terms)

    def lines(self, head, statements, outputs, tensors, declared, in_block, compact=False, terms=()) -> list:
        """`compact`: no blank lines around the statements (a folded block, as specs write them)."""
        lines = list(head)
        if declared:
            lines.append("")
            for unit, name in declared.values():
                lines.append(f"{INDENT}layer {name} = {self.step_call(unit, in_block)}")
        if not compact:
            lines.append("")
        previous_long = False
        for statement in statements:
            if isinstance(statement, Assign):
                unit = statement.unit
                text = [f"{INDENT}{tensors[unit.outputs[0]]} = {operations.text(unit.expr, lambda k: tensors[k])}"]
            else:
                source = statement.sources
                first = tensors[source[0]] if len(source) == 1 else "[" + ", ".join(tensors[t] for t in source) + "]"
                steps = [self.step(u, in_block, declared, tensors) for u in statement.units]
                last = statement.units[-1]
                target = ", ".join(tensors.get(t, "_") for t in last.outputs)
                text = chain_lines(first, steps, target)
            if (len(text) > 1 or previous_long) and lines[-1] != "" and not (compact and len(lines) == len(head)):
                lines.append("")  # a multi-line chain stands apart
            lines += text
            previous_long = len(text) > 1
        if terms:
            lines.append(f"{INDENT}add_loss {', '.join(term for _, term in terms)}")
        lines += ([] if compact else [""]) + [f"{INDENT}output {', '.join(tensors[t] for t in outputs)}"]
        return lines

    def names_of(self, named, units, statements, outputs, by_kind=False):
        """Names of the named tensors (inputs, then outputs, then the other results) and of the
        layers applied more than once: {tensor: name}, {id(layer): (unit, name)}."""
        names = Names()
        tensors = {}
        for base, key in named:
            tensors[key] = names.add(base)
        producer = {t: u for u in units for t in u.outputs}
        for t in outputs:
            if t not in tensors:
                tensors[t] = names.add(self.base(producer[t], by_kind))
        reads = Counter(t for u in units for t in fold.reads(u))
        uses = Counter(id(u.layer) for u in units if isinstance(u, Unit) and u.expr is None)
        declared = {}
        for unit in units:
            if (
                isinstance(unit, Unit)
                and unit.expr is None
                and uses[id(unit.layer)] > 1
                and id(unit.layer) not in declared
            ):
                declared[id(unit.layer)] = (unit, names.add(self.base(unit, by_kind)))
        for statement in statements:
            last = statement.unit if isinstance(statement, Assign) else statement.units[-1]
            for t in last.outputs:
                if t not in tensors and (len(last.outputs) == 1 or reads[t]):
                    tensors[t] = names.add(self.base(last, by_kind))
        return tensors, declared

    def base(self, unit, by_kind=False) -> str:
        """The name of what a unit makes: its layer's Keras name, unless Keras made it up or the
        unit is a template's (`by_kind`), then its kind's."""
        if isinstance(unit, fold.Instance):
            return snake(unit.block.name.removesuffix("Block") or "block")
        layer = unit.layer
        own = identifier(layer.name) if not by_kind and not is_auto_name(layer.name, layer.class_name) else ""
        if unit.expr is not None:
            kind = unit.expr.name if isinstance(unit.expr, Call) else operations.op_name(layer.class_name)
            return own or kind or "value"
        if by_kind or is_auto_name(layer.name, layer.class_name):
            return snake(layer.class_name)
        return identifier(layer.name) or snake(layer.class_name)

    def step(self, unit, in_block: bool, declared: dict, tensors: dict) -> str:
        if isinstance(unit, fold.Instance):
            text = f"{unit.block.name}({', '.join(show(a) for a in unit.args)})"
            return text + (f" * {unit.repeat}" if unit.repeat > 1 else "")
        text = declared[id(unit.layer)][1] if id(unit.layer) in declared else self.step_call(unit, in_block)
        if unit.kwargs:
            parts = []
            for key, value in unit.kwargs:
                if isinstance(value, tuple):
                    parts.append(f"{key}={tensors[value]}")
                elif isinstance(value, list):
                    parts.append(f"{key}=[{', '.join(tensors[v] if isinstance(v, tuple) else show(v) for v in value)}]")
                else:
                    parts.append(f"{key}={show(value)}")
            text += f"({', '.join(parts)})"
        return text

    def step_call(self, unit, in_block: bool) -> str:
        layer = unit.layer
        if layer.model is not None:
            return f"{self.block(layer)}()"
        call = unit.call if unit.call is not None else self.call_of(unit)
        if unit.call is None:
            where = f"layer {layer.label!r} ({layer.class_name})"
            name = self.kept_name(layer, in_block, where)
            if name is not None:
                call = Call(call.name, call.args, call.kwargs + (("name", name),))
        return show(call)

    def call_of(self, unit) -> Call:
        layer = unit.layer
        if id(layer) not in self.calls:
            where = f"layer {layer.label!r} ({layer.class_name})"
            self.calls[id(layer)] = self.arguments.call(layer.entry, where)
        return self.calls[id(layer)]

    def kept_name(self, layer, in_block: bool, where: str) -> str | None:
        """A user's name is written once per model: a block may be used more than once, and
        inlined nested models may reuse names, while Keras needs them unique."""
        name = layer.name
        if is_auto_name(name, layer.class_name):
            return None
        if layer.written_name is not None:
            return layer.written_name or None
        kept = None
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
            kept = name
        layer.written_name = kept or ""
        return kept

    # -- nested models -----------------------------------------------------------------------
    def flatten(self, model):
        """The model's applications with inlined nested models spliced in; keys are scoped
        by the path of nested applications so that inner names cannot clash."""
        units, alias, terms = [], {}, []

        def resolve(key):
            while key in alias:
                key = alias[key]
            return key

        def walk(m, prefix):
            for app in m.apps:
                inputs = [resolve((prefix, t)) for t in app.inputs]
                layer = app.layer
                if layer.term is not None:  # tfspec's own add_loss layer: x passes through
                    if len(inputs) != 2:
                        self.fail(f"layer {layer.label!r} (AddLoss) takes a tensor and its loss term")
                    alias[(prefix, app.outputs[0])] = inputs[0]
                    terms.append((inputs[1], layer.term))
                    continue
                if layer.model is None or self.is_block(layer):
                    kwargs = [(k, scoped(v, prefix, resolve)) for k, v in app.kwargs]
                    expr = None
                    if app.expr is not None:
                        expr = operations.substitute(app.expr, lambda o: operations.Operand(resolve((prefix, o.key))))
                    units.append(Unit(layer, inputs, [(prefix, o) for o in app.outputs], kwargs, expr))
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
        return units, [resolve(((), t)) for t in model.outputs], terms

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
        units, outputs, terms = self.flatten(layer.model)
        units = self.fold_operations(units, outputs + [key for key, _ in terms])
        lines = self.body(layer.model, units, outputs, in_block=True, terms=terms)
        text = "\n".join(lines)
        if text not in self.block_by_text:
            auto = is_auto_name(layer.name, layer.class_name) or not identifier(layer.name)
            base = camel(layer.class_name if auto else layer.name) + ("Block" if auto else "")
            name, n = base, 2
            while name in self.taken_blocks or name in RESERVED:
                name = f"{base}Block" if n == 2 and not base.endswith("Block") else f"{base}{n}"
                n += 1
            self.taken_blocks.add(name)
            self.blocks.append((f"block {name}() {{", lines))
            self.block_by_text[text] = name
        self.block_of[id(layer)] = self.block_by_text[text]
        return self.block_of[id(layer)]


def scoped(value, prefix, resolve):
    """A call argument's tensor keys, scoped and resolved."""
    if isinstance(value, tuple):
        return resolve((prefix, value))
    if isinstance(value, list):
        return [resolve((prefix, v)) if isinstance(v, tuple) else v for v in value]
    return value


def chain_lines(head: str, steps: list, target: str) -> list:
    """One line when short, else one step per line with the arrows aligned (as in specs/)."""
    line = INDENT + " -> ".join([head, *steps, target])
    if len(steps) <= 3 and len(line) <= WIDTH:
        return [line]
    if len(head) > 24:  # a long list source: the steps go below it
        return [INDENT + head] + [f"{INDENT * 2}-> {s}" for s in steps + [target]]
    pad = INDENT + " " * (len(head) + 1)
    return [f"{INDENT}{head} -> {steps[0]}"] + [f"{pad}-> {s}" for s in steps[1:] + [target]]
