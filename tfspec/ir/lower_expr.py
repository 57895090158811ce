"""Lowering of the v2 graph statements: `a, b = value` and a chain step's call arguments.

A value in a graph is lowered into nodes: a layer application (`LSTM(8)(x, initial_state=[h, c])`,
`embed(x)` for a declared layer) becomes a node of that layer, with its call arguments in
`Node.kwargs`; everything else that computes a tensor (operators, keras.ops functions, indexes)
becomes one *operation* node per maximal stretch of operations, whose Layer holds the expression
(`Layer.expr`) with the tensors it reads as Refs. Static parts (numbers, `x.shape[-1]`) stay in
the expression and are evaluated with the shapes (tfspec.ir.shapes).
"""

from __future__ import annotations

from .catalog import lookup
from .evaluate import BUILTINS
from .nodes import OPERATION, Layer, Node, Tensor, TensorList
from .ops import lookup_op
from .values import Call, Expr, Ref, from_json


class GraphContext:
    """What lowering a body's statements needs: the Lowerer, the body's names, and the graph."""

    def __init__(self, lowerer, graph, tensors, declared, params, fresh_id, placed):
        self.lowerer = lowerer
        self.graph = graph
        self.tensors = tensors  # names of the tensors defined in the body
        self.declared = declared  # name -> Layer (`layer name = ...`)
        self.params = params  # names of values: block parameters and `c = ...` values, or None
        self.fresh_id = fresh_id
        self.placed = placed  # id() of the layers in graph.layers
        self.index = 0  # the statement being lowered (Node.chain)
        self.guard = ()  # the guard of the statement being lowered (Node.guard)
        self.counters: dict = {}  # target -> parts named so far

    def error(self, code, message, where, hint=None):
        self.lowerer.error(code, message, where, hint)

    def intermediate(self, target: str) -> str:
        """A name for a part of the value assigned to `target` (printed `target_1`, `target_2`)."""
        base = target.split("~", 1)[0]
        self.counters[base] = self.counters.get(base, 0) + 1
        return f"{base}~e{self.counters[base]}"

    def add(self, node: Node) -> None:
        node.guard = self.guard
        self.graph.nodes.append(node)
        layer = node.layer
        if not layer.operation:
            layer.uses += 1
            if id(layer) not in self.placed:
                self.placed.add(id(layer))
                self.graph.layers.append(layer)


def refs_in(value, params, shapes: bool = True) -> list:
    """The names a JSON value reads that are not block parameters (tensors, in a graph), in order;
    without `shapes`, not those read only for their shape (`x.shape[-1]` does not use x's values)."""
    found = []

    def walk(v):
        if isinstance(v, dict):
            if "ref" in v and len(v) == 1:
                if not (params and v["ref"] in params):
                    found.append(v["ref"])
                return
            if "attr" in v and not shapes:
                return
            for key, item in v.items():
                if key == "apply" and isinstance(item, dict) and "ref" in item:
                    continue  # a declared layer, applied
                if key not in ("call", "attr", "op"):
                    walk(item)
        elif isinstance(v, list):
            for item in v:
                walk(item)

    walk(value)
    return found


def reads_tensor(value, tensors: set, declared: dict) -> bool:
    """Whether a JSON value computes with a tensor (not only with `x.shape`), syntactically."""
    if isinstance(value, list):
        return any(reads_tensor(v, tensors, declared) for v in value)
    if not isinstance(value, dict):
        return False
    if "ref" in value:
        return value["ref"] in tensors
    if "attr" in value:
        return False  # `x.shape` is known before the model runs
    if "apply" in value:
        return True
    if "call" in value:
        if value["call"] in declared:
            return True
        parts = list(value["args"]) + list(value["kwargs"].values())
        if value["call"] in BUILTINS:
            return any(reads_tensor(v, tensors, declared) for v in parts)
        return lookup_op(value["call"]) is not None or any(reads_tensor(v, tensors, declared) for v in parts)
    if "op" in value:
        return any(reads_tensor(v, tensors, declared) for v in value["args"])
    if "index" in value:
        items = [i for i in value["items"] if not (isinstance(i, dict) and ("slice" in i or "ellipsis" in i))]
        return reads_tensor(value["index"], tensors, declared) or reads_tensor(items, tensors, declared)
    if "tuple" in value:
        return reads_tensor(value["tuple"], tensors, declared)
    return False


