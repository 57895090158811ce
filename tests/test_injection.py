"""Nothing from a spec reaches generated code unescaped.

An injection corpus of hostile names and strings is fed through every place where spec
text reaches a generated module. Every spec is either refused with a positioned
diagnostic or generates, in every style it allows, a module that parses, imports only
keras, calls only allow-listed constructors, and does nothing on import but define
things. Importing runs against a recording stand-in for keras, so this test needs no
TensorFlow."""

from __future__ import annotations

import ast
import builtins
import sys
import types

import pytest

import tfspec
from tfspec.backends import allowed_styles
from tfspec.ir.catalog import CONSTRAINTS, INITIALIZERS, REGISTRY, REGULARIZERS

HOSTILE_STRINGS = [
    'a"b',
    "a'b",
    '"""',
    "'''",
    "\\",
    "\\\\n",
    "\n",
    "line\nbreak",
    "\u2028",
    "\u2029",
    "\x1b[2J",
    "\x00",
    "{x}",
    "{{",
    "}",
    "__import__('os').system('echo pwned')",
    "'); import os; os.system('x'); ('",
    '"); import os #',
    "\\x27",
    "\r\n",
    "\t",
    "#",
    "é한글",
    "\ud7ff",
    "${HOME}",
    "%s%d",
    "\\N{BULLET}",
]

HOSTILE_NAMES = [
    "class",
    "def",
    "import",
    "lambda",
    "__import__",
    "__class__",
    "_private",
    "self",
    "super",
    "keras",
    "layers",
    "build_model",
    "TRAINING",
    "training",
    "inputs",
    "config",
    "kwargs",
    "model",
    "print",
    "eval",
    "exec",
    "open",
    "weights",
    "name",
    "None_",
    "x1",
    "_",
    "async",
    "await",
    # generated names were once derived from these by dropping leading underscores (`self.1`)
    "_1",
    "_9",
    "__init__",
    "call",
    "get_config",
    "compute_mask",
    "mask",
]


def escape(text: str) -> str:
    """Write `text` as a .tfs double-quoted string literal."""
    out = []
    for ch in text:
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif not ch.isprintable() or ch in "\u2028\u2029":
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def string_specs():
    for s in HOSTILE_STRINGS:
        lit = escape(s)
        yield f"""
model M {{
    input x: [4]
    x -> Dense(2, name={lit}) -> y
    output y
}}
train {{
    loss = SparseCategoricalCrossentropy()
    callbacks = [EarlyStopping(monitor={lit}), CSVLogger({lit})]
    data = npz({lit}, x={lit}, y={lit})
}}
"""
        yield f"""
model M {{ input x: [4]  x -> Dense(2) -> y  output y }}
train {{ loss = {{ y: {lit} }} }}
"""
        yield f"""model M {{ input x: [4] x -> Activation({lit}) -> y output y }}"""
        yield f"""model M {{ input x: [4] x -> Dense(2, kernel_initializer={lit}) -> y output y }}"""
        # raw (unescaped) hostile text pasted into the source
        yield f"""model M {{ input x: [4] x -> Dense(2, name="{s}") -> y output y }}"""


def name_specs():
    for n in HOSTILE_NAMES:
        yield f"""
block {n}({n}=2) {{
    input {n}
    {n} -> Dense({n}) -> out
    output out
}}
model {n} {{
    input {n}: [4]
    layer lay_{n} = Dense(4)
    {n} -> lay_{n} -> {n}_t
    {n}_t -> {n}(3) -> t2
    output t2
}}
"""
        yield f"""
block Blk({n}, other=1) {{
    input x
    x -> Dense({n}) -> Dense(other) -> y
    output y
}}
model M {{
    input a: [4]
    a -> Blk({n}=3, other=2) -> b
    b -> Blk(2, other={n.startswith("_") and 1 or 4}) -> c
    output c
}}
"""
        yield f"""
model M {{
    input a: [4]
    layer {n} = Dense(4)
    a -> {n} -> {n}2
    {n}2 -> Dense(2) -> {n}3
    output {n}3
}}
train {{ loss = {{ {n}3: mse }} }}
"""


CORPUS = list(string_specs()) + list(name_specs())


