"""Static shape inference and parameter counting through a whole graph (blocks included).

A block instance is bound, checked and shaped once per distinct (block, arguments, input
shapes, line of the use): every instance with the same key shares that body (`Layer.body`),
so a spec whose blocks each use the next one twice is checked in time linear in its text,
not in the size of the model it stands for. The line is part of the key because the
diagnostics of an instance name the line of its use; a second use with the same key gets the
diagnostics of the first again (each distinct one once).
"""

from __future__ import annotations

import math

from ..diagnostics import Collector, Diagnostic
from .catalog import MAX_SIZE, REGISTRY, ShapeError, bind
from .dtypes import layer_dtype
from .evaluate import Unknown, evaluate
from .layers import fmt
from .loss_terms import check_terms
from .lower import instantiate
from .nodes import Graph, Tensor, TensorList
from .op_shapes import expression_shape
from .values import Call, Ref, count_items, names_in, show

# The most work the shape pass does on block instances (E309): each distinct instance costs the
# layers and applications of its template, and each new binding the values in its call (about
# 3 microseconds a unit, so the limit is under a second). Ordinary specs stay far below it: the
# example specs use at most 28, 10,000 uses of a three-layer block with 10,000 different
# arguments 80,000. Blocks whose distinct instances multiply (applied to inputs of a new shape at
# every level) reach it, as does a huge block used many times with ever different arguments.
MAX_INSTANCE_WORK = 250_000


class Record(Collector):
    """A Collector that keeps each distinct diagnostic once."""

    def __init__(self, path: str):
        super().__init__(path)
        self.seen: set = set()

    def add(self, diagnostic: Diagnostic) -> None:
        if diagnostic not in self.seen:
            self.seen.add(diagnostic)
            self.items.append(diagnostic)

    def error(self, code, message, span, hint=None) -> None:
        self.add(Diagnostic(code, message, span, hint))


class Shaper:
    """The memory of one shape pass: instances by key, bindings by call, value codes."""

    def __init__(self, path: str):
        self.top = Record(path)  # where every diagnostic of the pass ends up
        self.instances: dict = {}  # key -> (body, (output shape, params), diagnostics)
        self.bindings: dict = {}  # (kind, code of the call) -> Bound
        self.refs: dict = {}  # id(template value) -> (value, holds a Ref), for substitute
        self.codes: dict = {}  # structure -> int
        self.known: dict = {}  # id(value) -> (value, code); keeps the value alive
        self.sizes: dict = {}  # id(value) -> (value, items in it), for count_items
        self.rules: dict = {}  # (id(bound values), kind, *input shapes) -> (output shape, params) or the exception
        self.work = 0
        self.exhausted = False
        self.out_dtypes: list = []  # the dtypes of the outputs of the block instance applied last

    def code(self, value):
        """A hashable code for a value, equal for equal values (types kept apart: 1, 1.0 and
        True differ); a container is coded once per object, so shared parts cost nothing."""
        if value is None:
            return ("n",)
        if isinstance(value, bool):
            return ("b", value)
        if isinstance(value, int):
            return ("i", value)
        if isinstance(value, float):
            return ("f", repr(value))
        if isinstance(value, str):
            return ("s", value)
        if isinstance(value, Ref):
            return ("r", value.name)
        known = self.known.get(id(value))
        if known is not None:
            return known[1]
        if isinstance(value, list):
            structure = ("l", tuple(self.code(v) for v in value))
        elif isinstance(value, tuple):
            structure = ("t", tuple(self.code(v) for v in value))
        elif isinstance(value, dict):
            structure = ("d", tuple((k, self.code(v)) for k, v in value.items()))
        elif isinstance(value, Call):
            structure = (
                "c",
                value.name,
                tuple(self.code(v) for v in value.args),
                tuple((k, self.code(v)) for k, v in value.kwargs),
            )
        else:
            structure = ("o", type(value).__name__, repr(value))
        number = self.codes.setdefault(structure, len(self.codes))
        self.known[id(value)] = (value, number)
        return number

    def bind(self, kind: str, call: Call):
        """`catalog.bind` of a call, once per distinct call (and the cost of its values)."""
        key = (kind, self.code(call))
        bound = self.bindings.get(key)
        if bound is None:
            self.work += self.size(call)
            bound = self.bindings[key] = bind(REGISTRY[kind], call.args, call.kwargs)
        return bound

    def size(self, value) -> int:
        """Items in a value counted as a tree (what binding it walks); shared parts computed once."""
        return count_items(value, self.sizes)


