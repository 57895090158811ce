"""Lowering: the validated spec dict -> IR graphs, with the semantic checks of names,
references, arity, argument types and cycles. Every problem found is collected."""

from __future__ import annotations

import heapq
import keyword
import re
from functools import cache, partial

from ..diagnostics import Collector, Names, Span, did_you_mean
from ..frontend.source import MAX_DEPTH
from . import layers as _layers  # noqa: F401  (registers the catalog)
from .catalog import ALIASES, REGISTRY, bind, contains_ref, lookup
from .evaluate import holds_expression
from .lower_expr import GraphContext, call_arguments, lower_assign, refs_in, static_assigns, tensor_of
from .nodes import MISSING, Block, Graph, Input, Layer, LossTerm, Node, Tensor, TensorList
from .values import _PLAIN, Call, Ref, from_json, has_refs, measure, show, substitute
from .walk import MAX_BLOCK_DEPTH, block_uses, fold, used_blocks

IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
STATEMENT_WORDS = frozenset({"model", "block", "train", "search", "input", "output", "layer", "add_loss"})
# What the run logs under these names (besides the metrics and, with several outputs, each
# output's loss): a loss term named so would be logged under the same name (E311).
RESERVED_LOG_NAMES = {"loss": "total loss", "lr": "learning rate", "epoch": "epoch number"}
_RESERVED = frozenset(keyword.kwlist) | {"True", "False", "None"} | STATEMENT_WORDS
# The most values an argument built from block parameters may hold once bound (E309). Text
# cannot write more than about 500,000 in 1 MiB, but `Inner([u, u])` doubles at every level.
MAX_ARGUMENT_ITEMS = 100_000


@cache  # names are few, or as many as the text writes (bounded by it)
def snake(name: str) -> str:
    """Keras's own naming: Conv2D -> conv2d, BatchNormalization -> batch_normalization."""
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    s = re.sub(r"([a-z])([A-Z])", r"\1_\2", s)
    return s.lower()


class LazyNames:
    """`did_you_mean` over names made only when a first suggestion is wanted, then kept (the
    tensors of a body: one sort for all its undefined names, not one each)."""

    def __init__(self, make):
        self.make = make
        self.names = None

    def __call__(self, word: str) -> str | None:
        if self.names is None:
            self.names = Names(self.make())
        return did_you_mean(word, self.names)


def unknown_layer_hint(suggestion: str | None) -> str:
    """The did-you-mean of an unknown layer, and which plugins are loaded (a layer kind may come
    from a plugin that is not installed or not named with --plugin)."""
    from ..plugins import loaded_text

    if suggestion:
        return f"{suggestion} ({loaded_text()})"
    return f"{loaded_text()}: a layer from a plugin needs its package installed or `--plugin MODULE`"


def _kind_names(blocks: dict) -> list:
    return sorted(set(REGISTRY) | set(ALIASES) | set(blocks))


def _layer_names(declared: dict, blocks: dict) -> list:
    return sorted(declared) + sorted(blocks)


