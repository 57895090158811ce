"""Shared pieces of the three printers: an indenting writer, names, and Python literals.

Everything a spec contributes to generated code passes through here: identifiers are
checked or renamed by `Scope`, and every value is printed by `expr`, which uses `repr`
for strings and numbers and builds calls only from catalog names. Lines are laid out
the way `ruff format` lays them out (88 columns; a call that does not fit is exploded
one argument per line with a trailing comma), so generated files pass `ruff format --check`.
"""

from __future__ import annotations

import builtins
import keyword
import math
import os
import re
from contextlib import contextmanager

from ..ir.catalog import CONSTRAINTS, INITIALIZERS, REGULARIZERS, lookup
from ..ir.evaluate import BUILTINS
from ..ir.values import Call, Expr, Ref, show_expr
from ..plugins import LOADED

WIDTH = 88
INDENT = "    "

# Attributes of keras.Model / keras.layers.Layer that a layer attribute must not replace.
KERAS_ATTRIBUTES = frozenset(
    """
add_loss add_metric add_variable add_weight autocast build build_from_config built call compile
compile_from_config compiled_loss compiled_metrics compute_dtype compute_loss compute_mask compute_metrics
compute_output_shape compute_output_spec count_params distribute_reduction_method distribute_strategy dtype
dtype_policy evaluate export fit from_config get_build_config get_compile_config get_config get_layer
get_metrics_result get_quantization_layer_structure get_state_tree get_weights history input input_dtype
input_spec inputs jit_compile layers load_own_variables load_weights loss losses make_predict_function
make_test_function make_train_function metrics metrics_names metrics_variables name non_trainable_variables
non_trainable_weights optimizer output output_names outputs path predict predict_on_batch predict_step
quantization_mode quantize quantized_build quantized_call rematerialized_call reset_metrics run_eagerly save
save_own_variables save_weights seed_generator set_state_tree set_weights stateless_call
stateless_compute_loss steps_per_execution stop_training summary supports_masking symbolic_call
test_on_batch test_step to_json train_on_batch train_step trainable trainable_variables trainable_weights
variable_dtype variables weights
""".split()
)

MODULE_NAMES = frozenset(
    {
        "keras",
        "layers",
        "build_model",
        "TRAINING",
        "np",
        "tf",
        "self",
        "training",
        "inputs",
        "config",
        "kwargs",
        "cls",
        "name",
        "model",
    }
    | {n for n in dir(builtins) if not n.startswith("_")}
)


class Scope:
    """Maps spec names to Python names that are valid and clash with nothing in scope."""

    def __init__(self, reserved=(), parent: "Scope | None" = None):
        self.reserved = set(reserved)
        self.names: dict[str, str] = {}
        self.used: set[str] = set(parent.used) if parent else set()

    def add(self, name: str) -> str:
        """The Python name of spec name `name` in this scope (the same one when asked again)."""
        if name not in self.names:
            self.names[name] = self.fresh(name)
        return self.names[name]

    def fresh(self, name: str, public: bool = False) -> str:
        """A new Python name for `name`, never one given before (for a second thing that
        bears the same spec name, such as a model named like one of its blocks)."""
        candidate = python_name(name, self.reserved, self.used, public=public)
        self.used.add(candidate)
        return candidate

    def __getitem__(self, name: str) -> str:
        return self.names[name]


def valid_name(name: str, public: bool = False) -> bool:
    """A name generated code may bind: an ASCII identifier, not a keyword, not name-mangled
    (`__x` inside a class body), and with `public` not starting with `_` at all."""
    return (
        name.isascii()
        and name.isidentifier()
        and not keyword.iskeyword(name)
        and not name.startswith("_" if public else "__")
    )


def python_name(wanted: str, *taken, prefix: str = "v_", suffix: str = "_", public: bool = False) -> str:
    """The one way a spec name becomes a Python identifier in generated code.

    `wanted` is kept when it is a valid name (see `valid_name`); otherwise it is made one
    (`public` names lose their leading underscores; what is left gets `prefix` when it is
    still not valid, e.g. `_1` -> `layer_1`). While the result is in one of the `taken` sets
    (names in scope, reserved names) `suffix` and then a number are appended: `x_`, `x_2`,
    `x_3`... (`_` becomes `v_`, `v_2`...: `__` would be name-mangled in a class body).
    """

    def made_valid(name: str) -> str:
        cleaned = re.sub(r"[^A-Za-z0-9_]", "_", name).lstrip("_" if public else "")
        return prefix + cleaned if cleaned else prefix.rstrip("_")

    base = wanted.lstrip("_") if public else wanted
    if not valid_name(base, public):
        base = made_valid(base)
    stem = base if valid_name(base + suffix, public) else made_valid(base.strip("_"))
    candidate = base
    n = 1
    taken = (*taken, LOADED)  # a plugin's module is imported under the plugin's name
    while any(candidate in names for names in taken) or not valid_name(candidate, public):
        candidate = f"{stem}{suffix}" if n == 1 else f"{stem}{suffix.rstrip('_')}_{n}"
        n += 1
    return candidate


