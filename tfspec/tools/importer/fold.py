"""Folding an imported graph into parametric blocks: what a person writes as `Residual(64, 256) * 2`.

The body's units (layer applications, operations, block instances), in topological order, are cut
where one tensor alone carries everything that follows: between two cuts lies a *segment* with one
input and one output. Segments of more than one unit that share a structure (their units' kinds
and wiring; the argument values may differ) become one block, applied at each of them. Then runs
of single units that repeat along the spine (a strided inverted residual: expand, depthwise,
project) become blocks too, the run with the largest saving of lines first. Whatever differs
between the occurrences becomes a block parameter: one per distinct column of values, an
integer multiple of another written as `4 * filters`. Consecutive instances with equal
arguments print as one step, `Block(...) * N`.

Every fold keeps the dataflow and every argument as it was, so the model built from the folded
spec is the model of the flat one (the importer's round-trip tests check it: parameters,
configurations and outputs).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from ...ir.catalog import CONSTRAINTS, INITIALIZERS, REGISTRY, REGULARIZERS
from ...ir.ops import OPS
from ...ir.values import Call, Ref

# Names a parameter cannot take: the spec's words and operations, and the block's input.
UNUSABLE = frozenset(
    {"x", "model", "block", "input", "output", "layer", "train", "add_loss", "if", "else"}
) | frozenset(OPS)
OBJECT_ARGS = {**INITIALIZERS, **REGULARIZERS, **CONSTRAINTS}  # class -> its arguments, in order
MAX_RUN = 48  # the longest run of single units considered as one block
# Windows (start, length) the search for repeated runs may look at in all: about 10 s for a
# model of 8,000 layers in no pattern; keras.applications' need 1-2% of it.
WINDOW_BUDGET = 15_000_000
BLOCK_OVERHEAD = 5  # lines a block's definition adds: header, input, blank, output, brace


@dataclass
class Folded:
    """A block made by folding: its template units (keys local to it), input and output keys."""

    name: str
    params: list  # parameter names, in call order
    units: list
    input: tuple
    output: tuple


@dataclass
class Instance:
    """A unit standing for one application of a Folded block (several when repeat > 1)."""

    block: Folded
    args: tuple
    inputs: list
    outputs: list
    repeat: int = 1
    kwargs: list = field(default_factory=list)
    expr: object = None
    layer: object = None
    call: object = None
    labels: tuple = ("", "")  # the Keras names of the first and last layers it stands for


def reads(unit) -> list:
    """Every tensor key a unit reads: its inputs, then those of its call arguments."""
    from .graph import kwarg_tensors

    return list(unit.inputs) + kwarg_tensors(unit.kwargs)


def cuts(units: list, inputs: list, outputs: list) -> list:
    """Indices i where the output of units[i] is the only tensor still needed after it."""
    n = len(units)
    made = {key: -1 for key in inputs}
    last = {}
    for i, unit in enumerate(units):
        for key in unit.outputs:
            made[key] = i
        for key in reads(unit):
            last[key] = i
    for key in outputs:
        last[key] = n
    delta = [0] * (n + 1)
    for key, end in last.items():
        start = made.get(key)
        if start is None or end <= start:
            continue
        delta[max(start, 0)] += 1  # live after units start .. end - 1
        delta[end] -= 1
    found, live = [], 0
    for i, unit in enumerate(units):
        live += delta[i]
        if live == 1 and len(unit.outputs) == 1 and last.get(unit.outputs[0], -1) > i:
            found.append(i)
    return found


class Folder:
    """One body's folding. `key(unit)` is a unit's structural key (None: never folded, e.g. a
    shared layer), `call(unit)` its spec call (a layer's) or None, `label(unit)` its Keras name."""

    def __init__(self, key, call, label, taken_names, object_default=None):
        self.key = key
        self.call = call
        self.label = label
        # (class, argument name or position) -> the default of a nested object's argument (L2's l2)
        self.object_default = object_default or (lambda name, arg: MISSING)
        self.taken = set(taken_names)
        self.blocks: list = []
        self.unnamed = 0  # Keras names of the layers folded into blocks (a block's layers are unnamed)
        self.rejected: set = set()  # (length, starts) of runs whose arguments fit no one template
        self.stopped = False  # the search for runs ran out of WINDOW_BUDGET

    # -- the top level -----------------------------------------------------------------
    def fold(self, units: list, inputs: list, outputs: list) -> list:
        points = cuts(units, inputs, outputs)
        segments, start = [], 0
        for end in points:
            segments.append(units[start : end + 1])
            start = end + 1
        if start < len(units):
            segments.append(units[start:])
        # the first segment's input: the model's, when it has one (none of its units reads more)
        entries = [inputs[0] if len(inputs) == 1 else None] + [units[end].outputs[0] for end in points]
        items = []  # (entry, units, key or None)
        for entry, segment in zip(entries, segments):
            key = self.segment_key(entry, segment) if entry is not None else None
            items.append([entry, segment, key])
        items = self.fold_segments(items)
        items = self.fold_runs(items)
        return repeats([unit for _, segment, _ in items for unit in segment], outputs)

    def fold_segments(self, items: list) -> list:
        """Segments of several units with one structure, seen twice or more: one block each."""
        groups = defaultdict(list)
        for n, (_, segment, key) in enumerate(items):
            if key is not None and len(segment) > 1:
                groups[key].append(n)
        for members in sorted(groups.values(), key=lambda m: m[0]):
            if len(members) < 2:
                continue
            self.extend(items, members)
            occurrences = [(items[n][0], items[n][1]) for n in members]
            made = self.make_block(occurrences)
            if made is None:
                continue
            for n, instance in zip(members, made):
                items[n] = [items[n][0], [instance], ("block", id(instance.block))]
        return [item for item in items if item is not None]

    @staticmethod
    def extend(items: list, members: list) -> None:
        """Grow each occurrence by the single units that follow (then precede) every one of
        them alike: the activation after a residual Add belongs to the block. Absorbed items
        become None."""

        def single(n):
            item = items[n] if 0 <= n < len(items) else None
            return item is not None and item[2] is not None and len(item[1]) == 1 and item[2][0] != "block"

        for step in (1, -1):
            while True:
                neighbours = []
                for n in members:
                    m = n + step
                    while 0 <= m < len(items) and items[m] is None:
                        m += step
                    neighbours.append(m)
                if not all(single(m) for m in neighbours) or len({items[m][2] for m in neighbours}) != 1:
                    break
                if len(set(neighbours)) != len(neighbours) or set(neighbours) & set(members):
                    break
                for n, m in zip(members, neighbours):
                    if step == 1:
                        items[n][1] = items[n][1] + items[m][1]
                    else:
                        items[n][0] = items[m][0]
                        items[n][1] = items[m][1] + items[n][1]
                    items[m] = None

    def fold_runs(self, items: list) -> list:
        """Repeated runs of single units along the spine, the largest saving first, while the
        search stays within WINDOW_BUDGET (a huge model keeps the runs it has not folded)."""
        spent = 0
        while True:
            spent += len(items) * MAX_RUN
            if spent > WINDOW_BUDGET:
                self.stopped = True
                return items
            best = self.best_run(items)
            if best is None:
                return items
            length, starts = best
            occurrences = []
            for s in starts:
                occurrences.append((items[s][0], [u for item in items[s : s + length] for u in item[1]]))
            made = self.make_block(occurrences)
            if made is None:  # their arguments do not fit one template: try the next best run
                self.rejected.add((length, tuple(starts)))
                continue
            result, n = [], 0
            starts_set = set(starts)
            instances = iter(made)
            while n < len(items):
                if n in starts_set:
                    instance = next(instances)
                    result.append([items[n][0], [instance], ("block", id(instance.block))])
                    n += length
                else:
                    result.append(items[n])
                    n += 1
            items = result

    def best_run(self, items: list):
        """(length, starts) of the run of items worth folding most, or None."""
        keys = [item[2] if item[2] is not None and len(item[1]) == 1 else None for item in items]
        inner = [k is not None and k[0] == "block" for k in keys]  # an instance: not at a run's ends
        sizes = [len(item[1]) for item in items]
        # How alike the Keras names on either side of each gap are (shared leading words):
        # a run reads as one block when its names are more alike inside than across its ends.
        ends = [self.labels(item[1]) for item in items]
        alike = [shared_words(ends[i][1], ends[i + 1][0]) for i in range(len(items) - 1)] + [0]
        best, best_score = None, (False, 0)
        n = len(items)
        # Each window's structure as one number, grown a unit at a time: (window, next key) -> id.
        number = {}
        ids = [None if k is None else number.setdefault(("key", k), len(number)) for k in keys]
        valid_until = [n] * (n + 1)  # the first unfoldable item at or after each position
        for s in range(n - 1, -1, -1):
            valid_until[s] = s if ids[s] is None else valid_until[s + 1]
        groups = defaultdict(list)  # (length, window id) -> starts, ascending
        for s in range(n):
            if ids[s] is None or inner[s]:
                continue
            window = ids[s]
            for length in range(2, min(MAX_RUN, valid_until[s] - s) + 1):
                window = number.setdefault((window, ids[s + length - 1]), len(number))
                if not inner[s + length - 1]:
                    groups[(length, window)].append(s)
        for (length, _), starts in groups.items():
            if len(starts) < 2:
                continue
            chosen, end = [], -1
            for s in starts:
                if s > end:
                    chosen.append(s)
                    end = s + length - 1
            if len(chosen) < 2 or (length, tuple(chosen)) in self.rejected:
                continue
            size = sum(sizes[chosen[0] : chosen[0] + length])
            saving = len(chosen) * size - (size + BLOCK_OVERHEAD) - len(chosen)
            if saving <= 0:
                continue
            natural = all(self.natural(alike, s, length) for s in chosen)
            score = (natural, saving)
            if score > best_score or (score == best_score and best is not None and chosen[0] < best[1][0]):
                best, best_score = (length, chosen), score
        return best

    @staticmethod
    def natural(alike: list, start: int, length: int) -> bool:
        inside = min(alike[start : start + length - 1])
        before = alike[start - 1] if start > 0 else 0
        return inside > max(before, alike[start + length - 1])

    def labels(self, units: list) -> tuple:
        first, last = units[0], units[-1]
        return (
            first.labels[0] if isinstance(first, Instance) else self.label(first),
            last.labels[1] if isinstance(last, Instance) else self.label(last),
        )

    # -- structure ---------------------------------------------------------------------
    def segment_key(self, entry, segment: list):
        """The structure of a segment: each unit's key and where its tensors come from."""
        where = {entry: ("in",)}
        parts = []
        for j, unit in enumerate(segment):
            key = self.key(unit)
            if key is None:
                return None
            wiring = []
            for t in reads(unit):
                if t not in where:
                    return None  # reads a tensor from before the segment's input
                wiring.append(where[t])
            parts.append((key, tuple(wiring)))
            for k, t in enumerate(unit.outputs):
                where[t] = (j, k)
        return tuple(parts)

    # -- blocks --------------------------------------------------------------------------
    def make_block(self, occurrences: list):
        """A block for `occurrences` ([(entry key, units)], of one structure) and an Instance for
        each; None when their arguments cannot be put in one template."""
        first_entry, first = occurrences[0]
        columns = self.columns(occurrences)
        if columns is None:
            return None
        params, values = self.parameters(columns, first)
        name = self.block_name(first_entry, first)
        template, local = [], {first_entry: ("x",)}
        for j, unit in enumerate(first):
            for k, t in enumerate(unit.outputs):
                local[t] = (f"t{j}", k)
        for j, unit in enumerate(first):
            template.append(self.template_unit(unit, local, values.get(j, {})))
        block = Folded(name, [p for p, _ in params], template, ("x",), local[first[-1].outputs[0]])
        self.blocks.append(block)
        self.unnamed += sum(
            1 for _, units in occurrences for u in units if not isinstance(u, Instance) and self.label(u)
        )
        instances = []
        for n, (entry, units) in enumerate(occurrences):
            args = tuple(column[n] for _, column in params)
            instances.append(Instance(block, args, [entry], list(units[-1].outputs), labels=self.labels(units)))
        return instances

    def columns(self, occurrences: list):
        """{(unit index, slot): [value of each occurrence]} for every argument of every layer;
        a keyword some occurrences leave out takes the catalog's default there."""
        found = {}
        count = len(occurrences)
        first = occurrences[0][1]
        for j in range(len(first)):
            calls = [self.call(units[j]) for _, units in occurrences]
            if calls[0] is None:
                if isinstance(first[j], Instance):
                    for i in range(len(first[j].args)):
                        found[(j, ("arg", i))] = [units[j].args[i] for _, units in occurrences]
                continue
            slots = [dict(leaves(c)) for c in calls]
            names = {s for leaf_slots in slots for s in leaf_slots}
            definition = REGISTRY.get(calls[0].name)
            for slot in sorted(names, key=repr):
                column = []
                for leaf_slots in slots:
                    if slot in leaf_slots:
                        column.append(leaf_slots[slot])
                        continue
                    default = compact_default(slot, self.slot_default(definition, slot))
                    if default is MISSING:
                        return None
                    column.append(default)
                assert len(column) == count
                found[(j, slot)] = column
        return found

    def slot_default(self, definition, slot):
        """The value an occurrence that leaves `slot` out has there: the catalog's default of a
        layer's keyword, the object's own default of a nested object's argument."""
        if "/" not in str(slot[1]):
            return catalog_default(definition, slot)
        path, arg = str(slot[1]).rsplit("/", 1)
        return self.object_default(path.rsplit(":", 1)[-1], int(arg) if arg.isdigit() else arg)

    def parameters(self, columns: dict, first: list):
        """[(name, column)] of the block's parameters and {unit index: {slot: value in the
        template}}: a Ref to a parameter, `c * parameter`, or the value all occurrences share."""
        params, by_column, values = [], {}, defaultdict(dict)
        for (j, slot), column in sorted(columns.items(), key=lambda kv: (kv[0][0], slot_order(kv[0][1]))):
            if all(same(v, column[0]) for v in column):
                values[j][slot] = column[0]
                continue
            frozen = freeze(column)
            if frozen in by_column:
                values[j][slot] = Ref(by_column[frozen])
                continue
            multiple = self.multiple_of(column, params)
            if multiple is not None:
                values[j][slot] = multiple
                continue
            name = self.param_name(slot, first[j], {p for p, _ in params})
            params.append((name, column))
            by_column[frozen] = name
            values[j][slot] = Ref(name)
        return derive(params, values)

    @staticmethod
    def multiple_of(column, params):
        from ...ir.values import Expr

        if not all(isinstance(v, int) and not isinstance(v, bool) for v in column):
            return None
        for name, base in params:
            if not all(isinstance(b, int) and not isinstance(b, bool) and b > 0 for b in base):
                continue
            if column[0] % base[0] == 0:
                factor = column[0] // base[0]
                if factor > 1 and all(v == factor * b for v, b in zip(column, base)):
                    return Expr("*", (factor, Ref(name)))
        return None

    def param_name(self, slot, unit, taken: set) -> str:
        base = "arg"
        if slot[0] == "kw":
            base = slot[1]
        elif slot[0] == "pos":
            call = self.call(unit)
            definition = REGISTRY.get(call.name) if call is not None else None
            positional = [a for a in definition.args if a.name != "name"] if definition else []
            base = positional[slot[1]].name if slot[1] < len(positional) else "arg"
        elif slot[0] == "arg" and isinstance(unit, Instance):
            base = unit.block.params[slot[1]]
        parts = str(base).split("/")
        if len(parts) > 1 and parts[-1].isdigit():  # a nested object's positional argument: L2(0.01)'s l2
            names = OBJECT_ARGS.get(parts[-2].rsplit(":", 1)[-1], ())
            parts[-1] = names[int(parts[-1])] if int(parts[-1]) < len(names) else parts[0].split(":")[0]
        base = parts[-1]
        if not base.isidentifier():
            base = "arg"
        name, n = base, 2
        while name in taken or name in UNUSABLE:
            name = f"{base}_{n}"
            n += 1
        return name

    def template_unit(self, unit, local: dict, values: dict):
        """The unit inside the block: keys local, arguments from the template."""
        from copy import copy

        made = copy(unit)
        made.inputs = [local[t] for t in unit.inputs]
        made.outputs = [local[t] for t in unit.outputs]
        made.kwargs = [(k, remap(v, local)) for k, v in unit.kwargs]
        if getattr(unit, "expr", None) is not None:
            from .operations import Operand, substitute

            made.expr = substitute(unit.expr, lambda o: Operand(local[o.key]))
        if isinstance(unit, Instance):
            made.args = tuple(values.get(("arg", i), a) for i, a in enumerate(unit.args))
            return made
        call = self.call(unit)
        if call is not None:
            made.call = rebuild(call, values)
        return made

    def block_name(self, entry, units: list) -> str:
        """From the words the Keras names share (conv2_block1_... -> ConvBlock), else from the
        layers; `Residual...` when the block adds its input to what it computes."""
        words = common_words([self.label(u) for u in units])
        base = camel_words(words) if words else structural_name(units, self.call)
        residual = any(entry in u.inputs and (self.call(u) is not None and self.call(u).name == "Add") for u in units)
        if residual and not base.startswith("Residual"):
            base = "Residual" + ("" if base == "Block" else base)
        if not base.endswith("Block"):
            base += "Block"
        name, n = base, 2
        while name in self.taken:
            name = f"{base}{n}"
            n += 1
        self.taken.add(name)
        return name


def derive(params: list, values: dict):
    """A parameter that is an integer multiple of a later one (expand 144 = 6 * project 24)
    written as `6 * project`, and dropped from the parameters."""
    from ...ir.values import Expr

    derived = {}
    for name, column in params:
        for other, base in params:
            if (
                other == name
                or other in derived
                or not all(isinstance(b, int) and not isinstance(b, bool) for b in base)
            ):
                continue
            if not all(isinstance(v, int) and not isinstance(v, bool) for v in column) or 0 in base:
                continue
            factor = column[0] // base[0]
            if factor > 1 and all(v == factor * b for v, b in zip(column, base)):
                derived[name] = Expr("*", (factor, Ref(other)))
                break
    kept = [(n, c) for n, c in params if n not in derived]
    # filters_2 reads `filters` again when that one is gone
    renamed = {}
    for n, _ in kept:
        plain = re.sub(r"_\d+$", "", n)
        if plain != n and plain not in {m for m, _ in kept} and plain not in renamed.values():
            renamed[n] = plain
    for slots in values.values():
        for slot, value in slots.items():
            if isinstance(value, Ref) and value.name in derived:
                value = derived[value.name]
            slots[slot] = rename(value, renamed)
    return [(renamed.get(n, n), c) for n, c in kept], values


def rename(value, renamed: dict):
    from ...ir.values import Expr

    if isinstance(value, Ref):
        return Ref(renamed.get(value.name, value.name))
    if isinstance(value, Expr):
        return Expr(value.op, tuple(rename(a, renamed) for a in value.args), value.kwargs)
    return value


def repeats(units: list, outputs: list) -> list:
    """Consecutive instances of one block with equal arguments as one step, `Block(...) * N`."""
    readers = Counter(t for u in units for t in reads(u))
    readers.update(outputs)
    result = []
    for unit in units:
        last = result[-1] if result else None
        if (
            isinstance(unit, Instance)
            and isinstance(last, Instance)
            and last.block is unit.block
            and last.args == unit.args
            and unit.inputs == last.outputs
            and readers[last.outputs[0]] == 1
        ):
            last.repeat += 1
            last.outputs = unit.outputs
            continue
        result.append(unit)
    return result


class _Missing:
    pass


MISSING = _Missing()


def catalog_default(definition, slot):
    if definition is None or slot[0] != "kw" or "/" in str(slot[1]):
        return MISSING
    for arg in definition.args:
        if arg.name == slot[1] and not arg.required:
            return arg.default
    return MISSING


def compact_default(slot, value):
    """A tuple default of a window argument written as the int Keras reads the same."""
    from .arguments import WINDOW_ARGS, compact

    if slot[1] in WINDOW_ARGS and isinstance(value, tuple):
        return compact(value)
    return value


def leaves(call: Call, prefix=""):
    """(slot, value) of every argument of a call: nested calls entered, other values whole."""
    for i, value in enumerate(call.args):
        slot = ("pos", i) if not prefix else ("kw", f"{prefix}/{i}")
        yield from _leaf(slot, value, prefix or "", i)
    for key, value in call.kwargs:
        if key == "name":
            continue
        slot = ("kw", f"{prefix}/{key}" if prefix else key)
        yield from _leaf(slot, value, prefix, key)


def _leaf(slot, value, prefix, key):
    if isinstance(value, Call):
        inner = f"{prefix}/{key}" if prefix else str(key)
        yield from leaves(value, inner + ":" + value.name)
    else:
        yield slot, value


def rebuild(call: Call, values: dict, prefix="") -> Call:
    """`call` with the template's values at its slots (the name left out)."""
    args = []
    for i, value in enumerate(call.args):
        slot = ("pos", i) if not prefix else ("kw", f"{prefix}/{i}")
        args.append(_rebuilt(slot, value, values, prefix, i))
    kwargs = []
    seen = set()
    for key, value in call.kwargs:
        if key == "name":
            continue
        slot = ("kw", f"{prefix}/{key}" if prefix else key)
        seen.add(slot)
        kwargs.append((key, _rebuilt(slot, value, values, prefix, key)))
    for slot, value in values.items():  # arguments this occurrence leaves at their defaults
        if slot[0] != "kw" or slot in seen or ("/" in str(slot[1])) != bool(prefix):
            continue
        if not prefix:
            kwargs.append((slot[1], value))
            continue
        path, arg = str(slot[1]).rsplit("/", 1)
        if path != prefix:
            continue
        if arg.isdigit():
            if int(arg) == len(args):  # positions come in order
                args.append(value)
        else:
            kwargs.append((arg, value))
    return Call(call.name, tuple(args), tuple(kwargs))


def _rebuilt(slot, value, values, prefix, key):
    if isinstance(value, Call):
        inner = f"{prefix}/{key}" if prefix else str(key)
        return rebuild(value, values, inner + ":" + value.name)
    return values.get(slot, value)


def remap(value, local):
    if isinstance(value, tuple):
        return local.get(value, value)
    if isinstance(value, list):
        return [local.get(v, v) if isinstance(v, tuple) else v for v in value]
    return value


def same(a, b) -> bool:
    return type(a) is type(b) and a == b


def freeze(column):
    return tuple((type(v).__name__, repr(v)) for v in column)


def slot_order(slot):
    return (0, slot[1]) if slot[0] == "pos" else (1, str(slot[1]))


TOKEN = re.compile(r"[A-Za-z]+")


def shared_words(a: str, b: str) -> int:
    """How many leading `_`-separated words two names share."""
    n = 0
    for x, y in zip(a.split("_"), b.split("_")):
        if x != y or not x:
            break
        n += 1
    return n


def common_words(names: list) -> list:
    """The words (digits and one-letter indices dropped) of the longest `_`-prefix the Keras
    names share: conv2_block1_1_conv, conv2_block1_2_conv, ... -> ["conv", "block"]."""
    names = [n for n in names if n]
    if len(names) < 2:
        return []
    split = [n.split("_") for n in names]
    prefix = []
    for parts in zip(*split):
        if all(p == parts[0] for p in parts):
            prefix.append(parts[0])
        else:
            break
    words = []
    for part in prefix:
        word = re.sub(r"\d+[a-z]?$", "", part)
        word = re.sub(r"\d+", "", word)
        if len(word) > 1:
            words.append(word.lower())
    return words


def camel_words(words: list) -> str:
    return "".join(w[:1].upper() + w[1:] for w in words)


def structural_name(units: list, call) -> str:
    kinds = [c.name for c in (call(u) for u in units) if c is not None]
    if any(k == "Add" for k in kinds):
        return "Residual"
    if any(k == "Concatenate" for k in kinds):
        return "Concat"
    for k in kinds:
        if "Conv" in k or k in ("Dense",):
            return k
    return kinds[0] if kinds else "Ops"