class Lowerer:
    def __init__(self, spec: dict, spans: dict, path: str):
        self.spec = spec
        self.spans = spans
        self.path = path
        self.errors = Collector(path)
        self.blocks: dict[str, Block] = {}
        self.bindings: dict = {}  # plain call -> (LayerDef, Bound), see make_layer
        # what an unknown layer kind may have meant: every catalog name and block (made once)
        self.kinds = LazyNames(partial(_kind_names, self.blocks))  # (no reference to self: no cycle)
        self.layer_names: dict = {}  # id(declared layers of a body) -> (declared, LazyNames)

    def span(self, where) -> Span:
        span = self.spans.get(where)  # the common case: a span recorded at the very path
        if span is not None:
            return span
        for cut in range(len(where) - 1, -1, -1):
            span = self.spans.get(tuple(where[:cut]))
            if span is not None:
                return span
        return Span(self.path, 1, 1)

    def error(self, code, message, where, hint=None):
        span = where if isinstance(where, Span) else self.span(where)
        self.errors.error(code, message, span, hint)

    def check_name(self, name: str, where) -> None:
        if name not in _RESERVED and IDENT.match(name) and name.isascii() and not name.startswith("__"):
            return  # a good name (the usual case): none of the tests below would fire
        if name.startswith(DISCARD + "~"):
            return  # a `_` of the text (discard_names)
        if keyword.iskeyword(name) or name in ("True", "False", "None"):
            self.error(
                "E307", f"{name!r} is a Python keyword and cannot name anything here", where, f"rename it, e.g. {name}_"
            )
        elif name in STATEMENT_WORDS:
            self.error(
                "E307", f"{name!r} is a tfspec keyword and cannot name anything", where, f"rename it, e.g. {name}_"
            )
        elif name.startswith("__"):
            self.error("E307", f"names starting with '__' are reserved: {name!r}", where)
        elif not IDENT.match(name) or not name.isascii():
            self.error("E307", f"{name!r} is not a valid name", where)

    # -- program -------------------------------------------------------------
    def program(self):
        for i, entry in enumerate(self.spec["blocks"]):
            where = ("blocks", i)
            name = entry["name"]
            self.check_name(name, where + ("name",))
            if name in self.blocks:
                self.error(
                    "E302",
                    f"block {name!r} is defined twice",
                    where + ("name",),
                    f"the first definition is at line {self.blocks[name].span.line}",
                )
                continue
            if lookup(name):
                self.error(
                    "E302",
                    f"block {name!r} has the name of a Keras layer",
                    where + ("name",),
                    "give the block a name of its own",
                )
            params = []
            seen = set()
            for j, p in enumerate(entry["params"]):
                self.check_name(p["name"], where + ("params", j))
                if p["name"] in seen:
                    self.error("E302", f"parameter {p['name']!r} is listed twice", where + ("params", j))
                seen.add(p["name"])
                default = (
                    from_json(p["default"], self.spans, where + ("params", j, "default")) if "default" in p else MISSING
                )
                if default is not MISSING:
                    # a bare name in a default is neither a parameter nor a value (`kernel=three`)
                    self.check_refs(default, where + ("params", j, "default"), None)
                if default is MISSING and any(q[1] is not MISSING for q in params):
                    self.error(
                        "E107",
                        f"parameter {p['name']!r} without a default follows one with a default",
                        where + ("params", j),
                    )
                params.append((p["name"], default))
            self.blocks[name] = Block(name, params, None, self.span(where + ("name",)))
        for i, entry in enumerate(self.spec["blocks"]):
            block = self.blocks.get(entry["name"])
            if block is not None and block.graph is None:
                self.current_block = block.name
                block.graph = self.body(
                    entry["body"],
                    ("blocks", i, "body"),
                    entry["name"],
                    params={p for p, _ in block.params},
                    span=block.span,
                )
        self.current_block = None
        cycle = self.check_block_recursion()
        model = None
        if self.spec["model"] is None:
            self.error(
                "E308",
                "the spec has no model",
                Span(self.path, 1, 1),
                "add `model Name { input x: [784] ... output y }`",
            )
        else:
            m = self.spec["model"]
            self.check_name(m["name"], ("model", "name"))
            model = self.body(m["body"], ("model", "body"), m["name"], params=None, span=self.span(("model", "name")))
            if not cycle:
                self.check_nesting(model)
        return model

    def check_block_recursion(self) -> bool:
        """E303 for blocks that use each other in a cycle; True when there is one. A depth-first
        walk with an explicit stack (a chain of a thousand blocks must not exhaust Python's)."""
        uses = {
            name: {layer.kind for layer in b.graph.layers if layer.block is not None or layer.kind in self.blocks}
            for name, b in self.blocks.items()
            if b.graph is not None
        }
        state = {}  # name -> 1 on the current path, 2 done
        found = False
        for root in uses:
            if state.get(root):
                continue
            state[root] = 1
            trail = [root]
            stack = [iter(sorted(uses[root]))]
            while stack:
                for other in stack[-1]:
                    if other not in uses or state.get(other) == 2:
                        continue
                    if state.get(other) == 1:
                        cycle = " -> ".join(trail[trail.index(other) :] + [other])
                        self.error("E303", f"blocks use each other in a cycle: {cycle}", self.blocks[other].span)
                        found = True
                        for name in trail:
                            state[name] = 2
                        stack.clear()
                        break
                    state[other] = 1
                    trail.append(other)
                    stack.append(iter(sorted(uses[other])))
                    break
                else:
                    state[trail.pop()] = 2
                    stack.pop()
        return found

    # -- nesting ---------------------------------------------------------------------------
    def check_nesting(self, model: Graph) -> None:
        """E309: blocks nested deeper than MAX_BLOCK_DEPTH, and block arguments that grow as
        they are passed down (`Inner([u, u])` doubles at every level). Sets Block.height.
        Runs on the templates only, so it is linear in the text whatever the nesting."""
        height: dict = {}
        for start in self.blocks.values():
            if id(start) in height:
                continue
            stack = [(start, iter(block_uses(start)))]
            while stack:
                block, inner = stack[-1]
                for callee in inner:
                    if id(callee) not in height:
                        stack.append((callee, iter(block_uses(callee))))
                        break
                else:
                    stack.pop()
                    height[id(block)] = 1 + max((height[id(c)] for c in block_uses(block)), default=0)
                    block.height = height[id(block)]
        if self.check_depth(model):
            self.check_growth(model)

    def check_depth(self, model: Graph) -> bool:
        """Follow the deepest path of block uses from the model; report the use that goes past
        MAX_BLOCK_DEPTH. False when it does."""
        graph, level, trail = model, 1, [model.name]
        while True:
            deepest = None
            for layer in graph.layers:
                if layer.block is not None and layer.block.graph is not None:
                    if deepest is None or layer.block.height > deepest.block.height:
                        deepest = layer
            if deepest is None or level + deepest.block.height - 1 <= MAX_BLOCK_DEPTH:
                return True
            trail.append(deepest.kind)
            if level > MAX_BLOCK_DEPTH:
                shown = trail if len(trail) <= 7 else trail[:3] + ["..."] + trail[-3:]
                self.error(
                    "E309",
                    f"block {deepest.kind} is used here {level} blocks deep; blocks nest at most "
                    f"{MAX_BLOCK_DEPTH} deep (this path goes {level + deepest.block.height - 1} deep)",
                    deepest.span,
                    f"the uses go {' -> '.join(shown)}; use blocks one after another in a chain "
                    "rather than one inside another",
                )
                return False
            graph, level = deepest.block.graph, level + 1

    def check_growth(self, model: Graph) -> None:
        """Measure every argument that holds a block parameter with the largest value each
        parameter can receive (callers before callees: the model, then blocks by height)."""
        reachable = [b for b in used_blocks(model) if b.graph is not None]
        order = sorted(reachable, key=lambda b: -b.height)  # a caller is higher than its callees
        received: dict = {id(b): {} for b in reachable}  # id(block) -> {param: (items, depth)}

        def grows(value, known, layer, what) -> tuple:
            items, depth = measure(value, known)
            if items <= MAX_ARGUMENT_ITEMS and depth <= MAX_DEPTH:
                return items, depth
            if not isinstance(value, Ref):  # a bare parameter passes on what was measured already
                size = (
                    f"hold {items:,} values (the limit is {MAX_ARGUMENT_ITEMS:,})"
                    if items > MAX_ARGUMENT_ITEMS
                    else f"be nested {depth} brackets deep (the limit is {MAX_DEPTH}, as for brackets written out)"
                )
                self.error(
                    "E309",
                    f"{what} would {size}: it is built from block parameters that grow at each level of blocks",
                    layer.span,
                    "pass each parameter on as it is; an argument such as [u, u] doubles at every level",
                )
            return 1, 0

        for graph, known in [(model, {})] + [(b.graph, received[id(b)]) for b in order]:
            for layer in graph.layers:
                call = layer.call
                if layer.block is None:
                    for i, value in enumerate(call.args):
                        if type(value) not in _PLAIN and contains_ref(value):
                            grows(value, known, layer, f"argument {i + 1} of {layer.kind}")
                    for key, value in call.kwargs:
                        if type(value) not in _PLAIN and contains_ref(value):
                            grows(value, known, layer, f"the argument {key!r} of {layer.kind}")
                    continue
                block = layer.block
                if id(block) not in received:
                    continue
                target = received[id(block)]
                given = dict(zip([p for p, _ in block.params], call.args))
                given.update((k, v) for k, v in call.kwargs if k not in given)
                for pname, default in block.params:
                    if pname in given and contains_ref(given[pname]):
                        what = f"the argument {pname!r} of block {block.name}"
                        items, depth = grows(given[pname], known, layer, what)
                    elif pname in given:
                        items, depth = measure(given[pname])  # written out in the text
                    elif default is not MISSING:
                        items, depth = measure(default)
                    else:
                        continue
                    before = target.get(pname, (0, 0))
                    target[pname] = (max(before[0], items), max(before[1], depth))

    # -- bodies ----------------------------------------------------------------
    def body(self, body: dict, where, name: str, params, span: Span) -> Graph:
        in_block = params is not None
        errors_before = len(self.errors.items)
        defined: dict[str, tuple[str, tuple]] = {}  # name -> (kind, path of the definition)
        guards: dict = {}  # name -> [guard of each definition], for names defined under `if`

        def define(n, kind, w, guard=()):
            self.check_name(n, w)
            if n in defined and (guard or n in guards) and exclusive(guard, guards.get(n, [()])):
                guards.setdefault(n, [()]).append(guard)  # `if ... { z = a } else { z = b }`
                if defined[n][0] != kind:
                    self.error("E302", f"{n!r} is a {defined[n][0]} in one branch and a {kind} in another", w)
                return
            if guard:
                guards[n] = [guard]
            if params and n in params:
                self.error("E302", f"{n!r} is already a parameter of this block", w)
            elif n in defined:
                self.error(
                    "E302",
                    f"{n!r} is defined twice",
                    w,
                    f"the first definition ({defined[n][0]}) is at line {self.span(defined[n][1]).line}",
                )
            else:
                defined[n] = (kind, w)  # its span is looked up only for a diagnostic

        inputs = []
        for i, entry in enumerate(body["inputs"]):
            w = where + ("inputs", i)
            define(entry["name"], "input", w)
            shape = tuple(entry["shape"]) if entry["shape"] is not None else None
            if shape is None and not in_block:
                self.error(
                    "E308",
                    f"model input {entry['name']!r} needs a shape",
                    w,
                    f"e.g. `input {entry['name']}: float32[28, 28]` ([None] for variable length)",
                )
            if shape is not None and in_block:
                self.error(
                    "E308",
                    "block inputs take their shape from the caller",
                    w + ("shape",),
                    f"write `input {entry['name']}`",
                )
                shape = None
            inputs.append(Input(entry["name"], shape, entry["dtype"], self.span(w)))
        if in_block and not inputs:
            self.error("E308", f"block {name!r} has no input", span, "add `input x`")
        if not in_block and not inputs and not body["chains"]:
            self.error("E308", f"model {name!r} is empty", span, "add inputs, a chain and outputs")

        declared: dict[str, Layer] = {}
        counters: dict[str, int] = {}
        taken = set()
        graph = Graph(name, inputs, [], [], [], span)

        for i, entry in enumerate(body["layers"]):
            w = where + ("layers", i)
            define(entry["name"], "layer", w)
            layer = self.make_layer(entry["layer"], w + ("layer",), entry["name"], params)
            if layer is not None:
                layer.declared = True
                declared[entry["name"]] = layer
                taken.add(entry["name"])

        flat = self.flatten(discard_names(body), where)
        chains, assigns = flat.chains, flat.assigns
        statics = static_assigns(
            assigns, {i.name for i in inputs} | {c["target"] for c in chains} | flat.also, declared
        )
        for chain in chains:
            at, guard = chain["at"], chain["guard"]
            if chain["target"] is not None:
                define(chain["target"], "tensor", at + ("target",), guard)
            for j, name in enumerate(chain.get("also", ())):
                define(name, "tensor", at + ("also", j), guard)
        for k, entry in enumerate(assigns):
            kind = "value" if k in statics else "tensor"
            for j, name in enumerate(entry["targets"]):
                define(name, kind, entry["at"] + ("targets", j), entry["guard"])
        tensors = {n for n, (kind, _) in defined.items() if kind in ("input", "tensor")}
        values = (set(params) if params else set()) | {n for n, (kind, _) in defined.items() if kind == "value"}
        taken |= set(defined)

        def fresh_id(kind: str, wanted=None) -> str:
            if (
                wanted is not None
                and isinstance(wanted, str)
                and IDENT.match(wanted)
                and not keyword.iskeyword(wanted)
                and not wanted.startswith("__")
                and wanted not in taken
            ):
                taken.add(wanted)
                return wanted
            base = snake(kind)
            while True:
                n = counters.get(base, 0)
                counters[base] = n + 1
                candidate = base if n == 0 else f"{base}_{n}"
                if candidate not in taken:
                    taken.add(candidate)
                    return candidate

        # order chains so that every chain comes after the chains producing its sources
        suggest_tensor = LazyNames(lambda: sorted(tensors))
        self.suggest_tensor = suggest_tensor
        statements = (
            [with_needs(c, declared, values) for c in chains]
            + [
                {
                    "source": refs_in(entry["value"], values),
                    "needs": refs_in(entry["value"], ()),  # values it reads are made first too
                    # what it uses: a tensor read only for its shape is not used (its layer would
                    # take no part in a functional model)
                    "uses": refs_in(entry["value"], (), shapes=False),
                    "target": entry["targets"][0],
                    "also": entry["targets"][1:],
                    "assign": k,
                    "at": entry["at"],
                    "guard": entry["guard"],
                }
                for k, entry in enumerate(assigns)
            ]
        )
        for statement in statements:  # a guarded statement also needs the names its conditions read
            if statement["guard"]:
                statement["needs"] = statement.get("needs", []) + flat.condition_reads(statement["guard"])
                statement["uses"] = statement.get("uses", []) + flat.condition_reads(statement["guard"], False)
        order = self.order_chains(statements, where, tensors, inputs, set(declared), suggest_tensor, values)
        context = GraphContext(self, graph, tensors, declared, values or None, fresh_id, set())
        spans_get = self.spans.get
        nodes_append = graph.nodes.append
        make_layer = self.make_layer
        used_tensors = set()
        placed = context.placed  # id() of the layers already in graph.layers
        for i in order:
            chain = statements[i]
            used_tensors.update(chain.get("uses", ()))
            context.index = i
            context.guard = guard = flat.guard_of(chain["guard"]) if chain["guard"] else ()
            if "assign" in chain:
                k = chain["assign"]
                lower_assign(context, assigns[k], chain["at"], k in statics)
                continue
            w = chain["at"]
            current = list(chain["source"])
            used_tensors.update(current)
            target = chain["target"]
            if target is None:
                self.error(
                    "E306",
                    "this chain does not name its result",
                    w,
                    "end it with `-> name`, e.g. `x -> Dense(10) -> y`",
                )
                continue
            if not chain["steps"]:
                self.error(
                    "E306",
                    f"the chain to {target!r} has no layers",
                    w + ("target",),
                    "a chain is `source -> Layer(...) -> ... -> result`",
                )
                continue
            apps = []
            apps_steps = []  # the step each application comes from
            steps = chain["steps"]
            for k, step in enumerate(steps):
                sw = w + ("steps", k)
                if step.get("repeat") == 1:  # one call: step_layers' common case, without its list
                    if step["call"]["call"] in declared and "using" not in step:
                        # `x -> lstm(initial_state=s)` is written `lstm(...)`: a declared layer's call
                        apps.append((declared[step["call"]["call"]], sw))
                    else:
                        apps.append((make_layer(step["call"], sw + ("call",), None, values, fresh_id), sw))
                    apps_steps.append(k)
                    continue
                for layer in self.step_layers(step, sw, declared, values, fresh_id):
                    apps.append((layer, sw))
                    apps_steps.append(k)
            final = len(apps) - 1
            context.index = i
            for n, (layer, sw) in enumerate(apps):
                if layer is None:
                    current = None
                    continue
                last = n == final
                out = target if last else f"{target}~{n}"
                if current is not None:
                    kwargs = ()
                    step = steps[apps_steps[n]]
                    using = step.get("using")
                    if using is None and declared and "call" in step and step["call"]["call"] in declared:
                        using = step["call"]  # `x -> lstm(initial_state=s)`: its arguments are the call's
                    if using is not None:
                        extra, kwargs = self.step_using(context, layer, using, sw + ("using",), out)
                        if extra is None:
                            current = None
                            continue
                        current = current + extra
                    count = len(current)
                    arity = None if layer.block is not None else REGISTRY[layer.kind].inputs
                    if arity is None or count < arity[0] or (arity[1] is not None and count > arity[1]):
                        self.check_arity(layer, count, sw)  # (reports only a wrong count)
                    more = tuple(chain["also"]) if last and "also" in chain else ()
                    span = spans_get(sw) or self.span(sw)
                    node = Node(layer, tuple(current), out, span, i, last, kwargs, more, guard)
                    repeat = steps[apps_steps[n]].get("repeat")
                    if isinstance(repeat, dict):  # `* depth`: a block parameter (tfspec.search.hyper)
                        node.repeat = self.count_ref(repeat["ref"], params, sw + ("repeat",))
                    nodes_append(node)
                    layer.uses += 1
                    if id(layer) not in placed:  # identity, not dataclass equality: O(1), and never
                        placed.add(id(layer))  # mistakes two equal-looking layers for one
                        graph.layers.append(layer)
                    current = [out]

        for i, out in enumerate(body["outputs"]):
            w = where + ("outputs", i)
            if out not in tensors:
                kind = defined.get(out, ("", None))[0]
                hint = "outputs name tensors, not layers" if kind == "layer" else suggest_tensor(out)
                self.error("E301", f"output {out!r} is not defined", w, hint)
            elif out in graph.outputs:
                self.error("E302", f"output {out!r} is listed twice", w)
            else:
                graph.outputs.append(out)
                graph.output_spans.append(self.span(w))
        if not body["outputs"]:
            self.error(
                "E305", f"{'block' if in_block else 'model'} {name!r} declares no output", span, "add `output <tensor>`"
            )

        if flat.losses:
            self.loss_terms(graph, flat, defined, tensors, values, used_tensors, suggest_tensor)
        used_tensors.update(graph.outputs)
        shape_only = {n for st in statements for n in st.get("needs", ())} - used_tensors
        if len(self.errors.items) > errors_before:
            return graph  # unused names are only worth reporting in an otherwise sound body
        for n, (kind, w) in defined.items():
            if kind in ("input", "tensor", "value") and n not in used_tensors and not n.startswith("_"):
                what = kind
                hint = "use it in a chain or list it in `output`"
                if n in shape_only:
                    hint = f"it is read only for its shape, so what makes it takes no part in the model; {hint}"
                elif w[-2] in ("also", "targets"):
                    hint += "; name a result you leave unused `_`"
                self.errors.error("E304", f"{what} {n!r} is never used", self.span(w), hint)
        for n, layer in declared.items():
            if layer.uses == 0:
                self.errors.error("E304", f"layer {n!r} is never used", self.span(defined[n][1]), "apply it in a chain")
        return graph

    def loss_terms(self, graph: Graph, flat, defined: dict, tensors, values, used: set, suggest) -> None:
        """The `add_loss` statements of a body: each names a tensor made in it (E301, E410), under a
        name the run can log it by (E311), at most once where both could run (E302)."""
        added: dict = {}  # name -> the guards of its add_loss statements
        for name, at, guard in flat.losses:
            if name not in tensors:
                kind = defined.get(name, ("", None))[0]
                if kind == "value" or name in values:
                    self.error(
                        "E410",
                        f"{name!r} is a value, not a tensor; add_loss takes a tensor",
                        at,
                        "compute the term as a tensor, e.g. `kl = -0.5 * sum(...)` then `add_loss kl`",
                    )
                else:
                    hint = "add_loss names a tensor, not a layer" if kind == "layer" else suggest(name)
                    self.error("E301", f"loss term {name!r} is not defined", at, hint)
                continue
            if name in RESERVED_LOG_NAMES:
                self.error(
                    "E311",
                    f"a loss term named {name!r} would be logged as the {RESERVED_LOG_NAMES[name]}",
                    at,
                    f"give the tensor another name, e.g. {name}_term",
                )
                continue
            if name in added and not exclusive(guard, added[name]):
                self.error("E302", f"the loss term {name!r} is added twice", at, "add each term once")
                continue
            added.setdefault(name, []).append(guard)
            used.add(name)
            if guard:
                used.update(flat.condition_reads(guard, False))
            graph.losses.append(LossTerm(name, self.span(at), flat.guard_of(guard) if guard else ()))

    def order_chains(self, chains, where, tensors, inputs, layer_names=(), suggest=None, values=()):
        suggest = suggest or LazyNames(lambda: sorted(tensors))
        producer: dict = {}  # name -> the statements that make it (two in the branches of an `if`)
        for i, c in enumerate(chains):
            for name in (c["target"], *c.get("also", ())):
                if name is not None:
                    producer.setdefault(name, []).append(i)
        input_names = {inp.name for inp in inputs}
        deps = {}
        for i, chain in enumerate(chains):
            deps[i] = {j for name in chain.get("needs", ()) for j in producer.get(name, ())}
            for j, src in enumerate(chain["source"]):
                if src in values and "assign" not in chain:  # (an assignment's refs are its values too)
                    at = chain.get("at", where + ("chains", i))
                    self.error(
                        "E410",
                        f"{src!r} is a value, not a tensor",
                        at + ("source", j),
                        "a chain starts from a tensor; a value goes into a layer's arguments, e.g. Dense(n)",
                    )
                elif src in producer:
                    deps[i].update(producer[src])
                elif src not in input_names:
                    hint = suggest(src)
                    if src in layer_names:
                        hint = f"{src!r} is a layer; a chain starts from a tensor: `x -> {src} -> y`"
                    self.error(
                        "E301",
                        f"{src!r} is not defined",
                        chain.get("at", where + ("chains", i)) + ("source", j),
                        hint or "a chain starts from an input or from the result of another chain",
                    )
        # Text order where the text allows it: of the statements whose tensors are all made, the
        # first in the text comes next (Kahn's algorithm with a heap: n log n). A text written in
        # order keeps it; a statement written before what it reads moves just after it.
        dependents = {i: [] for i in deps}
        pending = {i: len(d) for i, d in deps.items()}
        for i, d in deps.items():
            for j in d:
                dependents[j].append(i)
        if any("assign" in c or c.get("guard") for c in chains):  # kinds and branches: by position
            spans = [self.span(c["at"]) if "at" in c else None for c in chains]
            position = {i: (s.line, s.column, i) if s else (0, 0, i) for i, s in enumerate(spans)}
        else:  # chains only: their order is the text's (no Span made for each: a 1 MiB spec has 20,000)
            position = {i: i for i in range(len(chains))}
        ready = [position[i] for i in deps if pending[i] == 0]
        heapq.heapify(ready)
        back = {p: i for i, p in position.items()}
        order = []
        while ready:
            i = back[heapq.heappop(ready)]
            order.append(i)
            for k in dependents[i]:
                pending[k] -= 1
                if pending[k] == 0:
                    heapq.heappush(ready, position[k])
        wave = set(order)
        remaining = [i for i in range(len(chains)) if i not in wave]
        if remaining:
            first = remaining[0]
            names = sorted(chains[i]["target"] for i in remaining if chains[i]["target"])
            self.error(
                "E303",
                "these tensors depend on each other in a cycle: " + ", ".join(names),
                chains[first].get("at", where + ("chains", first)),
                "a model is a directed acyclic graph",
            )
        return order

    def flatten(self, body: dict, where) -> Flat:
        """The body's chains and assignments, those inside `if` branches included (Flat)."""
        flat = Flat()

        def walk(part: dict, at, guard: tuple) -> None:
            for i, chain in enumerate(part["chains"]):
                flat.chains.append(dict(chain, at=at + ("chains", i), guard=guard))
                flat.also.update(chain.get("also", ()))
            for i, entry in enumerate(part.get("assigns", ())):
                flat.assigns.append(dict(entry, at=at + ("assigns", i), guard=guard))
            for i, name in enumerate(part.get("losses", ())):
                flat.losses.append((name, at + ("losses", i), guard))
            if guard:
                for key, what in (("inputs", "an input"), ("outputs", "an output"), ("layers", "a layer")):
                    if part[key]:
                        self.error(
                            "E308",
                            f"{what} is declared inside an `if`",
                            at + (key, 0),
                            "declare inputs, outputs and shared layers outside `if` statements",
                        )
            for i, entry in enumerate(part.get("ifs", ())):
                k = len(flat.conditions)
                flat.conditions.append((entry["if"], at + ("ifs", i, "if")))
                walk(entry["then"], at + ("ifs", i, "then"), guard + ((k, True),))
                if entry["else"] is not None:
                    walk(entry["else"], at + ("ifs", i, "else"), guard + ((k, False),))

        walk(body, where, ())
        flat.trees = [from_json(value, self.spans, at) for value, at in flat.conditions]
        return flat

    def check_count(self, layer: Layer, count: int, where) -> None:
        """E407 when a layer gets a number of input tensors it does not take."""
        arity = None if layer.block is not None else REGISTRY[layer.kind].inputs
        if arity is None or count < arity[0] or (arity[1] is not None and count > arity[1]):
            self.check_arity(layer, count, where)  # (reports only a wrong count)

    def step_using(self, context, layer: Layer, using: dict, where, out: str):
        """A step's second argument list, `LSTM(8)(initial_state=[h, c])`: (further input tensors,
        call arguments), or (None, None) after an error."""
        extra = []
        for j, arg in enumerate(using["args"]):
            for k, item in enumerate(arg if isinstance(arg, list) else [arg]):
                at = where + ("args", j) + ((k,) if isinstance(arg, list) else ())
                name = tensor_of(context, item, at, out)
                if name is None:
                    return None, None
                extra.append(name)
        kwargs = call_arguments(context, layer, using["kwargs"], where, out)
        return (None, None) if kwargs is None else (extra, kwargs)

    def suggest_name(self, name: str):
        suggest = getattr(self, "suggest_tensor", None)
        return suggest(name) if suggest is not None else None

    def suggest_op(self, name: str):
        from .ops import OPS

        return did_you_mean(name, sorted(OPS))

    def check_arity(self, layer: Layer, count: int, where):
        if layer.block is not None:
            low = high = len(layer.block.graph.inputs) if layer.block.graph else count
        else:
            low, high = REGISTRY[layer.kind].inputs
        if count < low or (high is not None and count > high):
            if high == low:
                want = f"{low} input{'s' if low != 1 else ''}"
            elif high is None:
                want = f"at least {low} inputs"
            else:
                want = f"{low} to {high} inputs"
            hint = (
                "merge tensors with a list source: `[a, b] -> Add() -> c`"
                if low > 1
                else ("merge the tensors first, e.g. `[a, b] -> Concatenate() -> c`" if count > 1 else None)
            )
            self.error("E407", f"{layer.kind} takes {want}, got {count}", where, hint)

    # -- layers ----------------------------------------------------------------
    def step_layers(self, step, where, declared, params, fresh_id):
        if "ref" in step:
            name = step["ref"]
            if name in declared:
                return [declared[name]]
            if name in self.blocks:
                layer = self.make_layer({"call": name, "args": [], "kwargs": {}}, where, None, params, fresh_id)
                return [layer]
            if lookup(name):
                self.error("E401", f"{name} is a layer kind; call it to make a layer", where, f"write {name}()")
            else:
                known = self.layer_names.get(id(declared))
                if known is None or known[0] is not declared:
                    known = self.layer_names[id(declared)] = (
                        declared,
                        LazyNames(partial(_layer_names, declared, self.blocks)),
                    )
                self.error(
                    "E301",
                    f"{name!r} is not a layer defined here",
                    where,
                    known[1](name) or "define it with `layer name = Kind(...)`",
                )
            return [None]
        count = step["repeat"] if isinstance(step["repeat"], int) else 1  # `* depth`: one, repeated (count_ref)
        return [self.make_layer(step["call"], where + ("call",), None, params, fresh_id) for _ in range(count)]

    def count_ref(self, name: str, params, where) -> Ref:
        """The Ref of a repetition count given by a block parameter (E301 when it is none)."""
        if not params or name not in params:
            self.error("E301", f"the repetition count {name!r} is not a parameter here", where)
        return Ref(name, self.span(where))

    def make_layer(self, call_json: dict, where, name, params, fresh_id=None) -> Layer | None:
        args, kwargs = call_json["args"], call_json["kwargs"]
        late = False  # a call of plain scalars reads no value computed with the shapes
        types = tuple(map(type, args))
        kinds = tuple([type(v) for v in kwargs.values()]) if kwargs else ()
        bound = None
        if _PLAIN.issuperset(types) and _PLAIN.issuperset(kinds):
            # plain scalars (`Dense(64, activation="relu")`): from_json would copy them as they
            # are, they hold no name to check, and a call written alike was looked up and bound
            # already (the same Bound: its values are never changed). Scalars are keyed with
            # their types, as 1, 1.0 and True are equal in Python but not as arguments.
            spans = self.spans
            kind = call_json["call"]
            args, kwargs = tuple(args), tuple(kwargs.items())
            call = Call(kind, args, kwargs, spans.get(where) if spans else None)
            key = (kind, args, types, kwargs, kinds)
            known = self.bindings.get(key)
            if known is None:
                definition = REGISTRY.get(ALIASES.get(kind, kind))  # catalog.lookup
                known = self.bindings[key] = (
                    definition,
                    bind(definition, args, kwargs) if definition is not None else None,
                )
            definition, bound = known
        else:
            call = from_json(call_json, self.spans, where)
            self.check_refs(call, where, params)
            kind = call.name
            definition = REGISTRY.get(ALIASES.get(kind, kind))  # catalog.lookup
            late = holds_expression(call)
        span = call.span if call.span is not None else self.span(where)  # the same lookup
        if definition is not None:
            if bound is None:
                bound = bind(definition, call.args, call.kwargs)
            for problem in bound.errors:
                at = where + problem.where if problem.where else where
                self.error(problem.code, problem.message, at, problem.hint)
            if kind != definition.name or call.span is not span:  # an alias, or no span at the call
                kind = definition.name
                call = Call(kind, call.args, call.kwargs, span)
            layer_id = name or fresh_id(kind, call.kw.get("name") if call.kwargs else None)
            return Layer(layer_id, kind, call, span, values=bound.values, late=late)
        if kind in self.blocks:
            block = self.blocks[kind]
            if getattr(self, "current_block", None) == kind:
                self.error("E303", f"block {kind!r} uses itself", where)
                return None
            env = self.bind_block(block, call, where)
            layer_id = name or fresh_id(kind)
            layer = Layer(layer_id, kind, call, span, block=block)
            layer.values = env
            return layer
        self.error("E401", f"unknown layer {kind!r}", where + ("call",), unknown_layer_hint(self.kinds(kind)))
        return None

    def bind_block(self, block: Block, call: Call, where) -> dict:
        env = {}
        names = [p for p, _ in block.params]
        if len(call.args) > len(names):
            self.error(
                "E406",
                f"block {block.name} takes at most {len(names)} positional arguments, got {len(call.args)}",
                where + ("args", len(names)),
            )
        for (pname, _), value in zip(block.params, call.args):
            env[pname] = value
        for key, value in call.kwargs:
            if key not in names:
                self.error(
                    "E402",
                    f"block {block.name} has no parameter {key!r}",
                    where + ("kwargs", key),
                    did_you_mean(key, names),
                )
            elif key in env:
                self.error("E402", f"parameter {key!r} of block {block.name} is given twice", where + ("kwargs", key))
            else:
                env[key] = value
        for pname, default in block.params:
            if pname not in env:
                if default is MISSING:
                    self.error(
                        "E403",
                        f"block {block.name} needs the argument {pname!r}",
                        where,
                        f"e.g. {block.name}({pname}=...)",
                    )
                    env[pname] = None
                else:
                    env[pname] = default
        return env

    def check_refs(self, value, where, params):
        """A bare name in a layer argument must be a parameter of the enclosing block."""
        if isinstance(value, Ref):
            if params is None or value.name not in params:
                hint = (
                    f'strings are quoted: "{value.name}"'
                    if params is None
                    else did_you_mean(value.name, sorted(params)) or f'strings are quoted: "{value.name}"'
                )
                self.errors.error("E301", f"{value.name!r} is not defined", value.span or self.span(where), hint)
            return
        if isinstance(value, Call):
            parts = [*value.args, *(v for _, v in value.kwargs)]
        elif isinstance(value, (list, tuple)):
            parts = value
        elif isinstance(value, dict):
            parts = value.values()
        else:
            return
        for v in parts:
            if type(v) not in _PLAIN:  # scalars hold no name
                self.check_refs(v, where, params)


