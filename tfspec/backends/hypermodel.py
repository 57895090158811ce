"""What the three printers share to write a spec with a search section as a hypermodel.

    def build_model(hp=None):
        if hp is None:
            hp = Defaults()
        units = hp.Choice("units", [64, 128])
        depth = hp.Int("depth", 1, 3)
        ...                                   # the model, with those names where the spec uses them
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=lr), ...)
        return model

`hp` is a keras_tuner.HyperParameters (KerasTuner's tuners pass one); without it every
hyperparameter takes its default from `Defaults`, a stand-in printed in the module, so the module
needs no KerasTuner and `build_model()` is the model `tfspec train` trains (the default point). Each
hyperparameter is declared once, at the top, as KerasTuner declares it (tfspec.search.hyper).

KerasTuner's tuners fit the model they are given, so build_model compiles it with the train
section's optimizer, loss, loss weights and metrics, hyperparameters in place
(tfspec.backends.compiling); TRAINING holds the settings at the default point, for the tfspec
runtime (which compiles the model its own way).

The model is the template of tfspec.search.hyper, printed as a block's body: its `if` statements
on hyperparameters are Python's, a step repeated `* depth` is a loop (`repeated`), or in a class a
list of layers (`layer_list`) applied in a loop; the Sequential style adds the layers one by one,
blocks written out (`inlined`).
"""

from __future__ import annotations

import textwrap
from contextlib import contextmanager
from dataclasses import replace

from ..ir.evaluate import evaluate
from ..ir.values import names_in, substitute
from ..search.hyper import declaration
from .compiling import compiled_names
from .emitter import INDENT, WIDTH, Code, KeyValue, Scope, Writer, expr

HP = "hp"  # build_model's parameter
LOOP = " loop"  # the key of a function's loop variable in its Scope (no spec name holds a space)


def loop_variable(scope: Scope, name: str = "_") -> str:
    """The variable of the loops of one function: `_` of `for _ in range(depth):`, or `layer`."""
    key = LOOP + name
    if key not in scope.names:
        scope.names[key] = scope.fresh(name)
    return scope.names[key]


def defaults_class(w: Writer, name: str, space) -> None:
    """The stand-in for keras_tuner.HyperParameters, with the methods the declarations call."""
    kinds = {declaration(h)[0] for h in space.hypers}
    w.blank(2)
    with w.block(f"class {name}:"):
        w.line('"""Stands in for a keras_tuner.HyperParameters when build_model() gets none:')
        w.line('each hyperparameter at its default, as KerasTuner gives it."""')
        if "Choice" in kinds:
            w.blank()
            with w.block("def Choice(self, name, values, default=None, **kwargs):"):
                w.line("return values[0] if default is None else default")
        for method in ("Int", "Float"):
            if method in kinds:
                w.blank()
                with w.block(f"def {method}(self, name, min_value, max_value, default=None, **kwargs):"):
                    w.line("return min_value if default is None else default")
        if "Boolean" in kinds:
            w.blank()
            with w.block("def Boolean(self, name, default=False, **kwargs):"):
                w.line("return default")


@contextmanager
def build_function(w: Writer, spec, defaults: str):
    """`def build_model(hp=None):`, its docstring and its default `hp`; the body goes inside."""
    w.blank(2)
    with w.block(f"def build_model({HP}=None):"):
        compiled = ", compiled with the train section's settings" if spec.training is not None else ""
        text = (
            f'"""The {spec.name} model at the point `{HP}` (a keras_tuner.HyperParameters) chooses'
            f'{compiled}; without `{HP}`, at the search\'s default point."""'
        )
        for line in textwrap.wrap(text, WIDTH - len(w.indent)):
            w.line(line)
        with w.block(f"if {HP} is None:"):
            w.line(f"{HP} = {defaults}()")
        yield