def attribute_name(layer_id: str, taken: set) -> str:
    """`self.<attr>` for a layer: never a Keras attribute, never private."""
    candidate = python_name(layer_id, KERAS_ATTRIBUTES, taken, prefix="layer_", suffix="_layer", public=True)
    taken.add(candidate)
    return candidate


def snake(name: str) -> str:
    from ..ir.lower import snake as keras_snake

    return keras_snake(name)


# -- literals ----------------------------------------------------------------------------


def pystr(text: str) -> str:
    """A string literal the way `ruff format` writes it (double quotes unless more of them
    are inside); every character that could break out of it is escaped."""
    quote = "'" if text.count('"') > text.count("'") else '"'
    out = []
    for ch in text:
        if ch == "\\":
            out.append("\\\\")
        elif ch == quote:
            out.append("\\" + quote)
        elif ch in "\"'":
            out.append(ch)
        else:
            out.append(repr(ch)[1:-1])
    return quote + "".join(out) + quote


def number(value) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return f'float("{value}")'
    return repr(value)


def namespace(call: Call, arg: str | None) -> str:
    """Which Keras module a nested call belongs to, from the argument it is passed to."""
    if arg:
        if arg.endswith("initializer"):
            return "keras.initializers"
        if arg.endswith("regularizer"):
            return "keras.regularizers"
        if arg.endswith("constraint"):
            return "keras.constraints"
        if arg in ("layer", "backward_layer"):
            return "layers"
    if call.name in INITIALIZERS:
        return "keras.initializers"
    if call.name in REGULARIZERS:
        return "keras.regularizers"
    if call.name in CONSTRAINTS:
        return "keras.constraints"
    if lookup(call.name):
        return "layers"
    raise ValueError(f"no Keras namespace for {call.name!r}")


def call_name(call: Call, arg: str | None) -> str:
    ns = namespace(call, arg)
    return class_path(call.name) if ns == "layers" else f"{ns}.{call.name}"


def class_path(kind: str) -> str:
    """How generated code names a layer class: `layers.Dense`; `<plugin>.Sampling` for a plugin's
    layer (its module is imported under the plugin's name); for a class Keras keeps outside
    keras.layers (LayerDef.module) its full dotted path, `keras.src.applications.convnext.LayerScale`:
    `import keras.src.applications.convnext` binds only `keras`, a name no spec name can take.
    `imports` writes the imports these names need."""
    definition = lookup(kind)
    if definition is None:
        return f"layers.{kind}"
    if definition.module is not None:
        return f"{definition.module}.{definition.name}"
    return f"{definition.plugin or 'layers'}.{definition.name}"


def imports(w: "Writer", graphs) -> None:
    """The imports of a generated module: keras, `import <module> as <plugin>` for each plugin
    whose layers `graphs` use, and `import <module>` for each class outside keras.layers they use
    (nested calls such as `TimeDistributed(Linear(4))` included; see `class_path`), in the order
    isort (ruff) keeps them: `import` lines by module, then `from keras import layers`."""
    used = {("keras", "import keras")}
    for graph in graphs:
        for layer in graph.layers:
            if layer.block is None and layer.call is not None:
                _imports_of(Call(layer.kind, tuple(layer.call.args), tuple(layer.call.kwargs)), used)
    for _, line in sorted(used):
        w.line(line)
    w.line("from keras import layers")


def _imports_of(value, used: set) -> None:
    """Add (module, import line) for each layer class in `value` (a call and its nested calls)
    that is not in keras.layers."""
    from ..plugins import plugin_of

    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, Call):
            definition = lookup(item.name)
            if definition is not None and definition.module is not None:
                used.add((definition.module, f"import {definition.module}"))
            elif definition is not None and definition.plugin is not None:
                module = plugin_of(definition.plugin).module
                used.add((module, f"import {module} as {definition.plugin}"))
            stack.extend(item.args)
            stack.extend(v for _, v in item.kwargs)
        elif isinstance(item, (list, tuple)):
            stack.extend(item)