DISCARD = "_"


def with_needs(chain: dict, declared: dict, values) -> dict:
    """The chain, with "needs": the tensors a step's call reads besides the chain's own
    (`initial_state=[h, c]`), and the names its layers' arguments read (`Conv2D(c * 4, 1)`, `c`
    a value computed in the body): those must be made first."""
    needs = list(chain.get("needs", ()))
    uses = []
    for step in chain["steps"]:
        if "using" in step:
            needs += refs_in(step["using"], ())
            uses += refs_in(step["using"], (), shapes=False)
        call = step.get("call")
        if call is not None and not (
            _PLAIN.issuperset(map(type, call["args"])) and _PLAIN.issuperset(map(type, call["kwargs"].values()))
        ):
            needs += refs_in(call, ())  # (a call of plain scalars names nothing: the common case)
            uses += refs_in(call, (), shapes=False)
    if needs:
        chain["needs"] = needs  # (the chain is Flat's copy)
        chain["uses"] = uses
    return chain


def exclusive(guard: tuple, others: list) -> bool:
    """Whether a statement under `guard` never runs with one under any of `others` (they sit in
    different branches of one `if`)."""
    return all(any((k, not b) in guard for k, b in other) for other in others)


class Flat:
    """A body's statements with those of its `if` branches brought up beside them, each with its
    path ("at") and guard (((condition index, wanted truth), ...)); the conditions in order."""

    def __init__(self):
        self.chains: list = []
        self.assigns: list = []
        self.conditions: list = []  # (JSON value, path)
        self.also: set = set()
        self.losses: list = []  # (tensor name, path, guard) of each name an `add_loss` gives

    def guard_of(self, guard: tuple) -> tuple:
        """The guard with its conditions as IR values (what Node.guard holds)."""
        return tuple((self.trees[k], wanted) for k, wanted in guard)

    def condition_reads(self, guard: tuple, shapes: bool = True) -> list:
        """The names the conditions of a guard read (without `shapes`: not for their shape only)."""
        return [name for k, _ in guard for name in refs_in(self.conditions[k][0], (), shapes)]