def static_assigns(assigns: list, tensors: set, declared: dict) -> set:
    """The indexes of the assignments that compute values, not tensors (`c = x.shape[-1]`,
    `width = c * expand`): those that read no tensor, directly or through another assignment."""
    tensors = set(tensors)
    statics = set(range(len(assigns)))
    changed = True
    while changed:  # a fixed point: `b = a * 2` is a tensor when `a` is one
        changed = False
        for k in sorted(statics):
            entry = assigns[k]
            if len(entry["targets"]) > 1 or reads_tensor(entry["value"], tensors, declared):
                statics.discard(k)
                tensors.update(entry["targets"])
                changed = True
    return statics


def lower_assign(ctx: GraphContext, entry: dict, where, static: bool = False) -> None:
    targets = entry["targets"]
    value = entry["value"]
    vw = where + ("value",)
    target = targets[0]
    if static:  # `c = x.shape[-1]`: a value, computed with the shapes (an operation node too)
        tree, tensors = operation(ctx, value, vw, target)
        if tree is not None:
            node = operation_node(ctx, tree, tuple(dict.fromkeys(tensors)), target, vw)
            node.named = True
            node.layer.static = True
        return
    node = lower_value(ctx, value, vw, target)
    if node is None:
        return
    if node == "static":
        ctx.error(
            "E410",
            f"{target!r} is given a value that holds no tensor",
            vw,
            "a name in a graph stands for a tensor: compute it from an input, e.g. `y = x * 2`",
        )
        return
    node.named = True
    node.more = tuple(targets[1:])
    if len(targets) > 1 and node.layer.operation:
        ctx.error(
            "E409",
            f"an operation yields one tensor, {len(targets)} names are given",
            where + ("targets", 1),
            "several names take the tensors of a layer that yields several, e.g. `out, h, c = LSTM(8, return_state=True)(x)`",
        )


def lower_value(ctx: GraphContext, value, where, target: str):
    """Lower a value that computes a tensor: the node that makes it, its output named `target`;
    None after an error, or "static" when the value holds no tensor."""
    if isinstance(value, dict) and "ref" in value:
        name = value["ref"]
        if name in ctx.tensors:  # `y = x`: another name for a tensor
            return operation_node(ctx, Ref(name), (name,), target, where)
        return "static" if ctx.params and name in ctx.params else undefined(ctx, name, where)
    if isinstance(value, dict) and "apply" in value:
        return application(ctx, value, where, target)
    if isinstance(value, dict) and "call" in value and value["call"] in ctx.declared:
        return application(ctx, {"apply": {"ref": value["call"]}, **value}, where, target, callee_at=where)
    tree, tensors = operation(ctx, value, where, target)
    if tree is None:
        return None
    if not tensors:
        return "static"
    return operation_node(ctx, tree, tuple(dict.fromkeys(tensors)), target, where)


def undefined(ctx, name, where):
    hint = f"{name!r} is a layer: apply it to a tensor, `{name}(x)`" if name in ctx.declared else None
    ctx.error("E301", f"{name!r} is not defined", where, hint or ctx.lowerer.suggest_name(name))
    return None


def operation_node(ctx: GraphContext, tree, tensors: tuple, target: str, where) -> Node:
    span = ctx.lowerer.span(where)
    layer = Layer(ctx.fresh_id(OPERATION), OPERATION, Call(OPERATION, (), (), span), span, expr=tree)
    node = Node(layer, tensors, target, span, ctx.index, False)
    ctx.add(node)
    return node