def infer(
    graph: Graph,
    errors: Collector,
    input_shapes=None,
    context: str = "",
    shaper: Shaper | None = None,
    input_dtypes=None,
) -> None:
    """Fill graph.shapes, graph.dtypes and graph.params; report shape errors (E501/E502) and
    dtype errors (E504) to `errors`. A block instance gets its caller's `input_dtypes`."""
    if shaper is None:
        shaper = Shaper(errors.path)
        if input_shapes is None:
            check_inputs(graph, shaper.top)
        infer(graph, shaper.top, input_shapes, context, shaper, input_dtypes)
        errors.items.extend(shaper.top.items)
        return
    shapes = graph.shapes
    given = input_shapes if input_shapes is not None else [i.shape for i in graph.inputs]
    for inp, shape in zip(graph.inputs, given):
        shapes[inp.name] = tuple(shape) if shape is not None else None
    rules = shaper.rules
    dtypes = graph.dtypes
    for inp, dtype in zip(graph.inputs, input_dtypes or [i.dtype for i in graph.inputs]):
        dtypes[inp.name] = dtype
    values = graph.values  # names computed before the model runs (`c = x.shape[-1]`)
    skipped: dict = {}  # tensor -> the guard that left its statement out
    failed: set = set()  # values that could not be computed (reported already)
    kept = []
    for node in graph.nodes:
        if node.guard:
            chosen = holds(node, values, shapes, errors, context)
            if not chosen:
                if chosen is False:
                    for name in node.outputs:
                        skipped.setdefault(name, node.guard)
                continue
        kept.append(node)
        missing = [t for t in node.tensors() if t not in shapes and t not in values and t in skipped] if skipped else ()
        if missing:
            errors.error(
                "E301",
                f"{missing[0]!r} is not made when {show_guard_false(skipped[missing[0]])}{context}",
                node.span,
                "define it in every branch of the `if`, or use it only inside the branch that makes it",
            )
            continue
        ins = [shapes.get(t) for t in node.inputs]
        if None in ins:
            continue  # an earlier error already explains this
        layer = node.layer
        if layer.operation:
            try:
                if layer.static:
                    values[node.output] = evaluate(layer.expr, values, shapes)
                    continue
                shaped = expression_shape(layer.expr, shapes, dtypes, values)
            except Unknown as exc:
                if exc.args[0] not in failed:  # (a value that failed is reported once, where it is computed)
                    errors.error("E410", f"{exc.args[0]} is not known before the model runs{context}", node.span)
                failed.update(node.outputs)
                continue
            except Exception as exc:  # noqa: BLE001 - as for a layer's rule
                _report(exc.with_traceback(None), layer, node, errors, context)
                failed.update(node.outputs)
                continue
            shapes[node.output] = shaped.shape
            dtypes[node.output] = shaped.dtype
            continue
        if layer.late:
            if names_in(layer.call) & failed or not bind_late(layer, values, shapes, node, errors, context):
                continue
        in_dtypes = [dtypes.get(t, "float32") for t in node.inputs]
        if layer.block is None:
            try:  # before the shape: a string where numbers belong is the first thing to say
                out_dtype = layer_dtype(REGISTRY[layer.kind], in_dtypes, layer.values)
            except ShapeError as exc:
                _report(exc, layer, node, errors, context)
                continue
        if node.kwargs or node.more or _calls_with_a_rule(layer):
            outs = several_outputs(node, ins, shapes, errors, context, shaper, in_dtypes)
            if outs is None:
                continue
            for name, shape in zip(node.outputs, outs[0]):
                shapes[name] = shape
            graph.params.setdefault(layer.id, tuple(outs[1]))
            if layer.block is None:
                dtypes[node.output] = out_dtype  # (an RNN's states and attention scores are floats)
            else:
                dtypes.update(zip(node.outputs, shaper.out_dtypes))
            continue
        if layer.block is None:
            # The rules are pure functions of the input shapes and the bound values, and layers
            # written alike share their values (Lowerer.make_layer): each distinct pair is worked out
            # once (a 1 MiB chain of one Dense written 90,000 times: once).
            key = (id(layer.values), layer.kind, *ins)
            known = rules.get(key)
            if known is None:
                known = rules[key] = _apply(REGISTRY[layer.kind], ins, layer.values)
                shaper.known[("values", id(layer.values))] = (layer.values, None)  # its id stays its own
            if type(known) is tuple:
                out, params = known
            else:
                _report(known, layer, node, errors, context)
                continue
        else:
            try:
                out, params = infer_block(layer, ins, errors, node, shaper, in_dtypes=in_dtypes)
            except Exception as exc:  # noqa: BLE001 - as for a layer's rule
                _report(exc, layer, node, errors, context)
                continue
            out_dtype = shaper.out_dtypes[0] if shaper.out_dtypes else "float32"
        if out is None:
            continue
        if layer.id in graph.params and graph.params[layer.id] != params:
            errors.error(
                "E502",
                f"shared layer {layer.id!r} is applied to inputs of another shape "
                f"({', '.join(fmt(s) for s in ins)}) than at its first use{context}",
                node.span,
                "a shared layer needs the same input shape everywhere it is applied",
            )
            continue
        graph.params.setdefault(layer.id, tuple(params))
        shapes[node.output] = out
        dtypes[node.output] = out_dtype
    for name, span in zip(graph.outputs, graph.output_spans):
        if name in skipped and name not in shapes:
            errors.error(
                "E301",
                f"the output {name!r} is not made when {show_guard_false(skipped[name])}{context}",
                span,
                "define it in every branch of the `if`",
            )
    if graph.losses:  # `add_loss`: the terms of the branches chosen, each a float tensor made here
        check_terms(graph, shapes, dtypes, values, skipped, errors, context)
    if len(kept) != len(graph.nodes):  # `if` statements left some out: this body is one instance
        graph.nodes = kept
        applied = {id(n.layer) for n in kept}
        graph.layers = [layer for layer in graph.layers if id(layer) in applied]