def discard_names(body: dict) -> dict:
    """`seq, _, _ = LSTM(...)(x)`: each `_` is a result left unused, given a name of its own
    (`_~1`, printed `_`), so that `_` may be written more than once. Other names starting with
    `_` are ordinary, but never reported as unused."""
    count = 0

    def renamed(names):
        nonlocal count
        out = []
        for name in names:
            if name == DISCARD:
                count += 1
                name = f"{DISCARD}~{count}"
            out.append(name)
        return out

    if not any(DISCARD in c.get("also", ()) for c in body["chains"]) and not any(
        DISCARD in a["targets"] for a in body.get("assigns", ())
    ):
        return body
    chains = [dict(c, also=renamed(c["also"])) if "also" in c else c for c in body["chains"]]
    assigns = [dict(a, targets=renamed(a["targets"])) for a in body.get("assigns", ())]
    return dict(body, chains=chains, assigns=assigns)


def check_layer_names(graph: Graph, errors: Collector) -> None:
    """Keras refuses a model in which two layers (inputs included) carry the same name, and
    the functional style puts the layers of every block use into one model: a `name=` given
    twice, or the name of an input, is an error here rather than a ValueError at build time.
    Run after shape inference, which makes the block instances (layer.body).

    Instances share bodies, so only bodies holding a `name=` are walked, and one body at most
    twice per use in the model: the second walk finds every name in it taken already and
    reports each once; a third would only repeat the second."""
    seen = {inp.name: ("input", inp.span) for inp in graph.inputs}
    named = fold(graph, lambda g, inner: any(_named(layer, inner) for layer in g.layers))
    walks: dict = {}
    reported: set = set()

    def walk(g: Graph, context: str) -> None:
        for layer in g.layers:
            if layer.block is not None:
                body = layer.body
                if body is None or not named[id(body)]:
                    continue
                inner = context or f" (in block {layer.kind} used at line {layer.span.line})"
                count = walks.get((id(body), inner), 0)
                if count < 2:
                    walks[(id(body), inner)] = count + 1
                    walk(body, inner)
                continue
            name = layer.values.get("name")
            if not isinstance(name, str):
                continue
            if name in seen:
                what, first = seen[name]
                message = f"layer name {name!r} is used twice in the model{context}"
                if (message, layer.span) not in reported:
                    reported.add((message, layer.span))
                    errors.error(
                        "E302",
                        message,
                        layer.span,
                        f"Keras needs unique layer names; the {what} named {name!r} is at line {first.line}, "
                        f"column {first.column}",
                    )
            else:
                seen[name] = ("layer", layer.span)

    walk(graph, "")
    walk = None  # noqa: F841 - the closure refers to itself: a reference cycle, left for the collector otherwise