class Recorder(types.ModuleType):
    """A stand-in for keras: every attribute is another recorder, every call is logged."""

    def __init__(self, path, log):
        super().__init__(path)
        self._path, self._log = path, log

    def __getattr__(self, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        return Recorder(f"{self._path}.{attr}", self._log)

    def __call__(self, *args, **kwargs):
        self._log.append(self._path)
        if self._path == "keras.saving.register_keras_serializable":
            return lambda cls: cls
        return Recorder(f"{self._path}()", self._log)

    def __mro_entries__(self, bases):
        return (FakeBase,)


class FakeBase:
    """What keras.Model / keras.layers.Layer become under the recorder."""

    def __init__(self, *args, **kwargs):
        pass

    def __call__(self, *args, **kwargs):
        return None

    def get_config(self):
        return {}


ALLOWED_ROOTS = {"layers", "keras", "self", "super", "config", "model"}


def allowed_call(node: ast.Call, defined: set) -> bool:
    """`defined`: the module's functions and classes, and local variables holding layers."""
    func = node.func
    if isinstance(func, ast.Call):  # applying a layer just made: layers.Dense(2)(x)
        return allowed_call(func, defined)
    if isinstance(func, ast.Name):
        return (func.id in defined and func.id not in dir(builtins)) or func.id == "super"
    parts = []
    while isinstance(func, ast.Attribute):
        parts.append(func.attr)
        func = func.value
    if isinstance(func, ast.Call):  # super().__init__ / super().get_config
        return isinstance(func.func, ast.Name) and func.func.id == "super" and parts[-1] in ("__init__", "get_config")
    if not isinstance(func, ast.Name) or func.id not in ALLOWED_ROOTS:
        return False
    parts.reverse()
    if func.id == "layers":
        return len(parts) == 1 and parts[0] in REGISTRY
    if func.id == "keras":
        dotted = ".".join(parts)
        if dotted in ("Input", "Model", "Sequential", "saving.register_keras_serializable"):
            return True
        return len(parts) == 2 and (
            (parts[0] == "initializers" and parts[1] in INITIALIZERS)
            or (parts[0] == "regularizers" and parts[1] in REGULARIZERS)
            or (parts[0] == "constraints" and parts[1] in CONSTRAINTS)
        )
    if func.id == "config":
        return parts == ["update"]
    return True  # self.<layer>(...) and model(...) call layers the module made


def check_module(source: str) -> None:
    tree = ast.parse(source)
    defined = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    defined |= {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    for stmt in tree.body:
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            assert ast.unparse(stmt) in ("import keras", "from keras import layers")
        elif isinstance(stmt, ast.Assign):
            assert [t.id for t in stmt.targets] == ["TRAINING"]
            ast.literal_eval(stmt.value)
        elif isinstance(stmt, ast.Expr):
            assert isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str)
        else:
            assert isinstance(stmt, (ast.FunctionDef, ast.ClassDef)), ast.dump(stmt)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            assert allowed_call(node, defined), ast.unparse(node)
        if isinstance(node, ast.Name):
            assert node.id not in ("eval", "exec", "open", "compile", "getattr", "__import__", "globals"), node.id
        if isinstance(node, (ast.Lambda, ast.JoinedStr)):
            pytest.fail(f"unexpected {type(node).__name__} in generated code")
    # import it against the recorder: nothing but definitions may run
    log: list = []
    fake = Recorder("keras", log)
    saved = {k: sys.modules.get(k) for k in ("keras",)}
    sys.modules["keras"] = fake
    fake.layers = Recorder("layers", log)
    try:
        namespace: dict = {"__name__": "generated"}
        exec(compile(source, "<generated>", "exec"), namespace)
        assert set(log) <= {"keras.saving.register_keras_serializable"}, log
        log.clear()
        namespace["build_model"]()
        for call in log:
            root = call.split(".")[0]
            assert root in ("keras", "layers") or call.endswith("()"), call
    finally:
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v


@pytest.mark.parametrize("text", CORPUS, ids=[f"case{i}" for i in range(len(CORPUS))])
def test_injection_case(text):
    try:
        spec = tfspec.loads(text, "hostile.tfs")
    except tfspec.SpecError as exc:
        for d in exc.diagnostics:
            assert d.line >= 1 and d.column >= 1 and d.code.startswith("E")
        rendered = exc.render()
        assert "\x1b" not in rendered and "\x00" not in rendered and "\u2028" not in rendered
        return
    styles = allowed_styles(spec)
    assert styles
    for style in styles:
        check_module(tfspec.generate(spec, style))


def test_corpus_exercises_both_outcomes():
    accepted = rejected = 0
    for text in CORPUS:
        try:
            tfspec.loads(text, "hostile.tfs")
            accepted += 1
        except tfspec.SpecError:
            rejected += 1
    assert accepted >= 20 and rejected >= 20, (accepted, rejected)


def test_keywords_as_names_are_refused_at_their_position():
    with pytest.raises(tfspec.SpecError) as info:
        tfspec.loads("model M {\n    input class: [4]\n    class -> Dense(2) -> y\n    output y\n}\n")
    d = info.value.diagnostics[0]
    assert (d.code, d.line, d.column) == ("E307", 2, 11)