class Code:
    """An expression that can be laid out on one line or exploded over several."""

    def __init__(
        self, head: str, items=(), tail: str = "", open_: str = "(", close: str = ")", single_comma=False, explode=False
    ):
        self.head, self.items, self.tail = head, list(items), tail
        self.open, self.close = open_, close
        self.single_comma = single_comma  # a one-tuple keeps its comma
        self.explode = explode  # always one item per line (a "magic trailing comma")

    def flat(self) -> str:
        if not self.items and not self.open:
            return self.head + self.tail
        inner = ", ".join(i.flat() if isinstance(i, Code) else i for i in self.items)
        if self.single_comma and len(self.items) == 1:
            inner += ","
        return f"{self.head}{self.open}{inner}{self.close}{self.tail}"

    def lines(self, indent: str, prefix: str = "", suffix: str = "") -> list[str]:
        one = f"{indent}{prefix}{self.flat()}{suffix}"
        if (len(one) <= WIDTH and not self.explode) or not self.items:
            return [one]
        out = [f"{indent}{prefix}{self.head}{self.open}"]
        for item in self.items:
            if isinstance(item, Code):
                out += item.lines(indent + INDENT, "", ",")
            else:
                out.append(f"{indent}{INDENT}{item},")
        out.append(f"{indent}{self.close}{self.tail}{suffix}")
        return out


class Atom(Code):
    def __init__(self, text: str):
        super().__init__(text, (), "", "", "")

    def flat(self) -> str:
        return self.head


class KeyValue(Code):
    """`key=value` or `key: value` whose value may explode."""

    def __init__(self, key: str, value: Code):
        super().__init__("", ())
        self.key, self.value = key, value

    def flat(self) -> str:
        return self.key + self.value.flat()

    def lines(self, indent, prefix="", suffix=""):
        return self.value.lines(indent, prefix + self.key, suffix)


class Binary(Code):
    """`a op b op c`: operands of one precedence level (each already in parentheses where it
    binds less tightly), laid out as `ruff format` does: on one line; else, when the last operand
    is a call or a list whose opening line fits, with that one exploded (`kl = -0.5 * sum(`);
    else in parentheses, on one line, or one operand a line after its operator."""

    def __init__(self, operands: list, operators: list):
        super().__init__("", ())
        self.operands, self.operators = operands, operators

    def flat(self) -> str:
        return self._joined(len(self.operands))

    def _joined(self, count: int) -> str:
        text = self.operands[0].flat()
        for op, x in zip(self.operators[: count - 1], self.operands[1:count], strict=True):
            text += f" {op} {x.flat()}"
        return text

    def lines(self, indent, prefix="", suffix=""):
        one = f"{indent}{prefix}{self.flat()}{suffix}"
        if len(one) <= WIDTH:
            return [one]
        last = self.operands[-1]
        if type(last) is Code and last.items and last.open:
            lead = f"{prefix}{self._joined(len(self.operands) - 1)} {self.operators[-1]} "
            if len(f"{indent}{lead}{last.head}{last.open}") <= WIDTH:
                return last.lines(indent, lead, suffix)
        inner = indent + INDENT
        body = [f"{inner}{self.flat()}"]
        if len(body[0]) > WIDTH:
            body = self.operands[0].lines(inner)
            for op, x in zip(self.operators, self.operands[1:], strict=True):
                body += x.lines(inner, f"{op} ")
        return [f"{indent}{prefix}("] + body + [f"{indent}){suffix}"]

    @classmethod
    def join(cls, left: Code, op: str, right: Code, chain: bool) -> "Binary":
        """`left op right`; with `chain`, a left Binary of the same level is extended (a - b + c)."""
        if chain and isinstance(left, Binary):
            return cls(left.operands + [right], left.operators + [op])
        return cls([left, right], [op])


def unpack_line(w: "Writer", names: list, value: str) -> None:
    """`a, b, c = value`; targets that do not fit one line go one a line in parentheses, as ruff does."""
    line = f"{', '.join(names)} = {value}"
    if len(w.indent + line) <= WIDTH or len(names) < 2:
        w.line(line)
        return
    w.code(Code("", [Atom(n) for n in names], f" = {value}", explode=True))


class Conditional(Code):
    """`body if test else orelse`, laid out as `ruff format` does: on one line; else in
    parentheses on a line of its own; else one part a line."""

    def __init__(self, body: Code, test: str, orelse: Code):
        super().__init__("", ())
        self.body, self.test, self.orelse = body, test, orelse

    def flat(self) -> str:
        return f"{self.body.flat()} if {self.test} else {self.orelse.flat()}"

    def lines(self, indent, prefix="", suffix=""):
        one = f"{indent}{prefix}{self.flat()}{suffix}"
        if len(one) <= WIDTH:
            return [one]
        inner = indent + INDENT
        middle = [f"{inner}{self.flat()}"]
        if len(middle[0]) > WIDTH:
            middle = self.body.lines(inner) + [f"{inner}if {self.test}"] + self.orelse.lines(inner, "else ")
        return [f"{indent}{prefix}("] + middle + [f"{indent}){suffix}"]