def _named(layer: Layer, inner: dict) -> bool:
    if layer.block is not None:
        return layer.body is not None and inner[id(layer.body)]
    return isinstance(layer.values.get("name"), str)


def instantiate(block: Block, env: dict, errors: Collector, use_span: Span, memo=None) -> Graph:
    """A copy of the block's template graph with parameters bound and arguments re-checked.

    Layers whose call holds no parameter are shared with the template as they are (their
    arguments were checked there); the others are substituted and bound again. `memo` (a
    tfspec.ir.shapes.Shaper) remembers across instances which template parts hold parameters
    and the binding of each distinct call."""
    template = block.graph
    refs = memo.refs if memo is not None else {}
    mapping = {}
    layers = []
    for layer in template.layers:
        if not has_refs(layer.call, refs):
            new = Layer(
                layer.id,
                layer.kind,
                layer.call,
                layer.span,
                values=layer.values,
                declared=layer.declared,
                block=layer.block,
                uses=layer.uses,
                late=layer.late,
            )
        elif layer.block is not None:
            call = substitute(layer.call, env, refs)
            inner_env = {k: substitute(v, env, refs) for k, v in layer.values.items()}
            new = Layer(
                layer.id,
                layer.kind,
                call,
                layer.span,
                values=inner_env,
                declared=layer.declared,
                block=layer.block,
                uses=layer.uses,
            )
        else:
            call = substitute(layer.call, env, refs)
            bound = (
                memo.bind(layer.kind, call) if memo is not None else bind(REGISTRY[layer.kind], call.args, call.kwargs)
            )
            for problem in bound.errors:
                errors.error(
                    problem.code,
                    f"{problem.message} (in block {block.name} used at line {use_span.line})",
                    layer.span,
                    problem.hint,
                )
            new = Layer(
                layer.id,
                layer.kind,
                call,
                layer.span,
                values=bound.values,
                declared=layer.declared,
                uses=layer.uses,
                late=holds_expression(call),
            )
        mapping[id(layer)] = new
        layers.append(new)
    nodes = []
    for n in template.nodes:
        layer = n.layer
        if layer.operation:
            expr = substitute(layer.expr, env, refs)
            if expr is not layer.expr:
                layer = Layer(layer.id, layer.kind, layer.call, layer.span, expr=expr, static=layer.static)
        else:
            layer = mapping[id(layer)]
        kwargs = tuple((k, v if isinstance(v, (Tensor, TensorList)) else substitute(v, env, refs)) for k, v in n.kwargs)
        guard = tuple((substitute(c, env, refs), wanted) for c, wanted in n.guard)
        node = Node(layer, n.inputs, n.output, n.span, n.chain, n.named, kwargs, n.more, guard)
        nodes.extend(repeated_nodes(node, substitute(n.repeat, env, refs), layers) if n.repeat is not None else [node])
    losses = [
        LossTerm(t.name, t.span, tuple((substitute(c, env, refs), w) for c, w in t.guard)) for t in template.losses
    ]
    return Graph(
        template.name,
        list(template.inputs),
        layers,
        nodes,
        list(template.outputs),
        template.span,
        list(template.output_spans),
        losses=losses,
    )


def repeated_nodes(node: Node, count, layers: list) -> list:
    """`count` applications of the node's layer, each to the result of the one before and each
    a fresh copy (added to `layers` after the first): the instance of `-> Dense(units) * depth`."""
    first = node.layer
    out = []
    source = node.inputs[0]
    for k in range(count):
        layer = first
        if k:
            layer = Layer(
                f"{first.id}~{k}",
                first.kind,
                first.call,
                first.span,
                values=first.values,
                block=first.block,
                late=first.late,
            )
            layers.insert(layers.index(out[-1].layer) + 1, layer)
        last = k == count - 1
        target = node.output if last else f"{node.output}~r{k}"
        more = node.more if last else ()
        out.append(
            Node(
                layer,
                (source, *node.inputs[1:]),
                target,
                node.span,
                node.chain,
                node.named and last,
                node.kwargs,
                more,
                node.guard,
            )
        )
        source = target
    return out


def show_value(value) -> str:
    return show(value)