def holds(node, values: dict, shapes: dict, errors, context: str):
    """Whether the node's guard holds (True/False); None after reporting why it cannot be told."""
    for condition, wanted in node.guard:
        try:
            truth = evaluate(condition, values, shapes)
        except Unknown as exc:
            errors.error(
                "E410",
                f"the condition reads {exc.args[0]}, which is not known before the model runs{context}",
                condition.span or node.span,
                "a condition is computed from block parameters and shapes (`x.shape[-1]`), not from tensors",
            )
            return None
        except ShapeError as exc:
            errors.error(exc.code, exc.message + context, condition.span or node.span, exc.hint)
            return None
        if isinstance(truth, Call):
            errors.error(
                "E410", f"the condition {show(condition)} is not true or false{context}", condition.span or node.span
            )
            return None
        if bool(truth) != wanted:
            return False
    return True


def show_guard_false(guard) -> str:
    return " and ".join(f"{show(c)} is {'false' if wanted else 'true'}" for c, wanted in guard[-1:])


def bind_late(layer, values: dict, shapes: dict, node, errors, context: str) -> bool:
    """Bind a layer whose arguments read names computed in the body (`Conv2D(c * 4, 1)`):
    computed now, checked against the catalog. False after reporting a problem."""
    try:
        call = evaluate(layer.call, values, shapes)
    except Unknown as exc:
        errors.error("E410", f"{exc.args[0]} is not known before the model runs{context}", node.span)
        return False
    except ShapeError as exc:
        errors.error(exc.code, exc.message + context, node.span, exc.hint)
        return False
    bound = bind(REGISTRY[layer.kind], call.args, call.kwargs)
    for problem in bound.errors:
        errors.error(problem.code, f"{problem.message}{context}", node.span, problem.hint)
    if bound.errors:
        return False
    layer.values = bound.values
    layer.computed = call
    return True


def _calls_with_a_rule(layer) -> bool:
    if layer.block is not None:
        return layer.block.graph is not None and len(layer.block.graph.outputs) > 1
    return REGISTRY[layer.kind].call_rule is not None