def expr(value, arg: str | None = None, env=None) -> Code:
    """A spec value as Python code. `env` maps block-parameter Refs to Python names."""
    if isinstance(value, bool) or value is None:
        return Atom(repr(value))
    if isinstance(value, (int, float)):
        return Atom(number(value))
    if isinstance(value, str):
        return Atom(pystr(value))
    if isinstance(value, Ref):
        if env is None or value.name not in env:
            raise ValueError(f"unbound name {value.name!r}")
        return Atom(env[value.name])
    if isinstance(value, tuple):
        return Code("", [expr(v, None, env) for v in value], open_="(", close=")", single_comma=True)
    if isinstance(value, list):
        return Code("", [expr(v, None, env) for v in value], open_="[", close="]")
    if isinstance(value, dict):
        return Code("", [KeyValue(pystr(k) + ": ", expr(v, None, env)) for k, v in value.items()], open_="{", close="}")
    if isinstance(value, Call):
        if value.name in BUILTINS:  # `max(8, c)`: Python's own, on values known when the code runs
            return call_code(value.name, value.args, value.kwargs, env)
        return call_code(call_name(value, arg), value.args, value.kwargs, env)
    if isinstance(value, Expr):  # `expansion * in_channels`, `x.shape[-1]`: Python's syntax
        return Atom(show_expr(value, lambda v: expr(v, None, env).flat()))
    raise TypeError(f"cannot print {type(value).__name__}")


def call_code(function: str, args, kwargs, env=None, tail: str = "") -> Code:
    items = [expr(a, None, env) for a in args]
    items += [KeyValue(f"{k}=", expr(v, k, env)) for k, v in kwargs]
    return Code(function, items, tail)


def data(value) -> Code:
    """Plain JSON-like data (the TRAINING dict) as a Python literal."""
    if isinstance(value, dict):
        return Code("", [KeyValue(pystr(k) + ": ", data(v)) for k, v in value.items()], open_="{", close="}")
    if isinstance(value, (list, tuple)):
        return Code("", [data(v) for v in value], open_="[", close="]")
    if isinstance(value, str):
        return Atom(pystr(value))
    if isinstance(value, bool) or value is None:
        return Atom(repr(value))
    if isinstance(value, (int, float)):
        return Atom(number(value))
    raise TypeError(f"cannot print {type(value).__name__} in TRAINING")


# -- the writer ---------------------------------------------------------------------------


class Writer:
    def __init__(self):
        self.out: list[str] = []
        self.level = 0

    @property
    def indent(self) -> str:
        return INDENT * self.level

    def line(self, text: str = "") -> None:
        self.out.append(self.indent + text if text else "")

    def code(self, code: Code, prefix: str = "", suffix: str = "") -> None:
        self.out.extend(code.lines(self.indent, prefix, suffix))

    def blank(self, n: int = 1) -> None:
        while self.out and self.out[-1] == "":
            self.out.pop()
        self.out.extend([""] * n)

    @contextmanager
    def block(self, header: str):
        self.line(header)
        self.level += 1
        yield
        self.level -= 1

    @contextmanager
    def function(self, name: str, params: list):
        """`def name(params):` and its body; a header too long for a line gets one parameter per
        line (with a trailing comma, as ruff keeps it)."""
        self.code(Code(f"def {name}", [Atom(p) for p in params], tail=":"))
        self.level += 1
        yield
        self.level -= 1

    def text(self) -> str:
        while self.out and self.out[-1] == "":
            self.out.pop()
        return "\n".join(self.out) + "\n"


def header(w: Writer, spec, style: str, what: str) -> None:
    source = ascii(os.path.basename(spec.path))  # ascii(): no newline or quote can escape the comment
    w.line(f"# Generated by tfspec from {source} ({style} style).")
    w.line("# Edit the spec and run `tfspec build` again rather than editing this file.")
    w.line(f'"""{spec.name}: {what}."""')
    w.blank()


def training_constant(w: Writer, spec, note=()) -> None:
    """TRAINING = {...}; `note`: lines of comment over it."""
    if spec.training is None:
        return
    w.blank(2)
    w.line("# Training settings from the spec, read by the tfspec runtime (`tfspec train`).")
    for line in note:
        w.line(line)
    w.code(data(spec.training), "TRAINING = ")