def operation(ctx: GraphContext, value, where, target: str):
    """(IR tree, tensor names read) of a value computed with operations; layer applications in
    it become nodes of their own, read through a Ref to their output. (None, []) after an error."""
    tensors: list = []
    ok = [True]

    def walk(v, w):
        if not isinstance(v, (dict, list)):
            return v
        if isinstance(v, list):
            return [walk(item, w + (i,)) for i, item in enumerate(v)]
        if "ref" in v:
            name = v["ref"]
            if name in ctx.tensors:
                tensors.append(name)
                return Ref(name, ctx.lowerer.span(w))
            if ctx.params and name in ctx.params:
                return Ref(name, ctx.lowerer.span(w))
            ok[0] = False
            undefined(ctx, name, w)
            return None
        if "apply" in v or ("call" in v and v["call"] in ctx.declared):
            inner = ctx.intermediate(target)
            node = lower_value(ctx, v, w, inner)
            if node is None or node == "static":
                ok[0] = False
                return None
            tensors.append(inner)
            return Ref(inner, ctx.lowerer.span(w))
        if "call" in v:
            name = v["call"]
            if name in BUILTINS and not reads_tensor(v, ctx.tensors, ctx.declared):
                args = tuple(walk(a, w + ("args", i)) for i, a in enumerate(v["args"]))
                return Call(name, args, (), ctx.lowerer.span(w))  # `max(8, c)`: a value
            if lookup_op(name) is None:
                ok[0] = False
                if lookup(name) is not None or name in ctx.lowerer.blocks:
                    ctx.error(
                        "E410",
                        f"{name} is a layer: apply it to its input",
                        w,
                        f"e.g. `{name}(...)(x)`, or put it in a chain: `x -> {name}(...) -> y`",
                    )
                else:
                    ctx.error("E410", f"unknown operation {name!r}", w + ("call",), ctx.lowerer.suggest_op(name))
                return None
            args = tuple(walk(a, w + ("args", i)) for i, a in enumerate(v["args"]))
            kwargs = tuple((k, walk(a, w + ("kwargs", k))) for k, a in v["kwargs"].items())
            return Call(name, args, kwargs, ctx.lowerer.span(w))
        if "op" in v:
            args = tuple(walk(a, w + ("args", i)) for i, a in enumerate(v["args"]))
            return Expr(v["op"], args, (), ctx.lowerer.span(w))
        if "index" in v:
            target_ = walk(v["index"], w + ("index",))
            items = []
            for i, item in enumerate(v["items"]):
                iw = w + ("items", i)
                if isinstance(item, dict) and "slice" in item:
                    parts = tuple(walk(p, iw + ("slice", k)) for k, p in enumerate(item["slice"]))
                    items.append(Expr("slice", parts, (), ctx.lowerer.span(iw)))
                elif isinstance(item, dict) and "ellipsis" in item:
                    items.append(Expr("ellipsis", (), (), ctx.lowerer.span(iw)))
                else:
                    items.append(walk(item, iw))
            return Expr("index", (target_, *items), (), ctx.lowerer.span(w))
        if "attr" in v:
            of = v["of"]
            if v["attr"] != "shape":
                ok[0] = False
                ctx.error(
                    "E410",
                    f"unknown attribute {v['attr']!r}",
                    w + ("attr",),
                    "`x.shape` is the one attribute a tensor has here",
                )
                return None
            if isinstance(of, dict) and "ref" in of and of["ref"] in ctx.tensors:
                # a static query: the tensor's shape, not its values (no dependency on its node's output values)
                tensors.append(of["ref"])
                return Expr("attr", (Ref(of["ref"], ctx.lowerer.span(w + ("of",))), "shape"), (), ctx.lowerer.span(w))
            ok[0] = False
            ctx.error("E410", "`.shape` is asked of a tensor by its name", w, "e.g. `x.shape[-1]`")
            return None
        if "tuple" in v:
            return tuple(walk(item, w + ("tuple", i)) for i, item in enumerate(v["tuple"]))
        if "dict" in v:
            ok[0] = False
            ctx.error("E410", "a dict is not a value of a tensor operation", w)
            return None
        return from_json(v, ctx.lowerer.spans, w)

    tree = walk(value, where)
    return (tree if ok[0] else None), tensors