def several_outputs(node, ins, shapes: dict, errors, context: str, shaper, in_dtypes=None):
    """([shape of each output], params) of a call with call arguments or several results, or None
    after reporting why not."""
    layer = node.layer
    if layer.block is not None:
        try:
            out, params, rest = infer_block(layer, ins, errors, node, shaper, every=True, in_dtypes=in_dtypes)
        except Exception as exc:  # noqa: BLE001 - as for a layer's rule
            _report(exc, layer, node, errors, context)
            return None
        if out is None:
            return None
        outs = [out, *rest]
        what = f"block {layer.kind}"
    else:
        definition = REGISTRY[layer.kind]
        call = {}
        for key, value in node.kwargs:
            if isinstance(value, TensorList):
                call[key] = [shapes.get(t) for t in value]
                if None in call[key]:
                    return None
            elif isinstance(value, Tensor):
                call[key] = shapes.get(value.name)
                if call[key] is None:
                    return None
            else:
                call[key] = value
        try:
            out, params = _apply(definition, ins, layer.values, raise_=True)
            rest = definition.call_rule(ins, layer.values, call, out) if definition.call_rule else []
        except Exception as exc:  # noqa: BLE001 - as for a layer's rule
            _report(exc.with_traceback(None), layer, node, errors, context)
            return None
        outs = [out, *map(tuple, rest)]
        what = layer.kind
    if len(outs) != len(node.outputs):
        count = len(outs)
        hint = (
            f"name each: `-> {', '.join(['out'] + [f'state_{i}' for i in range(1, count)])}`"
            if count > len(node.outputs)
            else "an RNN yields its states with return_state=True, attention its scores with return_attention_scores=True"
        )
        errors.error(
            "E409",
            f"{what} yields {count} tensor{'s' if count != 1 else ''} here, {len(node.outputs)} "
            f"name{'s are' if len(node.outputs) != 1 else ' is'} given{context}",
            node.span,
            hint,
        )
        return None
    return outs, params


def _apply(definition, ins, values, raise_=False):
    """(output shape, params) of a layer's rules, or the exception they raised."""
    try:
        out = tuple(definition.shape(ins, values))
        params = definition.params(ins, values, out)
        fits_tensorflow(definition, ins, values, out)
        return (out, params)
    except Exception as exc:  # noqa: BLE001 - a rule fed values it cannot use: reported, never a crash
        if raise_:
            raise
        return exc.with_traceback(None)


# -- sizes TensorFlow cannot index ------------------------------------------------------------
#
# TensorFlow sizes axes and indexes elements with 32-bit integers in many kernels (its GPU
# kernels above all): an axis of 2**31 or more, or a tensor or weight of more than 2**31 - 1
# values, is refused as something no machine runs portably (on CPU, TensorFlow 2.21 does run
# simple ops on an int8 tensor of 2**31 + 5 values; in float32 that is 8 GiB a sample, and a
# Dense(2147483648) ends in "resource exhausted"). Checked per sample: the batch only multiplies
# it, and is the runtime's. (The code is E501 until the registry has one of its own.)
TOO_LARGE = "E503"
TOO_LARGE_HINT = "make it smaller: fewer units or filters, a smaller input, or pool or project the input first"


def values_in(shape) -> tuple[int, bool]:
    """(the product of the known sizes, whether every size is known)."""
    known = [d for d in shape if d is not None]
    return math.prod(known), len(known) == len(shape)


def size_problem(what: str, shape) -> str | None:
    """Why a tensor or weight of `shape` cannot be, or None."""
    for d in shape:
        if d is not None and d > MAX_SIZE:
            return (
                f"{what} of shape {fmt(shape)} has an axis of {d:,}: "
                f"TensorFlow sizes an axis with a 32-bit integer (at most {MAX_SIZE:,})"
            )
    count, exact = values_in(shape)
    if count > MAX_SIZE:
        return (
            f"{what} of shape {fmt(shape)} would hold {'' if exact else 'at least '}{count:,} values: "
            f"TensorFlow indexes a tensor with 32-bit integers (at most {MAX_SIZE:,} values)"
        )
    return None


def fits_tensorflow(definition, ins, values, out) -> None:
    """Raise ShapeError when the layer's output (per sample), or one of its weights or inner
    tensors, is larger than TensorFlow can index."""
    problem = size_problem(f"{definition.name}: its output", out)
    if problem is None and definition.sizes is not None:
        for what, shape in definition.sizes(ins, values, out).items():
            problem = size_problem(f"{definition.name}: its {what}", tuple(shape))
            if problem is not None:
                break
    if problem is not None:
        raise ShapeError(problem, TOO_LARGE_HINT, TOO_LARGE)