def declare(w: Writer, hyper, scope: Scope) -> dict:
    """`units = hp.Choice("units", [64, 128])` for each hyperparameter: {name: its variable}. One
    that neither the model nor compile() reads (`batch = choice(32, 64)`) is declared all the same,
    for the tuner to choose, and TRAINING holds its default."""
    read = {name for name, _ in hyper.block.params} | compiled_names(hyper)
    env = {}
    for h in hyper.space.hypers:
        method, args, keywords = declaration(h)
        call = Code(f"{HP}.{method}", [expr(a) for a in args] + [KeyValue(f"{k}=", expr(v)) for k, v in keywords])
        if h.name in read:
            env[h.name] = scope.add(h.name)
            w.code(call, f"{env[h.name]} = ")
        else:
            w.line("# read by the train section only: TRAINING holds its default")
            w.code(call)
    return env


@contextmanager
def repeated(w: Writer, scope: Scope, node, env, tensor_var, made: str | None = None):
    """Around the statement of a node: for one applied `node.repeat` times (`-> Dense(8) * depth`),
    `y = x` where the chain starts from another tensor, then `for _ in range(depth):`, or with
    `made` (a list of the layers, made beforehand) `for layer in self.dense:`. Yields the node
    to print, applied to its own result, and the loop's layer variable (None without `made`)."""
    if node.repeat is None:
        yield node, None
        return
    out = tensor_var(scope, node.output)
    source = tensor_var(scope, node.inputs[0])
    if source != out:
        w.line(f"{out} = {source}")
    looped = replace(node, inputs=(node.output, *node.inputs[1:]))
    if made is not None:
        layer = loop_variable(scope, "layer")
        with w.block(f"for {layer} in {made}:"):
            yield looped, layer
        return
    with w.block(f"for {loop_variable(scope)} in range({expr(node.repeat, None, env).flat()}):"):
        yield looped, None


class Comprehension(Code):
    """`[item for _ in range(depth)]`, laid out as `ruff format` lays it out."""

    def __init__(self, item: Code, clause: str):
        super().__init__("", ())
        self.item, self.clause = item, clause

    def flat(self) -> str:
        return f"[{self.item.flat()} {self.clause}]"

    def lines(self, indent, prefix="", suffix=""):
        one = f"{indent}{prefix}{self.flat()}{suffix}"
        if len(one) <= WIDTH:
            return [one]
        inner = indent + INDENT
        middle = f"{inner}{self.item.flat()} {self.clause}"
        if len(middle) <= WIDTH:
            return [f"{indent}{prefix}[", middle, f"{indent}]{suffix}"]
        return [f"{indent}{prefix}["] + self.item.lines(inner) + [f"{inner}{self.clause}", f"{indent}]{suffix}"]


def made_repeatedly(graph) -> dict:
    """{id(layer): its count} of the layers a body applies `* depth` times."""
    return {id(node.layer): node.repeat for node in graph.nodes if node.repeat is not None}


def layer_list(call: Code, count, env, scope: Scope) -> Comprehension:
    """`[layers.Dense(8) for _ in range(depth)]`: the fresh layers of a repeated step."""
    return Comprehension(call, f"for {loop_variable(scope)} in range({expr(count, None, env).flat()})")


# -- blocks written out (the Sequential style) --------------------------------------------------


def inlined(layer) -> list:
    """The nodes of a block application's template with its arguments put in (they may read
    hyperparameters: `Dense(units * 2)`), each `if` condition once for all the nodes it guards.
    A condition that no longer reads a name is worked out: its nodes are kept or left out."""
    env = layer.values  # the block's parameters as bound by lowering
    conditions: dict = {}  # id(template condition) -> its value here (Guards compares them by identity)
    out = []
    for node in layer.block.graph.nodes:
        guard = []
        for condition, wanted in node.guard:
            if id(condition) not in conditions:
                conditions[id(condition)] = substitute(condition, env)
            value = conditions[id(condition)]
            if names_in(value):
                guard.append((value, wanted))
            elif bool(evaluate(value, {})) != wanted:
                break
        else:
            inner = node.layer
            if not inner.operation:
                values = {k: substitute(v, env) for k, v in inner.values.items()} if inner.block else inner.values
                inner = replace(inner, call=substitute(inner.call, env), values=values)
            out.append(replace(node, layer=inner, guard=tuple(guard)))
    return out