def application(ctx: GraphContext, value: dict, where, target: str, callee_at=None):
    """`Layer(...)(x, k=...)` or `declared(x, k=...)`: a node of that layer."""
    callee = value["apply"]
    cw = callee_at or where + ("apply",)
    if isinstance(callee, dict) and "ref" in callee and callee["ref"] in ctx.declared:
        layer = ctx.declared[callee["ref"]]
    elif isinstance(callee, dict) and "call" in callee:
        name = callee["call"]
        if lookup_op(name) is not None and lookup(name) is None and name not in ctx.lowerer.blocks:
            ctx.error(
                "E410",
                f"{callee['call']} is an operation: it takes its tensors directly",
                cw,
                f"e.g. `{callee['call']}(x)`",
            )
            return None
        layer = ctx.lowerer.make_layer(callee, cw, None, ctx.params, ctx.fresh_id)
        if layer is None:
            return None
    else:
        ctx.error(
            "E410",
            "only a layer is applied to tensors",
            cw,
            "e.g. `Dense(8)(x)`, or `embed(x)` for `layer embed = ...`",
        )
        return None
    inputs = []
    for i, arg in enumerate(value["args"]):
        items = arg if isinstance(arg, list) else [arg]
        for j, item in enumerate(items):
            aw = where + ("args", i) + ((j,) if isinstance(arg, list) else ())
            name = tensor_of(ctx, item, aw, target)
            if name is None:
                return None
            inputs.append(name)
    if not inputs:
        ctx.error("E407", f"{layer.kind} is applied to no tensor", where, f"e.g. `{layer.kind}(...)(x)`")
        return None
    kwargs = call_arguments(ctx, layer, value["kwargs"], where, target)
    if kwargs is None:
        return None
    span = ctx.lowerer.span(where)
    ctx.lowerer.check_count(layer, len(inputs), where)
    node = Node(layer, tuple(inputs), target, span, ctx.index, False, kwargs)
    ctx.add(node)
    return node


def tensor_of(ctx: GraphContext, value, where, target: str) -> str | None:
    """The tensor name a call argument stands for (lowering any computation in it), or None."""
    if isinstance(value, dict) and "ref" in value and value["ref"] in ctx.tensors:
        return value["ref"]
    inner = ctx.intermediate(target)
    node = lower_value(ctx, value, where, inner)
    if node == "static":
        ctx.error("E408", "a tensor is needed here", where, "pass a tensor: an input or a named result")
        return None
    return None if node is None else inner


def call_arguments(ctx: GraphContext, layer: Layer, given: dict, where, target: str):
    """The call's keyword arguments checked against the catalog: ((name, Tensor | TensorList | value), ...)."""
    from ..diagnostics import did_you_mean

    definition = lookup(layer.kind) if layer.block is None else None
    known = {a.name: a for a in definition.call_args} if definition is not None else {}
    out = []
    for key, value in given.items():
        kw = where + ("kwargs", key)
        arg = known.get(key)
        if arg is None:
            takes = ", ".join(sorted(known)) or "no argument besides its input"
            ctx.error(
                "E408",
                f"the call of {layer.kind} has no argument {key!r}",
                kw,
                did_you_mean(key, sorted(known)) or f"it takes {takes}",
            )
            return None
        if arg.tensors == 0:
            if isinstance(value, (dict, list)) and not (
                isinstance(value, dict) and "ref" in value and ctx.params and value["ref"] in ctx.params
            ):
                ctx.error(
                    "E408", f"{key} of {layer.kind}'s call is a value, not a tensor", kw, "e.g. `use_causal_mask=True`"
                )
                return None
            ir_value = from_json(value, ctx.lowerer.spans, kw)
            problem = arg.type.check(ir_value) if arg.type is not None and not isinstance(ir_value, Ref) else None
            if problem:
                ctx.error("E404", f"{key} of {layer.kind}'s call: {problem}", kw)
                return None
            out.append((key, ir_value))
            continue
        low, high = arg.tensors if isinstance(arg.tensors, tuple) else (1, 1)
        items = value if isinstance(value, list) else [value]
        if not (low <= len(items) <= high) or (
            isinstance(value, list) and high == 1 and not isinstance(arg.tensors, tuple)
        ):
            want = f"{low}" if low == high else f"{low} to {high}"
            ctx.error(
                "E408",
                f"{key} of {layer.kind}'s call takes {want} tensor{'s' if high != 1 else ''}, got {len(items)}",
                kw,
            )
            return None
        names = []
        for j, item in enumerate(items):
            name = tensor_of(ctx, item, kw + ((j,) if isinstance(value, list) else ()), target)
            if name is None:
                return None
            names.append(name)
        out.append((key, TensorList(names) if isinstance(value, list) else Tensor(names[0])))
    return tuple(out)