def check_inputs(graph: Graph, errors: Collector) -> None:
    """The model's inputs, whose shapes the spec writes: within what TensorFlow can index."""
    for inp in graph.inputs:
        problem = size_problem(f"input {inp.name!r}", inp.shape) if inp.shape is not None else None
        if problem is not None:
            errors.error(TOO_LARGE, problem, inp.span, "give the input fewer values per sample")


def _report(exc: Exception, layer, node, errors: Collector, context: str) -> None:
    if isinstance(exc, ShapeError):
        errors.error(exc.code, exc.message + context, node.span, exc.hint)
    else:
        errors.error("E500", f"cannot infer the output shape of {layer.kind}: {exc}{context}", node.span)


def infer_block(layer, ins, errors: Collector, node, shaper: Shaper, every: bool = False, in_dtypes=None):
    """Shapes through one application of a block instance; returns (output shape, params), and
    with `every` (output shape, params, [shapes of the further outputs]). The instance's body is
    made and shaped once per key and shared (see the module doc)."""
    shaper.out_dtypes = []
    if shaper.exhausted:
        return (None, (0, 0), []) if every else (None, (0, 0))
    values = tuple(sorted((k, shaper.code(v)) for k, v in layer.values.items()))
    in_dtypes = tuple(in_dtypes) if in_dtypes is not None else ("float32",) * len(ins)
    key = (id(layer.block), values, tuple(ins), in_dtypes, node.span.line)
    entry = shaper.instances.get(key)
    if entry is None:
        template = layer.block.graph
        shaper.work += len(template.layers) + len(template.nodes)
        if shaper.work > MAX_INSTANCE_WORK:
            shaper.exhausted = True
            shaper.top.error(
                "E309",
                f"checking this use of block {layer.kind} would shape more than {MAX_INSTANCE_WORK:,} "
                "layers of block instances: its blocks are used on inputs of ever new shapes or with "
                "ever new arguments at every level of nesting",
                node.span,
                "each distinct use of a block (its arguments and input shapes) is checked once; "
                "use fewer levels of blocks, or the same shapes and arguments at each level",
            )
            return (None, (0, 0), []) if every else (None, (0, 0))
        entry = shaper.instances[key] = instance(layer, ins, errors.path, node, shaper, in_dtypes)
    body, result, diagnostics = entry
    if layer.body is None:
        layer.body = body
    add = errors.add if isinstance(errors, Record) else errors.items.append
    for diagnostic in diagnostics:
        add(diagnostic)
    shaper.out_dtypes = [body.dtypes.get(name, "float32") for name in body.outputs]
    if every:
        rest = [body.shapes.get(name) for name in body.outputs[1:]]
        return (*result, rest if None not in rest else [])
    return result


def instance(layer, ins, path: str, node, shaper: Shaper, in_dtypes=None):
    """(body, (output shape, params), diagnostics) of one block instance, made and shaped."""
    context = f" (in block {layer.kind} used at line {node.span.line})"
    arguments = Record(path)
    body = instantiate(layer.block, layer.values, arguments, node.span, shaper)
    # When its arguments are wrong (already reported), a shape rule may fail on them in ways
    # that say nothing new (E500 on a string where an int belongs): infer quietly then, so
    # that the chain after it is still checked when a shape does come out.
    bad_arguments = bool(arguments.items)
    inner = Record(path)
    infer(body, inner, ins, context, shaper, list(in_dtypes) if in_dtypes is not None else None)
    diagnostics = arguments.items if bad_arguments else arguments.items + inner.items
    if inner.items:
        return body, (None, (0, 0)), diagnostics
    out = body.shapes.get(body.outputs[0]) if body.outputs else None
    if bad_arguments:
        plausible = out is not None and all(d is None or (type(d) is int and d >= 0) for d in out)
        return body, ((out if plausible else None), (0, 0)), diagnostics
    trainable = sum(p[0] for p in body.params.values())
    frozen = sum(p[1] for p in body.params.values())
    return body, (out, (trainable, frozen)), diagnostics


def totals(graph: Graph) -> tuple[int, int]:
    return (sum(p[0] for p in graph.params.values()), sum(p[1] for p in graph.params.values()))
